// CLIP tokenizer: every case of the reference tokenizer's golden file (data/clip_tokenizer_golden.json,
// a copy of ../shared/clip/tokenizer_golden.json made with openai/CLIP's simple_tokenizer.py),
// the cleaning and splitting rules, padding, truncation and file errors.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adbench/backbones/clip_tokenizer.hpp"
#include "adbench/core/error.hpp"
#include "test_util.hpp"

using namespace adbench;
using adbench::test::source_dir;
using Catch::Matchers::Contains;

namespace {
const ClipTokenizer& tokenizer() {
  static const ClipTokenizer tok(source_dir() / "models/clip/bpe_simple_vocab_16e6.txt.gz");
  return tok;
}
}  // namespace

TEST_CASE("clip tokenizer reproduces every golden case", "[clip][tokenizer]") {
  std::ifstream in(source_dir() / "tests/backbones/data/clip_tokenizer_golden.json");
  REQUIRE(in);
  const auto golden = nlohmann::json::parse(in);
  REQUIRE(golden.at("cases").size() == 18);
  for (const auto& c : golden.at("cases")) {
    const std::string text = c.at("text");
    const auto expected = c.at("ids").get<std::vector<int64_t>>();
    INFO("text '" << text << "'");
    const at::Tensor t = tokenizer().tokenize({text});
    REQUIRE(t.sizes() == at::IntArrayRef({1, 77}));
    std::vector<int64_t> got(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + 77);
    std::vector<int64_t> padded = expected;
    padded.resize(77, 0);
    CHECK(got == padded);
  }
}

TEST_CASE("clip tokenizer cleaning and pre-tokenisation", "[clip][tokenizer]") {
  CHECK(ClipTokenizer::clean("  A&amp;B &lt;x&gt; &#65;&#x42;  \t\n C  ") == "a&b <x> ab c");
  CHECK(ClipTokenizer::clean("&amp;amp;") == "&");  // unescaped twice, as CLIP does
  CHECK(ClipTokenizer::clean("CAFÉ ÀÖ") == "café àö");
  // Expected values from Python: re.sub(r'\s+', ' ', html.unescape(html.unescape(s)).strip()).strip().lower()
  CHECK(ClipTokenizer::clean(
            "&notit; &notin; &amp &ampx &copy2024 &#128;&#0;&#xD800;&#1114112;&#x1F600;&#65&#x42 "
            "&#; &#x; &unknown; &Aacute;") ==
        "\u00acit; \u2209 & &x \u00a92024 \u20ac\ufffd\ufffd\ufffd\U0001F600ab &#; &#x; &unknown; \u00e1");
  CHECK(ClipTokenizer::clean("&lt;b&gt; &nbsp;x&NotEqualTilde; &fjlig; &#11; &AMP &acE;") ==
        "<b> x\u2242\u0338 fj & \u223e\u0333");
  CHECK(ClipTokenizer::clean("&amp;lt; &amp;#39; &;&& &a") == "< ' &;&& &a");
  CHECK(ClipTokenizer::clean("a\u00a0b\u3000c") == "a b c");  // Unicode whitespace
  using V = std::vector<std::string>;
  CHECK(ClipTokenizer::split("don't stop!! 12ab") == V{"don", "'t", "stop", "!!", "1", "2", "ab"});
  CHECK(ClipTokenizer::split("it's we'll x'y") == V{"it", "'s", "we", "'ll", "x", "'", "y"});
  CHECK(ClipTokenizer::split("a<|endoftext|>b") == V{"a", "<|endoftext|>", "b"});
  CHECK(ClipTokenizer::split("日本語 ٣") == V{"日本語", "٣"});
  CHECK(tokenizer().encode("<|startoftext|>") == std::vector<int64_t>{ClipTokenizer::kStartOfText});
}

TEST_CASE("clip tokenizer batches, truncates and refuses long texts", "[clip][tokenizer]") {
  const at::Tensor t = tokenizer().tokenize({"a photo of a cat", ""}, 10);
  REQUIRE(t.sizes() == at::IntArrayRef({2, 10}));
  CHECK(t[0].slice(0, 0, 8).equal(at::tensor({49406, 320, 1125, 539, 320, 2368, 49407, 0}, at::kLong)));
  CHECK(t[1].slice(0, 0, 3).equal(at::tensor({49406, 49407, 0}, at::kLong)));
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "cat ";
  CHECK_THROWS_WITH(tokenizer().tokenize({long_text}), Contains("more than the context length 77"));
  const at::Tensor tr = tokenizer().tokenize({long_text}, 77, true);
  CHECK(tr[0][0].item<int64_t>() == 49406);
  CHECK(tr[0][76].item<int64_t>() == 49407);
  CHECK(tr[0][75].item<int64_t>() == 2368);
  CHECK_THROWS_AS(tokenizer().tokenize({std::string("bad \xff byte")}), InputError);
}

TEST_CASE("clip tokenizer file errors name the file", "[clip][tokenizer]") {
  CHECK_THROWS_WITH(ClipTokenizer("/nonexistent/vocab.txt.gz"), Contains("/nonexistent/vocab.txt.gz"));
  const auto plain = std::filesystem::temp_directory_path() / "adbench_clip_not_gzip.txt";
  { std::ofstream(plain) << "header\nh e\n"; }
  CHECK_THROWS_WITH(ClipTokenizer(plain), Contains("not a gzip file"));
  std::filesystem::remove(plain);
}
