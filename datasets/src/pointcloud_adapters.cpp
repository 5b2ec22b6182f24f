// Point-cloud dataset adapters: mvtec_3d, real3d_ad, anomaly_shapenet and minishift. Like the image
// adapters they only list files; clouds and ground truth are read by the detectors and the
// evaluation (adbench::pointcloud), so this module needs no point-cloud library.
#include <algorithm>
#include <cctype>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/path_util.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

bool is_tiff(const fs::path& p) {
  auto e = lower(p.extension().string());
  return e == ".tiff" || e == ".tif";
}
bool is_pcd_or_ply(const fs::path& p) {
  auto e = lower(p.extension().string());
  return e == ".pcd" || e == ".ply";
}
bool is_txt(const fs::path& p) { return lower(p.extension().string()) == ".txt"; }

Sample cloud_sample(const std::string& category, const std::string& split, const std::string& defect,
                    int label, const fs::path& file) {
  Sample s = Sample::single(Modality::PointCloud, file);
  s.category = category;
  s.split = split;
  s.defect = defect;
  s.label = s.unit().label = label;
  s.stem = file.stem().string();
  s.rel_path = defect + "/" + file.filename().string();
  return s;
}

/// finish_category for clouds: the ground truth is a mask on the xyz grid (organised) or per-point labels.
CategoryData finish_points(const std::string& dataset, const std::string& category, const fs::path& root,
                           std::vector<Sample> train, std::vector<PendingSample> test,
                           const fs::path& test_dir, const std::string& empty_problem,
                           CategoryData::Truth truth) {
  return finish_category(dataset, category, root, std::move(train), std::move(test), test_dir, empty_problem,
                         truth);
}

/// Real3D-AD / Anomaly-ShapeNet test file names: "<n>_<defect>[_...]" or "<defect><n>"; normal
/// when the name contains one of `normal_words`. The defect is the name without digits.
std::string defect_from_stem(const std::string& stem, const std::vector<std::string>& normal_words) {
  const std::string l = lower(stem);
  for (const auto& w : normal_words)
    if (l.find(w) != std::string::npos) return "good";
  std::string out, tok;
  auto flush = [&] {
    if (!tok.empty()) out += (out.empty() ? "" : "_") + tok;
    tok.clear();
  };
  for (char c : l) {
    if (std::isalpha(static_cast<unsigned char>(c)))
      tok += c;
    else
      flush();
  }
  flush();
  return out.empty() ? "anomalous" : out;
}

// ---- mvtec_3d ----

class Mvtec3dAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "mvtec_3d"; }
  Modality modality() const override { return Modality::PointCloud; }
  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "train") && is_dir(root / c / "test")) out.push_back(c);
    if (out.empty())
      throw_file_error(root,
                       "no categories found (expected <root>/<category>/{train,test}/<defect>/xyz/*.tiff)");
    return out;
  }
  CategoryData load(const fs::path& root, const std::string& category) const override {
    check_category(root, category, categories(root));
    const fs::path dir = root / category;
    std::vector<Sample> train;
    for (const auto& f : list_files(dir / "train" / "good" / "xyz", &is_tiff))
      train.push_back(cloud_sample(category, "train", "good", 0, f));
    std::vector<PendingSample> test;
    for (const auto& defect : list_subdirs(dir / "test")) {
      for (const auto& f : list_files(dir / "test" / defect / "xyz", &is_tiff)) {
        PendingSample p{cloud_sample(category, "test", defect, defect == "good" ? 0 : 1, f), {}};
        p.mask.expected = dir / "test" / defect / "gt" / (p.sample.stem + ".png");
        if (is_file(p.mask.expected)) p.mask.found = p.mask.expected;
        test.push_back(std::move(p));
      }
    }
    return finish_points(name(), category, root, std::move(train), std::move(test), dir / "test",
                         "no test clouds", CategoryData::Truth::GridMasks);
  }
};

// ---- real3d_ad and anomaly_shapenet: flat test folder, text ground truth ----

class FlatCloudAdapter final : public DatasetAdapter {
 public:
  FlatCloudAdapter(std::string name, std::string gt_folder, std::vector<std::string> normal_words)
      : name_(std::move(name)), gt_(std::move(gt_folder)), normal_(std::move(normal_words)) {}
  std::string name() const override { return name_; }
  Modality modality() const override { return Modality::PointCloud; }
  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "train") && is_dir(root / c / "test")) out.push_back(c);
    if (out.empty())
      throw_file_error(
          root, "no categories found (expected <root>/<category>/{train/*template*.pcd, test/*.pcd, " + gt_ +
                    "/<stem>.txt})");
    return out;
  }
  CategoryData load(const fs::path& root, const std::string& category) const override {
    check_category(root, category, categories(root));
    const fs::path dir = root / category;
    std::vector<Sample> train;
    auto files = list_files(dir / "train", &is_pcd_or_ply);
    std::vector<fs::path> templates;
    for (const auto& f : files)
      if (lower(f.filename().string()).find("template") != std::string::npos) templates.push_back(f);
    for (const auto& f : templates.empty() ? files : templates)
      train.push_back(cloud_sample(category, "train", "good", 0, f));
    std::vector<PendingSample> test;
    for (const auto& f : list_files(dir / "test", &is_pcd_or_ply)) {
      const std::string defect = defect_from_stem(f.stem().string(), normal_);
      PendingSample p{cloud_sample(category, "test", defect, defect == "good" ? 0 : 1, f), {}};
      p.mask.expected = dir / gt_ / (p.sample.stem + ".txt");
      if (is_file(p.mask.expected)) p.mask.found = p.mask.expected;
      test.push_back(std::move(p));
    }
    return finish_points(name_, category, root, std::move(train), std::move(test), dir / "test",
                         "no test clouds", CategoryData::Truth::PointLabels);
  }

 private:
  std::string name_, gt_;
  std::vector<std::string> normal_;
};

// ---- minishift ----

class MiniShiftAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "minishift"; }
  Modality modality() const override { return Modality::PointCloud; }
  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "train") && is_dir(root / c / "test")) out.push_back(c);
    if (out.empty())
      throw_file_error(root,
                       "no categories found (expected <root>/<category>/{train/good, test/<defect>/<level>, "
                       "gt/<defect>/<level>}/*.txt)");
    return out;
  }
  CategoryData load(const fs::path& root, const std::string& category) const override {
    check_category(root, category, categories(root));
    const fs::path dir = root / category;
    std::vector<Sample> train;
    for (const auto& f : list_files(dir / "train" / "good", &is_txt))
      train.push_back(cloud_sample(category, "train", "good", 0, f));
    std::vector<PendingSample> test;
    for (const auto& f : list_files(dir / "test" / "good", &is_txt))
      test.push_back({cloud_sample(category, "test", "good", 0, f), {}});
    for (const auto& defect : list_subdirs(dir / "test")) {
      if (defect == "good") continue;
      // Anomalous clouds sit one level deeper, by difficulty: easy, medium, hard.
      for (const auto& level : list_subdirs(dir / "test" / defect)) {
        const std::string d = defect + "/" + level;
        for (const auto& f : list_files(dir / "test" / defect / level, &is_txt)) {
          PendingSample p{cloud_sample(category, "test", d, 1, f), {}};
          p.mask.expected = dir / "gt" / defect / level / f.filename();
          if (is_file(p.mask.expected)) p.mask.found = p.mask.expected;
          test.push_back(std::move(p));
        }
      }
    }
    return finish_points(name(), category, root, std::move(train), std::move(test), dir / "test",
                         "no test clouds", CategoryData::Truth::PointLabels);
  }
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_mvtec_3d_adapter() { return std::make_unique<Mvtec3dAdapter>(); }
std::unique_ptr<DatasetAdapter> make_real3d_ad_adapter() {
  return std::make_unique<FlatCloudAdapter>("real3d_ad", "gt", std::vector<std::string>{"good"});
}
std::unique_ptr<DatasetAdapter> make_anomaly_shapenet_adapter() {
  return std::make_unique<FlatCloudAdapter>("anomaly_shapenet", "GT",
                                            std::vector<std::string>{"good", "positive"});
}
std::unique_ptr<DatasetAdapter> make_minishift_adapter() { return std::make_unique<MiniShiftAdapter>(); }

}  // namespace adbench::datasets_detail
