// adbench: one binary that benchmarks industrial anomaly detection end to end.
// main() only parses the command line, dispatches to a subcommand and maps errors to exit codes:
// bad input -> 2 with one line on stderr, internal errors -> 1.
#include <unistd.h>

#include <adbench/build_info.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string_view>

#include "adbench/core/device.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/log.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/detectors/detector.hpp"
#include "cli_common.hpp"

namespace {

std::string version_string() {
  std::string v = std::string("adbench ") + adbench::build::kVersion + " (commit " +
                  adbench::build::kGitCommit + ", LibTorch " + adbench::build::kTorchVersion + ", " +
                  (at::hasCUDA() ? "CUDA available" : "CPU only") + ")";
  return v;
}

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    bool quote = a.find_first_of(" \t'\"$") != std::string::npos;
    s += (i ? " " : "") + (quote ? "'" + a + "'" : a);
  }
  return s;
}

// Three runtime settings that only take effect when the process starts, so unless the user chose
// them, adbench re-executes itself once with them in its environment:
// - LibTorch's CPU threads (libgomp) busy-wait after every parallel region by default. On a small
//   machine that starves OpenCV's TBB workers and the main thread: variation_model on the magnetic
//   tile data took 50 s instead of 5 s on 2 cores. OMP_WAIT_POLICY=PASSIVE.
// - glibc hands every freed allocation above its mmap threshold (at most 32 MiB when set at run
//   time with mallopt) back to the kernel, and trims the heap top above 128 KiB, so each batch's
//   tensors are page-faulted in again, zeroed. PatchCore inference on the magnetic-tile test set
//   (630 images, 2 cores) took 73.5 s with 8.4 M minor page faults (64 s of it in the backbone);
//   with an mmap threshold of 1 GiB, a trim threshold of 512 MiB and a 64 MiB top pad it takes
//   15.4 s with 0.23 M faults, peak RSS 0.64 -> 1.00 GB (results/bench/patchcore_infer.md).
//   Skipped when GLIBC_TUNABLES or any MALLOC_*_ variable is set.
// - OpenBLAS's pthread workers (Debian's libopenblas0-pthread, LibTorch's BLAS) spin on
//   sched_yield for 2^28 cycles after every BLAS call before they sleep. Training a small network
//   (infp, 32 x 32, 300 steps, --threads 1) burned 46.5 s of CPU for 23.9 s of wall time, a whole
//   second core; with OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles, OpenBLAS's minimum) 26.7 s, and
//   PatchCore on the magnetic tiles ran as fast (121 and 128 s against 117 and 139 s, noisy box).
// This runs from the executable's .preinit_array: after the dynamic loader has mapped and relocated
// the libraries but before any of their constructors (LibTorch's operator registrations alone take
// 0.7 s), so the discarded first start costs ~0.1 s instead of a whole start-up (2.1 -> 1.2 s for
// `adbench --version` on the 2-core build box). libc is not initialised yet: no heap, no environ,
// no setenv; the new environment is built on the stack from the envp the loader passes.
constexpr char kOmpWaitPolicy[] = "OMP_WAIT_POLICY=PASSIVE";
constexpr char kOpenblasTimeout[] = "OPENBLAS_THREAD_TIMEOUT=4";
constexpr char kGlibcTunables[] =
    "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=536870912:"
    "glibc.malloc.top_pad=67108864";

void reexec_with_runtime_settings(int /*argc*/, char** argv, char** envp) {
  if (!argv || !envp) return;
  bool user_omp = false, user_malloc = false, user_blas = false;
  std::size_t n = 0;
  for (; envp[n]; ++n) {
    const std::string_view v(envp[n]);
    user_omp = user_omp || v.starts_with("OMP_WAIT_POLICY=") || v.starts_with("GOMP_SPINCOUNT=");
    user_blas =
        user_blas || v.starts_with("OPENBLAS_THREAD_TIMEOUT=") || v.starts_with("GOTO_THREAD_TIMEOUT=");
    user_malloc = user_malloc || v.starts_with("GLIBC_TUNABLES=") ||
                  (v.starts_with("MALLOC_") && v.find("_=") != std::string_view::npos);
  }
  if (user_omp && user_malloc && user_blas) return;
  char** env = static_cast<char**>(__builtin_alloca((n + 4) * sizeof(char*)));
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) env[k++] = envp[i];
  if (!user_omp) env[k++] = const_cast<char*>(kOmpWaitPolicy);
  if (!user_malloc) env[k++] = const_cast<char*>(kGlibcTunables);
  if (!user_blas) env[k++] = const_cast<char*>(kOpenblasTimeout);
  env[k] = nullptr;
  ::execve("/proc/self/exe", argv, env);  // returns only on failure: carry on as we are
}

}  // namespace

// glibc calls .preinit_array entries of the executable with (argc, argv, envp) before the
// libraries' initialisers.
[[gnu::section(".preinit_array"),
  gnu::used]] static void (*const adbench_preinit)(int, char**, char**) = &reexec_with_runtime_settings;

int main(int argc, char** argv) {
  using namespace adbench;
  // Before any thread starts: SIGINT/SIGTERM then remove unfinished outputs and exit 130/143.
  install_interrupt_handler();
  register_builtin_datasets();
  register_builtin_detectors();

  CLI::App app{
      "adbench: benchmark industrial anomaly detection end to end (datasets, detectors, exact metrics).",
      "adbench"};
  app.footer(
      "Examples:\n"
      "  adbench synth --out data/synth --seed 0\n"
      "  adbench eval --detector variation_model --dataset mvtec_ad --root data/synth --category all \\\n"
      "               --out results/synth.json --csv results/leaderboard.csv\n"
      "  adbench eval --pred PRED --dataset mvtec_ad --root /data/mvtec --category bottle\n"
      "Run 'adbench <command> --help' for each command's options.");
  app.require_subcommand(0, 1);
  app.fallthrough();
  cli::Globals g;
  g.command_line = join_args(argc, argv);
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version, git commit and LibTorch version, then exit");
  app.add_flag("-v,--verbose", g.verbose, "More log output on stderr");
  app.add_flag("--quiet", g.quiet, "Errors only on stderr; no progress bars");
  app.add_option("--device", g.device, "auto | cpu | cuda | cuda:N (auto: CUDA when available)")
      ->capture_default_str();
  app.add_option(
         "--threads", g.threads,
         "CPU threads for LibTorch and metrics (default 0: all cores; at most 4 x the hardware threads)")
      ->check(cli::threads_limit());
  app.add_option("--label-mismatch", g.label_mismatch,
                 "Videos whose label vector and frame count differ: error (default) | truncate (keep the "
                 "shorter) | skip (leave the video out); truncate and skip are recorded as warnings")
      ->check(cli::one_of({"error", "truncate", "skip"}))
      ->capture_default_str();
  app.add_option("--split", g.split,
                 "Which split files of the dataset to use (default: the dataset's own default). real_iad: "
                 "multi-view (default) | single-view | fuiad-0.0 | fuiad-0.1 | fuiad-0.2 | fuiad-0.4");
  app.add_option("--seed", g.seed,
                 "Random seed for every random step, an integer from 0 to 2^64-1 (default 0)")
      ->check(cli::unsigned_64("an integer from 0 to 2^64-1"))
      ->capture_default_str();
  std::uint64_t max_pixels = kDefaultMaxImagePixels;
  app.add_option("--max-image-pixels", max_pixels,
                 "Refuse images larger than this many pixels (width x height, read from the file header "
                 "before decoding; at most 2^40)")
      ->capture_default_str()
      ->check(cli::integer_in(1, std::int64_t(1) << 40, "an integer from 1 to 2^40"));

  std::map<CLI::App*, cli::Action> actions;
  auto add = [&](const char* name, const char* desc, cli::Action (*setup)(CLI::App&, const cli::Globals&)) {
    CLI::App* sub = app.add_subcommand(name, desc);
    actions[sub] = setup(*sub, g);
  };
  add("train", "Train a detector on one category and write a run folder", cli::setup_train);
  add("infer", "Run a trained run folder on a test set and write a prediction folder", cli::setup_infer);
  add("eval", "Evaluate: train+infer a detector, a run folder, or any prediction folder", cli::setup_eval);
  add("synth", "Write a small deterministic synthetic dataset (image, point cloud or video: --kind)",
      cli::setup_synth);
  add("list", "List datasets, detectors, or a dataset's categories", cli::setup_list);
  add("leaderboard", "Compare result JSONs: one table, mean over categories per detector",
      cli::setup_leaderboard);
  add("compare", "Regression gate: per category and metric, NEW - BASE; exit 1 on a drop beyond --tolerance",
      cli::setup_compare);
  add("batch", "Run a matrix of evaluations (datasets x detectors x settings x seeds), locally or on Slurm",
      cli::setup_batch);
  add("report", "One self-contained HTML page: leaderboard, curves, histograms, cases, provenance",
      cli::setup_report);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ValidationError& e) {
    // "<option>: expected ..., got ...": the line already says what is accepted.
    std::cerr << "adbench: error: " << excerpt(one_line(e.what()), 300) << "\n";
    return kExitBadInput;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // CLI11's messages quote the user's arguments: capped and escaped like any echoed user text.
    std::cerr << "adbench: error: " << excerpt(one_line(e.what()), 300)
              << " (run 'adbench --help' or 'adbench <command> --help')\n";
    return kExitBadInput;
  }
  if (show_version) {
    std::cout << version_string() << "\n";
    return kExitOk;
  }
  set_max_image_pixels(max_pixels);
  init_logging(g.quiet ? Verbosity::Quiet : g.verbose ? Verbosity::Verbose : Verbosity::Normal);
  for (auto& [sub, action] : actions) {
    if (!sub->parsed()) continue;
    try {
      return action();
    } catch (const InputError& e) {
      std::cerr << "adbench: error: " << one_line(e.what()) << "\n";
      return kExitBadInput;
    } catch (const std::filesystem::filesystem_error& e) {
      // A filesystem call without an error_code failed (disk full, read-only, permissions): the
      // environment, not a bug. "<path>: <OS reason>", as for the calls that check their error_code.
      const std::string path = !e.path1().empty() ? e.path1().string() : e.path2().string();
      std::cerr << "adbench: error: " << (path.empty() ? "" : path + ": ") << one_line(e.code().message())
                << "\n";
      return kExitBadInput;
    } catch (const InternalError& e) {
      std::cerr << "adbench: internal error at " << e.location() << ": " << one_line(e.what()) << "\n";
      return kExitInternal;
    } catch (const std::exception& e) {
      // Everything else is a bug, nlohmann::json's exceptions included: user files are parsed in
      // lib/formats, which turns their errors into InputErrors naming the file.
      std::cerr << "adbench: internal error: " << one_line(e.what()) << "\n";
      return kExitInternal;
    }
  }
  std::cout << app.help();
  return kExitOk;
}
