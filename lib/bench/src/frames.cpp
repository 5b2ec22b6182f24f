#include "adbench/bench/frames.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "adbench/core/error.hpp"

namespace adbench {

std::optional<double> equal_error_rate(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size())
    throw InternalError("equal_error_rate: " + std::to_string(scores.size()) + " scores, " +
                        std::to_string(labels.size()) + " labels");
  const std::size_t n = scores.size();
  std::int64_t pos = 0;
  for (int y : labels) pos += y != 0;
  const std::int64_t neg = static_cast<std::int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return std::nullopt;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  // ROC points at every distinct threshold, from (0, 0).
  std::vector<double> fpr{0.0}, tpr{0.0};
  std::int64_t tp = 0, fp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    (labels[order[i]] ? tp : fp)++;
    if (i + 1 == n || scores[order[i + 1]] != scores[order[i]]) {
      fpr.push_back(double(fp) / double(neg));
      tpr.push_back(double(tp) / double(pos));
    }
  }
  // g(x) = 1 - x - tpr(x) falls from 1 at (0, 0) to -1 at (1, 1) along the points; between two
  // fprs the ROC is the line from the last point at the left fpr to the first at the right one
  // (scipy interp1d), and within a vertical run the crossing is at that run's fpr.
  for (std::size_t i = 0; i + 1 < fpr.size(); ++i) {
    const double g0 = 1.0 - fpr[i] - tpr[i], g1 = 1.0 - fpr[i + 1] - tpr[i + 1];
    if (g0 < 0 || g1 > 0) continue;
    if (fpr[i] == fpr[i + 1] || g0 == g1) return fpr[i];
    return fpr[i] + (fpr[i + 1] - fpr[i]) * g0 / (g0 - g1);
  }
  return 1.0 - tpr.back();  // unreachable for valid ROCs
}

namespace {

std::string frames_text(std::int64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

LevelResult frame_level(const std::vector<VideoFrameScores>& videos, int skip, const FrameOptions& options,
                        const metrics::Options& metric_options) {
  if (skip < 0) throw InternalError("frame_level: negative skip");
  std::vector<double> norm, raw;
  std::vector<int> labels;
  std::vector<std::string> warnings;
  std::int64_t skipped = 0, constant = 0, one_class = 0;
  double macro_sum = 0;
  std::int64_t macro_n = 0;
  const double sign = options.lower_is_anomalous ? -1.0 : 1.0;
  std::vector<std::string> short_videos;
  for (const auto& v : videos) {
    if (v.scores.size() != v.labels.size())
      throw InternalError(v.video + ": " + std::to_string(v.scores.size()) + " scores, " +
                          std::to_string(v.labels.size()) + " labels");
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(skip), v.scores.size());
    skipped += static_cast<std::int64_t>(k);
    if (k == v.scores.size()) {
      short_videos.push_back(v.video);
      continue;
    }
    std::vector<double> s;
    std::vector<int> y;
    for (std::size_t i = k; i < v.scores.size(); ++i) {
      if (!std::isfinite(v.scores[i]))
        throw InputError(v.video + ": frame " + std::to_string(i) + " has no finite score (" +
                         std::to_string(v.scores[i]) + ")" +
                         (skip == 0 ? "; frames without a prediction need --skip-frames" : ""));
      s.push_back(sign * v.scores[i]);
      y.push_back(v.labels[i] != 0);
    }
    const auto [mn, mx] = std::minmax_element(s.begin(), s.end());
    const double lo = *mn, hi = *mx;
    if (lo == hi) constant++;
    for (std::size_t i = 0; i < s.size(); ++i) {
      raw.push_back(s[i]);
      norm.push_back(hi > lo ? (s[i] - lo) / (hi - lo) : 0.5);
      labels.push_back(y[i]);
    }
    const auto pos = std::count(y.begin(), y.end(), 1);
    if (pos == 0 || pos == static_cast<long>(y.size())) {
      one_class++;
    } else {
      metrics::BinaryMetrics b = metrics::binary_metrics(
          at::tensor(s, at::kDouble), at::tensor(std::vector<int64_t>(y.begin(), y.end()), at::kLong),
          metric_options);
      macro_sum += *b.auroc;
      macro_n++;
    }
  }
  if (!short_videos.empty())
    warnings.push_back(std::to_string(short_videos.size()) + " videos have no frame after the first " +
                       std::to_string(skip) + " and are left out (first: " + short_videos.front() + ")");
  if (constant && options.per_video_norm)
    warnings.push_back(
        frames_text(constant, "video") +
        " with all frame scores equal: normalised to 0.5 (the reference code divides by zero)");
  if (one_class)
    warnings.push_back(frames_text(one_class, "video") + " of " + std::to_string(macro_n + one_class) +
                       (one_class == 1 ? " holds one class only and is" : " hold one class only and are") +
                       " left out of auroc_macro");
  if (labels.empty())
    throw InputError("no frame to evaluate: every video is shorter than --skip-frames " +
                     std::to_string(skip) + " + 1");
  const std::vector<double>& used = options.per_video_norm ? norm : raw;
  std::vector<int64_t> labels64(labels.begin(), labels.end());
  metrics::BinaryMetrics b =
      metrics::binary_metrics(at::tensor(used, at::kDouble), at::tensor(labels64, at::kLong), metric_options);
  std::optional<double> auroc_raw;
  if (options.per_video_norm) {
    if (!raw.empty())
      auroc_raw = metrics::binary_metrics(at::tensor(raw, at::kDouble), at::tensor(labels64, at::kLong),
                                          metric_options)
                      .auroc;
  } else {
    auroc_raw = b.auroc;
  }
  LevelResult l;
  l.level = "frame";
  l.metrics = {{"auroc", b.auroc},
               {"ap", b.ap},
               {"f1_max", b.f1_max},
               {"eer", equal_error_rate(used, labels)},
               {"auroc_raw", auroc_raw},
               {"auroc_macro", macro_n ? std::optional<double>(macro_sum / double(macro_n)) : std::nullopt}};
  l.f1_threshold = b.f1_threshold;
  const std::int64_t anomalous = std::count(labels.begin(), labels.end(), 1);
  l.counts = {{"units", static_cast<std::int64_t>(labels.size())},
              {"normal", static_cast<std::int64_t>(labels.size()) - anomalous},
              {"anomalous", anomalous},
              {"videos", static_cast<std::int64_t>(videos.size())},
              {"skipped_frames", skipped},
              {"constant_videos", constant}};
  l.warnings = b.warnings;
  for (auto& w : warnings) l.warnings.push_back(std::move(w));
  l.roc = std::move(b.roc);  // eval --curves: of the scores the metrics use
  l.pr = std::move(b.pr);
  if (metric_options.keep_curves) l.histogram = score_histogram(used, labels64);
  return l;
}

}  // namespace adbench
