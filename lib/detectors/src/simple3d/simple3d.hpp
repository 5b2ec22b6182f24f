#pragma once
// simple3d: Simple3D (Cheng, Sun, Zhang, Shen, Cao, "Towards High-Resolution 3D Anomaly Detection: A
// Scalable Dataset and Real-Time Framework for Subtle Industrial Defects", AAAI 2026), re-implemented
// from the paper and the authors' description; no network, every point scored.
//  1. Multi-Scale Neighbourhood Description (MSND): normals from the normal_k nearest points, then
//     for each k in neighbour_counts the 33-bin FPFH over the k nearest points; the scales are
//     concatenated (33 x scales values per point). fpfh_impl "fast" (default): one kNN search at the
//     largest k serves every scale and adbench's float32 code builds the histograms; "open3d":
//     Open3D's ComputeFPFHFeature per scale (the former path, kept as the reference; same
//     neighbours and bins, see pointcloud::fpfh).
//  2. Local Feature Spatial Aggregation (LFSA): num_centres centres by farthest-point sampling; each
//     centre's feature is the mean descriptor of its group_size nearest points.
//  3. Prototypes: the centre features of all normal training clouds, reduced by a greedy k-center
//     coreset to coreset_ratio of them (at least 1).
//  4. Scores: each centre's distance to its nearest prototype, spread to every point by inverse-
//     distance weighting of the interpolation_k nearest centres; then (as the authors' code does for
//     unorganised clouds) smoothed once more over smooth_centres FPS centres of smooth_group_size
//     points (0 disables). Object score: mean of the object_top_k highest point scores (the paper's
//     choice for MiniShift, Anomaly-ShapeNet and MulSen-AD; 1 = the maximum).
#include "adbench/detectors/detector.hpp"
#include "adbench/pointcloud/cloud.hpp"
#include "adbench/pointcloud/features.hpp"

namespace adbench {

class Simple3D final : public Detector {
 public:
  explicit Simple3D(const nlohmann::json& overrides);
  /// Every setting with its default, range and meaning.
  static const SettingsTable& settings();
  static nlohmann::json default_config() { return defaults_of(settings()); }

  std::string name() const override { return "simple3d"; }
  Modality modality() const override { return Modality::PointCloud; }
  nlohmann::json config() const override { return config_; }
  void fit(const std::vector<Sample>& train, const RunContext& ctx) override;
  std::vector<Prediction> predict(const std::vector<Sample>& batch, const RunContext& ctx) override;
  std::map<std::string, at::Tensor> state() const override;
  void load_state(const std::map<std::string, at::Tensor>& tensors) override;

  /// Centre positions [G,3] and aggregated features [G, 33 * scales] of one cloud (public for
  /// tests and the benchmark).
  void describe(const pointcloud::Cloud& cloud, at::Tensor& centres, at::Tensor& features) const;
  /// Per-point scores [N] of one cloud against the fitted prototypes.
  at::Tensor score_points(const pointcloud::Cloud& cloud) const;
  /// Fits directly from clouds in memory.
  void fit_clouds(const std::vector<pointcloud::Cloud>& clouds, std::uint64_t seed);

 private:
  nlohmann::json config_;
  std::vector<int> ks_;
  int normal_k_, num_centres_, group_size_, interp_k_, smooth_centres_, smooth_group_;
  pointcloud::FpfhMethod fpfh_method_;
  double coreset_ratio_;
  std::int64_t projection_dim_, top_k_;
  at::Tensor prototypes_;  ///< [M, 33 * scales] float32
};

}  // namespace adbench
