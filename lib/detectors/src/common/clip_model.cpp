// The CLIP detectors' model loading (features.hpp), apart from the rest of features.cpp because
// it alone needs clip.hpp and with it <torch/torch.h> (~15 s of compiling in every file that
// includes it).
#include <filesystem>

#include "adbench/backbones/clip.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/sha256.hpp"
#include "features.hpp"

namespace adbench::feat {

std::unique_ptr<ClipModel> load_clip_model(const std::string& detector, const std::string& weights,
                                           const std::string& model, const at::Device& device,
                                           nlohmann::json* provenance) {
  if (weights.empty())
    throw InputError("detector " + detector +
                     ": needs CLIP weights: --backbone-weights FILE.safetensors (convert " + model +
                     " with scripts/export_weights.py clip)");
  auto m = std::make_unique<ClipModel>(load_clip(weights, device));
  *provenance = {{"backbone", "clip:" + (*m)->config.name},
                 {"activation", to_string((*m)->config.activation)},
                 {"weights", std::filesystem::path(weights).filename().string()},
                 {"weights_format", "safetensors"},
                 {"weights_sha256", sha256_file(weights)}};
  return m;
}

int clip_input_size(const std::string& detector, int64_t requested, const ClipConfig& model) {
  const int64_t size = requested > 0 ? requested : model.image_size;
  if (size % model.patch != 0)
    throw InputError("detector " + detector + ": image_size " + std::to_string(size) +
                     " is not a multiple of the model's patch size " + std::to_string(model.patch));
  return static_cast<int>(size);
}

}  // namespace adbench::feat
