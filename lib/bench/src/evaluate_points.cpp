// Point-cloud evaluation: object-level and point-level metrics, and the mvtec_3d xyz-grid metrics.
#include <adbench/build_info.hpp>

#include <chrono>
#include <cmath>

#include "adbench/bench/points.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace adbench {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void warn(std::vector<std::string>& sink, const std::string& msg) {
  spdlog::warn("{}", msg);
  sink.push_back(msg);
}

std::string shape(const at::Tensor& t) {
  std::string s;
  for (auto d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}
}  // namespace

bool is_point_cloud_category(const CategoryData& data) {
  auto is_pc = [](const std::vector<Sample>& v) { return !v.empty() && v.front().modality == Modality::PointCloud; };
  return is_pc(data.test) || is_pc(data.train);
}

CategoryResult evaluate_point_category(const CategoryData& data, const BatchPredictor& predict, const EvalOptions& eval,
                                       const CommonOptions& common, PredictionWriter* writer) {
  CategoryResult r;
  r.category = data.category;
  auto& n = r.counts;
  n.train = static_cast<std::int64_t>(data.train.size());
  n.test = static_cast<std::int64_t>(data.test.size());
  for (const auto& s : data.test) {
    (s.label ? n.test_anomalous : n.test_normal)++;
    if (s.point_labels) n.masks++;
  }
  const bool organised = data.dataset == "mvtec_3d";
  r.level = organised ? "pixel" : "point";
  metrics::Options mopt = eval.metrics;
  if (organised)
    for (double l : {0.3, 0.01})
      if (std::find(mopt.aupro_limits.begin(), mopt.aupro_limits.end(), l) == mopt.aupro_limits.end())
        mopt.aupro_limits.push_back(l);
  if (!organised) mopt.aupro_limits.clear();  // points have no regions: no AUPRO keys
  std::optional<metrics::PixelAccumulator> acc;
  if (data.has_masks) acc.emplace(mopt, common.device);
  else
    warn(r.warnings, "category " + data.category +
                         ": no per-point ground truth in the test set; evaluated at object level only (point metrics null)");
  std::vector<double> scores;
  std::vector<std::int64_t> labels;
  Progress progress("infer " + data.category, n.test);
  double metric_seconds = 0;
  const size_t bs = static_cast<size_t>(std::max(1, common.batch_size));
  for (size_t start = 0; start < data.test.size(); start += bs) {
    std::vector<Sample> batch(data.test.begin() + static_cast<long>(start),
                              data.test.begin() + static_cast<long>(std::min(data.test.size(), start + bs)));
    auto t0 = Clock::now();
    std::vector<Prediction> preds = predict(batch);
    r.seconds.infer += seconds_since(t0);
    if (preds.size() != batch.size()) throw InternalError("predictor returned a wrong number of predictions");
    for (size_t i = 0; i < batch.size(); ++i) {
      const Sample& s = batch[i];
      Prediction& p = preds[i];
      const std::string name = p.origin.empty() ? s.cloud.string() : p.origin;
      if (!p.map.defined() || p.map.dim() < 1 || p.map.dim() > 2)
        throw InputError(name + ": expected per-point scores [N] (or an [H,W] map on an organised grid)");
      at::Tensor map = p.map.to(at::kFloat);
      const std::int64_t bad = map.numel() - at::isfinite(map).sum().item<std::int64_t>();
      if (bad > 0) throw InputError(name + ": " + std::to_string(bad) + " point scores are not finite (NaN or infinite)");
      if (!std::isfinite(p.score)) throw InputError(name + ": object score is not finite (" + std::to_string(p.score) + ")");
      if (writer) writer->add(s, p);
      auto t1 = Clock::now();
      if (acc) {
        if (organised) {
          pointcloud::Cloud cloud = pointcloud::read_cloud(s.cloud);
          const std::int64_t h = cloud.height, w = cloud.width;
          at::Tensor valid = at::zeros({h * w}, at::kBool);
          valid.index_put_({cloud.grid_index}, true);
          valid = valid.reshape({h, w});
          if (map.dim() == 1) {
            if (map.size(0) != cloud.size())
              throw InputError(name + ": " + std::to_string(map.size(0)) + " scores but its cloud " + s.cloud.string() +
                               " has " + std::to_string(cloud.size()) + " valid points");
            at::Tensor grid = at::zeros({h * w}, at::kFloat);
            grid.index_put_({cloud.grid_index}, map);
            map = grid.reshape({h, w});
          } else if (map.size(0) != h || map.size(1) != w) {
            throw InputError(name + ": map is " + shape(map) + " but its xyz grid " + s.cloud.string() + " is " +
                             std::to_string(h) + "x" + std::to_string(w));
          }
          at::Tensor mask;
          if (s.point_labels) {
            cv::Mat m = read_mask(*s.point_labels);
            if (m.rows != h || m.cols != w)
              throw_file_error(*s.point_labels, "mask is " + std::to_string(m.rows) + "x" + std::to_string(m.cols) +
                                                    " but its xyz grid " + s.cloud.string() + " is " + std::to_string(h) +
                                                    "x" + std::to_string(w));
            mask = mask_to_tensor(m);
            if (!mask.logical_and(valid).any().item<bool>()) n.empty_masks++;
          } else {
            mask = at::zeros({h, w}, at::kBool);
          }
          acc->add(map, mask, valid, name);
        } else {
          if (map.dim() != 1)
            throw InputError(name + ": expected per-point scores [N], got a " + shape(map) + " array");
          const std::int64_t np = pointcloud::cloud_point_count(s.cloud);
          if (map.size(0) != np)
            throw InputError(name + ": " + std::to_string(map.size(0)) + " scores but its cloud " + s.cloud.string() +
                             " has " + std::to_string(np) + " points");
          at::Tensor lab = s.point_labels ? pointcloud::read_point_labels(*s.point_labels, np, s.cloud)
                                          : at::zeros({np}, at::kByte);
          if (s.point_labels && !lab.any().item<bool>()) n.empty_masks++;
          acc->add_points(map, lab, name);
        }
      }
      metric_seconds += seconds_since(t1);
      scores.push_back(p.score);
      labels.push_back(s.label);
      progress.tick();
    }
  }
  progress.done();
  auto t2 = Clock::now();
  r.image = metrics::binary_metrics(at::tensor(scores, at::kDouble), at::tensor(labels, at::kLong), eval.metrics);
  for (const auto& w : r.image.warnings) warn(r.warnings, "category " + data.category + ": object level: " + w);
  if (acc) {
    r.pixel = acc->compute();
    n.pixels = r.pixel->pixels;
    n.anomalous_pixels = r.pixel->positives;
    n.regions = r.pixel->regions;
    for (const auto& w : r.pixel->warnings) warn(r.warnings, "category " + data.category + ": " + r.level + " level: " + w);
  }
  r.seconds.metrics = metric_seconds + seconds_since(t2);
  return r;
}

}  // namespace adbench
