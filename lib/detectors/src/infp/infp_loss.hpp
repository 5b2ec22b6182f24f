#pragma once
// INFP's training loss, as the official utils/loss_util.py computes it (all weights 1):
//   MSE + gradient loss + (1 - MS-SSIM) / 2 + sqrt(MSE + 1e-8).
#include <ATen/ATen.h>

namespace adbench::infp {

/// Mean of (p - t)^2.
at::Tensor intensity_loss(const at::Tensor& p, const at::Tensor& t);

/// Mean over [B, C, H, W] of | |dx t| - |dx p| | + | |dy t| - |dy p| |, with dx I(x) = I(x+1) - I(x)
/// and dy I(y) = I(y) - I(y+1), the image zero-padded by one column (row) on the right (bottom).
at::Tensor gradient_loss(const at::Tensor& p, const at::Tensor& t);

/// MS-SSIM of the official code (img1 = prediction, img2 = target, [B, C, H, W]), 5 scales with
/// weights .0448 .2856 .3001 .2363 .1333, 2x2 average pooling (floor) between scales. At each
/// scale, as the code:
///  - Gaussian window of side n = min(11, h, w), sigma 1.5, centred at n/2 (integer division),
///    normalised; valid convolution (no padding), per channel;
///  - dynamic range L from img1 at that scale: (255 if max > 128 else 1) - (-1 if min < -0.5 else 0);
///    C1 = (0.01 L)^2, C2 = (0.03 L)^2;
///  - ssim_s = (mean(SSIM map) + 1) / 2 and cs_s = (mean((2 s12 + C2) / (s1 + s2 + C2)) + 1) / 2
///    (means over the whole batch).
/// Product: `quirk` (the code) = prod_{s<5} cs_s^w_s * (ssim_5^w_5)^4, because the code multiplies
/// the four-element vector cs^w[:-1] by the scalar ssim_5^w_5 before taking the product;
/// !quirk (Wang et al. 2003) = prod_{s<5} cs_s^w_s * ssim_5^w_5.
/// Frames must be at least 16 px per side (2^4: the 5th scale is then 1 px, with a 1 px window);
/// smaller frames: InputError.
at::Tensor msssim(const at::Tensor& img1, const at::Tensor& img2, bool quirk = true);

/// The four terms, each a scalar: [mse, gradient, (1 - msssim) / 2, sqrt(mse + 1e-8)].
std::vector<at::Tensor> infp_loss_terms(const at::Tensor& p, const at::Tensor& t, bool msssim_quirk = true);
/// Their sum.
at::Tensor infp_loss(const at::Tensor& p, const at::Tensor& t, bool msssim_quirk = true);

}  // namespace adbench::infp
