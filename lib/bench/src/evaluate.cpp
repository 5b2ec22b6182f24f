#include "adbench/bench/evaluate.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "adbench/core/batching.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/log.hpp"
#include "adbench/core/progress.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace adbench {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string size_str(int64_t h, int64_t w) { return std::to_string(w) + "x" + std::to_string(h); }

std::string shape(const at::Tensor& t) {
  std::string s;
  for (auto d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

void warn(std::vector<std::string>& sink, const std::string& msg) {
  spdlog::warn("{}", msg);
  sink.push_back(msg);
}

std::string limit_key(double limit) {
  std::ostringstream ss;
  ss << "aupro_" << limit;
  return ss.str();
}

/// A binary level (sample, image, frame, view) from scores and labels.
LevelResult binary_level(const std::string& level, const std::vector<double>& scores,
                         const std::vector<int64_t>& labels, const metrics::Options& options) {
  metrics::BinaryMetrics b =
      metrics::binary_metrics(at::tensor(scores, at::kDouble), at::tensor(labels, at::kLong), options);
  LevelResult l;
  l.level = level;
  l.metrics = {{"auroc", b.auroc}, {"ap", b.ap}, {"f1_max", b.f1_max}};
  l.f1_threshold = b.f1_threshold;
  int64_t anomalous = 0;
  for (auto y : labels) anomalous += y != 0;
  l.counts = {{"units", int64_t(labels.size())},
              {"normal", int64_t(labels.size()) - anomalous},
              {"anomalous", anomalous}};
  l.warnings = b.warnings;
  l.roc = std::move(b.roc);
  l.pr = std::move(b.pr);
  if (options.keep_curves && !scores.empty()) l.histogram = score_histogram(scores, labels);
  return l;
}

// ---- ground-truth strategies ----

/// Turns each unit's map and ground truth into the category's finest level (pixel or point).
class TruthStrategy {
 public:
  virtual ~TruthStrategy() = default;
  /// "pixel" or "point".
  virtual std::string level() const = 0;
  /// The warning when no test unit has ground truth.
  virtual std::string no_truth_warning(const std::string& category) const = 0;
  /// Checks a map's shape and values (always, with or without ground truth); may convert it.
  virtual void check(const std::string& name, at::Tensor& map) const = 0;
  /// Accumulates one test unit (only when the category has ground truth).
  virtual void add(const Unit& unit, const at::Tensor& map, const std::string& name) = 0;
  /// The level, with its counts.
  virtual LevelResult finish() = 0;
  /// Warnings to add after the level's own (e.g. resized maps).
  virtual std::vector<std::string> closing_warnings(const std::string& category) const { return {}; }

 protected:
  LevelResult from_pixels(metrics::PixelMetrics m, bool with_aupro) const {
    LevelResult l;
    l.level = level();
    l.metrics = {{"auroc", m.auroc}, {"ap", m.ap}, {"f1_max", m.f1_max}};
    if (with_aupro)
      for (const auto& [lim, v] : m.aupro) l.metrics.emplace_back(limit_key(lim), v);
    l.f1_threshold = m.f1_threshold;
    l.counts = {{"units", m.pixels}, {"anomalous", m.positives}};
    if (with_aupro) l.counts.emplace_back("regions", m.regions);
    l.counts.emplace_back("masks", masks_);
    l.counts.emplace_back("empty_masks", empty_masks_);
    l.warnings = m.warnings;
    l.roc = std::move(m.roc);
    l.pr = std::move(m.pr);
    if (with_aupro) l.pro = std::move(m.pro);
    return l;
  }
  int64_t masks_ = 0, empty_masks_ = 0;
};

/// Finite-value check shared by every strategy. A plain loop for CPU float maps: at::isfinite + sum
/// starts two parallel regions per map, whose thread wake-ups cost more than the check on 5,000
/// maps of 256x256 (Real-IAD scale) when the cores are busy.
template <class T>
int64_t count_non_finite(const T* p, int64_t n) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(p[i]);
  return bad;
}
int64_t non_finite(const at::Tensor& map) {
  if (map.device().is_cpu() && map.is_contiguous()) {
    if (map.scalar_type() == at::kFloat) return count_non_finite(map.data_ptr<float>(), map.numel());
    if (map.scalar_type() == at::kDouble) return count_non_finite(map.data_ptr<double>(), map.numel());
  }
  return map.numel() - at::isfinite(map).sum().item<int64_t>();
}

/// 2-D images, views and frames: a mask image per anomalous unit.
class MaskTruth final : public TruthStrategy {
 public:
  MaskTruth(const metrics::Options& opt, at::Device device, bool resize, int mask_threshold)
      : acc_(opt, device), resize_(resize), mask_threshold_(mask_threshold) {}
  std::string level() const override { return "pixel"; }
  std::string no_truth_warning(const std::string& category) const override {
    return "category " + category +
           ": no ground-truth masks in the test set; evaluated at image level only (pixel metrics null)";
  }
  void check(const std::string& name, at::Tensor& map) const override {
    if (map.dim() != 2)
      throw InputError(name + ": expected a 2-D map, got " + std::to_string(map.dim()) + " dimensions");
    if (int64_t bad = non_finite(map); bad > 0)
      throw InputError(name + ": map has " + std::to_string(bad) + " non-finite values (NaN or infinite)");
  }
  void add(const Unit& unit, const at::Tensor& map_in, const std::string& name) override {
    at::Tensor mask;
    if (unit.truth) {
      masks_++;
      cv::Mat m = read_mask(*unit.truth, mask_threshold_);
      cv::Size img = read_image_size(unit.path);
      if (m.size() != img)
        throw_file_error(*unit.truth, "mask is " + size_str(m.rows, m.cols) + " but its image " +
                                          unit.path.string() + " is " + size_str(img.height, img.width));
      if (cv::countNonZero(m) == 0) empty_masks_++;
      mask = mask_to_tensor(m);
    }
    at::Tensor map = map_in;
    if (mask.defined() && (map.size(0) != mask.size(0) || map.size(1) != mask.size(1))) {
      if (!resize_)
        throw InputError(name + ": map is " + size_str(map.size(0), map.size(1)) + " but its mask " +
                         unit.truth->string() + " is " + size_str(mask.size(0), mask.size(1)) +
                         " (--no-resize forbids resizing)");
      map = at::upsample_bilinear2d(map.unsqueeze(0).unsqueeze(0), {mask.size(0), mask.size(1)}, false)
                .squeeze(0)
                .squeeze(0);
      resized_++;
    }
    if (!mask.defined()) {  // normal: all zeros at the map's size (memset: no parallel region per map)
      mask = at::empty({map.size(0), map.size(1)}, at::kBool);
      std::memset(mask.data_ptr(), 0, static_cast<size_t>(mask.numel()));
    }
    acc_.add(map, mask, name);
  }
  LevelResult finish() override {
    LevelResult l = from_pixels(acc_.compute(), true);
    l.counts.emplace_back("resized_maps", resized_);
    return l;
  }
  std::vector<std::string> closing_warnings(const std::string& category) const override {
    if (!resized_) return {};
    return {"category " + category + ": " + std::to_string(resized_) +
            " maps resized bilinearly to their mask's size"};
  }

 private:
  metrics::PixelAccumulator acc_;
  bool resize_;
  int mask_threshold_;  ///< CategoryData::mask_threshold
  int64_t resized_ = 0;
};

/// Point clouds: maps of [N] per-point scores, or [H,W] on an organised grid.
void check_point_map(const std::string& name, at::Tensor& map) {
  if (!map.defined() || map.dim() < 1 || map.dim() > 2)
    throw InputError(name + ": expected per-point scores [N] (or an [H,W] map on an organised grid)");
  map = map.to(at::kFloat);
  if (int64_t bad = non_finite(map); bad > 0)
    throw InputError(name + ": " + std::to_string(bad) + " point scores are not finite (NaN or infinite)");
}

/// mvtec_3d: a mask on the organised xyz grid; missing points (0,0,0) are not evaluated; the AUPRO
/// limits always include 0.3 and 0.01 (the MVTec 3D-AD protocol).
class GridTruth final : public TruthStrategy {
 public:
  GridTruth(metrics::Options opt, at::Device device) : acc_(with_grid_limits(std::move(opt)), device) {}
  std::string level() const override { return "pixel"; }
  std::string no_truth_warning(const std::string& category) const override {
    return "category " + category +
           ": no ground-truth masks in the test set; evaluated at sample level only (pixel metrics null)";
  }
  void check(const std::string& name, at::Tensor& map) const override { check_point_map(name, map); }
  void add(const Unit& unit, const at::Tensor& map_in, const std::string& name) override {
    pointcloud::Cloud cloud = pointcloud::read_cloud(unit.path);
    const int64_t h = cloud.height, w = cloud.width;
    at::Tensor valid = at::zeros({h * w}, at::kBool);
    valid.index_put_({cloud.grid_index}, true);
    valid = valid.reshape({h, w});
    at::Tensor map = map_in;
    if (map.dim() == 1) {
      if (map.size(0) != cloud.size())
        throw InputError(name + ": " + std::to_string(map.size(0)) + " scores but its cloud " +
                         unit.path.string() + " has " + std::to_string(cloud.size()) + " valid points");
      at::Tensor grid = at::zeros({h * w}, at::kFloat);
      grid.index_put_({cloud.grid_index}, map);
      map = grid.reshape({h, w});
    } else if (map.size(0) != h || map.size(1) != w) {
      throw InputError(name + ": map is " + shape(map) + " but its xyz grid " + unit.path.string() + " is " +
                       std::to_string(h) + "x" + std::to_string(w));
    }
    at::Tensor mask;
    if (unit.truth) {
      masks_++;
      cv::Mat m = read_mask(*unit.truth);
      if (m.rows != h || m.cols != w)
        throw_file_error(*unit.truth, "mask is " + std::to_string(m.rows) + "x" + std::to_string(m.cols) +
                                          " but its xyz grid " + unit.path.string() + " is " +
                                          std::to_string(h) + "x" + std::to_string(w));
      mask = mask_to_tensor(m);
      if (!mask.logical_and(valid).any().item<bool>()) empty_masks_++;
    } else {
      mask = at::zeros({h, w}, at::kBool);
    }
    acc_.add(map, mask, valid, name);
  }
  LevelResult finish() override { return from_pixels(acc_.compute(), true); }

 private:
  static metrics::Options with_grid_limits(metrics::Options o) {
    for (double l : {0.3, 0.01})
      if (std::find(o.aupro_limits.begin(), o.aupro_limits.end(), l) == o.aupro_limits.end())
        o.aupro_limits.push_back(l);
    return o;
  }
  metrics::PixelAccumulator acc_;
};

/// Unorganised clouds: a label per point; points have no regions, so no AUPRO.
class PointTruth final : public TruthStrategy {
 public:
  PointTruth(metrics::Options opt, at::Device device) : acc_(without_aupro(std::move(opt)), device) {}
  std::string level() const override { return "point"; }
  std::string no_truth_warning(const std::string& category) const override {
    return "category " + category +
           ": no per-point ground truth in the test set; evaluated at sample level only (point metrics null)";
  }
  void check(const std::string& name, at::Tensor& map) const override { check_point_map(name, map); }
  void add(const Unit& unit, const at::Tensor& map, const std::string& name) override {
    if (map.dim() != 1)
      throw InputError(name + ": expected per-point scores [N], got a " + shape(map) + " array");
    const int64_t np = pointcloud::cloud_point_count(unit.path);
    if (map.size(0) != np)
      throw InputError(name + ": " + std::to_string(map.size(0)) + " scores but its cloud " +
                       unit.path.string() + " has " + std::to_string(np) + " points");
    at::Tensor lab =
        unit.truth ? pointcloud::read_point_labels(*unit.truth, np, unit.path) : at::zeros({np}, at::kByte);
    if (unit.truth) {
      masks_++;
      if (!lab.any().item<bool>()) empty_masks_++;
    }
    acc_.add_points(map, lab, name);
  }
  LevelResult finish() override { return from_pixels(acc_.compute(), false); }

 private:
  static metrics::Options without_aupro(metrics::Options o) {
    o.aupro_limits.clear();
    return o;
  }
  metrics::PixelAccumulator acc_;
};

std::unique_ptr<TruthStrategy> make_truth(const CategoryData& data, const EvalOptions& eval,
                                          at::Device device) {
  switch (data.truth) {
    case CategoryData::Truth::Masks:
      return std::make_unique<MaskTruth>(eval.metrics, device, eval.resize, data.mask_threshold);
    case CategoryData::Truth::GridMasks:
      return std::make_unique<GridTruth>(eval.metrics, device);
    case CategoryData::Truth::PointLabels:
      return std::make_unique<PointTruth>(eval.metrics, device);
  }
  throw InternalError("unknown ground-truth layout");
}

/// A category's result before any level: identity, counts and the adapter's warnings.
CategoryResult start_result(const CategoryData& data) {
  CategoryResult r;
  r.category = data.category;
  r.modality = data.modality;
  r.train = static_cast<int64_t>(data.train.size());
  r.test = static_cast<int64_t>(data.test.size());
  for (const auto& w : data.warnings) warn(r.warnings, w);
  return r;
}

/// Appends a level; its metric warnings also go to the category's, prefixed with the level.
void add_level_to(CategoryResult& r, LevelResult l) {
  for (const auto& w : l.warnings)
    warn(r.warnings, "category " + r.category + ": " + l.level + " level: " + w);
  r.levels.push_back(std::move(l));
}

std::string unit_level(Modality m) { return m == Modality::Video ? "frame" : "view"; }

}  // namespace

std::string sample_level(Modality m) { return m == Modality::Image ? "image" : "sample"; }

double predict_all(const std::vector<Sample>& samples, const BatchPredictor& predict,
                   const CommonOptions& common, const std::string& progress_label,
                   const std::function<void(const Sample&, Prediction&)>& each) {
  Progress progress(progress_label, static_cast<int64_t>(samples.size()));
  double seconds = 0;
  for (const BatchRange& r : batch_ranges(samples.size(), common.batch_size)) {
    std::vector<Sample> batch(samples.begin() + static_cast<long>(r.begin),
                              samples.begin() + static_cast<long>(r.end));
    auto t0 = Clock::now();
    std::vector<Prediction> preds = predict(batch);
    seconds += seconds_since(t0);
    if (preds.size() != batch.size())
      throw InternalError("predictor returned " + std::to_string(preds.size()) +
                          " predictions for a batch of " + std::to_string(batch.size()) + " samples");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (preds[i].units.size() != batch[i].units.size())
        throw InternalError("predictor returned " + std::to_string(preds[i].units.size()) +
                            " unit maps for " + batch[i].rel_path + ", which has " +
                            std::to_string(batch[i].units.size()) + " units");
      each(batch[i], preds[i]);
      progress.tick();
    }
  }
  progress.done();
  return seconds;
}

CategoryResult evaluate_category(const CategoryData& data, const BatchPredictor& predict,
                                 const EvalOptions& eval, const CommonOptions& common,
                                 PredictionWriter* writer, const UnitNamer& unit_name) {
  CategoryResult r = start_result(data);
  // The strategy checks every map; it accumulates only when the category has ground truth.
  std::unique_ptr<TruthStrategy> truth = make_truth(data, eval, common.device);
  const bool with_truth = data.has_truth;
  if (!with_truth) warn(r.warnings, truth->no_truth_warning(data.category));
  const bool multi_unit = data.modality == Modality::MultiView || data.modality == Modality::Video;
  const std::string score_what = data.modality == Modality::Image ? "image" : "object";
  std::vector<double> scores, unit_scores;
  std::vector<int64_t> labels, unit_labels;
  scores.reserve(data.test.size());
  labels.reserve(data.test.size());
  double metric_seconds = 0;
  r.seconds.infer =
      predict_all(data.test, predict, common, "infer " + data.category, [&](const Sample& s, Prediction& p) {
        auto name_of = [&](std::size_t u) {
          return unit_name ? unit_name(s, u) : !p.origin.empty() ? p.origin : s.units[u].path.string();
        };
        for (std::size_t u = 0; u < s.units.size(); ++u) {
          const std::string name = name_of(u);
          truth->check(name, p.units[u].map);
          if (multi_unit && !std::isfinite(p.units[u].score))
            throw InputError(name + ": unit score is not finite (" + std::to_string(p.units[u].score) + ")");
        }
        const std::string name = !p.origin.empty() ? p.origin : s.units.front().path.string();
        if (data.modality == Modality::MultiView && !p.units.empty()) {
          // The sample score from its views', the same way for every method (--sample-agg).
          double agg = eval.sample_agg == SampleAgg::Max ? -std::numeric_limits<double>::infinity() : 0.0;
          for (const auto& u : p.units)
            agg = eval.sample_agg == SampleAgg::Max ? std::max(agg, u.score) : agg + u.score;
          p.score = eval.sample_agg == SampleAgg::Max ? agg : agg / static_cast<double>(p.units.size());
        }
        if (!std::isfinite(p.score))
          throw InputError(name + ": " + score_what + " score is not finite (" + std::to_string(p.score) +
                           ")");
        if (writer) writer->add(s, p);
        auto t1 = Clock::now();
        for (std::size_t u = 0; u < s.units.size(); ++u) {
          if (with_truth) truth->add(s.units[u], p.units[u].map, name_of(u));
          if (multi_unit) {
            unit_scores.push_back(p.units[u].score);
            unit_labels.push_back(s.units[u].label);
          }
        }
        metric_seconds += seconds_since(t1);
        scores.push_back(p.score);
        labels.push_back(s.label);
      });
  auto t2 = Clock::now();
  auto add_level = [&r](LevelResult l) { add_level_to(r, std::move(l)); };
  add_level(binary_level(sample_level(data.modality), scores, labels, eval.metrics));
  if (multi_unit) add_level(binary_level(unit_level(data.modality), unit_scores, unit_labels, eval.metrics));
  if (with_truth) {
    add_level(truth->finish());
    for (const auto& w : truth->closing_warnings(data.category)) warn(r.warnings, w);
  }
  r.seconds.metrics = metric_seconds + seconds_since(t2);
  return r;
}

}  // namespace adbench

namespace adbench {

int frames_to_skip(const EvalOptions& eval, const VideoPredictor& predict) {
  return eval.frames.skip_frames.value_or(predict.context_frames);
}

CategoryResult evaluate_video_category(const CategoryData& data, const VideoPredictor& predict,
                                       const EvalOptions& eval, const CommonOptions& common,
                                       VideoPredictionWriter* writer) {
  CategoryResult r = start_result(data);
  const int skip = frames_to_skip(eval, predict);
  MaskTruth truth(eval.metrics, common.device, eval.resize, data.mask_threshold);
  bool with_truth = data.has_truth;
  if (with_truth && !predict.maps) {
    warn(r.warnings, "category " + data.category +
                         ": frame masks exist but the predictions have no maps; pixel level not evaluated");
    with_truth = false;
  }
  const bool want_maps = with_truth || writer != nullptr;
  int64_t frames_total = 0;
  for (const auto& v : data.test) frames_total += static_cast<int64_t>(v.units.size());
  Progress progress("infer " + data.category, frames_total);
  std::vector<VideoFrameScores> videos;
  double infer_seconds = 0, metric_seconds = 0;
  for (const Sample& video : data.test) {
    VideoFrameScores vs{predict.source_name ? predict.source_name(video) : "video " + video.stem,
                        std::vector<double>(video.units.size(), std::nan("")),
                        {}};
    for (const auto& u : video.units) vs.labels.push_back(u.label);
    std::size_t expected = 0;
    auto t0 = Clock::now();
    double inner_metric = 0;
    predict.predict(video, want_maps, [&](std::size_t i, UnitOutput&& out) {
      if (i != expected || i >= video.units.size())
        throw InternalError("video " + video.rel_path + ": frame output " + std::to_string(i) +
                            " arrived, expected " + std::to_string(expected));
      expected++;
      vs.scores[i] = out.score;
      const std::string name =
          video.units[i].path.string() + " (video " + video.stem + ", frame " + std::to_string(i) + ")";
      if (out.map.defined()) truth.check(name, out.map);
      if (writer) writer->add_frame(video, i, out);
      if (with_truth && static_cast<int>(i) >= skip) {
        if (!out.map.defined()) throw InputError(name + ": no map for a frame that is evaluated");
        auto t1 = Clock::now();
        truth.add(video.units[i], out.map, name);
        inner_metric += seconds_since(t1);
      }
      progress.tick();
    });
    if (expected != video.units.size())
      throw InternalError("video " + video.rel_path + ": " + std::to_string(expected) +
                          " frame outputs for " + std::to_string(video.units.size()) + " frames");
    infer_seconds += seconds_since(t0) - inner_metric;
    metric_seconds += inner_metric;
    if (writer) writer->end_video(video, vs.scores);
    videos.push_back(std::move(vs));
  }
  progress.done();
  auto t2 = Clock::now();
  auto add_level = [&r](LevelResult l) { add_level_to(r, std::move(l)); };
  add_level(frame_level(videos, skip, eval.frames, eval.metrics));
  if (with_truth) {
    add_level(truth.finish());
    for (const auto& w : truth.closing_warnings(data.category)) warn(r.warnings, w);
  }
  r.seconds.infer = infer_seconds;
  r.seconds.metrics = metric_seconds + seconds_since(t2);
  return r;
}

}  // namespace adbench
