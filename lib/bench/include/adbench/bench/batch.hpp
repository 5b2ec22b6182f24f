#pragma once
// Batch matrices: many evaluations as one resumable job, run locally (--jobs N) or as one Slurm job
// array. A matrix file names datasets, detectors with settings to sweep, seeds and the class setting;
// their cross product is a list of *cells*, each one `adbench eval` in its own process whose result
// JSON goes to OUT/<dataset>/<category>/<spec-hash>/seed<S>/result.json. The batch folder keeps a
// manifest (OUT/batch.json) and, per cell, cell.json (status, error line, timings, config hash),
// eval.log (the cell's stdout and stderr) and rows.csv (its leaderboard rows); with the matrix's
// "outputs", also the cell's prediction folder (pred/) and trained models (run/<category>). Cells never share
// a file, so local jobs and Slurm array tasks need no locking, and a preempted task simply reruns.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace adbench {

/// One evaluation of a batch.
struct BatchCell {
  int index = 0;               ///< position in the matrix's cross product (Slurm array index)
  std::string dataset;         ///< the matrix's name for the dataset (folder name)
  std::string adapter;         ///< dataset adapter (mvtec_ad, ...)
  std::filesystem::path root;  ///< absolute dataset root
  std::string split;           ///< --split ("" = the adapter's default)
  std::string category;        ///< a category, or "all" for a multi-class cell
  std::string detector;        ///< registry name
  nlohmann::json settings;     ///< this cell's settings (one value of every swept list)
  std::string setting;         ///< single-class | multi-class
  std::uint64_t seed = 0;
  std::string spec_hash;    ///< 12 hex digits of SHA-256 over detector, settings and setting
  std::string config_hash;  ///< SHA-256 over everything that decides the cell's result
  nlohmann::json metrics;   ///< eval's metric options (the matrix's "metrics")
  bool predictions = false, heatmaps = false;  ///< also write OUT/.../pred (and PNG overlays)
  bool runs = false;                           ///< also keep the trained models, OUT/.../run/<category>

  /// "<dataset>/<category>/<spec_hash>/seed<S>", the cell's folder relative to OUT.
  std::string id() const;
  nlohmann::json to_json() const;
  /// Reads what to_json() wrote (the manifest); InputError naming `where` when a field is missing.
  static BatchCell from_json(const nlohmann::json& j, const std::string& where);
};

/// Slurm options of the array script (the matrix's "slurm" object, then command-line flags).
struct SlurmOptions {
  std::string partition, gres, time, mem, job_name;
  int cpus_per_task = 0;           ///< 0: not given
  std::vector<std::string> extra;  ///< more #SBATCH lines ("--qos=normal" or "#SBATCH --qos=normal")
  int max_parallel = 0;            ///< --array=...%N; 0: no limit
  /// Overrides the fields `other` sets.
  void update_from(const SlurmOptions& other);
};

/// A parsed matrix file.
struct BatchMatrix {
  std::filesystem::path file;                ///< absolute path of the matrix file
  std::string name;                          ///< "name" (default: the file's stem)
  std::optional<std::filesystem::path> out;  ///< "out" (relative to the matrix file's folder)
  std::vector<BatchCell> cells;
  SlurmOptions slurm;
};

/// Reads and expands a matrix file (format: README "Batch matrices"). Relative dataset roots, "out"
/// and weight files (every `*_weights` setting) are taken relative to the matrix file's folder; the
/// weight files enter the config hashes by content (SHA-256), not by path. Every detector setting
/// is checked against the detector's table and every category against its dataset before anything
/// runs; errors are InputErrors "<file>: <json pointer>: <problem>". `device` (the global --device)
/// enters the config hashes.
BatchMatrix load_batch_matrix(const std::filesystem::path& file, const std::string& device);

/// What a cell's folder says about it.
enum class CellState { Pending, Running, Ok, Failed };
const char* cell_state_name(CellState s);

struct CellStatus {
  CellState state = CellState::Pending;
  std::string error;  ///< the failed eval's error line
  int exit_code = 0;
  double seconds = 0;
  std::string started_utc, finished_utc, host;
};

/// Reads OUT/<cell>/cell.json. A cell counts as Ok only when its config hash matches and its
/// result.json exists; a Failed cell only when its config hash matches; anything else is Pending
/// (never run, interrupted, or run with another configuration).
CellStatus read_cell_status(const std::filesystem::path& out, const BatchCell& cell);

/// How a batch runs its cells.
struct BatchRunOptions {
  std::filesystem::path out;
  std::filesystem::path exe;  ///< the adbench binary the cells run
  std::string device = "auto";
  int threads_per_cell = 0;  ///< --threads of each cell (0: all cores)
  bool verbose = false;
  std::string label_mismatch = "error";
  std::uint64_t max_image_pixels = 0;  ///< 0: eval's default
};

/// Creates OUT (with adbench's batch marker) or checks that an existing OUT is a batch folder;
/// InputError naming OUT otherwise. Refuses an OUT inside a dataset root of the cells.
void open_batch_folder(const std::filesystem::path& out, const std::vector<BatchCell>& cells);

/// Runs one cell as a child process (`adbench eval ... --out <cell>/result.json`), waits, and writes
/// its cell.json. Never throws for a failure of the evaluation itself: that is the status.
CellStatus run_batch_cell(const BatchCell& cell, const BatchRunOptions& options);

/// The manifest OUT/batch.json: matrix identity, counts and every cell with its status.
nlohmann::json batch_manifest(const BatchMatrix& matrix, const std::filesystem::path& out,
                              const std::vector<CellStatus>& statuses, const nlohmann::json& slurm);
/// Reads OUT/batch.json back into cells (for --run-cell and --collect); InputError naming the file.
BatchMatrix read_batch_manifest(const std::filesystem::path& out, nlohmann::json* slurm = nullptr);

/// Merges the rows.csv of every Ok cell, in cell order, into OUT/leaderboard.csv (replaced).
/// Returns the number of rows.
std::size_t merge_batch_csv(const std::filesystem::path& out, const std::vector<BatchCell>& cells,
                            const std::vector<CellStatus>& statuses);

/// The Slurm array script for the cells at `indices`: one array task per cell, each
/// `adbench batch --out OUT --run-cell $SLURM_ARRAY_TASK_ID`.
std::string slurm_script(const BatchMatrix& matrix, const std::vector<int>& indices,
                         const BatchRunOptions& options, const SlurmOptions& slurm);

/// "0-3,5,7-9" for sorted indices.
std::string array_ranges(const std::vector<int>& indices);

}  // namespace adbench
