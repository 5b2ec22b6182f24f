#include "mvad/mvad_net.hpp"

#include <cmath>

namespace nn = torch::nn;

namespace adbench::mvad {

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(bias));
}
nn::ConvTranspose2d deconv2x2(int64_t in, int64_t out) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 2).stride(2).bias(false));
}

/// timm's Bottleneck (expansion 4): 1x1, 3x3 (stride), 1x1, BN after each, projection shortcut.
struct BottleneckImpl : nn::Module {
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 1, 1, false));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, false));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    conv3 = register_module("conv3", conv(planes, planes * 4, 1, 1, false));
    bn3 = register_module("bn3", nn::BatchNorm2d(planes * 4));
    if (stride != 1 || in != planes * 4) {
      down = register_module("downsample_conv", conv(in, planes * 4, 1, stride, false));
      down_bn = register_module("downsample_bn", nn::BatchNorm2d(planes * 4));
    }
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor out = at::relu(bn1(conv1(x)));
    out = at::relu(bn2(conv2(out)));
    out = bn3(conv3(out));
    return at::relu(out + (down ? down_bn(down(x)) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, down{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, down_bn{nullptr};
};
TORCH_MODULE(Bottleneck);

/// MVAD's DeBasicBlock: a 2x2 stride-2 deconvolution (or 3x3) and a 3x3, BN after each, with an
/// upsampling deconvolution + BN shortcut when the shape changes.
struct DeBasicBlockImpl : nn::Module {
  DeBasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
    if (stride == 2)
      up1 = register_module("conv1", deconv2x2(in, planes));
    else
      conv1 = register_module("conv1", conv(in, planes, 3, 1, false));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, false));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    if (stride != 1 || in != planes) {
      up = register_module("upsample_deconv", deconv2x2(in, planes));
      up_bn = register_module("upsample_bn", nn::BatchNorm2d(planes));
    }
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor out = at::relu(bn1(up1 ? up1(x) : conv1(x)));
    out = bn2(conv2(out));
    return at::relu(out + (up ? up_bn(up(x)) : x));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::ConvTranspose2d up1{nullptr}, up{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, up_bn{nullptr};
};
TORCH_MODULE(DeBasicBlock);

/// The official code's initialisation of MID_LAYER and the decoder: Kaiming normal (fan_out, ReLU)
/// for every Conv2d, BN weight 1 and bias 0; deconvolutions and linear layers keep PyTorch's default.
void init_convs(nn::Module& m) {
  at::NoGradGuard no_grad;
  for (auto& mod : m.modules(/*include_self=*/false)) {
    if (auto* c = mod->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    } else if (auto* b = mod->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

}  // namespace

at::Tensor sine_position_embedding(int64_t h, int64_t w, int64_t c) {
  const int64_t npf = c / 2;
  const double eps = 1e-6, scale = 2.0 * M_PI;
  auto opts = at::TensorOptions().dtype(at::kFloat);
  at::Tensor y =
      (at::arange(1, h + 1, opts) / (static_cast<double>(h) + eps) * scale).view({h, 1}).expand({h, w});
  at::Tensor x =
      (at::arange(1, w + 1, opts) / (static_cast<double>(w) + eps) * scale).view({1, w}).expand({h, w});
  at::Tensor dim_t = at::arange(npf, opts);
  dim_t = at::pow(10000.0, at::floor(dim_t / 2) * 2 / static_cast<double>(npf));
  auto encode = [&](const at::Tensor& e) {
    at::Tensor p = e.unsqueeze(-1) / dim_t;  // [h, w, npf]
    return at::stack({p.slice(2, 0, npf, 2).sin(), p.slice(2, 1, npf, 2).cos()}, 3).flatten(2);
  };
  return at::cat({encode(y), encode(x)}, 2).contiguous();
}

MvasImpl::MvasImpl(int64_t channels, int64_t n_win, int64_t heads, int64_t topk, bool proj)
    : c_(channels), n_win_(n_win), heads_(heads), topk_(topk) {
  if (proj) {
    cv_linear_ = register_module("cv_linear", nn::Linear(channels, channels));
    mv_linear_ = register_module("mv_linear", nn::Linear(channels, channels));
  }
}

at::Tensor MvasImpl::forward(const at::Tensor& query, const at::Tensor& kv_in) {
  at::Tensor q = cv_linear_ ? cv_linear_(query) : query;
  at::Tensor kv = mv_linear_ ? mv_linear_(kv_in) : kv_in;
  const int64_t n = q.size(0), h0 = q.size(1), w0 = q.size(2), c = c_, v = kv.size(1), nw = n_win_;
  const int64_t pad_r = (nw - w0 % nw) % nw, pad_b = (nw - h0 % nw) % nw;
  if (pad_r > 0 || pad_b > 0) {
    q = at::constant_pad_nd(q, {0, 0, 0, pad_r, 0, pad_b}, 0.0);
    kv = at::constant_pad_nd(kv, {0, 0, 0, pad_r, 0, pad_b}, 0.0);
  }
  const int64_t hh = h0 + pad_b, ww = w0 + pad_r, h = hh / nw, w = ww / nw, p = nw * nw, t = h * w;
  // Windows, row-major over the window grid; tokens row-major within a window.
  at::Tensor qw = q.reshape({n, nw, h, nw, w, c}).permute({0, 1, 3, 2, 4, 5}).reshape({n, p, t, c});
  at::Tensor kw =
      kv.reshape({n, v, nw, h, nw, w, c}).permute({0, 1, 2, 4, 3, 5, 6}).reshape({n, v * p, t, c});
  const double scale = 1.0 / std::sqrt(static_cast<double>(c));
  const int64_t k = std::min(topk_, v * p);
  at::Tensor idx;
  {
    at::NoGradGuard no_grad;  // routing is not differentiated (the official code detaches it)
    at::Tensor logits = at::matmul(qw.mean(2) * scale, kw.mean(2).transpose(1, 2));  // [n, p, v*p]
    idx = std::get<1>(logits.topk(k, -1));                                           // [n, p, k]
    idx = (idx + at::arange(n, idx.options()).view({n, 1, 1}) * (v * p)).flatten();
  }
  const int64_t m = heads_, d = c / heads_;
  at::Tensor sel = kw.reshape({n * v * p, t, c}).index_select(0, idx);        // [n*p*k, t, c]
  at::Tensor keys = sel.reshape({n * p, k * t, m, d}).permute({0, 2, 1, 3});  // [n*p, m, k*t, d]
  at::Tensor qh = qw.reshape({n * p, t, m, d}).permute({0, 2, 1, 3});         // [n*p, m, t, d]
  at::Tensor attn = at::softmax(at::matmul(qh * scale, keys.transpose(-2, -1)), -1);
  at::Tensor out = at::matmul(attn, keys);  // [n*p, m, t, d]
  out = out.permute({0, 2, 1, 3})
            .reshape({n, nw, nw, h, w, c})
            .permute({0, 1, 3, 2, 4, 5})
            .reshape({n, hh, ww, c});
  if (pad_r > 0 || pad_b > 0) out = out.narrow(1, 0, h0).narrow(2, 0, w0).contiguous();
  return out;
}

MvadNetImpl::MvadNetImpl(const NetOptions& o) : o_(o) {
  const auto& ch = o_.channels;
  for (std::size_t l = 0; l < 3; ++l) {
    std::vector<Block> blocks;
    const int64_t c = ch[l];
    for (int64_t b = 0; b < o_.blocks[l]; ++b) {
      const std::string pre = "level" + std::to_string(l) + "_block" + std::to_string(b) + "_";
      Block blk;
      blk.mvas = register_module(pre + "mvas", Mvas(c, o_.n_win[l], o_.heads, o_.topk[l], o_.proj));
      blk.norm1 = register_module(pre + "norm1", nn::LayerNorm(nn::LayerNormOptions({c}).eps(1e-6)));
      blk.fc1 = register_module(pre + "fc1", nn::Linear(c, 4 * c));
      blk.fc2 = register_module(pre + "fc2", nn::Linear(4 * c, c));
      blk.norm2 = register_module(pre + "norm2", nn::LayerNorm(nn::LayerNormOptions({c}).eps(1e-6)));
      blocks.push_back(blk);
    }
    blocks_.push_back(std::move(blocks));
  }
  conv1_ = register_module("fuse_conv1", conv(ch[0], ch[1], 3, 2, false));
  bn1_ = register_module("fuse_bn1", nn::BatchNorm2d(ch[1]));
  conv21_ = register_module("fuse_conv21", conv(ch[1], ch[1], 1, 1, true));
  bn21_ = register_module("fuse_bn21", nn::BatchNorm2d(ch[1]));
  conv2_ = register_module("fuse_conv2", conv(ch[1], ch[2], 3, 2, false));
  bn2_ = register_module("fuse_bn2", nn::BatchNorm2d(ch[2]));
  conv31_ = register_module("fuse_conv31", conv(ch[2], ch[2], 1, 1, true));
  bn31_ = register_module("fuse_bn31", nn::BatchNorm2d(ch[2]));
  convf_ = register_module("fuse_convf", conv(ch[2], ch[2], 1, 1, true));
  bnf_ = register_module("fuse_bnf", nn::BatchNorm2d(ch[2]));
  bottleneck_ = nn::Sequential();
  int64_t in = ch[2];
  for (int b = 0; b < 3; ++b) {
    bottleneck_->push_back(Bottleneck(in, 128, b == 0 ? 2 : 1));
    in = 512;
  }
  register_module("fuse_bottleneck", bottleneck_);
  for (int l = 0; l < 3; ++l) {
    decoder_[l] = nn::Sequential();
    const int64_t planes = ch[static_cast<std::size_t>(2 - l)];
    for (int64_t b = 0; b < o_.decoder_blocks[static_cast<std::size_t>(l)]; ++b) {
      decoder_[l]->push_back(DeBasicBlock(in, planes, b == 0 ? 2 : 1));
      in = planes;
    }
    register_module("decoder_layer" + std::to_string(l + 1), decoder_[l]);
  }
  init_convs(*this);
}

at::Tensor MvadNetImpl::drop_path(const at::Tensor& x) const {
  if (!is_training() || o_.drop_path <= 0) return x;
  const double keep = 1.0 - o_.drop_path;
  std::vector<int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  at::Tensor mask = at::empty(shape, x.options()).bernoulli_(keep).div_(keep);
  return x * mask;
}

at::Tensor MvadNetImpl::level(std::size_t l, const at::Tensor& f) {
  const int64_t v = o_.views, n = f.size(0) / v, c = f.size(1), h = f.size(2), w = f.size(3);
  at::Tensor tokens = f.permute({0, 2, 3, 1}).contiguous();  // [n*v, h, w, c]
  at::Tensor per_sample = tokens.view({n, v, h, w, c});
  std::vector<at::Tensor> kvs;
  for (int64_t i = 0; i < v; ++i) {
    std::vector<int64_t> others;
    for (int64_t j = 0; j < v; ++j)
      if (j != i) others.push_back(j);
    kvs.push_back(per_sample.index_select(1, at::tensor(others, at::kLong).to(f.device())));
  }
  at::Tensor kv = at::stack(kvs, 1).reshape({n * v, v - 1, h, w, c});  // each view's 4 others
  at::Tensor pos = sine_position_embedding(h, w, c).to(f.device());
  const double p = is_training() ? o_.dropout : 0.0;
  at::Tensor x = tokens;
  for (auto& b : blocks_[l]) {
    x = b.norm1(x + drop_path(b.mvas(x + pos, kv)));
    at::Tensor y = at::dropout(b.fc2(at::dropout(at::relu(b.fc1(x)), p, is_training())), p, is_training());
    x = b.norm2(x + y);
  }
  return x.permute({0, 3, 1, 2}).contiguous();
}

std::vector<at::Tensor> MvadNetImpl::forward(const std::vector<at::Tensor>& feats) {
  at::Tensor fpn0 = at::relu(bn1_(conv1_(level(0, feats[0]))));
  at::Tensor fpn1 = at::relu(bn21_(conv21_(level(1, feats[1])))) + fpn0;
  at::Tensor f = at::relu(bn2_(conv2_(fpn1))) + at::relu(bn31_(conv31_(level(2, feats[2]))));
  f = at::relu(bnf_(convf_(f)));
  at::Tensor z = bottleneck_->forward(f);
  at::Tensor a = decoder_[0]->forward(z);
  at::Tensor b = decoder_[1]->forward(a);
  at::Tensor c = decoder_[2]->forward(b);
  return {c, b, a};
}

}  // namespace adbench::mvad
