// CLIP encoders: parity with an independent torch.nn reference (make_clip_reference.py) on seeded
// random weights converted from synthetic checkpoints in the official layouts by
// scripts/export_weights.py clip: tiny configs with both activations within 1e-5, each real width
// with 2 blocks per tower within 1e-4 (relative: max |Δ| / max |ref|). Also token subsets,
// intermediate layers, interpolated positions, configs and loading errors.
#include <ATen/ATen.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iostream>

#include "adbench/backbones/clip.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/safetensors.hpp"
#include "reference.hpp"

namespace fs = std::filesystem;
using namespace adbench;
using adbench::test::rel_err;
using Catch::Matchers::Contains;

namespace {

fs::path clip_reference() {
  return adbench::test::reference_dir("clip", "", "make_clip_reference.py", {"scripts/clip_weights.py"});
}

void check_case(const std::string& name, double tol) {
  const fs::path dir = clip_reference();
  ClipModel m = load_clip(dir / (name + ".safetensors"));
  auto ref = read_safetensors(dir / (name + "_ref.safetensors")).tensors;
  torch::NoGradGuard ng;
  const at::Tensor images = ref.at("images");
  double worst = 0;
  auto check = [&](const std::string& what, const at::Tensor& got) {
    const double e = rel_err(got, ref.at(what));
    INFO(name << " " << what << " relative error " << e);
    CHECK(e < tol);
    worst = std::max(worst, e);
  };
  check("image_embeds", m->encode_image(images));
  const at::Tensor tokens = m->visual->embed(images);
  const int64_t n_layers = static_cast<int64_t>(m->visual->transformer->resblocks->size());
  std::vector<int64_t> taps;
  for (int64_t k = 1; k <= n_layers; ++k) taps.push_back(k);
  const ClipVisionTokens out = m->visual->encode_tokens(tokens, taps);
  for (int64_t k = 1; k <= n_layers; ++k)
    check("vision_layer." + std::to_string(k), out.layers[static_cast<size_t>(k - 1)]);
  check("projected_tokens", m->visual->project(out.last));
  check("subset_last", m->visual->encode_tokens(tokens.index_select(1, ref.at("subset_index"))).last);
  check("text_embeds", m->encode_text(ref.at("ids")));
  if (ref.count("images_interp")) check("image_embeds_interp", m->encode_image(ref.at("images_interp")));
  std::cout << "clip parity " << name << " (" << to_string(m->config.activation) << "): worst relative error "
            << worst << "\n";
}

}  // namespace

TEST_CASE("clip tiny configs match the torch reference within 1e-5", "[clip]") {
  check_case("tiny_gelu", 1e-5);
  check_case("tiny_quick_gelu", 1e-5);
}

TEST_CASE("clip real widths with 2 blocks match the torch reference within 1e-4", "[clip][wide]") {
  check_case("b16plus", 1e-4);
  check_case("b16", 1e-4);
  check_case("l14_336", 1e-4);
}

TEST_CASE("clip loader reads shapes and metadata", "[clip]") {
  const fs::path dir = clip_reference();
  ClipModel q = load_clip(dir / "tiny_quick_gelu.safetensors");
  CHECK(q->config.activation == ClipActivation::kQuickGelu);
  CHECK(q->config.vision.heads == 4);
  CHECK(q->config.text.heads == 3);
  CHECK(q->config.patch == 8);
  CHECK(q->config.image_size == 32);
  CHECK(q->config.context_length == 16);
  CHECK(q->config.vocab_size == 300);
  ClipModel w = load_clip(dir / "b16plus.safetensors");
  CHECK(w->config.vision.heads == 14);
  CHECK(w->config.text.heads == 10);
  CHECK(w->config.activation == ClipActivation::kGelu);
}

TEST_CASE("clip window passes equal one encode_tokens per window", "[clip]") {
  const at::Tensor w = clip_square_windows(3, 4, 2);
  REQUIRE(w.sizes() == at::IntArrayRef({6, 4}));
  CHECK(w[0].equal(at::tensor({0, 1, 4, 5}, at::kLong)));
  CHECK(w[5].equal(at::tensor({6, 7, 10, 11}, at::kLong)));
  CHECK(clip_square_windows(4, 4, 3, 1).size(0) == 4);
  CHECK(clip_square_windows(5, 5, 2, 2).size(0) == 4);
  CHECK_THROWS_WITH(clip_square_windows(2, 4, 3), Contains("does not fit a 2x4 patch grid"));

  ClipModel m = load_clip(clip_reference() / "tiny_gelu.safetensors");
  torch::NoGradGuard ng;
  at::manual_seed(3);
  const at::Tensor tokens = m->visual->embed(at::randn({2, 3, 32, 32}));  // 4x4 patches
  const at::Tensor windows = clip_square_windows(4, 4, 2);                // 9 windows
  const at::Tensor all = m->visual->encode_windows(tokens, windows);
  REQUIRE(all.sizes() == at::IntArrayRef({2, 9, 32}));
  CHECK(rel_err(m->visual->encode_windows(tokens, windows, 5), all) < 1e-6);  // chunked
  for (int64_t k = 0; k < 9; ++k) {
    const at::Tensor rows = at::cat({at::zeros({1}, at::kLong), windows[k] + 1});
    const at::Tensor one =
        m->visual->project(m->visual->encode_tokens(tokens.index_select(1, rows)).last.select(1, 0));
    INFO("window " << k);
    CHECK(rel_err(all.select(1, k), one) < 1e-6);
  }
  CHECK_THROWS_WITH(m->visual->encode_windows(tokens, windows + 8), Contains("outside [0, 16)"));
}

TEST_CASE("clip named configs", "[clip]") {
  const ClipConfig b = clip_config("openclip_vit_b_16_plus_240");
  CHECK(b.vision.width == 896);
  CHECK(b.vision.heads == 14);
  CHECK(b.image_size == 240);
  CHECK(b.text.width == 640);
  CHECK(b.text.heads == 10);
  CHECK(b.embed_dim == 640);
  CHECK(b.activation == ClipActivation::kGelu);
  const ClipConfig l = clip_config("openai_vit_l_14_336");
  CHECK(l.vision.layers == 24);
  CHECK(l.patch == 14);
  CHECK(l.activation == ClipActivation::kQuickGelu);
  CHECK_THROWS_WITH(clip_config("vit_h"), Contains("openai_vit_b_16"));
  ClipModel m(clip_config("openai_vit_b_16"));
  size_t n = 0;
  for (const auto& p : m->named_parameters())
    n += p.key() == "visual.transformer.resblocks.11.attn.in_proj_weight" ||
         p.key() == "transformer.resblocks.0.mlp.c_fc.bias";
  CHECK(n == 2);
}

TEST_CASE("clip loading and input errors name the file and problem", "[clip]") {
  const fs::path dir = clip_reference();
  const fs::path tmp = fs::temp_directory_path() / "adbench_test_clip";
  fs::create_directories(tmp);
  auto st = read_safetensors(dir / "tiny_gelu.safetensors");
  auto write = [&](const std::string& file, std::map<std::string, at::Tensor> t,
                   std::map<std::string, std::string> md) {
    write_safetensors(tmp / file, t, md);
    return tmp / file;
  };
  {
    auto t = st.tensors;
    t.erase("visual.ln_post.bias");
    CHECK_THROWS_WITH(load_clip(write("missing.safetensors", t, st.metadata)),
                      Contains("missing.safetensors: missing tensor 'visual.ln_post.bias'"));
  }
  {
    auto t = st.tensors;
    t["extra"] = at::zeros({1});
    CHECK_THROWS_WITH(load_clip(write("extra.safetensors", t, st.metadata)),
                      Contains("unexpected tensor 'extra'"));
  }
  {
    auto md = st.metadata;
    md.erase("activation");
    CHECK_THROWS_WITH(load_clip(write("noact.safetensors", st.tensors, md)),
                      Contains("no metadata 'activation'"));
    md["activation"] = "relu";
    CHECK_THROWS_WITH(load_clip(write("badact.safetensors", st.tensors, md)), Contains("quick_gelu"));
    md = st.metadata;
    md["architecture"] = "openai_vit_b_16";
    CHECK_THROWS_WITH(load_clip(write("arch.safetensors", st.tensors, md)), Contains("another CLIP"));
  }
  CHECK_THROWS_WITH(load_clip(tmp / "absent.safetensors"), Contains("export_weights.py clip"));
  {
    std::ofstream(tmp / "ViT-B-16.pt", std::ios::binary) << "PK\x03\x04 not really a zip";
    CHECK_THROWS_WITH(load_clip(tmp / "ViT-B-16.pt"),
                      Contains("export_weights.py clip --checkpoint ViT-B-16.pt"));
  }
  ClipModel m = load_clip(dir / "tiny_gelu.safetensors");
  CHECK_THROWS_AS(m->visual->embed(at::zeros({1, 3, 30, 32})), InputError);
  CHECK_THROWS_AS(m->visual->encode_tokens(at::zeros({1, 5, 63})), InputError);
  CHECK_THROWS_WITH(m->visual->encode_tokens(at::zeros({1, 5, 64}), {3}), Contains("blocks 1..2"));
  CHECK_THROWS_AS(m->encode_text(at::zeros({1, 17}, at::kLong)), InputError);
  CHECK_THROWS_AS(m->encode_text(at::full({1, 4}, 300, at::kLong)), InputError);
  fs::remove_all(tmp);
}

TEST_CASE("clip vision encoder speed (ViT-B-16-plus-240, random weights)", "[.][clip_bench]") {
  // Run by scripts/bench_clip.sh; hidden from the default run.
  const char* env_batch = std::getenv("ADBENCH_CLIP_BENCH_BATCH");
  const int64_t batch = env_batch ? std::atoll(env_batch) : 8;
  const char* env_iters = std::getenv("ADBENCH_CLIP_BENCH_ITERS");
  const int iters = env_iters ? std::atoi(env_iters) : 3;
  if (const char* t = std::getenv("ADBENCH_CLIP_BENCH_THREADS")) at::set_num_threads(std::atoi(t));
  at::manual_seed(0);
  ClipModel m(clip_config("openclip_vit_b_16_plus_240"));
  m->eval();
  torch::NoGradGuard ng;
  const at::Tensor x = at::randn({batch, 3, 240, 240});
  m->encode_image(x);  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) m->encode_image(x);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "clip_bench openclip_vit_b_16_plus_240 batch " << batch << " iters " << iters << " threads "
            << at::get_num_threads() << ": " << (batch * iters) / s << " images/s ("
            << s / (batch * iters) * 1e3 << " ms/image)\n";
}
