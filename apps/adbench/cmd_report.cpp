#include <algorithm>
#include <filesystem>
#include <iostream>

#include "adbench/bench/report.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/log.hpp"
#include "cli_common.hpp"

namespace fs = std::filesystem;

namespace adbench::cli {

Action setup_report(CLI::App& app, const Globals& g) {
  struct Opts {
    std::vector<std::string> results, preds;
    std::string out, title = "adbench report";
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("results", o->results,
                 "Result JSON files (eval --out), or folders: every *.json in them that is a result")
      ->required();
  app.add_option("--out", o->out, "The HTML file to write (refused if it exists, unless --force)")
      ->required();
  app.add_option(
      "--pred", o->preds,
      "A prediction folder written by eval --pred-out DIR --heatmaps (repeatable): its best and worst "
      "cases become heatmap thumbnails");
  app.add_option("--title", o->title, "The page's title")->capture_default_str();
  app.add_flag("--force", o->force, "Replace an existing --out that adbench report wrote");
  app.footer(
      "Writes one self-contained HTML page (no network: inline CSS, SVG and a little JS) with\n"
      "  - a leaderboard table, one row per category and one column group per result (click to sort);\n"
      "  - per category, the ROC / PR / PRO curves and score histograms that eval --curves stored\n"
      "    (results without them are named: 'no curves stored; rerun eval with --curves');\n"
      "  - with --pred, the missed defects, false alarms and best cases as heatmap thumbnails;\n"
      "  - the provenance of every number: adbench version and commit, device, detector spec,\n"
      "    weights SHA-256, metric options and command line, as each result JSON records them.\n"
      "Examples:\n"
      "  adbench eval --detector padim --root data/synth --category all --curves --out results/padim.json\n"
      "  adbench eval --detector variation_model --root data/synth --category all --curves \\\n"
      "               --pred-out preds_vm --heatmaps --out results/vm.json\n"
      "  adbench report results/padim.json results/vm.json --pred preds_vm --out report.html\n"
      "  adbench report results/ --out report.html --title 'nightly benchmark'");
  return [o, &g]() {
    std::vector<ReportResult> results;
    for (const auto& arg : o->results) {
      std::error_code ec;
      protect_input(arg, "a result being reported on");
      if (fs::is_directory(arg, ec)) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(arg, ec))
          if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        size_t found = 0;
        for (const auto& f : files) {
          try {
            ReportResult r{f.string(), read_result_json(f.string()), {}};
            r.metrics = metric_table(r.json);
            results.push_back(std::move(r));
            ++found;
          } catch (const InputError& e) {
            spdlog::warn("skipped {}", e.what());
          }
        }
        if (!found) throw InputError(arg + ": no adbench result JSON in this folder");
      } else {
        ReportResult r{arg, read_result_json(arg), {}};
        r.metrics = metric_table(r.json);
        results.push_back(std::move(r));
      }
    }
    std::vector<ReportCases> cases;
    for (const auto& p : o->preds) {
      protect_input(p, "a prediction folder being reported on");
      auto c = read_report_cases(p);
      cases.insert(cases.end(), c.begin(), c.end());
    }
    write_report_file(o->out, render_report(results, cases, o->title, g.command_line), o->force);
    spdlog::info("wrote {} ({} results)", o->out, results.size());
    return 0;
  };
}

}  // namespace adbench::cli
