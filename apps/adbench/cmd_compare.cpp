// `adbench compare BASE NEW`: a regression gate. Per category and metric the delta NEW - BASE;
// exit 1 when any metric drops by more than the tolerance, 0 otherwise; a Markdown summary on
// stdout for CI logs. Refuses (exit 2) results that are not comparable: another dataset, setting,
// category set or metric convention.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "adbench/core/error.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

namespace {

/// The result options that change what a metric's number means.
constexpr const char* kConventions[] = {"ap_convention", "aupro_bins", "aupro_convention", "resize_maps",
                                        "sample_agg",    "frame_norm", "skip_frames",      "score_direction"};

std::string str_of(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

std::string describe(const nlohmann::json& r) {
  const auto& pb = r.value("produced_by", nlohmann::json::object());
  std::string s = pb.is_object() && pb.contains("spec") ? str_of(pb["spec"])
                  : pb.is_object() && pb.contains("detector")
                      ? str_of(pb["detector"])
                      : str_of(r.value("source", nlohmann::json("?")));
  if (r.contains("adbench") && r["adbench"].is_object() && r["adbench"].contains("git_commit"))
    s += ", adbench " + str_of(r["adbench"]["git_commit"]);
  return s;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", 100.0 * v);
  return b;
}

std::string signed_pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.2f", 100.0 * v);
  return b;
}

}  // namespace

Action setup_compare(CLI::App& app, const Globals&) {
  struct Opts {
    std::string base, fresh;
    double tolerance = 0.005;
    std::vector<std::string> metrics;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("BASE", o->base, "Result JSON of the reference run (eval --out)")->required();
  app.add_option("NEW", o->fresh, "Result JSON of the run to check")->required();
  app.add_option("--tolerance", o->tolerance,
                 "Largest allowed drop of a metric, as a fraction (0.005 = 0.5 points)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--metrics", o->metrics,
                 "Metrics to gate, as <level>_<metric> (e.g. image_auroc,pixel_aupro_0.3); default: every "
                 "metric both results have")
      ->delimiter(',');
  app.footer(
      "Prints a Markdown table of every category and metric (values and deltas in %), then one verdict\n"
      "line. Exit codes: 0 no metric dropped by more than the tolerance; 1 at least one did (each is\n"
      "marked REGRESSION); 2 the results are not comparable (another dataset, setting, category set or\n"
      "metric convention such as ap_convention: one line names the difference) or a file is unreadable.\n"
      "Higher is better for every metric adbench reports. The mean over categories is compared too.\n"
      "Example (a CI gate on the demo's PatchCore result):\n"
      "  adbench compare results/demo/patchcore.json new/patchcore.json --tolerance 0.005");
  return [o]() {
    const nlohmann::json base = read_result_json(o->base), fresh = read_result_json(o->fresh);
    const auto differ = [&](const std::string& what, const nlohmann::json& a, const nlohmann::json& b) {
      if (a != b)
        throw InputError("adbench compare: not comparable: " + what + " differs (" + o->base + ": " +
                         str_of(a) + ", " + o->fresh + ": " + str_of(b) + ")");
    };
    differ("dataset", base.value("dataset", nlohmann::json()), fresh.value("dataset", nlohmann::json()));
    differ("setting", base.value("setting", nlohmann::json()), fresh.value("setting", nlohmann::json()));
    const auto& bo = base.value("options", nlohmann::json::object());
    const auto& no = fresh.value("options", nlohmann::json::object());
    for (const char* k : kConventions) {
      // Results written before a convention existed used its default.
      const nlohmann::json absent =
          std::string(k) == "aupro_convention" ? nlohmann::json("exact") : nlohmann::json();
      differ(std::string("metric convention ") + k, bo.is_object() ? bo.value(k, absent) : absent,
             no.is_object() ? no.value(k, absent) : absent);
    }
    MetricTable bt = metric_table(base), nt = metric_table(fresh);
    std::set<std::string> bc, nc;
    for (const auto& [c, _] : bt) bc.insert(c);
    for (const auto& [c, _] : nt) nc.insert(c);
    if (bc != nc) {
      std::string only;
      for (const auto& c : bc)
        if (!nc.count(c)) only += (only.empty() ? "" : ", ") + c + " (only in BASE)";
      for (const auto& c : nc)
        if (!bc.count(c)) only += (only.empty() ? "" : ", ") + c + " (only in NEW)";
      throw InputError("adbench compare: not comparable: the category sets differ: " + only);
    }
    if (bc.empty()) throw InputError("adbench compare: " + o->base + ": no categories");
    // The metrics to gate: the requested ones (each must be in both), else the common ones.
    std::set<std::string> bm, nm;
    for (const auto& [c, row] : bt)
      for (const auto& [m, _] : row) bm.insert(m);
    for (const auto& [c, row] : nt)
      for (const auto& [m, _] : row) nm.insert(m);
    std::vector<std::string> metrics;
    std::vector<std::string> skipped;
    if (!o->metrics.empty()) {
      for (const auto& m : o->metrics) {
        if (!bm.count(m) || !nm.count(m))
          throw InputError("adbench compare: metric '" + m + "' is not in " +
                           (!bm.count(m) ? o->base : o->fresh) + " (it has: " +
                           [&] {
                             std::string s;
                             for (const auto& x : (!bm.count(m) ? bm : nm)) s += (s.empty() ? "" : ", ") + x;
                             return s;
                           }() +
                           ")");
        metrics.push_back(m);
      }
    } else {
      for (const auto& m : bm)
        if (nm.count(m))
          metrics.push_back(m);
        else
          skipped.push_back(m + " (only in BASE)");
      for (const auto& m : nm)
        if (!bm.count(m)) skipped.push_back(m + " (only in NEW)");
      if (metrics.empty()) throw InputError("adbench compare: the two results have no metric in common");
    }
    // Rows: every category, then the mean over categories of the metrics every category has.
    std::vector<std::string> cats(bc.begin(), bc.end());
    for (const auto& m : metrics) {
      double sb = 0, sn = 0;
      bool all = true;
      for (const auto& c : cats) {
        if (!bt[c].count(m) || !nt[c].count(m)) {
          all = false;
          break;
        }
        sb += bt[c][m], sn += nt[c][m];
      }
      if (all && cats.size() > 1) {
        bt["(mean)"][m] = sb / static_cast<double>(cats.size());
        nt["(mean)"][m] = sn / static_cast<double>(cats.size());
      }
    }
    if (cats.size() > 1) cats.push_back("(mean)");
    std::ostringstream md;
    md << "## adbench compare\n\n"
       << "- BASE: `" << o->base << "` (" << describe(base) << ")\n"
       << "- NEW: `" << o->fresh << "` (" << describe(fresh) << ")\n"
       << "- tolerance: a drop of more than " << 100.0 * o->tolerance << " points fails\n";
    if (!skipped.empty()) {
      md << "- not compared:";
      for (std::size_t i = 0; i < skipped.size(); ++i) md << (i ? ", " : " ") << skipped[i];
      md << "\n";
    }
    md << "\n| category | metric | BASE % | NEW % | delta | |\n|---|---|---:|---:|---:|---|\n";
    int regressions = 0, compared = 0;
    double worst = 0;
    std::string worst_at;
    for (const auto& c : cats)
      for (const auto& m : metrics) {
        auto b = bt[c].find(m), n = nt[c].find(m);
        if (b == bt[c].end() || n == nt[c].end()) {
          if (b != bt[c].end() || n != nt[c].end())
            md << "| " << c << " | " << m << " | " << (b != bt[c].end() ? pct(b->second) : "-") << " | "
               << (n != nt[c].end() ? pct(n->second) : "-") << " | | missing |\n";
          if (b != bt[c].end() && n == nt[c].end()) {
            ++regressions;  // a metric that vanished cannot pass the gate
            if (worst_at.empty()) worst_at = c + " " + m + " (missing in NEW)";
          }
          continue;
        }
        ++compared;
        const double d = n->second - b->second;
        // NaN (undefined metric) on one side only is a change the gate must not let through.
        const bool nan_change = std::isnan(b->second) != std::isnan(n->second);
        const bool bad = nan_change || (!std::isnan(d) && -d > o->tolerance);
        if (bad) {
          ++regressions;
          if (nan_change || -d > worst) {
            worst = nan_change ? worst : -d;
            worst_at = c + " " + m;
          }
        }
        md << "| " << c << " | " << m << " | " << pct(b->second) << " | " << pct(n->second) << " | "
           << (std::isnan(d) ? std::string("-") : signed_pct(d)) << " | " << (bad ? "REGRESSION" : "")
           << " |\n";
      }
    md << "\n";
    if (regressions > 0)
      md << "**FAIL: " << regressions << " regression" << (regressions == 1 ? "" : "s") << "** beyond "
         << 100.0 * o->tolerance << " points (worst: " << worst_at << ")\n";
    else
      md << "**PASS**: " << compared << " values, none dropped by more than " << 100.0 * o->tolerance
         << " points\n";
    std::cout << md.str();
    return regressions > 0 ? 1 : 0;
  };
}

}  // namespace adbench::cli
