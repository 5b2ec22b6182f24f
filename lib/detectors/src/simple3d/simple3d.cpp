#include "simple3d.hpp"

#include "adbench/core/error.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/pointcloud/features.hpp"
#include "adbench/pointcloud/knn.hpp"
#include "pointcloud_common/point_detector.hpp"

namespace adbench {

using namespace point_detail;
namespace pc = pointcloud;

const SettingsTable& Simple3D::settings() {
  static const SettingsTable table = {
      {"neighbour_counts",
       {40, 80, 120},
       SettingRange::integers(1, 8, 2, 10000),
       "kNN sizes of the multi-scale FPFH descriptors (concatenated)"},
      {"normal_k", 10, SettingRange::integer(3, 10000), "neighbours for normal estimation"},
      {"fpfh_impl", "fast", SettingRange::choice({"fast", "open3d"}),
       "FPFH code: fast (one kNN search, float32) or open3d (Open3D per scale, the reference)"},
      {"num_centres", 4096, SettingRange::integer(1, 100000000), "LFSA farthest-point centres"},
      {"group_size", 128, SettingRange::integer(1, 10000), "points averaged around each centre"},
      {"coreset_ratio", 0.05, SettingRange::number(0, true, 1),
       "share of training centre features kept as prototypes (greedy k-center)"},
      {"projection_dim", 128, SettingRange::integer(0, 65536),
       "random projection used while selecting the prototypes (0: none)"},
      {"interpolation_k", 3, SettingRange::integer(1, 1000), "centres blended per point"},
      {"smooth_centres", 1024, SettingRange::integer(0, 100000000),
       "centres of the second score aggregation (0: off)"},
      {"smooth_group_size", 12, SettingRange::integer(0, 10000),
       "points per centre of the second aggregation (0: off)"},
      {"object_top_k", 80, SettingRange::integer(1, 1000000000),
       "object score = mean of the top-k point scores"}};
  return table;
}

Simple3D::Simple3D(const nlohmann::json& overrides)
    : config_(merge_config("simple3d", settings(), overrides)) {
  for (const auto& v : config_["neighbour_counts"]) ks_.push_back(v.get<int>());
  normal_k_ = config_["normal_k"].get<int>();
  fpfh_method_ = pc::fpfh_method_from_name(config_["fpfh_impl"].get<std::string>());
  num_centres_ = config_["num_centres"].get<int>();
  group_size_ = config_["group_size"].get<int>();
  coreset_ratio_ = config_["coreset_ratio"].get<double>();
  projection_dim_ = config_["projection_dim"].get<std::int64_t>();
  interp_k_ = config_["interpolation_k"].get<int>();
  smooth_centres_ = config_["smooth_centres"].get<int>();
  smooth_group_ = config_["smooth_group_size"].get<int>();
  top_k_ = config_["object_top_k"].get<std::int64_t>();
}

void Simple3D::describe(const pc::Cloud& cloud, at::Tensor& centres, at::Tensor& features) const {
  const at::Tensor& pts = cloud.points;
  at::Tensor desc = pc::fpfh(pts, normal_k_, ks_, fpfh_method_);  // MSND: [N, 33 * scales]
  at::Tensor idx = pc::farthest_point_sample(pts, num_centres_);
  centres = pts.index_select(0, idx).contiguous();
  pc::KdTree tree(pts);
  at::Tensor groups = tree.knn_indices(centres, group_size_);
  features = pc::group_mean(desc, groups);  // LFSA
}

void Simple3D::fit_clouds(const std::vector<pc::Cloud>& clouds, std::uint64_t seed) {
  std::vector<at::Tensor> feats;
  for (const auto& c : clouds) {
    at::Tensor centres, f;
    describe(c, centres, f);
    feats.push_back(f);
  }
  at::Tensor bank = at::cat(feats, 0);
  const auto m = std::max<std::int64_t>(1, static_cast<std::int64_t>(coreset_ratio_ * double(bank.size(0))));
  // SeedModulo: the point-cloud detectors' seeding (first centre = seed % N), kept for their results.
  const CoresetOptions opt{projection_dim_, seed, CoresetSeeding::SeedModulo, ""};
  prototypes_ = bank.index_select(0, greedy_coreset(bank, m, opt)).contiguous();
}

void Simple3D::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("simple3d: no training clouds");
  std::vector<at::Tensor> feats;
  Progress progress("fit simple3d", static_cast<std::int64_t>(train.size()));
  for (const auto& s : train) {
    at::Tensor centres, f;
    describe(load_cloud(s), centres, f);
    feats.push_back(f);
    progress.tick();
  }
  progress.done();
  at::Tensor bank = at::cat(feats, 0);
  feats.clear();
  const auto m = std::max<std::int64_t>(1, static_cast<std::int64_t>(coreset_ratio_ * double(bank.size(0))));
  // SeedModulo: the point-cloud detectors' seeding (first centre = seed % N), kept for their results.
  const CoresetOptions opt{projection_dim_, ctx.seed, CoresetSeeding::SeedModulo, ""};
  prototypes_ = bank.index_select(0, greedy_coreset(bank, m, opt)).contiguous();
}

at::Tensor Simple3D::score_points(const pc::Cloud& cloud) const {
  if (!prototypes_.defined()) throw InternalError("simple3d: predict before fit or load");
  at::Tensor centres, f;
  describe(cloud, centres, f);
  at::Tensor centre_scores = pc::nearest_distances(f, prototypes_);
  at::Tensor scores = pc::interpolate_from_centres(cloud.points, centres, centre_scores, interp_k_);
  if (smooth_centres_ > 0 && smooth_group_ > 0) {
    at::Tensor c2 =
        cloud.points.index_select(0, pc::farthest_point_sample(cloud.points, smooth_centres_)).contiguous();
    pc::KdTree tree(cloud.points);
    at::Tensor g2 = tree.knn_indices(c2, smooth_group_);
    at::Tensor s2 = pc::group_mean(scores.unsqueeze(1), g2).squeeze(1);
    scores = pc::interpolate_from_centres(cloud.points, c2, s2, interp_k_);
  }
  return scores;
}

std::vector<Prediction> Simple3D::predict(const std::vector<Sample>& batch, const RunContext&) {
  std::vector<Prediction> out;
  out.reserve(batch.size());
  for (const auto& s : batch) {
    pc::Cloud cloud = load_cloud(s);
    at::Tensor scores = score_points(cloud);
    out.push_back(make_prediction(cloud, scores, top_k_mean(scores, top_k_)));
  }
  return out;
}

std::map<std::string, at::Tensor> Simple3D::state() const {
  if (!prototypes_.defined()) throw InternalError("simple3d: state before fit");
  return {{"prototypes", prototypes_}};
}

void Simple3D::load_state(const std::map<std::string, at::Tensor>& tensors) {
  prototypes_ = take_tensor(tensors, "prototypes", 33 * static_cast<std::int64_t>(ks_.size()));
}

}  // namespace adbench
