#pragma once
// What every trained detector (ffp, infp, mvad) shares: the decoupled-weight-decay Adam update
// (PyTorch's Adam / AdamW rule) with its moments, checkpoint files (checkpoint-<step>.safetensors:
// model, optimiser moments, position, and the settings, seed and data they were written with),
// resuming from the newest one with every mismatch reported as one line, and the ETA text of
// progress logs.
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace adbench::train {

/// "1h02m", "3m07s", or "?" for a negative or non-finite number of seconds.
std::string hms(double seconds);

/// Every parameter and buffer of `module` by name, on the CPU (a detector's state()).
std::map<std::string, at::Tensor> module_state(torch::nn::Module& module);
/// Copies `tensors` into `module`'s parameters and buffers. InputError "<detector>: model has no
/// tensor 'k'", "... tensor 'k' has shape [..], expected [..]", "... has an unexpected tensor 'k'
/// (trained with other network settings?)".
void load_module_state(const std::string& detector, torch::nn::Module& module,
                       const std::map<std::string, at::Tensor>& tensors);

/// Adam's moments for a module's parameters (named_parameters(true) order) and its update:
/// p <- p (1 - lr wd), then Adam with bias correction (PyTorch's AdamW; wd = 0 is Adam).
class Adam {
 public:
  /// Zero moments shaped like `module`'s parameters.
  void reset(torch::nn::Module& module);
  /// One update of every parameter that has a gradient; `step` counts from 1.
  void update(torch::nn::Module& module, std::int64_t step, double lr, double beta1, double beta2,
              double eps = 1e-8, double weight_decay = 0.0);
  std::vector<at::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<at::Tensor>& exp_avg_sq() { return exp_avg_sq_; }

 private:
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
};

/// Where a training run stands: epochs done, steps done in the current epoch, steps done in all.
struct Position {
  std::int64_t epoch = 0, epoch_step = 0, step = 0;
};

/// What a checkpoint must agree on to be resumed from.
struct CheckpointKey {
  std::string detector;
  nlohmann::json config;  ///< settings without the resumable ones
  std::string resumable;  ///< "epochs, iterations, ..." for the error line
  std::uint64_t seed = 0;
  std::string data;       ///< e.g. "12 videos, 3400 frames, 3390 clips"
  std::string data_noun;  ///< "training videos", "training samples"
};

/// Checkpoint files in `dir` by step, ascending.
std::vector<std::pair<std::int64_t, std::filesystem::path>> checkpoints_in(const std::filesystem::path& dir);

/// Writes dir/checkpoint-<step>.safetensors atomically (temporary file + rename, removed on an
/// interrupt): "model.<name>" for every parameter and buffer of `module`, "adam.exp_avg.<name>" and
/// "adam.exp_avg_sq.<name>", "position"; then deletes all but the newest `keep` checkpoints.
void save_checkpoint(const std::filesystem::path& dir, torch::nn::Module& module, Adam& adam,
                     const Position& pos, const CheckpointKey& key, std::size_t keep);

/// Restores `module` and `adam` from the newest checkpoint in `dir` and returns its position.
/// InputErrors naming the file: none there, not an adbench checkpoint, another detector's, other
/// settings (listing each difference), another seed, other training data, a missing or mis-shaped tensor.
Position resume_checkpoint(const std::filesystem::path& dir, torch::nn::Module& module, Adam& adam,
                           const CheckpointKey& key);

}  // namespace adbench::train
