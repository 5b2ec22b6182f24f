// The real_iad adapter on Real-IAD trees built in a temporary folder: grouping of views into samples
// by their file-name key (records shuffled), labels from the records (OK views inside NG folders),
// the nested realiad_jsons/realiad_jsons of the shipped zip, the single-view and fuiad splits, and
// every bad-input error line.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "adbench/core/error.hpp"
#include "adbench/datasets/dataset.hpp"
#include "test_util.hpp"

using adbench::test::input_error_of;

namespace fs = std::filesystem;
using adbench::CategoryData;
using adbench::Modality;
using adbench::Sample;
using adbench::test::TempDir;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

void put_image(const fs::path& p, int value = 128) {
  fs::create_directories(p.parent_path());
  REQUIRE(cv::imwrite(p.string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar(value, value, value))));
}

void put_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// A Real-IAD category under construction: records are added (their files written) and the split
/// file written by save().
struct Category {
  fs::path root;
  std::string name;
  json train = json::array(), test = json::array();

  /// The image path (relative to the category folder) of sample `n` of class `cls` ("OK" or a
  /// defect code), view `view`.
  std::string image_path(int n, const std::string& cls, int view,
                         const std::string& ts = "20230101120000") const {
    char num[8];
    std::snprintf(num, sizeof num, "%04d", n);
    const std::string s = std::string("S") + num;
    const std::string file = name + "_" + num + (cls == "OK" ? "_OK" : "_NG_" + cls) + "_C" +
                             std::to_string(view) + "_" + ts + ".jpg";
    return cls == "OK" ? "OK/" + s + "/" + file : "NG/" + cls + "/" + s + "/" + file;
  }

  /// A record: `record_class` is the view's anomaly_class; a mask is written beside the image when
  /// `mask`.
  json record(const std::string& image, const std::string& record_class, bool mask) const {
    put_image(root / name / image);
    json r{
        {"category", name}, {"anomaly_class", record_class}, {"image_path", image}, {"mask_path", nullptr}};
    if (mask) {
      const std::string m = fs::path(image).replace_extension(".png").string();
      put_image(root / name / m, 255);
      r["mask_path"] = m;
    }
    return r;
  }

  /// The 5 views of a sample; views in `anomalous` have the sample's class and a mask, the others
  /// are OK with no mask.
  std::vector<json> sample(int n, const std::string& cls, std::vector<int> anomalous = {}) const {
    std::vector<json> out;
    for (int v = 1; v <= 5; ++v) {
      const bool a = std::find(anomalous.begin(), anomalous.end(), v) != anomalous.end();
      out.push_back(record(image_path(n, cls, v), a ? cls : "OK", a));
    }
    return out;
  }

  /// Writes the split file (with a meta key the adapter ignores, as some copies have).
  fs::path save(const std::string& folder = "realiad_jsons") const {
    const fs::path p = root / folder / (name + ".json");
    put_text(p, json{{"meta", {{"prefix", name + "/"}, {"normal_class", "OK"}, {"pre_transform", false}}},
                     {"train", train},
                     {"test", test}}
                    .dump());
    return p;
  }
};

/// Interleaves the records of several samples in a fixed shuffled order.
json shuffled(std::vector<std::vector<json>> samples) {
  std::vector<json> all;
  for (auto& s : samples)
    for (auto& r : s) all.push_back(r);
  json out = json::array();
  // A fixed permutation: stride 7 over the records (coprime with any count not divisible by 7).
  const std::size_t n = all.size();
  REQUIRE(n % 7 != 0);
  for (std::size_t i = 0; i < n; ++i) out.push_back(all[(i * 7 + 3) % n]);
  return out;
}

CategoryData load(const fs::path& root, const std::string& cat, const std::string& split = "") {
  adbench::DatasetOptions o;
  o.split = split;
  return adbench::make_dataset_adapter("real_iad", o)->load(root, cat);
}

Strings categories(const fs::path& root, const std::string& split = "") {
  adbench::DatasetOptions o;
  o.split = split;
  return adbench::make_dataset_adapter("real_iad", o)->categories(root);
}

Strings stems(const std::vector<Sample>& v) {
  Strings out;
  for (const auto& s : v) out.push_back(s.stem);
  return out;
}

Strings unit_names(const Sample& s) {
  Strings out;
  for (const auto& u : s.units) out.push_back(u.name);
  return out;
}

std::vector<int> unit_labels(const Sample& s) {
  std::vector<int> out;
  for (const auto& u : s.units) out.push_back(u.label);
  return out;
}

std::vector<int> has_truth(const Sample& s) {
  std::vector<int> out;
  for (const auto& u : s.units) out.push_back(u.truth ? 1 : 0);
  return out;
}

/// A small valid tree: category pcb (2 train samples, 3 test samples: one OK, one HS with the
/// defect visible in C1 and C2, one HS visible only in C4 plus a C5 view of class HS with no mask)
/// and category audiojack (double underscore in its file names). Returns the root.
struct Tree {
  TempDir tmp{"realiad"};
  Category pcb{tmp.path(), "pcb"};
  Category jack{tmp.path(), "audiojack_"};  // file names "audiojack__0064_..."

  Tree() {
    pcb.train = shuffled({pcb.sample(1, "OK"), pcb.sample(2, "OK")});
    auto maskless = pcb.sample(2, "HS", {4});
    maskless[4] = pcb.record(pcb.image_path(2, "HS", 5), "HS", false);
    pcb.test = shuffled({pcb.sample(3, "OK"), pcb.sample(1, "HS", {1, 2}), maskless});
    pcb.save();
    jack.train = shuffled({jack.sample(64, "OK")});
    jack.test = shuffled({jack.sample(64, "AK", {3}), jack.sample(65, "OK"), jack.sample(65, "AK", {1, 5})});
  }
  const fs::path& root() const { return tmp.path(); }
};

}  // namespace

TEST_CASE("real_iad: views grouped into samples by key, labels from the records", "[datasets][real_iad]") {
  Tree t;
  fs::rename(t.root() / "audiojack_", t.root() / "audiojack");  // folder name differs from the file prefix
  t.jack.name = "audiojack";
  t.jack.save();
  put_text(t.root() / "notes/readme.txt", "not a category");  // a folder without a split file

  auto adapter = adbench::make_dataset_adapter("real_iad");
  CHECK(adapter->modality() == Modality::MultiView);
  CHECK(adapter->splits() ==
        Strings{"multi-view", "single-view", "fuiad-0.0", "fuiad-0.1", "fuiad-0.2", "fuiad-0.4"});
  CHECK(categories(t.root()) == Strings{"audiojack", "pcb"});
  CHECK(adapter->load(t.root(), "pcb").mask_threshold == 127);

  const CategoryData d = load(t.root(), "pcb");
  CHECK(d.dataset == "real_iad");
  CHECK(d.category == "pcb");
  CHECK(d.modality == Modality::MultiView);
  CHECK(d.truth == CategoryData::Truth::Masks);
  CHECK(d.has_truth);
  CHECK(stems(d.train) == Strings{"pcb_0001_OK", "pcb_0002_OK"});
  CHECK(stems(d.test) == Strings{"pcb_0001_NG_HS", "pcb_0002_NG_HS", "pcb_0003_OK"});
  CHECK(d.warnings ==
        Strings{
            "category pcb: 1 test view of an anomaly_class other than OK has no mask and counts as normal"});

  const Sample& tr = d.train[0];
  CHECK(tr.split == "train");
  CHECK(tr.category == "pcb");
  CHECK(tr.defect == "OK");
  CHECK(tr.rel_path == "OK/pcb_0001_OK");
  CHECK(tr.label == 0);
  CHECK(tr.modality == Modality::MultiView);
  CHECK(unit_names(tr) == Strings{"C1", "C2", "C3", "C4", "C5"});
  for (int v = 0; v < 5; ++v) CHECK(tr.units[v].path == t.root() / "pcb" / t.pcb.image_path(1, "OK", v + 1));

  const Sample& hs = d.test[0];
  CHECK(hs.split == "test");
  CHECK(hs.defect == "HS");
  CHECK(hs.rel_path == "HS/pcb_0001_NG_HS");
  CHECK(hs.label == 1);
  CHECK(unit_names(hs) == Strings{"C1", "C2", "C3", "C4", "C5"});
  CHECK(unit_labels(hs) == std::vector<int>{1, 1, 0, 0, 0});
  CHECK(has_truth(hs) == std::vector<int>{1, 1, 0, 0, 0});
  CHECK(hs.units[0].truth ==
        t.root() / "pcb" / fs::path(t.pcb.image_path(1, "HS", 1)).replace_extension(".png"));
  CHECK(hs.units[4].path == t.root() / "pcb" / t.pcb.image_path(1, "HS", 5));

  const Sample& hs2 = d.test[1];  // defect seen only from C4; C5 is HS without a mask: normal
  CHECK(hs2.label == 1);
  CHECK(hs2.defect == "HS");
  CHECK(unit_labels(hs2) == std::vector<int>{0, 0, 0, 1, 0});
  CHECK(has_truth(hs2) == std::vector<int>{0, 0, 0, 1, 0});

  const Sample& ok = d.test[2];
  CHECK(ok.defect == "OK");
  CHECK(ok.label == 0);
  CHECK(has_truth(ok) == std::vector<int>{0, 0, 0, 0, 0});

  const CategoryData j = load(t.root(), "audiojack");
  CHECK(stems(j.train) == Strings{"audiojack__0064_OK"});
  // Sample numbers restart per class: audiojack__0065_OK and audiojack__0065_NG_AK are two samples.
  CHECK(stems(j.test) == Strings{"audiojack__0064_NG_AK", "audiojack__0065_NG_AK", "audiojack__0065_OK"});
  CHECK(unit_labels(j.test[1]) == std::vector<int>{1, 0, 0, 0, 1});
  CHECK(j.test[2].label == 0);
  CHECK(j.test[0].rel_path == "AK/audiojack__0064_NG_AK");
  CHECK(unit_labels(j.test[0]) == std::vector<int>{0, 0, 1, 0, 0});
  CHECK(j.warnings.empty());
}

TEST_CASE("real_iad: the shipped zip's nested realiad_jsons/realiad_jsons", "[datasets][real_iad]") {
  Tree t;
  fs::create_directories(t.root() / "realiad_jsons/realiad_jsons");
  fs::rename(t.root() / "realiad_jsons/pcb.json", t.root() / "realiad_jsons/realiad_jsons/pcb.json");
  CHECK(categories(t.root()) == Strings{"pcb"});
  const CategoryData d = load(t.root(), "pcb");
  CHECK(stems(d.test) == Strings{"pcb_0001_NG_HS", "pcb_0002_NG_HS", "pcb_0003_OK"});
}

TEST_CASE("real_iad: single-view split gives image samples of C1", "[datasets][real_iad]") {
  Tree t;
  Category sv = t.pcb;
  sv.train = json::array(
      {sv.record(sv.image_path(2, "OK", 1), "OK", false), sv.record(sv.image_path(1, "OK", 1), "OK", false)});
  sv.test = json::array({sv.record(sv.image_path(3, "OK", 1), "OK", false),
                         sv.record(sv.image_path(1, "HS", 1), "HS", true),
                         sv.record(sv.image_path(2, "HS", 1), "HS", false)});
  sv.save("realiad_jsons_sv");
  CHECK(categories(t.root(), "single-view") == Strings{"pcb"});
  adbench::DatasetOptions o;
  o.split = "single-view";
  CHECK(adbench::make_dataset_adapter("real_iad", o)->modality() == Modality::Image);

  const CategoryData d = load(t.root(), "pcb", "single-view");
  CHECK(d.modality == Modality::Image);
  CHECK(d.has_truth);
  CHECK(stems(d.train) == Strings{"pcb_0001_OK_C1_20230101120000", "pcb_0002_OK_C1_20230101120000"});
  CHECK(stems(d.test) == Strings{"pcb_0001_NG_HS_C1_20230101120000", "pcb_0002_NG_HS_C1_20230101120000",
                                 "pcb_0003_OK_C1_20230101120000"});
  CHECK(d.test[0].modality == Modality::Image);
  CHECK(d.test[0].units.size() == 1);
  CHECK(d.test[0].defect == "HS");
  CHECK(d.test[0].label == 1);
  CHECK(d.test[0].unit().label == 1);
  CHECK(d.test[0].rel_path == "HS/pcb_0001_NG_HS_C1_20230101120000.jpg");
  CHECK(d.test[0].truth() == t.root() / "pcb/NG/HS/S0001/pcb_0001_NG_HS_C1_20230101120000.png");
  CHECK(d.test[1].defect == "OK");  // class HS without a mask: normal
  CHECK(d.test[1].label == 0);
  CHECK_FALSE(d.test[1].truth());
  CHECK(d.test[1].rel_path == "OK/pcb_0002_NG_HS_C1_20230101120000.jpg");
  CHECK(d.warnings ==
        Strings{
            "category pcb: 1 test view of an anomaly_class other than OK has no mask and counts as normal"});
}

TEST_CASE("real_iad: fuiad splits keep noisy anomalies in train, labelled", "[datasets][real_iad]") {
  Tree t;
  Category f = t.pcb;
  f.train = shuffled({f.sample(1, "OK"), f.sample(4, "HS", {2})});
  f.test = shuffled({f.sample(3, "OK"), f.sample(1, "HS", {1, 2})});
  f.save("realiad_jsons_fuiad_0.1");
  CHECK(input_error_of([&] { categories(t.root(), "fuiad-0.2"); }) ==
        (t.root() / "realiad_jsons_fuiad_0.2").string() +
            ": no such folder (the split files of --split fuiad-0.2)");
  const CategoryData d = load(t.root(), "pcb", "fuiad-0.1");
  CHECK(d.modality == Modality::MultiView);
  CHECK(stems(d.train) == Strings{"pcb_0004_NG_HS", "pcb_0001_OK"});
  CHECK(d.train[0].label == 1);
  CHECK(unit_labels(d.train[0]) == std::vector<int>{0, 1, 0, 0, 0});
  CHECK(d.train[1].label == 0);
  CHECK(stems(d.test) == Strings{"pcb_0001_NG_HS", "pcb_0003_OK"});
}

TEST_CASE("real_iad: --split values", "[datasets][real_iad]") {
  adbench::DatasetOptions o;
  o.split = "fuiad-0.3";
  CHECK(input_error_of([&] { adbench::make_dataset_adapter("real_iad", o); }) ==
        "--split fuiad-0.3: unknown split of dataset real_iad (valid: multi-view, single-view, fuiad-0.0, "
        "fuiad-0.1, fuiad-0.2, fuiad-0.4)");
  o.split = "multi-view";
  CHECK(adbench::make_dataset_adapter("real_iad", o)->modality() == Modality::MultiView);
}

TEST_CASE("real_iad: bad input is one line naming the file", "[datasets][real_iad]") {
  Tree t;
  const fs::path json_file = t.root() / "realiad_jsons/pcb.json";
  const std::string J = json_file.string() + ": ";
  const fs::path cat = t.root() / "pcb";
  auto err = [&] { return input_error_of([&] { load(t.root(), "pcb"); }); };
  const json good = json::parse(adbench::test::read_text(json_file));
  // `good` edited: every case starts from the valid file.
  auto with = [&](const std::function<void(json&)>& edit) {
    json j = good;
    edit(j);
    return j;
  };
  auto save = [&](const json& j) { put_text(json_file, j.dump()); };

  SECTION("root and categories") {
    CHECK(input_error_of([&] { categories(t.root() / "nope"); }) ==
          (t.root() / "nope").string() + ": no such folder");
    CHECK(input_error_of([&] { load(t.root(), "cable"); }) ==
          t.root().string() + ": unknown category 'cable' (valid: pcb)");
    // A category folder without a split file (audiojack_ has no JSON).
    CHECK(input_error_of([&] { load(t.root(), "audiojack_"); }) ==
          (t.root() / "realiad_jsons/audiojack_.json").string() +
              ": missing split file for category 'audiojack_'");
    fs::remove(json_file);
    CHECK(input_error_of([&] { categories(t.root()); }) ==
          t.root().string() + ": no categories found (expected <category>/ folders with a split file " +
              (t.root() / "realiad_jsons").string() + "/<category>.json)");
    fs::remove_all(t.root() / "realiad_jsons");
    CHECK(input_error_of([&] { load(t.root(), "pcb"); }) ==
          (t.root() / "realiad_jsons").string() + ": no such folder (the split files of --split multi-view)");
  }
  SECTION("not JSON, too big") {
    put_text(json_file, "{\"meta\": ");
    CHECK(err().rfind(J + "not JSON ([json.exception.parse_error.101] parse error at line 1, column 10", 0) ==
          0);
    fs::resize_file(json_file, (512ull << 20) + 1);  // sparse
    CHECK(err() == J + "file is 536870913 bytes (a split file may have at most 512 MB)");
  }
  SECTION("top level and meta") {
    save(json::array());
    CHECK(err() == J + "the top level is not an object (expected a Real-IAD split file: {\"meta\", "
                       "\"train\", \"test\"})");
    save(with([](json& j) { j.erase("test"); }));
    CHECK(err() ==
          J + "key 'test' is missing (expected a Real-IAD split file: {\"meta\", \"train\", \"test\"})");
    save(with([](json& j) { j["meta"] = "pcb"; }));
    CHECK(err() == J + "key 'meta' is not an object");
    save(with([](json& j) { j["meta"].erase("normal_class"); }));
    CHECK(err() == J + "meta: key 'normal_class' is missing");
    save(with([](json& j) { j["meta"]["prefix"] = 3; }));
    CHECK(err() == J + "meta: key 'prefix' is not a string");
    save(with([](json& j) { j["train"] = json::object(); }));
    CHECK(err() == J + "key 'train' is not an array");
  }
  SECTION("records") {
    save(with([](json& j) { j["test"][12].erase("image_path"); }));
    CHECK(err() == J + "test record 12: key 'image_path' is missing");
    save(with([](json& j) { j["train"][3]["extra"] = 1; }));
    CHECK(err() == J + "train record 3: unexpected key 'extra' (a record has exactly category, "
                       "anomaly_class, image_path, "
                       "mask_path)");
    save(with([](json& j) { j["test"][0]["anomaly_class"] = 1; }));
    CHECK(err() == J + "test record 0: key 'anomaly_class' is not a string");
    save(with([](json& j) { j["test"][1]["mask_path"] = false; }));
    CHECK(err() == J + "test record 1: key 'mask_path' is not a string or null");
    save(with([](json& j) { j["test"][2] = "x"; }));
    CHECK(err() == J + "test record 2: not an object");
    save(with([](json& j) { j["test"][2]["image_path"] = "../other/x.jpg"; }));
    CHECK(err() == J + "test record 2: image_path '../other/x.jpg' leaves the category folder");
  }
  SECTION("files") {
    const std::string img = t.pcb.image_path(3, "OK", 2);
    fs::remove(cat / img);
    // The record's index in the (shuffled) file.
    std::size_t idx = 0;
    while (good["test"][idx]["image_path"] != img) ++idx;
    CHECK(err() == J + "test record " + std::to_string(idx) + ": no such image " + (cat / img).string());
    put_image(cat / img);

    std::size_t m = 0;
    while (good["test"][m]["mask_path"].is_null()) ++m;
    const std::string mask = good["test"][m]["mask_path"];
    fs::remove(cat / mask);
    CHECK(err() == J + "test record " + std::to_string(m) + ": no such mask " + (cat / mask).string());
  }
  SECTION("duplicate image_path, file name without a key") {
    save(with([&](json& j) { j["test"][7]["image_path"] = good["train"][2]["image_path"]; }));
    CHECK(err() == J + "test record 7: same image_path as train record 2 ('" +
                       good["train"][2]["image_path"].get<std::string>() + "')");
    put_image(cat / "OK/S0001/photo.jpg");
    save(with([&](json& j) { j["test"][4]["image_path"] = "OK/S0001/photo.jpg"; }));
    CHECK(err() == J + "test record 4: image file name 'photo.jpg' has no sample key "
                       "<category>_<nnnn>_<class>_C<view>_ (e.g. pcb_0001_OK_C1_20230101120000.jpg)");
  }
  SECTION("4 or 6 views") {
    std::size_t idx = 0;
    while (good["test"][idx]["image_path"] != t.pcb.image_path(1, "HS", 4)) ++idx;
    save(with([&](json& j) { j["test"].erase(idx); }));
    CHECK(err() == J + "sample pcb_0001_NG_HS has views C1, C2, C3, C5 (expected C1..C5 once each)");
    save(with([&](json& j) {
      j["test"].push_back(t.pcb.record(t.pcb.image_path(1, "HS", 2, "20230101120001"), "OK", false));
    }));
    CHECK(err() == J + "sample pcb_0001_NG_HS has views C1, C2, C2, C3, C4, C5 (expected C1..C5 once each)");
    save(with([&](json& j) { j["test"] = json::array(); }));
    CHECK(err() == J + "no test records");
  }
}
