// Data safety through the adbench binary: what --force may replace, where outputs may go, CSV
// appends under concurrency, and clean interrupts. Each refused case checks the exact error line,
// exit code 2, and that the would-be victim is intact byte for byte.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "adbench/core/fs.hpp"
#include "cli_fixtures.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace adbench::test;

namespace {

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) m[fs::relative(e.path(), dir).string()] = adbench::read_file(e.path());
  return m;
}

std::string canon(const fs::path& p) { return fs::canonical(p).string(); }

const std::string kInsideData = "; adbench never writes into its inputs\n";

/// A variation_model run folder on the synthetic "cap" category, trained once per process.
const fs::path& cap_run() {
  static TempDir dir("saferun");
  static fs::path run = [] {
    fs::path r = dir / "run";
    auto res = run_adbench("--quiet train --detector variation_model --root " + q(synth_root()) +
                           " --category cap --out " + q(r));
    if (res.exit_code != 0) throw std::runtime_error("train failed: " + res.err);
    return r;
  }();
  return run;
}

/// adbench's own prediction folder for "cap", written once per process.
const fs::path& cap_pred() {
  static TempDir dir("safepred");
  static fs::path pred = [] {
    fs::path p = dir / "pred";
    auto res = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                           " --category cap --pred-out " + q(p));
    if (res.exit_code != 0) throw std::runtime_error("eval failed: " + res.err);
    return p;
  }();
  return pred;
}

}  // namespace

TEST_CASE("--force never empties the working directory", "[cli][safety]") {
  TempDir tmp("cwd");
  copy_tree(synth_root() / "cap", tmp / "data" / "cap");
  const auto before = snapshot(tmp.path());
  auto r = run_adbench("--quiet train --detector variation_model --root data --category cap --out . --force",
                       tmp.path());
  REQUIRE(r.err == "adbench: error: .: is the working directory; adbench never writes over it\n");
  REQUIRE(r.exit_code == 2);
  auto up =
      run_adbench("--quiet train --detector variation_model --root ../data --category cap --out .. --force",
                  tmp / "data");
  REQUIRE(up.err == "adbench: error: ..: contains the working directory (" + canon(tmp / "data") +
                        "); adbench never writes over it\n");
  REQUIRE(up.exit_code == 2);
  REQUIRE(snapshot(tmp.path()) == before);
}

TEST_CASE("--force never replaces or writes into the dataset being read", "[cli][safety]") {
  const fs::path data = synth_root();
  const auto before = snapshot(data / "cap");
  SECTION("train --out DATA/cap/train --force") {
    auto r = run_adbench("--quiet train --detector variation_model --root " + q(data) +
                         " --category cap --out " + q(data / "cap" / "train") + " --force");
    REQUIRE(r.err == "adbench: error: " + (data / "cap" / "train").string() +
                         ": lies inside the dataset root (" + canon(data) + ")" + kInsideData);
    REQUIRE(r.exit_code == 2);
  }
  SECTION("infer --run RUN --out DATA --force") {
    auto r = run_adbench("--quiet infer --run " + q(cap_run()) + " --out " + q(data) + " --force");
    REQUIRE(r.err == "adbench: error: " + (data / "cap").string() + ": lies inside the dataset root (" +
                         canon(data) + ")" + kInsideData);
    REQUIRE(r.exit_code == 2);
  }
  SECTION("eval --out DATA/cap/result.json") {
    auto r = run_adbench("--quiet eval --detector variation_model --root " + q(data) +
                         " --category cap --out " + q(data / "cap" / "result.json"));
    REQUIRE(r.err == "adbench: error: " + (data / "cap" / "result.json").string() +
                         ": lies inside the dataset root (" + canon(data) + ")" + kInsideData);
    REQUIRE(r.exit_code == 2);
  }
  SECTION("eval --csv on a dataset image") {
    const fs::path png = data / "cap" / "test" / "good" / "000.png";
    REQUIRE(fs::exists(png));
    auto r = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(data) +
                         " --category cap --csv " + q(png));
    REQUIRE(r.err == "adbench: error: " + png.string() + ": lies inside the dataset root (" + canon(data) +
                         ")" + kInsideData);
    REQUIRE(r.exit_code == 2);
  }
  SECTION("synth --out DATA --force") {
    auto r = run_adbench("--quiet synth --out " + q(data / "cap") + " --force");
    REQUIRE(r.err == "adbench: error: " + (data / "cap").string() +
                         ": exists and is not an adbench dataset folder (no .adbench-output marker); --force "
                         "replaces only adbench's own outputs\n");
    REQUIRE(r.exit_code == 2);
  }
  REQUIRE(snapshot(data / "cap") == before);
}

TEST_CASE("--force never replaces a run or prediction folder being read", "[cli][safety]") {
  const auto run_before = snapshot(cap_run());
  const auto pred_before = snapshot(cap_pred());
  auto r = run_adbench("--quiet infer --run " + q(cap_run()) + " --out " + q(cap_run()) + " --force");
  REQUIRE(r.err == "adbench: error: " + (cap_run() / "cap").string() +
                       ": lies inside the run folder being read (" + canon(cap_run()) + ")" + kInsideData);
  REQUIRE(r.exit_code == 2);
  auto p = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                       " --category cap --pred-out " + q(cap_pred()) + " --force");
  REQUIRE(p.err == "adbench: error: " + (cap_pred() / "cap").string() +
                       ": lies inside the prediction folder being read (" + canon(cap_pred()) + ")" +
                       kInsideData);
  REQUIRE(p.exit_code == 2);
  auto o = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                       " --category cap --out " + q(cap_pred().parent_path()) + " --force");
  REQUIRE(o.err == "adbench: error: " + cap_pred().parent_path().string() +
                       ": contains the prediction folder being read (" + canon(cap_pred()) +
                       "); adbench never writes over its inputs\n");
  REQUIRE(o.exit_code == 2);
  REQUIRE(snapshot(cap_run()) == run_before);
  REQUIRE(snapshot(cap_pred()) == pred_before);
}

TEST_CASE("--force replaces only adbench's own outputs", "[cli][safety]") {
  TempDir tmp("own");
  const fs::path user = tmp / "mine";
  fs::create_directories(user);
  std::ofstream(user / "notes.txt") << "keep me";
  const auto before = snapshot(user);
  auto r = run_adbench("--quiet train --detector variation_model --root " + q(synth_root()) +
                       " --category cap --out " + q(user) + " --force");
  REQUIRE(r.err ==
          "adbench: error: " + user.string() +
              ": exists and is not an adbench run folder (no .adbench-output marker); --force replaces "
              "only adbench's own outputs\n");
  REQUIRE(r.exit_code == 2);
  auto j = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                       " --category cap --out " + q(user / "notes.txt") + " --force");
  REQUIRE(j.err ==
          "adbench: error: " + (user / "notes.txt").string() +
              ": exists and is not an adbench result file; --force replaces only adbench's own outputs\n");
  REQUIRE(j.exit_code == 2);
  auto dev = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                         " --category cap --out /dev/full --force");
  REQUIRE(dev.err ==
          "adbench: error: /dev/full: exists and is not a regular file; adbench writes only regular files\n");
  REQUIRE(dev.exit_code == 2);
  REQUIRE(snapshot(user) == before);
  // adbench's own outputs are replaced with --force: a run folder, a result file, a synth folder.
  auto run = tmp / "run";
  const std::string train = "--quiet train --detector variation_model --root " + q(synth_root()) +
                            " --category cap --out " + q(run);
  REQUIRE(run_adbench(train).exit_code == 0);
  REQUIRE(run_adbench(train + " --force").exit_code == 0);
  REQUIRE(fs::exists(run / "run.json"));
  REQUIRE(fs::exists(run / adbench::kMarkerFile));
  auto out = tmp / "r.json";
  const std::string ev = "--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                         " --category cap --out " + q(out);
  REQUIRE(run_adbench(ev).exit_code == 0);
  REQUIRE(run_adbench(ev + " --force").exit_code == 0);
  REQUIRE(count_partial_files(tmp.path()) == 0);
}

TEST_CASE("--csv appends only to adbench's own CSV and never blocks on a non-regular file",
          "[cli][safety][csv]") {
  TempDir tmp("csvsafe");
  const std::string eval =
      "--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) + " --category cap";
  // A PNG outside the dataset: refused before any work, bytes unchanged.
  fs::copy_file(synth_root() / "cap" / "test" / "good" / "000.png", tmp / "img.png");
  const std::string png = adbench::read_file(tmp / "img.png");
  auto r = run_adbench(eval + " --csv " + q(tmp / "img.png"));
  REQUIRE(r.err.rfind("adbench: error: " + (tmp / "img.png").string() +
                          ": is not an adbench leaderboard CSV (first line '\\x89PNG\\x0d', expected "
                          "'adbench.csv/2,created_utc,",
                      0) == 0);
  REQUIRE(r.exit_code == 2);
  REQUIRE(adbench::read_file(tmp / "img.png") == png);
  // A foreign CSV without a trailing newline.
  std::ofstream(tmp / "theirs.csv") << "method,auroc\nours,0.99";
  auto f = run_adbench(eval + " --csv " + q(tmp / "theirs.csv"));
  REQUIRE(f.err.rfind("adbench: error: " + (tmp / "theirs.csv").string() +
                          ": is not an adbench leaderboard CSV (first line 'method,auroc', expected "
                          "'adbench.csv/2,created_utc,",
                      0) == 0);
  REQUIRE(f.exit_code == 2);
  REQUIRE(adbench::read_file(tmp / "theirs.csv") == "method,auroc\nours,0.99");
  // A FIFO and /dev/stdout: refused at once (the test would hang otherwise).
  REQUIRE(::mkfifo((tmp / "fifo").c_str(), 0600) == 0);
  auto fifo = run_adbench(eval + " --csv " + q(tmp / "fifo"));
  REQUIRE(fifo.err == "adbench: error: " + (tmp / "fifo").string() +
                          ": exists and is not a regular file; adbench writes only regular files\n");
  REQUIRE(fifo.exit_code == 2);
  auto out = run_adbench(eval + " --csv /dev/stdout");
  REQUIRE(out.err == "adbench: error: /dev/stdout: is a symbolic link; adbench writes only regular files\n");
  REQUIRE(out.exit_code == 2);
}

TEST_CASE("20 concurrent evals appending to one CSV keep every row", "[cli][safety][csv]") {
  TempDir tmp("csvpar");
  const fs::path csv = tmp / "board.csv";
  std::string script;
  for (int i = 0; i < 20; ++i) {
    script += '\'';  // not "'" + std::string: GCC 12 -Wstringop-overflow false positive, see q()
    script += adbench_bin() + "' --quiet --threads 1 eval --pred " + q(cap_pred()) + " --root " +
              q(synth_root()) + " --category cap --csv " + q(csv) + " >/dev/null 2>>" + q(tmp / "err.txt") +
              " || echo fail >>" + q(tmp / "fail.txt") + " &\n";
  }
  script += "wait\n";
  std::ofstream(tmp / "run.sh") << script;
  REQUIRE(std::system(("sh " + q(tmp / "run.sh")).c_str()) == 0);
  INFO(adbench::read_file(tmp / "err.txt"));
  REQUIRE_FALSE(fs::exists(tmp / "fail.txt"));
  std::istringstream in(adbench::read_file(csv));
  std::string line;
  std::getline(in, line);
  REQUIRE(line.rfind("adbench.csv/2,created_utc,", 0) == 0);
  int rows = 0;
  // Field separators: commas outside double quotes (the spec column is quoted: it holds commas).
  auto separators = [](const std::string& l) {
    long n = 0;
    bool quoted = false;
    for (char ch : l) {
      if (ch == '"')
        quoted = !quoted;
      else if (ch == ',' && !quoted)
        ++n;
    }
    return n;
  };
  const auto columns = separators(line);
  while (std::getline(in, line)) {
    ++rows;
    REQUIRE(separators(line) == columns);
    REQUIRE(line.find(",cap,") != std::string::npos);
  }
  REQUIRE(rows == 40);  // 20 runs x (image, pixel) levels
}

TEST_CASE("SIGINT and SIGTERM during eval --pred-out --heatmaps leave nothing behind",
          "[cli][safety][signal]") {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int sig = attempt % 2 ? SIGTERM : SIGINT;
    INFO("attempt " << attempt << ", signal " << sig);
    TempDir tmp("sig");
    const fs::path pred = tmp / "pred";
    const std::string bin = adbench_bin();
    const std::string root = synth_root().string(), out = pred.string(), err = (tmp / "err.txt").string();
    std::vector<std::string> args = {bin,      "--quiet",   "eval",       "--detector", "variation_model",
                                     "--root", root,        "--category", "all",        "--pred-out",
                                     out,      "--heatmaps"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    // Wait until a staging folder exists, vary the moment a little, then interrupt.
    bool seen = false;
    for (int i = 0; i < 20000 && !seen; ++i) {
      std::error_code ec;
      if (fs::is_directory(pred, ec))
        for (const auto& e : fs::directory_iterator(pred, ec))
          if (e.path().filename().string().find(".partial-") != std::string::npos) seen = true;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(seen);
    std::this_thread::sleep_for(std::chrono::milliseconds(37 * attempt));
    REQUIRE(::kill(pid, sig) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    const std::string e = adbench::read_file(err);
    INFO(e);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 128 + sig);
    REQUIRE(e.rfind(std::string("adbench: interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                        ": removed ",
                    0) == 0);
    REQUIRE(count_partial_files(tmp.path()) == 0);
    // What is there is whole: every category folder carries its marker and its scores.
    for (const auto& c : fs::directory_iterator(pred)) {
      REQUIRE(fs::exists(c.path() / adbench::kMarkerFile));
      REQUIRE(fs::exists(c.path() / "scores.csv"));
    }
  }
}

TEST_CASE("stale staging folders of dead processes are swept when the output is written again",
          "[cli][safety]") {
  TempDir tmp("stale");
  const fs::path pred = tmp / "pred";
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const fs::path stale = pred / ("cap.partial-" + std::to_string(dead));
  fs::create_directories(stale / "test" / "good");
  std::ofstream(stale / "test" / "good" / "000.tiff") << "half-written";
  auto r = run_adbench("--quiet eval --detector variation_model --root " + q(synth_root()) +
                       " --category cap --pred-out " + q(pred));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE_FALSE(fs::exists(stale));
  REQUIRE(fs::exists(pred / "cap" / "scores.csv"));
  REQUIRE(count_partial_files(tmp.path()) == 0);
}

TEST_CASE("eval --out - writes the result JSON to stdout and the table to stderr", "[cli][safety]") {
  auto r = run_adbench("--quiet eval --pred " + q(cap_pred()) + " --root " + q(synth_root()) +
                       " --category cap --out -");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["schema"] == "adbench.result/2");
  REQUIRE(j["categories"][0]["category"] == "cap");
  REQUIRE(r.err.find("cap") != std::string::npos);
  REQUIRE_FALSE(fs::exists("-"));
}

TEST_CASE("SIGTERM to adbench batch stops its cells, leaves no partial output, and the rerun finishes",
          "[cli][safety][signal][batch]") {
  TempDir tmp("batchsig");
  const fs::path out = tmp / "out";
  {
    nlohmann::json m = {
        {"datasets", {{{"name", "synth"}, {"adapter", "mvtec_ad"}, {"root", synth_root().string()}}}},
        {"detectors", {{{"name", "variation_model"}}}},
        {"seeds", {0, 1}},
        {"outputs", {{"predictions", true}, {"heatmaps", true}}}};
    std::ofstream(tmp / "m.json") << m.dump();
  }
  const std::string bin = adbench_bin();
  std::vector<std::string> args = {bin,      "batch", (tmp / "m.json").string(), "--out", out.string(),
                                   "--jobs", "2"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string err = (tmp / "err.txt").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  // Wait until a cell's eval is writing its prediction folder ("pred/<category>.partial-<pid>": the
  // cell's cell.json already says "running"; other partials, e.g. the manifest's or a cell.json's,
  // can come before any cell runs), then signal the batch process alone.
  bool seen = false;
  for (int i = 0; i < 60000 && !seen; ++i) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->path().filename().string().find(".partial-") != std::string::npos &&
          it->path().parent_path().filename() == "pred")
        seen = true;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(seen);
  REQUIRE(::kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  const std::string e = adbench::read_file(err);
  INFO(e);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 128 + SIGTERM);
  REQUIRE(e.find("adbench: interrupted by SIGTERM: removed ") != std::string::npos);
  // The cells got the signal too and have ended: nothing half-written, and none recorded as failed.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(count_partial_files(out) == 0);
  int running = 0;
  for (const auto& f : fs::recursive_directory_iterator(out))
    if (f.path().filename() == "cell.json") {
      const auto status_text = read_json(f.path())["status"];
      REQUIRE(status_text != "failed");
      running += status_text == "running";
    }
  CHECK(running >= 1);
  auto again = run_adbench("batch " + q(tmp / "m.json") + " --out " + q(out) + " --jobs 2");
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("adbench batch: 8 cells: 8 ok, 0 failed, 0 not run") != std::string::npos);
}
