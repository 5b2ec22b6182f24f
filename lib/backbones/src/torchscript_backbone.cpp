// The "torchscript" backbone: any model saved with torch.jit.save. Layers are tapped by running
// the top-level children in order, expanding children that are themselves nn.Sequential
// ("features" -> "features.0", "features.1", ...). logits() calls the model's own forward().
#include <torch/script.h>

#include "adbench/core/error.hpp"
#include "adbench/core/sha256.hpp"
#include "internal.hpp"

namespace fs = std::filesystem;

namespace adbench::detail {

namespace {

torch::jit::Module load_module(const fs::path& file, torch::jit::ExtraFilesMap* extra = nullptr) {
  try {
    torch::jit::ExtraFilesMap none;
    return torch::jit::load(file.string(), c10::nullopt, extra ? *extra : none);
  } catch (const c10::Error& e) {
    std::string what = e.what();
    throw_file_error(file, "cannot load as TorchScript (" + what.substr(0, what.find('\n')) +
                               "); save models with torch.jit.save, or export safetensors with "
                               "scripts/export_weights.py");
  }
}

bool is_sequential(const torch::jit::Module& m) {
  // e.g. "__torch__.torch.nn.modules.container.___torch_mangle_80.Sequential"
  auto type = m.type()->name();
  return type && type->name() == "Sequential" &&
         type->qualifiedName().find("torch.nn.modules.container.") != std::string::npos;
}

void add_stages(const torch::jit::Module& parent, const std::string& prefix, std::vector<Stage>& out) {
  for (const auto& child : parent.named_children()) {
    const std::string name = prefix + child.name;
    if (is_sequential(child.value)) {
      add_stages(child.value, name + ".", out);
    } else {
      torch::jit::Module m = child.value;
      out.push_back({name, [m](const at::Tensor& x) mutable { return m.forward({x}).toTensor(); }});
    }
  }
}

class TorchScriptBackbone : public StagedBackbone {
 public:
  TorchScriptBackbone(std::vector<Stage> stages, NormInfo norm, nlohmann::json prov, at::Device device,
                      std::shared_ptr<torch::jit::Module> module)
      : StagedBackbone("torchscript", std::move(stages), std::move(norm), std::move(prov), device, module),
        module_(std::move(module)) {}

  at::Tensor logits(const at::Tensor& x) override {
    at::NoGradGuard no_grad;
    at::Tensor in = prepare(x);
    try {
      auto out = module_->forward({in});
      if (!out.isTensor())
        throw InputError("backbone torchscript: the model's forward() does not return a tensor");
      return out.toTensor();
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      rethrow_stage_error("forward", x, e);
    }
  }

 private:
  std::shared_ptr<torch::jit::Module> module_;
};

}  // namespace

std::map<std::string, at::Tensor> torchscript_tensors(const fs::path& file) {
  torch::jit::Module m = load_module(file);
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out[p.name] = p.value.detach();
  for (const auto& b : m.named_buffers(true)) out[b.name] = b.value.detach();
  return out;
}

std::unique_ptr<Backbone> load_torchscript_backbone(const fs::path& file, at::Device device) {
  // Optional normalisation: an extra file "adbench.json" ({"mean": "[..]", "std": "[..]"}) saved
  // with torch.jit.save(..., _extra_files=...).
  torch::jit::ExtraFilesMap extra{{"adbench.json", ""}};
  auto module = std::make_shared<torch::jit::Module>(load_module(file, &extra));
  NormInfo norm;
  if (!extra["adbench.json"].empty()) {
    std::map<std::string, std::string> md;
    try {
      const auto j = nlohmann::json::parse(extra["adbench.json"]);  // kept alive for items()
      if (!j.is_object()) throw_file_error(file, "extra file adbench.json is not a JSON object");
      for (const auto& [k, v] : j.items()) md[k] = v.is_string() ? v.get<std::string>() : v.dump();
    } catch (const nlohmann::json::exception& e) {
      throw_file_error(file, std::string("extra file adbench.json is not a JSON object: ") + e.what());
    }
    norm = normalization_from_metadata(file, md);
  }
  module->eval();
  module->to(device);
  std::vector<Stage> stages;
  add_stages(*module, "", stages);
  if (stages.empty()) throw_file_error(file, "the TorchScript model has no submodules to tap");
  nlohmann::json prov = {{"backbone", "torchscript"},
                         {"weights", file.filename().string()},
                         {"weights_sha256", sha256_file(file)},
                         {"weights_format", "torchscript"},
                         {"normalization", normalization_json(norm)},
                         {"padding", "as scripted"}};
  return std::make_unique<TorchScriptBackbone>(std::move(stages), norm, std::move(prov), device, module);
}

}  // namespace adbench::detail
