// LibTorch engine (see torch_engine.hpp). Only public ATen ops, so it builds against CPU and CUDA
// LibTorch alike and runs wherever the tensors live.
#include "torch_engine.hpp"

#include <cmath>

namespace adbench::metrics::detail {

namespace {

at::Tensor shift_right(const at::Tensor& t, const at::Scalar& first) {
  // [first, t[0], ..., t[n-2]]
  return at::cat({at::full({1}, first, t.options()), t.slice(0, 0, t.size(0) - 1)});
}

/// Indices of the points kept for a plot: the first point at or past each multiple of step of the
/// non-decreasing progress s, and the last point.
at::Tensor sample_indices(const at::Tensor& s, double step, double s_max) {
  const std::int64_t n = s.size(0);
  at::Tensor grid = at::arange(0.0, s_max + step / 2, step, s.options());
  at::Tensor idx = at::searchsorted(s.contiguous(), grid).clamp_max(n - 1);
  idx = at::cat({idx, at::full({1}, n - 1, idx.options())});
  return std::get<0>(at::unique_consecutive(idx));
}

Curve to_curve(const at::Tensor& x, const at::Tensor& y) {
  at::Tensor xc = x.to(at::kCPU, at::kDouble).contiguous(), yc = y.to(at::kCPU, at::kDouble).contiguous();
  Curve c;
  c.x.assign(xc.data_ptr<double>(), xc.data_ptr<double>() + xc.numel());
  c.y.assign(yc.data_ptr<double>(), yc.data_ptr<double>() + yc.numel());
  return c;
}

}  // namespace

SweepResult torch_compute(TorchStore& store, const TorchInputs& in, const Options& opt, at::Device device) {
  SweepResult r;
  r.aupro.assign(opt.aupro_limits.size(), std::nullopt);
  const auto dtype = store.any_double ? at::kDouble : at::kFloat;
  at::Tensor sorted, reg;
  {
    std::vector<at::Tensor> parts;
    for (auto& s : store.scores) parts.push_back(s.to(dtype));
    store.scores.clear();
    at::Tensor all = at::cat(parts);
    parts.clear();
    auto sr = at::sort(all, 0, /*descending=*/true);
    all = at::Tensor();
    sorted = std::get<0>(sr);
    at::Tensor idx = std::get<1>(sr);
    reg = at::cat(store.regions).index_select(0, idx);
    store.regions.clear();
  }
  const std::int64_t n = sorted.size(0);
  if (n == 0) return r;
  const auto D = sorted.options().dtype(at::kDouble);
  // Last index of every run of equal scores (-0.0 == 0.0 under !=).
  at::Tensor last = at::ones({n}, sorted.options().dtype(at::kBool));
  if (n > 1) last.slice(0, 0, n - 1).copy_(sorted.slice(0, 1, n) != sorted.slice(0, 0, n - 1));
  at::Tensor ends = at::nonzero(last).squeeze(1);
  last = at::Tensor();
  at::Tensor TP = (reg >= 0).to(at::kLong).cumsum(0).index_select(0, ends);
  at::Tensor FP = ends + 1 - TP;
  at::Tensor V = sorted.index_select(0, ends).to(at::kDouble);
  const double vmax = sorted[0].item<double>(), vmin = sorted[n - 1].item<double>();
  sorted = at::Tensor();
  at::Tensor PRO;
  const bool pro_ok = in.want_pro && in.regions > 0 && in.negatives > 0;
  if (pro_ok) {
    at::Tensor inv = at::tensor(*in.inv_size, at::kDouble).to(device);
    at::Tensor w = inv.index_select(0, reg.clamp_min(0).to(at::kLong));
    PRO = w.cumsum(0).index_select(0, ends);
  }
  reg = at::Tensor();
  ends = at::Tensor();
  const std::int64_t P = in.positives, N = in.negatives;
  const std::int64_t nd = TP.size(0);

  if (P > 0 && N > 0) {
    at::Tensor TPp = shift_right(TP, 0), FPp = shift_right(FP, 0);
    at::Tensor dTP = TP - TPp, dFP = FP - FPp;
    const long double den = 2.0L * static_cast<long double>(P) * static_cast<long double>(N);
    if (den < 9.0e18L) {
      const std::int64_t area2 = (dFP * (TP + TPp)).sum().item<std::int64_t>();
      r.auroc = static_cast<double>(static_cast<long double>(area2) / den);
    } else {
      const double area2 = (dFP.to(at::kDouble) * (TP + TPp).to(at::kDouble)).sum().item<double>();
      r.auroc = static_cast<double>(static_cast<long double>(area2) / den);
    }
    at::Tensor prec = TP.to(at::kDouble) / (TP + FP).to(at::kDouble);
    if (opt.ap_convention == ApConvention::Step) {
      r.ap = (dTP.to(at::kDouble) * prec).sum().item<double>() / static_cast<double>(P);
    } else {
      at::Tensor first = dTP > 0;
      at::Tensor TPn = at::cat({TP.slice(0, 1, nd), at::full({1}, -1, TP.options())});
      at::Tensor lastm = (TP != TPn).logical_and(TP > 0);
      at::Tensor Pf = prec.masked_select(first), Pl = prec.masked_select(lastm);
      at::Tensor R = TP.masked_select(first).to(at::kDouble) / static_cast<double>(P);
      at::Tensor Rp = shift_right(R, 0.0), Pmp = shift_right(Pf, 1.0);
      r.ap = ((R - Rp) * (Pmp + Pl) * 0.5).sum().item<double>();
    }
    at::Tensor f1 = 2.0 * TP.to(at::kDouble) / (TP + FP + P).to(at::kDouble);
    const std::int64_t best = f1.argmax().item<std::int64_t>();
    r.f1_max = f1[best].item<double>();
    r.f1_threshold = V[best].item<double>() + 0.0;
    if (opt.keep_curves) {
      at::Tensor x = FP.to(at::kDouble) / static_cast<double>(N),
                 y = TP.to(at::kDouble) / static_cast<double>(P);
      at::Tensor i1 = sample_indices(x + y, kRocStep, 2.0);
      r.roc = to_curve(at::cat({at::zeros({1}, D), x.index_select(0, i1)}),
                       at::cat({at::zeros({1}, D), y.index_select(0, i1)}));
      at::Tensor i2 = sample_indices(y, kPrStep, 1.0);
      r.pr = to_curve(y.index_select(0, i2), prec.index_select(0, i2));
    }
  }

  if (pro_ok) {
    at::Tensor FPk = FP, PROk = PRO;
    if (opt.aupro_bins > 0) {
      at::Tensor b;
      if (vmax > vmin)
        b = at::floor((V - vmin) / (vmax - vmin) * static_cast<double>(opt.aupro_bins))
                .clamp(0, opt.aupro_bins - 1);
      else
        b = at::zeros_like(V);
      at::Tensor keep = at::ones({nd}, b.options().dtype(at::kBool));
      if (nd > 1) keep.slice(0, 0, nd - 1).copy_(b.slice(0, 1, nd) != b.slice(0, 0, nd - 1));
      FPk = FP.masked_select(keep);
      PROk = PRO.masked_select(keep);
    }
    at::Tensor x = at::cat(
        {at::zeros({1}, D), (FPk.to(at::kDouble) / static_cast<double>(N)).clamp_max(1.0), at::ones({1}, D)});
    at::Tensor y = at::cat(
        {at::zeros({1}, D), (PROk / static_cast<double>(in.regions)).clamp_max(1.0), at::ones({1}, D)});
    const std::int64_t m = x.size(0);
    for (size_t i = 0; i < opt.aupro_limits.size(); ++i) {
      const double lim = opt.aupro_limits[i];
      const std::int64_t ins = (x <= lim).sum().item<std::int64_t>();  // x is non-decreasing: bisect_right
      double area = 0;
      if (ins > 1) {
        at::Tensor xs = x.slice(0, 0, ins), ys = y.slice(0, 0, ins);
        area = (0.5 * (ys.slice(0, 1, ins) + ys.slice(0, 0, ins - 1)) *
                (xs.slice(0, 1, ins) - xs.slice(0, 0, ins - 1)))
                   .sum()
                   .item<double>();
      }
      const double xl = x[ins - 1].item<double>(), yl = y[ins - 1].item<double>();
      if (xl != lim && ins < m) {
        const double x2 = x[ins].item<double>(), y2 = y[ins].item<double>();
        const double yi = yl + (y2 - yl) * (lim - xl) / (x2 - xl);
        area += 0.5 * (yi + yl) * (lim - xl);
      }
      r.aupro[i] = area / lim;
    }
    if (opt.aupro_convention == AuproConvention::Cflow200) {
      // State "score > th_k": the distinct scores (descending) above th_k are the first count_k.
      std::vector<double> th(kCflowSteps);
      for (int k = 0; k < kCflowSteps; ++k) th[static_cast<size_t>(k)] = cflow_threshold(k, vmin, vmax);
      at::Tensor ascending = V.flip(0).contiguous();
      at::Tensor above =
          nd - at::searchsorted(ascending, at::tensor(th, D), /*out_int32=*/false, /*right=*/true);
      // The cumulative counts at the last of those scores, 0 where none is above.
      const at::Tensor some = above > 0, last = (above - 1).clamp_min(0);
      const at::Tensor fp_k =
          at::where(some, FP.index_select(0, last), at::zeros_like(last)).to(at::kCPU).contiguous();
      const at::Tensor pro_k =
          at::where(some, PRO.index_select(0, last), at::zeros({kCflowSteps}, D)).to(at::kCPU).contiguous();
      const std::vector<std::int64_t> cfp(fp_k.data_ptr<std::int64_t>(),
                                          fp_k.data_ptr<std::int64_t>() + kCflowSteps);
      const std::vector<double> cpro(pro_k.data_ptr<double>(), pro_k.data_ptr<double>() + kCflowSteps);
      for (size_t i = 0; i < opt.aupro_limits.size(); ++i)
        r.aupro[i] = cflow_aupro(cfp, cpro, N, in.regions, opt.aupro_limits[i]);
    }
    if (opt.keep_curves) {
      at::Tensor i3 = sample_indices(x + y, kRocStep, 2.0);
      r.pro = to_curve(x.index_select(0, i3), y.index_select(0, i3));
    }
  }
  return r;
}

}  // namespace adbench::metrics::detail
