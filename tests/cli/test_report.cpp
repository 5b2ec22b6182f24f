// eval --curves and adbench report: the stored curves (exact end points, at most 2,000 points,
// monotone, the same metrics as without --curves), the HTML page (self-contained, escaped, one row
// per category, one <path> per stored curve, thumbnails, provenance, the output guard), and the page
// as headless Chromium renders it (hidden tag [.chromium]: ctest runs it as test_report_chromium,
// disabled when configure found no chromium).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "adbench/metrics/metrics.hpp"
#include "cli_fixtures.hpp"

namespace fs = std::filesystem;
using namespace adbench::test;
using nlohmann::json;

namespace {

double trapezoid(const std::vector<double>& x, const std::vector<double>& y) {
  double a = 0;
  for (size_t i = 1; i < x.size(); ++i) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
  return a;
}

std::vector<double> vec(const json& a) { return a.get<std::vector<double>>(); }

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

/// Two results on the synthetic dataset, made once per process: variation_model without --curves
/// (vm.json) and with --curves plus a prediction folder with heatmaps (vm_curves.json, pred/), and
/// padim with --curves (padim.json).
struct Results {
  TempDir dir{"report"};
  fs::path vm = dir / "vm.json", vm_curves = dir / "vm_curves.json", padim = dir / "padim.json",
           pred = dir / "pred";
  Results() {
    const std::string root = " --root " + q(synth_root()) + " --category all";
    auto a = run_adbench("--quiet eval --detector variation_model" + root + " --out " + q(vm));
    if (a.exit_code != 0) throw std::runtime_error(a.err);
    auto b = run_adbench("--quiet eval --detector variation_model" + root + " --curves --out " +
                         q(vm_curves) + " --pred-out " + q(pred) + " --heatmaps");
    if (b.exit_code != 0) throw std::runtime_error(b.err);
    auto c = run_adbench("--quiet eval --detector padim --backbone mobilenet_v2" + root + " --curves --out " +
                         q(padim));
    if (c.exit_code != 0) throw std::runtime_error(c.err);
  }
};
const Results& results() {
  static Results r;
  return r;
}

}  // namespace

TEST_CASE("curves of binary_metrics: the exact ROC and PR points, and their trapezoid is the AUROC",
          "[report][curves]") {
  adbench::metrics::Options opt;
  opt.keep_curves = true;
  auto b = adbench::metrics::binary_metrics(at::tensor({0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}, at::kDouble),
                                            at::tensor({1, 0, 1, 1, 0, 1, 0, 0}), opt);
  REQUIRE(*b.auroc == 0.75);  // 12 of 16 (anomalous, normal) pairs ordered right
  REQUIRE(b.roc->x == std::vector<double>{0, 0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.75, 1});
  REQUIRE(b.roc->y == std::vector<double>{0, 0.25, 0.25, 0.5, 0.75, 0.75, 1, 1, 1});
  REQUIRE(trapezoid(b.roc->x, b.roc->y) == 0.75);
  // PR keeps the first point at each new recall (step 1/1000) and the exact last point: the exact
  // curve is (R, P) = (.25, 1) (.25, .5) (.5, 2/3) (.75, .75) (.75, .6) (1, 4/6) (1, 4/7) (1, .5).
  REQUIRE(b.pr->x == std::vector<double>{0.25, 0.5, 0.75, 1, 1});
  REQUIRE(b.pr->y == std::vector<double>{1, 2.0 / 3, 0.75, 4.0 / 6, 0.5});
  // Without keep_curves: no curves, the same metrics.
  auto plain =
      adbench::metrics::binary_metrics(at::tensor({0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}, at::kDouble),
                                       at::tensor({1, 0, 1, 1, 0, 1, 0, 0}));
  REQUIRE(!plain.roc);
  REQUIRE(!plain.pr);
  REQUIRE(*plain.auroc == *b.auroc);
  REQUIRE(*plain.ap == *b.ap);

  // 200,000 distinct scores: down-sampled to at most 2,000 points, end points kept exactly.
  at::manual_seed(3);
  at::Tensor labels = at::rand({200000}, at::kDouble) < 0.3;
  at::Tensor scores = at::rand({200000}, at::kDouble) + labels.to(at::kDouble) * 0.4;
  auto big = adbench::metrics::binary_metrics(scores, labels, opt);
  for (const auto* c : {&*big.roc, &*big.pr}) {
    REQUIRE(c->x.size() == c->y.size());
    REQUIRE(c->x.size() <= 2000);
    REQUIRE(c->x.size() >= 500);
    REQUIRE(std::is_sorted(c->x.begin(), c->x.end()));
  }
  REQUIRE(std::is_sorted(big.roc->y.begin(), big.roc->y.end()));
  REQUIRE(big.roc->x.front() == 0);
  REQUIRE(big.roc->y.front() == 0);
  REQUIRE(big.roc->x.back() == 1);
  REQUIRE(big.roc->y.back() == 1);
  REQUIRE(big.pr->x.back() == 1);
  const double positives = labels.sum().item<double>();
  REQUIRE(big.pr->y.back() == positives / 200000.0);  // every image called anomalous: the prevalence
  REQUIRE(trapezoid(big.roc->x, big.roc->y) == Approx(*big.auroc).margin(1e-3));
}

TEST_CASE("eval --curves: curves with exact end points, at most 2,000 points, monotone; metrics unchanged",
          "[report][curves]") {
  const auto& r = results();
  json plain = read_json(r.vm), with = read_json(r.vm_curves);
  REQUIRE(!plain["options"].contains("curves"));
  REQUIRE(with["options"]["curves"] == true);
  REQUIRE(plain["mean"].dump() == with["mean"].dump());
  REQUIRE(plain["categories"].size() == 4);
  REQUIRE(with["categories"].size() == 4);
  for (size_t ci = 0; ci < 4; ++ci) {
    const json &pc = plain["categories"][ci], &wc = with["categories"][ci];
    REQUIRE(pc["category"] == wc["category"]);
    INFO(pc["category"].get<std::string>());
    REQUIRE(pc["levels"].size() == 2);
    for (size_t li = 0; li < pc["levels"].size(); ++li) {
      const json &pl = pc["levels"][li], &wl = wc["levels"][li];
      const std::string level = pl["level"];
      INFO(level);
      // Byte-identical metrics, threshold and counts; nothing added without --curves.
      REQUIRE(pl["metrics"].dump() == wl["metrics"].dump());
      REQUIRE(pl["f1_threshold"].dump() == wl["f1_threshold"].dump());
      REQUIRE(pl["counts"].dump() == wl["counts"].dump());
      REQUIRE(!pl.contains("curves"));
      REQUIRE(!pl.contains("histogram"));
      const json& cv = wl["curves"];
      REQUIRE(cv.contains("roc"));
      REQUIRE(cv.contains("pr"));
      REQUIRE(cv.contains("pro") == (level == "pixel"));
      for (const auto& [kind, c] : cv.items()) {
        INFO(kind);
        auto x = vec(c["x"]), y = vec(c["y"]);
        REQUIRE(x.size() == y.size());
        REQUIRE(x.size() >= 2);
        REQUIRE(x.size() <= 2000);
        REQUIRE(std::is_sorted(x.begin(), x.end()));
        if (kind != "pr") {  // ROC and PRO: from (0, 0) to (1, 1), y non-decreasing
          REQUIRE(std::is_sorted(y.begin(), y.end()));
          REQUIRE((x.front() == 0 && y.front() == 0 && x.back() == 1 && y.back() == 1));
        } else {  // PR ends where every unit is called anomalous: recall 1 at the prevalence
          REQUIRE(x.back() == 1);
          const double units = wl["counts"]["units"], anomalous = wl["counts"]["anomalous"];
          REQUIRE(y.back() == anomalous / units);
        }
      }
      auto rx = vec(cv["roc"]["x"]), ry = vec(cv["roc"]["y"]);
      if (level == "image") {
        // A few dozen images: every ROC point is kept, and its trapezoid is the AUROC.
        REQUIRE(rx.size() <= wl["counts"]["units"].get<size_t>() + 1);
        REQUIRE(trapezoid(rx, ry) == Approx(wl["metrics"]["auroc"].get<double>()).margin(1e-12));
        const json& h = wl["histogram"];
        REQUIRE(h["bins"] == 30);
        auto n = h["normal"].get<std::vector<std::int64_t>>(),
             a = h["anomalous"].get<std::vector<std::int64_t>>();
        REQUIRE(n.size() == 30);
        REQUIRE(a.size() == 30);
        std::int64_t sn = 0, sa = 0;
        for (auto v : n) sn += v;
        for (auto v : a) sa += v;
        REQUIRE(sn == wl["counts"]["normal"].get<std::int64_t>());
        REQUIRE(sa == wl["counts"]["anomalous"].get<std::int64_t>());
        REQUIRE(h["lo"].get<double>() < h["hi"].get<double>());
      } else {
        REQUIRE(!wl.contains("histogram"));
        // Thousands of pixels: down-sampled, still close to the exact AUROC.
        REQUIRE(trapezoid(rx, ry) == Approx(wl["metrics"]["auroc"].get<double>()).margin(2e-3));
      }
    }
  }
}

TEST_CASE("adbench report: one self-contained page with the table, curves, cases and provenance",
          "[report]") {
  const auto& r = results();
  TempDir tmp("report_out");
  auto out = tmp / "report.html";
  auto rep = run_adbench("--quiet report " + q(r.vm) + " " + q(r.padim) + " " + q(r.vm_curves) + " --pred " +
                         q(r.pred) + " --title '<b>Synth & co</b>' --out " + q(out));
  INFO(rep.err);
  REQUIRE(rep.exit_code == 0);
  const std::string html = read_text(out);
  REQUIRE(html.rfind("<!DOCTYPE html>\n<!-- adbench.report/1 -->\n", 0) == 0);
  // Self-contained: nothing to fetch (the SVG namespace is a name, not a request).
  // ("http:" not "http": base64 thumbnails may hold the letters, never a colon).
  REQUIRE(count(html, "http:") + count(html, "https:") ==
          count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  REQUIRE(html.find("<link") == std::string::npos);
  REQUIRE(html.find("@import") == std::string::npos);
  // The title is escaped.
  REQUIRE(html.find("<b>Synth") == std::string::npos);
  REQUIRE(html.find("<title>&lt;b&gt;Synth &amp; co&lt;/b&gt;</title>") != std::string::npos);
  // Leaderboard: one body row per category; column groups labelled by detector (the two
  // variation_model results by their file too).
  const auto body = html.substr(html.find("<tbody>"), html.find("</tbody>") - html.find("<tbody>"));
  REQUIRE(count(body, "<tr>") == 4);
  for (const char* cat : {"bracket", "cap", "marble", "weave"})
    REQUIRE(body.find(std::string("<td class=\"cat\" data-v=\"") + cat + "\">") != std::string::npos);
  REQUIRE(html.find("variation_model (vm)</th>") != std::string::npos);
  REQUIRE(html.find("variation_model (vm_curves)</th>") != std::string::npos);
  REQUIRE(html.find("padim</th>") != std::string::npos);
  // The table's value of padim's cap image AUROC is the JSON's, in %.
  const json padim = read_json(r.padim);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * metric(padim, "cap", "image_auroc"));
  REQUIRE(html.find(std::string(">") + buf + "</td>") != std::string::npos);
  // Curves: per category image ROC, PR and pixel ROC, PR, PRO, each with the two results that
  // stored curves; one <path class="curve"> per curve.
  REQUIRE(count(html, "<svg class=\"plot\"") == 4 * 5);
  REQUIRE(count(html, "data-curves=\"2\"") == 4 * 5);
  REQUIRE(count(html, "<path class=\"curve\"") == 4 * 5 * 2);
  REQUIRE(count(html, "<svg class=\"hist\" data-bins=\"30\"") == 4 * 2);
  REQUIRE(count(html, "variation_model (vm): no curves stored; rerun eval with --curves") == 4);
  // Cases from the prediction folder: 4 lists of up to 4 thumbnails per category.
  REQUIRE(count(html, "<div class=\"case-set\">") == 4);
  REQUIRE(count(html, "src=\"data:image/png;base64,iVBORw0KGgo") >= 4 * 4);
  REQUIRE(html.find("worst: lowest-scored anomalous (missed defects)") != std::string::npos);
  // Provenance: what the JSON records.
  REQUIRE(html.find(padim["produced_by"]["weights_sha256"].get<std::string>()) != std::string::npos);
  REQUIRE(html.find(padim["adbench"]["git_commit"].get<std::string>()) != std::string::npos);
  REQUIRE(html.find(padim["produced_by"]["spec"].get<std::string>()) != std::string::npos);

  // A folder argument reads every result JSON in it.
  TempDir dir("report_dir");
  fs::copy_file(r.vm_curves, dir / "a.json");
  fs::copy_file(r.padim, dir / "b.json");
  { std::ofstream(dir / "notes.json") << "{\"not\": \"a result\"}"; }
  auto out2 = tmp / "from_folder.html";
  auto f = run_adbench("--quiet report " + q(dir.path()) + " --out " + q(out2));
  INFO(f.err);
  REQUIRE(f.exit_code == 0);
  const std::string h2 = read_text(out2);
  REQUIRE(count(h2, "<path class=\"curve\"") == 4 * 5 * 2);
  REQUIRE(h2.find("no curves stored") == std::string::npos);
}

TEST_CASE("adbench report: refused outputs and inputs, one line each, exit 2", "[report]") {
  const auto& r = results();
  TempDir tmp("report_bad");
  auto out = tmp / "r.html";
  REQUIRE(run_adbench("--quiet report " + q(r.vm) + " --out " + q(out)).exit_code == 0);
  auto again = run_adbench("--quiet report " + q(r.vm) + " --out " + q(out));
  REQUIRE(again.exit_code == 2);
  REQUIRE(again.err.find("already exists (use --force to overwrite)") != std::string::npos);
  REQUIRE(run_adbench("--quiet report " + q(r.vm) + " --out " + q(out) + " --force").exit_code == 0);
  // --force replaces only a page adbench report wrote.
  { std::ofstream(tmp / "mine.html") << "<!DOCTYPE html><p>my notes</p>\n"; }
  auto foreign = run_adbench("--quiet report " + q(r.vm) + " --out " + q(tmp / "mine.html") + " --force");
  REQUIRE(foreign.exit_code == 2);
  REQUIRE(foreign.err.find("is not an adbench report") != std::string::npos);
  REQUIRE(read_text(tmp / "mine.html") == "<!DOCTYPE html><p>my notes</p>\n");
  // Never inside an input folder, never over an input file.
  auto inside = run_adbench("--quiet report " + q(r.pred) + "/.. --out " + q(r.pred / "r.html"));
  REQUIRE(inside.exit_code == 2);
  auto over = run_adbench("--quiet report " + q(r.vm) + " --out " + q(r.vm) + " --force");
  REQUIRE(over.exit_code == 2);
  REQUIRE(read_json(r.vm)["schema"] == "adbench.result/2");
  // Not a result JSON / not a prediction folder with heatmaps.
  { std::ofstream(tmp / "bad.json") << "{\"schema\": \"something else\"}"; }
  auto bad = run_adbench("--quiet report " + q(tmp / "bad.json") + " --out " + q(tmp / "x.html"));
  REQUIRE(bad.exit_code == 2);
  REQUIRE(bad.err.find("bad.json: not an adbench result JSON") != std::string::npos);
  auto nopred =
      run_adbench("--quiet report " + q(r.vm) + " --pred " + q(tmp.path()) + " --out " + q(tmp / "y.html"));
  REQUIRE(nopred.exit_code == 2);
  REQUIRE(nopred.err.find("--heatmaps") != std::string::npos);
  REQUIRE(!fs::exists(tmp / "x.html"));
  REQUIRE(!fs::exists(tmp / "y.html"));
}

// Hidden: run by ctest as test_report_chromium (ADBENCH_CHROMIUM set by configure).
TEST_CASE("adbench report in headless Chromium: no script error, one row per category, every curve drawn",
          "[.chromium]") {
  const char* env = std::getenv("ADBENCH_CHROMIUM");
  const std::string chromium = env && *env ? env : "chromium";
  const auto& r = results();
  TempDir tmp("report_chromium");
  auto out = tmp / "report.html";
  auto rep = run_adbench("--quiet report " + q(r.vm) + " " + q(r.padim) + " " + q(r.vm_curves) + " --pred " +
                         q(r.pred) + " --out " + q(out));
  REQUIRE(rep.exit_code == 0);
  const std::string flags = " --headless --no-sandbox --disable-gpu --user-data-dir=" + q(tmp / "profile") +
                            " --window-size=1400,2000 ";
  const std::string url = "file://" + fs::absolute(out).string();
  const std::string dom_cmd = "timeout 120 " + chromium + flags + "--dump-dom " + q(url) + " > " +
                              q(tmp / "dom.html") + " 2> " + q(tmp / "dom.err");
  REQUIRE(std::system(dom_cmd.c_str()) == 0);
  const std::string dom = read_text(tmp / "dom.html");
  INFO(read_text(tmp / "dom.err"));
  // The sorting script ran to its end, and the error hook left no marker.
  const auto body_at = dom.find("<body");
  REQUIRE(body_at != std::string::npos);
  REQUIRE(dom.substr(body_at, dom.find('>', body_at) - body_at).find(" data-ready=\"1\"") !=
          std::string::npos);
  REQUIRE(dom.find("js-error-marker") == std::string::npos);
  REQUIRE(read_text(tmp / "dom.err").find("Uncaught") == std::string::npos);
  // The rendered table: one row per category.
  const auto tb = dom.find("<tbody>");
  REQUIRE(tb != std::string::npos);
  const std::string body = dom.substr(tb, dom.find("</tbody>") - tb);
  REQUIRE(count(body, "<tr>") == 4);
  // Every plot holds as many <path class="curve"> as it says it has curves, and has some.
  // (Searched by hand: libstdc++'s std::regex recurses once per character of a lazy [\s\S]*?, and
  // the page overflowed the stack.)
  int plots = 0;
  const std::string open = "<svg class=\"plot\" data-kind=\"";
  for (auto at = dom.find(open); at != std::string::npos; at = dom.find(open, at + 1)) {
    const auto tag_end = dom.find('>', at);
    const auto end = dom.find("</svg>", at);
    REQUIRE(tag_end < end);
    const std::string tag = dom.substr(at, tag_end - at);
    const auto curves_at = tag.find(" data-curves=\"");
    REQUIRE(curves_at != std::string::npos);
    const int n = std::stoi(tag.substr(curves_at + 14));
    REQUIRE(n > 0);
    REQUIRE(count(dom.substr(tag_end, end - tag_end), "<path class=\"curve\"") == n);
    ++plots;
  }
  REQUIRE(plots == 4 * 5);
  REQUIRE(count(dom, "<svg class=\"hist\"") == 4 * 2);
  // The screenshot is a PNG.
  const std::string shot_cmd = "timeout 120 " + chromium + flags + "--screenshot=" + q(tmp / "shot.png") +
                               " " + q(url) + " > /dev/null 2>&1";
  REQUIRE(std::system(shot_cmd.c_str()) == 0);
  const std::string png = read_text(tmp / "shot.png");
  REQUIRE(png.size() > 10000);
  REQUIRE(png.rfind("\x89PNG", 0) == 0);
}
