// VisA (Zou et al., ECCV 2022): samples come from <root>/split_csv/1cls.csv, not from folders.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "adapters.hpp"
#include "adbench/core/error.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

struct Row {
  int line = 0;
  std::string object, split, label, image, mask;
};

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

/// Splits one CSV line; fields may be double-quoted ("" inside quotes is a quote).
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
      else if (c == '"') quoted = false;
      else cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

class VisaAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "visa"; }

  std::vector<std::string> categories(const fs::path& root) const override {
    std::set<std::string> names;
    for (const auto& r : read_rows(root)) names.insert(r.object);
    if (names.empty()) throw_file_error(csv_path(root), "no rows (expected object,split,label,image,mask lines)");
    return {names.begin(), names.end()};
  }

  CategoryData load(const fs::path& root, const std::string& category) const override {
    const auto rows = read_rows(root);
    std::set<std::string> names;
    for (const auto& r : rows) names.insert(r.object);
    check_category(root, category, {names.begin(), names.end()});
    const fs::path csv = csv_path(root);

    std::vector<Sample> train;
    std::vector<PendingSample> test;
    for (const auto& r : rows) {
      if (r.object != category) continue;
      const std::string where = csv.string() + ":" + std::to_string(r.line);
      Sample s;
      s.category = category;
      s.split = r.split;
      s.label = r.label == "anomaly" ? 1 : 0;
      s.defect = s.label ? "bad" : "good";
      s.image = root / r.image;
      s.stem = s.image.stem().string();
      s.rel_path = s.defect + "/" + s.image.filename().string();
      s.modality = Modality::Image;
      std::error_code ec;
      if (!fs::is_regular_file(s.image, ec))
        throw_file_error(s.image, "no such file (listed in " + where + ")");
      if (r.split == "train") {
        if (s.label == 1) throw InputError(where + ": anomalous image in the train split: " + r.image);
        train.push_back(std::move(s));
        continue;
      }
      PendingSample p{std::move(s), {}};
      if (p.sample.label == 1) {
        if (r.mask.empty()) {
          p.mask.expected = csv;
        } else {
          p.mask.expected = root / r.mask;
          if (fs::is_regular_file(p.mask.expected, ec)) p.mask.found = p.mask.expected;
        }
      }
      test.push_back(std::move(p));
    }
    return finish_category("visa", category, root, std::move(train), std::move(test), csv,
                           "no test images for category '" + category + "'");
  }

 private:
  static fs::path csv_path(const fs::path& root) { return root / "split_csv" / "1cls.csv"; }

  static std::vector<Row> read_rows(const fs::path& root) {
    check_root(root);
    const fs::path csv = csv_path(root);
    std::error_code ec;
    if (!fs::is_regular_file(csv, ec))
      throw_file_error(root, "no categories found (expected split_csv/1cls.csv)");
    std::ifstream in(csv);
    if (!in) throw_file_error(csv, "cannot read file");

    std::string line;
    if (!std::getline(in, line)) throw_file_error(csv, "empty file (expected header object,split,label,image,mask)");
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    auto header = split_csv_line(line);
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
    for (const char* need : {"object", "split", "label", "image", "mask"})
      if (!col.count(need))
        throw_file_error(csv, std::string("header has no '") + need + "' column (expected object,split,label,image,mask)");

    std::vector<Row> rows;
    int n = 1;
    while (std::getline(in, line)) {
      ++n;
      if (trim(line).empty()) continue;
      auto f = split_csv_line(line);
      const std::string where = csv.string() + ":" + std::to_string(n);
      if (f.size() != header.size())
        throw InputError(where + ": expected " + std::to_string(header.size()) + " fields, got " +
                         std::to_string(f.size()));
      Row r;
      r.line = n;
      r.object = f[col["object"]];
      r.split = f[col["split"]];
      r.label = f[col["label"]];
      r.image = f[col["image"]];
      r.mask = f[col["mask"]];
      if (r.object.empty()) throw InputError(where + ": empty object name");
      if (r.split != "train" && r.split != "test")
        throw InputError(where + ": split '" + r.split + "' (expected train or test)");
      if (r.label != "normal" && r.label != "anomaly")
        throw InputError(where + ": label '" + r.label + "' (expected normal or anomaly)");
      if (r.image.empty()) throw InputError(where + ": empty image path");
      rows.push_back(std::move(r));
    }
    return rows;
  }
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_visa_adapter() { return std::make_unique<VisaAdapter>(); }

}  // namespace adbench::datasets_detail
