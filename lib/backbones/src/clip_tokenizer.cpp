#include "adbench/backbones/clip_tokenizer.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>

#include "adbench/core/error.hpp"

namespace adbench {
namespace clip_detail {
struct CodeRange {
  char32_t lo, hi;
};
#include "clip_unicode_tables.inc"
struct HtmlEntity {
  const char* name;
  char32_t a, b;
};
#include "clip_html_entities.inc"

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  auto it = std::upper_bound(std::begin(table), std::end(table), c,
                             [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != std::begin(table) && c <= std::prev(it)->hi;
}
}  // namespace clip_detail

namespace {
using namespace clip_detail;

bool is_letter(char32_t c) { return in_ranges(kLetterRanges, c); }
bool is_number(char32_t c) { return in_ranges(kNumberRanges, c); }
bool is_space(char32_t c) { return in_ranges(kSpaceRanges, c); }

char32_t to_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  auto it = std::lower_bound(std::begin(kLowerPairs), std::end(kLowerPairs), c,
                             [](const CodeRange& r, char32_t v) { return r.lo < v; });
  return (it != std::end(kLowerPairs) && it->lo == c) ? it->hi : c;
}

/// UTF-8 to code points; an invalid sequence is an InputError quoting the text.
std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    if (n < 0 || i + static_cast<size_t>(n) >= s.size() + (n == 0 ? 1 : 0))
      throw InputError("CLIP tokenizer: text is not valid UTF-8: '" + excerpt(s) + "'");
    char32_t c = n == 0 ? b : (b & (0x3F >> n));
    for (int k = 1; k <= n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80)
        throw InputError("CLIP tokenizer: text is not valid UTF-8: '" + excerpt(s) + "'");
      c = (c << 6) | (cb & 0x3F);
    }
    out.push_back(c);
    i += n + 1;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

const HtmlEntity* find_entity(const std::string& name) {
  auto it = std::lower_bound(
      std::begin(kHtmlEntities), std::end(kHtmlEntities), name,
      [](const HtmlEntity& e, const std::string& n) { return std::strcmp(e.name, n.c_str()) < 0; });
  return (it != std::end(kHtmlEntities) && name == it->name) ? &*it : nullptr;
}

void append_entity(std::u32string& out, const HtmlEntity& e) {
  out += e.a;
  if (e.b) out += e.b;
}

/// Python's html.unescape: references matched by `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`;
/// numeric ones through Python's invalid-reference tables, named ones by HTML5's entity list with
/// the longest-prefix rule for names without ';'.
std::u32string html_unescape(const std::u32string& s) {
  auto is_digit = [](char32_t c, bool hex) {
    return (c >= U'0' && c <= U'9') || (hex && ((c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F')));
  };
  std::u32string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != U'&' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == U'#') {
      const bool hex = i + 2 < s.size() && (s[i + 2] == U'x' || s[i + 2] == U'X');
      size_t k = i + (hex ? 3 : 2);
      const size_t start = k;
      uint64_t v = 0;
      for (; k < s.size() && is_digit(s[k], hex); ++k) {
        const char32_t c = s[k];
        const uint64_t d = c <= U'9' ? c - U'0' : (c | 0x20) - U'a' + 10;
        v = std::min<uint64_t>(v * (hex ? 16 : 10) + d, 0x110000);  // saturates past U+10FFFF
      }
      if (k == start) {  // no digits: '&' stays
        out += s[i];
        continue;
      }
      auto inv = std::lower_bound(std::begin(kInvalidCharrefs), std::end(kInvalidCharrefs), char32_t(v),
                                  [](const CodeRange& r, char32_t x) { return r.lo < x; });
      if (inv != std::end(kInvalidCharrefs) && inv->lo == v)
        out += inv->hi;
      else if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
        out += char32_t(0xFFFD);
      else if (!in_ranges(kInvalidCodepoints, char32_t(v)))
        out += char32_t(v);
      i = (k < s.size() && s[k] == U';') ? k : k - 1;
      continue;
    }
    size_t k = i + 1;
    while (k < s.size() && k - (i + 1) < 32 && s[k] != U'\t' && s[k] != U'\n' && s[k] != U'\f' &&
           s[k] != U' ' && s[k] != U'<' && s[k] != U'&' && s[k] != U'#' && s[k] != U';')
      ++k;
    if (k == i + 1) {
      out += s[i];
      continue;
    }
    if (k < s.size() && s[k] == U';') ++k;
    const std::string name = encode_utf8(s.substr(i + 1, k - i - 1));
    if (const HtmlEntity* e = find_entity(name)) {
      append_entity(out, *e);
      i = k - 1;
      continue;
    }
    // Longest prefix of at least 2 characters that is a name (only ';'-less legacy names can be).
    bool found = false;
    for (size_t x = k - i - 2; x >= 2 && !found; --x) {
      if (const HtmlEntity* e = find_entity(encode_utf8(s.substr(i + 1, x)))) {
        append_entity(out, *e);
        out += s.substr(i + 1 + x, k - i - 1 - x);
        found = true;
      }
    }
    if (!found) out += s.substr(i, k - i);
    i = k - 1;
  }
  return out;
}

bool starts_with(const std::u32string& s, size_t i, std::u32string_view p) {
  return s.compare(i, p.size(), p) == 0 && i + p.size() <= s.size();
}

std::string read_gzip(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw InputError(path.string() + ": cannot open the CLIP BPE merges file (models/clip/ ships one)");
  if (gzdirect(f)) {
    gzclose(f);
    throw InputError(path.string() + ": not a gzip file (expected bpe_simple_vocab_16e6.txt.gz)");
  }
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  const bool bad = n < 0;
  gzclose(f);
  if (bad) throw InputError(path.string() + ": corrupt gzip data in the CLIP BPE merges file");
  return out;
}

}  // namespace

ClipTokenizer::ClipTokenizer(const std::filesystem::path& bpe_gz) {
  constexpr int kMerges = 49152 - 256 - 2;  // simple_tokenizer.py: merges[1:49152-256-2+1]
  const std::string text = read_gzip(bpe_gz);
  // bytes_to_unicode(): printable Latin-1 bytes map to themselves, the others to 256 + n in order.
  std::vector<std::string> vocab;
  std::vector<int> order;
  for (int b = 0; b < 256; ++b)
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) order.push_back(b);
  const size_t n_printable = order.size();
  for (int b = 0, extra = 0; b < 256; ++b) {
    if (std::find(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_printable), b) !=
        order.begin() + static_cast<std::ptrdiff_t>(n_printable))
      continue;
    order.push_back(b);
    byte_symbol_[b].clear();
    append_utf8(byte_symbol_[b], char32_t(256 + extra++));
  }
  for (size_t i = 0; i < n_printable; ++i) append_utf8(byte_symbol_[order[i]], char32_t(order[i]));
  for (int b : order) vocab.push_back(byte_symbol_[b]);
  for (int b : order) vocab.push_back(byte_symbol_[b] + "</w>");
  size_t pos = text.find('\n');  // line 1 is a header
  for (int r = 0; r < kMerges; ++r) {
    if (pos == std::string::npos)
      throw InputError(bpe_gz.string() + ": has " + std::to_string(r) + " merge lines, CLIP needs " +
                       std::to_string(kMerges));
    const size_t end = text.find('\n', pos + 1);
    const std::string line =
        text.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
      throw InputError(bpe_gz.string() + ": merge line " + std::to_string(r + 2) + " is not two symbols: '" +
                       excerpt(line) + "'");
    ranks_.emplace(line, r);
    vocab.push_back(line.substr(0, sp) + line.substr(sp + 1));
    pos = end;
  }
  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");
  for (size_t i = 0; i < vocab.size(); ++i) ids_.emplace(vocab[i], static_cast<int64_t>(i));
}

std::string ClipTokenizer::clean(std::string_view text) {
  std::u32string s = html_unescape(html_unescape(decode_utf8(text)));
  std::u32string out;
  bool in_space = false;
  for (char32_t c : s) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += U' ';
    in_space = false;
    if (c == 0x130) {  // 'İ'.lower() == 'i̇'
      out += U'i';
      out += char32_t(0x307);
    } else {
      out += to_lower(c);
    }
  }
  return encode_utf8(out);
}

std::vector<std::string> ClipTokenizer::split(std::string_view cleaned) {
  const std::u32string s = decode_utf8(cleaned);
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    if (starts_with(s, i, U"<|startoftext|>")) {
      len = 15;
    } else if (starts_with(s, i, U"<|endoftext|>")) {
      len = 13;
    } else if (s[i] == U'\'' && i + 1 < s.size()) {
      for (std::u32string_view c : {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"})
        if (starts_with(s, i, c)) {
          len = c.size();
          break;
        }
    }
    if (len == 0) {
      const char32_t c = s[i];
      if (is_letter(c)) {
        while (i + len < s.size() && is_letter(s[i + len])) ++len;
      } else if (is_number(c)) {
        len = 1;
      } else if (!is_space(c)) {
        while (i + len < s.size() && !is_space(s[i + len]) && !is_letter(s[i + len]) &&
               !is_number(s[i + len]))
          ++len;
      } else {
        ++i;
        continue;
      }
    }
    out.push_back(encode_utf8(s.substr(i, len)));
    i += len;
  }
  return out;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& piece) const {
  std::vector<std::string> word;
  for (unsigned char b : piece) word.push_back(byte_symbol_[b]);
  word.back() += "</w>";
  while (word.size() > 1) {
    int best = INT_MAX;
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == INT_MAX) break;
    const std::string first = word[best_i], second = word[best_i + 1];
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  for (const std::string& piece : split(clean(text))) {
    if (piece == "<|startoftext|>" || piece == "<|endoftext|>") {
      ids.push_back(ids_.at(piece));
      continue;
    }
    for (const std::string& sym : bpe(piece)) {
      auto it = ids_.find(sym);
      if (it == ids_.end()) throw InternalError("CLIP tokenizer: BPE symbol missing from the vocabulary");
      ids.push_back(it->second);
    }
  }
  return ids;
}

at::Tensor ClipTokenizer::tokenize(const std::vector<std::string>& texts, int context_length,
                                   bool truncate) const {
  if (context_length < 2)
    throw InputError("CLIP tokenizer: context length must be at least 2, got " +
                     std::to_string(context_length));
  at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), context_length}, at::kLong);
  auto acc = out.accessor<int64_t, 2>();
  for (size_t n = 0; n < texts.size(); ++n) {
    std::vector<int64_t> ids = encode(texts[n]);
    ids.insert(ids.begin(), kStartOfText);
    ids.push_back(kEndOfText);
    if (ids.size() > static_cast<size_t>(context_length)) {
      if (!truncate)
        throw InputError("CLIP tokenizer: text '" + excerpt(texts[n]) + "' has " +
                         std::to_string(ids.size()) + " tokens, more than the context length " +
                         std::to_string(context_length));
      ids.resize(static_cast<size_t>(context_length));
      ids.back() = kEndOfText;
    }
    for (size_t i = 0; i < ids.size(); ++i) acc[static_cast<int64_t>(n)][static_cast<int64_t>(i)] = ids[i];
  }
  return out;
}

}  // namespace adbench
