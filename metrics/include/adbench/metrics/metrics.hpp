#pragma once
// Exact detection metrics on tensors, on any device. Definitions (README "Metrics"):
//  - AUROC: scikit-learn roc_auc_score (trapezoid over the ROC at every distinct score; ties count half)
//  - AP: average_precision_score (step-wise sum of (R_n - R_{n-1}) P_n, no interpolation)
//  - F1-max: maximum over distinct thresholds of 2PR/(P+R), 0 where P+R = 0
//  - AUPRO@L: MVTec AD evaluation: 8-connected ground-truth regions, each region weighs the same,
//    FPR over all negative pixels of the whole set, the exact curve over every distinct score plus
//    (0,0) and (1,1), trapezoid up to FPR = L with linear interpolation there, divided by L.
// A metric that is undefined (one class only) is std::nullopt and a warning is recorded.
// Named conventions reproduce other tools' tables: ApConvention::Trapezoid (anomalib's AUPR) and
// aupro_bins = N (ADEval-style histogram quantisation of the scores before the AUPRO curve), and
// AuproConvention::Cflow200 (the PRO integral of the CFlow-AD / WinCLIP / AnomalyCLIP code: 200
// thresholds, FPR rescaled to [0, 1] below the limit).
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace adbench::metrics {

enum class ApConvention {
  Step,       ///< exact, scikit-learn average_precision_score (default)
  Trapezoid,  ///< anomalib / torchmetrics AUPR: trapezoid over the PR curve from (R=0, P=1)
};

enum class AuproConvention {
  Exact,  ///< the exact curve over every distinct score, integrated to L, divided by L (default)
  /// CFlow-AD's cal_pro_score, copied by the WinCLIP and AnomalyCLIP repositories: thresholds
  /// th_k = min + k (max - min) / 200, k = 0..199 over all pixel scores; at each, positive = score >
  /// th_k, FPR over the negative pixels, PRO = mean overlap of the regions; the points with FPR < L
  /// are kept, their FPRs min-max rescaled to [0, 1] and the PRO integrated by the trapezoid rule
  /// (no division by L). Undefined with fewer than 2 such points or all of them at one FPR.
  Cflow200,
};

/// Which engine computes pixel metrics. Both implement the same definitions exactly.
enum class Engine {
  Auto,   ///< Radix on a CPU accumulator, Torch on any other device
  Radix,  ///< CPU only: order-preserving integer keys, parallel radix sort, one merge sweep
  Torch,  ///< LibTorch ops (sort, cumsum, ...) on the accumulator's device; CPU works too (slow)
};

struct Options {
  std::vector<double> aupro_limits{0.3};  ///< FPR integration limits, each in (0, 1]
  ApConvention ap_convention = ApConvention::Step;
  int aupro_bins = 0;  ///< 0: exact; N > 0: scores quantised to N equal-width bins over [min, max]
                       ///< of all pixel scores, for the AUPRO (PRO curve) only; see metrics/README.md
  AuproConvention aupro_convention = AuproConvention::Exact;  ///< exact or cflow200 (not with aupro_bins)
  bool keep_curves = false;      ///< keep down-sampled ROC / PR / PRO curves for plotting
  Engine engine = Engine::Auto;  ///< pixel engine (tests force Torch on CPU to cross-check)
  int threads = 0;               ///< CPU engine threads; 0: LibTorch's intra-op count (adbench::set_threads)
};

/// InputError unless every limit is in (0, 1], aupro_bins >= 0 and aupro_bins is 0 with the cflow200
/// convention ("metrics options: ...").
void validate(const Options& options);

/// A curve down-sampled to at most ~1000 points for plots (x ascending).
struct Curve {
  std::vector<double> x, y;
};

/// Image- (sample-, frame-, object-) level metrics.
struct BinaryMetrics {
  std::optional<double> auroc, ap, f1_max;
  std::optional<double> f1_threshold;  ///< score threshold at which F1 is maximal
  std::int64_t count = 0, positives = 0;
  std::vector<std::string> warnings;
  std::optional<Curve> roc, pr;  ///< when Options::keep_curves (ROC: x FPR, y TPR; PR: x recall, y precision)
};

/// scores: 1-D floating tensor (any device); labels: 1-D bool or integer tensor of 0/1, same
/// length. InputError on mismatched lengths or non-finite scores.
BinaryMetrics binary_metrics(const at::Tensor& scores, const at::Tensor& labels, const Options& options = {});

/// Pixel- (point-) level metrics, all from one ordering pass.
struct PixelMetrics {
  std::optional<double> auroc, ap, f1_max;
  std::vector<std::pair<double, std::optional<double>>> aupro;  ///< (limit, value), in Options order
  std::optional<double> f1_threshold;  ///< pixel score threshold at which F1 is maximal
  std::int64_t pixels = 0, positives = 0, regions = 0;
  std::vector<std::string> warnings;
  std::optional<Curve> roc, pr, pro;  ///< PRO: x FPR, y PRO, from (0, 0) to (1, 1)
};

/// Accumulates (map, mask) pairs one image at a time so callers can drop the maps as they go;
/// compute() runs the one ordering pass. Masks are labelled into 8-connected regions on add.
/// Uses the accumulator's device: on CPU a radix-sort engine, elsewhere LibTorch sort.
class PixelAccumulator {
 public:
  explicit PixelAccumulator(Options options = {}, at::Device device = at::kCPU);
  ~PixelAccumulator();
  PixelAccumulator(PixelAccumulator&&) noexcept;
  PixelAccumulator& operator=(PixelAccumulator&&) noexcept;

  /// map: [H,W] float32 or float64; mask: [H,W] bool or uint8 (non-zero = anomalous), same size.
  /// `name` (a file path) appears in errors: InputError "<name>: map has N non-finite values",
  /// "<name>: map is HxW but its mask is hxw", "<name>: map is not 2-D".
  void add(const at::Tensor& map, const at::Tensor& mask, const std::string& name = "map");
  /// As add(), with only the pixels where `valid` ([H,W] bool/uint8, same size) is non-zero taking
  /// part: the others (e.g. missing points of an organised MVTec 3D-AD xyz grid) count neither as
  /// positives nor negatives, and ground-truth regions are the 8-connected components of mask & valid.
  void add(const at::Tensor& map, const at::Tensor& mask, const at::Tensor& valid, const std::string& name);
  /// Points (3-D) have no regions: adds a flat set of scores and labels; AUPRO stays null.
  void add_points(const at::Tensor& scores, const at::Tensor& labels, const std::string& name = "points");
  PixelMetrics compute();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Convenience: all maps and masks at once.
PixelMetrics pixel_metrics(const std::vector<at::Tensor>& maps, const std::vector<at::Tensor>& masks,
                           const Options& options = {}, at::Device device = at::kCPU);

}  // namespace adbench::metrics
