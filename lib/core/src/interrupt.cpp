#include "adbench/core/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>

namespace fs = std::filesystem;

namespace adbench {

namespace {

std::atomic<bool> g_interrupted{false};
std::shared_mutex g_write_lock;  // shared: one file being written; exclusive: the handler cleaning up
thread_local int t_write_depth = 0;

std::mutex& paths_mutex() {
  static std::mutex m;
  return m;
}
std::set<fs::path>& paths() {
  static std::set<fs::path> p;
  return p;
}

std::set<long>& children() {
  static std::set<long> c;
  return c;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

[[noreturn]] void park_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

void handle(int sig) {
  g_interrupted = true;
  // Child processes (adbench batch's cells) get the same signal and a while to clean up their own
  // staging; their reapers park in WriteScope, so nothing records them as finished.
  std::set<long> kids;
  {
    std::lock_guard<std::mutex> lock(paths_mutex());
    kids = children();
  }
  for (long pid : kids) ::kill(static_cast<pid_t>(pid), sig);
  for (int i = 0; i < 600 && !kids.empty(); ++i) {
    for (auto it = kids.begin(); it != kids.end();)
      it = ::kill(static_cast<pid_t>(*it), 0) != 0 && errno == ESRCH ? kids.erase(it) : std::next(it);
    if (!kids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Wait until no file is half-written; writers arriving from now on park in WriteScope.
  std::unique_lock<std::shared_mutex> writes(g_write_lock);
  std::set<fs::path> todo;
  {
    std::lock_guard<std::mutex> lock(paths_mutex());
    todo = paths();
  }
  int removed = 0;
  for (const auto& p : todo) {
    std::error_code ec;
    // A second pass catches an entry created by a writer not marked with a WriteScope.
    for (int attempt = 0; attempt < 3 && fs::exists(fs::symlink_status(p, ec)); ++attempt)
      fs::remove_all(p, ec);
    ++removed;
  }
  std::string msg = std::string("adbench: interrupted by ") + signal_name(sig) + ": removed " +
                    std::to_string(removed) + " unfinished output(s), wrote nothing else\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg.data(), msg.size());
  ::_exit(128 + sig);
}

int g_signal_pipe[2] = {-1, -1};

// Runs in whichever thread the kernel picked (libraries start threads before main, so blocking
// the signals in main alone is not enough): only hands the number to the cleanup thread.
extern "C" void on_signal(int sig) {
  const int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

}  // namespace

void install_interrupt_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;  // keep the default actions
    std::thread([] {
      unsigned char b = 0;
      for (;;) {
        ssize_t n = ::read(g_signal_pipe[0], &b, 1);
        if (n == 1) handle(b);
        if (n < 0 && errno != EINTR) return;
      }
    }).detach();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  });
}

void remove_on_interrupt(const fs::path& path) {
  std::lock_guard<std::mutex> lock(paths_mutex());
  paths().insert(path);
}

void forget_on_interrupt(const fs::path& path) {
  std::lock_guard<std::mutex> lock(paths_mutex());
  paths().erase(path);
}

void forward_interrupt_to(long pid) {
  std::lock_guard<std::mutex> lock(paths_mutex());
  children().insert(pid);
}

void stop_forwarding_to(long pid) {
  std::lock_guard<std::mutex> lock(paths_mutex());
  children().erase(pid);
}

bool interrupted() { return g_interrupted.load(); }

WriteScope::WriteScope() {
  if (t_write_depth++ > 0) return;
  if (g_interrupted) park_forever();
  g_write_lock.lock_shared();
  if (g_interrupted) {
    g_write_lock.unlock_shared();
    park_forever();
  }
}

WriteScope::~WriteScope() {
  if (--t_write_depth == 0) g_write_lock.unlock_shared();
}

}  // namespace adbench
