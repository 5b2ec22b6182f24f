// adbench batch: a matrix of evaluations, locally (--jobs N) or as a Slurm job array.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "adbench/bench/batch.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/log.hpp"
#include "cli_common.hpp"

extern char** environ;

namespace adbench::cli {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw InputError("/proc/self/exe: cannot find adbench's own binary (" + ec.message() + ")");
  return p;
}

std::string duration_text(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

std::vector<CellStatus> statuses_of(const fs::path& out, const std::vector<BatchCell>& cells) {
  std::vector<CellStatus> st;
  st.reserve(cells.size());
  for (const auto& c : cells) st.push_back(read_cell_status(out, c));
  return st;
}

void write_manifest(const BatchMatrix& m, const fs::path& out, const std::vector<CellStatus>& st,
                    const json& slurm) {
  write_file_atomic(out / "batch.json", batch_manifest(m, out, st, slurm).dump(2) + "\n");
}

/// Runs `argv` (sbatch) and returns its exit code; its stdout goes to `stdout_text`.
int run_capture(const std::vector<std::string>& argv, std::string& stdout_text) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> cargv;
  std::vector<std::string> a = argv;
  for (auto& s : a) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, a[0].c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return -1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) stdout_text.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

/// Prints the summary line and the leaderboard; returns the exit code (1 when a cell failed).
int finish(const BatchMatrix& m, const fs::path& out, const std::vector<CellStatus>& st) {
  const std::size_t rows = merge_batch_csv(out, m.cells, st);
  std::size_t ok = 0, failed = 0, pending = 0;
  for (const auto& s : st) {
    if (s.state == CellState::Ok)
      ++ok;
    else if (s.state == CellState::Failed)
      ++failed;
    else
      ++pending;
  }
  if (rows > 0) {
    std::cout << leaderboard_pivot({(out / "leaderboard.csv").string()}, {"image_auroc"});
    spdlog::info("wrote {} ({} rows from {} cells)", (out / "leaderboard.csv").string(), rows, ok);
  }
  for (std::size_t i = 0; i < st.size(); ++i)
    if (st[i].state == CellState::Failed)
      std::cerr << "adbench batch: cell " << i << " (" << m.cells[i].id() << ") failed: " << st[i].error
                << "\n";
  std::cerr << "adbench batch: " << m.cells.size() << " cells: " << ok << " ok, " << failed << " failed, "
            << pending << " not run (manifest " << (out / "batch.json").string() << ")\n";
  if (failed > 0) {
    std::cerr << "adbench batch: " << failed << " of " << m.cells.size()
              << " cells failed (rerun with --retry-failed after fixing the cause)\n";
    return 1;
  }
  return 0;
}

}  // namespace

Action setup_batch(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string matrix, out, collect;
    int jobs = 1, run_cell = -1;
    bool dry_run = false, retry_failed = false, slurm = false, script_only = false, slurm_wait = false;
    SlurmOptions sl;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("matrix", o->matrix, "The matrix file (JSON; README 'Batch matrices')");
  app.add_option("--out", o->out,
                 "Batch folder: OUT/<dataset>/<category>/<spec-hash>/seed<S>/result.json per cell, "
                 "OUT/batch.json (the manifest), OUT/leaderboard.csv (default: the matrix's \"out\")");
  app.add_option("--jobs", o->jobs, "Cells run at once, locally; each gets --threads / N cores (default 1)")
      ->check(integer_in(1, 1024, "an integer from 1 to 1024"));
  app.add_flag("--dry-run", o->dry_run, "List the cells, their count and what a run would do; run nothing");
  app.add_flag("--retry-failed", o->retry_failed, "Also rerun cells that failed before (default: skip them)");
  app.add_option("--collect", o->collect,
                 "Merge a batch folder's finished cells (e.g. after Slurm): refresh OUT/batch.json, write "
                 "OUT/leaderboard.csv, print the leaderboard");
  app.add_option("--run-cell", o->run_cell,
                 "Run one cell of OUT/batch.json (what each Slurm array task runs; needs --out)")
      ->check(integer_in(0, 100000000, "a cell index >= 0"));
  app.add_flag("--slurm", o->slurm, "Submit the cells to run as one Slurm job array (sbatch)");
  app.add_flag("--slurm-script-only", o->script_only,
               "With --slurm: write OUT/slurm/batch.sbatch, do not submit it");
  app.add_flag("--slurm-wait", o->slurm_wait,
               "With --slurm: wait for the array to end (sbatch --wait), then collect");
  app.add_option("--partition", o->sl.partition, "Slurm partition (#SBATCH --partition)");
  app.add_option("--gres", o->sl.gres, "Slurm generic resources per task, e.g. gpu:1");
  app.add_option("--time", o->sl.time, "Slurm time limit per task, e.g. 02:00:00");
  app.add_option("--mem", o->sl.mem, "Slurm memory per task, e.g. 16G");
  app.add_option("--cpus-per-task", o->sl.cpus_per_task, "Slurm CPUs per task (the cell's --threads)")
      ->check(integer_in(1, 100000, "an integer >= 1"));
  app.add_option("--max-parallel", o->sl.max_parallel,
                 "At most this many array tasks at once (--array=...%N)")
      ->check(integer_in(1, 100000, "an integer >= 1"));
  app.add_option("--sbatch-line", o->sl.extra,
                 "One more #SBATCH line, e.g. --sbatch-line=--qos=normal (repeatable)");
  app.footer(
      "Every cell is one 'adbench eval' in its own process. A second run skips the cells whose result\n"
      "exists and whose configuration hash matches, and the cells that failed (unless --retry-failed);\n"
      "a failed cell records its error line and never stops the others; exit 1 if any failed.\n"
      "Matrix (JSON; relative paths are taken from the matrix file's folder; lists in detector\n"
      "settings are crossed, a list-valued setting is given as a list of lists):\n"
      "  {\"datasets\": [{\"name\": \"synth\", \"adapter\": \"mvtec_ad\", \"root\": \"data/synth\",\n"
      "                 \"categories\": \"all\"}],\n"
      "   \"detectors\": [{\"name\": \"padim\", \"settings\": {\"d_reduced\": [50, 100]}},\n"
      "                 {\"name\": \"variation_model\"}],\n"
      "   \"seeds\": [0, 1], \"setting\": \"single-class\", \"metrics\": {\"aupro_limits\": [0.3]},\n"
      "   \"outputs\": {\"predictions\": false}, \"slurm\": {\"partition\": \"gpu\", \"gres\": \"gpu:1\"}}\n"
      "Examples:\n"
      "  adbench batch matrix.json --out runs/batch --dry-run\n"
      "  adbench batch matrix.json --out runs/batch --jobs 2\n"
      "  adbench batch matrix.json --out runs/batch --slurm --partition gpu --gres gpu:1 --time 02:00:00\n"
      "  adbench batch --collect runs/batch\n"
      "  adbench leaderboard runs/batch/leaderboard.csv --metric image_auroc,pixel_aupro_0.3 --format "
      "markdown");
  return [o, &g]() -> int {
    const int modes = (o->collect.empty() ? 0 : 1) + (o->run_cell >= 0 ? 1 : 0) + (o->matrix.empty() ? 0 : 1);
    if (modes != 1)
      throw InputError(
          "adbench batch: give exactly one of MATRIX.json, --collect OUT, or --out OUT --run-cell K");
    BatchRunOptions ro;
    ro.exe = self_exe();
    ro.device = g.device;
    ro.verbose = g.verbose;
    ro.label_mismatch = g.label_mismatch;

    if (!o->collect.empty()) {
      ro.out = fs::absolute(o->collect).lexically_normal();
      json slurm;
      BatchMatrix m = read_batch_manifest(ro.out, &slurm);
      auto st = statuses_of(ro.out, m.cells);
      write_manifest(m, ro.out, st, slurm);
      return finish(m, ro.out, st);
    }
    if (o->run_cell >= 0) {
      if (o->out.empty()) throw InputError("adbench batch: --run-cell needs --out OUT (the batch folder)");
      ro.out = fs::absolute(o->out).lexically_normal();
      json slurm;
      BatchMatrix m = read_batch_manifest(ro.out, &slurm);
      if (o->run_cell >= static_cast<int>(m.cells.size()))
        throw InputError("adbench batch: --run-cell " + std::to_string(o->run_cell) + ": " +
                         (ro.out / "batch.json").string() + " has " + std::to_string(m.cells.size()) +
                         " cells");
      const BatchCell& cell = m.cells[o->run_cell];
      for (const auto& c : m.cells) protect_input(c.root, "the dataset root");
      if (read_cell_status(ro.out, cell).state == CellState::Ok) {
        spdlog::info("cell {} ({}) already done", cell.index, cell.id());
        return 0;
      }
      ro.threads_per_cell = g.threads;
      spdlog::info("cell {} of {}: {}", cell.index, m.cells.size(), cell.id());
      const CellStatus st = run_batch_cell(cell, ro);
      if (st.state != CellState::Ok) {
        std::cerr << "adbench batch: cell " << cell.index << " (" << cell.id() << ") failed: " << st.error
                  << "\n";
        return 1;
      }
      spdlog::info("cell {} ok in {:.1f} s", cell.index, st.seconds);
      return 0;
    }

    BatchMatrix m = load_batch_matrix(o->matrix, g.device);
    if (!o->out.empty())
      ro.out = fs::absolute(o->out).lexically_normal();
    else if (m.out)
      ro.out = *m.out;
    else
      throw InputError("adbench batch: --out is required (or an \"out\" in " + o->matrix + ")");
    auto st = statuses_of(ro.out, m.cells);
    std::vector<int> todo;
    std::size_t done = 0, failed_skipped = 0;
    for (std::size_t i = 0; i < st.size(); ++i) {
      if (st[i].state == CellState::Ok)
        ++done;
      else if (st[i].state == CellState::Failed && !o->retry_failed)
        ++failed_skipped;
      else
        todo.push_back(static_cast<int>(i));
    }
    if (o->dry_run) {
      for (std::size_t i = 0; i < m.cells.size(); ++i) {
        const auto& c = m.cells[i];
        const bool run = std::find(todo.begin(), todo.end(), static_cast<int>(i)) != todo.end();
        std::cout << i << "\t" << c.id() << "\t" << c.detector << "\t" << c.settings.dump() << "\t"
                  << (run                            ? "run"
                      : st[i].state == CellState::Ok ? "done"
                                                     : "failed (skip)")
                  << "\n";
      }
      std::cout << m.cells.size() << " cells: " << todo.size() << " to run, " << done << " done, "
                << failed_skipped << " failed (skipped; --retry-failed reruns them)\n";
      return 0;
    }
    open_batch_folder(ro.out, m.cells);

    if (o->slurm) {
      SlurmOptions sl = m.slurm;
      sl.update_from(o->sl);
      if (todo.empty()) {  // the script and the manifest's record of the last submission stay as they are
        std::cerr << "adbench batch: nothing to run (" << done << " done, " << failed_skipped
                  << " failed and skipped); not submitted\n";
        json previous;
        try {
          read_batch_manifest(ro.out, &previous);
        } catch (const InputError&) {
        }
        write_manifest(m, ro.out, st, previous);
        return finish(m, ro.out, st);
      }
      const fs::path script = ro.out / "slurm" / "batch.sbatch";
      json slurm = {{"script", script.string()}};
      write_file_atomic(script, slurm_script(m, todo, ro, sl));
      write_manifest(m, ro.out, st, slurm);
      if (o->script_only) {
        std::cout << script.string() << "\n";
        spdlog::info("wrote {} ({} array tasks); submit it with: sbatch {}", script.string(), todo.size(),
                     script.string());
        return 0;
      }
      std::vector<std::string> argv{"sbatch", "--parsable"};
      if (o->slurm_wait) argv.push_back("--wait");
      argv.push_back(script.string());
      spdlog::info("submitting {} array tasks: {}", todo.size(), script.string());
      std::string job;
      const int rc = run_capture(argv, job);
      while (!job.empty() && (job.back() == '\n' || job.back() == '\r')) job.pop_back();
      if (rc == -1) throw InputError("sbatch: cannot run it (is Slurm installed and on PATH?)");
      const std::string job_id = job.substr(0, job.find(';'));
      if (rc != 0 && !(o->slurm_wait && !job_id.empty()))
        throw InputError("sbatch " + script.string() + ": failed with exit code " + std::to_string(rc));
      slurm["job_id"] = job_id;
      slurm["array"] = array_ranges(todo);
      std::cout << "submitted Slurm job " << job_id << " (" << todo.size() << " array tasks)\n";
      if (!o->slurm_wait) {
        write_manifest(m, ro.out, st, slurm);
        std::cerr << "adbench batch: when it ends: adbench batch --collect " << ro.out.string() << "\n";
        return 0;
      }
      st = statuses_of(ro.out, m.cells);
      write_manifest(m, ro.out, st, slurm);
      return finish(m, ro.out, st);
    }

    // Local: --jobs workers, each running one cell process at a time.
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int total_threads = g.threads > 0 ? g.threads : hw;
    const int jobs = std::min<int>(o->jobs, std::max<std::size_t>(1, todo.size()));
    ro.threads_per_cell = std::max(1, total_threads / jobs);
    write_manifest(m, ro.out, st, nullptr);
    spdlog::info("{} cells: {} to run with {} job(s) x {} thread(s), {} done, {} failed and skipped",
                 m.cells.size(), todo.size(), jobs, ro.threads_per_cell, done, failed_skipped);
    std::atomic<std::size_t> next{0};
    std::mutex mu;
    std::size_t finished = 0;
    double busy_seconds = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto worker = [&]() {
      for (;;) {
        const std::size_t k = next++;
        if (k >= todo.size()) return;
        const BatchCell& cell = m.cells[todo[k]];
        const CellStatus s = run_batch_cell(cell, ro);
        std::lock_guard<std::mutex> lock(mu);
        st[todo[k]] = s;
        ++finished;
        busy_seconds += s.seconds;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double eta = elapsed / finished * (todo.size() - finished);
        spdlog::info("cell {} of {} {} in {:.1f} s: {}{}{}", finished, todo.size(), cell_state_name(s.state),
                     s.seconds, cell.id(), s.error.empty() ? "" : " (" + s.error + ")",
                     finished < todo.size() ? ", ETA " + duration_text(eta) : "");
        write_manifest(m, ro.out, st, nullptr);
      }
    };
    std::vector<std::thread> pool;
    for (int i = 0; i < jobs; ++i) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    write_manifest(m, ro.out, st, nullptr);
    return finish(m, ro.out, st);
  };
}

}  // namespace adbench::cli
