#include "fpfh_patchcore.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include "adbench/core/error.hpp"
#include "adbench/core/nearest.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/pointcloud/features.hpp"
#include "pointcloud_common/point_detector.hpp"

namespace adbench {

using namespace point_detail;
namespace pc = pointcloud;

const SettingsTable& FpfhPatchCore::settings() {
  static const SettingsTable table = {
      {"feature_points", 16384, SettingRange::integer(16, 100000000),
       "points per cloud that get a descriptor (a seeded random subset; all when fewer)"},
      {"normal_k", 30, SettingRange::integer(3, 10000), "neighbours for normal estimation"},
      {"fpfh_k", 100, SettingRange::integer(2, 10000), "neighbours of the FPFH descriptor"},
      {"coreset_ratio", 0.1, SettingRange::number(0, true, 1),
       "share of training descriptors kept (greedy k-center)"},
      {"projection_dim", 128, SettingRange::integer(0, 65536),
       "random projection used while selecting the coreset (0: none)"},
      {"interpolation_k", 3, SettingRange::integer(1, 1000), "scored points blended per point"}};
  return table;
}

FpfhPatchCore::FpfhPatchCore(const nlohmann::json& overrides)
    : config_(merge_config("fpfh_patchcore", settings(), overrides)) {
  feature_points_ = config_["feature_points"].get<std::int64_t>();
  normal_k_ = config_["normal_k"].get<int>();
  fpfh_k_ = config_["fpfh_k"].get<int>();
  coreset_ratio_ = config_["coreset_ratio"].get<double>();
  projection_dim_ = config_["projection_dim"].get<std::int64_t>();
  interp_k_ = config_["interpolation_k"].get<int>();
}

void FpfhPatchCore::describe(const pc::Cloud& cloud, std::uint64_t seed, at::Tensor& pts,
                             at::Tensor& feats) const {
  pts = cloud.points;
  if (pts.size(0) > feature_points_) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    at::Tensor idx =
        std::get<0>(at::randperm(pts.size(0), gen, at::kLong).slice(0, 0, feature_points_).sort());
    pts = pts.index_select(0, idx).contiguous();
  }
  feats = pc::fpfh(pts, normal_k_, {fpfh_k_});
}

void FpfhPatchCore::fit(const std::vector<Sample>& train, const RunContext& ctx) {
  if (train.empty()) throw InputError("fpfh_patchcore: no training clouds");
  std::vector<at::Tensor> feats;
  Progress progress("fit fpfh_patchcore", static_cast<std::int64_t>(train.size()));
  std::uint64_t i = 0;
  for (const auto& s : train) {
    at::Tensor p, f;
    describe(load_cloud(s), ctx.seed * 1000003ULL + i++, p, f);
    feats.push_back(f);
    progress.tick();
  }
  progress.done();
  at::Tensor bank = at::cat(feats, 0);
  feats.clear();
  const auto m = std::max<std::int64_t>(1, static_cast<std::int64_t>(coreset_ratio_ * double(bank.size(0))));
  // SeedModulo: the point-cloud detectors' seeding (first centre = seed % N), kept for their results.
  const CoresetOptions opt{projection_dim_, ctx.seed, CoresetSeeding::SeedModulo, ""};
  bank_ = bank.index_select(0, greedy_coreset(bank, m, opt)).contiguous();
}

std::vector<Prediction> FpfhPatchCore::predict(const std::vector<Sample>& batch, const RunContext& ctx) {
  if (!bank_.defined()) throw InternalError("fpfh_patchcore: predict before fit or load");
  std::vector<Prediction> out;
  out.reserve(batch.size());
  for (const auto& s : batch) {
    pc::Cloud cloud = load_cloud(s);
    at::Tensor p, f;
    describe(cloud, ctx.seed, p, f);
    at::Tensor d = pc::nearest_distances(f, bank_);
    at::Tensor scores =
        p.size(0) == cloud.size() ? d : pc::interpolate_from_centres(cloud.points, p, d, interp_k_);
    out.push_back(make_prediction(cloud, scores, scores.max().item<double>()));
  }
  return out;
}

std::map<std::string, at::Tensor> FpfhPatchCore::state() const {
  if (!bank_.defined()) throw InternalError("fpfh_patchcore: state before fit");
  return {{"memory_bank", bank_}};
}

void FpfhPatchCore::load_state(const std::map<std::string, at::Tensor>& tensors) {
  bank_ = take_tensor(tensors, "memory_bank", 33);
}

}  // namespace adbench
