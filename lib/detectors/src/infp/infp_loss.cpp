#include "infp_loss.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "adbench/core/error.hpp"

namespace adbench::infp {

at::Tensor intensity_loss(const at::Tensor& p, const at::Tensor& t) { return (p - t).pow(2).mean(); }

namespace {

// |I(x+1) - I(x)| with a zero column appended on the right.
at::Tensor abs_dx(const at::Tensor& x) {
  at::Tensor padded = at::constant_pad_nd(x, {0, 1, 0, 0});
  int64_t w = x.size(3);
  return (padded.narrow(3, 1, w) - padded.narrow(3, 0, w)).abs();
}

// |I(y) - I(y+1)| with a zero row appended at the bottom.
at::Tensor abs_dy(const at::Tensor& x) {
  at::Tensor padded = at::constant_pad_nd(x, {0, 0, 0, 1});
  int64_t h = x.size(2);
  return (padded.narrow(2, 0, h) - padded.narrow(2, 1, h)).abs();
}

at::Tensor gaussian_window(int64_t n, int64_t channels, const at::TensorOptions& opts) {
  std::vector<double> g(static_cast<std::size_t>(n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = static_cast<double>(i - n / 2);
    g[static_cast<std::size_t>(i)] = std::exp(-d * d / (2 * 1.5 * 1.5));
    sum += g[static_cast<std::size_t>(i)];
  }
  at::Tensor g1 = at::empty({n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) g1[i] = g[static_cast<std::size_t>(i)] / sum;
  at::Tensor g2 = at::outer(g1, g1).to(opts.dtype());
  return g2.view({1, 1, n, n}).expand({channels, 1, n, n}).contiguous().to(opts.device());
}

// One scale: {ssim, cs}, both already mapped to (x + 1) / 2 as the code does.
std::array<at::Tensor, 2> ssim_cs(const at::Tensor& a, const at::Tensor& b) {
  const int64_t c = a.size(1), h = a.size(2), w = a.size(3);
  const int64_t n = std::min<int64_t>({11, h, w});
  at::Tensor win = gaussian_window(n, c, a.options());
  double max_val = a.max().item<double>() > 128 ? 255.0 : 1.0;
  double min_val = a.min().item<double>() < -0.5 ? -1.0 : 0.0;
  double L = max_val - min_val;
  auto filt = [&](const at::Tensor& x) {
    return at::conv2d(x, win, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0},
                      at::IntArrayRef{1, 1}, c);
  };
  at::Tensor mu1 = filt(a), mu2 = filt(b);
  at::Tensor mu1_sq = mu1.pow(2), mu2_sq = mu2.pow(2), mu12 = mu1 * mu2;
  at::Tensor s1 = filt(a * a) - mu1_sq, s2 = filt(b * b) - mu2_sq, s12 = filt(a * b) - mu12;
  const double C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L);
  at::Tensor v1 = 2.0 * s12 + C2, v2 = s1 + s2 + C2;
  at::Tensor cs = ((v1 / v2).mean() + 1) / 2;
  at::Tensor map = ((2 * mu12 + C1) * v1) / ((mu1_sq + mu2_sq + C1) * v2);
  at::Tensor ssim = (map.mean() + 1) / 2;
  return {ssim, cs};
}

}  // namespace

at::Tensor gradient_loss(const at::Tensor& p, const at::Tensor& t) {
  return ((abs_dx(t) - abs_dx(p)).abs() + (abs_dy(t) - abs_dy(p)).abs()).mean();
}

at::Tensor msssim(const at::Tensor& img1, const at::Tensor& img2, bool quirk) {
  static const std::array<double, 5> weights = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  const int64_t levels = static_cast<int64_t>(weights.size());
  if (img1.dim() != 4 || img1.sizes() != img2.sizes())
    throw InternalError("msssim: expected two [B,C,H,W] tensors of the same shape");
  if (std::min(img1.size(2), img1.size(3)) < (int64_t{1} << (levels - 1)))
    throw InputError("infp: MS-SSIM at 5 scales needs frames of at least 16 x 16 px, got " +
                     std::to_string(img1.size(3)) + " x " + std::to_string(img1.size(2)));
  at::Tensor a = img1, b = img2;
  at::Tensor out;
  at::Tensor last_ssim;
  for (int64_t s = 0; s < levels; ++s) {
    auto [ssim, cs] = ssim_cs(a, b);
    const double w = weights[static_cast<std::size_t>(s)];
    if (s < levels - 1) {
      at::Tensor term = cs.pow(w);
      out = out.defined() ? out * term : term;
    } else {
      last_ssim = ssim.pow(w);
    }
    if (s + 1 < levels) {
      a = at::avg_pool2d(a, {2, 2});
      b = at::avg_pool2d(b, {2, 2});
    }
  }
  // The code: torch.prod(pow1[:-1] * pow2[-1]) multiplies each of the levels - 1 cs terms by the
  // last ssim term, so that term enters levels - 1 times.
  return quirk ? out * last_ssim.pow(static_cast<double>(levels - 1)) : out * last_ssim;
}

std::vector<at::Tensor> infp_loss_terms(const at::Tensor& p, const at::Tensor& t, bool msssim_quirk) {
  at::Tensor mse = intensity_loss(p, t);
  return {mse, gradient_loss(p, t), (1 - msssim(p, t, msssim_quirk)) / 2, at::sqrt(mse + 1e-8)};
}

at::Tensor infp_loss(const at::Tensor& p, const at::Tensor& t, bool msssim_quirk) {
  auto terms = infp_loss_terms(p, t, msssim_quirk);
  return terms[0] + terms[1] + terms[2] + terms[3];
}

}  // namespace adbench::infp
