// adbench batch: matrix expansion, local runs with --jobs, resume and idempotence, failed cells,
// --collect, the Slurm script and --run-cell. (The real Slurm run is slurm_batch_test.sh.)
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "cli_fixtures.hpp"

using namespace adbench::test;
namespace fs = std::filesystem;

namespace {

/// A matrix file in `dir` over the shared synthetic dataset.
fs::path write_matrix(const fs::path& dir, const std::string& name, nlohmann::json m) {
  if (!m.contains("datasets"))
    m["datasets"] = {{{"name", "synth"}, {"adapter", "mvtec_ad"}, {"root", synth_root().string()}}};
  const fs::path p = dir / name;
  std::ofstream(p) << m.dump(2);
  return p;
}

/// The small, fast detectors the tests sweep: 2 detectors x 4 categories x 2 seeds = 16 cells.
nlohmann::json two_detectors() {
  return nlohmann::json::array({{{"name", "variation_model"}, {"settings", {{"image_size", 64}}}},
                                {{"name", "padim"}, {"settings", {{"image_size", 64}, {"channels", 20}}}}});
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("adbench batch: 2 detectors x 4 categories x 2 seeds, locally with --jobs 2, resumable",
          "[cli][batch]") {
  TempDir tmp("batch");
  const fs::path matrix =
      write_matrix(tmp.path(), "m.json", {{"detectors", two_detectors()}, {"seeds", {0, 1}}});
  const fs::path out = tmp / "out";

  auto dry = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --dry-run");
  REQUIRE(dry.exit_code == 0);
  auto l = lines_of(dry.out);
  REQUIRE(l.size() == 17);
  CHECK(l.back() == "16 cells: 16 to run, 0 done, 0 failed (skipped; --retry-failed reruns them)");
  // Cell order: category, then detector spec, then seed; the spec hash names the settings.
  CHECK(l[0].rfind("0\tsynth/bracket/", 0) == 0);
  CHECK(l[0].find("/seed0\tvariation_model\t{\"image_size\":64}\trun") != std::string::npos);
  CHECK(l[1].find("/seed1\tvariation_model\t") != std::string::npos);
  CHECK(l[2].find("/seed0\tpadim\t{\"channels\":20,\"image_size\":64}\trun") != std::string::npos);
  CHECK(l[15].rfind("15\tsynth/weave/", 0) == 0);
  CHECK(!fs::exists(out));  // a dry run writes nothing

  // --threads 2 --jobs 2: one thread per cell on any machine (the direct eval below uses 1).
  auto r = run_adbench("--threads 2 batch " + q(matrix) + " --out " + q(out) + " --jobs 2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("16 cells: 16 to run with 2 job(s) x 1 thread(s), 0 done, 0 failed and skipped") !=
        std::string::npos);
  CHECK(r.err.find("cell 16 of 16 ok in ") != std::string::npos);
  CHECK(r.err.find("ETA ") != std::string::npos);
  CHECK(r.err.find("adbench batch: 16 cells: 16 ok, 0 failed, 0 not run") != std::string::npos);
  CHECK(r.out.find("image_auroc (%)\ncategory") == 0);

  const auto manifest = read_json(out / "batch.json");
  CHECK(manifest["schema"] == "adbench.batch/1");
  CHECK(manifest["counts"]["total"] == 16);
  CHECK(manifest["counts"]["ok"] == 16);
  REQUIRE(manifest["cells"].size() == 16);
  std::set<std::string> ids;
  for (const auto& c : manifest["cells"]) {
    const std::string id = c["id"];
    ids.insert(id);
    CHECK(c["status"] == "ok");
    CHECK(c["result"] == id + "/result.json");
    const auto res = read_json(out / id / "result.json");
    CHECK(res["seed"] == c["seed"]);
    CHECK(res["categories"].size() == 1);
    CHECK(res["categories"][0]["category"] == c["category"]);
  }
  CHECK(ids.size() == 16);

  // The merged leaderboard: one image and one pixel row per cell.
  const auto csv = lines_of(read_text(out / "leaderboard.csv"));
  CHECK(csv.size() == 33);

  // Each cell is exactly one `adbench eval` with the cell's seed and settings (and thread count: with
  // 2 threads instead of 1, OpenBLAS sums PaDiM's covariances in another order, and pixel AUROC moves
  // by 7e-9).
  const std::string padim_cap_seed1 = manifest["cells"][7]["id"];
  REQUIRE(padim_cap_seed1.rfind("synth/cap/", 0) == 0);
  REQUIRE(manifest["cells"][7]["detector"] == "padim");
  auto direct =
      run_adbench("--seed 1 --threads 1 eval --detector padim --set image_size=64 --set channels=20 --root " +
                  q(synth_root()) + " --category cap --out " + q(tmp / "direct.json"));
  REQUIRE(direct.exit_code == 0);
  const auto cell_result = read_json(out / padim_cap_seed1 / "result.json");
  const auto direct_result = read_json(tmp / "direct.json");
  for (const char* m : {"image_auroc", "image_ap", "pixel_auroc", "aupro_0.3"})
    CHECK(metric(cell_result, "cap", m) == metric(direct_result, "cap", m));
  // PaDiM's random channels follow the seed: the two seeds differ somewhere.
  const auto seed0 = read_json(out / manifest["cells"][6]["id"].get<std::string>() / "result.json");
  CHECK(metric(seed0, "cap", "pixel_auroc") != metric(cell_result, "cap", "pixel_auroc"));

  // a second run skips every cell and rewrites no result.
  {
    const auto t = fs::last_write_time(out / padim_cap_seed1 / "result.json");
    auto again = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --jobs 2");
    REQUIRE(again.exit_code == 0);
    CHECK(again.err.find("16 cells: 0 to run with ") != std::string::npos);
    CHECK(again.err.find("16 done, 0 failed and skipped") != std::string::npos);
    CHECK(fs::last_write_time(out / padim_cap_seed1 / "result.json") == t);
  }
  // --collect merges the same leaderboard.
  {
    const std::string before = read_text(out / "leaderboard.csv");
    fs::remove(out / "leaderboard.csv");
    auto c = run_adbench("batch --collect " + q(out));
    REQUIRE(c.exit_code == 0);
    CHECK(read_text(out / "leaderboard.csv") == before);
    CHECK(c.err.find("adbench batch: 16 cells: 16 ok, 0 failed, 0 not run") != std::string::npos);
  }
  // a changed configuration reruns the cells it changes.
  {
    const fs::path m2 = write_matrix(
        tmp.path(), "m2.json",
        {{"detectors", two_detectors()}, {"seeds", {0, 1}}, {"metrics", {{"aupro_limits", {0.3, 0.05}}}}});
    auto d = run_adbench("batch " + q(m2) + " --out " + q(out) + " --dry-run");
    CHECK(lines_of(d.out).back() ==
          "16 cells: 16 to run, 0 done, 0 failed (skipped; --retry-failed reruns them)");
  }
  // a lost result or an interrupted cell reruns, alone.
  {
    fs::remove(out / padim_cap_seed1 / "result.json");
    auto cell = read_json(out / manifest["cells"][0]["id"].get<std::string>() / "cell.json");
    cell["status"] = "running";
    std::ofstream(out / manifest["cells"][0]["id"].get<std::string>() / "cell.json") << cell.dump();
    auto d = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --dry-run");
    CHECK(lines_of(d.out).back() ==
          "16 cells: 2 to run, 14 done, 0 failed (skipped; --retry-failed reruns them)");
    auto again = run_adbench("--threads 2 batch " + q(matrix) + " --out " + q(out) + " --jobs 2");
    REQUIRE(again.exit_code == 0);
    CHECK(again.err.find("16 cells: 2 to run with 2 job(s) x 1 thread(s)") != std::string::npos);
    const auto rerun = read_json(out / padim_cap_seed1 / "result.json");
    CHECK(metric(rerun, "cap", "pixel_auroc") == metric(cell_result, "cap", "pixel_auroc"));
    CHECK(lines_of(read_text(out / "leaderboard.csv")).size() == 33);
  }
}

TEST_CASE("adbench batch: a failed cell records its error line and never stops the others", "[cli][batch]") {
  TempDir tmp("batchfail");
  const fs::path matrix = write_matrix(
      tmp.path(), "m.json",
      {{"datasets",
        {{{"adapter", "mvtec_ad"}, {"root", synth_root().string()}, {"categories", {"cap", "weave"}}}}},
       {"detectors",
        {{{"name", "variation_model"}, {"settings", {{"image_size", 64}}}},
         {{"name", "padim"}, {"settings", {{"image_size", 64}, {"backbone", "resnet18"}}}}}}});
  const fs::path out = tmp / "out";
  auto r = run_adbench("batch " + q(matrix) + " --out " + q(out));
  REQUIRE(r.exit_code == 1);
  const std::string why =
      "detector padim: no backbone weights for resnet18: give --backbone-weights FILE (export torchvision's "
      "with scripts/export_weights.py resnet18 --out FILE), --backbone-weights none for random "
      "initialisation, or leave out --backbone to use the shipped mobilenet_v2";
  const auto manifest = read_json(out / "batch.json");
  CHECK(manifest["counts"]["ok"] == 2);
  CHECK(manifest["counts"]["failed"] == 2);
  CHECK(manifest["cells"][1]["status"] == "failed");
  CHECK(manifest["cells"][1]["error"] == why);
  CHECK(manifest["cells"][1]["exit_code"] == 2);
  CHECK(manifest["cells"][1]["result"].is_null());
  CHECK(manifest["cells"][2]["status"] == "ok");
  CHECK(r.err.find("adbench batch: cell 1 (mvtec_ad/cap/") != std::string::npos);
  CHECK(r.err.find(") failed: " + why + "\n") != std::string::npos);
  CHECK(
      r.err.find("adbench batch: 2 of 4 cells failed (rerun with --retry-failed after fixing the cause)\n") !=
      std::string::npos);
  CHECK(count_partial_files(out) == 0);

  auto again = run_adbench("batch " + q(matrix) + " --out " + q(out));
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("4 cells: 0 to run with 1 job(s) x ") != std::string::npos);
  CHECK(again.err.find("2 done, 2 failed and skipped") != std::string::npos);
  auto retry = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --retry-failed --dry-run");
  CHECK(lines_of(retry.out).back() ==
        "4 cells: 2 to run, 2 done, 0 failed (skipped; --retry-failed reruns them)");
}

TEST_CASE("adbench batch --slurm-script-only writes one array script; --run-cell runs one cell",
          "[cli][batch]") {
  TempDir tmp("batchslurm");
  const fs::path matrix = write_matrix(
      tmp.path(), "m.json",
      {{"name", "sweep"},
       {"detectors", {{{"name", "padim"}, {"settings", {{"image_size", 64}, {"channels", {10, 20}}}}}}},
       {"seeds", {3}},
       {"slurm", {{"partition", "gpu"}, {"time", "01:00:00"}, {"extra", {"--qos=normal"}}}}});
  const fs::path out = tmp / "out";
  auto r =
      run_adbench("batch " + q(matrix) + " --out " + q(out) +
                  " --slurm --slurm-script-only --gres gpu:1 --cpus-per-task 4 --mem 16G --max-parallel 3 "
                  "--sbatch-line=--account=lab");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const fs::path script = out / "slurm" / "batch.sbatch";
  CHECK(r.out == script.string() + "\n");
  const std::string s = read_text(script);
  const std::string exe = fs::canonical(std::getenv("ADBENCH_BIN")).string();
  CHECK(s.find("#SBATCH --job-name=adbench-sweep\n#SBATCH --array=0-7%3\n#SBATCH --output=" + out.string() +
               "/slurm/%A_%a.log\n#SBATCH --partition=gpu\n#SBATCH --gres=gpu:1\n#SBATCH --time=01:00:00\n"
               "#SBATCH --mem=16G\n#SBATCH --cpus-per-task=4\n#SBATCH --qos=normal\n#SBATCH --account=lab\n"
               "set -eu\nexec '" +
               exe + "' --device 'auto' --threads \"${SLURM_CPUS_PER_TASK:-0}\" batch --out '" +
               out.string() + "' --run-cell \"$SLURM_ARRAY_TASK_ID\"\n") != std::string::npos);
  auto manifest = read_json(out / "batch.json");
  REQUIRE(manifest["cells"].size() == 8);  // 4 categories x channels {10, 20}
  CHECK(manifest["counts"]["pending"] == 8);
  CHECK(manifest["cells"][1]["settings"] == nlohmann::json({{"channels", 20}, {"image_size", 64}}));

  auto one = run_adbench("--threads 1 batch --out " + q(out) + " --run-cell 5");
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  const std::string id = manifest["cells"][5]["id"];
  CHECK(read_json(out / id / "cell.json")["status"] == "ok");
  CHECK(fs::exists(out / id / "result.json"));
  // Cell 4 is the same category with the other swept value: the collected pivot has one column per spec.
  REQUIRE(manifest["cells"][4]["category"] == manifest["cells"][5]["category"]);
  REQUIRE(run_adbench("--threads 1 batch --out " + q(out) + " --run-cell 4").exit_code == 0);
  auto c = run_adbench("batch --collect " + q(out));
  CHECK(c.exit_code == 0);
  CHECK(c.err.find("adbench batch: 8 cells: 2 ok, 0 failed, 6 not run") != std::string::npos);
  CHECK(lines_of(read_text(out / "leaderboard.csv")).size() == 5);
  const auto head = lines_of(c.out).at(1);
  CHECK(head.find("padim(backbone=mobilenet_v2,channels=10,") != std::string::npos);
  CHECK(head.find("padim(backbone=mobilenet_v2,channels=20,") != std::string::npos);
  // A rerun of a finished cell does nothing.
  auto twice = run_adbench("batch --out " + q(out) + " --run-cell 5");
  CHECK(twice.exit_code == 0);
  CHECK(twice.err.find("cell 5 (" + id + ") already done") != std::string::npos);
  // The script covers only what is left.
  REQUIRE(run_adbench("batch " + q(matrix) + " --out " + q(out) + " --slurm --slurm-script-only").exit_code ==
          0);
  CHECK(read_text(script).find("#SBATCH --array=0-3,6-7\n") != std::string::npos);
}

TEST_CASE("adbench batch: bad matrices and outputs are one line and exit 2, before any work",
          "[cli][batch]") {
  TempDir tmp("batchbad");
  const fs::path out = tmp / "out";
  auto err_of = [&](const nlohmann::json& m, const std::string& extra = "") {
    const fs::path p = write_matrix(tmp.path(), "bad.json", m);
    auto r = run_adbench("batch " + q(p) + " --out " + q(out) + extra);
    CHECK(r.exit_code == 2);
    CHECK(!fs::exists(out));
    return r.err;
  };
  const std::string f = (tmp / "bad.json").string();
  CHECK(err_of({{"detectors", two_detectors()}, {"seed", {0}}}) ==
        "adbench: error: " + f +
            ": unknown key 'seed' (valid: name, out, datasets, detectors, seeds, setting, metrics, outputs, "
            "slurm)\n");
  CHECK(err_of({{"detectors", {{{"name", "padim"}, {"settings", {{"chanels", 5}}}}}}}) ==
        "adbench: error: " + f +
            ": /detectors/0: detector padim: unknown setting 'chanels' (valid: backbone, backbone_weights, "
            "channels, covariance_eps, image_size, layers, sigma)\n");
  CHECK(err_of({{"detectors", {{{"name", "padim"}, {"settings", {{"channels", {10, 0}}}}}}}}) ==
        "adbench: error: " + f +
            ": /detectors/0: detector padim: setting 'channels' must be in [1, 65536], got 0\n");
  CHECK(err_of({{"detectors", two_detectors()}, {"seeds", {-1}}}) ==
        "adbench: error: " + f + ": /seeds/0: expected an integer >= 0, got -1\n");
  CHECK(err_of({{"detectors", two_detectors()},
                {"datasets",
                 {{{"adapter", "mvtec_ad"}, {"root", synth_root().string()}, {"categories", {"cup"}}}}}}) ==
        "adbench: error: " + f + ": /datasets/0/categories/0: " + synth_root().string() +
            ": unknown category 'cup' (valid: bracket, cap, marble, weave)\n");
  CHECK(err_of({{"detectors", two_detectors()}, {"metrics", {{"aupro_limit", {0.3}}}}})
            .find(": /metrics: unknown key 'aupro_limit' (valid: aupro_limits, ") != std::string::npos);
  // Outputs: never inside the dataset, never a folder that is not a batch folder.
  const fs::path ok = write_matrix(tmp.path(), "ok.json", {{"detectors", two_detectors()}});
  auto inside = run_adbench("batch " + q(ok) + " --out " + q(synth_root() / "batch"));
  CHECK(inside.exit_code == 2);
  CHECK(inside.err == "adbench: error: " + (synth_root() / "batch").string() +
                          ": lies inside the dataset root (" + synth_root().string() +
                          "); adbench never writes into its inputs\n");
  CHECK(!fs::exists(synth_root() / "batch"));
  fs::create_directories(tmp / "mine");
  std::ofstream(tmp / "mine" / "notes.txt") << "keep";
  auto foreign = run_adbench("batch " + q(ok) + " --out " + q(tmp / "mine"));
  CHECK(foreign.exit_code == 2);
  CHECK(foreign.err ==
        "adbench: error: " + (tmp / "mine").string() +
            ": exists and is not an adbench batch folder (no .adbench-output marker); give a new "
            "folder, or the --out of an earlier batch to resume it\n");
  CHECK(read_text(tmp / "mine" / "notes.txt") == "keep");
  auto none = run_adbench("batch " + q(ok));
  CHECK(none.exit_code == 2);
  CHECK(none.err ==
        "adbench: error: adbench batch: --out is required (or an \"out\" in " + ok.string() + ")\n");
}

TEST_CASE("adbench batch: outputs.run keeps each cell's model; weight files enter the config hash by content",
          "[cli][batch]") {
  TempDir tmp("batchrun");
  // A copy of the shipped weights, named relative to the matrix file.
  fs::copy_file(source_dir() / "models" / "mobilenet_v2_imagenet.safetensors", tmp / "w.safetensors");
  const fs::path matrix = write_matrix(tmp.path(), "m.json",
                                       {{"datasets",
                                         {{{"name", "synth"},
                                           {"adapter", "mvtec_ad"},
                                           {"root", synth_root().string()},
                                           {"categories", {"cap"}}}}},
                                        {"detectors",
                                         {{{"name", "padim"},
                                           {"settings",
                                            {{"image_size", 64},
                                             {"channels", 10},
                                             {"backbone", "mobilenet_v2"},
                                             {"backbone_weights", "w.safetensors"}}}}}},
                                        {"outputs", {{"run", true}}}});
  const fs::path out = tmp / "out";
  auto r = run_adbench("--threads 1 batch " + q(matrix) + " --out " + q(out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto manifest = read_json(out / "batch.json");
  REQUIRE(manifest["cells"].size() == 1);
  const auto& cell = manifest["cells"][0];
  CHECK(cell["runs"] == true);
  CHECK(cell["settings"]["backbone_weights"] == (tmp / "w.safetensors").string());
  const std::string id = cell["id"];
  const fs::path run = out / id / "run" / "cap";
  const auto info = read_json(run / "run.json");
  CHECK(info["detector"] == "padim");
  CHECK(info["category"] == "cap");
  CHECK(info["setting"] == "single-class");
  CHECK(info["config"]["backbone_weights"] == (tmp / "w.safetensors").string());
  // The kept model gives the cell's numbers again.
  auto again = run_adbench("--threads 1 eval --run " + q(run) + " --root " + q(synth_root()) +
                           " --category cap --out " + q(tmp / "again.json"));
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  const auto cell_result = read_json(out / id / "result.json");
  const auto rerun = read_json(tmp / "again.json");
  for (const char* m : {"image_auroc", "pixel_auroc", "aupro_0.3"})
    CHECK(metric(rerun, "cap", m) == metric(cell_result, "cap", m));
  CHECK(rerun["produced_by"]["config_sha256"] == cell_result["produced_by"]["config_sha256"]);
  CHECK(count_partial_files(out) == 0);

  // Nothing changed: done. Other bytes behind the same weights path: the same folder (spec hash),
  // another configuration, so the cell runs again.
  auto dry = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --dry-run");
  CHECK(lines_of(dry.out).back() ==
        "1 cells: 0 to run, 1 done, 0 failed (skipped; --retry-failed reruns them)");
  std::ofstream(tmp / "w.safetensors", std::ios::app) << " ";
  auto changed = run_adbench("batch " + q(matrix) + " --out " + q(out) + " --dry-run");
  CHECK(lines_of(changed.out).back() ==
        "1 cells: 1 to run, 0 done, 0 failed (skipped; --retry-failed reruns them)");
  CHECK(lines_of(changed.out).at(0).find(id) != std::string::npos);

  // eval --run-out directly: multi-class keeps RUN/all; it needs --detector.
  auto multi = run_adbench(
      "--quiet eval --detector variation_model --set image_size=64 --setting multi-class --root " +
      q(synth_root()) + " --category all --run-out " + q(tmp / "runs"));
  INFO(multi.err);
  REQUIRE(multi.exit_code == 0);
  CHECK(read_json(tmp / "runs" / "all" / "run.json")["setting"] == "multi-class");
  CHECK(read_json(tmp / "runs" / "all" / "run.json")["category"] == "all");
  auto pred = run_adbench("--quiet eval --run " + q(tmp / "runs" / "all") + " --root " + q(synth_root()) +
                          " --category all --run-out " + q(tmp / "runs2"));
  CHECK(pred.exit_code == 2);
  CHECK(pred.err ==
        "adbench: error: adbench eval: --run-out needs --detector (it keeps the models trained)\n");
  CHECK(!fs::exists(tmp / "runs2"));
}
