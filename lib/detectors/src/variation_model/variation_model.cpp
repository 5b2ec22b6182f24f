#include "variation_model.hpp"

#include <opencv2/imgproc.hpp>

#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/progress.hpp"

namespace adbench {

const SettingsTable& VariationModel::settings() {
  static const SettingsTable table = {
      {"image_size", 256, SettingRange::integer(8, 4096),
       "side of the square every image is resized to (INTER_AREA)"},
      {"std_floor", 0.02, SettingRange::number(0, true),
       "lower bound of the per-pixel standard deviation on the [0,1] intensity scale"}};
  return table;
}

VariationModel::VariationModel(const nlohmann::json& overrides)
    : config_(merge_config("variation_model", settings(), overrides)) {
  size_ = config_["image_size"].get<int>();
  std_floor_ = config_["std_floor"].get<double>();
}

at::Tensor VariationModel::load_resized(const Sample& s, int* height, int* width) const {
  cv::Mat rgb = read_image_rgb(s.path());
  if (height) *height = rgb.rows;
  if (width) *width = rgb.cols;
  cv::Mat resized;
  cv::resize(rgb, resized, cv::Size(size_, size_), 0, 0, cv::INTER_AREA);
  return image_to_tensor(resized);
}

void VariationModel::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("variation_model: no training images");
  auto opts = at::TensorOptions().dtype(at::kDouble).device(ctx.device);
  at::Tensor sum = at::zeros({3, size_, size_}, opts);
  at::Tensor sum_sq = at::zeros({3, size_, size_}, opts);
  Progress progress("fit variation_model", static_cast<std::int64_t>(train.size()));
  for (const auto& s : train) {
    at::Tensor x = load_resized(s, nullptr, nullptr).to(ctx.device, at::kDouble);
    sum += x;
    sum_sq += x * x;
    progress.tick();
  }
  const double n = static_cast<double>(train.size());
  at::Tensor mean = sum / n;
  at::Tensor var = (sum_sq / n - mean * mean).clamp_min(0.0);
  mean_ = mean.to(at::kFloat);
  std_ = var.sqrt().clamp_min(std_floor_).to(at::kFloat);
}

std::vector<Prediction> VariationModel::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!mean_.defined()) throw InternalError("variation_model: predict before fit or load");
  at::Tensor mean = mean_.to(ctx.device), stdev = std_.to(ctx.device);
  std::vector<Prediction> out;
  out.reserve(batch.size());
  for (const auto& s : batch) {
    int h = 0, w = 0;
    at::Tensor x = load_resized(s, &h, &w).to(ctx.device);
    at::Tensor z = ((x - mean).abs() / stdev).amax(0).to(at::kCPU).contiguous();
    cv::Mat small(size_, size_, CV_32FC1, z.data_ptr<float>());
    cv::Mat full;
    cv::resize(small, full, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    at::Tensor map = at::from_blob(full.data, {h, w}, at::kFloat).clone();
    out.push_back(Prediction::single(map, map.max().item<double>()));
  }
  return out;
}

std::map<std::string, at::Tensor> VariationModel::state() const { return {{"mean", mean_}, {"std", std_}}; }

void VariationModel::load_state(const std::map<std::string, at::Tensor>& tensors) {
  for (const char* key : {"mean", "std"}) {
    auto it = tensors.find(key);
    if (it == tensors.end())
      throw InputError(std::string("variation_model: model has no tensor '") + key + "'");
    if (it->second.sizes() != at::IntArrayRef({3, size_, size_}))
      throw InputError(std::string("variation_model: tensor '") + key + "' has shape " +
                       c10::str(it->second.sizes()) + ", expected [3, " + std::to_string(size_) + ", " +
                       std::to_string(size_) + "]");
  }
  mean_ = tensors.at("mean").to(at::kFloat);
  std_ = tensors.at("std").to(at::kFloat);
}

}  // namespace adbench
