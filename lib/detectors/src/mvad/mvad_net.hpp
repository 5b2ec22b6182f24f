#pragma once
// MVAD's trainable part (He et al., "Learning Multi-view Anomaly Detection with Efficient Adaptive
// Selection", official code: GitHub lewandofskee/MVAD, model/mvad.py), written from that code for
// any encoder whose three tapped levels have channels C0, C1, C2 at strides 4, 8, 16 (ResNet34:
// 64/128/256, MobileNetV2: 24/32/96). The frozen encoder lives outside (a Backbone).
//
//   per level l and view v:  x = cv = the view's tokens [N,H,W,C]; kv = the other 4 views' tokens
//     blocks_l times:        x = LN(x + DropPath(MVAS(x + pos, kv)));  x = LN(x + MLP(x))
//   MVAS(n_win, heads, k):   zero-pad to multiples of n_win; windows of (H/n_win, W/n_win) tokens;
//                            window descriptors = mean tokens; route every query window to the top-k
//                            of the 4 n_win^2 key windows by descriptor dot products x C^-1/2;
//                            heads-way attention of its tokens over those windows' tokens (scale
//                            C^-1/2 of the full C; no projections unless `proj`); unpad
//   fusion (MID_LAYER):      fpn0 = ReLU(BN(conv3x3 s2 C0->C1 (x0)))
//                            fpn1 = ReLU(BN(conv1x1 C1->C1 (x1))) + fpn0
//                            f    = ReLU(BN(conv3x3 s2 C1->C2 (fpn1))) + ReLU(BN(conv1x1 C2->C2 (x2)))
//                            f    = ReLU(BN(conv1x1 C2->C2 (f))); 3 Bottlenecks (planes 128, first s2) -> 512
//   decoder (de_resnet34):   3, 4, 6 DeBasicBlocks to C2, C1, C0, each level 2x up by a 2x2 deconv
// Outputs the decoder's three levels [level 1, 2, 3] to compare with the encoder's.
#include <torch/nn.h>

#include <vector>

namespace adbench::mvad {

struct NetOptions {
  std::vector<int64_t> channels;         ///< encoder channels of the three levels (C0, C1, C2)
  std::vector<int64_t> n_win{14, 9, 6};  ///< windows per side at each level
  std::vector<int64_t> topk{4, 4, 4};    ///< key windows each query window attends to
  std::vector<int64_t> blocks{1, 2, 4};  ///< MVAS blocks per level
  std::vector<int64_t> decoder_blocks{3, 4, 6};
  int64_t heads = 8;
  double dropout = 0.1, drop_path = 0.1;
  bool proj = false;  ///< cv_linear / mv_linear (C->C) projections of the published log's variant
  int64_t views = 5;
};

/// DETR's 2-D sine position embedding, normalised, scale 2 pi, temperature 10000, C/2 channels per
/// axis (y first): [H, W, C] float32.
at::Tensor sine_position_embedding(int64_t h, int64_t w, int64_t c);

class MvasImpl : public torch::nn::Module {
 public:
  MvasImpl(int64_t channels, int64_t n_win, int64_t heads, int64_t topk, bool proj);
  /// query [N,H,W,C], kv [N,V,H,W,C] -> [N,H,W,C].
  at::Tensor forward(const at::Tensor& query, const at::Tensor& kv);

 private:
  int64_t c_, n_win_, heads_, topk_;
  torch::nn::Linear cv_linear_{nullptr}, mv_linear_{nullptr};
};
TORCH_MODULE(Mvas);

class MvadNetImpl : public torch::nn::Module {
 public:
  explicit MvadNetImpl(const NetOptions& o);
  /// feats: the encoder's three levels, [N*views, C_l, H_l, W_l] with the views of a sample
  /// consecutive. Returns the decoder's reconstruction of each level (same shapes).
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& feats);

 private:
  struct Block {
    Mvas mvas{nullptr};
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  };
  at::Tensor level(std::size_t l, const at::Tensor& f);  ///< cross-view blocks of one level (NCHW in and out)
  at::Tensor drop_path(const at::Tensor& x) const;
  NetOptions o_;
  std::vector<std::vector<Block>> blocks_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv21_{nullptr}, conv31_{nullptr}, convf_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn21_{nullptr}, bn31_{nullptr}, bnf_{nullptr};
  torch::nn::Sequential bottleneck_{nullptr}, decoder_[3];
};
TORCH_MODULE(MvadNet);

}  // namespace adbench::mvad
