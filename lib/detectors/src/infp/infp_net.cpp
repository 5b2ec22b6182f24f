#include "infp_net.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "adbench/core/error.hpp"
#include "infp_loss.hpp"

namespace adbench::infp {

namespace nn = torch::nn;

// ---------------------------------------------------------------------------------------------
// Settings

SettingsTable infp_net_settings() {
  SettingsTable t;
  t.push_back({"fusion", true, SettingRange::boolean(),
               "fusion block Ctx(x + TSM(x) + Freq(x)) on the deepest map (false: AstNet-style, no fusion)"});
  t.push_back({"filter", true, SettingRange::boolean(), "trajectory filter after the last decoder stage"});
  t.push_back({"filter_axes", "code", SettingRange::choice({"code", "paper"}),
               "code: FFT over (channel, row) of the NCHW map read as channels-last, as the official "
               "code; paper: FFT over (row, column)"});
  t.push_back({"width_div", 1, SettingRange::integer(1, 64),
               "every channel width divided by this (1, 2, 4, ..., 64; 1 = the official widths, "
               "317,430,068 parameters)"});
  t.push_back({"msssim_quirk", true, SettingRange::boolean(),
               "MS-SSIM product as the official code (last-scale SSIM term to the power 4 w5); false: "
               "Wang et al."});
  return t;
}

InfpOptions infp_options(const nlohmann::json& cfg) {
  // The network's own keys are checked against their table; height, width and t belong to the
  // video detector's table and are only checked for what the network needs.
  SettingsTable table = infp_net_settings();
  nlohmann::json mine = nlohmann::json::object();
  if (!cfg.is_null() && !cfg.is_object()) throw InputError("detector infp: settings must be a JSON object");
  for (const auto& spec : table)
    if (cfg.is_object() && cfg.contains(spec.key)) mine[spec.key] = cfg[spec.key];
  nlohmann::json c = merge_config("infp", table, mine);
  InfpOptions o;
  o.fusion = c["fusion"].get<bool>();
  o.filter = c["filter"].get<bool>();
  o.filter_axes = c["filter_axes"].get<std::string>() == "paper" ? FilterAxes::Paper : FilterAxes::Code;
  o.width_div = c["width_div"].get<int64_t>();
  o.msssim_quirk = c["msssim_quirk"].get<bool>();
  if (64 % o.width_div != 0)
    throw InputError("detector infp: setting 'width_div' must divide 64 (1, 2, 4, 8, 16, 32, 64), got " +
                     std::to_string(o.width_div));
  auto integer = [&](const char* key, int64_t def) {
    if (!cfg.is_object() || !cfg.contains(key)) return def;
    if (!cfg[key].is_number_integer())
      throw InputError(std::string("detector infp: setting '") + key + "' expects an integer, got " +
                       cfg[key].dump());
    return cfg[key].get<int64_t>();
  };
  o.height = integer("height", 224);
  o.width = integer("width", 288);
  o.frames = integer("frames", 4);
  for (auto [key, v] : {std::pair<const char*, int64_t>{"height", o.height}, {"width", o.width}})
    if (v < 16 || v > 8192 || v % 8 != 0)
      throw InputError(
          std::string("detector infp: setting '") + key +
          "' must be a multiple of 8 in [16, 8192] (output stride 8, MS-SSIM at 5 scales), got " +
          std::to_string(v));
  if (o.frames < 1 || o.frames > 64)
    throw InputError("detector infp: setting 'frames' must be in [1, 64], got " + std::to_string(o.frames));
  if (o.filter && o.filter_axes == FilterAxes::Code && o.width < 4)
    throw InputError("detector infp: the code-mode filter needs width >= 4");
  return o;
}

// ---------------------------------------------------------------------------------------------
// Small pieces

at::Tensor temporal_shift(const at::Tensor& x, int64_t segments, int64_t fold_div) {
  const int64_t b = x.size(0), nt = x.size(1), h = x.size(2), w = x.size(3);
  if (nt % segments != 0) throw InternalError("temporal_shift: channels not divisible by segments");
  const int64_t c = nt / segments, fold = c / fold_div;
  at::Tensor v = x.view({b, segments, c, h, w});
  at::Tensor head = v.narrow(2, 0, fold);
  // Segment i takes segment i + 1's first `fold` channels; the last segment's become zero.
  at::Tensor shifted = at::cat({head.narrow(1, 1, segments - 1), at::zeros_like(head.narrow(1, 0, 1))}, 1);
  return at::cat({shifted, v.narrow(2, fold, c - fold)}, 2).view({b, nt, h, w});
}

StarReLUImpl::StarReLUImpl() {
  scale = register_parameter("scale", at::ones({1}));
  bias = register_parameter("bias", at::zeros({1}));
}

at::Tensor StarReLUImpl::forward(const at::Tensor& x) { return scale * at::relu(x).pow(2) + bias; }

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = 0, int64_t dil = 1,
                bool bias = false) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).dilation(dil).bias(bias));
}

/// Kaiming normal (fan in, gain sqrt 2) for convolutions, zero biases, BN 1/0: the code's
/// initialize_weights(), applied to the merge convs, decoder, attention and head.
void init_weights(nn::Module& m) {
  for (auto& sub : m.modules(/*include_self=*/true)) {
    if (auto* c = sub->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    } else if (auto* t = sub->as<nn::ConvTranspose2d>()) {
      nn::init::kaiming_normal_(t->weight);
      if (t->bias.defined()) nn::init::zeros_(t->bias);
    } else if (auto* bn = sub->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

/// Squeeze-and-excitation of mfusion.py (the second SELayer there, the one in effect): spatial
/// mean, Linear(c, c/r) + bias, ReLU, Linear(c/r, c) + bias, sigmoid, scale.
class SEImpl : public nn::Module {
 public:
  SEImpl(int64_t c, int64_t r) {
    int64_t mid = std::max<int64_t>(1, c / r);
    fc1 = register_module("fc1", nn::Linear(c, mid));
    fc2 = register_module("fc2", nn::Linear(mid, c));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor s = x.flatten(2).mean(2);
    at::Tensor g = at::sigmoid(fc2(at::relu(fc1(s))));
    return x * g.unsqueeze(-1).unsqueeze(-1);
  }
  nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SE);

/// Channel attention of the decoder: global average, 1x1 conv (c -> c/16, bias), ReLU, 1x1 conv
/// (bias), sigmoid, scale.
class ChannelAttentionImpl : public nn::Module {
 public:
  explicit ChannelAttentionImpl(int64_t c, int64_t r = 16) {
    int64_t mid = std::max<int64_t>(1, c / r);
    c1 = register_module("conv1", conv(c, mid, 1, 1, 0, 1, true));
    c2 = register_module("conv2", conv(mid, c, 1, 1, 0, 1, true));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor g = at::adaptive_avg_pool2d(x, {1, 1});
    return x * at::sigmoid(c2(at::relu(c1(g))));
  }
  nn::Conv2d c1{nullptr}, c2{nullptr};
};
TORCH_MODULE(ChannelAttention);

nn::Sequential convT_bn_relu(int64_t in, int64_t out) {
  return nn::Sequential(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 2).stride(2).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU());
}

/// Pre-activation identity-mapping residual block of WideResNet-A2: BN-ReLU, then two 3x3 convs
/// (two channel counts) or 1x1-3x3-1x1 (three), BN-ReLU between, optional channel dropout before
/// the last conv; shortcut = 1x1 projection of the activated input when the stride or width
/// changes, else the input.
class WrnBlockImpl : public nn::Module {
 public:
  WrnBlockImpl(int64_t in, const std::vector<int64_t>& ch, int64_t stride, int64_t dil, double drop) {
    bn1 = register_module("bn1", nn::BatchNorm2d(in));
    nn::Sequential s;
    if (ch.size() == 2) {
      s->push_back(conv(in, ch[0], 3, stride, dil, dil));
      s->push_back(nn::BatchNorm2d(ch[0]));
      s->push_back(nn::ReLU());
      if (drop > 0) s->push_back(nn::Dropout2d(drop));
      s->push_back(conv(ch[0], ch[1], 3, 1, dil, dil));
    } else {
      s->push_back(conv(in, ch[0], 1, stride));
      s->push_back(nn::BatchNorm2d(ch[0]));
      s->push_back(nn::ReLU());
      s->push_back(conv(ch[0], ch[1], 3, 1, dil, dil));
      s->push_back(nn::BatchNorm2d(ch[1]));
      s->push_back(nn::ReLU());
      if (drop > 0) s->push_back(nn::Dropout2d(drop));
      s->push_back(conv(ch[1], ch[2], 1));
    }
    convs = register_module("convs", s);
    if (stride != 1 || in != ch.back()) proj = register_module("proj_conv", conv(in, ch.back(), 1, stride));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor a = at::relu(bn1(x));
    at::Tensor shortcut = proj ? proj(a) : x;
    return convs->forward(a) + shortcut;
  }
  nn::BatchNorm2d bn1{nullptr};
  nn::Sequential convs{nullptr};
  nn::Conv2d proj{nullptr};
};
TORCH_MODULE(WrnBlock);

}  // namespace

/// WideResNet-38-A2, dilated (output stride 8): mod1 3x3 conv; max pool + mod2 (3 blocks);
/// max pool + mod3 (3); mod4 (6, stride 2 in its first block); mod5 (3, dilation 2); mod6 and
/// mod7 (bottlenecks, dilation 4, channel dropout 0.3 / 0.5). Returns the H/2 (mod2), H/4 (mod3)
/// and H/8 (mod7) maps; no final BN (the code's wrapper drops it).
class Wrn38Encoder : public nn::Module {
 public:
  explicit Wrn38Encoder(int64_t k) {
    const std::vector<std::vector<int64_t>> widths = {{128, 128},  {256, 256},        {512, 512},
                                                      {512, 1024}, {512, 1024, 2048}, {1024, 2048, 4096}};
    const std::vector<int> structure = {3, 3, 6, 3, 1, 1};
    mod1 = register_module("mod1", conv(3, 64 / k, 3, 1, 1));
    int64_t in = 64 / k;
    for (std::size_t m = 0; m < structure.size(); ++m) {
      std::vector<int64_t> ch;
      for (int64_t c : widths[m]) ch.push_back(c / k);
      int64_t dil = m == 3 ? 2 : (m > 3 ? 4 : 1);
      double drop = m == 4 ? 0.3 : (m == 5 ? 0.5 : 0.0);
      nn::Sequential mod;
      for (int b = 0; b < structure[m]; ++b) {
        int64_t stride = (b == 0 && m == 2) ? 2 : 1;
        mod->push_back(WrnBlock(in, ch, stride, dil, drop));
        in = ch.back();
      }
      mods.push_back(register_module("mod" + std::to_string(m + 2), mod));
    }
  }
  std::tuple<at::Tensor, at::Tensor, at::Tensor> forward(const at::Tensor& x) {
    auto pool = [](const at::Tensor& t) { return at::max_pool2d(t, {3, 3}, {2, 2}, {1, 1}); };
    at::Tensor y = mod1(x);
    at::Tensor s2 = mods[0]->forward(pool(y));
    at::Tensor s4 = mods[1]->forward(pool(s2));
    y = s4;
    for (std::size_t m = 2; m < mods.size(); ++m) y = mods[m]->forward(y);
    return {s2, s4, y};
  }
  nn::Conv2d mod1{nullptr};
  std::vector<nn::Sequential> mods;
};

namespace {

/// Freq(x): a spatial branch (3x3 conv + GELU, 3x3 conv, 3x3 conv, + x; all with bias) and a
/// frequency branch (rfft2, "backward" norm; magnitude and phase each refined residually by
/// 1x1 conv, LeakyReLU 0.1, SE(r = 8), 1x1 conv; back with irfft2), concatenated and merged by a
/// 1x1 conv (bias).
class FreqExtractorImpl : public nn::Module {
 public:
  explicit FreqExtractorImpl(int64_t c) {
    spa1 = register_module("spa1", conv(c, c, 3, 1, 1, 1, true));
    spa_trans = register_module("spa_trans", conv(c, c, 3, 1, 1, 1, true));
    spa2 = register_module("spa2", conv(c, c, 3, 1, 1, 1, true));
    auto branch = [&](const std::string& name) {
      nn::Sequential s(conv(c, c, 1, 1, 0, 1, true),
                       nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)), SE(c, 8),
                       conv(c, c, 1, 1, 0, 1, true));
      return register_module(name, s);
    };
    mag = branch("mag");
    pha = branch("pha");
    merge = register_module("merge", conv(2 * c, c, 1, 1, 0, 1, true));
  }
  at::Tensor forward(const at::Tensor& x) {
    const int64_t h = x.size(2), w = x.size(3);
    at::Tensor spectrum = at::fft_rfft2(x);
    at::Tensor spatial = spa2(spa_trans(at::gelu(spa1(x)))) + x;
    at::Tensor m0 = at::abs(spectrum), p0 = at::angle(spectrum);
    at::Tensor m = m0 + mag->forward(m0), p = p0 + pha->forward(p0);
    at::Tensor back = at::fft_irfft2(at::complex(m * at::cos(p), m * at::sin(p)), at::IntArrayRef{h, w});
    return merge(at::cat({spatial, back}, 1));
  }
  nn::Conv2d spa1{nullptr}, spa_trans{nullptr}, spa2{nullptr}, merge{nullptr};
  nn::Sequential mag{nullptr}, pha{nullptr};
};
TORCH_MODULE(FreqExtractor);

/// Ctx (eq. 17 of the paper; the code's fusion_module with kernel 1, dilation 1): four 1x1 convs
/// (bias) on the map shifted to its four diagonal neighbours at distance 2 (zero padding),
/// summed, ReLU, SE(r = 1).
class ContextFusionImpl : public nn::Module {
 public:
  explicit ContextFusionImpl(int64_t c) {
    for (int i = 0; i < 4; ++i)
      convs.push_back(register_module("conv" + std::to_string(i + 1), conv(c, c, 1, 1, 0, 1, true)));
    se = register_module("se", SE(c, 1));
  }
  at::Tensor forward(const at::Tensor& x) {
    const int64_t h = x.size(2), w = x.size(3);
    at::Tensor p = at::constant_pad_nd(x, {2, 2, 2, 2});
    // p(r, c) = x(r - 2, c - 2): offsets (0,0), (4,0), (0,4), (4,4) give x(i-2,j-2), x(i+2,j-2),
    // x(i-2,j+2), x(i+2,j+2).
    at::Tensor sum =
        convs[0](p.narrow(2, 0, h).narrow(3, 0, w)) + convs[1](p.narrow(2, 4, h).narrow(3, 0, w)) +
        convs[2](p.narrow(2, 0, h).narrow(3, 4, w)) + convs[3](p.narrow(2, 4, h).narrow(3, 4, w));
    return se(at::relu(sum));
  }
  std::vector<nn::Conv2d> convs;
  SE se{nullptr};
};
TORCH_MODULE(ContextFusion);

}  // namespace

/// Ctx(x + TSM(x) + Freq(x)).
class MultiFeatureFusion : public nn::Module {
 public:
  explicit MultiFeatureFusion(int64_t c) {
    freq = register_module("freq", FreqExtractor(c));
    ctx = register_module("ctx", ContextFusion(c));
  }
  at::Tensor forward(const at::Tensor& x) { return ctx(x + temporal_shift(x, 4, 8) + freq(x)); }
  FreqExtractor freq{nullptr};
  ContextFusion ctx{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Trajectory filter

TrajectoryCoreImpl::TrajectoryCoreImpl(int64_t dim_, int64_t size0_, int64_t size1_, int64_t num_filters_)
    : dim(dim_), size0(size0_), size1(size1_), num_filters(num_filters_), med(2 * dim_) {
  const int64_t hidden = dim / 4;  // int(0.25 * dim)
  if (hidden < 1)
    throw InputError("infp: the trajectory filter needs at least 4 features, got " + std::to_string(dim));
  pwconv1 = register_module("pwconv1", nn::Linear(nn::LinearOptions(dim, med).bias(false)));
  act1 = register_module("act1", StarReLU());
  fc1 = register_module("reweight_fc1", nn::Linear(nn::LinearOptions(dim, hidden).bias(false)));
  act_mlp = register_module("reweight_act", StarReLU());
  fc2 = register_module("reweight_fc2", nn::Linear(nn::LinearOptions(hidden, num_filters * med).bias(false)));
  complex_weights =
      register_parameter("complex_weights", at::randn({size0, size1 / 2 + 1, num_filters, 2}) * 0.02);
  pwconv2 = register_module("pwconv2", nn::Linear(nn::LinearOptions(med, dim).bias(false)));
}

at::Tensor TrajectoryCoreImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0);
  if (x.size(1) != size0 || x.size(2) != size1 || x.size(3) != dim)
    throw InternalError("trajectory filter: input [" + std::to_string(b) + "," + std::to_string(x.size(1)) +
                        "," + std::to_string(x.size(2)) + "," + std::to_string(x.size(3)) +
                        "] does not match [B," + std::to_string(size0) + "," + std::to_string(size1) + "," +
                        std::to_string(dim) + "]");
  at::Tensor routing = fc2(act_mlp(fc1(x.mean({1, 2})))).view({b, num_filters, med}).softmax(1);
  at::Tensor y = act1(pwconv1(x));
  at::Tensor spec = at::fft_rfft2(y, c10::nullopt, {1, 2}, "ortho");
  at::Tensor cw = at::view_as_complex(complex_weights);  // [S0, S1/2+1, F]
  at::Tensor weight =
      at::einsum("bfc,hwf->bhwc", {routing.to(c10::toComplexType(routing.scalar_type())), cw});
  y = at::fft_irfft2(spec * weight, at::IntArrayRef{size0, size1}, {1, 2}, "ortho");
  return pwconv2(y);
}

TrajectoryFilterImpl::TrajectoryFilterImpl(int64_t channels, int64_t height, int64_t width, FilterAxes axes_)
    : axes(axes_) {
  core = axes == FilterAxes::Code ? TrajectoryCore(width, channels, height)
                                  : TrajectoryCore(channels, height, width);
  register_module("core", core);
}

at::Tensor TrajectoryFilterImpl::forward(const at::Tensor& x) {
  if (axes == FilterAxes::Code) return core(x);
  return core(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

// ---------------------------------------------------------------------------------------------
// The network

InfpNet::InfpNet(const InfpOptions& o) : opt_(o) {
  const int64_t k = o.width_div;
  const int64_t c0 = 4096 / k, c1 = 2048 / k, c2 = 1024 / k, c3 = 512 / k, c4 = 256 / k, c5 = 128 / k;
  enc_ = register_module("wrn38", std::make_shared<Wrn38Encoder>(k));
  conv_x8_ = register_module("conv_x8", conv(c0 * o.frames, c1, 1));
  conv_x2_ = register_module("conv_x2", conv(c4 * o.frames, c4, 1));
  conv_x1_ = register_module("conv_x1", conv(c5 * o.frames, c5, 1));
  up8_ = register_module("up8", convT_bn_relu(c1, c2));
  up4_ = register_module("up4", convT_bn_relu(c2 + c4, c3));
  up2_ = register_module("up2", convT_bn_relu(c3 + c5, c4));
  attn8_ = register_module("attn8", nn::Sequential(ChannelAttention(c2)));
  attn4_ = register_module("attn4", nn::Sequential(ChannelAttention(c3)));
  attn2_ = register_module("attn2", nn::Sequential(ChannelAttention(c4)));
  final_ = register_module(
      "final", nn::Sequential(conv(c4, c5, 1), nn::BatchNorm2d(c5), nn::ReLU(), conv(c5, c5, 3, 1, 1),
                              nn::BatchNorm2d(c5), nn::ReLU(), conv(c5, 3, 3, 1, 1)));
  for (nn::Module* m : {static_cast<nn::Module*>(conv_x8_.get()), static_cast<nn::Module*>(conv_x2_.get()),
                        static_cast<nn::Module*>(conv_x1_.get()), static_cast<nn::Module*>(up8_.get()),
                        static_cast<nn::Module*>(up4_.get()), static_cast<nn::Module*>(up2_.get()),
                        static_cast<nn::Module*>(attn8_.get()), static_cast<nn::Module*>(attn4_.get()),
                        static_cast<nn::Module*>(attn2_.get()), static_cast<nn::Module*>(final_.get())})
    init_weights(*m);
  if (o.fusion) fusion_ = register_module("fusion", std::make_shared<MultiFeatureFusion>(c1));
  if (o.filter) filter_ = register_module("filter", TrajectoryFilter(c4, o.height, o.width, o.filter_axes));
}

at::Tensor InfpNet::fuse(const at::Tensor& x8) {
  if (!fusion_) throw InternalError("InfpNet::fuse: fusion is off");
  return fusion_->forward(x8);
}

at::Tensor InfpNet::filter(const at::Tensor& x) {
  if (!filter_) throw InternalError("InfpNet::filter: the filter is off");
  return filter_(x);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> InfpNet::encode(const at::Tensor& frame) {
  return enc_->forward(frame);
}

at::Tensor InfpNet::predict(const at::Tensor& clip) {
  if (clip.dim() != 5 || clip.size(1) != opt_.frames || clip.size(2) != 3 || clip.size(3) != opt_.height ||
      clip.size(4) != opt_.width)
    throw InternalError("infp: expected a clip [B," + std::to_string(opt_.frames) + ",3," +
                        std::to_string(opt_.height) + "," + std::to_string(opt_.width) + "]");
  // The encoder runs once per frame (batch statistics of BN per frame, as the code).
  std::vector<at::Tensor> x1s, x2s, x8s;
  for (int64_t i = 0; i < clip.size(1); ++i) {
    auto [s2, s4, s8] = enc_->forward(clip.select(1, i));
    x1s.push_back(s2);
    x2s.push_back(s4);
    x8s.push_back(s8);
  }
  at::Tensor x8 = conv_x8_(at::cat(x8s, 1));
  at::Tensor x2 = conv_x2_(at::cat(x2s, 1));
  at::Tensor x1 = conv_x1_(at::cat(x1s, 1));
  if (fusion_) x8 = fusion_->forward(x8);
  at::Tensor x = attn8_->forward(up8_->forward(x8));
  x = attn4_->forward(up4_->forward(at::cat({x2, x}, 1)));
  x = attn2_->forward(up2_->forward(at::cat({x1, x}, 1)));
  if (filter_) x = filter_(x);
  return final_->forward(x);
}

at::Tensor InfpNet::loss(const at::Tensor& predicted, const at::Tensor& target) {
  return infp_loss(predicted, target, opt_.msssim_quirk);
}

std::shared_ptr<adbench::video::FramePredictor> make_infp_net(const nlohmann::json& cfg) {
  return std::make_shared<InfpNet>(infp_options(cfg));
}

}  // namespace adbench::infp
