// End-to-end bad input files (issue 7): each case is exactly one line "adbench: error: <file>:
// <problem>" on stderr, exit code 2, and nothing written. The damaged files are made here, next to
// a valid prediction folder of the synthetic dataset, so every case differs from a passing run by
// one file.
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>

#include "adbench/core/fs.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/safetensors.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

void write_bytes(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string npy_with_header(const std::string& dict, const std::string& body) {
  std::string h = dict;
  h.append((64 - (12 + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  std::string out("\x93NUMPY\x02\x00", 8);
  const std::uint32_t n = static_cast<std::uint32_t>(h.size());
  out.append(reinterpret_cast<const char*>(&n), 4);
  return out + h + body;
}

/// A valid prediction folder for category cap of the synthetic dataset, its first test sample, and
/// where eval would write.
struct PredCase {
  TempDir tmp{"badf"};
  fs::path pred = tmp / "pred";
  fs::path out = tmp / "out.json";
  fs::path csv = tmp / "board.csv";
  adbench::Sample first;
  PredCase() {
    write_prediction_folder(pred, "mvtec_ad", synth_root(), "cap",
                            [&](const adbench::Sample& s, const at::Tensor& gt) {
                              if (first.stem.empty()) first = s;
                              return std::make_pair(gt, double(s.label));
                            });
  }
  fs::path map(const std::string& ext) const {
    return pred / "cap" / "test" / first.defect / (first.stem + ext);
  }
  CommandResult eval() const {
    return run_adbench("--quiet eval --pred " + q(pred) + " --root " + q(synth_root()) +
                       " --category cap --out " + q(out) + " --csv " + q(csv));
  }
  /// Exit 2, exactly `line` on stderr, nothing on stdout, no result file, no CSV.
  void require_refused(const CommandResult& r, const std::string& line) const {
    INFO(r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE(r.err == "adbench: error: " + line + "\n");
    REQUIRE(r.out.empty());
    REQUIRE(!fs::exists(out));
    REQUIRE(!fs::exists(csv));
  }
};

}  // namespace

TEST_CASE("bad prediction files: one line, exit 2, nothing written", "[cli][bad-files]") {
  PredCase c;
  static bool undamaged_checked = false;  // once: each SECTION rebuilds the folder
  if (!undamaged_checked) {
    REQUIRE(c.eval().exit_code == 0);  // the undamaged folder passes
    fs::remove(c.out);
    fs::remove(c.csv);
    undamaged_checked = true;
  }
  const fs::path scores = c.pred / "cap" / "scores.csv";

  SECTION("scores.csv: a duplicate row (the last one used to win)") {
    const std::string text = adbench::read_file(scores);
    const auto first_row_end = text.find('\n', text.find('\n') + 1);
    const std::string row = text.substr(text.find('\n') + 1, first_row_end - text.find('\n'));
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    write_bytes(scores, text + row);
    const std::string key = c.first.defect + "/" + c.first.stem;
    c.require_refused(c.eval(), scores.string() + ": line " + std::to_string(lines + 1) +
                                    ": duplicate row for '" + key + "' (first at line 2)");
  }
  SECTION("scores.csv: zero bytes") {
    write_bytes(scores, "");
    c.require_refused(
        c.eval(),
        scores.string() + ": empty file (expected the header 'path,score' and one row per test image)");
  }
  SECTION("a map present as .tiff, .tif and .npy") {
    fs::copy_file(c.map(".tiff"), c.map(".tif"));
    adbench::write_npy(c.map(".npy"), at::zeros({4, 4}));
    c.require_refused(c.eval(), (c.map(".tiff").parent_path() / c.first.stem).string() +
                                    ": ambiguous prediction: 3 maps (" + c.first.stem + ".tiff, " +
                                    c.first.stem + ".tif, " + c.first.stem + ".npy); keep one");
  }
  SECTION(".npy maps: a 40 KB descr, a negative dimension, (0,224), trailing bytes") {
    fs::remove(c.map(".tiff"));
    const fs::path npy = c.map(".npy");
    write_bytes(npy, npy_with_header("{'descr': '" + std::string(40000, 'f') +
                                         "', 'fortran_order': False, 'shape': (2,), }",
                                     ""));
    c.require_refused(
        c.eval(),
        npy.string() + ": .npy header of 40116 bytes, more than the 10000 adbench (and NumPy) reads");
    write_bytes(npy, npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-224, 224), }", ""));
    c.require_refused(
        c.eval(),
        npy.string() + ": bad .npy header (negative dimension in 'shape' at byte 51 of the header)");
    write_bytes(npy, npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 224), }", ""));
    c.require_refused(c.eval(), npy.string() + ": score map of shape (0, 224) has no values");
    write_bytes(npy, npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
                                     "abcd"));
    c.require_refused(
        c.eval(),
        npy.string() +
            ": truncated .npy data: shape (100000, 100000) of <f4 needs 40000000000 bytes, the file has 4");
    write_bytes(npy,
                npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", "abcdEXTRA"));
    c.require_refused(c.eval(), npy.string() + ": 5 bytes after the .npy data (shape (1, 1) of <f4 needs 4)");
  }
  SECTION("a TIFF map whose header claims 20000 x 20000 pixels is refused before decoding") {
    std::string tiff("II*\0\x08\0\0\0\x02\0", 10);
    auto entry = [&](std::uint16_t tag, std::uint32_t v) {
      std::uint16_t tt[2] = {tag, 4};
      std::uint32_t cv[2] = {1, v};
      tiff.append(reinterpret_cast<const char*>(tt), 4).append(reinterpret_cast<const char*>(cv), 8);
    };
    entry(256, 20000);
    entry(257, 20000);
    tiff.append(4, '\0');
    write_bytes(c.map(".tiff"), tiff);
    c.require_refused(c.eval(),
                      c.map(".tiff").string() +
                          ": image is 20000x20000 (400000000 pixels), more than --max-image-pixels 67108864");
  }
}

TEST_CASE("bad run.json and --config files name the file and the key", "[cli][bad-files]") {
  TempDir tmp("badj");
  const fs::path run = tmp / "run", out = tmp / "out.json";
  fs::create_directories(run);
  write_bytes(run / "run.json", R"({"format": 5, "detector": "variation_model"})");
  auto r = run_adbench("--quiet eval --run " + q(run) + " --root " + q(synth_root()) +
                       " --category cap --out " + q(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + (run / "run.json").string() +
                       ": key 'format': expected a string, got number\n");
  REQUIRE(!fs::exists(out));

  write_bytes(tmp / "c.json", R"({"detector": 5})");
  r = run_adbench("--quiet eval --detector variation_model --config " + q(tmp / "c.json") + " --root " +
                  q(synth_root()) + " --category cap --out " + q(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + (tmp / "c.json").string() +
                       ": key 'detector': expected a string, got number\n");
  REQUIRE(!fs::exists(out));
}

TEST_CASE("backbone weights: a 200 KB metadata value and a bad shape are one line, exit 2",
          "[cli][bad-files]") {
  TempDir tmp("badw");
  const fs::path w = tmp / "w.safetensors", run = tmp / "run";
  adbench::write_safetensors(w, {{"x", at::zeros({2})}}, {{"input_normalization", std::string(200000, 'x')}});
  auto r = run_adbench("--quiet train --detector padim --backbone mobilenet_v2 --backbone-weights " + q(w) +
                       " --root " + q(synth_root()) + " --category cap --out " + q(run));
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err ==
          "adbench: error: " + w.string() + ": metadata 'input_normalization' ('" + std::string(80, 'x') +
              "... (200000 bytes)') gives no mean/std adbench can read (mean=[r,g,b] std=[r,g,b], or "
              "mean=std=[r,g,b]); add 'mean' and 'std' metadata keys\n");
  REQUIRE(!fs::exists(run));
  // shape [-1,3,3,3]: refused by the reader before anything is allocated.
  const std::string header = R"({"w":{"dtype":"F32","shape":[-1,3,3,3],"data_offsets":[0,4]}})";
  std::string bytes(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  write_bytes(w, bytes + header + std::string(4, '\0'));
  r = run_adbench("--quiet train --detector padim --backbone mobilenet_v2 --backbone-weights " + q(w) +
                  " --root " + q(synth_root()) + " --category cap --out " + q(run));
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err ==
          "adbench: error: " + w.string() + ": tensor 'w' has shape entry -1 (expected integers >= 0)\n");
  REQUIRE(!fs::exists(run));
}
