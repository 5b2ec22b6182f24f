#pragma once
// The LibTorch engine: the same definitions as the sweep, written with tensor ops (sort, cumsum,
// masked selections) so it runs on the accumulator's device (CUDA, or CPU for cross-checks).
#include <ATen/ATen.h>

#include <vector>

#include "engine.hpp"

namespace adbench::metrics::detail {

struct TorchStore {
  std::vector<at::Tensor> scores;  ///< flat, on the device, float32 or float64
  std::vector<at::Tensor>
      regions;  ///< flat int32 on the device: -1 negative, 0 positive without region, k >= 1 region
  bool any_double = false;
};

struct TorchInputs {
  std::int64_t positives = 0, negatives = 0, regions = 0;
  bool want_pro = false;
  const std::vector<double>* inv_size = nullptr;  ///< indexed by region id; [0] = 0
};

/// Consumes the store.
SweepResult torch_compute(TorchStore& store, const TorchInputs& in, const Options& options,
                          at::Device device);

}  // namespace adbench::metrics::detail
