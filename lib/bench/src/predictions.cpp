#include "adbench/bench/predictions.hpp"

#include <array>
#include <cmath>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "adbench/bench/heatmap.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/stage_times.hpp"
#include "adbench/formats/text_formats.hpp"

namespace fs = std::filesystem;

namespace adbench {

std::string prediction_key(const Sample& s) { return s.defect + "/" + s.stem; }

std::string view_image_path(const fs::path& views_dir, const Unit& view) {
  const fs::path rel = view.path.lexically_normal().lexically_relative(views_dir.lexically_normal());
  if (rel.empty() || *rel.begin() == "..")
    throw_file_error(view.path, "view image is not inside its category folder " + views_dir.string());
  return rel.generic_string();
}

fs::path prediction_map_path(const fs::path& pred_root, const Sample& s, const std::string& ext) {
  return pred_root / s.category / "test" / s.defect / (s.stem + ext);
}

namespace {

/// scores.csv keys are paths without their extension (formats::parse_scores_csv).
std::string score_key(const std::string& image_path) {
  return fs::path(image_path).replace_extension().generic_string();
}

std::string format_score(double v) {
  std::ostringstream ss;
  ss.precision(17);
  ss << v;
  return ss.str();
}

}  // namespace

PredictionWriter::PredictionWriter(const fs::path& pred_root, const std::string& category, bool heatmaps,
                                   bool force, fs::path views_dir)
    : staging_(pred_root / category, OutputKind::PredictionFolder, force),
      heatmaps_(heatmaps),
      views_dir_(std::move(views_dir)) {}

void PredictionWriter::add(const Sample& sample, const Prediction& p) {
  WriteScope scope;
  ScopedStage stage("write");
  if (!views_dir_.empty()) {
    for (std::size_t u = 0; u < sample.units.size(); ++u) {
      const std::string key = view_image_path(views_dir_, sample.units[u]);
      fs::path file = staging_.path() / key;
      file.replace_extension(".tiff");
      fs::create_directories(file.parent_path());
      write_score_map_tiff(file, p.units.at(u).map);
      view_rows_.emplace_back(key, p.units.at(u).score);
    }
    return;
  }
  // One map per sample: images and clouds. (Views and frames get their own layout with their modality.)
  const at::Tensor& map = p.map();
  if (sample.modality == Modality::PointCloud) {
    // Point clouds: per-point scores as float32 .npy ([N], or [H,W] on an organised grid, which
    // also gets the usual .tiff map).
    fs::path npy = staging_.path() / "test" / sample.defect / (sample.stem + ".npy");
    fs::create_directories(npy.parent_path());
    write_npy(npy, map.to(at::kFloat).contiguous());
    if (map.dim() == 2) write_score_map_tiff(npy.parent_path() / (sample.stem + ".tiff"), map);
  } else {
    fs::path file = staging_.path() / "test" / sample.defect / (sample.stem + ".tiff");
    fs::create_directories(file.parent_path());
    write_score_map_tiff(file, map);
  }
  double mn = map.min().item<double>(), mx = map.max().item<double>();
  if (!have_range_) {
    lo_ = mn;
    hi_ = mx;
    have_range_ = true;
  } else {
    lo_ = std::min(lo_, mn);
    hi_ = std::max(hi_, mx);
  }
  written_.emplace_back(sample, p.score);
}

void PredictionWriter::commit(const nlohmann::json& provenance) {
  std::ostringstream csv;
  csv << "path,score\n";
  for (const auto& [s, score] : written_) csv << s.rel_path << "," << format_score(score) << "\n";
  for (const auto& [key, score] : view_rows_) csv << key << "," << format_score(score) << "\n";
  { write_file_atomic(staging_.path() / "scores.csv", csv.str()); }
  if (heatmaps_) {
    for (const auto& [s, score] : written_) {
      if (s.modality == Modality::PointCloud) continue;  // no image to overlay
      WriteScope scope;
      ScopedStage stage("heatmaps");
      at::Tensor map = read_score_map(staging_.path() / "test" / s.defect / (s.stem + ".tiff"));
      write_heatmap(staging_.path() / "heatmaps" / s.defect / (s.stem + ".png"), s, map, lo_, hi_, score);
    }
  }
  nlohmann::json j = provenance;
  j["heatmap_range"] = {lo_, hi_};
  j["count"] = written_.size() + view_rows_.size();
  write_file_atomic(staging_.path() / "prediction.json", j.dump(2) + "\n");
  staging_.commit();
}

PredictionReader::PredictionReader(const fs::path& pred_root, const std::string& category,
                                   const std::vector<Sample>& test, fs::path views_dir)
    : dir_(pred_root / category), views_dir_(std::move(views_dir)) {
  std::error_code ec;
  if (!is_dir(pred_root)) throw_file_error(pred_root, "no such prediction folder");
  if (!is_dir(dir_))
    throw_file_error(
        dir_, "no predictions for category '" + category + "' (expected " +
                  (dir_ / (views_dir_.empty() ? "test/<defect>/<stem>.tiff" : "<image_path>.tiff")).string() +
                  ")");
  if (!views_dir_.empty()) {
    read_views(test);
    return;
  }
  std::vector<std::string> missing;
  for (const auto& s : test) {
    fs::path found;
    const bool points = s.modality == Modality::PointCloud;
    static const std::array<const char*, 3> kImageExt{".tiff", ".tif", ".npy"},
        kPointExt{".npy", ".tiff", ".tif"};
    std::vector<fs::path> present;
    for (const char* ext : points ? kPointExt : kImageExt) {
      fs::path p = prediction_map_path(pred_root, s, ext);
      if (is_file(p)) present.push_back(p);
    }
    // adbench writes a point cloud's organised map as .npy with a .tiff copy; any other pair is
    // ambiguous: which one the user meant is unknown.
    const bool npy_with_tiff_copy = points && present.size() == 2 && present[0].extension() == ".npy" &&
                                    present[1].extension() == ".tiff";
    if (present.size() > 1 && !npy_with_tiff_copy) {
      std::string names;
      for (const auto& p : present) names += (names.empty() ? "" : ", ") + p.filename().string();
      throw_file_error(
          present[0].parent_path() / s.stem,
          "ambiguous prediction: " + std::to_string(present.size()) + " maps (" + names + "); keep one");
    }
    if (!present.empty()) found = present[0];
    if (found.empty())
      missing.push_back("test/" + s.defect + "/" + s.stem + (points ? ".npy" : ".tiff"));
    else
      maps_[prediction_key(s)] = found;
  }
  if (!missing.empty()) {
    std::string first;
    for (size_t i = 0; i < missing.size() && i < 3; ++i) first += (i ? ", " : "") + missing[i];
    throw_file_error(dir_, std::to_string(missing.size()) + " of " + std::to_string(test.size()) +
                               " predictions missing (first: " + first + ")");
  }
  fs::path csv = dir_ / "scores.csv";
  if (!fs::exists(csv, ec)) return;
  // Empty files, duplicate rows, malformed or non-finite scores: formats::parse_scores_csv.
  for (const auto& row : formats::parse_scores_csv(read_file(csv), csv.string()))
    scores_[row.key] = row.score;
  std::vector<std::string> no_score;
  for (const auto& s : test)
    if (!scores_.count(prediction_key(s))) no_score.push_back(s.rel_path);
  if (!no_score.empty()) {
    std::string first;
    for (size_t i = 0; i < no_score.size() && i < 3; ++i) first += (i ? ", " : "") + no_score[i];
    throw_file_error(csv, std::to_string(no_score.size()) + " of " + std::to_string(test.size()) +
                              " test images have no score (first: " + first + ")");
  }
}

void PredictionReader::read_views(const std::vector<Sample>& test) {
  std::vector<std::string> missing;
  std::size_t views = 0;
  for (const auto& s : test)
    for (const auto& u : s.units) {
      ++views;
      const std::string key = view_image_path(views_dir_, u);
      std::vector<fs::path> present;
      for (const char* ext : {".tiff", ".tif", ".npy"}) {
        fs::path p = dir_ / key;
        p.replace_extension(ext);
        if (is_file(p)) present.push_back(p);
      }
      if (present.size() > 1) {
        std::string names;
        for (const auto& p : present) names += (names.empty() ? "" : ", ") + p.filename().string();
        throw_file_error(
            fs::path(present[0]).replace_extension(),
            "ambiguous prediction: " + std::to_string(present.size()) + " maps (" + names + "); keep one");
      }
      if (present.empty())
        missing.push_back(fs::path(key).replace_extension(".tiff").generic_string() + " for view " + key);
      else
        maps_[key] = present[0];
    }
  if (!missing.empty()) {
    std::string first;
    for (size_t i = 0; i < missing.size() && i < 3; ++i) first += (i ? ", " : "") + missing[i];
    throw_file_error(dir_, std::to_string(missing.size()) + " of " + std::to_string(views) +
                               " view maps missing (first: " + first +
                               "; a view's map is its image_path with .tiff, .tif or .npy)");
  }
  fs::path csv = dir_ / "scores.csv";
  std::error_code ec;
  if (!fs::exists(csv, ec)) return;
  for (const auto& row : formats::parse_scores_csv(read_file(csv), csv.string()))
    scores_[row.key] = row.score;
  std::vector<std::string> no_score;
  for (const auto& [key, file] : maps_)
    if (!scores_.count(score_key(key))) no_score.push_back(key);
  if (!no_score.empty()) {
    std::string first;
    for (size_t i = 0; i < no_score.size() && i < 3; ++i) first += (i ? ", " : "") + no_score[i];
    throw_file_error(csv, std::to_string(no_score.size()) + " of " + std::to_string(views) +
                              " views have no score (first: " + first + ")");
  }
}

std::string PredictionReader::view_name(const Sample& sample, std::size_t u) const {
  const std::string key = view_image_path(views_dir_, sample.units.at(u));
  return maps_.at(key).string() + " (view " + key + ")";
}

Prediction PredictionReader::read(const Sample& sample) const {
  if (!views_dir_.empty()) {
    Prediction p;
    for (const auto& u : sample.units) {
      const std::string key = view_image_path(views_dir_, u);
      const fs::path& file = maps_.at(key);
      UnitOutput o;
      o.map = read_score_map(file);
      auto it = scores_.find(score_key(key));
      if (it != scores_.end()) {
        o.score = it->second;
      } else {
        if (o.map.numel() == 0) throw_file_error(file, "map is empty");
        o.score = o.map.max().item<double>();
      }
      p.units.push_back(std::move(o));
    }
    p.score = 0;  // aggregated from the views by the evaluation (--sample-agg)
    return p;
  }
  const fs::path& file = maps_.at(prediction_key(sample));
  at::Tensor map;
  if (sample.modality == Modality::PointCloud && file.extension() == ".npy") {
    at::Tensor t = read_npy(file);
    if (t.dim() < 1 || t.dim() > 2)
      throw_file_error(file, "expected per-point scores [N] or an [H,W] map, got " + std::to_string(t.dim()) +
                                 " dimensions");
    if (!t.is_floating_point()) throw_file_error(file, "expected float16, float32 or float64 scores");
    if (t.scalar_type() == at::kHalf) t = t.to(at::kFloat);
    if (t.numel() == 0) throw_file_error(file, "per-point scores have no values");
    map = t;
  } else {
    map = read_score_map(file);
  }
  double score = 0;
  auto it = scores_.find(prediction_key(sample));
  if (it != scores_.end()) {
    score = it->second;
  } else {
    if (map.numel() == 0) throw_file_error(file, "map is empty");
    score = map.max().item<double>();  // non-finite maps are reported by the evaluation
  }
  return Prediction::single(map, score, file.string());
}

}  // namespace adbench
