#pragma once
// Private pieces of the metrics module shared by binary.cpp, pixel.cpp and torch_engine.cpp:
// order-preserving keys, the streaming sweep that turns one descending pass over distinct scores
// into every metric, curve down-sampling, and 8-connected labelling.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "adbench/metrics/metrics.hpp"

namespace adbench::metrics::detail {

// ---------------------------------------------------------------------------------------------
// Order-preserving keys: a < b (as floats, -0.0 == +0.0) <=> key(a) < key(b) (as unsigned).

inline std::uint32_t float_key(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if (u == 0x80000000u) u = 0;  // -0.0 -> +0.0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline std::uint64_t double_key(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, 8);
  if (u == 0x8000000000000000ull) u = 0;
  return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}
inline double key_value(std::uint32_t k) {
  std::uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline double key_value(std::uint64_t k) {
  std::uint64_t u = (k & 0x8000000000000000ull) ? (k & 0x7FFFFFFFFFFFFFFFull) : ~k;
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

/// ADEval-style bin of a score: floor((v - lo) / (hi - lo) * n), clipped to [0, n - 1].
/// The torch engine evaluates the same expression element-wise, so both engines agree bit for bit.
inline std::int64_t score_bin(double v, double lo, double hi, int n) {
  if (!(hi > lo)) return 0;
  double b = std::floor((v - lo) / (hi - lo) * static_cast<double>(n));
  if (b < 0) return 0;
  if (b > n - 1) return n - 1;
  return static_cast<std::int64_t>(b);
}

// ---------------------------------------------------------------------------------------------
// Curve down-sampling: a point is kept when its progress s (a non-decreasing function along the
// curve) reaches the next multiple of `step`; the last point is always kept.

class CurveSampler {
 public:
  explicit CurveSampler(double step) : step_(step) {}
  void add(double x, double y, double s) {
    if (s >= next_) {
      c_.x.push_back(x);
      c_.y.push_back(y);
      next_ = (std::floor(s / step_) + 1) * step_;
      pending_ = false;
    } else {
      px_ = x, py_ = y, pending_ = true;
    }
  }
  Curve finish() {
    if (pending_) c_.x.push_back(px_), c_.y.push_back(py_);
    pending_ = false;
    return std::move(c_);
  }

 private:
  double step_, next_ = -1, px_ = 0, py_ = 0;
  bool pending_ = false;
  Curve c_;
};
inline constexpr double kRocStep = 1.0 / 500;  // s = FPR + TPR in [0, 2]
inline constexpr double kPrStep = 1.0 / 1000;  // s = recall in [0, 1]

// ---------------------------------------------------------------------------------------------
// The cflow200 AUPRO convention (Options::aupro_convention): thresholds and the integral over the
// points (FP count, summed PRO weight) at each threshold, the state "score > th_k".

inline constexpr int kCflowSteps = 200;
inline double cflow_threshold(int k, double lo, double hi) {
  return lo + static_cast<double>(k) * ((hi - lo) / static_cast<double>(kCflowSteps));
}
inline std::optional<double> cflow_aupro(const std::vector<std::int64_t>& fp, const std::vector<double>& pro,
                                         std::int64_t negatives, std::int64_t regions, double limit) {
  std::vector<double> x, y;  // thresholds ascending: FPR non-increasing
  for (size_t k = 0; k < fp.size(); ++k) {
    const double f = static_cast<double>(fp[k]) / static_cast<double>(negatives);
    if (f < limit) {
      x.push_back(f);
      y.push_back(std::min(1.0, pro[k] / static_cast<double>(regions)));
    }
  }
  if (x.size() < 2) return std::nullopt;
  double lo = x[0], hi = x[0];
  for (double v : x) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo)) return std::nullopt;
  for (double& v : x) v = (v - lo) / (hi - lo);
  double area = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) area += 0.5 * (y[i] + y[i + 1]) * (x[i] - x[i + 1]);
  return area;
}

// ---------------------------------------------------------------------------------------------
// The sweep. Call point() once per distinct score, in descending order, with the number of
// negatives and positives at that score and the sum of their PRO weights (1 / region size).

struct SweepConfig {
  std::int64_t positives = 0, negatives = 0;
  std::int64_t regions = 0;  ///< number of ground-truth regions (AUPRO denominator)
  bool want_pro = false;     ///< compute AUPRO (regions > 0 and negatives > 0)
  const Options* options = nullptr;
  double score_min = 0, score_max = 0;  ///< for aupro_bins
};

struct SweepResult {
  std::optional<double> auroc, ap, f1_max, f1_threshold;
  std::vector<std::optional<double>> aupro;  ///< per limit, Options order
  std::optional<Curve> roc, pr, pro;
};

template <class Key>
class Sweep {
 public:
  explicit Sweep(const SweepConfig& cfg)
      : cfg_(cfg),
        opt_(*cfg.options),
        P_(cfg.positives),
        N_(cfg.negatives),
        trapezoid_(opt_.ap_convention == ApConvention::Trapezoid),
        bins_(opt_.aupro_bins),
        roc_s_(kRocStep),
        pr_s_(kPrStep),
        pro_s_(kRocStep) {
    classes_ok_ = P_ > 0 && N_ > 0;
    pro_ok_ = cfg.want_pro && cfg.regions > 0 && N_ > 0;
    inv_n_ = N_ > 0 ? 1.0 / static_cast<double>(N_) : 0;
    limits_ = opt_.aupro_limits;
    area_.assign(limits_.size(), 0.0);
    done_.assign(limits_.size(), false);
    open_limits_ = pro_ok_ ? limits_.size() : 0;
    curves_ = opt_.keep_curves;
    cflow_ = pro_ok_ && opt_.aupro_convention == AuproConvention::Cflow200;
    if (cflow_) {
      cflow_fp_.assign(kCflowSteps, 0);
      cflow_pro_.assign(kCflowSteps, 0.0);
      cflow_next_ = kCflowSteps - 1;
    }
    if (curves_ && classes_ok_) roc_s_.add(0, 0, 0);
    if (curves_ && pro_ok_) pro_s_.add(0, 0, 0);
  }

  inline void point(Key key, std::int64_t dfp, std::int64_t dtp, double dpro) {
    if (cflow_) {
      // Every threshold at or above this score sees the state before it: the scores above it.
      const double v = key_value(key);
      while (cflow_next_ >= 0 && cflow_threshold(cflow_next_, cfg_.score_min, cfg_.score_max) >= v) {
        cflow_fp_[static_cast<size_t>(cflow_next_)] = fp_;
        cflow_pro_[static_cast<size_t>(cflow_next_)] = pro_;
        --cflow_next_;
      }
    }
    const std::int64_t tp_prev = tp_;
    tp_ += dtp;
    fp_ += dfp;
    pro_ += dpro;
    area2_ += static_cast<unsigned __int128>(static_cast<std::uint64_t>(dfp)) *
              static_cast<std::uint64_t>(tp_ + tp_prev);
    if (dtp > 0) {
      const double tp = static_cast<double>(tp_), pp = static_cast<double>(tp_ + fp_);
      const double prec = tp / pp;
      ap_ += static_cast<double>(dtp) * prec;
      const std::int64_t f1_den = tp_ + fp_ + P_;
      // F1 = 2TP / (TP + FP + P); compare fractions exactly: 2a/b > 2c/d <=> a*d > c*b.
      if (best_den_ == 0 || static_cast<unsigned __int128>(tp_) * best_den_ >
                                static_cast<unsigned __int128>(best_tp_) * f1_den) {
        best_tp_ = tp_, best_den_ = f1_den, best_key_ = key;
      }
      if (trapezoid_) {
        if (group_open_) close_group();
        group_open_ = true;
        group_tp_ = tp_;
        group_r_ = tp / static_cast<double>(P_);
        group_pfirst_ = prec;
      }
    }
    last_fp_ = fp_;
    if (curves_ && classes_ok_) {
      const double x = static_cast<double>(fp_) * inv_n_,
                   y = static_cast<double>(tp_) / static_cast<double>(P_);
      roc_s_.add(x, y, x + y);
      pr_s_.add(y, static_cast<double>(tp_) / static_cast<double>(tp_ + fp_), y);
    }
    if (open_limits_ > 0 || (curves_ && pro_ok_)) {
      if (bins_ > 0) {
        const std::int64_t b = score_bin(key_value(key), cfg_.score_min, cfg_.score_max, bins_);
        if (have_pending_ && b != pending_bin_) pro_point(pending_fp_, pending_pro_);
        have_pending_ = true;
        pending_bin_ = b;
        pending_fp_ = fp_;
        pending_pro_ = pro_;
      } else {
        pro_point(fp_, pro_);
      }
    }
  }

  SweepResult finish() {
    SweepResult r;
    r.aupro.assign(limits_.size(), std::nullopt);
    if (classes_ok_) {
      const long double den = 2.0L * static_cast<long double>(P_) * static_cast<long double>(N_);
      r.auroc = static_cast<double>(static_cast<long double>(area2_) / den);
      if (trapezoid_) {
        if (group_open_) close_group();
        r.ap = trap_area_;
      } else {
        r.ap = ap_ / static_cast<double>(P_);
      }
      r.f1_max = 2.0 * static_cast<double>(best_tp_) / static_cast<double>(best_den_);
      r.f1_threshold = key_value(best_key_) + 0.0;
      if (curves_) {
        r.roc = roc_s_.finish();
        r.pr = pr_s_.finish();
      }
    }
    if (pro_ok_) {
      if (have_pending_) pro_point(pending_fp_, pending_pro_);
      pro_xy(1.0, 1.0);  // the official curve ends at (1, 1)
      for (size_t i = 0; i < limits_.size(); ++i) r.aupro[i] = area_[i] / limits_[i];
      if (cflow_) {
        for (; cflow_next_ >= 0; --cflow_next_) {
          cflow_fp_[static_cast<size_t>(cflow_next_)] = fp_;
          cflow_pro_[static_cast<size_t>(cflow_next_)] = pro_;
        }
        for (size_t i = 0; i < limits_.size(); ++i)
          r.aupro[i] = cflow_aupro(cflow_fp_, cflow_pro_, N_, cfg_.regions, limits_[i]);
      }
      if (curves_) r.pro = pro_s_.finish();
    }
    return r;
  }

 private:
  // Trapezoid AP (torchmetrics PR curve + auc(reorder=True), stable sort by recall): between two
  // consecutive recall levels the segment runs from the highest-precision point of the lower
  // level (its highest threshold; for recall 0 the appended point P = 1) to the lowest-precision
  // point of the higher level (its lowest threshold).
  void close_group() {
    const double plast = static_cast<double>(group_tp_) / static_cast<double>(group_tp_ + last_fp_);
    trap_area_ += (group_r_ - prev_r_) * (prev_pmax_ + plast) * 0.5;
    prev_r_ = group_r_;
    prev_pmax_ = group_pfirst_;
  }

  void pro_point(std::int64_t fp, double pro) {
    double x = static_cast<double>(fp) / static_cast<double>(N_);
    double y = pro / static_cast<double>(cfg_.regions);
    if (x > 1) x = 1;
    if (y > 1) y = 1;
    pro_xy(x, y);
  }
  void pro_xy(double x, double y) {
    if (open_limits_ > 0) {
      for (size_t i = 0; i < limits_.size(); ++i) {
        if (done_[i]) continue;
        const double L = limits_[i];
        if (x <= L) {
          area_[i] += 0.5 * (y + py_) * (x - px_);
        } else {
          if (px_ != L) {  // L is not a curve point: interpolate linearly on the crossing segment
            const double yi = py_ + (y - py_) * (L - px_) / (x - px_);
            area_[i] += 0.5 * (yi + py_) * (L - px_);
          }
          done_[i] = true;
          --open_limits_;
        }
      }
    }
    if (curves_) pro_s_.add(x, y, x + y);
    px_ = x, py_ = y;
  }

  const SweepConfig cfg_;
  const Options& opt_;
  const std::int64_t P_, N_;
  const bool trapezoid_;
  const int bins_;
  bool classes_ok_ = false, pro_ok_ = false, curves_ = false, cflow_ = false;
  std::vector<std::int64_t> cflow_fp_;  ///< per cflow threshold: negatives above it
  std::vector<double> cflow_pro_;       ///< per cflow threshold: summed PRO weight above it
  int cflow_next_ = -1;                 ///< the highest threshold not yet recorded
  double inv_n_ = 0;

  std::int64_t tp_ = 0, fp_ = 0;
  double pro_ = 0;
  unsigned __int128 area2_ = 0;
  double ap_ = 0;
  std::int64_t best_tp_ = 0, best_den_ = 0;
  Key best_key_ = 0;

  // trapezoid AP state
  bool group_open_ = false;
  double group_r_ = 0, group_pfirst_ = 0, prev_r_ = 0, prev_pmax_ = 1, trap_area_ = 0;
  std::int64_t last_fp_ = 0, group_tp_ = 0;

  // AUPRO state
  std::vector<double> limits_, area_;
  std::vector<bool> done_;
  size_t open_limits_ = 0;
  double px_ = 0, py_ = 0;
  bool have_pending_ = false;
  std::int64_t pending_bin_ = 0, pending_fp_ = 0;
  double pending_pro_ = 0;

  CurveSampler roc_s_, pr_s_, pro_s_;
};

// ---------------------------------------------------------------------------------------------
// 8-connected labelling of a binary mask (non-zero = foreground). labels: 0 background, 1..n in
// raster order of first pixel. Returns n; sizes[k - 1] = pixel count of region k.
std::int64_t label8(const std::uint8_t* mask, std::int64_t h, std::int64_t w, std::int32_t* labels,
                    std::vector<std::int64_t>& sizes);

/// "HxW"
inline std::string size_str(std::int64_t h, std::int64_t w) {
  return std::to_string(h) + "x" + std::to_string(w);
}

/// Number of threads for the CPU engine.
int engine_threads(const Options& options);

}  // namespace adbench::metrics::detail
