// mvad (issue 10): its building blocks against values computed by hand, and the gate on the
// synthetic multi-view set (`adbench synth --kind multiview`, seed 0): with the shared MobileNetV2
// at 128 x 128 the training loss falls and S-AUROC (max over views) >= 0.8; the saved state
// predicts the same; a checkpoint resumes, and one of other settings is refused. The gate's
// settings are what
//   adbench eval --detector mvad --dataset real_iad --root DIR --category crate --backbone mobilenet_v2
//     --backbone-weights W --set image_size=128 --set 'n_win=[8,4,2]' --set epochs=12
// runs (results/bench/mvad.md).
#include <ATen/Parallel.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "adbench/bench/evaluate.hpp"
#include "adbench/core/device.hpp"
#include "adbench/core/log.hpp"
#include "adbench/datasets/dataset.hpp"
#include "adbench/datasets/synth_multiview.hpp"
#include "mvad/mvad.hpp"
#include "mvad/mvad_net.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::TempDir;

namespace {

constexpr int kEpochs = 12;
const fs::path kWeights = adbench::test::shared_dir() / "weights/mobilenet_v2_imagenet_coral.safetensors";

/// Plain multi-head attention of q [T, C] over kv [S, C] with scale C^-1/2 (no projections).
at::Tensor attention(const at::Tensor& q, const at::Tensor& kv, int64_t heads) {
  const int64_t c = q.size(1), d = c / heads;
  std::vector<at::Tensor> outs;
  for (int64_t h = 0; h < heads; ++h) {
    at::Tensor qh = q.narrow(1, h * d, d), kh = kv.narrow(1, h * d, d);
    at::Tensor a = at::softmax(at::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(c)), 1);
    outs.push_back(at::matmul(a, kh));
  }
  return at::cat(outs, 1);
}

const LevelResult& level(const CategoryResult& r, const std::string& name) {
  for (const auto& l : r.levels)
    if (l.level == name) return l;
  FAIL("no level " << name);
  return r.levels.front();
}

double metric(const CategoryResult& r, const std::string& lv, const std::string& name) {
  for (const auto& [k, v] : level(r, lv).metrics)
    if (k == name) {
      REQUIRE(v.has_value());
      return *v;
    }
  FAIL("no metric " << name << " at level " << lv);
  return 0;
}

}  // namespace

TEST_CASE("mvad: sine position embedding (DETR, normalised, 2 pi, C/2 per axis, y first)", "[mvad]") {
  // 2 x 2, C = 4: one frequency per axis (dim_t = 1, 1), positions pi and 2 pi.
  at::Tensor p = mvad::sine_position_embedding(2, 2, 4);
  REQUIRE(p.sizes() == at::IntArrayRef({2, 2, 4}));
  auto at_ = [&](int y, int x) {
    std::vector<double> v;
    for (int k = 0; k < 4; ++k) v.push_back(p[y][x][k].item<double>());
    return v;
  };
  const double pi = M_PI * 2 / (2 + 1e-6);
  CHECK_THAT(at_(0, 0)[0], Catch::Matchers::WithinAbs(std::sin(pi), 1e-6));
  CHECK_THAT(at_(0, 0)[1], Catch::Matchers::WithinAbs(std::cos(pi), 1e-6));
  CHECK_THAT(at_(1, 0)[1], Catch::Matchers::WithinAbs(std::cos(2 * pi), 1e-6));  // y = 2 pi
  CHECK_THAT(at_(1, 0)[3], Catch::Matchers::WithinAbs(std::cos(pi), 1e-6));      // x = pi
  CHECK_THAT(at_(0, 1)[3], Catch::Matchers::WithinAbs(std::cos(2 * pi), 1e-6));
  // C = 8: the second frequency pair uses dim_t = 10000^(2/4) = 100.
  at::Tensor q = mvad::sine_position_embedding(3, 5, 8);
  const double y2 = 2.0 / (3 + 1e-6) * 2 * M_PI;  // row 1
  CHECK_THAT(q[1][0][2].item<double>(), Catch::Matchers::WithinAbs(std::sin(y2 / 100), 1e-6));
  CHECK_THAT(q[1][0][3].item<double>(), Catch::Matchers::WithinAbs(std::cos(y2 / 100), 1e-6));
}

TEST_CASE("mvad: MVAS is windowed attention over the top-k key windows", "[mvad]") {
  at::manual_seed(3);
  const int64_t c = 16, heads = 8;
  SECTION("one window, every key window: plain attention over all 4 views' tokens") {
    mvad::Mvas m(c, 1, heads, 4, false);
    at::Tensor q = at::randn({2, 3, 5, c}), kv = at::randn({2, 4, 3, 5, c});
    at::Tensor out = m->forward(q, kv);
    REQUIRE(out.sizes() == at::IntArrayRef({2, 3, 5, c}));
    for (int64_t n = 0; n < 2; ++n) {
      at::Tensor ref = attention(q[n].reshape({15, c}), kv[n].reshape({60, c}), heads).reshape({3, 5, c});
      CHECK(at::allclose(out[n], ref, 1e-5, 1e-5));
    }
  }
  SECTION("2 x 2 windows of a 3 x 3 map (padded to 4 x 4): each query window sees its top-1 key window") {
    mvad::Mvas m(c, 2, heads, 1, false);
    at::Tensor q = at::randn({1, 3, 3, c});
    // Key view 2's window (1, 0) is q's mean direction scaled up: every query window routes there.
    at::Tensor kv = at::randn({1, 4, 3, 3, c}) * 0.01;
    at::Tensor target = q.mean({0, 1, 2});
    kv[0][2].narrow(0, 2, 1).narrow(1, 0, 2).copy_(target.view({1, 1, c}).expand({1, 2, c}) * 50);
    at::Tensor out = m->forward(q, kv);
    REQUIRE(out.sizes() == at::IntArrayRef({1, 3, 3, c}));
    // Window (1, 0) of the padded 4 x 4 key map: rows 2..3, columns 0..1; row 3 is zero padding.
    at::Tensor padded = at::constant_pad_nd(kv[0][2], {0, 0, 0, 1, 0, 1}, 0.0);
    at::Tensor keys = padded.narrow(0, 2, 2).narrow(1, 0, 2).reshape({4, c});
    at::Tensor qp = at::constant_pad_nd(q[0], {0, 0, 0, 1, 0, 1}, 0.0);
    at::Tensor ref = attention(qp.reshape({16, c}), keys, heads);
    // Only tokens of query windows whose routing picks that window; check the top-left window,
    // whose mean is closest to q's mean.
    at::Tensor ref_tl =
        attention(qp.narrow(0, 0, 2).narrow(1, 0, 2).reshape({4, c}), keys, heads).reshape({2, 2, c});
    CHECK(at::allclose(out[0].narrow(0, 0, 2).narrow(1, 0, 2), ref_tl, 1e-5, 1e-5));
    (void)ref;
  }
}

TEST_CASE("mvad: network shapes for ResNet34 and MobileNetV2 channels", "[mvad]") {
  for (const auto& ch : std::vector<std::vector<int64_t>>{{64, 128, 256}, {24, 32, 96}}) {
    mvad::NetOptions o;
    o.channels = ch;
    o.n_win = {4, 2, 2};
    mvad::MvadNet net(o);
    std::vector<at::Tensor> f = {at::randn({5, ch[0], 16, 16}), at::randn({5, ch[1], 8, 8}),
                                 at::randn({5, ch[2], 4, 4})};
    net->eval();
    auto out = net->forward(f);
    REQUIRE(out.size() == 3);
    for (std::size_t l = 0; l < 3; ++l) CHECK(out[l].sizes() == f[l].sizes());
  }
}

TEST_CASE("mvad: gate on the synthetic multi-view set (shared MobileNetV2, 128 x 128)", "[mvad][gate]") {
  REQUIRE(fs::exists(kWeights));
  adbench::set_threads(1);
  TempDir tmp("mvad-gate");
  MultiviewSynthOptions so;
  so.categories = {"crate"};
  write_synthetic_multiview_dataset(tmp.path() / "data", 0, so);
  const CategoryData data = make_dataset_adapter("real_iad")->load(tmp.path() / "data", "crate");
  REQUIRE(data.train.size() == 24);
  register_builtin_detectors();
  const nlohmann::json settings = {{"backbone", "mobilenet_v2"},
                                   {"backbone_weights", kWeights.string()},
                                   {"image_size", 128},
                                   {"n_win", {8, 4, 2}},
                                   {"epochs", kEpochs}};
  Mvad det(settings);
  RunContext ctx;
  ctx.seed = 42;
  ctx.checkpoint_dir = tmp.path() / "ck";
  det.fit(data.train, ctx);
  const auto& losses = det.epoch_losses();
  REQUIRE(losses.size() == kEpochs);
  INFO("loss, first and last epoch: " << losses.front() << " " << losses.back());
  CHECK(losses.back() < 0.75 * losses.front());

  auto run = [&](Detector& d) {
    EvalOptions eo;
    return evaluate_category(
        data, [&](const std::vector<Sample>& b) { return d.predict(b, RunContext{}); }, eo, CommonOptions{},
        nullptr);
  };
  const CategoryResult r = run(det);
  const double s_auroc = metric(r, "sample", "auroc");
  const double i_auroc = metric(r, "view", "auroc");
  const double p_auroc = metric(r, "pixel", "auroc");
  WARN("mvad gate: S-AUROC " << s_auroc << ", I-AUROC " << i_auroc << ", P-AUROC " << p_auroc);
  CHECK(s_auroc >= 0.8);

  // The saved state predicts the same.
  Mvad again(settings);
  again.load_state(det.state());
  const CategoryResult r2 = run(again);
  CHECK(metric(r2, "sample", "auroc") == s_auroc);
  CHECK(metric(r2, "pixel", "auroc") == p_auroc);

  // The last checkpoint resumes with one more epoch; other settings are refused.
  nlohmann::json more = settings;
  more["epochs"] = kEpochs + 1;
  Mvad cont(more);
  RunContext rc = ctx;
  rc.resume = true;
  cont.fit(data.train, rc);
  CHECK(cont.epoch_losses().size() == 1);
  nlohmann::json other = settings;
  other["lr"] = 0.001;
  Mvad refused(other);
  // 24 samples in steps of 8: 3 steps an epoch.
  char name[64];
  std::snprintf(name, sizeof name, "ck/checkpoint-%09d.safetensors", 3 * (kEpochs + 1));
  const std::string ck = (tmp.path() / name).string();
  REQUIRE(fs::exists(ck));
  REQUIRE_THROWS_WITH(refused.fit(data.train, rc),
                      ck + ": was written with other settings (lr: 0.0125 there, 0.001 now); --resume needs "
                           "the same settings (only epochs, checkpoint_every, keep_checkpoints, cache_mb may "
                           "change)");

  // Views re-read every epoch (cache_mb 0) train exactly as views kept in memory.
  nlohmann::json one = settings;
  one["epochs"] = 1;
  Mvad kept(one);
  one["cache_mb"] = 0;
  Mvad reread(one);
  kept.fit(data.train, RunContext{});
  reread.fit(data.train, RunContext{});
  const auto a = kept.state(), b = reread.state();
  REQUIRE(a.size() == b.size());
  for (const auto& [k, t] : a) {
    INFO(k);
    CHECK(at::equal(t, b.at(k)));
  }
}
