#pragma once
// Shared pieces of the adbench subcommands. Each subcommand lives in cmd_<name>.cpp and registers
// itself on the CLI11 app through setup_<name>(); main() dispatches and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adbench/bench/pipeline.hpp"

namespace adbench::cli {

/// Global options (valid before or after the subcommand).
struct Globals {
  bool verbose = false;
  bool quiet = false;
  std::string device = "auto";
  int threads = 0;
  std::uint64_t seed = 0;
  std::string label_mismatch = "error";  ///< video adapters: error | truncate | skip
  std::string split;                     ///< --split: the dataset's split files ("" = its default)
  std::string command_line;
};

/// Integer option checks with adbench's own messages (CLI11's built-in ones print the type's
/// limits: 309 digits for a double). A failed check reads "<option>: expected <what>, got <value>",
/// e.g. "--batch-size: expected an integer >= 1, got 0"; the value is echoed through excerpt().
/// `what` describes [lo, hi]; when it leaves out hi, a value above hi gets "(at most <hi>)".
CLI::Validator integer_in(std::int64_t lo, std::int64_t hi, const std::string& what);
/// An unsigned 64-bit integer (--seed): "-1" is refused, not wrapped to 2^64 - 1.
CLI::Validator unsigned_64(const std::string& what);
/// A number in (0, 1] (each --aupro-limits value).
CLI::Validator fraction_open_closed();
/// One of `choices` (CLI11's IsMember echoed the value uncapped): "expected one of a, b, got 'x'".
CLI::Validator one_of(const std::vector<std::string>& choices);
/// --threads: 0 (all cores) up to 4 x std::thread::hardware_concurrency().
CLI::Validator threads_limit();

/// Resolves the device, sets threads and seeds; called by every subcommand before work.
CommonOptions make_common(const Globals& g, int batch_size);

/// Detector settings from --config FILE and --set key=value (values parsed as JSON, else strings).
/// A "detector" key in the file names the detector when --detector is absent.
nlohmann::json load_overrides(const std::string& config_file, const std::vector<std::string>& sets,
                              std::string* detector);

/// The detector-setting shortcuts of train and eval: --backbone NAME, --backbone-weights FILE and
/// --shots K (empty / 0: not given) become the settings backbone, backbone_weights and shots.
struct DetectorSugar {
  std::string backbone, backbone_weights;
  int shots = 0;
  /// Registers the three options on a subcommand.
  void add_to(CLI::App& app);
  bool any() const { return !backbone.empty() || !backbone_weights.empty() || shots > 0; }
  /// Writes them into the overrides (after --config and --set, which they override).
  void apply(nlohmann::json& overrides) const;
};

/// A result JSON (eval --out), checked to be one: InputError "<path>: not an adbench result JSON
/// (...)" otherwise.
nlohmann::json read_result_json(const std::string& path);

/// category -> "<level>_<metric>" (image_auroc, pixel_aupro_0.3, ...) -> value.
using MetricTable = std::map<std::string, std::map<std::string, double>>;
/// The numeric metrics of a result JSON's categories (a category without levels gets an empty row;
/// entries that are not shaped as adbench writes them are skipped).
MetricTable metric_table(const nlohmann::json& result);

/// The leaderboard's pivot table (category rows x detector columns, mean ± std over seeds) of result
/// JSONs and CSVs, for `metrics` ("image_auroc", ...); "" when they hold no values.
std::string leaderboard_pivot(const std::vector<std::string>& files, const std::vector<std::string>& metrics);

using Action = std::function<int()>;

Action setup_train(CLI::App& app, const Globals& g);
Action setup_infer(CLI::App& app, const Globals& g);
Action setup_eval(CLI::App& app, const Globals& g);
Action setup_synth(CLI::App& app, const Globals& g);
Action setup_list(CLI::App& app, const Globals& g);
Action setup_leaderboard(CLI::App& app, const Globals& g);
Action setup_compare(CLI::App& app, const Globals& g);
Action setup_batch(CLI::App& app, const Globals& g);
Action setup_report(CLI::App& app, const Globals& g);

}  // namespace adbench::cli
