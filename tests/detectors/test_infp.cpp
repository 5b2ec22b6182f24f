// INFP network and loss (lib/detectors/src/infp): shapes of every fusion/filter variant at a tiny
// width, gradients to every parameter, the official parameter count, MS-SSIM and the loss terms
// against tests/detectors/infp_reference.py, TSM's shifted channels, the trajectory filter in both
// axis modes against a hand-written DFT, settings errors, and a 50-step smoke run.
#include <torch/optim.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <fstream>
#include <map>

#include "adbench/core/error.hpp"
#include "infp/infp_loss.hpp"
#include "infp/infp_net.hpp"

using namespace adbench;
using namespace adbench::infp;

namespace {

nlohmann::json tiny(bool fusion, bool filter, const std::string& axes = "code") {
  return {{"fusion", fusion}, {"filter", filter}, {"filter_axes", axes}, {"width_div", 32},
          {"height", 32},     {"width", 48},      {"frames", 4}};
}

int64_t count_params(const torch::nn::Module& m, const std::string& prefix = "") {
  int64_t n = 0;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(prefix, 0) == 0) n += p.value().numel();
  return n;
}

// The closed-form pair of infp_reference.py: [2, 3, 40, 36], float64.
std::pair<at::Tensor, at::Tensor> reference_images(bool unit) {
  at::Tensor a = at::empty({2, 3, 40, 36}, at::kDouble), t = at::empty({2, 3, 40, 36}, at::kDouble);
  auto pa = a.accessor<double, 4>();
  auto pt = t.accessor<double, 4>();
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 40; ++y)
        for (int x = 0; x < 36; ++x) {
          double v = std::sin(0.3 * x + 0.7 * y + c + 2.0 * b) * 0.9;
          double w = 0.8 * v + 0.15 * std::cos(0.05 * x * y + c);
          pa[b][c][y][x] = unit ? (v + 1) / 2 : v;
          pt[b][c][y][x] = unit ? (w + 1) / 2 : w;
        }
  return {a, t};
}

std::string error_of(const nlohmann::json& cfg) {
  try {
    make_infp_net(cfg);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("infp: output shape of every variant at a tiny width", "[infp]") {
  struct Variant {
    bool fusion, filter;
    std::string axes;
  };
  const std::vector<Variant> variants = {{false, false, "code"}, {true, false, "code"},
                                         {false, true, "code"},  {false, true, "paper"},
                                         {true, true, "code"},   {true, true, "paper"}};
  torch::manual_seed(1);
  at::Tensor clip = at::rand({2, 4, 3, 32, 48}) * 2 - 1;
  for (const auto& v : variants) {
    INFO("fusion " << v.fusion << " filter " << v.filter << " axes " << v.axes);
    auto net = std::dynamic_pointer_cast<InfpNet>(make_infp_net(tiny(v.fusion, v.filter, v.axes)));
    REQUIRE(net);
    net->train();
    at::Tensor out = net->predict(clip);
    CHECK(out.sizes() == at::IntArrayRef({2, 3, 32, 48}));
    CHECK(at::isfinite(out).all().item<bool>());
    net->eval();
    at::Tensor a = net->predict(clip), b = net->predict(clip);
    CHECK(a.sizes() == at::IntArrayRef({2, 3, 32, 48}));
    CHECK(at::equal(a, b));  // eval: no dropout, running BN statistics
    // Which blocks exist, and the filter's complex weights [S0, S1/2+1, 4, 2] per axis mode:
    // code: S0 = decoder channels (256/32 = 8), S1 = H = 32; paper: S0 = H = 32, S1 = W = 48.
    std::map<std::string, at::Tensor> named;
    for (const auto& p : net->named_parameters()) named[p.key()] = p.value();
    CHECK((count_params(*net, "fusion.") > 0) == v.fusion);
    CHECK((count_params(*net, "filter.") > 0) == v.filter);
    if (v.filter) {
      REQUIRE(named.count("filter.core.complex_weights"));
      auto shape = named["filter.core.complex_weights"].sizes().vec();
      if (v.axes == "code")
        CHECK(shape == std::vector<int64_t>{8, 17, 4, 2});
      else
        CHECK(shape == std::vector<int64_t>{32, 25, 4, 2});
    }
  }
}

TEST_CASE("infp: gradients reach every parameter", "[infp]") {
  for (const std::string axes : {"code", "paper"}) {
    INFO("filter_axes " << axes);
    torch::manual_seed(2);
    // width_div 4: at 32 or 8 the channel attentions and the filter's routing MLP have 1 or 2
    // hidden units, which a seed can leave all below zero (the ReLU/StarReLU then passes no
    // gradient to the layers before it: a dead unit, not a missing connection). At 4 the
    // narrowest has 4.
    nlohmann::json cfg = tiny(true, true, axes);
    cfg["width_div"] = 4;
    auto net = make_infp_net(cfg);
    net->train();
    at::Tensor clip = at::rand({2, 4, 3, 32, 48}) * 2 - 1;
    at::Tensor target = at::rand({2, 3, 32, 48}) * 2 - 1;
    at::Tensor loss = net->loss(net->predict(clip), target);
    loss.backward();
    int64_t n = 0;
    for (const auto& p : net->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(at::isfinite(p.value().grad()).all().item<bool>());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
      ++n;
    }
    INFO("parameter tensors " << n);
    CHECK(n == 191);
  }
}

TEST_CASE("infp: parameter count at the official widths", "[infp][slow]") {
  // tests/detectors/infp_reference.py counts the official modules layer by layer:
  // encoder 105,062,720; merge convs + decoder + head 45,909,232; fusion 165,708,288;
  // trajectory filter 749,828 (code axes at 224 x 288) / 669,444 (paper axes).
  InfpNet net(infp_options(nlohmann::json::object()));
  CHECK(count_params(net) == 317430068);
  CHECK(count_params(net, "wrn38.") == 105062720);
  CHECK(count_params(net, "fusion.") == 165708288);
  CHECK(count_params(net, "filter.") == 749828);
  CHECK(count_params(net) - count_params(net, "wrn38.") - count_params(net, "fusion.") -
            count_params(net, "filter.") ==
        45909232);
}

TEST_CASE("infp: MS-SSIM and loss terms match the reference", "[infp]") {
  SECTION("identical images give 1") {
    torch::manual_seed(3);
    for (int64_t side : {16, 37, 64}) {
      at::Tensor a = at::rand({2, 3, side, side + 8}, at::kDouble) * 2 - 1;
      CHECK(msssim(a, a, true).item<double>() == Approx(1.0).margin(1e-12));
      CHECK(msssim(a, a, false).item<double>() == Approx(1.0).margin(1e-12));
      CHECK(infp_loss_terms(a, a)[2].item<double>() == Approx(0.0).margin(1e-12));
    }
  }
  SECTION("golden values (infp_reference.py, float64)") {
    struct Golden {
      bool unit;
      double mse, grad, quirk, wang, loss;
    };
    for (const Golden& g :
         {Golden{false, 0.0285580353, 0.1921290309, 0.8906876861, 0.9595514131, 0.4443344814},
          Golden{true, 0.0071395088, 0.0961511009, 0.9741000136, 0.9823691251, 0.2007362764}}) {
      INFO("unit range " << g.unit);
      auto [p, t] = reference_images(g.unit);
      CHECK(msssim(p, t, true).item<double>() == Approx(g.quirk).margin(2e-10));
      CHECK(msssim(p, t, false).item<double>() == Approx(g.wang).margin(2e-10));
      auto terms = infp_loss_terms(p, t, true);
      CHECK(terms[0].item<double>() == Approx(g.mse).margin(2e-10));
      CHECK(terms[1].item<double>() == Approx(g.grad).margin(2e-10));
      CHECK(terms[2].item<double>() == Approx((1 - g.quirk) / 2).margin(2e-10));
      CHECK(terms[3].item<double>() == Approx(std::sqrt(g.mse + 1e-8)).margin(2e-10));
      CHECK(infp_loss(p, t, true).item<double>() == Approx(g.loss).margin(5e-10));
      // float32, as in training
      CHECK(msssim(p.to(at::kFloat), t.to(at::kFloat), true).item<double>() == Approx(g.quirk).margin(1e-5));
    }
  }
  SECTION("frames under 16 px per side") {
    at::Tensor a = at::zeros({1, 3, 15, 40});
    CHECK_THROWS_WITH(msssim(a, a),
                      "infp: MS-SSIM at 5 scales needs frames of at least 16 x 16 px, got 40 x 15");
  }
}

TEST_CASE("infp: TSM shifts 64 of 512 channels per segment from the next segment", "[infp]") {
  at::Tensor x = at::arange(2048 * 2, at::kFloat).view({1, 2048, 2, 1}) + 1;  // no zeros in x
  at::Tensor y = temporal_shift(x, 4, 8);
  auto px = x.accessor<float, 4>();
  auto py = y.accessor<float, 4>();
  int changed = 0, zeroed = 0;
  for (int s = 0; s < 4; ++s)
    for (int j = 0; j < 512; ++j)
      for (int r = 0; r < 2; ++r) {
        float expect = j < 64 ? (s < 3 ? px[0][(s + 1) * 512 + j][r][0] : 0.0f) : px[0][s * 512 + j][r][0];
        REQUIRE(py[0][s * 512 + j][r][0] == expect);
        if (py[0][s * 512 + j][r][0] != px[0][s * 512 + j][r][0]) ++changed;
        if (py[0][s * 512 + j][r][0] == 0) ++zeroed;
      }
  CHECK(changed == 4 * 64 * 2);
  CHECK(zeroed == 64 * 2);
}

namespace {

// Hand computation of the trajectory core on a channels-last [1, S0, S1, D] tensor (double):
// the DFTs written out as sums. The c2r inverse over the halved axis follows its definition:
// the imaginary part of bin 0 (and of bin S1/2 for even S1) is ignored.
std::vector<double> hand_core(const TrajectoryCoreImpl& m, const std::vector<double>& x, int64_t S0,
                              int64_t S1, int64_t D) {
  using cd = std::complex<double>;
  const int64_t F = m.num_filters, M = m.med, K1 = S1 / 2 + 1;
  auto mat = [](const at::Tensor& w) { return w.to(at::kDouble).contiguous(); };
  at::Tensor w1 = mat(m.pwconv1->weight), w2 = mat(m.pwconv2->weight), f1 = mat(m.fc1->weight),
             f2 = mat(m.fc2->weight), cw = mat(m.complex_weights);
  const double s1 = m.act1->scale.item<double>(), b1 = m.act1->bias.item<double>();
  const double sm = m.act_mlp->scale.item<double>(), bm = m.act_mlp->bias.item<double>();
  auto star = [](double v, double s, double b) { return s * std::max(v, 0.0) * std::max(v, 0.0) + b; };
  auto X = [&](int64_t i, int64_t j, int64_t d) { return x[static_cast<std::size_t>((i * S1 + j) * D + d)]; };
  // routing
  std::vector<double> mean(D, 0.0);
  for (int64_t i = 0; i < S0; ++i)
    for (int64_t j = 0; j < S1; ++j)
      for (int64_t d = 0; d < D; ++d) mean[d] += X(i, j, d) / static_cast<double>(S0 * S1);
  const int64_t H = f1.size(0);
  std::vector<double> hid(H);
  for (int64_t h = 0; h < H; ++h) {
    double v = 0;
    for (int64_t d = 0; d < D; ++d) v += f1[h][d].item<double>() * mean[d];
    hid[h] = star(v, sm, bm);
  }
  std::vector<double> route(F * M);
  for (int64_t o = 0; o < F * M; ++o) {
    double v = 0;
    for (int64_t h = 0; h < H; ++h) v += f2[o][h].item<double>() * hid[h];
    route[o] = v;
  }
  for (int64_t c = 0; c < M; ++c) {  // softmax over the filters
    double mx = -1e300, z = 0;
    for (int64_t f = 0; f < F; ++f) mx = std::max(mx, route[f * M + c]);
    for (int64_t f = 0; f < F; ++f) z += std::exp(route[f * M + c] - mx);
    for (int64_t f = 0; f < F; ++f) route[f * M + c] = std::exp(route[f * M + c] - mx) / z;
  }
  // y = StarReLU(pwconv1 x)
  std::vector<double> y(S0 * S1 * M);
  for (int64_t i = 0; i < S0; ++i)
    for (int64_t j = 0; j < S1; ++j)
      for (int64_t c = 0; c < M; ++c) {
        double v = 0;
        for (int64_t d = 0; d < D; ++d) v += w1[c][d].item<double>() * X(i, j, d);
        y[(i * S1 + j) * M + c] = star(v, s1, b1);
      }
  const double pi = std::acos(-1.0);
  std::vector<double> z(S0 * S1 * M);
  for (int64_t c = 0; c < M; ++c) {
    // forward DFT (ortho), bins k1 <= S1/2, times the mixed filter
    std::vector<cd> Y(S0 * K1);
    for (int64_t k0 = 0; k0 < S0; ++k0)
      for (int64_t k1 = 0; k1 < K1; ++k1) {
        cd acc = 0;
        for (int64_t i = 0; i < S0; ++i)
          for (int64_t j = 0; j < S1; ++j)
            acc += y[(i * S1 + j) * M + c] *
                   std::polar(1.0, -2 * pi * (double(k0 * i) / double(S0) + double(k1 * j) / double(S1)));
        cd w = 0;
        for (int64_t f = 0; f < F; ++f)
          w += route[f * M + c] * cd(cw[k0][k1][f][0].item<double>(), cw[k0][k1][f][1].item<double>());
        Y[k0 * K1 + k1] = acc / std::sqrt(double(S0 * S1)) * w;
      }
    // inverse: complex over k0, then real (c2r) over k1
    for (int64_t i = 0; i < S0; ++i) {
      std::vector<cd> U(K1);
      for (int64_t k1 = 0; k1 < K1; ++k1)
        for (int64_t k0 = 0; k0 < S0; ++k0)
          U[k1] += Y[k0 * K1 + k1] * std::polar(1.0, 2 * pi * double(k0 * i) / double(S0));
      for (int64_t j = 0; j < S1; ++j) {
        double v = U[0].real();
        for (int64_t k1 = 1; k1 < K1; ++k1) {
          bool nyquist = S1 % 2 == 0 && k1 == S1 / 2;
          double r = (U[k1] * std::polar(1.0, 2 * pi * double(k1 * j) / double(S1))).real();
          v += nyquist ? U[k1].real() * ((j % 2) ? -1.0 : 1.0) : 2 * r;
        }
        z[(i * S1 + j) * M + c] = v / std::sqrt(double(S0 * S1));
      }
    }
  }
  std::vector<double> out(S0 * S1 * D);
  for (int64_t i = 0; i < S0; ++i)
    for (int64_t j = 0; j < S1; ++j)
      for (int64_t d = 0; d < D; ++d) {
        double v = 0;
        for (int64_t c = 0; c < M; ++c) v += w2[d][c].item<double>() * z[(i * S1 + j) * M + c];
        out[(i * S1 + j) * D + d] = v;
      }
  return out;
}

std::vector<double> to_vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

TEST_CASE("infp: trajectory filter, code and paper axes, against a hand computation", "[infp]") {
  // NCHW [1, C=4, H=3, W=6]. Code: S0 = C = 4, S1 = H = 3, D = W = 6 (the tensor as it is);
  // paper: S0 = H = 3, S1 = W = 6 (even: a Nyquist bin), D = C = 4 (the tensor permuted to NHWC).
  torch::manual_seed(4);
  at::Tensor x = at::randn({1, 4, 3, 6}, at::kDouble);
  std::map<std::string, at::Tensor> outs;
  for (const std::string axes : {"code", "paper"}) {
    INFO(axes);
    TrajectoryFilter f(4, 3, 6, axes == "code" ? FilterAxes::Code : FilterAxes::Paper);
    f->to(at::kDouble);
    // non-trivial StarReLU scalars so that they enter the check
    {
      torch::NoGradGuard ng;
      f->core->act1->scale.fill_(0.7);
      f->core->act1->bias.fill_(-0.05);
      f->core->act_mlp->scale.fill_(1.3);
      f->core->act_mlp->bias.fill_(0.02);
      f->core->complex_weights.normal_(0, 1);
    }
    at::Tensor out = f->forward(x);
    REQUIRE(out.sizes() == x.sizes());
    at::Tensor cl = axes == "code" ? x : x.permute({0, 2, 3, 1});
    std::vector<double> hand = hand_core(*f->core, to_vec(cl), cl.size(1), cl.size(2), cl.size(3));
    at::Tensor got = axes == "code" ? out : out.permute({0, 2, 3, 1});
    std::vector<double> mine = to_vec(got);
    REQUIRE(hand.size() == mine.size());
    double worst = 0;
    for (std::size_t i = 0; i < hand.size(); ++i) worst = std::max(worst, std::abs(hand[i] - mine[i]));
    CHECK(worst < 1e-10);
    CHECK(at::abs(out).max().item<double>() > 1e-3);  // not trivially zero
    outs[axes] = out;
  }
  CHECK(at::abs(outs["code"] - outs["paper"]).max().item<double>() > 1e-3);
}

TEST_CASE("infp: settings", "[infp]") {
  CHECK(error_of({{"width_div", 3}}) ==
        "detector infp: setting 'width_div' must divide 64 (1, 2, 4, 8, 16, 32, 64), got 3");
  CHECK(error_of({{"width_div", 128}}) == "detector infp: setting 'width_div' must be in [1, 64], got 128");
  CHECK(error_of({{"filter_axes", "rows"}}) ==
        "detector infp: setting 'filter_axes' must be one of code, paper, got 'rows'");
  CHECK(error_of({{"fusion", "no"}}) == "detector infp: setting 'fusion' expects a boolean, got \"no\"");
  CHECK(error_of({{"height", 20}, {"width_div", 64}}) ==
        "detector infp: setting 'height' must be a multiple of 8 in [16, 8192] (output stride 8, MS-SSIM at "
        "5 scales), got 20");
  CHECK(error_of({{"frames", 0}}) == "detector infp: setting 'frames' must be in [1, 64], got 0");
  InfpOptions o = infp_options({{"fusion", false}, {"filter_axes", "paper"}, {"epochs", 3}, {"frames", 2}});
  CHECK(!o.fusion);
  CHECK(o.filter);
  CHECK(o.filter_axes == FilterAxes::Paper);
  CHECK(o.frames == 2);
  CHECK(o.height == 224);
  CHECK(o.width == 288);
  CHECK(o.msssim_quirk);
  auto table = infp_net_settings();
  REQUIRE(table.size() == 5);
  CHECK(defaults_of(table) == nlohmann::json{{"fusion", true},
                                             {"filter", true},
                                             {"filter_axes", "code"},
                                             {"width_div", 1},
                                             {"msssim_quirk", true}});
}

TEST_CASE("infp: 50 Adam steps on a fixed batch lower the loss", "[infp]") {
  torch::manual_seed(5);
  auto net = make_infp_net({{"width_div", 32}, {"height", 32}, {"width", 32}});
  net->train();
  at::Tensor clip = at::rand({2, 4, 3, 32, 32}) * 2 - 1;
  at::Tensor target = at::rand({2, 3, 32, 32}) * 2 - 1;
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<double> losses;
  for (int i = 0; i < 50; ++i) {
    opt.zero_grad();
    at::Tensor loss = net->loss(net->predict(clip), target);
    loss.backward();
    opt.step();
    losses.push_back(loss.item<double>());
  }
  double first = (losses[0] + losses[1] + losses[2]) / 3;
  double last = (losses[47] + losses[48] + losses[49]) / 3;
  INFO("first " << first << " last " << last);
  CHECK(std::isfinite(last));
  CHECK(last < 0.75 * first);
}

namespace {

at::Tensor read_floats(const std::string& path, at::IntArrayRef shape) {
  at::Tensor t = at::empty(shape, at::kFloat);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), static_cast<std::streamsize>(t.numel() * 4));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(t.numel() * 4));
  return t;
}

// max |a - b| / max |b|
double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

}  // namespace

// Manual: the official network's weights, inputs and outputs written by infp_official_dump.py
// (see there); hidden, because it needs the official code and ~2.5 GB.
TEST_CASE("infp: same outputs as the official code with its weights", "[.official]") {
  const char* dir = std::getenv("INFP_OFFICIAL_DUMP");
  REQUIRE(dir != nullptr);
  const std::string d = dir;
  nlohmann::json shapes = nlohmann::json::parse(std::ifstream(d + "/params.json"));
  InfpNet net(infp_options(nlohmann::json::object()));
  auto params = net.parameters();
  REQUIRE(params.size() == shapes.size());
  std::ifstream in(d + "/params.bin", std::ios::binary);
  {
    torch::NoGradGuard ng;
    for (std::size_t i = 0; i < params.size(); ++i) {
      INFO(shapes[i][0].get<std::string>());
      REQUIRE(params[i].sizes().vec() == shapes[i][1].get<std::vector<int64_t>>());
      at::Tensor buf = at::empty(params[i].sizes(), at::kFloat);
      in.read(reinterpret_cast<char*>(buf.data_ptr<float>()), static_cast<std::streamsize>(buf.numel() * 4));
      params[i].copy_(buf);
    }
  }
  net.eval();
  torch::NoGradGuard ng;
  at::Tensor clip = read_floats(d + "/input.bin", {1, 4, 3, 224, 288});
  auto [s2, s4, s8] = net.encode(clip.select(1, 0));
  double e_s2 = rel_diff(s2, read_floats(d + "/enc_s2.bin", {1, 128, 112, 144}));
  double e_s4 = rel_diff(s4, read_floats(d + "/enc_s4.bin", {1, 256, 56, 72}));
  double e_s8 = rel_diff(s8, read_floats(d + "/enc_s8.bin", {1, 4096, 28, 36}));
  double e_fus = rel_diff(net.fuse(read_floats(d + "/fusion_in.bin", {1, 2048, 28, 36})),
                          read_floats(d + "/fusion_out.bin", {1, 2048, 28, 36}));
  double e_fil = rel_diff(net.filter(read_floats(d + "/filter_in.bin", {1, 256, 224, 288})),
                          read_floats(d + "/filter_out.bin", {1, 256, 224, 288}));
  double e_out = rel_diff(net.predict(clip), read_floats(d + "/output.bin", {1, 3, 224, 288}));
  WARN("relative max differences: encoder " << e_s2 << " " << e_s4 << " " << e_s8 << ", fusion " << e_fus
                                            << ", filter " << e_fil << ", output " << e_out);
  CHECK(e_s2 < 1e-4);
  CHECK(e_s4 < 1e-4);
  CHECK(e_s8 < 1e-4);
  CHECK(e_fus < 1e-4);
  CHECK(e_fil < 1e-4);
  CHECK(e_out < 1e-4);
}
