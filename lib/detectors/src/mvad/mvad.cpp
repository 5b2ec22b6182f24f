#include "mvad/mvad.hpp"

#include <torch/nn.h>

#include <chrono>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "mvad/mvad_net.hpp"

namespace adbench {

namespace {

constexpr int64_t kViews = 5;

/// InputError unless `s` has the 5 views mvad takes ("<what> '<rel_path>' has N views; ...").
void check_views(const Sample& s, const std::string& what) {
  if (s.units.size() != static_cast<std::size_t>(kViews))
    throw InputError("mvad: " + what + " '" + s.rel_path + "' has " + std::to_string(s.units.size()) +
                     " views; mvad needs " + std::to_string(kViews) + " (a multi-view dataset: real_iad)");
}

std::vector<int64_t> ints(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }

/// Settings that may differ between a checkpoint and the run resuming from it.
const std::vector<std::string>& resumable() {
  static const std::vector<std::string> keys = {"epochs", "checkpoint_every", "keep_checkpoints", "cache_mb"};
  return keys;
}

nlohmann::json resolved(const nlohmann::json& overrides) {
  nlohmann::json c = merge_config("mvad", Mvad::settings(), overrides);
  feat::resolve_layers("mvad", c, overrides, "layers", "pyramid");
  if (c["layers"].size() != 3)
    throw InputError("detector mvad: setting 'layers' must name 3 layers (strides 4, 8, 16), got " +
                     c["layers"].dump());
  if (c["image_size"].get<int>() % 32 != 0)
    throw InputError("detector mvad: setting 'image_size' must be a multiple of 32, got " +
                     c["image_size"].dump());
  return c;
}

}  // namespace

const SettingsTable& Mvad::settings() {
  static const SettingsTable table = [] {
    SettingsTable t = feat::backbone_settings("resnet34", {"layer1", "layer2", "layer3"});
    for (auto& row : t)
      if (row.key == "image_size") {
        row.default_value = 256;
        row.doc = "views are resized to this square (pixels; a multiple of 32)";
      }
    t.push_back({"n_win", std::vector<int>{14, 9, 6}, SettingRange::integers(3, 3, 1, 256),
                 "MVAS windows per side at levels 1, 2, 3 (features are zero-padded to a multiple)"});
    t.push_back({"topk", std::vector<int>{4, 4, 4}, SettingRange::integers(3, 3, 1, 65536),
                 "key windows (of the other 4 views' 4 n_win^2) each query window attends to, per level"});
    t.push_back({"blocks", std::vector<int>{1, 2, 4}, SettingRange::integers(3, 3, 0, 64),
                 "MVAS blocks (attention + MLP) at levels 1, 2, 3"});
    t.push_back({"decoder_blocks", std::vector<int>{3, 4, 6}, SettingRange::integers(3, 3, 1, 64),
                 "de-ResNet34 blocks per decoder level (deepest first)"});
    t.push_back(
        {"heads", 8, SettingRange::integer(1, 64), "attention heads (must divide every level's channels)"});
    t.push_back({"mvas_proj", false, SettingRange::boolean(),
                 "C->C query / key-value projections in MVAS (the variant of the published log)"});
    t.push_back(
        {"dropout", 0.1, SettingRange::number(0, false, 1, true), "dropout in the MVAS blocks' MLPs"});
    t.push_back(
        {"drop_path", 0.1, SettingRange::number(0, false, 1, true), "DropPath on the attention branch"});
    t.push_back({"epochs", 100, SettingRange::integer(1, 1000000), "training epochs (--epochs)"});
    t.push_back({"batch", 8, SettingRange::integer(1, 65536), "training samples (of 5 views) per step"});
    t.push_back(
        {"lr", 0.0125, SettingRange::number(0, true, 10), "AdamW learning rate (0.005 x 8 x 5 / 16)"});
    t.push_back({"beta1", 0.9, SettingRange::number(0, false, 1, true), "AdamW beta1"});
    t.push_back({"beta2", 0.999, SettingRange::number(0, false, 1, true), "AdamW beta2"});
    t.push_back({"weight_decay", 1e-4, SettingRange::number(0, false, 1), "AdamW decoupled weight decay"});
    t.push_back({"lr_decay_at", 0.8, SettingRange::number(0, false, 1),
                 "the learning rate is x lr_gamma from epoch floor(lr_decay_at x epochs) on"});
    t.push_back({"lr_gamma", 0.1, SettingRange::number(0, true, 1), "learning-rate decay factor"});
    t.push_back({"grad_clip", 5.0, SettingRange::number(0, false, 1e9), "gradient-norm clipping (0: none)"});
    t.push_back({"loss_weight", 5.0, SettingRange::number(0, true, 1e6), "weight of each level's MSE"});
    t.push_back({"cache_mb", 4096, SettingRange::integer(0, 1 << 30),
                 "training views are kept in memory as 8-bit when they fit in this many MiB (5 x 3 x "
                 "image_size^2 bytes a sample), else read again every epoch"});
    t.push_back({"checkpoint_every", 10, SettingRange::integer(0, 1000000),
                 "with --checkpoint-dir: a checkpoint every N epochs (0: only at the end)"});
    t.push_back({"keep_checkpoints", 2, SettingRange::integer(1, 1000000),
                 "checkpoints kept in --checkpoint-dir (older ones are deleted)"});
    return t;
  }();
  return table;
}

Mvad::Mvad(const nlohmann::json& overrides)
    : config_(resolved(overrides)),
      extractor_("mvad", config_["backbone"], config_["backbone_weights"], config_["image_size"].get<int>()) {
  layers_ = config_["layers"].get<std::vector<std::string>>();
}

Mvad::~Mvad() = default;

at::Tensor Mvad::views(std::span<const Sample> batch, std::vector<cv::Size>* sizes) const {
  std::vector<Sample> singles;
  singles.reserve(batch.size() * kViews);
  for (const auto& s : batch) {
    check_views(s, "sample");
    for (const auto& u : s.units) singles.push_back(Sample::single(Modality::Image, u.path));
  }
  return extractor_.images(singles, sizes);
}

std::vector<at::Tensor> Mvad::encode(const at::Tensor& x) const {
  auto f = extractor_.features(x, layers_);
  std::vector<at::Tensor> out;
  for (const auto& l : layers_) out.push_back(f.at(l).to(at::kFloat));
  return out;
}

void Mvad::make_net(const std::vector<int64_t>& channels) {
  const int64_t heads = config_["heads"].get<int64_t>();
  for (auto c : channels)
    if (c % heads != 0 || c % 4 != 0)
      throw InputError("detector mvad: the encoder's levels have " + std::to_string(channels[0]) + ", " +
                       std::to_string(channels[1]) + ", " + std::to_string(channels[2]) +
                       " channels; each must be a multiple of 4 and of heads (" + std::to_string(heads) +
                       ")");
  mvad::NetOptions o;
  o.channels = channels;
  o.n_win = ints(config_["n_win"]);
  o.topk = ints(config_["topk"]);
  o.blocks = ints(config_["blocks"]);
  o.decoder_blocks = ints(config_["decoder_blocks"]);
  o.heads = heads;
  o.dropout = config_["dropout"].get<double>();
  o.drop_path = config_["drop_path"].get<double>();
  o.proj = config_["mvas_proj"].get<bool>();
  o.views = kViews;
  channels_ = channels;
  net_ = std::make_shared<mvad::MvadNetImpl>(o);
}

at::Tensor Mvad::raw_maps(const std::vector<at::Tensor>& t, const std::vector<at::Tensor>& s) const {
  const int64_t size = extractor_.image_size();
  at::Tensor sum;
  for (std::size_t l = 0; l < t.size(); ++l) {
    at::Tensor d = 1 - at::cosine_similarity(t[l], s[l], 1, 1e-8);  // [N, h, w]
    d = at::upsample_bilinear2d(d.unsqueeze(1), {size, size}, /*align_corners=*/true).squeeze(1);
    sum = sum.defined() ? sum + d : d;
  }
  // The official code adds the levels and divides by (levels x sum of weights) = 9.
  const double n = static_cast<double>(t.size());
  return sum / (n * n);
}

void Mvad::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("mvad: no training samples");
  seed_ = ctx.seed;
  extractor_.load(ctx.device, seed_);
  const int64_t size = extractor_.image_size();

  for (const auto& s : train) check_views(s, "training sample");
  // A sample's views as 8-bit [5, 3, S, S].
  auto read_views = [&](const Sample& s) {
    std::vector<at::Tensor> vs;
    for (const auto& u : s.units) {
      cv::Mat r = extractor_.resized(read_image_rgb(u.path));
      if (!r.isContinuous()) r = r.clone();
      vs.push_back(at::from_blob(r.data, {size, size, 3}, at::kByte).permute({2, 0, 1}).clone());
    }
    return at::stack(vs);
  };
  // Kept in memory when they fit in cache_mb (read once), else read again every epoch (a
  // multi-class Real-IAD training set is about 17 GB at 256²).
  const double cache_bytes =
      static_cast<double>(train.size()) * kViews * 3.0 * static_cast<double>(size * size);
  const bool cached = cache_bytes <= config_["cache_mb"].get<double>() * 1048576.0;
  std::vector<at::Tensor> cache;
  if (cached) {
    cache.reserve(train.size());
    Progress progress("mvad: reading training views", static_cast<int64_t>(train.size()));
    for (const auto& s : train) {
      cache.push_back(read_views(s));
      progress.tick();
    }
    progress.done();
  } else {
    spdlog::info("mvad: the training views need {:.0f} MiB as 8-bit, more than cache_mb: read every epoch",
                 cache_bytes / 1048576.0);
  }
  auto views_of = [&](std::size_t i) { return cached ? cache[i] : read_views(train[i]); };

  // The encoder's channels and strides, from the first sample.
  {
    at::NoGradGuard no_grad;
    auto f = encode(extractor_.normalized(views_of(0).narrow(0, 0, 1)));
    std::vector<int64_t> ch;
    for (std::size_t l = 0; l < 3; ++l) {
      const int64_t stride = int64_t{4} << l;
      if (f[l].size(2) * stride != size || f[l].size(3) * stride != size)
        throw InputError("detector mvad: layer '" + layers_[l] + "' of " +
                         config_["backbone"].get<std::string>() + " gives " + std::to_string(f[l].size(2)) +
                         "x" + std::to_string(f[l].size(3)) + " features for " + std::to_string(size) + "x" +
                         std::to_string(size) + " views; mvad's three layers must be at strides 4, 8, 16");
      ch.push_back(f[l].size(1));
    }
    at::manual_seed(seed_);
    make_net(ch);
  }
  net_->to(ctx.device);
  adam_.reset(*net_);
  epoch_losses_.clear();

  const int64_t epochs = config_["epochs"].get<int64_t>();
  const int64_t batch = config_["batch"].get<int64_t>();
  const auto n = static_cast<int64_t>(train.size());
  const int64_t steps_per_epoch = (n + batch - 1) / batch, total_steps = epochs * steps_per_epoch;
  const double lr0 = config_["lr"].get<double>(), gamma = config_["lr_gamma"].get<double>();
  const auto decay_epoch = static_cast<int64_t>(std::floor(config_["lr_decay_at"].get<double>() * epochs));
  const double beta1 = config_["beta1"].get<double>(), beta2 = config_["beta2"].get<double>();
  const double wd = config_["weight_decay"].get<double>(), clip = config_["grad_clip"].get<double>();
  const double lam = config_["loss_weight"].get<double>();
  const int64_t every = config_["checkpoint_every"].get<int64_t>();
  const auto keep = static_cast<std::size_t>(config_["keep_checkpoints"].get<int64_t>());
  nlohmann::json key_config = config_;
  for (const auto& k : resumable()) key_config.erase(k);
  std::string resumable_text;
  for (const auto& k : resumable()) resumable_text += (resumable_text.empty() ? "" : ", ") + k;
  const train::CheckpointKey key{"mvad",
                                 key_config,
                                 resumable_text,
                                 seed_,
                                 std::to_string(n) + " samples of " + std::to_string(kViews) + " views",
                                 "training samples"};
  const std::filesystem::path& ckdir = ctx.checkpoint_dir;

  train::Position pos;
  if (ctx.resume) pos = train::resume_checkpoint(ckdir, *net_, adam_, key);
  spdlog::info("mvad: training on {} samples ({} views), {} steps of {} samples per epoch, {} epochs", n,
               n * kViews, steps_per_epoch, batch, epochs);
  Progress progress("mvad: training", total_steps);
  if (pos.step > 0) progress.tick(std::min(pos.step, total_steps));
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  const int64_t first_step = pos.step;
  bool saved_last = true;
  net_->train();
  for (int64_t epoch = pos.epoch; epoch < epochs; ++epoch) {
    const double lr = epoch >= decay_epoch ? lr0 * gamma : lr0;
    // A seeded shuffle per epoch, so a resumed run replays the same order.
    at::Generator gen = at::detail::createCPUGenerator(seed_ * 1000003ULL + static_cast<uint64_t>(epoch));
    at::Tensor order = at::randperm(n, gen, at::kLong);
    const int64_t* ord = order.data_ptr<int64_t>();
    double loss_sum = 0;
    int64_t loss_count = 0;
    for (int64_t st = epoch == pos.epoch ? pos.epoch_step : 0; st < steps_per_epoch; ++st) {
      std::vector<at::Tensor> items;
      for (int64_t i = st * batch; i < std::min(n, (st + 1) * batch); ++i)
        items.push_back(views_of(static_cast<std::size_t>(ord[i])));
      at::Tensor x = extractor_.normalized(at::cat(items));  // [b*5, 3, S, S], views of a sample consecutive
      std::vector<at::Tensor> t;
      {
        at::NoGradGuard no_grad;
        t = encode(x);
      }
      auto s = net_->forward(t);
      at::Tensor loss;
      for (std::size_t l = 0; l < t.size(); ++l) {
        at::Tensor term = at::mse_loss(s[l], t[l]) * lam;
        loss = loss.defined() ? loss + term : term;
      }
      net_->zero_grad();
      loss.backward();
      if (clip > 0) torch::nn::utils::clip_grad_norm_(net_->parameters(), clip);
      ++pos.step;
      adam_.update(*net_, pos.step, lr, beta1, beta2, 1e-8, wd);
      loss_sum += loss.item<double>();
      ++loss_count;
      saved_last = false;
      progress.tick();
      const auto now = std::chrono::steady_clock::now();
      if (std::chrono::duration<double>(now - last_log).count() >= 30.0 || pos.step == total_steps) {
        last_log = now;
        const double elapsed = std::chrono::duration<double>(now - t0).count();
        const double done = static_cast<double>(pos.step - first_step);
        const double rate = elapsed > 0 ? done * static_cast<double>(batch) / elapsed : 0.0;
        const double eta = done > 0 ? elapsed / done * static_cast<double>(total_steps - pos.step) : NAN;
        spdlog::info("mvad: epoch {}/{} step {}/{} loss {:.5f} lr {:.3g} {:.2f} samples/s ETA {}", epoch + 1,
                     epochs, pos.step, total_steps, loss_sum / static_cast<double>(loss_count), lr, rate,
                     train::hms(eta));
      }
    }
    if (loss_count > 0) epoch_losses_.push_back(loss_sum / static_cast<double>(loss_count));
    pos.epoch = epoch + 1;
    pos.epoch_step = 0;
    if (!ckdir.empty() && every > 0 && pos.epoch % every == 0) {
      train::save_checkpoint(ckdir, *net_, adam_, pos, key, keep);
      saved_last = true;
    }
  }
  progress.done();
  if (!ckdir.empty() && !saved_last) train::save_checkpoint(ckdir, *net_, adam_, pos, key, keep);
  net_->zero_grad();
  net_->eval();
}

std::vector<Prediction> Mvad::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!net_) throw InternalError("mvad: predict before fit or load");
  extractor_.load(ctx.device, seed_);
  net_->to(extractor_.device());
  net_->eval();
  at::NoGradGuard no_grad;
  std::vector<cv::Size> sizes;
  at::Tensor x = views(batch, &sizes);
  auto t = encode(x);
  auto s = net_->forward(t);
  at::Tensor raw = raw_maps(t, s);  // [B*5, S, S]
  const double sigma = config_["sigma"].get<double>();
  // Smoothed at S x S (the official code scores there), then resized to each view's size.
  auto smooth = feat::to_image_maps(
      raw, extractor_.image_size(), sigma,
      std::vector<cv::Size>(sizes.size(),
                            cv::Size(static_cast<int>(raw.size(2)), static_cast<int>(raw.size(1)))));
  std::vector<Prediction> out;
  for (std::size_t b = 0; b < batch.size(); ++b) {
    Prediction p;
    p.score = -HUGE_VAL;
    for (std::size_t v = 0; v < static_cast<std::size_t>(kViews); ++v) {
      const std::size_t i = b * kViews + v;
      UnitOutput u;
      u.score = smooth[i].max().item<double>();
      if (ctx.want_maps) {
        const cv::Size& sz = sizes[i];
        if (sz.width == smooth[i].size(1) && sz.height == smooth[i].size(0)) {
          u.map = smooth[i];
        } else {
          cv::Mat m(static_cast<int>(smooth[i].size(0)), static_cast<int>(smooth[i].size(1)), CV_32FC1,
                    smooth[i].data_ptr<float>()),
              full;
          cv::resize(m, full, sz, 0, 0, cv::INTER_LINEAR);
          u.map = at::from_blob(full.data, {full.rows, full.cols}, at::kFloat).clone();
        }
      }
      p.score = std::max(p.score, u.score);
      p.units.push_back(std::move(u));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, at::Tensor> Mvad::state() const {
  std::map<std::string, at::Tensor> out;
  if (!net_) return out;
  for (auto& [k, v] : train::module_state(*net_)) out["net." + k] = v;
  out["channels"] = at::tensor(channels_, at::kLong);
  out["seed"] = at::tensor({static_cast<int64_t>(seed_)}, at::kLong);
  return out;
}

void Mvad::load_state(const std::map<std::string, at::Tensor>& tensors) {
  auto need = [&](const std::string& k, int64_t len) {
    auto it = tensors.find(k);
    if (it == tensors.end()) throw InputError("mvad: model has no tensor '" + k + "'");
    if (it->second.dim() != 1 || it->second.size(0) != len)
      throw InputError("mvad: tensor '" + k + "' has shape " + c10::str(it->second.sizes()) + ", expected [" +
                       std::to_string(len) + "]");
    return it->second.to(at::kLong).contiguous();
  };
  at::Tensor ch = need("channels", 3), seed = need("seed", 1);
  const int64_t* c = ch.data_ptr<int64_t>();
  for (int i = 0; i < 3; ++i)
    if (c[i] < 1 || c[i] > 65536)
      throw InputError("mvad: tensor 'channels' holds " + std::to_string(c[i]) + " (expected 1..65536)");
  make_net({c[0], c[1], c[2]});
  seed_ = static_cast<std::uint64_t>(seed.data_ptr<int64_t>()[0]);
  std::map<std::string, at::Tensor> own;
  for (const auto& [k, v] : tensors)
    if (k.rfind("net.", 0) == 0)
      own[k.substr(4)] = v;
    else if (k != "channels" && k != "seed")
      throw InputError("mvad: model has an unexpected tensor '" + k + "'");
  train::load_module_state("mvad", *net_, own);
  net_->eval();
}

}  // namespace adbench
