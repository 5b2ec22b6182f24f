// torchvision's ResNet (v1.5: stride in the 3x3 convolution) and MobileNetV2, rebuilt with
// torch::nn modules registered under torchvision's names, so that named_parameters() and
// named_buffers() yield exactly torchvision's state_dict keys.
#include <cmath>

#include "nets.hpp"

namespace nn = torch::nn;

namespace adbench::detail {

std::pair<int64_t, int64_t> tf_same_pad(int64_t n, int64_t k, int64_t s) {
  const int64_t out = (n + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - n, 0);
  return {total / 2, total - total / 2};
}

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, int64_t groups = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).groups(groups).bias(false));
}

// ---- ResNet ---------------------------------------------------------------------------------

struct BasicBlockImpl : nn::Module {
  static constexpr int64_t kExpansion = 1;
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};

  BasicBlockImpl(int64_t inplanes, int64_t planes, int64_t stride, int64_t /*base_width*/) {
    conv1 = register_module("conv1", conv(inplanes, planes, 3, stride, 1));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    if (stride != 1 || inplanes != planes * kExpansion)
      downsample =
          register_module("downsample", nn::Sequential(conv(inplanes, planes * kExpansion, 1, stride, 0),
                                                       nn::BatchNorm2d(planes * kExpansion)));
  }
  at::Tensor forward(const at::Tensor& x) {
    auto out = bn1->forward(conv1->forward(x)).relu_();
    out = bn2->forward(conv2->forward(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }
};
TORCH_MODULE(BasicBlock);

struct BottleneckImpl : nn::Module {
  static constexpr int64_t kExpansion = 4;
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};

  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, int64_t base_width) {
    const int64_t width = planes * base_width / 64;
    conv1 = register_module("conv1", conv(inplanes, width, 1, 1, 0));
    bn1 = register_module("bn1", nn::BatchNorm2d(width));
    conv2 = register_module("conv2", conv(width, width, 3, stride, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(width));
    conv3 = register_module("conv3", conv(width, planes * kExpansion, 1, 1, 0));
    bn3 = register_module("bn3", nn::BatchNorm2d(planes * kExpansion));
    if (stride != 1 || inplanes != planes * kExpansion)
      downsample =
          register_module("downsample", nn::Sequential(conv(inplanes, planes * kExpansion, 1, stride, 0),
                                                       nn::BatchNorm2d(planes * kExpansion)));
  }
  at::Tensor forward(const at::Tensor& x) {
    auto out = bn1->forward(conv1->forward(x)).relu_();
    out = bn2->forward(conv2->forward(out)).relu_();
    out = bn3->forward(conv3->forward(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }
};
TORCH_MODULE(Bottleneck);

struct ResNetImpl : nn::Module {
  nn::Conv2d conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  nn::Sequential layers[4];
  nn::Linear fc{nullptr};
};

template <typename Block>
Net make_resnet(const std::array<int64_t, 4>& blocks, int64_t base_width) {
  auto m = std::make_shared<ResNetImpl>();
  m->conv1 = m->register_module("conv1", conv(3, 64, 7, 2, 3));
  m->bn1 = m->register_module("bn1", nn::BatchNorm2d(64));
  int64_t inplanes = 64;
  for (int i = 0; i < 4; ++i) {
    const int64_t planes = 64 << i;
    nn::Sequential layer;
    for (int64_t b = 0; b < blocks[i]; ++b) {
      layer->push_back(Block(inplanes, planes, (b == 0 && i > 0) ? 2 : 1, base_width));
      inplanes = planes * Block::Impl::kExpansion;
    }
    m->layers[i] = m->register_module("layer" + std::to_string(i + 1), layer);
  }
  m->fc = m->register_module("fc", nn::Linear(512 * Block::Impl::kExpansion, 1000));

  Net net;
  net.module = m;
  ResNetImpl* r = m.get();  // the stages live no longer than net.module
  // Out-of-place where the previous stage's output may have been handed out as a feature.
  net.stages = {
      {"conv1", [r](const at::Tensor& x) { return r->conv1->forward(x); }},
      {"bn1", [r](const at::Tensor& x) { return r->bn1->forward(x); }},
      {"relu", [](const at::Tensor& x) { return x.relu(); }},
      {"maxpool",
       [](const at::Tensor& x) {
         return at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
       }},
  };
  for (int i = 0; i < 4; ++i)
    net.stages.push_back(
        {"layer" + std::to_string(i + 1), [r, i](const at::Tensor& x) { return r->layers[i]->forward(x); }});
  net.stages.push_back({"avgpool", [](const at::Tensor& x) { return at::adaptive_avg_pool2d(x, {1, 1}); }});
  net.stages.push_back({"fc", [r](const at::Tensor& x) { return r->fc->forward(x.flatten(1)); }});
  return net;
}

// ---- MobileNetV2 ----------------------------------------------------------------------------

/// torchvision's Conv2dNormActivation (conv "0", BatchNorm "1", ReLU6 "2" without parameters).
struct ConvBNReLUImpl : nn::Module {
  nn::Conv2d conv0{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  int64_t kernel, stride;
  bool tf_same;

  ConvBNReLUImpl(int64_t in, int64_t out, int64_t k, int64_t s, int64_t groups, bool tf_same_padding)
      : kernel(k), stride(s), tf_same(tf_same_padding && s == 2) {
    conv0 = register_module("0", conv(in, out, k, s, tf_same ? 0 : (k - 1) / 2, groups));
    bn1 = register_module("1", nn::BatchNorm2d(out));
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor in = x;
    if (tf_same) {
      auto [top, bottom] = tf_same_pad(x.size(2), kernel, stride);
      auto [left, right] = tf_same_pad(x.size(3), kernel, stride);
      if (top || bottom || left || right) in = at::constant_pad_nd(x, {left, right, top, bottom}, 0);
    }
    return at::hardtanh(bn1->forward(conv0->forward(in)), 0.0, 6.0);
  }
};
TORCH_MODULE(ConvBNReLU);

struct InvertedResidualImpl : nn::Module {
  nn::Sequential conv_seq;
  bool use_res;

  InvertedResidualImpl(int64_t inp, int64_t oup, int64_t stride, int64_t expand, bool tf_same)
      : use_res(stride == 1 && inp == oup) {
    const int64_t hidden = inp * expand;
    if (expand != 1) conv_seq->push_back(ConvBNReLU(inp, hidden, 1, 1, 1, false));
    conv_seq->push_back(ConvBNReLU(hidden, hidden, 3, stride, hidden, tf_same));
    conv_seq->push_back(conv(hidden, oup, 1, 1, 0));
    conv_seq->push_back(nn::BatchNorm2d(oup));
    register_module("conv", conv_seq);
  }
  at::Tensor forward(const at::Tensor& x) {
    auto out = conv_seq->forward(x);
    return use_res ? out + x : out;
  }
};
TORCH_MODULE(InvertedResidual);

struct MobileNetV2Impl : nn::Module {
  nn::Sequential features, classifier;
};

}  // namespace

Net make_resnet18() { return make_resnet<BasicBlock>({2, 2, 2, 2}, 64); }
Net make_resnet34() { return make_resnet<BasicBlock>({3, 4, 6, 3}, 64); }
Net make_wide_resnet50_2() { return make_resnet<Bottleneck>({3, 4, 6, 3}, 128); }

Net make_mobilenet_v2(bool tf_same) {
  auto m = std::make_shared<MobileNetV2Impl>();
  Net net;
  net.module = m;
  auto add = [&](auto module) {
    const std::string name = "features." + std::to_string(m->features->size());
    m->features->push_back(module);
    net.stages.push_back({name, [module](const at::Tensor& x) mutable { return module->forward(x); }});
  };
  add(ConvBNReLU(3, 32, 3, 2, 1, tf_same));
  // t (expansion), c (channels), n (repeats), s (stride of the first)
  const int64_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t in = 32;
  for (const auto& [t, c, n, s] : settings)
    for (int64_t i = 0; i < n; ++i) {
      add(InvertedResidual(in, c, i == 0 ? s : 1, t, tf_same));
      in = c;
    }
  add(ConvBNReLU(in, 1280, 1, 1, 1, false));
  m->register_module("features", m->features);
  m->classifier->push_back(nn::Dropout(0.2));
  nn::Linear linear(1280, 1000);
  m->classifier->push_back(linear);
  m->register_module("classifier", m->classifier);
  net.stages.push_back({"classifier", [linear](const at::Tensor& x) mutable {
                          return linear->forward(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
                        }});
  return net;
}

void init_resnet(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& sub : m.modules()) {
    if (auto* c = sub->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = sub->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    } else if (auto* l = sub->as<nn::Linear>()) {
      l->reset_parameters();  // PyTorch's default Linear init, as torchvision leaves it
    }
  }
}

void init_mobilenet_v2(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& sub : m.modules()) {
    if (auto* c = sub->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
    } else if (auto* b = sub->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    } else if (auto* l = sub->as<nn::Linear>()) {
      nn::init::normal_(l->weight, 0.0, 0.01);
      nn::init::zeros_(l->bias);
    }
  }
}

}  // namespace adbench::detail
