// Pixel-level metrics: PixelAccumulator with the CPU radix engine (and the torch engine for other
// devices), plus the pixel_metrics() convenience.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "adbench/core/error.hpp"
#include "adbench/metrics/metrics.hpp"
#include "engine.hpp"
#include "radix.hpp"
#include "torch_engine.hpp"

namespace adbench::metrics {

namespace detail {
namespace {

struct Pos64 {
  std::uint64_t key;
  std::uint32_t region;
};

// float32 keys: a positive is (key << 32 | region) in one uint64; float64 keys: a struct.
template <class Key>
struct PosTraits;
template <>
struct PosTraits<std::uint32_t> {
  using Pos = std::uint64_t;
  static Pos make(std::uint32_t k, std::uint32_t r) { return (static_cast<std::uint64_t>(k) << 32) | r; }
  static std::uint32_t key(Pos p) { return static_cast<std::uint32_t>(p >> 32); }
  static std::uint32_t region(Pos p) { return static_cast<std::uint32_t>(p); }
};
template <>
struct PosTraits<std::uint64_t> {
  using Pos = Pos64;
  static Pos make(std::uint64_t k, std::uint32_t r) { return Pos64{k, r}; }
  static std::uint64_t key(const Pos& p) { return p.key; }
  static std::uint32_t region(const Pos& p) { return p.region; }
};

template <class Key>
struct RadixStore {
  using PT = PosTraits<Key>;
  using Pos = typename PT::Pos;
  GrowArray<Key> neg;  // 4 (float32) or 8 (float64) bytes a negative pixel, sorted in place
  Chunks<Pos> pos;
  Key kmin = std::numeric_limits<Key>::max(), kmax = 0;
};

inline std::uint32_t make_key(float v) { return float_key(v); }
inline std::uint64_t make_key(double v) { return double_key(v); }
// Non-finite values map to the extreme keys: +inf/NaN above key(+inf) - 1, -inf/-NaN below key(-inf) + 1.
inline bool bad_key(std::uint32_t k) { return k >= 0xFF800000u || k <= 0x007FFFFFu; }
inline bool bad_key(std::uint64_t k) { return k >= 0xFFF0000000000000ull || k <= 0x000FFFFFFFFFFFFFull; }

std::string non_finite_message(const std::string& name, std::int64_t bad) {
  return name + ": map has " + std::to_string(bad) + " non-finite values (NaN or infinite)";
}

/// Appends one map's scores. labels: global region id per pixel for positives (0: no region);
/// nullptr when there are no positives. Throws before changing anything on non-finite values.
template <class Key, class V>
void radix_add(RadixStore<Key>& st, const V* data, const std::uint8_t* mask, const std::uint32_t* labels,
               std::int64_t n, std::int64_t npos, const std::string& name) {
  using PT = PosTraits<Key>;
  using Pos = typename PT::Pos;
  const size_t un = static_cast<size_t>(n);
  Key lo = std::numeric_limits<Key>::max(), hi = 0;
  std::int64_t bad = 0;
  if (npos == 0) {
    Key* dst = st.neg.reserve(un);
    for (size_t i = 0; i < un; ++i) {
      const Key k = make_key(data[i]);
      bad += bad_key(k);
      lo = std::min(lo, k);
      hi = std::max(hi, k);
      dst[i] = k;
    }
    if (bad) throw InputError(non_finite_message(name, bad));
    st.neg.commit(un);
  } else {
    Key* dn = st.neg.reserve(un - static_cast<size_t>(npos));
    Pos* dp = st.pos.reserve(static_cast<size_t>(npos));
    size_t a = 0, b = 0;
    for (size_t i = 0; i < un; ++i) {
      const Key k = make_key(data[i]);
      bad += bad_key(k);
      lo = std::min(lo, k);
      hi = std::max(hi, k);
      if (mask[i])
        dp[b++] = PT::make(k, labels ? labels[i] : 0);
      else
        dn[a++] = k;
    }
    if (bad) throw InputError(non_finite_message(name, bad));
    st.neg.commit(a);
    st.pos.commit(b);
  }
  if (n > 0) {
    st.kmin = std::min(st.kmin, lo);
    st.kmax = std::max(st.kmax, hi);
  }
}

std::unique_ptr<RadixStore<std::uint64_t>> upgrade(RadixStore<std::uint32_t>& s) {
  auto out = std::make_unique<RadixStore<std::uint64_t>>();
  {
    const size_t m = s.neg.size();
    std::uint64_t* d = out->neg.reserve(m);
    const std::uint32_t* p = s.neg.data();
    for (size_t j = 0; j < m; ++j) d[j] = double_key(key_value(p[j]));
    out->neg.commit(m);
    s.neg.clear();
  }
  for (size_t i = 0; i < s.pos.block_count(); ++i) {
    const size_t m = s.pos.block_size(i);
    Pos64* d = out->pos.reserve(m);
    const std::uint64_t* p = s.pos.block(i);
    for (size_t j = 0; j < m; ++j)
      d[j] = Pos64{double_key(key_value(PosTraits<std::uint32_t>::key(p[j]))),
                   PosTraits<std::uint32_t>::region(p[j])};
    out->pos.commit(m);
    s.pos.release(i);
  }
  if (s.kmin <= s.kmax) {
    out->kmin = double_key(key_value(s.kmin));
    out->kmax = double_key(key_value(s.kmax));
  }
  s.neg.clear();
  s.pos.clear();
  return out;
}

template <class Key>
SweepResult radix_compute(RadixStore<Key>& st, const SweepConfig& base, const std::vector<double>& inv_size,
                          int threads) {
  using PT = PosTraits<Key>;
  using Pos = typename PT::Pos;
  const Key kmin = st.kmin, kmax = st.kmax;
  const int bits = static_cast<int>(std::bit_width(static_cast<Key>(kmax - kmin)));
  const size_t nneg = st.neg.size(), npos = st.pos.size();
  // Negatives: one sorted run per thread (each sorted in place by its thread), merged by the sweep.
  const std::vector<size_t> run =
      radix_sort_runs(st.neg.data(), nneg, kmin, bits, threads, [](Key k) { return k; });
  auto poss = radix_sort(st.pos, kmin, bits, threads, [](const Pos& p) { return PT::key(p); });
  SweepConfig cfg = base;
  cfg.score_min = key_value(kmin);
  cfg.score_max = key_value(kmax);
  Sweep<Key> sweep(cfg);
  const Key* ng = st.neg.data();
  const Pos* ps = poss.get();
  const double* w = inv_size.data();
  const size_t runs = run.size() - 1;
  std::vector<size_t> cur(run.begin() + 1, run.end());  // run r's unread part: [run[r], cur[r])
  size_t j = npos;
  for (;;) {
    bool any = j > 0;
    Key k = any ? PT::key(ps[j - 1]) : Key{0};
    for (size_t r = 0; r < runs; ++r)
      if (cur[r] > run[r] && (!any || ng[cur[r] - 1] > k)) k = ng[cur[r] - 1], any = true;
    if (!any) break;
    size_t dfp = 0;
    for (size_t r = 0; r < runs; ++r) {
      const size_t c0 = cur[r];
      while (cur[r] > run[r] && ng[cur[r] - 1] == k) --cur[r];
      dfp += c0 - cur[r];
    }
    std::int64_t dtp = 0;
    double dpro = 0;
    while (j > 0 && PT::key(ps[j - 1]) == k) {
      --j;
      ++dtp;
      dpro += w[PT::region(ps[j])];
    }
    sweep.point(k, static_cast<std::int64_t>(dfp), dtp, dpro);
  }
  return sweep.finish();
}

}  // namespace
}  // namespace detail

void validate(const Options& options) {
  for (double l : options.aupro_limits)
    check_input(l > 0 && l <= 1, "metrics options: AUPRO limit " + std::to_string(l) + " is outside (0, 1]");
  check_input(options.aupro_bins >= 0,
              "metrics options: aupro_bins must be >= 0, got " + std::to_string(options.aupro_bins));
  check_input(options.aupro_bins == 0 || options.aupro_convention == AuproConvention::Exact,
              "metrics options: aupro_bins applies to the exact AUPRO only, not to the cflow200 convention");
  check_input(options.threads >= 0,
              "metrics options: threads must be >= 0, got " + std::to_string(options.threads));
}

struct PixelAccumulator::Impl {
  Options opt;
  at::Device device;
  bool use_torch;
  std::int64_t pixels = 0, positives = 0, regions = 0;
  bool any_points = false;
  std::optional<PixelMetrics> result;
  std::vector<double> inv_size{0.0};  // by global region id; 0 = positive without region
  std::unique_ptr<detail::RadixStore<std::uint32_t>> s32;
  std::unique_ptr<detail::RadixStore<std::uint64_t>> s64;
  detail::TorchStore ts;
  std::vector<std::int32_t> label_buf;
  std::vector<std::uint32_t> region_buf;

  Impl(Options o, at::Device d) : opt(std::move(o)), device(d) {
    validate(opt);
    if (opt.engine == Engine::Radix && !device.is_cpu())
      throw InputError("metrics options: the radix engine runs on the CPU only, not on " + device.str());
    use_torch = opt.engine == Engine::Torch || (opt.engine == Engine::Auto && !device.is_cpu());
  }

  void check_open() const {
    if (result) throw InternalError("PixelAccumulator: add() after compute()");
  }

  static at::Tensor float_map(const at::Tensor& map, const std::string& name) {
    const auto t = map.scalar_type();
    if (t == at::kFloat || t == at::kDouble) return map;
    if (t == at::kHalf || t == at::kBFloat16) return map.to(at::kFloat);
    throw InputError(name + ": map has dtype " + std::string(c10::toString(t)) +
                     ", expected a floating type");
  }

  /// scores (float32/float64, any device), mask (CPU uint8 contiguous, 0/1 or non-zero), optional labels.
  void add_flat(const at::Tensor& scores, const std::uint8_t* mask, const std::int32_t* local_labels,
                std::int64_t n, std::int64_t npos, const std::vector<std::int64_t>& sizes,
                const std::string& name) {
    const std::uint32_t base = static_cast<std::uint32_t>(inv_size.size());
    if (inv_size.size() + sizes.size() >= (size_t{1} << 31))
      throw InputError(name + ": more than 2^31 ground-truth regions in one evaluation");
    if (use_torch) {
      at::Tensor s = scores.reshape({-1});
      const std::int64_t bad = at::logical_not(at::isfinite(s)).sum().item<std::int64_t>();
      if (bad) throw InputError(detail::non_finite_message(name, bad));
      at::Tensor reg = at::empty({n}, at::kInt);
      std::int32_t* r = reg.data_ptr<std::int32_t>();
      for (std::int64_t i = 0; i < n; ++i)
        r[i] = !mask[i] ? -1 : (local_labels ? static_cast<std::int32_t>(base) + local_labels[i] - 1 : 0);
      if (s.scalar_type() == at::kDouble) ts.any_double = true;
      at::Tensor d = s.to(device).contiguous();
      // A view into a larger tensor (e.g. one map of a batch) would keep the whole batch alive.
      if (d.storage().nbytes() > static_cast<size_t>(d.numel()) * d.element_size()) d = d.clone();
      ts.scores.push_back(std::move(d));
      ts.regions.push_back(reg.to(device));
    } else {
      at::Tensor s = scores.to(at::kCPU).contiguous();
      const std::uint32_t* lab = nullptr;
      if (local_labels && npos > 0) {
        region_buf.resize(static_cast<size_t>(n));
        for (std::int64_t i = 0; i < n; ++i)
          region_buf[static_cast<size_t>(i)] =
              local_labels[i] ? base + static_cast<std::uint32_t>(local_labels[i]) - 1 : 0;
        lab = region_buf.data();
      }
      if (s.scalar_type() == at::kDouble) {
        if (s32) s64 = detail::upgrade(*s32), s32.reset();
        if (!s64) s64 = std::make_unique<detail::RadixStore<std::uint64_t>>();
        detail::radix_add(*s64, s.data_ptr<double>(), mask, lab, n, npos, name);
      } else if (s64) {
        at::Tensor d = s.to(at::kDouble);
        detail::radix_add(*s64, d.data_ptr<double>(), mask, lab, n, npos, name);
      } else {
        if (!s32) s32 = std::make_unique<detail::RadixStore<std::uint32_t>>();
        detail::radix_add(*s32, s.data_ptr<float>(), mask, lab, n, npos, name);
      }
    }
    for (std::int64_t sz : sizes) inv_size.push_back(1.0 / static_cast<double>(sz));
    pixels += n;
    positives += npos;
    regions += static_cast<std::int64_t>(sizes.size());
  }

  static at::Tensor mask_u8(const at::Tensor& mask) {
    at::Tensor m = mask.to(at::kCPU);
    if (m.scalar_type() != at::kBool && m.scalar_type() != at::kByte) m = m.ne(0);
    return m.contiguous();
  }

  void add(const at::Tensor& map, const at::Tensor& mask, const std::string& name) {
    check_open();
    check_input(map.defined() && map.dim() == 2, name + ": map is not 2-D");
    check_input(mask.defined() && mask.dim() == 2, name + ": mask is not 2-D");
    const std::int64_t h = map.size(0), w = map.size(1);
    if (mask.size(0) != h || mask.size(1) != w)
      throw InputError(name + ": map is " + detail::size_str(h, w) + " but its mask is " +
                       detail::size_str(mask.size(0), mask.size(1)));
    at::Tensor m = float_map(map, name);
    at::Tensor mk = mask_u8(mask);
    const auto* mp = static_cast<const std::uint8_t*>(mk.data_ptr());
    const std::int64_t n = h * w;
    std::int64_t npos = 0;
    for (std::int64_t i = 0; i < n; ++i) npos += mp[i] != 0;
    std::vector<std::int64_t> sizes;
    const std::int32_t* labels = nullptr;
    if (npos > 0) {
      label_buf.resize(static_cast<size_t>(n));
      detail::label8(mp, h, w, label_buf.data(), sizes);
      labels = label_buf.data();
    }
    add_flat(m, mp, labels, n, npos, sizes, name);
  }

  void add_valid(const at::Tensor& map, const at::Tensor& mask, const at::Tensor& valid,
                 const std::string& name) {
    check_open();
    check_input(map.defined() && map.dim() == 2, name + ": map is not 2-D");
    check_input(mask.defined() && mask.dim() == 2, name + ": mask is not 2-D");
    check_input(valid.defined() && valid.dim() == 2, name + ": validity mask is not 2-D");
    const std::int64_t h = map.size(0), w = map.size(1);
    if (mask.size(0) != h || mask.size(1) != w)
      throw InputError(name + ": map is " + detail::size_str(h, w) + " but its mask is " +
                       detail::size_str(mask.size(0), mask.size(1)));
    if (valid.size(0) != h || valid.size(1) != w)
      throw InputError(name + ": map is " + detail::size_str(h, w) + " but its validity mask is " +
                       detail::size_str(valid.size(0), valid.size(1)));
    at::Tensor vk = mask_u8(valid);
    at::Tensor mk = mask_u8(mask).to(at::kByte).mul(vk.to(at::kByte)).contiguous();  // mask & valid
    const auto* vp = static_cast<const std::uint8_t*>(vk.data_ptr());
    const auto* mp = mk.data_ptr<std::uint8_t>();
    const std::int64_t n = h * w;
    std::int64_t npos = 0, nvalid = 0;
    for (std::int64_t i = 0; i < n; ++i) npos += mp[i] != 0, nvalid += vp[i] != 0;
    std::vector<std::int64_t> sizes;
    std::vector<std::int32_t> lab;
    if (npos > 0) {
      lab.resize(static_cast<size_t>(n));
      detail::label8(mp, h, w, lab.data(), sizes);
    }
    // Compact to the valid pixels.
    at::Tensor keep = vk.to(at::kBool).reshape({-1});
    at::Tensor s = float_map(map, name).reshape({-1}).masked_select(keep.to(map.device()));
    std::vector<std::uint8_t> cm(static_cast<size_t>(nvalid));
    std::vector<std::int32_t> cl(npos > 0 ? static_cast<size_t>(nvalid) : 0);
    for (std::int64_t i = 0, j = 0; i < n; ++i) {
      if (!vp[i]) continue;
      cm[static_cast<size_t>(j)] = mp[i] != 0;
      if (npos > 0) cl[static_cast<size_t>(j)] = lab[static_cast<size_t>(i)];
      ++j;
    }
    add_flat(s, cm.data(), npos > 0 ? cl.data() : nullptr, nvalid, npos, sizes, name);
  }

  void add_points(const at::Tensor& scores, const at::Tensor& labels, const std::string& name) {
    check_open();
    check_input(scores.defined() && scores.dim() == 1, name + ": scores are not 1-D");
    check_input(labels.defined() && labels.dim() == 1, name + ": labels are not 1-D");
    if (scores.size(0) != labels.size(0))
      throw InputError(name + ": " + std::to_string(scores.size(0)) + " scores but " +
                       std::to_string(labels.size(0)) + " labels");
    at::Tensor s = float_map(scores, name);
    at::Tensor lk = mask_u8(labels);
    const auto* lp = static_cast<const std::uint8_t*>(lk.data_ptr());
    const std::int64_t n = s.size(0);
    std::int64_t npos = 0;
    for (std::int64_t i = 0; i < n; ++i) npos += lp[i] != 0;
    add_flat(s, lp, nullptr, n, npos, {}, name);
    any_points = true;
  }

  PixelMetrics compute() {
    if (result) return *result;
    PixelMetrics r;
    r.pixels = pixels;
    r.positives = positives;
    r.regions = regions;
    const std::int64_t negatives = pixels - positives;
    detail::SweepConfig cfg;
    cfg.positives = positives;
    cfg.negatives = negatives;
    cfg.regions = regions;
    cfg.want_pro = !any_points && regions > 0;
    cfg.options = &opt;
    detail::SweepResult sr;
    sr.aupro.assign(opt.aupro_limits.size(), std::nullopt);
    if (pixels > 0) {
      if (use_torch) {
        detail::TorchInputs in{positives, negatives, regions, cfg.want_pro, &inv_size};
        sr = detail::torch_compute(ts, in, opt, device);
      } else if (s64) {
        sr = detail::radix_compute(*s64, cfg, inv_size, detail::engine_threads(opt));
      } else if (s32) {
        sr = detail::radix_compute(*s32, cfg, inv_size, detail::engine_threads(opt));
      }
    }
    s32.reset();
    s64.reset();
    ts = detail::TorchStore{};
    r.auroc = sr.auroc;
    r.ap = sr.ap;
    r.f1_max = sr.f1_max;
    r.f1_threshold = sr.f1_threshold;
    r.roc = std::move(sr.roc);
    r.pr = std::move(sr.pr);
    r.pro = std::move(sr.pro);
    for (size_t i = 0; i < opt.aupro_limits.size(); ++i)
      r.aupro.emplace_back(opt.aupro_limits[i], sr.aupro[i]);
    if (pixels == 0) {
      r.warnings.push_back("no pixels: AUROC, AP, F1-max and AUPRO undefined");
    } else {
      if (positives == 0 || negatives == 0)
        r.warnings.push_back("only one class present (" + std::to_string(positives) + " anomalous of " +
                             std::to_string(pixels) + " pixels): AUROC, AP and F1-max undefined");
      if (!opt.aupro_limits.empty()) {
        if (any_points)
          r.warnings.push_back("AUPRO undefined: point sets have no ground-truth regions");
        else if (regions == 0)
          r.warnings.push_back("AUPRO undefined: no anomalous ground-truth region");
        else if (negatives == 0)
          r.warnings.push_back("AUPRO undefined: no normal pixels");
      }
    }
    result = r;
    return r;
  }
};

PixelAccumulator::PixelAccumulator(Options options, at::Device device)
    : impl_(std::make_unique<Impl>(std::move(options), device)) {}
PixelAccumulator::~PixelAccumulator() = default;
PixelAccumulator::PixelAccumulator(PixelAccumulator&&) noexcept = default;
PixelAccumulator& PixelAccumulator::operator=(PixelAccumulator&&) noexcept = default;

void PixelAccumulator::add(const at::Tensor& map, const at::Tensor& mask, const std::string& name) {
  impl_->add(map, mask, name);
}
void PixelAccumulator::add(const at::Tensor& map, const at::Tensor& mask, const at::Tensor& valid,
                           const std::string& name) {
  impl_->add_valid(map, mask, valid, name);
}
void PixelAccumulator::add_points(const at::Tensor& scores, const at::Tensor& labels,
                                  const std::string& name) {
  impl_->add_points(scores, labels, name);
}
PixelMetrics PixelAccumulator::compute() { return impl_->compute(); }

PixelMetrics pixel_metrics(const std::vector<at::Tensor>& maps, const std::vector<at::Tensor>& masks,
                           const Options& options, at::Device device) {
  check_input(maps.size() == masks.size(), "pixel metrics: " + std::to_string(maps.size()) + " maps but " +
                                               std::to_string(masks.size()) + " masks");
  PixelAccumulator acc(options, device);
  for (size_t i = 0; i < maps.size(); ++i) acc.add(maps[i], masks[i], "map " + std::to_string(i));
  return acc.compute();
}

}  // namespace adbench::metrics
