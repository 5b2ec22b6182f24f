#include "features.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/core/sha256.hpp"
#include "adbench/core/stage_times.hpp"

namespace adbench::feat {

namespace {
bool is_resnet(const std::string& b) {
  return b == "resnet18" || b == "wide_resnet50_2" || b.rfind("resnet", 0) == 0;
}
}  // namespace

std::vector<std::string> default_layers(const std::string& role, const std::string& backbone) {
  if (is_resnet(backbone)) {
    if (role == "mid") return {"layer2", "layer3"};
    if (role == "pyramid") return {"layer1", "layer2", "layer3"};
    if (role == "global") return {"layer4"};
  } else if (backbone == "mobilenet_v2") {
    // Stage ends: features.3 (stride 4, 24 ch), .6 (stride 8, 32), .13 (stride 16, 96),
    // .18 (stride 32, 1280: the classifier's input).
    if (role == "mid") return {"features.6", "features.13"};
    if (role == "pyramid") return {"features.3", "features.6", "features.13"};
    if (role == "global") return {"features.18"};
  }
  return {};
}

namespace {
/// The shipped-weights paths resolve_backbone handed out (checked by SHA-256 when loaded).
std::set<std::string>& shipped_paths() {
  static std::set<std::string> paths;
  return paths;
}
std::mutex shipped_mutex;
}  // namespace

std::string shipped_model_path(const std::string& relative) {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("ADBENCH_MODELS_DIR"); env && *env)
    return (fs::path(env) / relative).string();
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share/adbench/models" / relative;
    if (fs::is_regular_file(installed, ec)) return installed.string();
  }
  return (fs::path(ADBENCH_MODELS_DIR) / relative).string();
}

std::string shipped_weights_path() { return shipped_model_path("mobilenet_v2_imagenet.safetensors"); }

void resolve_backbone(const std::string& detector, nlohmann::json& config, const nlohmann::json& overrides) {
  const auto given = [&](const char* key) {
    return overrides.is_object() && overrides.contains(key) &&
           !(overrides[key].is_string() && overrides[key] == "");
  };
  if (given("backbone_weights")) return;
  if (!given("backbone")) {
    spdlog::info(
        "{}: no --backbone-weights: using the shipped ImageNet mobilenet_v2 ({}); the paper's {} needs "
        "--backbone {} --backbone-weights FILE (scripts/export_weights.py)",
        detector, shipped_weights_path(), config["backbone"].get<std::string>(),
        config["backbone"].get<std::string>());
    config["backbone"] = "mobilenet_v2";
  }
  if (config["backbone"] == "mobilenet_v2") {
    config["backbone_weights"] = shipped_weights_path();
    std::lock_guard<std::mutex> lock(shipped_mutex);
    shipped_paths().insert(config["backbone_weights"].get<std::string>());
  }
}

void resolve_layers(const std::string& detector, nlohmann::json& config, const nlohmann::json& overrides,
                    const std::string& key, const std::string& role) {
  const bool user_set = overrides.is_object() && overrides.contains(key);
  if (!user_set) {
    auto layers = default_layers(role, config["backbone"].get<std::string>());
    if (layers.empty())
      throw InputError("detector " + detector + ": backbone '" + config["backbone"].get<std::string>() +
                       "' has no default layers; give them with --set " + key + "='[\"name\", ...]'");
    if (config[key].is_string())
      config[key] = layers.front();
    else
      config[key] = layers;
  }
  if (config[key].is_array()) {
    if (config[key].empty()) throw InputError("detector " + detector + ": setting '" + key + "' is empty");
    for (const auto& l : config[key])
      if (!l.is_string())
        throw InputError("detector " + detector + ": setting '" + key + "' expects layer names, got " +
                         config[key].dump());
  }
}

SettingsTable backbone_settings(const std::string& backbone, const std::vector<std::string>& layers) {
  SettingsTable t;
  t.push_back({"backbone", backbone, SettingRange::choice(backbone_names()), "the CNN (--backbone)"});
  t.push_back(
      {"backbone_weights", "", SettingRange::text(),
       "its weights: a .safetensors or TorchScript file, or 'none' for random init (--backbone-weights; "
       "left out: the shipped ImageNet mobilenet_v2, which then also becomes the backbone unless "
       "--backbone names another)"});
  t.push_back({"layers", layers, SettingRange::names(),
               "tapped layers (left out: the paper's on ResNets, the matching stages on mobilenet_v2)"});
  t.push_back(
      {"image_size", 224, SettingRange::integer(32, 2048), "images are resized to this square (pixels)"});
  t.push_back({"sigma", 4.0, SettingRange::number(0, false, 64),
               "Gaussian smoothing of the map, in pixels at image_size (0: none)"});
  return t;
}

// ---------------------------------------------------------------------------------------------

FeatureExtractor::FeatureExtractor(std::string detector, std::string backbone, std::string weights,
                                   int image_size)
    : detector_(std::move(detector)),
      name_(std::move(backbone)),
      weights_(std::move(weights)),
      size_(image_size) {
  if (size_ < 32 || size_ > 2048)
    throw InputError("detector " + detector_ + ": image_size must be in [32, 2048], got " +
                     std::to_string(size_));
}

void FeatureExtractor::load(at::Device device, std::uint64_t seed) const {
  if (backbone_ && backbone_->device() == device) return;
  if (weights_.empty())
    throw InputError("detector " + detector_ + ": no backbone weights for " + name_ +
                     ": give --backbone-weights FILE (export torchvision's with scripts/export_weights.py " +
                     name_ +
                     " --out FILE), --backbone-weights none for random initialisation, or leave out " +
                     "--backbone to use the shipped mobilenet_v2");
  bool shipped = false;
  {
    std::lock_guard<std::mutex> lock(shipped_mutex);
    shipped = weights_ == shipped_weights_path() || shipped_paths().count(weights_) > 0;
  }
  if (shipped) {
    if (!std::filesystem::is_regular_file(weights_))
      throw InputError(weights_ + ": the shipped mobilenet_v2 weights are missing (restore them with git " +
                       "checkout, set ADBENCH_MODELS_DIR, or give --backbone-weights FILE)");
    const std::string sha = sha256_file(weights_);
    if (sha != kShippedWeightsSha256)
      throw InputError(weights_ + ": not the shipped mobilenet_v2 weights (sha256 " + sha + ", expected " +
                       kShippedWeightsSha256 +
                       "); restore them with git checkout or give --backbone-weights FILE");
  }
  if (weights_ == "none") at::manual_seed(seed);
  backbone_ = load_backbone(name_, weights_, device);
}

at::Device FeatureExtractor::device() const {
  if (!backbone_) throw InternalError(detector_ + ": backbone used before it was loaded");
  return backbone_->device();
}

nlohmann::json FeatureExtractor::provenance(std::uint64_t seed) const {
  if (!backbone_) load(at::kCPU, seed);
  return backbone_->provenance();
}

at::Tensor FeatureExtractor::images(std::span<const Sample> batch, std::vector<cv::Size>* sizes) const {
  if (!backbone_) throw InternalError(detector_ + ": backbone used before it was loaded");
  std::vector<at::Tensor> xs;
  xs.reserve(batch.size());
  for (const auto& s : batch) {
    cv::Mat rgb;
    {
      ScopedStage t("decode");
      rgb = read_image_rgb(s.path());
    }
    if (sizes) sizes->push_back(rgb.size());
    ScopedStage t("resize");
    xs.push_back(image_to_tensor(resized(rgb)));
  }
  ScopedStage t("resize");
  at::Tensor x = at::stack(xs);
  Normalization n = backbone_->normalization();
  at::Tensor mean = at::tensor(std::vector<float>(n.mean.begin(), n.mean.end())).view({1, 3, 1, 1});
  at::Tensor stdv = at::tensor(std::vector<float>(n.std.begin(), n.std.end())).view({1, 3, 1, 1});
  return ((x - mean) / stdv).to(backbone_->device());
}

cv::Mat FeatureExtractor::resized(const cv::Mat& rgb) const {
  cv::Mat out;
  const bool shrink = rgb.cols > size_ || rgb.rows > size_;
  cv::resize(rgb, out, cv::Size(size_, size_), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

at::Tensor FeatureExtractor::normalized(const at::Tensor& rgb_u8) const {
  if (!backbone_) throw InternalError(detector_ + ": backbone used before it was loaded");
  Normalization n = backbone_->normalization();
  const at::Device dev = backbone_->device();
  at::Tensor mean = at::tensor(std::vector<float>(n.mean.begin(), n.mean.end())).view({1, 3, 1, 1}).to(dev);
  at::Tensor stdv = at::tensor(std::vector<float>(n.std.begin(), n.std.end())).view({1, 3, 1, 1}).to(dev);
  return (rgb_u8.to(dev).to(at::kFloat).div_(255.0) - mean) / stdv;
}

std::map<std::string, at::Tensor> FeatureExtractor::features(const at::Tensor& x,
                                                             const std::vector<std::string>& layers) const {
  if (!backbone_) throw InternalError(detector_ + ": backbone used before it was loaded");
  ScopedStage t("backbone");
  return backbone_->features(x, layers);
}

// ---------------------------------------------------------------------------------------------

at::Tensor concat_layers(const std::map<std::string, at::Tensor>& feats,
                         const std::vector<std::string>& layers, int pool_size) {
  int64_t h = 0, w = 0;
  for (const auto& l : layers) {
    const auto& f = feats.at(l);
    if (f.size(2) * f.size(3) > h * w) h = f.size(2), w = f.size(3);
  }
  std::vector<at::Tensor> parts;
  for (const auto& l : layers) {
    at::Tensor f = feats.at(l);
    if (pool_size > 1) f = at::avg_pool2d(f, {pool_size, pool_size}, {1, 1}, {pool_size / 2, pool_size / 2});
    if (f.size(2) != h || f.size(3) != w) f = at::upsample_bilinear2d(f, {h, w}, false);
    parts.push_back(f);
  }
  return at::cat(parts, 1);
}

std::vector<Sample> seeded_shots(const std::string& detector, const std::vector<Sample>& train,
                                 std::int64_t shots, std::uint64_t seed) {
  if (static_cast<std::int64_t>(train.size()) < shots)
    throw InputError(detector + ": --shots " + std::to_string(shots) + " needs at least " +
                     std::to_string(shots) + " training images, got " + std::to_string(train.size()));
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(static_cast<size_t>(shots));
  std::sort(order.begin(), order.end());
  std::vector<Sample> out;
  for (size_t i : order) out.push_back(train[i]);
  return out;
}

at::Tensor clip_images(std::span<const Sample> batch, int size, const at::Device& device,
                       std::vector<cv::Size>* sizes) {
  std::vector<at::Tensor> xs;
  for (const auto& s : batch) {
    cv::Mat rgb = read_image_rgb(s.path()), r;
    if (sizes) sizes->push_back(rgb.size());
    const bool shrink = rgb.cols > size || rgb.rows > size;
    cv::resize(rgb, r, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
    xs.push_back(image_to_tensor(r));
  }
  const at::Tensor mean = at::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({1, 3, 1, 1});
  const at::Tensor stdv = at::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({1, 3, 1, 1});
  return ((at::stack(xs) - mean) / stdv).to(device);
}

std::vector<at::Tensor> to_image_maps(const at::Tensor& small, int image_size, double sigma,
                                      const std::vector<cv::Size>& sizes) {
  ScopedStage t("smooth");
  at::Tensor up = at::upsample_bilinear2d(small.unsqueeze(1).to(at::kFloat), {image_size, image_size}, false)
                      .squeeze(1)
                      .to(at::kCPU)
                      .contiguous();
  std::vector<at::Tensor> out;
  const int radius = static_cast<int>(std::lround(4.0 * sigma));
  for (int64_t b = 0; b < up.size(0); ++b) {
    cv::Mat m(image_size, image_size, CV_32FC1, up[b].data_ptr<float>());
    cv::Mat smooth;
    if (sigma > 0)
      cv::GaussianBlur(m, smooth, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma, cv::BORDER_REFLECT);
    else
      smooth = m;
    cv::Mat full;
    const cv::Size& sz = sizes.at(static_cast<size_t>(b));
    if (sz.width == image_size && sz.height == image_size)
      full = smooth.clone();
    else
      cv::resize(smooth, full, sz, 0, 0, cv::INTER_LINEAR);
    out.push_back(at::from_blob(full.data, {full.rows, full.cols}, at::kFloat).clone());
  }
  return out;
}

at::Tensor state_tensor(const std::string& detector, const std::map<std::string, at::Tensor>& tensors,
                        const std::string& key, std::vector<int64_t> shape) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw InputError(detector + ": model has no tensor '" + key + "'");
  const at::Tensor& t = it->second;
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i)
    if (shape[i] >= 0 && t.size(static_cast<int64_t>(i)) != shape[i]) ok = false;
  if (!ok) {
    std::string want = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      want += (i ? ", " : "") + (shape[i] >= 0 ? std::to_string(shape[i]) : std::string("*"));
    throw InputError(detector + ": tensor '" + key + "' has shape " + c10::str(t.sizes()) + ", expected " +
                     want + "]");
  }
  return t;
}

}  // namespace adbench::feat
