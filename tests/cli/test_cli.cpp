// End-to-end tests of the adbench binary on the synthetic dataset: the whole train / infer / eval
// path, prediction folders, result files, and one test per kind of bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <random>

#include "adbench/core/image_io.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/detectors/detector.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

// "a, b, c": the registered detectors, as the registry lists them in its errors.
std::string registered_detectors() {
  adbench::register_builtin_detectors();
  std::string s;
  for (const auto& n : adbench::detector_registry().names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

int count_lines(const fs::path& p) {
  auto t = read_text(p);
  return static_cast<int>(std::count(t.begin(), t.end(), '\n'));
}

}  // namespace

TEST_CASE("adbench --version and --help", "[cli]") {
  auto r = run_adbench("--version");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.rfind("adbench 0.1.0 (commit ", 0) == 0);
  for (const char* sub : {"train", "infer", "eval", "synth", "list", "leaderboard", "compare"}) {
    auto h = run_adbench(std::string(sub) + " --help");
    INFO(sub);
    REQUIRE(h.exit_code == 0);
    REQUIRE(h.out.find("Example") != std::string::npos);
  }
  auto bad = run_adbench("frobnicate");
  REQUIRE(bad.exit_code == 2);
}

TEST_CASE("adbench leaderboard: one table of result JSONs, best image AUROC first", "[cli]") {
  TempDir tmp("board");
  auto write = [&](const std::string& name, const std::string& detector, double auroc, double train) {
    nlohmann::json j = {
        {"schema", "adbench.result/2"},
        {"produced_by",
         {{"detector", detector}, {"backbone", detector == "variation_model" ? "" : "mobilenet_v2"}}},
        {"mean",
         {{"image", {{"metrics", {{"auroc", auroc}, {"ap", 0.5}, {"f1_max", 0.25}}}}},
          {"pixel", {{"metrics", {{"auroc", 0.875}, {"aupro_0.3", 0.125}}}}}}},
        {"categories",
         {{{"category", "a"}, {"seconds", {{"train", train}, {"infer", 1.0}}}},
          {{"category", "b"}, {"seconds", {{"train", train}, {"infer", 2.0}}}}}}};
    std::ofstream(tmp / name) << j.dump();
    return q(tmp / name);
  };
  const std::string a = write("a.json", "variation_model", 0.75, 0.5),
                    b = write("b.json", "patchcore", 0.96875, 3.0);
  auto r = run_adbench("leaderboard " + a + " " + b);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "detector                   I-AUROC      I-AP   I-F1max   P-AUROC      P-AP AUPRO@0.3   train s   "
        "infer s\n"
        "patchcore (mobilenet_v2)     96.88     50.00     25.00     87.50         -     12.50       6.0      "
        " 3.0\n"
        "variation_model              75.00     50.00     25.00     87.50         -     12.50       1.0      "
        " 3.0\n"
        "(mean over each result's categories, values in %; seconds summed over categories)\n");
  std::ofstream(tmp / "bad.json") << "{\"schema\": \"other\"}";
  auto bad = run_adbench("leaderboard " + q(tmp / "bad.json"));
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "adbench: error: " + (tmp / "bad.json").string() +
                       ": not an adbench result JSON (schema adbench.result/N with categories and mean)\n");
}

TEST_CASE("adbench leaderboard pivots: categories x detectors, mean +- std over seeds, CSV inputs", "[cli]") {
  TempDir tmp("pivot");
  auto write = [&](const std::string& name, const std::string& detector, int seed, double a, double b) {
    auto cat = [](const char* c, double auroc) {
      return nlohmann::json{
          {"category", c},
          {"levels",
           {{{"level", "image"}, {"metrics", {{"auroc", auroc}}}},
            {{"level", "pixel"}, {"metrics", {{"auroc", auroc / 2}, {"aupro_0.3", 0.25}}}}}}};
    };
    nlohmann::json j = {{"schema", "adbench.result/2"},
                        {"seed", seed},
                        {"produced_by", {{"detector", detector}, {"backbone", "mobilenet_v2"}}},
                        {"mean", nlohmann::json::object()},
                        {"categories", {cat("b", b), cat("a", a)}}};
    std::ofstream(tmp / name) << j.dump();
    return q(tmp / name);
  };
  const std::string files = write("p0.json", "patchcore", 0, 0.75, 1.0) + " " +
                            write("p1.json", "patchcore", 1, 0.875, 1.0) + " " +
                            write("v0.json", "variation_model", 0, 0.5, 0.625);
  auto r = run_adbench("leaderboard " + files + " --format markdown");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "### image_auroc (%)\n\n| category | patchcore | variation_model |\n|---|---:|---:|\n"
        "| a | 81.25 ± 8.84 | 50.00 |\n| b | 100.00 ± 0.00 | 62.50 |\n| mean | 90.62 | 56.25 |\n\n");
  // The terminal table counts characters, not bytes: "±" is one column.
  r = run_adbench("leaderboard " + files + " --format table");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "image_auroc (%)\ncategory      patchcore  variation_model\na          81.25 ± 8.84            "
        "50.00\nb         100.00 ± 0.00            62.50\nmean              90.62            56.25\n\n");
  r = run_adbench("leaderboard " + files + " --by seed --metric pixel_auroc --format csv");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "metric,category,seed,mean,std,n\n"
        "pixel_auroc,a,seed 0,0.3125,0.08838834765,2\npixel_auroc,a,seed 1,0.4375,0,1\n"
        "pixel_auroc,b,seed 0,0.40625,0.1325825215,2\npixel_auroc,b,seed 1,0.5,0,1\n");
  r = run_adbench("leaderboard " + files + " --format paper");
  REQUIRE(r.exit_code == 0);
  CHECK(
      r.out ==
      "### I-AUROC / P-AUROC / AUPRO@0.3 (%)\n\n| category | patchcore | variation_model |\n|---|---:|---:|\n"
      "| a | 81.2 ± 8.8 / 40.6 ± 4.4 / 25.0 ± 0.0 | 50.0 / 25.0 / 25.0 |\n"
      "| b | 100.0 ± 0.0 / 50.0 ± 0.0 / 25.0 ± 0.0 | 62.5 / 31.2 / 25.0 |\n"
      "| mean | 90.6 / 45.3 / 25.0 | 56.2 / 28.1 / 25.0 |\n\n");
  r = run_adbench("leaderboard " + files + " --metric image_ap");
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "adbench: error: adbench leaderboard: no result has metric 'image_ap' (they have: image_auroc, "
        "pixel_aupro_0.3, pixel_auroc)\n");
  // A leaderboard CSV as eval --csv writes it: the same pivot as from the JSONs.
  {
    std::ofstream csv(tmp / "board.csv");
    csv << "adbench.csv/"
           "2,created_utc,git_commit,dataset,category,setting,level,source,detector,spec,config_sha256,"
           "backbone,weights_sha256,device,seed,auroc,ap,f1_max,aupro_0.3,aupro_0.05,aupro_0.01,units,"
           "anomalous,"
           "train_s,infer_s,metrics_s\n";
    for (const auto& [cat, auroc] :
         std::vector<std::pair<std::string, std::string>>{{"a", "0.5"}, {"b", "0.625"}})
      csv << "0.1.0,2026-12-04T00:00:00Z,abc,mvtec_ad," << cat
          << ",single-class,image,detector,variation_model,\"variation_model(image_size=64,sigma=4.0)\",x,,,"
             "cpu,0,"
          << auroc << ",,,,,,32,20,1,1,1\n";
  }
  r = run_adbench("leaderboard " + q(tmp / "board.csv") + " --format table");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "image_auroc (%)\ncategory  variation_model\na                   50.00\nb                   "
        "62.50\nmean                56.25\n\n");
}

namespace {
/// A result JSON with two categories; `pixel_auroc_b` is category b's pixel AUROC.
nlohmann::json compare_result(double pixel_auroc_b) {
  auto cat = [](const char* name, double i_auroc, double p_auroc) {
    return nlohmann::json{{"category", name},
                          {"levels",
                           {{{"level", "image"}, {"metrics", {{"auroc", i_auroc}, {"ap", 0.5}}}},
                            {{"level", "pixel"}, {"metrics", {{"auroc", p_auroc}}}}}}};
  };
  return {{"schema", "adbench.result/2"},
          {"dataset", "mvtec_ad"},
          {"setting", "single-class"},
          {"options", {{"ap_convention", "step"}, {"aupro_bins", 0}}},
          {"produced_by", {{"spec", "patchcore(coreset_ratio=0.1)"}}},
          {"mean", nlohmann::json::object()},
          {"categories", {cat("a", 0.75, 0.875), cat("b", 1.0, pixel_auroc_b)}}};
}
}  // namespace

TEST_CASE("eval --aupro-convention cflow200: recorded in the result, other AUPRO values", "[cli]") {
  TempDir tmp("cflow");
  const std::string args = "--quiet eval --detector variation_model --root " + q(synth_root()) +
                           " --category cap --aupro-limits 0.3 --out ";
  auto a = run_adbench(args + q(tmp / "exact.json"));
  auto b = run_adbench(args + q(tmp / "cflow.json") + " --aupro-convention cflow200");
  INFO(a.err << b.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  const auto ja = read_json(tmp / "exact.json"), jb = read_json(tmp / "cflow.json");
  CHECK(ja["options"]["aupro_convention"] == "exact");
  CHECK(jb["options"]["aupro_convention"] == "cflow200");
  CHECK(metric(ja, "cap", "pixel_auroc") == metric(jb, "cap", "pixel_auroc"));
  CHECK(metric(jb, "cap", "aupro_0.3") > 0.0);
  CHECK(metric(ja, "cap", "aupro_0.3") != metric(jb, "cap", "aupro_0.3"));
  auto bad = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                         " --category cap --aupro-convention cflow");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--aupro-convention") != std::string::npos);
}

TEST_CASE("adbench compare: a regression gate with a Markdown summary", "[cli]") {
  TempDir tmp("compare");
  auto write = [&](const std::string& name, const nlohmann::json& j) {
    std::ofstream(tmp / name) << j.dump();
    return q(tmp / name);
  };
  const std::string base = write("base.json", compare_result(0.9375));
  const std::string table_head =
      "| category | metric | BASE % | NEW % | delta | |\n|---|---|---:|---:|---:|---|\n"
      "| a | image_ap | 50.00 | 50.00 | +0.00 |  |\n"
      "| a | image_auroc | 75.00 | 75.00 | +0.00 |  |\n"
      "| a | pixel_auroc | 87.50 | 87.50 | +0.00 |  |\n"
      "| b | image_ap | 50.00 | 50.00 | +0.00 |  |\n"
      "| b | image_auroc | 100.00 | 100.00 | +0.00 |  |\n";
  SECTION("identical: exit 0") {
    auto r = run_adbench("compare " + base + " " + base);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find(table_head + "| b | pixel_auroc | 93.75 | 93.75 | +0.00 |  |\n"
                                  "| (mean) | image_ap | 50.00 | 50.00 | +0.00 |  |\n") != std::string::npos);
    CHECK(r.out.find("**PASS**: 9 values, none dropped by more than 0.5 points\n") != std::string::npos);
  }
  SECTION("a drop of 1.5625 points fails the default tolerance, passes a 2-point one") {
    const std::string worse = write("worse.json", compare_result(0.921875));
    auto r = run_adbench("compare " + base + " " + worse);
    REQUIRE(r.exit_code == 1);
    CHECK(r.out.find(table_head + "| b | pixel_auroc | 93.75 | 92.19 | -1.56 | REGRESSION |\n") !=
          std::string::npos);
    // The mean pixel AUROC dropped by 0.78 points: a second regression.
    CHECK(r.out.find("| (mean) | pixel_auroc | 90.62 | 89.84 | -0.78 | REGRESSION |\n") != std::string::npos);
    CHECK(r.out.find("**FAIL: 2 regressions** beyond 0.5 points (worst: b pixel_auroc)\n") !=
          std::string::npos);
    CHECK(run_adbench("compare " + base + " " + worse + " --tolerance 0.02").exit_code == 0);
    CHECK(run_adbench("compare " + base + " " + worse + " --metrics image_auroc,image_ap").exit_code == 0);
    // An improvement is never a regression.
    CHECK(run_adbench("compare " + worse + " " + base).exit_code == 0);
  }
  SECTION("results that are not comparable: exit 2, one line naming the difference") {
    nlohmann::json other = compare_result(0.9375);
    other["dataset"] = "visa";
    auto r = run_adbench("compare " + base + " " + write("visa.json", other));
    CHECK(r.exit_code == 2);
    CHECK(r.err == "adbench: error: adbench compare: not comparable: dataset differs (" +
                       (tmp / "base.json").string() + ": mvtec_ad, " + (tmp / "visa.json").string() +
                       ": visa)\n");
    other = compare_result(0.9375);
    other["options"]["ap_convention"] = "interpolated";
    r = run_adbench("compare " + base + " " + write("ap.json", other));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("not comparable: metric convention ap_convention differs (") != std::string::npos);
    // A result without aupro_convention (written before it existed) is "exact"; cflow200 is not.
    other = compare_result(0.9375);
    other["options"]["aupro_convention"] = "exact";
    CHECK(run_adbench("compare " + base + " " + write("exact.json", other)).exit_code == 0);
    other["options"]["aupro_convention"] = "cflow200";
    r = run_adbench("compare " + base + " " + write("cflow.json", other));
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "adbench: error: adbench compare: not comparable: metric convention aupro_convention differs (" +
              (tmp / "base.json").string() + ": exact, " + (tmp / "cflow.json").string() + ": cflow200)\n");
    other = compare_result(0.9375);
    other["categories"][1]["category"] = "c";
    r = run_adbench("compare " + base + " " + write("cats.json", other));
    CHECK(r.exit_code == 2);
    CHECK(r.err ==
          "adbench: error: adbench compare: not comparable: the category sets differ: b (only in BASE), c "
          "(only in "
          "NEW)\n");
    r = run_adbench("compare " + base + " " + base + " --metrics pixel_aupro_0.3");
    CHECK(r.exit_code == 2);
    CHECK(r.err == "adbench: error: adbench compare: metric 'pixel_aupro_0.3' is not in " +
                       (tmp / "base.json").string() + " (it has: image_ap, image_auroc, pixel_auroc)\n");
  }
}

TEST_CASE("adbench sets its runtime settings unless the user set them; the result JSON records them",
          "[cli]") {
  TempDir tmp("tunables");
  // Restores the variables however the test ends.
  struct EnvGuard {
    std::vector<std::pair<std::string, std::optional<std::string>>> saved;
    EnvGuard(std::initializer_list<const char*> names) {
      for (const char* n : names) {
        const char* v = std::getenv(n);
        saved.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      }
    }
    ~EnvGuard() {
      for (const auto& [n, v] : saved) v ? ::setenv(n.c_str(), v->c_str(), 1) : ::unsetenv(n.c_str());
    }
  } guard{"GLIBC_TUNABLES", "MALLOC_TOP_PAD_", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"};
  auto machine = [&](const std::string& name) {
    auto r = run_adbench("--quiet eval --detector variation_model --set image_size=64 --root " +
                         q(synth_root()) + " --category cap --out " + q(tmp / name));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return read_json(tmp / name)["machine"];
  };
  for (const auto& [n, v] : guard.saved) ::unsetenv(n.c_str());
  const auto ours = machine("ours.json");
  CHECK(ours["glibc_tunables"] ==
        "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=536870912:glibc.malloc.top_pad="
        "67108864");
  CHECK(ours["omp_wait_policy"] == "PASSIVE");
  CHECK(ours["openblas_thread_timeout"] == "4");
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
  ::setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  ::setenv("OPENBLAS_THREAD_TIMEOUT", "7", 1);
  const auto theirs = machine("theirs.json");
  CHECK(theirs["glibc_tunables"] == "glibc.malloc.arena_max=2");
  CHECK(theirs["omp_wait_policy"] == "ACTIVE");
  CHECK(theirs["openblas_thread_timeout"] == "7");
  ::unsetenv("GLIBC_TUNABLES");
  ::setenv("MALLOC_TOP_PAD_", "1048576", 1);
  CHECK(machine("malloc_var.json")["glibc_tunables"] == "default");
}

TEST_CASE("adbench list", "[cli]") {
  auto d = run_adbench("list datasets");
  REQUIRE(d.exit_code == 0);
  for (const char* name : {"btad\t", "folder\t", "mpdd\t", "mvtec_ad\t", "visa\t"})
    REQUIRE(d.out.find(name) != std::string::npos);
  auto det = run_adbench("list detectors");
  REQUIRE((det.out.rfind("variation_model\t", 0) == 0 ||
           det.out.find("\nvariation_model\t") != std::string::npos));
  REQUIRE(det.out.find("\nsimple3d\t[point clouds] ") != std::string::npos);
  REQUIRE(det.out.find("\npatchcore\t[images] ") != std::string::npos);
  auto c = run_adbench("list categories --dataset mvtec_ad --root " + q(synth_root()));
  REQUIRE(c.exit_code == 0);
  REQUIRE(c.out == "bracket\ncap\nmarble\nweave\n");
}

TEST_CASE("one-go eval of variation_model finds the synthetic defects", "[cli][e2e]") {
  TempDir tmp("eval");
  auto out = tmp / "vm.json";
  auto csv = tmp / "board.csv";
  auto r = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                       " --category all --aupro-limits 0.3 0.05 --out " + q(out) + " --csv " + q(csv));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = read_json(out);
  REQUIRE(j["schema"] == "adbench.result/2");
  REQUIRE(j["source"] == nlohmann::json{{"kind", "detector"}});
  REQUIRE(j["produced_by"]["detector"] == "variation_model");
  REQUIRE(j["produced_by"]["config"]["image_size"] == 256);
  REQUIRE(j["produced_by"]["spec"].get<std::string>().rfind("variation_model(", 0) == 0);
  // Levels: image then pixel, each with its own metrics and counts.
  for (const auto& c : j["categories"]) {
    REQUIRE(c["levels"].size() == 2);
    REQUIRE(c["levels"][0]["level"] == "image");
    REQUIRE(c["levels"][1]["level"] == "pixel");
    REQUIRE(c["levels"][0]["counts"]["units"] == c["counts"]["test"]);
    REQUIRE(c["levels"][1]["metrics"].contains("aupro_0.05"));
  }
  REQUIRE(j["device"] == "cpu");
  REQUIRE(j["categories"].size() == 4);
  for (const auto& c : j["categories"]) {
    std::string cat = c["category"];
    INFO(cat);
    REQUIRE(c["counts"]["train"] == 20);
    REQUIRE(c["counts"]["test_normal"] == 6);
    REQUIRE(metric(j, cat, "image_auroc") >= 0.8);
    REQUIRE(metric(j, cat, "pixel_auroc") >= 0.8);
    REQUIRE(metric(j, cat, "aupro_0.3") > 0.0);
    REQUIRE(metric(j, cat, "aupro_0.05") > 0.0);
  }
  // stdout: the table with a mean row; CSV: header + one row per category and level, header once
  // on append.
  REQUIRE(r.out.find("I-AUROC") != std::string::npos);
  REQUIRE(r.out.find("P-AUROC") != std::string::npos);
  REQUIRE(r.out.find("\nmean ") != std::string::npos);
  REQUIRE(count_lines(csv) == 9);
  auto r2 = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                        " --category cap --csv " + q(csv));
  REQUIRE(r2.exit_code == 0);
  REQUIRE(count_lines(csv) == 11);
  auto text = read_text(csv);
  REQUIRE(text.find("adbench.csv/2,created_utc,") == 0);
  REQUIRE(text.find("adbench.csv/2,", 1) == std::string::npos);
  REQUIRE(text.find(",cap,single-class,image,detector,variation_model,") != std::string::npos);
  REQUIRE(text.find(",cap,single-class,pixel,detector,variation_model,") != std::string::npos);
}

TEST_CASE("train -> infer -> eval equals the one-go eval", "[cli][e2e]") {
  TempDir tmp("tie");
  const std::string root = q(synth_root());
  auto run = tmp / "run";
  auto pred = tmp / "pred";
  REQUIRE(run_adbench("--quiet train --detector variation_model --root " + root + " --category weave --out " +
                      q(run))
              .exit_code == 0);
  REQUIRE(fs::exists(run / "run.json"));
  REQUIRE(fs::exists(run / "model.safetensors"));
  auto info = read_json(run / "run.json");
  REQUIRE(info["detector"] == "variation_model");
  REQUIRE(info["train_count"] == 20);
  REQUIRE(info["config"]["std_floor"] == 0.02);
  auto inf = run_adbench("--quiet infer --run " + q(run) + " --out " + q(pred) + " --heatmaps");
  INFO(inf.err);
  REQUIRE(inf.exit_code == 0);
  REQUIRE(fs::exists(pred / "weave" / "scores.csv"));
  REQUIRE(fs::exists(pred / "weave" / "prediction.json"));
  REQUIRE(fs::exists(pred / "weave" / "test" / "good" / "000.tiff"));
  REQUIRE(fs::exists(pred / "weave" / "heatmaps" / "hole" / "000.png"));
  // Where the time went: variation_model's own work is not staged, the TIFF writing is.
  const auto stages = read_json(pred / "weave" / "prediction.json")["stage_seconds"];
  REQUIRE(stages.is_object());
  REQUIRE(stages.contains("write"));
  CHECK(stages["write"].get<double>() > 0.0);
  auto staged = run_adbench("--quiet eval --pred " + q(pred) + " --root " + root +
                            " --category weave --out " + q(tmp / "staged.json"));
  auto onego = run_adbench("--quiet eval --detector variation_model --root " + root +
                           " --category weave --out " + q(tmp / "onego.json"));
  auto fromrun = run_adbench("--quiet eval --run " + q(run) + " --root " + root + " --category weave --out " +
                             q(tmp / "fromrun.json"));
  REQUIRE(staged.exit_code == 0);
  REQUIRE(onego.exit_code == 0);
  REQUIRE(fromrun.exit_code == 0);
  auto a = read_json(tmp / "staged.json"), b = read_json(tmp / "onego.json"),
       c = read_json(tmp / "fromrun.json");
  REQUIRE(a["categories"][0]["metrics"] == b["categories"][0]["metrics"]);
  REQUIRE(c["categories"][0]["metrics"] == b["categories"][0]["metrics"]);
  REQUIRE(a["source"]["kind"] == "predictions");
  REQUIRE(c["source"]["kind"] == "run");
  // The prediction folder names its producer: the run's detector, spec and config hash.
  REQUIRE(a["categories"][0]["produced_by"]["spec"] == c["produced_by"]["spec"]);
  REQUIRE(a["categories"][0]["produced_by"]["config_sha256"] == c["produced_by"]["config_sha256"]);
  REQUIRE(metric(b, "weave", "image_auroc") >= 0.8);
  // An existing prediction category is not overwritten without --force.
  auto again = run_adbench("--quiet infer --run " + q(run) + " --out " + q(pred));
  REQUIRE(again.exit_code == 2);
  REQUIRE(again.err ==
          "adbench: error: " + (pred / "weave").string() + ": already exists (use --force to overwrite)\n");
}

TEST_CASE("perfect and random prediction folders", "[cli][e2e]") {
  TempDir tmp("pf");
  auto perfect = tmp / "perfect";
  write_prediction_folder(
      perfect, "mvtec_ad", synth_root(), "cap",
      [](const adbench::Sample& s, const at::Tensor& gt) { return std::make_pair(gt, double(s.label)); });
  auto r = run_adbench("--quiet eval --pred " + q(perfect) + " --root " + q(synth_root()) +
                       " --category cap --aupro-limits 0.3 0.01 --out " + q(tmp / "p.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = read_json(tmp / "p.json");
  for (const char* m : {"image_auroc", "image_ap", "image_f1_max", "pixel_auroc", "pixel_ap", "pixel_f1_max",
                        "aupro_0.3", "aupro_0.01"})
    REQUIRE(metric(j, "cap", m) == Approx(1.0).margin(1e-12));
  // --aupro-limits also takes a comma-separated list, alone or mixed with the space-separated form.
  int form = 0;
  for (const std::string limits : {"0.3,0.05,0.01", "0.3,0.05 0.01"}) {
    INFO("--aupro-limits " << limits);
    const fs::path out = tmp / ("comma" + std::to_string(++form) + ".json");
    auto rc = run_adbench("--quiet eval --pred " + q(perfect) + " --root " + q(synth_root()) +
                          " --category cap --aupro-limits " + limits + " --out " + q(out));
    INFO(rc.err);
    REQUIRE(rc.exit_code == 0);
    auto jc = read_json(out);
    for (const char* m : {"aupro_0.3", "aupro_0.05", "aupro_0.01"})
      REQUIRE(metric(jc, "cap", m) == Approx(1.0).margin(1e-12));
  }

  // Random maps and scores: compare against an independent rank computation.
  auto random = tmp / "random";
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<double> img_scores, px_scores;
  std::vector<int> img_labels, px_labels;
  write_prediction_folder(random, "mvtec_ad", synth_root(), "cap",
                          [&](const adbench::Sample& s, const at::Tensor& gt) {
                            at::Tensor m = at::empty_like(gt);
                            auto* p = m.data_ptr<float>();
                            const auto* g = gt.data_ptr<float>();
                            for (int64_t i = 0; i < m.numel(); ++i) {
                              p[i] = u(rng);
                              px_scores.push_back(p[i]);
                              px_labels.push_back(g[i] > 0.5f);
                            }
                            double score = u(rng);
                            img_scores.push_back(score);
                            img_labels.push_back(s.label);
                            return std::make_pair(m, score);
                          });
  auto rr = run_adbench("--quiet eval --pred " + q(random) + " --root " + q(synth_root()) +
                        " --category cap --out " + q(tmp / "r.json"));
  INFO(rr.err);
  REQUIRE(rr.exit_code == 0);
  auto jr = read_json(tmp / "r.json");
  REQUIRE(metric(jr, "cap", "image_auroc") == Approx(rank_auroc(img_scores, img_labels)).margin(1e-9));
  double px = metric(jr, "cap", "pixel_auroc");
  REQUIRE(px == Approx(rank_auroc(px_scores, px_labels)).margin(1e-9));
  REQUIRE(std::abs(px - 0.5) < 0.02);
}

TEST_CASE("maps of another size are resized, or refused with --no-resize; .npy float64 maps read",
          "[cli][e2e]") {
  TempDir tmp("rs");
  auto pred = tmp / "pred";
  write_prediction_folder(
      pred, "mvtec_ad", synth_root(), "weave",
      [](const adbench::Sample& s, const at::Tensor& gt) {
        at::Tensor small =
            at::upsample_bilinear2d(gt.unsqueeze(0).unsqueeze(0), {64, 64}, false).squeeze(0).squeeze(0);
        return std::make_pair(small.to(at::kDouble), double(s.label));
      },
      ".npy");
  auto ok = run_adbench("--quiet eval --pred " + q(pred) + " --root " + q(synth_root()) +
                        " --category weave --out " + q(tmp / "a.json"));
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  auto j = read_json(tmp / "a.json");
  REQUIRE(j["categories"][0]["counts"]["resized_maps"] == 12);
  REQUIRE(metric(j, "weave", "pixel_auroc") > 0.95);
  auto no = run_adbench("--quiet eval --no-resize --pred " + q(pred) + " --root " + q(synth_root()) +
                        " --category weave --out " + q(tmp / "b.json"));
  REQUIRE(no.exit_code == 2);
  auto first_map = pred / "weave" / "test" / "color" / "000.npy";
  auto first_mask = synth_root() / "weave" / "ground_truth" / "color" / "000_mask.png";
  REQUIRE(no.err == "adbench: error: " + first_map.string() + ": map is 64x64 but its mask " +
                        first_mask.string() + " is 160x160 (--no-resize forbids resizing)\n");
  REQUIRE_FALSE(fs::exists(tmp / "b.json"));
}

TEST_CASE("a result is never overwritten without --force", "[cli]") {
  TempDir tmp("ow");
  auto out = tmp / "r.json";
  std::string cmd =
      "--quiet eval --detector variation_model --root " + q(synth_root()) + " --category cap --out " + q(out);
  REQUIRE(run_adbench(cmd).exit_code == 0);
  auto before = read_text(out);
  auto again = run_adbench(cmd);
  REQUIRE(again.exit_code == 2);
  REQUIRE(again.err == "adbench: error: " + out.string() + ": already exists (use --force to overwrite)\n");
  REQUIRE(read_text(out) == before);
  REQUIRE(run_adbench(cmd + " --force").exit_code == 0);
  REQUIRE(count_partial_files(tmp.path()) == 0);
}

// ---- bad input: one clear line naming the file and the problem, exit code 2, nothing left ----

namespace {

// Runs an eval that must fail with exactly `line`, and checks that nothing was written.
void expect_eval_error(const TempDir& tmp, const std::string& args, const std::string& line) {
  auto out = tmp / "result.json";
  auto r = run_adbench("--quiet eval " + args + " --out " + q(out));
  INFO(args);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + line + "\n");
  REQUIRE(r.out.empty());
  REQUIRE_FALSE(fs::exists(out));
  REQUIRE(count_partial_files(tmp.path()) == 0);
}

// A copy of one synthetic category under tmp/data, to damage.
fs::path copy_category(const TempDir& tmp, const std::string& cat) {
  auto root = tmp / "data";
  copy_tree(synth_root() / cat, root / cat);
  return root;
}

}  // namespace

TEST_CASE("bad input: missing root, unknown dataset, unknown category", "[cli][errors]") {
  TempDir tmp("err");
  expect_eval_error(tmp, "--detector variation_model --root /nonexistent/adbench --category all",
                    "/nonexistent/adbench: no such folder");
  expect_eval_error(tmp, "--dataset nope --detector variation_model --root " + q(synth_root()),
                    "unknown dataset 'nope' (valid: anomaly_shapenet, btad, folder, ipad, minishift, mpdd, "
                    "mvtec_3d, mvtec_ad, real3d_ad, real_iad, video_folder, visa)");
  expect_eval_error(tmp, "--detector variation_model --root " + q(synth_root()) + " --category nope",
                    synth_root().string() + ": unknown category 'nope' (valid: bracket, cap, marble, weave)");
  expect_eval_error(tmp, "--detector nope --root " + q(synth_root()) + " --category cap",
                    "unknown detector 'nope' (valid: " + registered_detectors() + ")");
  expect_eval_error(
      tmp, "--detector variation_model --set image_size=abc --root " + q(synth_root()) + " --category cap",
      "detector variation_model: setting 'image_size' expects a number, got \"abc\"");
}

TEST_CASE("bad input: empty test set and empty training set", "[cli][errors]") {
  TempDir tmp("err");
  auto root = copy_category(tmp, "cap");
  for (const auto& e : fs::directory_iterator(root / "cap" / "train" / "good")) fs::remove(e.path());
  expect_eval_error(tmp, "--detector variation_model --root " + q(root) + " --category cap",
                    (root / "cap" / "train").string() + ": no training images for category 'cap'");
  fs::remove_all(root / "cap" / "test");
  fs::create_directories(root / "cap" / "test" / "good");
  auto r = run_adbench("--quiet eval --detector variation_model --root " + q(root) + " --category cap");
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err == "adbench: error: " + (root / "cap" / "test").string() + ": no test images\n");
}

TEST_CASE("bad input: corrupt image and a mask whose size differs from its image", "[cli][errors]") {
  TempDir tmp("err");
  auto root = copy_category(tmp, "cap");
  auto img = root / "cap" / "test" / "hole" / "001.png";
  { std::ofstream(img, std::ios::trunc) << "this is not a PNG"; }
  expect_eval_error(tmp, "--detector variation_model --root " + q(root) + " --category cap",
                    img.string() + ": cannot decode image (corrupt or unsupported format)");
  copy_tree(synth_root() / "cap", root / "cap");  // repair
  auto mask = root / "cap" / "ground_truth" / "spot" / "002_mask.png";
  cv::imwrite(mask.string(), cv::Mat(10, 12, CV_8UC1, cv::Scalar(255)));
  expect_eval_error(tmp, "--detector variation_model --root " + q(root) + " --category cap",
                    mask.string() + ": mask is 12x10 but its image " +
                        (root / "cap/test/spot/002.png").string() + " is 224x224");
}

TEST_CASE("bad input: prediction folders with NaN, infinite, non-2-D or missing maps", "[cli][errors]") {
  TempDir tmp("err");
  const auto root = synth_root();
  auto make = [&](const std::string& name, const std::string& ext, bool csv,
                  std::function<at::Tensor(const adbench::Sample&, const at::Tensor&)> f) {
    auto pred = tmp / name;
    write_prediction_folder(
        pred, "mvtec_ad", root, "cap",
        [&](const adbench::Sample& s, const at::Tensor& gt) {
          return std::make_pair(f(s, gt), double(s.label));
        },
        ext, csv);
    return pred;
  };
  auto nan_pred = make("nan", ".npy", false, [](const adbench::Sample& s, const at::Tensor& gt) {
    at::Tensor m = gt.clone();
    if (s.rel_path == "good/003.png") m[5][7] = std::nanf("");
    return m;
  });
  expect_eval_error(
      tmp, "--pred " + q(nan_pred) + " --root " + q(root) + " --category cap",
      (nan_pred / "cap/test/good/003.npy").string() + ": map has 1 non-finite values (NaN or infinite)");

  auto inf_pred = make("inf", ".tiff", true, [](const adbench::Sample&, const at::Tensor& gt) { return gt; });
  {  // an infinite score in scores.csv
    std::ofstream csv(inf_pred / "cap" / "scores.csv", std::ios::app);
  }
  auto text = read_text(inf_pred / "cap" / "scores.csv");
  auto pos = text.find("good/000.png,0");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, std::string("good/000.png,0").size(), "good/000.png,inf");
  { std::ofstream(inf_pred / "cap" / "scores.csv", std::ios::trunc) << text; }
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n'));
  expect_eval_error(tmp, "--pred " + q(inf_pred) + " --root " + q(root) + " --category cap",
                    (inf_pred / "cap/scores.csv").string() + ": line " + std::to_string(line) +
                        ": score for good/000.png is not finite (inf)");

  auto cube = make("cube", ".npy", false,
                   [](const adbench::Sample&, const at::Tensor& gt) { return gt.unsqueeze(0); });
  expect_eval_error(tmp, "--pred " + q(cube) + " --root " + q(root) + " --category cap",
                    (cube / "cap/test/color/000.npy").string() + ": expected a 2-D map, got 3 dimensions");

  auto holes = make("holes", ".tiff", false, [](const adbench::Sample&, const at::Tensor& gt) { return gt; });
  fs::remove(holes / "cap/test/hole/001.tiff");
  fs::remove(holes / "cap/test/spot/002.tiff");
  expect_eval_error(tmp, "--pred " + q(holes) + " --root " + q(root) + " --category cap",
                    (holes / "cap").string() +
                        ": 2 of 21 predictions missing (first: test/hole/001.tiff, test/spot/002.tiff)");
}

TEST_CASE("a detector that does not take the dataset's modality: one line, exit 2, nothing written",
          "[cli][levels]") {
  TempDir tmp("modality");
  fs::create_directories(tmp / "clouds" / "plate" / "train");
  fs::create_directories(tmp / "clouds" / "plate" / "test");
  auto r = run_adbench("--quiet eval --detector variation_model --dataset real3d_ad --root " +
                       q(tmp / "clouds") + " --category plate --out " + q(tmp / "r.json"));
  REQUIRE(r.err ==
          "adbench: error: detector 'variation_model' takes images; dataset 'real3d_ad' holds point clouds "
          "(detectors for point clouds: fpfh_patchcore, simple3d)\n");
  REQUIRE(r.exit_code == 2);
  REQUIRE(!fs::exists(tmp / "r.json"));
  auto t = run_adbench("--quiet train --detector simple3d --root " + q(synth_root()) +
                       " --category cap --out " + q(tmp / "run"));
  REQUIRE(
      t.err ==
      "adbench: error: detector 'simple3d' takes point clouds; dataset 'mvtec_ad' holds images "
      "(detectors for images: anomalyclip, fastrecon, padim, patchcore, spade, variation_model, winclip)\n");
  REQUIRE(t.exit_code == 2);
  REQUIRE(!fs::exists(tmp / "run"));
}

TEST_CASE("appending to a CSV of an older schema names both versions and changes nothing", "[cli][levels]") {
  TempDir tmp("csvold");
  const std::string old_header =
      "created_utc,adbench_version,git_commit,dataset,category,setting,source,detector,config_sha256,"
      "backbone,"
      "weights_sha256,device,seed,image_auroc,image_ap,image_f1_max,pixel_auroc,pixel_ap,pixel_f1_max,aupro_"
      "0.3,"
      "aupro_0.05,aupro_0.01,train_s,infer_s,metrics_s\n";
  const std::string old = old_header +
                          "2026-01-01T00:00:00Z,0.1.0,abc,mvtec_ad,cap,single-class,detector,"
                          "variation_model,,,,cpu,0,0.9,0.9,0.9,0.9,0.9,0.9,0.5,,,1,1,1\n";
  std::ofstream(tmp / "old.csv") << old;
  auto r = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                       " --category cap --csv " + q(tmp / "old.csv"));
  REQUIRE(r.err ==
          "adbench: error: " + (tmp / "old.csv").string() +
              ": its header is adbench.csv/1 (an older or newer adbench), this adbench writes adbench.csv/2; "
              "write to a new CSV file (README \"Leaderboard CSV\")\n");
  REQUIRE(r.exit_code == 2);
  REQUIRE(read_text(tmp / "old.csv") == old);
}
