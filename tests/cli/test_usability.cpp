// End-to-end tests of the CLI's validation and usability (issue 7): numeric options with our own
// messages, detector setting ranges, --set detector, eval --setting multi-class on one category,
// every --help example run on the synthetic data, eval --pred on a folder with some categories,
// the CSV row of an adbench prediction folder, heatmap PNG layout, and dataset links and masks.
// Each bad input: exactly one line "adbench: error: ..." on stderr, exit code 2, nothing written.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "adbench/bench/heatmap.hpp"
#include "adbench/detectors/detector.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

/// Runs adbench (with --quiet) and requires exit 2 with exactly the one line `line`.
void expect_error(const std::string& args, const std::string& line) {
  auto r = run_adbench("--quiet " + args);
  INFO("adbench --quiet " << args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + line + "\n");
  REQUIRE(r.out.empty());
}

/// The folder entries of `dir` (recursively), to show that a refused command wrote nothing.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(e.path().string());
  return out;
}

/// Copies one category of the synthetic dataset into tmp/<name>/<category>.
fs::path copy_category(const TempDir& tmp, const std::string& category, const std::string& name = "data") {
  fs::path root = tmp / name;
  copy_tree(synth_root() / category, root / category);
  return root;
}

/// A perfect prediction folder for `category` (map = ground truth, score = label).
void perfect_predictions(const fs::path& pred, const fs::path& root, const std::string& category) {
  write_prediction_folder(pred, "mvtec_ad", root, category,
                          [](const adbench::Sample& s, const at::Tensor& gt) {
                            return std::make_pair(gt.clone(), double(s.label));
                          });
}

/// The CSV's data rows (header dropped), split at commas outside double quotes (RFC 4180: the
/// spec column is quoted, it holds commas).
std::vector<std::vector<std::string>> csv_rows(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_text(p));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char ch = line[i];
      if (ch == '"' && quoted && i + 1 < line.size() && line[i + 1] == '"')
        f.back() += '"', ++i;
      else if (ch == '"')
        quoted = !quoted;
      else if (ch == ',' && !quoted)
        f.emplace_back();
      else
        f.back() += ch;
    }
    rows.push_back(f);
  }
  return rows;
}

}  // namespace

TEST_CASE("numeric options: our own one-line messages, never CLI11's 309-digit bounds", "[cli][usability]") {
  TempDir tmp("num");
  const std::string root = " --root " + q(synth_root());
  const std::int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const std::string threads = "--threads: expected an integer from 0 to " + std::to_string(4 * hw) +
                              " (0: all cores; at most 4 x " + std::to_string(hw) +
                              " hardware threads), got ";
  expect_error("--threads 100000 list datasets", threads + "100000");
  expect_error("--threads " + std::to_string(4 * hw + 1) + " list datasets",
               threads + std::to_string(4 * hw + 1));
  REQUIRE(run_adbench("--threads " + std::to_string(4 * hw) + " list datasets").exit_code == 0);

  const std::string seed = "--seed: expected an integer from 0 to 2^64-1, got ";
  expect_error("--seed -1 synth --out " + q(tmp / "s"), seed + "-1");
  expect_error("--seed 18446744073709551616 synth --out " + q(tmp / "s"), seed + "18446744073709551616");
  REQUIRE(!fs::exists(tmp / "s"));
  REQUIRE(run_adbench("--seed 18446744073709551615 list datasets").exit_code == 0);

  const std::string eval = "eval --detector variation_model --category cap" + root;
  expect_error(eval + " --batch-size 0", "--batch-size: expected an integer >= 1, got 0");
  expect_error(eval + " --batch-size abc", "--batch-size: expected an integer >= 1, got 'abc'");
  expect_error(eval + " --batch-size 99999999999",
               "--batch-size: expected an integer >= 1, got 99999999999 (at most 2147483647)");
  expect_error(
      "train --detector variation_model --category cap --out " + q(tmp / "r") + root + " --batch-size -3",
      "--batch-size: expected an integer >= 1, got -3");
  expect_error("infer --run " + q(tmp / "r") + " --out " + q(tmp / "p") + " --batch-size 0",
               "--batch-size: expected an integer >= 1, got 0");
  expect_error(eval + " --shots 0", "--shots: expected an integer >= 1, got 0");
  expect_error(eval + " --aupro-bins -1", "--aupro-bins: expected an integer >= 0 (0: exact AUPRO), got -1");
  expect_error(eval + " --aupro-limits 0.3 0", "--aupro-limits: expected numbers in (0, 1], got 0");
  expect_error(eval + " --aupro-limits nan", "--aupro-limits: expected numbers in (0, 1], got 'nan'");
  expect_error(eval + " --aupro-limits 0.3,0", "--aupro-limits: expected numbers in (0, 1], got 0");
  expect_error(eval + " --aupro-limits 0.3,abc,0.01",
               "--aupro-limits: expected numbers in (0, 1], got 'abc'");
  const std::string device = "--device: expected auto, cpu, cuda or cuda:N (N from 0 to 127), got ";
  expect_error("--device gpu " + eval, device + "'gpu'");
  expect_error("--device cuda:99999999999999999999 " + eval, device + "'cuda:99999999999999999999'");
  expect_error("--device cuda:128 " + eval, device + "'cuda:128'");
  // CLI11's own messages quote arguments: capped as well.
  expect_error("list datasets --" + std::string(400, 'y'),
               "The following argument was not expected: --" + std::string(257, 'y') +
                   "... (443 bytes) (run 'adbench --help' or 'adbench <command> --help')");
  // Choices: our line too, the value capped by excerpt().
  expect_error("list " + std::string(200, 'x'),
               "what: expected one of datasets, detectors, categories, got '" + std::string(80, 'x') +
                   "... (200 bytes)'");
  expect_error(eval + " --setting multi",
               "--setting: expected one of single-class, multi-class, got 'multi'");
  REQUIRE(listing(tmp.path()).empty());
}

TEST_CASE("detector settings: ranges checked at merge time; --set detector is an error", "[cli][usability]") {
  TempDir tmp("set");
  const std::string root = " --root " + q(synth_root()) + " --category cap";
  expect_error("eval --detector patchcore --backbone-weights none --set sigma=-1" + root,
               "detector patchcore: setting 'sigma' must be in [0, 64], got -1");
  expect_error("eval --detector variation_model --set std_floor=0" + root,
               "detector variation_model: setting 'std_floor' must be > 0, got 0");
  expect_error("train --detector variation_model --set image_size=4294967304 --out " + q(tmp / "run") + root,
               "detector variation_model: setting 'image_size' must be in [8, 4096], got 4294967304");
  expect_error("eval --detector variation_model --set detector=padim" + root,
               "--set detector=padim: the detector is not a setting; use --detector padim");
  expect_error(
      "train --set detector=variation_model --out " + q(tmp / "run") + root,
      "--set detector=variation_model: the detector is not a setting; use --detector variation_model");
  // A config file still names the detector with its "detector" key.
  { std::ofstream(tmp / "c.json") << R"({"detector": "variation_model", "std_floor": -1})"; }
  expect_error("train --config " + q(tmp / "c.json") + " --out " + q(tmp / "run") + root,
               "detector variation_model: setting 'std_floor' must be > 0, got -1");
  REQUIRE(!fs::exists(tmp / "run"));
}

TEST_CASE("train --epochs, --checkpoint-dir, --resume: for detectors that train in epochs",
          "[cli][usability]") {
  TempDir tmp("epochs");
  const std::string rest = " --root " + q(synth_root()) + " --category cap --out " + q(tmp / "run");
  expect_error(
      "train --detector variation_model --epochs 3" + rest,
      "adbench train: --epochs: detector 'variation_model' has no 'epochs' setting (it does not train in "
      "epochs)");
  expect_error("train --detector variation_model --checkpoint-dir " + q(tmp / "ck") + rest,
               "adbench train: --checkpoint-dir and --resume are for detectors that train in epochs; "
               "'variation_model' keeps no checkpoints");
  expect_error("train --detector ffp --resume" + rest,
               "adbench train: --resume needs --checkpoint-dir (the folder of the checkpoints to continue)");
  // The modality is checked before any folder is made.
  expect_error("train --detector ffp --epochs 2 --checkpoint-dir " + q(tmp / "ck") + rest,
               "detector 'ffp' takes videos; dataset 'mvtec_ad' holds images (detectors for images: "
               "anomalyclip, fastrecon, "
               "padim, patchcore, spade, variation_model, winclip)");
  REQUIRE(!fs::exists(tmp / "ck"));
  REQUIRE(!fs::exists(tmp / "run"));
}

TEST_CASE("eval --setting multi-class needs --category all", "[cli][usability]") {
  TempDir tmp("mc");
  expect_error(
      "eval --detector variation_model --setting multi-class --category cap --root " + q(synth_root()) +
          " --out " + q(tmp / "r.json"),
      "adbench eval: --setting multi-class evaluates one model on every category: use --category all");
  REQUIRE(!fs::exists(tmp / "r.json"));
}

TEST_CASE("list detectors --verbose prints every setting with default and range", "[cli][usability]") {
  auto r = run_adbench("list detectors --verbose");
  REQUIRE(r.exit_code == 0);
  std::istringstream in(r.out);
  std::string line, detector;
  std::map<std::string, std::string> rows;  // "detector/setting" -> line
  while (std::getline(in, line)) {
    if (line.rfind("    ", 0) != 0) {
      detector = line.substr(0, line.find('\t'));
      continue;
    }
    std::istringstream ls(line);
    std::string key;
    ls >> key;
    rows[detector + "/" + key] = line;
  }
  adbench::register_builtin_detectors();
  for (const auto& name : adbench::detector_registry().names())
    for (const auto& s : adbench::detector_settings(name)) {
      INFO(name << "/" << s.key);
      REQUIRE(rows.count(name + "/" + s.key));
    }
  auto has = [&](const std::string& key, const std::vector<std::string>& parts) {
    INFO(key << ": " << rows[key]);
    for (const auto& p : parts) CHECK(rows[key].find(p) != std::string::npos);
  };
  has("patchcore/coreset_ratio", {"0.1", "number in (0, 1]", "fraction of training patches"});
  has("patchcore/patch_size", {" 3 ", "odd integer in [1, 31]"});
  has("patchcore/sigma", {"4.0", "number in [0, 64]"});
  has("spade/image_metric", {"'l2'", "one of l2, cosine"});
  has("simple3d/neighbour_counts", {"[40,80,120]", "a list of 1 to 8 integers in [2, 10000]"});
  has("padim/covariance_eps", {"0.01", "number > 0"});
  auto help = run_adbench("list --help");
  REQUIRE(help.out.find("--verbose") != std::string::npos);
  REQUIRE(help.out.find("adbench list detectors --verbose") != std::string::npos);
}

TEST_CASE("every --help example uses real names, and the cheap ones run", "[cli][usability]") {
  // Examples in the order a reader would run them: synth first, then train, infer, eval.
  std::vector<std::string> examples;
  for (const char* sub : {"", "synth ", "list ", "train ", "infer ", "eval "}) {
    auto h = run_adbench(std::string(sub) + "--help");
    REQUIRE(h.exit_code == 0);
    std::istringstream in(h.out);
    std::string line, cmd;
    while (std::getline(in, line)) {
      auto start = line.find_first_not_of(' ');
      if (cmd.empty() && (start == std::string::npos || line.compare(start, 8, "adbench ") != 0)) continue;
      std::string part = line.substr(start);
      auto hash = part.find("  #");
      if (hash != std::string::npos) part = part.substr(0, hash);
      while (!part.empty() && part.back() == ' ') part.pop_back();
      const bool more = !part.empty() && part.back() == '\\';
      if (more) part.pop_back();
      cmd += (cmd.empty() ? "" : " ") + part;
      if (!more) {
        examples.push_back(std::regex_replace(cmd, std::regex(" +"), " "));
        cmd.clear();
      }
    }
  }
  REQUIRE(examples.size() >= 12);
  const std::set<std::string> synth_categories = {"all", "bracket", "cap", "marble", "weave"};
  TempDir cwd("examples");
  WorkingDir here(cwd.path());
  int ran = 0;
  std::set<std::string> done;
  for (const auto& ex : examples) {
    INFO(ex);
    REQUIRE(ex.find("...") == std::string::npos);
    REQUIRE(ex.find("carpet") == std::string::npos);
    std::smatch m;
    const bool on_synth = std::regex_search(ex, std::regex("--root data/synth( |$)"));
    if (on_synth && std::regex_search(ex, m, std::regex("--category (\\S+)"))) {
      CHECK(synth_categories.count(m[1].str()));
    }
    // Cheap: no weights file, no dataset outside the synthetic one, no duplicate.
    if (ex.find(".safetensors") != std::string::npos || ex.find("/data/") != std::string::npos ||
        ex.find("--kind") != std::string::npos || done.count(ex))
      continue;
    done.insert(ex);
    auto r = run_adbench("--quiet " + ex.substr(8));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    ++ran;
  }
  REQUIRE(ran >= 8);
  REQUIRE(fs::exists("runs/vm_cap/run.json"));
  REQUIRE(fs::exists("preds/cap/heatmaps"));
}

TEST_CASE("eval --pred with some categories: evaluates those, warns about the rest; CSV names the detector",
          "[cli][usability]") {
  TempDir tmp("part");
  const std::string root = " --root " + q(synth_root());
  auto r = run_adbench("--quiet train --detector variation_model --set image_size=64 --category cap --out " +
                       q(tmp / "run") + root);
  REQUIRE(r.exit_code == 0);
  r = run_adbench("--quiet infer --run " + q(tmp / "run") + " --out " + q(tmp / "pred"));
  REQUIRE(r.exit_code == 0);
  // The run's own evaluation: the reference for detector and config hash.
  r = run_adbench("--quiet eval --run " + q(tmp / "run") + root + " --category cap --csv " +
                  q(tmp / "run.csv"));
  REQUIRE(r.exit_code == 0);
  auto run_row = csv_rows(tmp / "run.csv").at(0);

  r = run_adbench("eval --pred " + q(tmp / "pred") + root + " --category all --out " + q(tmp / "r.json") +
                  " --csv " + q(tmp / "b.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string warning = "--category all: skipped 3 of 4 categories with no folder in " +
                              (tmp / "pred").string() + ": bracket, marble, weave";
  REQUIRE(r.err.find("[warning] " + warning + "\n") != std::string::npos);
  auto res = read_json(tmp / "r.json");
  REQUIRE(res["warnings"] == nlohmann::json::array({warning}));
  REQUIRE(res["categories"].size() == 1);
  REQUIRE(res["categories"][0]["category"] == "cap");
  REQUIRE(res["categories"][0]["produced_by"]["detector"] == "variation_model");
  auto rows = csv_rows(tmp / "b.csv");
  REQUIRE(rows.size() == 2);  // image and pixel levels
  // adbench.csv/2,created_utc,git_commit,dataset,category,setting,level,source,detector,spec,config_sha256,...
  CHECK(rows[0][6] == "image");
  CHECK(rows[1][6] == "pixel");
  CHECK(rows[0][7] == "predictions:" + (tmp / "pred").string());
  CHECK(rows[0][8] == "variation_model");
  CHECK(rows[0][9] == run_row[9]);
  CHECK(rows[0][10] == run_row[10]);
  CHECK(rows[0][10].size() == 64);

  // A folder with none of the categories: an error, nothing written.
  fs::create_directories(tmp / "empty");
  expect_error("eval --pred " + q(tmp / "empty") + root + " --category all --out " + q(tmp / "e.json"),
               (tmp / "empty").string() +
                   ": no predictions for any of the 4 categories of the dataset (bracket, cap, "
                   "marble, weave; expected <category>/test/<defect>/<stem>.tiff)");
  REQUIRE(!fs::exists(tmp / "e.json"));
}

TEST_CASE("heatmap captions: ground truth labelled, out-of-range scores said so", "[cli][usability]") {
  auto t = adbench::heatmap_text(1, "crack", 3.2, 0.0, 1.0);
  CHECK(t.ground_truth == "GT: anomalous (crack)");
  CHECK(t.score == "score 3.2 (above range)");
  CHECK(t.low == "0");
  CHECK(t.high == "1");
  t = adbench::heatmap_text(0, "good", -0.25, 0.125, 4.5);
  CHECK(t.ground_truth == "GT: normal");
  CHECK(t.score == "score -0.25 (below range)");
  CHECK(t.low == "0.125");
  CHECK(t.high == "4.5");
  CHECK(adbench::heatmap_text(0, "good", 0.5, 0.0, 1.0).score == "score 0.5");
  CHECK(adbench::heatmap_text(1, "hole", 1.0, 0.0, 1.0).score == "score 1");
  CHECK(adbench::heatmap_text(1, "hole", 0.123456789, 0.0, 1.0).score == "score 0.1235");
}

TEST_CASE("heatmap PNG: caption band above, colour bar below, picture untouched", "[cli][usability]") {
  TempDir tmp("heat");
  auto r = run_adbench("--quiet eval --detector variation_model --set image_size=64 --root " +
                       q(synth_root()) + " --category cap --pred-out " + q(tmp / "p") + " --heatmaps");
  REQUIRE(r.exit_code == 0);
  const fs::path png = tmp / "p" / "cap" / "heatmaps" / "hole" / "000.png";
  REQUIRE(fs::exists(png));
  cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);  // BGR
  cv::Mat src = cv::imread((synth_root() / "cap" / "test" / "hole" / "000.png").string(), cv::IMREAD_COLOR);
  REQUIRE(src.rows == 224);
  // image | overlay at 224 rows, plus the two bands.
  REQUIRE(img.cols == 2 * src.cols);
  REQUIRE(img.rows == adbench::kHeatmapCaptionHeight + src.rows + adbench::kHeatmapBarHeight);
  // The caption band: background with some text; its first row is plain background.
  cv::Mat band = img.rowRange(0, adbench::kHeatmapCaptionHeight);
  cv::Mat first = img.row(0);
  CHECK(cv::countNonZero(first.reshape(1) != 24) == 0);
  CHECK(cv::countNonZero(band.reshape(1) > 200) > 50);
  // The left half of the picture is the test image itself (no text drawn on it).
  cv::Mat left = img(cv::Rect(0, adbench::kHeatmapCaptionHeight, src.cols, src.rows));
  CHECK(cv::norm(left, src, cv::NORM_INF) <= 1.0);
  // Colour bar: JET from dark blue (left end) to dark red (right end).
  const int bar_y = adbench::kHeatmapCaptionHeight + src.rows + 10;
  cv::Vec3b lo = img.at<cv::Vec3b>(bar_y, 7), hi = img.at<cv::Vec3b>(bar_y, img.cols - 8);
  CHECK(int(lo[0]) > 100);  // blue
  CHECK(int(lo[2]) < 30);
  CHECK(int(hi[2]) > 100);  // red
  CHECK(int(hi[0]) < 30);
}

TEST_CASE("datasets: dangling and looping image links are errors naming the link", "[cli][usability]") {
  TempDir tmp("links");
  auto root = copy_category(tmp, "cap");
  const fs::path link = root / "cap" / "test" / "good" / "900.png";
  fs::create_symlink(tmp / "nowhere.png", link);
  const std::string eval = "eval --pred " + q(tmp / "pred") + " --root " + q(root) + " --category cap";
  expect_error(eval, link.string() + ": dangling symbolic link (its target '" +
                         (tmp / "nowhere.png").string() + "' does not exist)");
  fs::remove(link);
  const fs::path loop = root / "cap" / "train" / "good" / "loop.png";
  fs::create_symlink(loop, loop);
  expect_error(eval, loop.string() + ": symbolic link loop");
}

TEST_CASE("datasets: orphan masks and masks for normal images are counted warnings", "[cli][usability]") {
  TempDir tmp("masks");
  auto root = copy_category(tmp, "cap");
  const fs::path gt = root / "cap" / "ground_truth";
  const fs::path some_mask = *fs::directory_iterator(gt / "hole");
  fs::create_directories(gt / "good");
  fs::copy_file(some_mask, gt / "good" / "000_mask.png");
  fs::copy_file(some_mask, gt / "good" / "001_mask.png");
  fs::copy_file(some_mask, gt / "hole" / "999_mask.png");
  perfect_predictions(tmp / "pred", root, "cap");
  auto r = run_adbench("eval --pred " + q(tmp / "pred") + " --root " + q(root) + " --category cap --out " +
                       q(tmp / "r.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string normal = "category cap: 2 ground-truth mask(s) for normal images, ignored (first: " +
                             (gt / "good" / "000_mask.png").string() + ")";
  const std::string orphan =
      "category cap: 1 ground-truth mask(s) that match no anomalous test image, ignored (first: " +
      (gt / "hole" / "999_mask.png").string() + ")";
  auto res = read_json(tmp / "r.json");
  const auto& w = res["categories"][0]["warnings"];
  CHECK(std::find(w.begin(), w.end(), normal) != w.end());
  CHECK(std::find(w.begin(), w.end(), orphan) != w.end());
  CHECK(r.err.find("[warning] " + normal + "\n") != std::string::npos);
  CHECK(r.err.find("[warning] " + orphan + "\n") != std::string::npos);
  // Metrics unaffected: the ignored masks count nowhere.
  CHECK(metric(res, "cap", "pixel_auroc") == 1.0);
}
