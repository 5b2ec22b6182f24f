#include "adbench/bench/video_predictions.hpp"

#include <algorithm>
#include <cmath>

#include "adbench/bench/heatmap.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/interrupt.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/video.hpp"

namespace fs = std::filesystem;

namespace adbench {

VideoPredictionWriter::VideoPredictionWriter(const fs::path& pred_root, const std::string& scene,
                                             bool heatmaps, bool force)
    : staging_(pred_root / scene, OutputKind::PredictionFolder, force), heatmaps_(heatmaps) {}

void VideoPredictionWriter::add_frame(const Sample& video, std::size_t frame, const UnitOutput& out) {
  if (!out.map.defined()) return;
  WriteScope scope;
  fs::path file = staging_.path() / "test" / video.stem / (frame_name(frame) + ".tiff");
  if (frame == 0 || !is_dir(file.parent_path())) fs::create_directories(file.parent_path());
  write_score_map_tiff(file, out.map);
  const double mn = out.map.min().item<double>(), mx = out.map.max().item<double>();
  lo_ = have_range_ ? std::min(lo_, mn) : mn;
  hi_ = have_range_ ? std::max(hi_, mx) : mx;
  have_range_ = true;
  maps_++;
}

void VideoPredictionWriter::end_video(const Sample& video, const std::vector<double>& scores) {
  if (scores.size() != video.units.size())
    throw InternalError("video " + video.rel_path + ": " + std::to_string(scores.size()) + " scores for " +
                        std::to_string(video.units.size()) + " frames");
  WriteScope scope;
  fs::path file = staging_.path() / "test" / (video.stem + ".npy");
  fs::create_directories(file.parent_path());
  std::vector<float> f(scores.begin(), scores.end());
  write_npy(file, at::tensor(f, at::kFloat));
  Sample light = video;  // heatmaps need the frames' files and labels
  videos_.emplace_back(std::move(light), scores);
}

void VideoPredictionWriter::commit(nlohmann::json provenance, int skip_frames) {
  if (heatmaps_ && maps_ > 0) {
    for (const auto& [video, scores] : videos_) {
      FrameReader frames(video);
      for (std::size_t i = 0; i < video.units.size(); ++i) {
        fs::path map_file = staging_.path() / "test" / video.stem / (frame_name(i) + ".tiff");
        if (!is_file(map_file)) {
          continue;  // frames without a prediction are not decoded for nothing below
        }
        frames.seek(std::max(frames.position(), i));
        cv::Mat rgb = frames.next();
        WriteScope scope;
        const Unit& u = video.units[i];
        write_heatmap(staging_.path() / "heatmaps" / video.stem / (frame_name(i) + ".png"), rgb, u.truth,
                      u.label, u.label ? "anomalous frame" : "normal frame", read_score_map(map_file), lo_,
                      hi_, scores[i]);
      }
    }
  }
  provenance["skip_frames"] = skip_frames;
  provenance["score_direction"] = "higher";
  provenance["videos"] = videos_.size();
  provenance["maps"] = maps_;
  if (have_range_) provenance["heatmap_range"] = {lo_, hi_};
  write_file_atomic(staging_.path() / "prediction.json", provenance.dump(2) + "\n");
  staging_.commit();
}

// ---- reader ----

VideoPredictionReader::VideoPredictionReader(const fs::path& pred_root, const std::string& scene,
                                             const std::vector<Sample>& test)
    : dir_(pred_root / scene) {
  if (!is_dir(pred_root)) throw_file_error(pred_root, "no such prediction folder");
  if (!is_dir(dir_))
    throw_file_error(dir_, "no predictions for scene '" + scene + "' (expected " +
                               (dir_ / "test/<video>.npy").string() + ")");
  std::vector<std::string> missing;
  for (const auto& v : test)
    if (!is_file(dir_ / "test" / (v.stem + ".npy"))) missing.push_back("test/" + v.stem + ".npy");
  if (!missing.empty()) {
    std::string first;
    for (size_t i = 0; i < missing.size() && i < 3; ++i) first += (i ? ", " : "") + missing[i];
    throw_file_error(dir_, std::to_string(missing.size()) + " of " + std::to_string(test.size()) +
                               " video score files missing (first: " + first + ")");
  }
  for (const auto& v : test) {
    fs::path file = dir_ / "test" / (v.stem + ".npy");
    at::Tensor t = read_npy(file);
    if (t.scalar_type() == at::kBool) throw_file_error(file, "expected float frame scores, got bool");
    t = t.reshape({-1}).to(at::kDouble).contiguous();
    if (t.numel() != static_cast<int64_t>(v.units.size()))
      throw_file_error(file, std::to_string(t.numel()) + " frame scores but the video has " +
                                 std::to_string(v.units.size()) + " frames");
    const double* p = t.data_ptr<double>();
    scores_.emplace_back(v.stem, std::vector<double>(p, p + t.numel()));
  }
  fs::path info = dir_ / "prediction.json";
  if (is_file(info)) {
    try {
      nlohmann::json j = nlohmann::json::parse(read_file(info));
      if (j.is_object() && j.contains("skip_frames") && j["skip_frames"].is_number_integer() &&
          j["skip_frames"].get<int64_t>() >= 0 && j["skip_frames"].get<int64_t>() < (1 << 20))
        skip_frames_ = j["skip_frames"].get<int>();
    } catch (const nlohmann::json::exception&) {
      // a foreign or damaged prediction.json carries no skip_frames; --skip-frames says it then
    }
  }
}

const std::vector<double>& VideoPredictionReader::scores(const Sample& video) const {
  for (const auto& [stem, s] : scores_)
    if (stem == video.stem) return s;
  throw InternalError("no scores read for video " + video.stem);
}

bool VideoPredictionReader::has_maps(const Sample& video) const { return is_dir(dir_ / "test" / video.stem); }

at::Tensor VideoPredictionReader::map(const Sample& video, std::size_t frame) const {
  fs::path file = dir_ / "test" / video.stem / (frame_name(frame) + ".tiff");
  if (!is_file(file)) throw_file_error(file, "missing map of frame " + std::to_string(frame));
  return read_score_map(file);
}

}  // namespace adbench
