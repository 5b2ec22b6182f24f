#pragma once
// Writing results safely. Every output adbench writes passes through this file, which enforces the
// data-safety guarantees of the README's "Exit codes and errors" section:
//   - an output is never the working directory or one of its ancestors, never inside or around an
//     input being read (dataset root, run folder, prediction folder, weights, config: see
//     protect_input), never a non-regular file (device, FIFO, symbolic link);
//   - nothing is overwritten without --force, and --force replaces only adbench's own outputs: a
//     result JSON adbench wrote, a folder carrying adbench's marker file (kMarkerFile);
//   - files go to "<name>.partial-<pid>" and are renamed into place; folders are built in a
//     "<name>.partial-<pid>" staging folder renamed on commit; both are removed if the work throws
//     or the process is interrupted (see interrupt.hpp), and stale ones of dead processes are swept
//     when the same output is written again;
//   - CSV rows are appended under an exclusive flock(2), whole, only to a file whose first line is
//     the expected header.
#include <filesystem>
#include <string>
#include <string_view>

namespace adbench {

/// What an output is; decides which existing entry --force may replace.
enum class OutputKind {
  ResultFile,        ///< a result JSON ("schema": "adbench.result/...")
  CsvFile,           ///< a leaderboard CSV (appended to, never replaced)
  RunFolder,         ///< adbench train's run folder
  PredictionFolder,  ///< PRED/<category> written by infer / eval --pred-out
  DatasetFolder,     ///< adbench synth's output
  CheckpointFolder,  ///< adbench train --checkpoint-dir (training checkpoints of video detectors)
  BatchFolder,       ///< adbench batch --out: resumable, added to cell by cell, never replaced
  ReportFile,        ///< adbench report's HTML (its first line after the doctype is kReportMarker)
};

/// The comment adbench report writes on the HTML's second line; --force replaces only such a file.
inline constexpr const char* kReportMarker = "<!-- adbench.report/1 -->";

/// Marker file written into every folder adbench creates (JSON: {"adbench_output": "<kind>", ...}).
inline constexpr const char* kMarkerFile = ".adbench-output";

/// Registers an input the current command reads (`what`: "the dataset root", "the run folder being
/// read", ...). Outputs may not be it, lie inside it or contain it. Process-wide; thread-safe.
void protect_input(const std::filesystem::path& path, const std::string& what);
/// Forgets every protected input (tests that run several commands in one process).
void clear_protected_inputs();

/// InputError "<path>: <why>" when `path` may not be written as an output of this kind (see the
/// rules above). For folders and result files, an existing entry is refused without `force` with
/// "already exists (use --force to overwrite)".
void check_output(const std::filesystem::path& path, OutputKind kind, bool force);

/// Writes a result file through a temporary and a rename, after check_output(path, ResultFile,
/// force). Creates parent folders.
void write_result_file(const std::filesystem::path& path, std::string_view content, bool force);
/// The same for adbench report's HTML: check_output(path, ReportFile, force), then staged and renamed.
void write_report_file(const std::filesystem::path& path, std::string_view content, bool force);

/// Writes `content` to `path` through a temporary file and a rename, with no output checks: for
/// files inside a staging folder (already checked) and for tests.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Appends `rows` (whole lines) to a leaderboard CSV under an exclusive flock(2), writing `header`
/// first when the file is new or empty. Refuses (InputError) a path check_output refuses, a
/// non-regular file, and a file whose first line is not `header`. Safe with any number of
/// concurrent writers: every row lands exactly once, none torn.
void append_csv_rows(const std::filesystem::path& path, const std::string& header, const std::string& rows);

/// The schema version a leaderboard CSV header line names: its first field when that is
/// "adbench.csv/<n>"; "adbench.csv/1" for the header of adbench 0.1 (no schema column); "" otherwise.
/// append_csv_rows refuses, naming both versions, to append rows of one version to a file of another.
std::string csv_schema_of(const std::string& header_line);

/// The checks of append_csv_rows, without writing: run before long work so that a refused CSV
/// costs nothing.
void check_csv_output(const std::filesystem::path& path, const std::string& header);

/// Opens the checkpoint folder of a training run (train --checkpoint-dir). With `resume` the
/// folder must exist and carry the checkpoint marker. Otherwise it is created with the marker after
/// check_output(dir, CheckpointFolder, force): an existing folder is refused without force, and force
/// empties only an adbench checkpoint folder. Not staged: an interrupted training leaves the folder
/// and its finished checkpoints (which are themselves written to a temporary and renamed).
void open_checkpoint_folder(const std::filesystem::path& dir, bool resume, bool force);

/// Reads a whole file; InputError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// A folder built in place of `target`: work happens in path(), commit() renames it to target
/// (replacing an existing one only with force, and only when it carries the marker of the same
/// kind). If never committed, the destructor removes it, so a failed run leaves nothing behind;
/// an interrupt removes it too.
class StagingDir {
 public:
  StagingDir(std::filesystem::path target, OutputKind kind, bool force);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  OutputKind kind_;
  bool force_;
  bool committed_ = false;
};

}  // namespace adbench
