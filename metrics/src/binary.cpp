// Image- (sample-) level metrics: the scores are sorted as exact double keys and run through the
// same sweep as the pixel engine.
#include <algorithm>
#include <cmath>

#include "adbench/core/error.hpp"
#include "adbench/metrics/metrics.hpp"
#include "engine.hpp"

namespace adbench::metrics {

BinaryMetrics binary_metrics(const at::Tensor& scores, const at::Tensor& labels, const Options& options) {
  validate(options);
  check_input(scores.defined() && scores.dim() == 1, "scores: expected a 1-D tensor, got " +
                                                         std::to_string(scores.defined() ? scores.dim() : 0) +
                                                         " dimensions");
  check_input(labels.defined() && labels.dim() == 1, "labels: expected a 1-D tensor, got " +
                                                         std::to_string(labels.defined() ? labels.dim() : 0) +
                                                         " dimensions");
  check_input(scores.size(0) == labels.size(0), "scores and labels: " + std::to_string(scores.size(0)) +
                                                    " scores but " + std::to_string(labels.size(0)) +
                                                    " labels");
  check_input(
      at::isFloatingType(scores.scalar_type()),
      "scores: dtype " + std::string(c10::toString(scores.scalar_type())) + ", expected a floating type");
  const auto lt = labels.scalar_type();
  check_input(lt == at::kBool || at::isIntegralType(lt, /*includeBool=*/false),
              "labels: dtype " + std::string(c10::toString(lt)) + ", expected bool or integer");
  at::Tensor s = scores.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor l = labels.to(at::kCPU, at::kLong).contiguous();
  const std::int64_t n = s.size(0);
  const double* sp = s.data_ptr<double>();
  const std::int64_t* lp = l.data_ptr<std::int64_t>();

  BinaryMetrics r;
  r.count = n;
  std::int64_t bad = 0;
  std::vector<std::pair<std::uint64_t, bool>> v(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(sp[i])) ++bad;
    if (lp[i] != 0 && lp[i] != 1)
      throw InputError("labels: value " + std::to_string(lp[i]) + " at index " + std::to_string(i) +
                       " is not 0 or 1");
    v[static_cast<size_t>(i)] = {detail::double_key(sp[i]), lp[i] == 1};
    r.positives += lp[i];
  }
  if (bad) throw InputError("scores: " + std::to_string(bad) + " non-finite values (NaN or infinite)");
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });

  detail::SweepConfig cfg;
  cfg.positives = r.positives;
  cfg.negatives = n - r.positives;
  cfg.options = &options;
  detail::Sweep<std::uint64_t> sweep(cfg);
  for (size_t i = 0; i < v.size();) {
    const std::uint64_t k = v[i].first;
    std::int64_t dtp = 0, dfp = 0;
    for (; i < v.size() && v[i].first == k; ++i) (v[i].second ? dtp : dfp)++;
    sweep.point(k, dfp, dtp, 0.0);
  }
  auto sr = sweep.finish();
  r.auroc = sr.auroc;
  r.ap = sr.ap;
  r.f1_max = sr.f1_max;
  r.f1_threshold = sr.f1_threshold;
  r.roc = std::move(sr.roc);
  r.pr = std::move(sr.pr);
  if (n == 0)
    r.warnings.push_back("no samples: AUROC, AP and F1-max undefined");
  else if (r.positives == 0 || r.positives == n)
    r.warnings.push_back("only one class present (" + std::to_string(r.positives) + " anomalous of " +
                         std::to_string(n) + "): AUROC, AP and F1-max undefined");
  return r;
}

}  // namespace adbench::metrics
