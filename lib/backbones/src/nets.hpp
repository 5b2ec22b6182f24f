#pragma once
// Internal: the torchvision architectures as torch::nn modules whose parameter and buffer names
// equal torchvision's state_dict keys, each exposed as an ordered list of named stages (the
// tappable layers). Included only by the module's .cpp files (torch/nn.h compiles slowly).
#include <torch/nn.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace adbench::detail {

/// An architecture: the module (parameters, buffers, eval/train, device) and its stages in
/// forward order; the last stage's output is the logits.
struct Net {
  std::shared_ptr<torch::nn::Module> module;
  std::vector<Stage> stages;
};

/// TF "SAME" padding of one spatial size n for kernel k and stride s: {before, after}, with the
/// smaller half before (top/left).
std::pair<int64_t, int64_t> tf_same_pad(int64_t n, int64_t k, int64_t s);

/// resnet18 / resnet34 / wide_resnet50_2 (torchvision v1.5 layout, 1000 classes).
Net make_resnet18();
Net make_resnet34();
Net make_wide_resnet50_2();
/// mobilenet_v2 width 1.0, 1000 classes. tf_same: the five stride-2 3x3 convolutions use
/// padding 0 and pad their input by the TF SAME rule instead of torchvision's symmetric 1.
Net make_mobilenet_v2(bool tf_same);

/// torchvision's initialisation of each architecture, drawn from the global generator.
void init_resnet(torch::nn::Module& m);
void init_mobilenet_v2(torch::nn::Module& m);

}  // namespace adbench::detail
