#define CATCH_CONFIG_MAIN
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "test_util.hpp"

namespace adbench::test {

CommandResult run_adbench(const std::string& args, const std::filesystem::path& cwd) {
  static int counter = 0;
  auto base = std::filesystem::temp_directory_path() /
              ("adbench-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::string out = base.string() + ".out", err = base.string() + ".err";
  std::string cmd = "'" + adbench_bin() + "' " + args + " >'" + out + "' 2>'" + err + "' </dev/null";
  if (!cwd.empty()) cmd = "cd '" + cwd.string() + "' && " + cmd;
  int rc = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CommandResult r{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace adbench::test
