// The output guard of lib/core/fs: what may be written, what --force may replace, CSV appends
// under concurrency, stale staging sweeps. End-to-end cases through the CLI are in
// tests/cli/test_safety.cpp.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using adbench::OutputKind;
using adbench::test::TempDir;

namespace {

void write_text(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

/// Every regular file under `dir` with its bytes: a snapshot to compare before and after.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) m[fs::relative(e.path(), dir).string()] = adbench::read_file(e.path());
  return m;
}

/// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

struct InputsCleared {
  ~InputsCleared() { adbench::clear_protected_inputs(); }
};

}  // namespace

TEST_CASE("an output is never the working directory or one of its ancestors", "[core][guard]") {
  InputsCleared clear;
  const fs::path cwd = fs::current_path();
  REQUIRE_THROWS_WITH(adbench::check_output(".", OutputKind::RunFolder, true),
                      ".: is the working directory; adbench never writes over it");
  REQUIRE_THROWS_WITH(adbench::check_output(cwd, OutputKind::PredictionFolder, true),
                      cwd.string() + ": is the working directory; adbench never writes over it");
  REQUIRE_THROWS_WITH(
      adbench::check_output("..", OutputKind::DatasetFolder, true),
      "..: contains the working directory (" + cwd.string() + "); adbench never writes over it");
  REQUIRE_THROWS_WITH(
      adbench::check_output("/", OutputKind::ResultFile, true),
      "/: contains the working directory (" + cwd.string() + "); adbench never writes over it");
  // A new entry inside the working directory is fine.
  REQUIRE_NOTHROW(adbench::check_output("adbench-guard-new-entry", OutputKind::RunFolder, false));
}

TEST_CASE("an output is never an input, inside one, or around one", "[core][guard]") {
  InputsCleared clear;
  TempDir tmp("guard");
  const fs::path data = tmp / "data";
  write_text(data / "cap" / "train" / "good" / "000.png", "png bytes");
  adbench::protect_input(data, "the dataset root");
  const fs::path canon = fs::canonical(data);
  REQUIRE_THROWS_WITH(adbench::check_output(data, OutputKind::RunFolder, true),
                      data.string() + ": is the dataset root; adbench never writes over its inputs");
  REQUIRE_THROWS_WITH(adbench::check_output(data / "cap", OutputKind::PredictionFolder, true),
                      (data / "cap").string() + ": lies inside the dataset root (" + canon.string() +
                          "); adbench never writes into its inputs");
  REQUIRE_THROWS_WITH(adbench::check_output(tmp.path(), OutputKind::RunFolder, true),
                      tmp.path().string() + ": contains the dataset root (" + canon.string() +
                          "); adbench never writes over its inputs");
  // Through a symbolic link and a "..": still inside.
  fs::create_directory_symlink(data, tmp / "link");
  REQUIRE_THROWS_WITH(adbench::check_output(tmp / "link" / "cap" / "x.json", OutputKind::ResultFile, true),
                      (tmp / "link" / "cap" / "x.json").string() + ": lies inside the dataset root (" +
                          canon.string() + "); adbench never writes into its inputs");
  REQUIRE_THROWS_WITH(
      adbench::check_output(tmp / "other" / ".." / "data" / "r.csv", OutputKind::CsvFile, false),
      (tmp / "other" / ".." / "data" / "r.csv").string() + ": lies inside the dataset root (" +
          canon.string() + "); adbench never writes into its inputs");
  // A sibling whose name starts like the input is not inside it.
  REQUIRE_NOTHROW(adbench::check_output(tmp / "data2", OutputKind::RunFolder, false));
  REQUIRE(snapshot(data).size() == 1);
}

TEST_CASE("file outputs: non-regular files are refused, --force replaces only adbench results",
          "[core][guard]") {
  InputsCleared clear;
  TempDir tmp("guard");
  REQUIRE_THROWS_WITH(adbench::check_output("/dev/full", OutputKind::ResultFile, true),
                      "/dev/full: exists and is not a regular file; adbench writes only regular files");
  const fs::path fifo = tmp / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(
      adbench::write_result_file(fifo, "{}", true),
      fifo.string() + ": exists and is not a regular file; adbench writes only regular files");
  REQUIRE(fs::is_fifo(fifo));
  write_text(tmp / "real.json", "{\"schema\": \"adbench.result/1\"}");
  fs::create_symlink(tmp / "real.json", tmp / "link.json");
  REQUIRE_THROWS_WITH(
      adbench::write_result_file(tmp / "link.json", "{}", true),
      (tmp / "link.json").string() + ": is a symbolic link; adbench writes only regular files");
  REQUIRE(fs::is_symlink(tmp / "link.json"));
  write_text(tmp / "notes.txt", "my notes");
  REQUIRE_THROWS_WITH(
      adbench::write_result_file(tmp / "notes.txt", "{}", true),
      (tmp / "notes.txt").string() +
          ": exists and is not an adbench result file; --force replaces only adbench's own outputs");
  REQUIRE(adbench::read_file(tmp / "notes.txt") == "my notes");
  adbench::write_result_file(tmp / "real.json", "{\"schema\": \"adbench.result/1\", \"n\": 2}\n", true);
  REQUIRE(adbench::read_file(tmp / "real.json") == "{\"schema\": \"adbench.result/1\", \"n\": 2}\n");
}

TEST_CASE("folder outputs: --force replaces only folders carrying adbench's marker of the same kind",
          "[core][guard]") {
  InputsCleared clear;
  TempDir tmp("guard");
  const fs::path user = tmp / "user";
  write_text(user / "thesis.tex", "years of work");
  REQUIRE_THROWS_WITH(adbench::StagingDir(user, OutputKind::RunFolder, false),
                      user.string() + ": already exists (use --force to overwrite)");
  REQUIRE_THROWS_WITH(
      adbench::StagingDir(user, OutputKind::RunFolder, true),
      user.string() +
          ": exists and is not an adbench run folder (no .adbench-output marker); --force replaces "
          "only adbench's own outputs");
  REQUIRE(adbench::read_file(user / "thesis.tex") == "years of work");
  // A folder adbench wrote as a prediction folder is not replaced as a run folder.
  {
    adbench::StagingDir s(tmp / "pred", OutputKind::PredictionFolder, false);
    s.commit();
  }
  REQUIRE_THROWS_WITH(
      adbench::StagingDir(tmp / "pred", OutputKind::RunFolder, true),
      (tmp / "pred").string() +
          ": exists and is not an adbench run folder (no .adbench-output marker); --force replaces "
          "only adbench's own outputs");
  {
    adbench::StagingDir s(tmp / "pred", OutputKind::PredictionFolder, true);
    write_text(s.path() / "scores.csv", "path,score\n");
    s.commit();
  }
  REQUIRE(adbench::read_file(tmp / "pred" / "scores.csv") == "path,score\n");
  // Folders of earlier adbench versions (no marker) are recognised by their run.json.
  write_text(tmp / "oldrun" / "run.json", "{\"format\": \"adbench.run/1\"}");
  {
    adbench::StagingDir s(tmp / "oldrun", OutputKind::RunFolder, true);
    s.commit();
  }
  REQUIRE_FALSE(fs::exists(tmp / "oldrun" / "run.json"));
  // A symbolic link to a folder is never replaced (nor followed).
  fs::create_directory_symlink(user, tmp / "userlink");
  REQUIRE_THROWS_WITH(
      adbench::StagingDir(tmp / "userlink", OutputKind::RunFolder, true),
      (tmp / "userlink").string() + ": is a symbolic link, not a folder adbench wrote; not replaced");
  write_text(tmp / "file", "x");
  REQUIRE_THROWS_WITH(adbench::StagingDir(tmp / "file", OutputKind::DatasetFolder, true),
                      (tmp / "file").string() + ": exists and is not a folder; not replaced");
}

TEST_CASE("stale staging entries of dead processes are swept, live ones kept", "[core][guard]") {
  InputsCleared clear;
  TempDir tmp("guard");
  const std::string dead = std::to_string(dead_pid());
  const std::string live = std::to_string(::getppid());
  write_text(tmp / ("cap.partial-" + dead) / "test" / "x.tiff", "half");
  write_text(tmp / ("cap.partial-" + dead + "-replaced") / "y", "old");
  write_text(tmp / ("cap.partial-" + live) / "z", "someone else's, still running");
  write_text(tmp / ("capx.partial-" + dead) / "w", "another output's");
  {
    adbench::StagingDir s(tmp / "cap", OutputKind::PredictionFolder, false);
    s.commit();
  }
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp.path())) left.insert(e.path().filename().string());
  REQUIRE(left == std::set<std::string>{"cap", "cap.partial-" + live, "capx.partial-" + dead});
}

TEST_CASE("CSV appends: header once, foreign files refused whatever their ending", "[core][guard][csv]") {
  InputsCleared clear;
  TempDir tmp("csv");
  const std::string header = "a,b";
  adbench::append_csv_rows(tmp / "board.csv", header, "1,2\n");
  adbench::append_csv_rows(tmp / "board.csv", header, "3,4\n5,6\n");
  REQUIRE(adbench::read_file(tmp / "board.csv") == "a,b\n1,2\n3,4\n5,6\n");
  // A foreign CSV, with and without a trailing newline: refused, untouched.
  for (const std::string foreign : {"x,y\n1,2\n", "x,y\n1,2", "a,b,c\n"}) {
    write_text(tmp / "foreign.csv", foreign);
    REQUIRE_THROWS_WITH(adbench::append_csv_rows(tmp / "foreign.csv", header, "7,8\n"),
                        (tmp / "foreign.csv").string() + ": is not an adbench leaderboard CSV (first line '" +
                            foreign.substr(0, foreign.find('\n')) +
                            "', expected 'a,b'); adbench appends only to a CSV it wrote");
    REQUIRE(adbench::read_file(tmp / "foreign.csv") == foreign);
  }
  // A PNG: refused, its bytes escaped in the message.
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  write_text(tmp / "img.png", png);
  REQUIRE_THROWS_WITH(
      adbench::append_csv_rows(tmp / "img.png", header, "7,8\n"),
      (tmp / "img.png").string() +
          ": is not an adbench leaderboard CSV (first line '\\x89PNG\\x0d', expected 'a,b'); adbench "
          "appends only to a CSV it wrote");
  REQUIRE(adbench::read_file(tmp / "img.png") == png);
  // An adbench CSV whose last row was cut off: the new row starts on its own line.
  write_text(tmp / "cut.csv", "a,b\n1,2\n3,");
  adbench::append_csv_rows(tmp / "cut.csv", header, "5,6\n");
  REQUIRE(adbench::read_file(tmp / "cut.csv") == "a,b\n1,2\n3,\n5,6\n");
  // An empty file gets the header.
  write_text(tmp / "empty.csv", "");
  adbench::append_csv_rows(tmp / "empty.csv", header, "1,2\n");
  REQUIRE(adbench::read_file(tmp / "empty.csv") == "a,b\n1,2\n");
  // Non-regular files never block: a FIFO and /dev/stdout are refused at once.
  const fs::path fifo = tmp / "fifo.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(
      adbench::append_csv_rows(fifo, header, "1,2\n"),
      fifo.string() + ": exists and is not a regular file; adbench writes only regular files");
  REQUIRE_THROWS_WITH(
      adbench::check_csv_output(fifo, header),
      fifo.string() + ": exists and is not a regular file; adbench writes only regular files");
  REQUIRE_THROWS_WITH(adbench::append_csv_rows("/dev/stdout", header, "1,2\n"),
                      "/dev/stdout: is a symbolic link; adbench writes only regular files");
  REQUIRE_THROWS_WITH(
      adbench::check_csv_output(tmp / "img.png", header),
      (tmp / "img.png").string() +
          ": is not an adbench leaderboard CSV (first line '\\x89PNG\\x0d', expected 'a,b'); adbench "
          "appends only to a CSV it wrote");
}

TEST_CASE("CSV appends from 24 concurrent processes lose and tear no row", "[core][guard][csv]") {
  InputsCleared clear;
  TempDir tmp("csv");
  const fs::path csv = tmp / "board.csv";
  const std::string header = "writer,row,payload";
  constexpr int kWriters = 24, kRows = 40;
  std::vector<pid_t> kids;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 0;
      try {
        for (int r = 0; r < kRows; ++r) {
          // Rows of ~2 KB, several per call: a torn write would show as a broken line.
          std::string rows;
          for (int k = 0; k < 3; ++k)
            rows += std::to_string(w) + "," + std::to_string(r * 3 + k) + "," +
                    std::string(2000, 'a' + w % 26) + "\n";
          adbench::append_csv_rows(csv, header, rows);
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ::waitpid(k, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  std::istringstream in(adbench::read_file(csv));
  std::string line;
  REQUIRE(std::getline(in, line));
  REQUIRE(line == header);
  std::set<std::pair<int, int>> seen;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
    REQUIRE(c2 != std::string::npos);
    int w = std::stoi(line.substr(0, c1)), r = std::stoi(line.substr(c1 + 1, c2 - c1 - 1));
    REQUIRE(line.substr(c2 + 1) == std::string(2000, 'a' + w % 26));
    seen.insert({w, r});
  }
  REQUIRE(lines == kWriters * kRows * 3);
  REQUIRE(seen.size() == static_cast<size_t>(kWriters * kRows * 3));
}

TEST_CASE(
    "checkpoint folders: created with a marker, refused or emptied with --force, resumed only if "
    "adbench's",
    "[core][guard]") {
  InputsCleared clear;
  TempDir tmp("guard-ck");
  const fs::path ck = tmp / "ck";
  adbench::open_checkpoint_folder(ck, false, false);
  REQUIRE(fs::is_directory(ck));
  CHECK(adbench::read_file(ck / adbench::kMarkerFile).find("\"adbench_output\":\"checkpoint\"") !=
        std::string::npos);
  write_text(ck / "checkpoint-000000004.safetensors", "x");
  // Resuming keeps everything.
  REQUIRE_NOTHROW(adbench::open_checkpoint_folder(ck, true, false));
  CHECK(fs::exists(ck / "checkpoint-000000004.safetensors"));
  // A new training refuses it, or empties it with --force.
  REQUIRE_THROWS_WITH(adbench::open_checkpoint_folder(ck, false, false),
                      ck.string() + ": already exists (use --force to overwrite)");
  adbench::open_checkpoint_folder(ck, false, true);
  CHECK(!fs::exists(ck / "checkpoint-000000004.safetensors"));
  CHECK(fs::exists(ck / adbench::kMarkerFile));
  // Not adbench's: never emptied, never resumed from.
  write_text(tmp / "mine" / "notes.txt", "keep");
  REQUIRE_THROWS_WITH(
      adbench::open_checkpoint_folder(tmp / "mine", false, true),
      (tmp / "mine").string() +
          ": exists and is not an adbench checkpoint folder (no .adbench-output marker); --force "
          "replaces only adbench's own outputs");
  REQUIRE_THROWS_WITH(
      adbench::open_checkpoint_folder(tmp / "mine", true, false),
      (tmp / "mine").string() + ": is not an adbench checkpoint folder (no .adbench-output marker)");
  CHECK(adbench::read_file(tmp / "mine" / "notes.txt") == "keep");
  REQUIRE_THROWS_WITH(
      adbench::open_checkpoint_folder(tmp / "none", true, false),
      (tmp / "none").string() +
          ": no such checkpoint folder (--resume continues a training that wrote checkpoints there)");
  // Never inside a dataset.
  adbench::protect_input(tmp / "data", "the dataset root");
  REQUIRE_THROWS_WITH(adbench::open_checkpoint_folder(tmp / "data" / "ck", false, false),
                      Catch::Contains("lies inside the dataset root"));
  CHECK(!fs::exists(tmp / "data" / "ck"));
}
