// Run folders work from any working directory (issue 7): a run trained with a relative
// --backbone-weights path stores it absolute (run.json "paths": "absolute"), and a relative path in
// run.json is read relative to the run folder. Needs ../shared/weights (a real mobilenet_v2 file).
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;

TEST_CASE("a run trained with relative weights is evaluated from another working directory",
          "[cli][usability][shared]") {
  TempDir tmp("relw");
  const fs::path weights = shared_dir() / "weights" / "mobilenet_v2_imagenet_coral.safetensors";
  REQUIRE(fs::exists(weights));
  fs::create_directories(tmp / "work" / "w");
  fs::create_directories(tmp / "elsewhere");
  fs::copy_file(weights, tmp / "work" / "w" / "mnv2.safetensors");
  const std::string root = " --root " + q(synth_root()) + " --category cap";
  {
    WorkingDir here(tmp / "work");
    auto r = run_adbench(
        "--quiet train --detector padim --backbone mobilenet_v2 --backbone-weights w/mnv2.safetensors "
        "--set image_size=64 --set channels=20 --out runs/pd" +
        root);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const fs::path run = tmp / "work" / "runs" / "pd";
  std::ifstream in(run / "run.json");
  auto info = nlohmann::json::parse(in);
  REQUIRE(info["paths"] == "absolute");
  REQUIRE(info["config"]["backbone_weights"] == (tmp / "work" / "w" / "mnv2.safetensors").string());
  {
    WorkingDir here(tmp / "elsewhere");
    auto r = run_adbench("--quiet eval --run ../work/runs/pd" + root + " --out r.json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::exists(tmp / "elsewhere" / "r.json"));
  }
  // A run moved together with its weights: a relative path in run.json is relative to the run.
  fs::rename(tmp / "work" / "runs" / "pd", tmp / "moved");
  fs::rename(tmp / "work" / "w", tmp / "moved" / "w");
  info["config"]["backbone_weights"] = "w/mnv2.safetensors";
  std::ofstream(tmp / "moved" / "run.json") << info.dump(2);
  {
    WorkingDir here(tmp / "elsewhere");
    auto r = run_adbench("--quiet eval --run " + q(tmp / "moved") + root);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
}
