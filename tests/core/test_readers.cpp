// File-format readers on bad input (issue 7): every case is one InputError naming the file, never
// a crash, an allocation sized by a header, or silently accepted data. The parsers are tested in
// memory (adbench::formats, the same entry points the fuzz targets call) and through the file
// readers of lib/core.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/safetensors.hpp"
#include "adbench/formats/image_header.hpp"
#include "adbench/formats/json_fields.hpp"
#include "adbench/formats/npy_format.hpp"
#include "adbench/formats/pcd_format.hpp"
#include "adbench/formats/safetensors_format.hpp"
#include "adbench/formats/text_formats.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
namespace fmt = adbench::formats;
using adbench::test::input_error_of;
using adbench::test::TempDir;

namespace {

/// A version-1 .npy file with a hand-written header (padded like NumPy's) and `body`.
std::string npy_bytes(const std::string& dict, const std::string& body, int version = 1) {
  std::string h = dict;
  const std::size_t pre = version == 1 ? 10 : 12;
  h.append((64 - (pre + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(version);
  out += '\0';
  const std::uint32_t n = static_cast<std::uint32_t>(h.size());
  out.append(reinterpret_cast<const char*>(&n), version == 1 ? 2 : 4);
  return out + h + body;
}

std::string npy_dict(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

std::string parse_npy_error(const std::string& bytes) {
  return input_error_of([&] { fmt::parse_npy_header(bytes, bytes.size(), "a.npy"); });
}

/// A safetensors file with a literal JSON header and `body`.
std::string st_bytes(const std::string& json, const std::string& body) {
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + body;
}

std::string parse_st_error(const std::string& bytes) {
  return input_error_of([&] { fmt::parse_safetensors(bytes, "w.safetensors"); });
}

void write_bytes(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

const char* kPcdHeader =
    "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 "
    "0 0\n"
    "POINTS 2\nDATA ";

std::string pcd_error(const std::string& bytes) {
  return input_error_of([&] { fmt::parse_pcd(bytes, "c.pcd"); });
}

}  // namespace

TEST_CASE("npy: a 40 KB header string is refused by size, not parsed by a recursive regex", "[readers]") {
  const std::string dict = npy_dict(std::string(40000, 'f'), "(2,)");
  REQUIRE(parse_npy_error(npy_bytes(dict, "", 2)) ==
          "a.npy: .npy header of 40116 bytes, more than the 10000 adbench (and NumPy) reads");
  // Just under the cap: parsed (and refused for its dtype, echoed capped and escaped).
  const std::string long_descr = npy_dict(std::string(9000, '<') + "\x01", "(2,)");
  REQUIRE(parse_npy_error(npy_bytes(long_descr, "", 2)) ==
          "a.npy: unsupported .npy dtype '<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<... (9001 bytes)' "
          "(expected a numeric one: bool, int8..int64, uint8..uint64, float16..float64)");
}

TEST_CASE("npy: shapes are checked against the file size before allocating", "[readers]") {
  REQUIRE(parse_npy_error(npy_bytes(npy_dict("<f4", "(-224, 224)"), "")) ==
          "a.npy: bad .npy header (negative dimension in 'shape' at byte 51 of the header)");
  REQUIRE(
      parse_npy_error(npy_bytes(npy_dict("<f4", "(100000, 100000)"), std::string(16, '\0'))) ==
      "a.npy: truncated .npy data: shape (100000, 100000) of <f4 needs 40000000000 bytes, the file has 16");
  REQUIRE(parse_npy_error(npy_bytes(npy_dict("<f4", "(4611686018427387904, 4)"), "")) ==
          "a.npy: shape (4611686018427387904, 4) of <f4 needs more than 2^64 bytes; the file has 0 bytes of "
          "data");
  REQUIRE(
      parse_npy_error(npy_bytes(npy_dict("<f4", "(9223372036854775808, 1)"), "")) ==
      "a.npy: bad .npy header (dimension in 'shape' is larger than int64 allows at byte 51 of the header)");
  REQUIRE(parse_npy_error(npy_bytes(npy_dict("<f4", "(2, 2)"), std::string(16 + 3, '\0'))) ==
          "a.npy: 3 bytes after the .npy data (shape (2, 2) of <f4 needs 16)");
  REQUIRE(parse_npy_error(npy_bytes(npy_dict("<f4", "(2, 2)"), std::string(15, '\0'))) ==
          "a.npy: truncated .npy data: shape (2, 2) of <f4 needs 16 bytes, the file has 15");
  // A zero dimension is a valid, empty array ((0, 2^62) included: no overflow).
  auto h =
      fmt::parse_npy_header(npy_bytes(npy_dict("<f8", "(0, 4611686018427387904)"), ""), 0 + 128, "a.npy");
  REQUIRE(h.data_bytes == 0);
  REQUIRE(h.shape == std::vector<std::int64_t>{0, std::int64_t(1) << 62});
}

TEST_CASE("npy: malformed dict literals", "[readers]") {
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False}", "")) ==
          "a.npy: bad .npy header (no 'shape')");
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", "")) ==
          "a.npy: Fortran-order .npy arrays are not supported");
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '<f4', 'descr': '<f4'}", "")) ==
          "a.npy: bad .npy header (repeated key 'descr' at byte 25 of the header)");
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, x)}", "")) ==
          "a.npy: bad .npy header (expected an integer in 'shape' at byte 54 of the header)");
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", "")) ==
          "a.npy: unsupported .npy dtype '<c8' (expected a numeric one: bool, int8..int64, uint8..uint64, "
          "float16..float64)");
  REQUIRE(parse_npy_error(npy_bytes("{'descr': '|i2', 'fortran_order': False, 'shape': (1,)}", "")) ==
          "a.npy: unsupported .npy dtype '|i2' (expected a numeric one: bool, int8..int64, uint8..uint64, "
          "float16..float64)");
  REQUIRE(parse_npy_error(std::string("\x93NUMPY\x04\x00", 8)) ==
          "a.npy: unsupported .npy version 4 (expected 1, 2 or 3)");
}

TEST_CASE("npy files: every numeric dtype in both byte orders, values by the format's byte layout",
          "[readers]") {
  TempDir tmp("rnpy-dtypes");
  // (descr, body of two items, expected values, expected tensor type)
  struct Case {
    std::string descr, body;
    std::vector<double> values;
    at::ScalarType type;
  };
  const std::vector<Case> cases = {
      {"|b1", std::string("\x00\x01", 2), {0, 1}, at::kBool},
      {"|i1", std::string("\xff\x7f", 2), {-1, 127}, at::kChar},
      {"|u1", std::string("\xff\x01", 2), {255, 1}, at::kByte},
      {"<i2", std::string("\x01\x02\xfe\xff", 4), {513, -2}, at::kShort},
      {">i2", std::string("\x01\x02\xff\xfe", 4), {258, -2}, at::kShort},
      {"<u2", std::string("\xff\xff\x01\x00", 4), {65535, 1}, at::kInt},
      {">u2", std::string("\xff\xfe\x00\x01", 4), {65534, 1}, at::kInt},
      {"<i4", std::string("\xff\xff\xff\xff\x00\x00\x01\x00", 8), {-1, 65536}, at::kInt},
      {">u4", std::string("\xff\xff\xff\xff\x00\x01\x00\x00", 8), {4294967295.0, 65536}, at::kLong},
      {"<u8", std::string("\x05\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16), {5, 72057594037927936.0}, at::kLong},
      {">i8", std::string("\xff\xff\xff\xff\xff\xff\xff\xfd\0\0\0\0\0\0\0\x07", 16), {-3, 7}, at::kLong},
      {"<f2", std::string("\x00\x3c\x00\xc0", 4), {1.0, -2.0}, at::kHalf},  // IEEE half 1.0, -2.0
      {">f2", std::string("\x38\x00\x7b\xff", 4), {0.5, 65504.0}, at::kHalf},
      {">f4", std::string("\x3f\xc0\x00\x00\xc1\x20\x00\x00", 8), {1.5, -10.0}, at::kFloat},
      {"<f8", std::string("\0\0\0\0\0\0\xf0\x3f\0\0\0\0\0\0\x00\x40", 16), {1.0, 2.0}, at::kDouble},
      {">f8", std::string("\x3f\xd0\0\0\0\0\0\0\xc0\x59\0\0\0\0\0\0", 16), {0.25, -100.0}, at::kDouble},
  };
  for (const auto& c : cases) {
    CAPTURE(c.descr);
    const fs::path f = tmp / "a.npy";
    write_bytes(f, npy_bytes(npy_dict(c.descr, "(2,)"), c.body));
    const at::Tensor t = adbench::read_npy(f);
    CHECK(t.scalar_type() == c.type);
    REQUIRE(t.sizes() == at::IntArrayRef({2}));
    const at::Tensor d = t.to(at::kDouble);
    CHECK(d[0].item<double>() == c.values[0]);
    CHECK(d[1].item<double>() == c.values[1]);
  }
  write_bytes(tmp / "big.npy", npy_bytes(npy_dict("<u8", "(1,)"), std::string("\0\0\0\0\0\0\0\x80", 8)));
  REQUIRE(input_error_of([&] { adbench::read_npy(tmp / "big.npy"); }) ==
          (tmp / "big.npy").string() + ": uint64 .npy value above 2^63 - 1 (adbench reads uint64 as int64)");
}

TEST_CASE("npy files: (0,224) reads as empty, score maps refuse it; trailing bytes name the file",
          "[readers]") {
  TempDir tmp("rnpy");
  write_bytes(tmp / "z.npy", npy_bytes(npy_dict("<f4", "(0, 224)"), ""));
  REQUIRE(adbench::read_npy(tmp / "z.npy").sizes() == at::IntArrayRef({0, 224}));
  REQUIRE(input_error_of([&] { adbench::read_score_map(tmp / "z.npy"); }) ==
          (tmp / "z.npy").string() + ": score map of shape (0, 224) has no values");
  adbench::write_npy(tmp / "t.npy", at::ones({3, 3}));
  { std::ofstream(tmp / "t.npy", std::ios::binary | std::ios::app) << "junk"; }
  REQUIRE(input_error_of([&] { adbench::read_npy(tmp / "t.npy"); }) ==
          (tmp / "t.npy").string() + ": 4 bytes after the .npy data (shape (3, 3) of <f4 needs 36)");
}

TEST_CASE("safetensors: shapes, offsets and JSON errors name the file and the tensor", "[readers]") {
  const std::string body(16, '\0');
  REQUIRE(
      parse_st_error(st_bytes(R"({"w":{"dtype":"F32","shape":[-1,3,3,3],"data_offsets":[0,16]}})", body)) ==
      "w.safetensors: tensor 'w' has shape entry -1 (expected integers >= 0)");
  REQUIRE(parse_st_error(st_bytes(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,16]}})", body)) ==
          "w.safetensors: tensor 'w' has shape entry 2.5 (expected integers >= 0)");
  REQUIRE(parse_st_error(st_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", body)) ==
          "w.safetensors: tensor 'w' has 16 bytes of data, its shape needs 12");
  REQUIRE(parse_st_error(st_bytes(
              R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,16]}})", body)) ==
          "w.safetensors: tensor 'w' has 16 bytes of data, its shape needs more than 2^64");
  REQUIRE(parse_st_error(st_bytes(R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", body)) ==
          "w.safetensors: tensor 'w' has data offsets [0, 32] outside the file's 16 data bytes");
  REQUIRE(parse_st_error(st_bytes(R"({"w":{"dtype":5,"shape":[4],"data_offsets":[0,16]}})", body)) ==
          "w.safetensors: tensor 'w': key 'dtype': expected a string, got number");
  REQUIRE(parse_st_error(st_bytes(R"({"w":{"dtype":"F32","shape":[4]}})", body)) ==
          "w.safetensors: tensor 'w': key 'data_offsets' is missing");
  REQUIRE(parse_st_error(st_bytes(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                                  body)) ==
          "w.safetensors: tensor 'b' overlaps tensor 'a' in the data section");
  REQUIRE(parse_st_error(st_bytes("{\"w\":{\"dtype\":\n\"F32\",]", body)) ==
          "w.safetensors: not valid JSON (syntax error at line 2, column 7)");
  REQUIRE(parse_st_error(st_bytes(R"({"__metadata__":{"mean":[1,2,3]}})", "")) ==
          "w.safetensors: '__metadata__' key 'mean': expected a string, got a list");
  std::string huge(8, '\0');
  const std::uint64_t n = 100'000'001;
  std::memcpy(huge.data(), &n, 8);
  REQUIRE(parse_st_error(huge) ==
          "w.safetensors: safetensors header of 100000001 bytes, more than the 100000000 adbench (and "
          "safetensors) reads");
  // A 200 KB metadata value is plain data: read without trouble.
  const auto h = fmt::parse_safetensors(
      st_bytes(R"({"__metadata__":{"padding":")" + std::string(200000, 'x') + "\"}}", ""), "w.safetensors");
  REQUIRE(h.metadata.at("padding").size() == 200000);
}

TEST_CASE("run.json and --config: the file and the key, not nlohmann's exception text", "[readers]") {
  REQUIRE(input_error_of([] { fmt::parse_run_json(R"({"format": 5})", "run/run.json"); }) ==
          "run/run.json: key 'format': expected a string, got number");
  REQUIRE(input_error_of([] { fmt::parse_run_json(R"({"config": [1]})", "run/run.json"); }) ==
          "run/run.json: key 'config': expected an object, got array");
  REQUIRE(input_error_of([] { fmt::parse_run_json(R"({"train_count": 1.5})", "run/run.json"); }) ==
          "run/run.json: key 'train_count': expected an integer, got number");
  REQUIRE(input_error_of([] { fmt::parse_run_json("[]", "run/run.json"); }) ==
          "run/run.json: expected a JSON object, got array");
  REQUIRE(input_error_of([] { fmt::parse_config_json(R"({"detector": true})", "c.json"); }) ==
          "c.json: key 'detector': expected a string, got boolean");
  REQUIRE(input_error_of([] { fmt::parse_config_json("{\"k\": 1,}", "c.json"); }) ==
          "c.json: not valid JSON (syntax error at line 1, column 9)");
  // fuzz_safetensors finding: nlohmann throws out_of_range (not parse_error) for "1e999".
  REQUIRE(input_error_of([] { fmt::parse_config_json(R"({"k": 1e999})", "c.json"); }) ==
          "c.json: not valid JSON (a number too large for a double)");
  REQUIRE(parse_st_error(adbench::read_file(adbench::test::source_dir() /
                                            "tests/fuzz/corpus/safetensors/regress-number-overflow")) ==
          "w.safetensors: not valid JSON (a number too large for a double)");
  // Deep nesting is refused before parsing: copying or printing it later would recurse that deep.
  REQUIRE(input_error_of([] {
            fmt::parse_config_json("{\"k\": " + std::string(1000000, '[') + std::string(1000000, ']') + "}",
                                   "c.json");
          }) == "c.json: JSON nested deeper than 64 levels");
  REQUIRE(input_error_of([] {
            fmt::parse_config_json("{\"k\": \"[[[[\\\"" + std::string(100, '[') + "\"}", "c.json");
          }) == "<no exception>");
  auto j = fmt::parse_config_json(R"({"detector": "padim", "k": 2})", "c.json");
  REQUIRE(fmt::json_get<std::int64_t>(j, "k", "c.json", 0) == 2);
  REQUIRE(fmt::json_get<std::string>(j, "missing", "c.json", "d") == "d");
}

TEST_CASE("scores.csv: duplicates, empty files and bad values are errors with the line", "[readers]") {
  REQUIRE(input_error_of([] {
            fmt::parse_scores_csv("path,score\ngood/000.png,1\nbad/001.png,2\ngood/000.png,3\n", "s.csv");
          }) == "s.csv: line 4: duplicate row for 'good/000' (first at line 2)");
  REQUIRE(input_error_of([] {
            fmt::parse_scores_csv("path,score\ngood/000.png,1\ngood/000.tiff,3\n", "s.csv");
          }) == "s.csv: line 3: duplicate row for 'good/000' (first at line 2)");
  REQUIRE(input_error_of([] { fmt::parse_scores_csv("", "s.csv"); }) ==
          "s.csv: empty file (expected the header 'path,score' and one row per test image)");
  REQUIRE(input_error_of([] { fmt::parse_scores_csv("path,score\n", "s.csv"); }) ==
          "s.csv: has the header but no rows (expected one 'path,score' row per test image)");
  REQUIRE(input_error_of([] { fmt::parse_scores_csv("path,score\na.png, 1\n", "s.csv"); }) ==
          "s.csv: line 2: ' 1' is not a number");
  REQUIRE(input_error_of([] { fmt::parse_scores_csv("path,score\na.png,nan\n", "s.csv"); }) ==
          "s.csv: line 2: score for a.png is not finite (nan)");
  REQUIRE(input_error_of([] { fmt::parse_scores_csv("path,score\na.png,1e999\n", "s.csv"); }) ==
          "s.csv: line 2: score for a.png is out of range (1e999)");
  const auto rows = fmt::parse_scores_csv("path,score\r\ngood/000.png,0.5\r\nbad/x.y/001,+2e-3\n", "s.csv");
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[0].key == "good/000");
  REQUIRE(rows[1].key == "bad/x.y/001");
  REQUIRE(rows[1].score == 2e-3);
}

TEST_CASE("PCD: every header field is checked", "[readers]") {
  const std::string body = "ascii\n1 2 3\n4 5 6\n";
  auto with = [&](const std::string& from, const std::string& to) {
    std::string h = std::string(kPcdHeader) + body;
    h.replace(h.find(from), from.size(), to);
    return pcd_error(h);
  };
  REQUIRE(with("SIZE 4 4 4", "SIZE 4 4 3") == "c.pcd: PCD header line 3: SIZE 3 (expected 1, 2, 4 or 8)");
  REQUIRE(with("TYPE F F F", "TYPE F F Q") == "c.pcd: PCD header line 4: TYPE 'Q' (expected F, I or U)");
  REQUIRE(with("COUNT 1 1 1", "COUNT 1 1 0") ==
          "c.pcd: PCD header line 5: COUNT value 0 is outside [1, 1048576]");
  REQUIRE(with("WIDTH 2", "WIDTH 2x") == "c.pcd: PCD header line 6: WIDTH value '2x' is not an integer");
  REQUIRE(with("WIDTH 2", "WIDTH -2") ==
          "c.pcd: PCD header line 6: WIDTH value -2 is outside [0, 1099511627776]");
  REQUIRE(with("POINTS 2", "POINTS 3") == "c.pcd: PCD header: POINTS 3 but WIDTH x HEIGHT is 2 x 1");
  REQUIRE(with("VIEWPOINT 0 0 0 1 0 0 0", "VIEWPOINT 0 0 0 1 0 0") ==
          "c.pcd: PCD header line 8: VIEWPOINT needs 7 numbers, got 6");
  REQUIRE(with("HEIGHT 1", "HEIGHT 1\nHEIGHT 1") == "c.pcd: PCD header line 8: repeated HEIGHT");
  REQUIRE(with("VERSION 0.7", "VERSION 0.7\nCOLOUR 1") ==
          "c.pcd: PCD header line 2: unknown keyword 'COLOUR'");
  REQUIRE(with("ascii", "lzf") == "c.pcd: PCD DATA 'lzf' is not ascii, binary or binary_compressed");
  REQUIRE(with("SIZE 4 4 4", "SIZE 4 4 4 4") ==
          "c.pcd: PCD header: FIELDS, SIZE, TYPE and COUNT have different lengths (3, 4, 3, 3)");
}

TEST_CASE("PCD ascii rows parse completely; binary and LZF bodies are bounds-checked", "[readers]") {
  REQUIRE(pcd_error(std::string(kPcdHeader) + "ascii\n1.0 abc 2.0\n4 5 6\n") ==
          "c.pcd: line 11: 'abc' is not a number");
  REQUIRE(pcd_error(std::string(kPcdHeader) + "ascii\n1 2 3 4\n4 5 6\n") ==
          "c.pcd: line 11: PCD row has 4 values, FIELDS need 3");
  REQUIRE(pcd_error(std::string(kPcdHeader) + "ascii\n1 2 3\n4 5 6\n7 8 9\n") ==
          "c.pcd: line 13: more rows than the header's 2 points");
  REQUIRE(pcd_error(std::string(kPcdHeader) + "ascii\n1 2 3x\n4 5 6\n") ==
          "c.pcd: line 11: '3x' is not a number");
  auto xyz = fmt::parse_pcd(std::string(kPcdHeader) + "ascii\n1 2 3\r\n\n4 5 -6e1\n", "c.pcd");
  REQUIRE(xyz == std::vector<float>{1, 2, 3, 4, 5, -60});

  // binary_compressed: field-major, LZF with a back reference (24 zero bytes from 5 bytes).
  std::string comp = std::string("\x00\x00", 2) + std::string("\xE0\x0E\x00", 3);
  std::string sizes(8, '\0');
  const std::uint32_t cs[2] = {static_cast<std::uint32_t>(comp.size()), 24};
  std::memcpy(sizes.data(), cs, 8);
  REQUIRE(fmt::parse_pcd(std::string(kPcdHeader) + "binary_compressed\n" + sizes + comp, "c.pcd") ==
          std::vector<float>(6, 0.f));
  // A back reference before the start of the output.
  std::string bad = std::string("\x00\x00", 2) + std::string("\xE0\x0E\x05", 3);
  REQUIRE(pcd_error(std::string(kPcdHeader) + "binary_compressed\n" + sizes + bad) ==
          "c.pcd: cannot read point cloud (corrupt binary_compressed data)");
  // An uncompressed size that disagrees with POINTS, and one that claims more than LZF can expand.
  std::uint32_t wrong[2] = {5, 4000};
  std::memcpy(sizes.data(), wrong, 8);
  REQUIRE(pcd_error(std::string(kPcdHeader) + "binary_compressed\n" + sizes + comp) ==
          "c.pcd: cannot read point cloud (uncompressed size 4000, 2 points of 12 bytes need 24)");
  REQUIRE(pcd_error(std::string(kPcdHeader) + "binary\n" + std::string(23, '\0')) ==
          "c.pcd: cannot read point cloud (truncated: 2 points of 12 bytes need 24 bytes, the file has 23)");
  std::string big = kPcdHeader;
  big.replace(big.find("WIDTH 2"), 7, "WIDTH 1099511627776")
      .replace(big.find("POINTS 2"), 8, "POINTS 1099511627776");
  REQUIRE(pcd_error(big + "binary\n") ==
          "c.pcd: cannot read point cloud (truncated: 1099511627776 points of 12 bytes need 13194139533312 "
          "bytes, the "
          "file has 0)");
  REQUIRE(
      pcd_error(big + "ascii\n1 2 3\n") ==
      "c.pcd: cannot read point cloud (truncated: header says 1099511627776 points, the body has 6 bytes)");
}

TEST_CASE("text clouds and ground truth: every value parses and is finite", "[readers]") {
  REQUIRE(input_error_of([] { fmt::parse_text_cloud("1 2 3\n1.0 abc 2.0\n", "c.txt"); }) ==
          "c.txt: line 2: 'abc' is not a number");
  REQUIRE(input_error_of([] { fmt::parse_text_cloud("1 2 inf\n", "c.txt"); }) ==
          "c.txt: line 1: value 'inf' is not finite");
  REQUIRE(input_error_of([] { fmt::parse_text_cloud("1 2 1e39\n", "c.txt"); }) ==
          "c.txt: line 1: coordinate 1e+39 does not fit float32");
  REQUIRE(input_error_of([] { fmt::parse_point_labels("0 0 0 1\n0 0 nan 0\n", "gt.txt"); }) ==
          "gt.txt: line 2: value 'nan' is not finite");
  REQUIRE(input_error_of([] { fmt::parse_point_labels("0 0 1\n", "gt.txt"); }) ==
          "gt.txt: line 1: expected 'x y z label' or 'label', got 3 values");
  REQUIRE(fmt::parse_point_labels("# x y z l\n0 0 0 0.9\n1,1,1,0\n", "gt.txt") ==
          std::vector<std::uint8_t>{1, 0});
}

TEST_CASE("VisA split CSV: quotes, paths leaving the root, columns", "[readers]") {
  const std::string head = "object,split,label,image,mask\n";
  REQUIRE(input_error_of([&] { fmt::parse_visa_csv(head + "pcb,test,normal,\"a.png,\n", "1cls.csv"); }) ==
          "1cls.csv:2: unterminated quote");
  REQUIRE(input_error_of(
              [&] { fmt::parse_visa_csv(head + "pcb,test,anomaly,a.png,../../etc/m.png\n", "1cls.csv"); }) ==
          "1cls.csv:2: path '../../etc/m.png' leaves the dataset root (expected a relative path inside it)");
  REQUIRE(input_error_of([&] { fmt::parse_visa_csv(head + "pcb,test,normal,/abs.png,\n", "1cls.csv"); }) ==
          "1cls.csv:2: path '/abs.png' leaves the dataset root (expected a relative path inside it)");
  REQUIRE(input_error_of([&] { fmt::parse_visa_csv("object,split,label,image,mask,mask\n", "1cls.csv"); }) ==
          "1cls.csv: header names column 'mask' twice");
  REQUIRE(input_error_of([&] { fmt::parse_visa_csv(head + "pcb,val,normal,a.png,\n", "1cls.csv"); }) ==
          "1cls.csv:2: split 'val' (expected train or test)");
  const auto rows = fmt::parse_visa_csv(
      "\xEF\xBB\xBF"
      "image,mask,object,label,split\n\"a,..b.png\",,pcb,normal,train\n",
      "1cls.csv");
  REQUIRE(rows.size() == 1);
  REQUIRE(rows[0].image == "a,..b.png");
  REQUIRE(rows[0].object == "pcb");
}

TEST_CASE("images: the header's size is checked against --max-image-pixels before decoding", "[readers]") {
  TempDir tmp("rimg");
  // A PNG that claims 20000 x 20000 (only the signature and IHDR: decoding would fail later anyway).
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\x00\x00\x00\x0dIHDR", 8) +
         std::string("\x00\x00\x4e\x20\x00\x00\x4e\x20\x08\x02\x00\x00\x00", 13);
  png += std::string(4, '\0');
  write_bytes(tmp / "bomb.png", png);
  REQUIRE(adbench::max_image_pixels() == 67108864);
  REQUIRE(input_error_of([&] { adbench::read_image_rgb(tmp / "bomb.png"); }) ==
          (tmp / "bomb.png").string() +
              ": image is 20000x20000 (400000000 pixels), more than --max-image-pixels 67108864");
  REQUIRE(input_error_of([&] { adbench::read_image_size(tmp / "bomb.png"); }) ==
          (tmp / "bomb.png").string() +
              ": image is 20000x20000 (400000000 pixels), more than --max-image-pixels 67108864");
  // A real image under and over a lowered limit.
  cv::imwrite((tmp / "a.png").string(), cv::Mat(30, 40, CV_8UC3, cv::Scalar(1, 2, 3)));
  adbench::set_max_image_pixels(1200);
  REQUIRE(adbench::read_image_rgb(tmp / "a.png").size() == cv::Size(40, 30));
  adbench::set_max_image_pixels(1199);
  REQUIRE(input_error_of([&] { adbench::read_mask(tmp / "a.png"); }) ==
          (tmp / "a.png").string() + ": image is 40x30 (1200 pixels), more than --max-image-pixels 1199");
  adbench::set_max_image_pixels(adbench::kDefaultMaxImagePixels);
  // Headers of every format, and OpenCV depths by name.
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff"}) {
    INFO(ext);
    cv::imwrite((tmp / (std::string("b") + ext)).string(), cv::Mat(17, 23, CV_8UC3, cv::Scalar(9, 9, 9)));
    const auto s = fmt::image_header_size(adbench::read_file(tmp / (std::string("b") + ext)));
    REQUIRE(s.width == 23);
    REQUIRE(s.height == 17);
  }
  REQUIRE(adbench::depth_name(CV_64F) == "float64");
  REQUIRE(adbench::depth_name(CV_16U) == "uint16");
}
