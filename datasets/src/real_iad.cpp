// The real_iad adapter: Real-IAD (CVPR 2024), 5 camera views C1..C5 per sample. The samples come
// from the release's JSON split files, never from the folders: a sample is the views sharing the
// key of their file names, a view's label is its record's (anomaly_class and mask), not its folder's
// (many views inside NG/ folders are OK: the defect is not visible from that camera). The adapter
// stats images and masks; it decodes neither.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/path_util.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

/// --split values, the default first, and the folder under <root> each reads.
const std::vector<std::pair<std::string, std::string>>& split_folders() {
  static const std::vector<std::pair<std::string, std::string>> kSplits{
      {"multi-view", "realiad_jsons"},          {"single-view", "realiad_jsons_sv"},
      {"fuiad-0.0", "realiad_jsons_fuiad_0.0"}, {"fuiad-0.1", "realiad_jsons_fuiad_0.1"},
      {"fuiad-0.2", "realiad_jsons_fuiad_0.2"}, {"fuiad-0.4", "realiad_jsons_fuiad_0.4"},
  };
  return kSplits;
}

constexpr std::uintmax_t kMaxSplitFileBytes = 512ull << 20;
constexpr int kViews = 5;

/// One record of a split file, checked.
struct Record {
  std::string list;  ///< "train" or "test"
  std::size_t index = 0;
  std::string anomaly_class;
  std::string image_path;  ///< as written, relative to the category folder
  std::string mask_path;   ///< "" when null or empty
  fs::path image, mask;    ///< full paths (mask empty when none)
  std::string key;         ///< the sample key of the image's file name
  int view = 0;            ///< the digit after C
  int label = 0;

  std::string where() const { return list + " record " + std::to_string(index); }
};

/// "<list> record <i>: <problem>" about `file`.
[[noreturn]] void record_error(const fs::path& file, const Record& r, const std::string& problem) {
  throw_file_error(file, r.where() + ": " + problem);
}

/// A relative path that stays inside the category folder (no root, no "..").
bool stays_inside(const std::string& p) {
  const fs::path path(p);
  if (path.is_absolute() || path.has_root_name() || path.has_root_directory()) return false;
  return std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; });
}

/// Reads and checks one split file: its normal class and its train and test records, with full
/// paths resolved under `category_dir` and existence stat'ed.
struct SplitFile {
  std::string normal_class;
  std::vector<Record> records;  ///< train records, then test records, in file order
};

SplitFile read_split_file(const fs::path& file, const fs::path& category_dir) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) throw_file_error(file, "cannot read file (" + ec.message() + ")");
  if (size > kMaxSplitFileBytes)
    throw_file_error(file,
                     "file is " + std::to_string(size) + " bytes (a split file may have at most 512 MB)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    throw_file_error(file, "not JSON (" + one_line(e.what()) + ")");
  }
  const std::string format = " (expected a Real-IAD split file: {\"meta\", \"train\", \"test\"})";
  if (!j.is_object()) throw_file_error(file, "the top level is not an object" + format);
  for (const char* k : {"meta", "train", "test"})
    if (!j.contains(k)) throw_file_error(file, std::string("key '") + k + "' is missing" + format);
  const auto& meta = j["meta"];
  if (!meta.is_object()) throw_file_error(file, "key 'meta' is not an object");
  for (const char* k : {"prefix", "normal_class"}) {
    if (!meta.contains(k)) throw_file_error(file, std::string("meta: key '") + k + "' is missing");
    if (!meta[k].is_string()) throw_file_error(file, std::string("meta: key '") + k + "' is not a string");
  }
  SplitFile out;
  out.normal_class = meta["normal_class"].get<std::string>();
  if (out.normal_class.empty()) throw_file_error(file, "meta: key 'normal_class' is empty");

  static const std::regex kKey("([a-zA-Z][a-zA-Z0-9_]*_[0-9]{4}_[A-Z][A-Z_]*[A-Z])_C([0-9])_");
  static const char* kKeys[] = {"category", "anomaly_class", "image_path", "mask_path"};
  std::map<std::string, std::string> seen;  // image_path -> "<list> record <i>"
  for (const char* list : {"train", "test"}) {
    const auto& arr = j[list];
    if (!arr.is_array()) throw_file_error(file, std::string("key '") + list + "' is not an array");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Record r;
      r.list = list;
      r.index = i;
      const auto& rec = arr[i];
      if (!rec.is_object()) record_error(file, r, "not an object");
      for (const char* k : kKeys)
        if (!rec.contains(k)) record_error(file, r, std::string("key '") + k + "' is missing");
      for (const auto& item : rec.items())
        if (std::find_if(std::begin(kKeys), std::end(kKeys),
                         [&](const char* x) { return item.key() == x; }) == std::end(kKeys))
          record_error(file, r,
                       "unexpected key '" + excerpt(item.key(), 40) +
                           "' (a record has exactly category, anomaly_class, image_path, mask_path)");
      for (const char* k : {"category", "anomaly_class", "image_path"})
        if (!rec[k].is_string()) record_error(file, r, std::string("key '") + k + "' is not a string");
      if (!rec["mask_path"].is_null() && !rec["mask_path"].is_string())
        record_error(file, r, "key 'mask_path' is not a string or null");
      r.anomaly_class = rec["anomaly_class"].get<std::string>();
      r.image_path = rec["image_path"].get<std::string>();
      if (rec["mask_path"].is_string()) r.mask_path = rec["mask_path"].get<std::string>();

      if (r.image_path.empty()) record_error(file, r, "image_path is empty");
      if (!stays_inside(r.image_path))
        record_error(file, r, "image_path '" + excerpt(r.image_path) + "' leaves the category folder");
      const auto [it, fresh] = seen.emplace(r.image_path, r.where());
      if (!fresh)
        record_error(file, r, "same image_path as " + it->second + " ('" + excerpt(r.image_path) + "')");
      r.image = category_dir / r.image_path;
      if (!is_file(r.image)) record_error(file, r, "no such image " + r.image.string());
      if (!r.mask_path.empty()) {
        if (!stays_inside(r.mask_path))
          record_error(file, r, "mask_path '" + excerpt(r.mask_path) + "' leaves the category folder");
        r.mask = category_dir / r.mask_path;
        if (!is_file(r.mask)) record_error(file, r, "no such mask " + r.mask.string());
      }
      const std::string name = fs::path(r.image_path).filename().string();
      std::smatch m;
      if (!std::regex_search(name, m, kKey))
        record_error(file, r,
                     "image file name '" + excerpt(name) +
                         "' has no sample key <category>_<nnnn>_<class>_C<view>_ (e.g. "
                         "pcb_0001_OK_C1_20230101120000.jpg)");
      r.key = m[1].str();
      r.view = m[2].str()[0] - '0';
      r.label = r.anomaly_class != out.normal_class && !r.mask_path.empty() ? 1 : 0;
      out.records.push_back(std::move(r));
    }
  }
  return out;
}

/// A sample's defect: the anomaly_class of its first anomalous view (view order), or the normal
/// class when no view is anomalous.
std::string sample_defect(const std::vector<const Record*>& views, const std::string& normal_class) {
  for (const Record* r : views)
    if (r->label == 1) return r->anomaly_class;
  return normal_class;
}

bool by_defect_stem(const Sample& a, const Sample& b) {
  return a.defect != b.defect ? a.defect < b.defect : a.stem < b.stem;
}

class RealIadAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "real_iad"; }
  /// MultiView, except with --split single-view (one image per sample).
  Modality modality() const override {
    return options.split == "single-view" ? Modality::Image : Modality::MultiView;
  }
  std::vector<std::string> splits() const override {
    std::vector<std::string> out;
    for (const auto& [s, folder] : split_folders()) out.push_back(s);
    return out;
  }

  std::vector<std::string> categories(const fs::path& root) const override {
    check_root(root);
    const fs::path dir = split_dir(root);
    std::vector<std::string> out;
    for (const auto& c : category_folders(root))
      if (is_file(dir / (c + ".json"))) out.push_back(c);
    if (out.empty())
      throw_file_error(root, "no categories found (expected <category>/ folders with a split file " +
                                 dir.string() + "/<category>.json)");
    return out;
  }

  CategoryData load(const fs::path& root, const std::string& category) const override {
    check_root(root);
    const fs::path dir = split_dir(root);
    const fs::path json = dir / (category + ".json");
    const auto folders = category_folders(root);
    const bool folder = std::find(folders.begin(), folders.end(), category) != folders.end();
    if (folder && !is_file(json))
      throw_file_error(json, "missing split file for category '" + category + "'");
    if (!folder) check_category(root, category, categories(root));

    const fs::path category_dir = root / category;
    SplitFile sf = read_split_file(json, category_dir);
    const bool single = split_name() == "single-view";

    CategoryData data;
    data.dataset = name();
    data.category = category;
    data.root = root;
    data.truth = CategoryData::Truth::Masks;
    data.mask_threshold = 127;  // resized releases (realiad_256, ...) interpolate mask edges
    data.modality = single ? Modality::Image : Modality::MultiView;

    std::size_t maskless = 0;
    for (const auto& r : sf.records)
      if (r.list == "test" && r.anomaly_class != sf.normal_class && r.mask_path.empty()) ++maskless;

    if (single) {
      for (const auto& r : sf.records) {
        Sample s = Sample::single(Modality::Image, r.image,
                                  r.label == 1 ? std::optional<fs::path>(r.mask) : std::nullopt);
        s.category = category;
        s.split = r.list;
        s.label = r.label;
        s.unit().label = r.label;
        s.defect = r.label == 1 ? r.anomaly_class : sf.normal_class;
        s.stem = r.image.stem().string();
        s.rel_path = s.defect + "/" + r.image.filename().string();
        (r.list == "train" ? data.train : data.test).push_back(std::move(s));
      }
      for (auto* v : {&data.train, &data.test}) {
        std::sort(v->begin(), v->end(), by_defect_stem);
        for (std::size_t i = 1; i < v->size(); ++i)
          if ((*v)[i].stem == (*v)[i - 1].stem && (*v)[i].defect == (*v)[i - 1].defect)
            throw_file_error(json, "two " + (*v)[i].split + " images with the stem '" + (*v)[i].stem +
                                       "': " + (*v)[i - 1].path().string() + ", " + (*v)[i].path().string());
      }
    } else {
      for (const char* list : {"train", "test"}) {
        std::map<std::string, std::vector<const Record*>> groups;
        for (const auto& r : sf.records)
          if (r.list == list) groups[r.key].push_back(&r);
        auto& out = std::string(list) == "train" ? data.train : data.test;
        for (auto& [key, views] : groups) {
          std::sort(views.begin(), views.end(),
                    [](const Record* a, const Record* b) { return a->view < b->view; });
          bool ok = views.size() == kViews;
          for (int v = 0; ok && v < kViews; ++v) ok = views[v]->view == v + 1;
          if (!ok) {
            std::vector<std::string> have;
            for (const Record* r : views) have.push_back("C" + std::to_string(r->view));
            throw_file_error(json,
                             "sample " + key + " has views " + join(have) + " (expected C1..C5 once each)");
          }
          Sample s;
          s.category = category;
          s.split = list;
          s.modality = Modality::MultiView;
          s.stem = key;
          s.defect = sample_defect(views, sf.normal_class);
          s.rel_path = s.defect + "/" + key;
          for (const Record* r : views) {
            Unit u;
            u.path = r->image;
            u.label = r->label;
            u.name = "C" + std::to_string(r->view);
            if (r->label == 1) u.truth = r->mask;
            s.label |= r->label;
            s.units.push_back(std::move(u));
          }
          out.push_back(std::move(s));
        }
        std::sort(out.begin(), out.end(), by_defect_stem);
      }
    }
    if (data.test.empty()) throw_file_error(json, "no test records");
    for (const auto& s : data.test)
      for (const auto& u : s.units)
        if (u.label == 1 && u.truth) data.has_truth = true;
    if (maskless > 0)
      data.warnings.push_back("category " + category + ": " + std::to_string(maskless) + " test view" +
                              (maskless > 1 ? "s" : "") + " of an anomaly_class other than " +
                              sf.normal_class + " ha" + (maskless > 1 ? "ve" : "s") + " no mask and count" +
                              (maskless > 1 ? "" : "s") + " as normal");
    return data;
  }

 private:
  std::string split_name() const { return options.split.empty() ? "multi-view" : options.split; }

  /// The folder of the chosen split's JSON files: <root>/<folder>, or <root>/<folder>/<folder> as
  /// the shipped zip nests it. InputError "<root>/<folder>: no such folder (...)" when neither is.
  fs::path split_dir(const fs::path& root) const {
    std::string folder;
    for (const auto& [s, f] : split_folders())
      if (s == split_name()) folder = f;
    if (folder.empty()) throw InputError("--split " + options.split + ": unknown split of dataset real_iad");
    const fs::path flat = root / folder;
    if (is_dir(flat / folder)) return flat / folder;
    if (is_dir(flat)) return flat;
    throw_file_error(flat, "no such folder (the split files of --split " + split_name() + ")");
  }

  /// The sub-folders of root that may be categories (not the realiad_jsons* split folders).
  static std::vector<std::string> category_folders(const fs::path& root) {
    std::vector<std::string> out;
    for (auto& d : list_subdirs(root))
      if (d.rfind("realiad_jsons", 0) != 0) out.push_back(std::move(d));
    return out;
  }
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_real_iad_adapter() { return std::make_unique<RealIadAdapter>(); }

}  // namespace adbench::datasets_detail
