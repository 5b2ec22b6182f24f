#pragma once
// fpfh_patchcore: the "Back to the Feature" baseline (Horwitz & Hoshen, CVPRW 2023) that 3-D
// anomaly-detection papers report as BTF / FPFH: FPFH descriptors, a PatchCore memory bank reduced by
// a greedy k-center coreset, and nearest-neighbour distances as anomaly scores.
//  - Each cloud is subsampled to at most feature_points points (seeded random choice; BTF voxel-
//    downsamples instead), normals from the normal_k nearest points, FPFH over the fpfh_k nearest.
//  - Memory bank: every training descriptor, coreset to coreset_ratio (at least 1) with a seeded
//    Gaussian projection to projection_dim dimensions for the selection (PatchCore).
//  - Test: each descriptor's distance to its nearest bank entry, spread to all points by inverse-
//    distance weighting of the interpolation_k nearest scored points; object score = the largest
//    point score (PatchCore's image score).
#include "adbench/detectors/detector.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace adbench {

class FpfhPatchCore final : public Detector {
 public:
  explicit FpfhPatchCore(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "fpfh_patchcore"; }
  Modality modality() const override { return Modality::PointCloud; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;

 private:
  /// Subsampled points [M,3] and their FPFH [M,33].
  void describe(const pointcloud::Cloud& cloud, std::uint64_t seed, at::Tensor& pts, at::Tensor& feats) const;
  nlohmann::json config_;
  int normal_k_, fpfh_k_, interp_k_;
  std::int64_t feature_points_, projection_dim_;
  double coreset_ratio_;
  at::Tensor bank_;  ///< [M,33] float32
};

}  // namespace adbench
