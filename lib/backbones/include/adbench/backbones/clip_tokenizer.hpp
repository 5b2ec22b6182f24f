#pragma once
// The CLIP text tokenizer (OpenAI CLIP's clip/simple_tokenizer.py, which OpenCLIP reuses): byte-level
// BPE over the merges file bpe_simple_vocab_16e6.txt.gz (shipped as models/clip/, MIT). Text is
// HTML-unescaped (twice, as Python's html.unescape), whitespace-collapsed and stripped, lower-cased,
// split by CLIP's pattern
//   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (matched by hand over UTF-8 code points, Unicode classes from clip_unicode_tables.inc), and each
// piece's UTF-8 bytes are BPE-merged. ftfy.fix_text is taken as the identity (the golden strings
// need no fixing). HTML unescaping is Python's html.unescape (HTML5 entity list and invalid-reference
// tables generated into clip_html_entities.inc). Differences from Python: lower-casing uses
// one-to-one mappings plus U+0130 and has no final-sigma rule.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace adbench {

class ClipTokenizer {
 public:
  static constexpr int64_t kStartOfText = 49406;  ///< <|startoftext|>
  static constexpr int64_t kEndOfText = 49407;    ///< <|endoftext|>
  static constexpr int64_t kVocabSize = 49408;
  static constexpr int kContextLength = 77;

  /// Reads the gzip-compressed merges file. InputError naming the file when it is missing, not
  /// gzip, or has fewer than the 48,894 merges CLIP uses.
  explicit ClipTokenizer(const std::filesystem::path& bpe_gz);

  /// BPE ids of `text` without start/end tokens (`<|startoftext|>` in the text itself maps to its id).
  std::vector<int64_t> encode(std::string_view text) const;

  /// [N, context_length] int64: start token, ids, end token, zero padding (clip.tokenize). A text
  /// that does not fit is an InputError naming it unless `truncate`, which keeps the first
  /// context_length ids and makes the last one the end token.
  at::Tensor tokenize(const std::vector<std::string>& texts, int context_length = kContextLength,
                      bool truncate = false) const;

  /// The text cleaning before splitting: HTML unescape ×2, whitespace collapse, strip, lower-case.
  static std::string clean(std::string_view text);

  /// The pre-tokenisation pieces of already cleaned text.
  static std::vector<std::string> split(std::string_view cleaned);

 private:
  std::vector<std::string> bpe(const std::string& word) const;

  std::unordered_map<std::string, int> ranks_;    ///< "a b" -> merge rank
  std::unordered_map<std::string, int64_t> ids_;  ///< symbol -> id
  std::string byte_symbol_[256];                  ///< bytes_to_unicode, as UTF-8
};

}  // namespace adbench
