// Adapters for datasets in the MVTec AD folder layout: mvtec_ad, mpdd, btad and the lenient
// `folder`. They differ only in the normal folder's name, the accepted image extensions, whether a
// category needs a train/ folder, and how a mask file is named.
#include <map>
#include <set>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/image_io.hpp"
#include "adbench/core/path_util.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

enum class MaskNaming {
  MaskSuffixPng,  ///< ground_truth/<defect>/<stem>_mask.png (MVTec AD, MPDD)
  StemPngOrBmp,   ///< ground_truth/<defect>/<stem>.png or .bmp (BTAD)
  Any,            ///< ground_truth/<defect>/<stem>_mask.<ext> or <stem>.<ext>, any image ext (folder)
};

struct LayoutSpec {
  std::string name;
  std::string normal = "good";
  bool require_train = true;
  bool (*accept)(const fs::path&) = &is_dataset_image;
  MaskNaming masks = MaskNaming::MaskSuffixPng;
  std::string expected;  ///< what "no categories found (expected ...)" says
};

bool is_any_image(const fs::path& p) { return is_image_file(p); }

class MvtecLayoutAdapter final : public DatasetAdapter {
 public:
  explicit MvtecLayoutAdapter(LayoutSpec spec) : spec_(std::move(spec)) {}

  std::string name() const override { return spec_.name; }

  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    std::vector<std::string> out;
    for (const auto& c : list_subdirs(root))
      if (is_dir(root / c / "test") && (!spec_.require_train || is_dir(root / c / "train"))) out.push_back(c);
    if (out.empty()) throw_file_error(root, "no categories found (expected " + spec_.expected + ")");
    return out;
  }

  CategoryData load(const fs::path& root, const std::string& category) const override {
    check_category(root, category, categories(root));
    const fs::path dir = root / category;

    std::vector<Sample> train;
    for (const auto& f : list_files(dir / "train" / spec_.normal, spec_.accept))
      train.push_back(make_sample(category, "train", spec_.normal, f));

    std::vector<PendingSample> test;
    for (const auto& defect : list_subdirs(dir / "test")) {
      MaskFinder finder(spec_.masks, dir / "ground_truth" / defect);
      for (const auto& f : list_files(dir / "test" / defect, spec_.accept)) {
        PendingSample p{make_sample(category, "test", defect, f), {}};
        if (p.sample.label == 1) p.mask = finder.find(p.sample.stem);
        test.push_back(std::move(p));
      }
    }
    std::set<fs::path> used;  // the masks that anomalous test images use
    for (const auto& p : test)
      if (p.sample.label == 1 && p.mask.found) used.insert(*p.mask.found);
    CategoryData data =
        finish_category(spec_.name, category, root, std::move(train), std::move(test), dir / "test");
    unused_mask_warnings(data, dir / "ground_truth", used);
    return data;
  }

 private:
  /// Finds the mask of a stem in one ground_truth/<defect> folder.
  class MaskFinder {
   public:
    MaskFinder(MaskNaming naming, fs::path gt_dir) : naming_(naming), dir_(std::move(gt_dir)) {
      if (naming_ == MaskNaming::Any)
        for (const auto& f : list_files(dir_, &is_any_image))
          by_stem_.emplace(f.stem().string(), f);  // sorted listing: the first extension wins
    }

    MaskLookup find(const std::string& stem) const {
      MaskLookup m;
      switch (naming_) {
        case MaskNaming::MaskSuffixPng:
          m.expected = dir_ / (stem + "_mask.png");
          if (is_file(m.expected)) m.found = m.expected;
          break;
        case MaskNaming::StemPngOrBmp:
          m.expected = dir_ / (stem + ".png");
          for (const char* ext : {".png", ".bmp"})
            if (is_file(dir_ / (stem + ext))) {
              m.found = dir_ / (stem + ext);
              break;
            }
          break;
        case MaskNaming::Any: {
          m.expected = dir_ / (stem + "_mask.png");
          for (const auto& key : {stem + "_mask", stem}) {
            auto it = by_stem_.find(key);
            if (it != by_stem_.end()) {
              m.found = it->second;
              break;
            }
          }
          break;
        }
      }
      return m;
    }

   private:
    MaskNaming naming_;
    fs::path dir_;
    std::map<std::string, fs::path> by_stem_;
  };

  /// Masks that no anomalous test image uses are ignored, with a counted warning each kind:
  /// masks in ground_truth/<normal> (normal images have no defect) and orphans (no test image of
  /// that name in test/<defect>, or a name that does not follow the layout's mask naming).
  void unused_mask_warnings(CategoryData& data, const fs::path& gt, const std::set<fs::path>& used) const {
    std::vector<fs::path> normal, orphan;
    for (const auto& d : list_subdirs(gt))
      for (const auto& f : list_files(gt / d, &is_any_image))
        if (d == spec_.normal)
          normal.push_back(f);
        else if (!used.count(f))
          orphan.push_back(f);
    const std::string head = "category " + data.category + ": ";
    if (!normal.empty())
      data.warnings.push_back(
          head + std::to_string(normal.size()) +
          " ground-truth mask(s) for normal images, ignored (first: " + normal.front().string() + ")");
    if (!orphan.empty())
      data.warnings.push_back(head + std::to_string(orphan.size()) +
                              " ground-truth mask(s) that match no anomalous test image, ignored (first: " +
                              orphan.front().string() + ")");
  }

  Sample make_sample(const std::string& category, const std::string& split, const std::string& defect,
                     const fs::path& file) const {
    Sample s = Sample::single(Modality::Image, file);
    s.category = category;
    s.split = split;
    s.defect = defect;
    s.label = s.unit().label = defect == spec_.normal ? 0 : 1;
    s.stem = file.stem().string();
    s.rel_path = defect + "/" + file.filename().string();
    return s;
  }

  LayoutSpec spec_;
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_mvtec_ad_adapter() {
  LayoutSpec s;
  s.name = "mvtec_ad";
  s.expected = "<root>/<category>/train and <root>/<category>/test folders";
  return std::make_unique<MvtecLayoutAdapter>(std::move(s));
}

std::unique_ptr<DatasetAdapter> make_mpdd_adapter() {
  LayoutSpec s;
  s.name = "mpdd";
  s.expected = "<root>/<category>/train and <root>/<category>/test folders";
  return std::make_unique<MvtecLayoutAdapter>(std::move(s));
}

std::unique_ptr<DatasetAdapter> make_btad_adapter() {
  LayoutSpec s;
  s.name = "btad";
  s.normal = "ok";
  s.masks = MaskNaming::StemPngOrBmp;
  s.expected = "<root>/<category>/train and <root>/<category>/test folders, categories 01, 02, 03";
  return std::make_unique<MvtecLayoutAdapter>(std::move(s));
}

std::unique_ptr<DatasetAdapter> make_folder_adapter() {
  LayoutSpec s;
  s.name = "folder";
  s.require_train = false;
  s.accept = &is_any_image;
  s.masks = MaskNaming::Any;
  s.expected = "<root>/<category>/test folders";
  return std::make_unique<MvtecLayoutAdapter>(std::move(s));
}

}  // namespace adbench::datasets_detail
