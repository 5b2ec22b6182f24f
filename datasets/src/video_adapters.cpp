// Video dataset adapters: ipad (the IPAD release and its other packagings) and video_folder (users'
// own videos). A sample is a video, its units are its frames (frame images, or one video file for
// every unit). The adapters list frames, count a video file's frames (a decode pass: containers'
// frame counts are estimates) and read the label files; they decode no frame images.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/npy.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/core/video.hpp"
#include "adbench/formats/mat_format.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

/// A name made only of decimal digits (at most 18), as a number; -1 otherwise.
long long parse_index(const std::string& s) {
  if (s.empty() || s.size() > 18) return -1;
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

/// The frame images of one frame folder in numeric order of their stems (0-based or 1-based,
/// any padding). InputErrors: no frames, a stem that is not a number, two files of one number, a
/// gap in the numbering.
std::vector<fs::path> list_frames(const fs::path& dir) {
  std::vector<std::pair<long long, fs::path>> numbered;
  for (const auto& f : list_files(dir, &is_dataset_image)) {
    const long long n = parse_index(f.stem().string());
    if (n < 0) throw_file_error(f, "frame file name is not a frame number");
    numbered.emplace_back(n, f);
  }
  if (numbered.empty()) throw_file_error(dir, "no frames (expected <n>.png or <n>.jpg files)");
  std::sort(numbered.begin(), numbered.end());
  if (numbered.front().first > 1)
    throw_file_error(dir, "the first frame is " + numbered.front().second.filename().string() +
                              " (frame numbers start at 0 or 1)");
  for (std::size_t i = 1; i < numbered.size(); ++i) {
    const auto& [a, pa] = numbered[i - 1];
    const auto& [b, pb] = numbered[i];
    if (a == b)
      throw_file_error(
          pb, "frame number " + std::to_string(b) + " repeated (also " + pa.filename().string() + ")");
    if (b != a + 1)
      throw_file_error(dir, "gap in frame numbering: no frame " + std::to_string(a + 1) + " between " +
                                pa.filename().string() + " and " + pb.filename().string());
  }
  std::vector<fs::path> out;
  out.reserve(numbered.size());
  for (auto& [n, p] : numbered) out.push_back(std::move(p));
  return out;
}

/// A video before its labels: its name and its frames' paths (a video file repeated per frame).
struct VideoEntry {
  std::string name;
  fs::path where;  ///< the frame folder or the video file
  std::vector<fs::path> frames;
};

VideoEntry frame_folder_video(const fs::path& dir) {
  return {dir.filename().string(), dir, list_frames(dir)};
}

VideoEntry video_file_video(const fs::path& file) {
  const std::size_t n = count_video_frames(file);
  if (n == 0) throw_file_error(file, "no frames (the video decodes to nothing)");
  return {file.stem().string(), file, std::vector<fs::path>(n, file)};
}

/// Labels as doubles, checked to be 0 or 1. `what`: how error lines name the vector.
std::vector<int> to_labels(const std::vector<double>& v, const fs::path& file, const std::string& what) {
  std::vector<int> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0 && v[i] != 1.0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v[i]);
      throw_file_error(file, what + "label " + buf + " at frame " + std::to_string(i) + " is not 0 or 1");
    }
    out[i] = v[i] == 1.0;
  }
  return out;
}

/// Every value of a .npy file (any shape), flattened.
std::vector<double> read_npy_values(const fs::path& file) {
  at::Tensor t = read_npy(file).reshape({-1}).to(at::kDouble).contiguous();
  const double* p = t.data_ptr<double>();
  return std::vector<double>(p, p + t.numel());
}

/// Numbers of a text file, separated by white space or commas.
std::vector<double> read_text_values(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<double> out;
  std::size_t i = 0, line = 1;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == ',' || c == '\n') {
      line += c == '\n';
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !std::strchr(" \t\r\n,", text[j])) ++j;
    const std::string tok = text.substr(i, j - i);
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end != tok.c_str() + tok.size())
      throw_file_error(file, "line " + std::to_string(line) + ": '" + excerpt(tok, 40) + "' is not a number");
    out.push_back(v);
    i = j;
  }
  return out;
}

std::vector<double> read_label_values(const fs::path& file) {
  return lower(file.extension().string()) == ".npy" ? read_npy_values(file) : read_text_values(file);
}

/// The label vectors of `gt` in an INFP-style .mat file.
std::vector<std::vector<double>> read_mat_gt(const fs::path& file) {
  const std::string bytes = read_file(file);
  const auto vars = formats::parse_mat(bytes, file.string());
  for (const auto& v : vars)
    if (v.name == "gt") return formats::mat_label_vectors(v.array, file.string(), "gt");
  std::vector<std::string> names;
  for (const auto& v : vars) names.push_back("'" + excerpt(v.name, 40) + "'");
  throw_file_error(file, "no variable 'gt' (the file holds " +
                             (names.empty() ? std::string("no variables") : join(names)) + ")");
}

/// Builds the samples of a category's videos, applying options.label_mismatch.
class VideoCollector {
 public:
  VideoCollector(std::string category, LabelMismatch mismatch)
      : category_(std::move(category)), mismatch_(mismatch) {}

  void add_train(const VideoEntry& v) {
    train.push_back(make(v, "train", std::vector<int>(v.frames.size(), 0)));
  }

  /// A test video with its labels (read from `label_file`; `what` prefixes value errors).
  void add_test(const VideoEntry& v, const std::vector<double>& values, const fs::path& label_file,
                const std::string& what) {
    std::vector<int> labels = to_labels(values, label_file, what);
    std::vector<fs::path> frames = v.frames;
    if (labels.size() != frames.size()) {
      const std::string counts =
          std::to_string(labels.size()) + " labels, " + std::to_string(frames.size()) + " frames";
      if (mismatch_ == LabelMismatch::Error)
        throw_file_error(label_file, what + std::to_string(labels.size()) + " labels for the " +
                                         std::to_string(frames.size()) + " frames of test video " + v.name +
                                         " (" + v.where.string() +
                                         "); --label-mismatch truncate or skip "
                                         "accepts it");
      mismatched_.push_back(v.name + " (" + counts + ")");
      if (mismatch_ == LabelMismatch::Skip) return;
      const std::size_t n = std::min(labels.size(), frames.size());
      labels.resize(n);
      frames.resize(n);
      if (n == 0) return;
    }
    VideoEntry kept{v.name, v.where, std::move(frames)};
    test.push_back(make(kept, "test", labels));
  }

  /// The warning about mismatched videos, if any.
  void warn(std::vector<std::string>& warnings) const {
    if (mismatched_.empty()) return;
    warnings.push_back("category " + category_ + ": label count differs from frame count in " +
                       std::to_string(mismatched_.size()) + " test video" +
                       (mismatched_.size() > 1 ? "s" : "") + ": " + join(mismatched_) +
                       (mismatch_ == LabelMismatch::Skip
                            ? "; left out (--label-mismatch skip)"
                            : "; truncated to the shorter (--label-mismatch truncate)"));
  }

  std::vector<Sample> train, test;

 private:
  Sample make(const VideoEntry& v, const std::string& split, const std::vector<int>& labels) const {
    Sample s;
    s.category = category_;
    s.split = split;
    s.modality = Modality::Video;
    s.stem = s.rel_path = v.name;
    s.label = std::any_of(labels.begin(), labels.end(), [](int l) { return l == 1; }) ? 1 : 0;
    s.defect = s.label ? "anomalous" : "good";
    s.units.resize(v.frames.size());
    for (std::size_t i = 0; i < v.frames.size(); ++i) {
      s.units[i].path = v.frames[i];
      s.units[i].label = labels[i];
      s.units[i].name = frame_name(i);
    }
    return s;
  }

  std::string category_;
  LabelMismatch mismatch_;
  std::vector<std::string> mismatched_;
};

/// Sorts by (defect, stem) as DatasetAdapter::load promises; a repeated video name is an error.
void sort_videos(std::vector<Sample>& v) {
  std::sort(v.begin(), v.end(), [](const Sample& a, const Sample& b) {
    return a.defect != b.defect ? a.defect < b.defect : a.stem < b.stem;
  });
}

CategoryData finish_videos(const std::string& dataset, const std::string& category, const fs::path& root,
                           VideoCollector& c, const fs::path& test_dir) {
  if (c.test.empty()) throw_file_error(test_dir, "no test videos");
  sort_videos(c.train);
  sort_videos(c.test);
  CategoryData data;
  data.dataset = dataset;
  data.category = category;
  data.root = root;
  data.modality = Modality::Video;
  data.truth = CategoryData::Truth::Masks;
  data.train = std::move(c.train);
  data.test = std::move(c.test);
  c.warn(data.warnings);
  return data;
}

// ---------------------------------------------------------------------------------------------
// ipad: <root>/<scene>/{training,testing}/frames/<VV>/<n>.jpg, labels test_label/<VVV>.npy, or
// <scene>.mat (INFP: gt, one vector per test video in sorted order), or frame_labels_<scene>.npy
// (IPAD_VAD: every test frame of the scene, videos concatenated in sorted order).

class IpadAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "ipad"; }
  Modality modality() const override { return Modality::Video; }

  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "testing" / "frames")) out.push_back(c);
    if (out.empty())
      throw_file_error(root, "no categories found (expected <root>/<scene>/testing/frames/<video>/<n>.jpg)");
    return out;
  }

  CategoryData load(const fs::path& root, const std::string& scene) const override {
    check_category(root, scene, categories(root));
    const fs::path dir = root / scene;
    VideoCollector c(scene, options.label_mismatch);
    for (const auto& v : list_subdirs(dir / "training" / "frames"))
      c.add_train(frame_folder_video(dir / "training" / "frames" / v));

    const fs::path test_dir = dir / "testing" / "frames";
    std::vector<VideoEntry> videos;
    for (const auto& v : list_subdirs(test_dir)) videos.push_back(frame_folder_video(test_dir / v));
    if (videos.empty()) throw_file_error(test_dir, "no test videos");

    const fs::path label_dir = dir / "test_label";
    const fs::path mat = dir / (scene + ".mat");
    const fs::path concat = dir / ("frame_labels_" + scene + ".npy");
    const fs::path concat_root = root / ("frame_labels_" + scene + ".npy");
    if (is_dir(label_dir)) {
      std::map<long long, fs::path> by_number;
      for (const auto& f :
           list_files(label_dir, [](const fs::path& p) { return lower(p.extension().string()) == ".npy"; })) {
        const long long n = parse_index(f.stem().string());
        if (n < 0) continue;
        if (by_number.count(n))
          throw_file_error(f, "two label files for video " + std::to_string(n) + " (also " +
                                  by_number[n].filename().string() + ")");
        by_number[n] = f;
      }
      for (const auto& v : videos) {
        const long long n = parse_index(v.name);
        fs::path file;
        if (n >= 0 && by_number.count(n)) {
          file = by_number[n];
        } else {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%03lld", n);
          const fs::path expected = label_dir / ((n >= 0 ? std::string(buf) : v.name) + ".npy");
          throw_file_error(expected,
                           "missing labels for test video " + v.name + " (" + v.where.string() + ")");
        }
        c.add_test(v, read_npy_values(file), file, "");
      }
    } else if (is_file(mat)) {
      const auto vectors = read_mat_gt(mat);
      if (vectors.size() != videos.size())
        throw_file_error(mat, "'gt' holds " + std::to_string(vectors.size()) +
                                  " label vectors, the scene has " + std::to_string(videos.size()) +
                                  " test videos (" + test_dir.string() + ")");
      for (std::size_t i = 0; i < videos.size(); ++i)
        c.add_test(videos[i], vectors[i], mat, "gt{" + std::to_string(i + 1) + "}: ");
    } else if (is_file(concat) || is_file(concat_root)) {
      const fs::path file = is_file(concat) ? concat : concat_root;
      const std::vector<double> all = read_npy_values(file);
      std::size_t total = 0;
      for (const auto& v : videos) total += v.frames.size();
      // The videos' boundaries are known only through their frame counts: a total that differs
      // cannot be attributed to a video, so --label-mismatch does not apply here.
      if (all.size() != total)
        throw_file_error(file, std::to_string(all.size()) + " labels for the " + std::to_string(total) +
                                   " frames of the scene's " + std::to_string(videos.size()) +
                                   " test videos (" + test_dir.string() + ")");
      std::size_t at = 0;
      for (const auto& v : videos) {
        std::vector<double> part(all.begin() + static_cast<std::ptrdiff_t>(at),
                                 all.begin() + static_cast<std::ptrdiff_t>(at + v.frames.size()));
        c.add_test(v, part, file, "test video " + v.name + ": ");
        at += v.frames.size();
      }
    } else {
      throw_file_error(label_dir, "no test labels (expected test_label/<video>.npy, " + scene +
                                      ".mat or frame_labels_" + scene + ".npy)");
    }
    return finish_videos(name(), scene, root, c, test_dir);
  }
};

// ---------------------------------------------------------------------------------------------
// video_folder: <root>/<scene>/{train,test}/<video>/NNNN.<png|jpg> or <video>.<mp4|avi|mkv|mov>;
// labels test_labels/<video>.{npy,txt}; optional masks test_masks/<video>/NNNN.png.

class VideoFolderAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "video_folder"; }
  Modality modality() const override { return Modality::Video; }

  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "test")) out.push_back(c);
    if (out.empty())
      throw_file_error(root,
                       "no categories found (expected <root>/<scene>/test/<video>/NNNN.png or "
                       "<root>/<scene>/test/<video>.mp4)");
    return out;
  }

  CategoryData load(const fs::path& root, const std::string& scene) const override {
    check_category(root, scene, categories(root));
    const fs::path dir = root / scene;
    VideoCollector c(scene, options.label_mismatch);
    for (const auto& v : videos(dir / "train")) c.add_train(v);

    const fs::path test_dir = dir / "test";
    for (const auto& v : videos(test_dir)) {
      const fs::path npy = dir / "test_labels" / (v.name + ".npy");
      const fs::path txt = dir / "test_labels" / (v.name + ".txt");
      if (is_file(npy) && is_file(txt))
        throw_file_error(npy, "two label files for test video " + v.name + " (also " + txt.string() + ")");
      if (!is_file(npy) && !is_file(txt))
        throw_file_error(npy, "missing labels for test video " + v.name + " (" + v.where.string() +
                                  "; .npy or .txt, one 0/1 per frame)");
      const fs::path file = is_file(npy) ? npy : txt;
      c.add_test(v, read_label_values(file), file, "");
    }
    CategoryData data = finish_videos(name(), scene, root, c, test_dir);
    attach_masks(data, dir / "test_masks");
    return data;
  }

 private:
  /// The videos of a train or test folder: frame folders and video files, sorted by name.
  static std::vector<VideoEntry> videos(const fs::path& dir) {
    std::vector<VideoEntry> out;
    for (const auto& d : list_subdirs(dir)) out.push_back(frame_folder_video(dir / d));
    for (const auto& f : list_files(dir, &is_video_file)) out.push_back(video_file_video(f));
    std::stable_sort(out.begin(), out.end(),
                     [](const VideoEntry& a, const VideoEntry& b) { return a.name < b.name; });
    for (std::size_t i = 1; i < out.size(); ++i)
      if (out[i].name == out[i - 1].name)
        throw_file_error(out[i].where,
                         "two videos named '" + out[i].name + "' (also " + out[i - 1].where.string() + ")");
    return out;
  }

  /// Masks of anomalous frames: test_masks/<video>/<frame number>.png (any padding). When none
  /// exists for any anomalous frame, has_truth stays false; otherwise each anomalous frame needs one.
  static void attach_masks(CategoryData& data, const fs::path& mask_dir) {
    if (!is_dir(mask_dir)) return;
    std::map<std::string, std::map<long long, fs::path>> masks;
    std::size_t used = 0, total = 0;
    for (const auto& s : data.test) {
      auto& m = masks[s.stem];
      for (const auto& f : list_files(mask_dir / s.stem, &is_dataset_image)) {
        const long long n = parse_index(f.stem().string());
        if (n < 0) throw_file_error(f, "mask file name is not a frame number");
        if (m.count(n))
          throw_file_error(
              f, "two masks for frame " + std::to_string(n) + " (also " + m[n].filename().string() + ")");
        m[n] = f;
        ++total;
      }
    }
    bool any = false;
    for (const auto& s : data.test)
      for (std::size_t i = 0; i < s.units.size(); ++i)
        if (s.units[i].label == 1 && masks[s.stem].count(static_cast<long long>(i))) any = true;
    if (!any) return;
    for (auto& s : data.test)
      for (std::size_t i = 0; i < s.units.size(); ++i) {
        if (s.units[i].label != 1) continue;
        auto& m = masks[s.stem];
        const auto it = m.find(static_cast<long long>(i));
        if (it == m.end())
          throw_file_error(
              mask_dir / s.stem / (frame_name(i) + ".png"),
              "missing ground-truth mask for frame " + std::to_string(i) + " of test video " + s.stem);
        s.units[i].truth = it->second;
        ++used;
      }
    data.has_truth = true;
    if (used < total)
      data.warnings.push_back("category " + data.category + ": " + std::to_string(total - used) + " of " +
                              std::to_string(total) + " mask files in " + mask_dir.string() +
                              " belong to no anomalous test frame and are ignored");
  }
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_ipad_adapter() { return std::make_unique<IpadAdapter>(); }
std::unique_ptr<DatasetAdapter> make_video_folder_adapter() { return std::make_unique<VideoFolderAdapter>(); }

}  // namespace adbench::datasets_detail
