#pragma once
// A deliberately plain reference for the tests, independent of the engine code: BFS flood-fill
// labelling, one std::stable_sort of all pixels, and the official MVTec AD compute_pro +
// trapezoid(x, y, x_max) written out as in its Python code.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <queue>
#include <random>
#include <vector>

namespace adbench::test {

struct RefImage {
  std::int64_t h = 0, w = 0;
  std::vector<double> map;
  std::vector<std::uint8_t> mask;
};

struct RefResult {
  double auroc = 0, ap = 0, f1 = 0;
  std::vector<double> aupro;
};

/// 8-connected labels (0 background, 1..n); returns n.
inline int flood_label(const RefImage& im, std::vector<int>& lab) {
  lab.assign(im.map.size(), 0);
  int n = 0;
  for (std::int64_t i = 0; i < im.h * im.w; ++i) {
    if (!im.mask[i] || lab[i]) continue;
    ++n;
    std::queue<std::int64_t> q;
    q.push(i);
    lab[i] = n;
    while (!q.empty()) {
      auto p = q.front();
      q.pop();
      std::int64_t r = p / im.w, c = p % im.w;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          std::int64_t rr = r + dr, cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= im.h || cc >= im.w) continue;
          std::int64_t k = rr * im.w + cc;
          if (im.mask[k] && !lab[k]) lab[k] = n, q.push(k);
        }
    }
  }
  return n;
}

/// The official trapezoid(x, y, x_max) of the MVTec AD evaluation code.
inline double official_trapezoid(const std::vector<double>& x, const std::vector<double>& y, double x_max) {
  double correction = 0;
  bool in_x = std::find(x.begin(), x.end(), x_max) != x.end();
  if (!in_x) {
    size_t ins =
        static_cast<size_t>(std::upper_bound(x.begin(), x.end(), x_max) - x.begin());  // bisect_right
    double y_interp = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]));
    correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1]);
  }
  double s = 0;
  for (size_t i = 1; i < x.size() && x[i] <= x_max; ++i) s += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]);
  return s + correction;
}

inline RefResult reference_metrics(const std::vector<RefImage>& images, const std::vector<double>& limits,
                                   int bins = 0) {
  std::vector<double> s;
  std::vector<int> pos;
  std::vector<double> prow;
  int regions = 0;
  for (const auto& im : images) {
    std::vector<int> lab;
    int n = flood_label(im, lab);
    std::vector<int> size(static_cast<size_t>(n) + 1, 0);
    for (int l : lab) size[static_cast<size_t>(l)]++;
    for (size_t i = 0; i < im.map.size(); ++i) {
      s.push_back(im.map[i]);
      pos.push_back(im.mask[i] != 0);
      prow.push_back(lab[i] ? 1.0 / size[static_cast<size_t>(lab[i])] : 0.0);
    }
    regions += n;
  }
  std::vector<double> pro_scores = s;
  if (bins > 0) {  // quantise for the PRO curve only
    double lo = *std::min_element(s.begin(), s.end()), hi = *std::max_element(s.begin(), s.end());
    for (auto& v : pro_scores) {
      double b = hi > lo ? std::floor((v - lo) / (hi - lo) * bins) : 0;
      v = std::clamp(b, 0.0, double(bins - 1));
    }
  }
  const size_t n = s.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  double P = 0, N = 0;
  for (int p : pos) (p ? P : N) += 1;
  RefResult r;
  // ROC / PR over distinct scores
  double tp = 0, fp = 0, ptp = 0, pfp = 0;
  double auc = 0, ap = 0, f1 = 0;
  for (size_t i = 0; i < n; ++i) {
    (pos[order[i]] ? tp : fp) += 1;
    if (i + 1 < n && s[order[i + 1]] == s[order[i]]) continue;
    auc += (fp / N - pfp / N) * (tp / P + ptp / P) / 2;
    double prec = tp / (tp + fp), rec = tp / P;
    ap += (rec - ptp / P) * prec;
    if (prec + rec > 0) f1 = std::max(f1, 2 * prec * rec / (prec + rec));
    ptp = tp, pfp = fp;
  }
  r.auroc = auc, r.ap = ap, r.f1 = f1;
  // PRO (official compute_pro on the (possibly quantised) scores)
  std::vector<size_t> order2(n);
  std::iota(order2.begin(), order2.end(), 0);
  std::stable_sort(order2.begin(), order2.end(),
                   [&](size_t a, size_t b) { return pro_scores[a] > pro_scores[b]; });
  std::vector<double> x{0.0}, y{0.0};
  double cfp = 0, cpro = 0;
  for (size_t i = 0; i < n; ++i) {
    cfp += pos[order2[i]] ? 0 : 1;
    cpro += prow[order2[i]];
    if (i + 1 < n && pro_scores[order2[i + 1]] == pro_scores[order2[i]]) continue;
    x.push_back(std::min(cfp / N, 1.0));
    y.push_back(std::min(cpro / regions, 1.0));
  }
  x.push_back(1.0);
  y.push_back(1.0);
  for (double l : limits) r.aupro.push_back(official_trapezoid(x, y, l) / l);
  return r;
}

/// Random maps with heavy ties, negative values, +-0.0, and blob masks (some empty).
inline std::vector<RefImage> random_images(int count, std::int64_t h, std::int64_t w, unsigned seed,
                                           int levels) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<RefImage> out;
  for (int k = 0; k < count; ++k) {
    RefImage im;
    im.h = h, im.w = w;
    im.map.resize(static_cast<size_t>(h * w));
    im.mask.assign(static_cast<size_t>(h * w), 0);
    int blobs = k % 3 == 0 ? 0 : 1 + static_cast<int>(rng() % 3);
    for (int b = 0; b < blobs; ++b) {
      double cy = u(rng) * h, cx = u(rng) * w, ry = 1 + u(rng) * h / 6, rx = 1 + u(rng) * w / 6;
      for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < w; ++c)
          if ((r - cy) * (r - cy) / (ry * ry) + (c - cx) * (c - cx) / (rx * rx) <= 1)
            im.mask[static_cast<size_t>(r * w + c)] = 1;
    }
    for (size_t i = 0; i < im.map.size(); ++i) {
      double v = u(rng) + (im.mask[i] ? 0.6 * u(rng) : 0.0) - 0.3;
      if (levels > 0) v = std::round(v * levels) / levels;  // heavy ties
      if (v == 0 && (i % 2)) v = -0.0;
      im.map[i] = v;
    }
    out.push_back(std::move(im));
  }
  return out;
}

}  // namespace adbench::test
