#include "common/training.hpp"

#include <torch/nn.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "adbench/core/error.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/safetensors.hpp"

namespace fs = std::filesystem;

namespace adbench::train {

namespace {
constexpr const char* kCheckpointFormat = "adbench.checkpoint/1";
std::string shape_text(at::IntArrayRef s) { return c10::str(s); }
}  // namespace

std::string hms(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[64];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  return buf;
}

std::map<std::string, at::Tensor> module_state(torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters(true)) out[p.key()] = p.value().detach().to(at::kCPU).clone();
  for (const auto& b : module.named_buffers(true)) out[b.key()] = b.value().to(at::kCPU).clone();
  return out;
}

void load_module_state(const std::string& detector, torch::nn::Module& module,
                       const std::map<std::string, at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  std::size_t used = 0;
  auto load = [&](const std::string& key, at::Tensor dst) {
    auto it = tensors.find(key);
    if (it == tensors.end()) throw InputError(detector + ": model has no tensor '" + key + "'");
    if (!it->second.sizes().equals(dst.sizes()))
      throw InputError(detector + ": tensor '" + key + "' has shape " + shape_text(it->second.sizes()) +
                       ", expected " + shape_text(dst.sizes()));
    dst.copy_(it->second);
    ++used;
  };
  auto params = module.named_parameters(true);
  auto buffers = module.named_buffers(true);
  for (auto& p : params) load(p.key(), p.value());
  for (auto& b : buffers) load(b.key(), b.value());
  if (used != tensors.size())
    for (const auto& [k, v] : tensors) {
      (void)v;
      if (!params.contains(k) && !buffers.contains(k))
        throw InputError(detector + ": model has an unexpected tensor '" + k +
                         "' (trained with other network settings?)");
    }
}

void Adam::reset(torch::nn::Module& module) {
  exp_avg_.clear();
  exp_avg_sq_.clear();
  for (const auto& p : module.named_parameters(true)) {
    exp_avg_.push_back(at::zeros_like(p.value()));
    exp_avg_sq_.push_back(at::zeros_like(p.value()));
  }
}

void Adam::update(torch::nn::Module& module, std::int64_t step, double lr, double beta1, double beta2,
                  double eps, double weight_decay) {
  at::NoGradGuard no_grad;
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  std::size_t i = 0;
  for (auto& p : module.named_parameters(true)) {
    at::Tensor g = p.value().grad();
    if (g.defined()) {
      if (weight_decay != 0.0) p.value().mul_(1.0 - lr * weight_decay);
      exp_avg_[i].mul_(beta1).add_(g, 1.0 - beta1);
      exp_avg_sq_[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      at::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bc2)).add_(eps);
      p.value().addcdiv_(exp_avg_[i], denom, -lr / bc1);
    }
    ++i;
  }
}

std::vector<std::pair<std::int64_t, fs::path>> checkpoints_in(const fs::path& dir) {
  std::vector<std::pair<std::int64_t, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    const std::string pre = "checkpoint-", post = ".safetensors";
    if (n.size() != pre.size() + 9 + post.size() || n.rfind(pre, 0) != 0 ||
        n.compare(n.size() - post.size(), post.size(), post) != 0)
      continue;
    const std::string digits = n.substr(pre.size(), 9);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.emplace_back(std::stoll(digits), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void save_checkpoint(const fs::path& dir, torch::nn::Module& module, Adam& adam, const Position& pos,
                     const CheckpointKey& key, std::size_t keep) {
  std::map<std::string, at::Tensor> t;
  std::size_t i = 0;
  for (const auto& p : module.named_parameters(true)) {
    t["model." + p.key()] = p.value().detach().to(at::kCPU);
    t["adam.exp_avg." + p.key()] = adam.exp_avg()[i].to(at::kCPU);
    t["adam.exp_avg_sq." + p.key()] = adam.exp_avg_sq()[i].to(at::kCPU);
    ++i;
  }
  for (const auto& b : module.named_buffers(true)) t["model." + b.key()] = b.value().to(at::kCPU);
  t["position"] = at::tensor({pos.epoch, pos.epoch_step, pos.step}, at::kLong);
  const std::map<std::string, std::string> meta = {{"format", kCheckpointFormat},
                                                   {"detector", key.detector},
                                                   {"config", key.config.dump()},
                                                   {"seed", std::to_string(key.seed)},
                                                   {"data", key.data}};
  char name[64];
  std::snprintf(name, sizeof name, "checkpoint-%09lld.safetensors", static_cast<long long>(pos.step));
  const fs::path file = dir / name;
  const fs::path tmp = dir / (std::string(name) + ".partial-" + std::to_string(::getpid()));
  {
    WriteScope scope;  // an interrupt waits for this file, then removes the temporary
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw_file_error(dir, "cannot create folder (" + ec.message() + ")");
    remove_on_interrupt(tmp);
    try {
      write_safetensors(tmp, t, meta);
    } catch (...) {
      fs::remove(tmp, ec);
      forget_on_interrupt(tmp);
      throw;
    }
    fs::rename(tmp, file, ec);
    forget_on_interrupt(tmp);
    if (ec) {
      const std::string why = ec.message();
      fs::remove(tmp, ec);
      throw_file_error(file, "cannot rename the checkpoint into place (" + why + ")");
    }
  }
  spdlog::info("{}: checkpoint {} (epoch {}, step {})", key.detector, file.string(), pos.epoch, pos.step);
  auto all = checkpoints_in(dir);
  for (std::size_t k = 0; k + keep < all.size(); ++k) {
    std::error_code ec;
    fs::remove(all[k].second, ec);
  }
}

Position resume_checkpoint(const fs::path& dir, torch::nn::Module& module, Adam& adam,
                           const CheckpointKey& key) {
  if (dir.empty()) throw InputError(key.detector + ": resuming needs a checkpoint folder");
  auto found = checkpoints_in(dir);
  if (found.empty()) throw_file_error(dir, "no checkpoint to resume from (checkpoint-*.safetensors)");
  const fs::path& file = found.back().second;
  SafeTensors st = read_safetensors(file);
  auto meta = [&](const std::string& k) {
    auto it = st.metadata.find(k);
    if (it == st.metadata.end()) throw_file_error(file, "not an adbench checkpoint (no '" + k + "' entry)");
    return it->second;
  };
  if (meta("format") != kCheckpointFormat)
    throw_file_error(file, "checkpoint format '" + excerpt(meta("format")) + "' is not " + kCheckpointFormat);
  if (meta("detector") != key.detector)
    throw_file_error(file, "holds a '" + excerpt(meta("detector")) + "' checkpoint, not " + key.detector);
  nlohmann::json theirs = nlohmann::json::parse(meta("config"), nullptr, false);
  if (theirs != key.config) {
    std::string diff;
    for (const auto& [k, v] : key.config.items()) {
      const nlohmann::json other = theirs.is_object() && theirs.contains(k) ? theirs[k] : nlohmann::json();
      if (other != v)
        diff += (diff.empty() ? "" : "; ") + k + ": " + excerpt(other.dump(), 40) + " there, " + v.dump() +
                " now";
    }
    throw_file_error(file, "was written with other settings (" + (diff.empty() ? "unknown keys" : diff) +
                               "); --resume needs the same settings (only " + key.resumable + " may change)");
  }
  if (meta("seed") != std::to_string(key.seed))
    throw_file_error(file, "was written with seed " + excerpt(meta("seed")) + ", this run uses seed " +
                               std::to_string(key.seed) + "; --resume needs the same seed");
  if (meta("data") != key.data)
    throw_file_error(file, "was trained on " + excerpt(meta("data")) + ", this run has " + key.data +
                               "; --resume needs the same " + key.data_noun);
  at::NoGradGuard no_grad;
  auto take = [&](const std::string& name, const at::Tensor& like) {
    auto it = st.tensors.find(name);
    if (it == st.tensors.end()) throw_file_error(file, "has no tensor '" + name + "'");
    if (!it->second.sizes().equals(like.sizes()))
      throw_file_error(file, "tensor '" + name + "' has shape " + shape_text(it->second.sizes()) +
                                 ", expected " + shape_text(like.sizes()));
    return it->second;
  };
  std::size_t i = 0;
  for (auto& p : module.named_parameters(true)) {
    p.value().copy_(take("model." + p.key(), p.value()));
    adam.exp_avg()[i].copy_(take("adam.exp_avg." + p.key(), p.value()));
    adam.exp_avg_sq()[i].copy_(take("adam.exp_avg_sq." + p.key(), p.value()));
    ++i;
  }
  for (auto& buf : module.named_buffers(true)) buf.value().copy_(take("model." + buf.key(), buf.value()));
  at::Tensor pos = take("position", at::empty({3})).to(at::kLong);
  Position out{pos[0].item<std::int64_t>(), pos[1].item<std::int64_t>(), pos[2].item<std::int64_t>()};
  spdlog::info("{}: resuming from {} (epoch {}, step {})", key.detector, file.string(), out.epoch + 1,
               out.step);
  return out;
}

}  // namespace adbench::train
