// VisA (Zou et al., ECCV 2022): samples come from <root>/split_csv/1cls.csv, not from folders. The CSV
// is parsed by formats::parse_visa_csv (fuzzed in tests/fuzz).
#include <algorithm>
#include <set>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/path_util.hpp"
#include "adbench/formats/text_formats.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

using Row = formats::VisaRow;

class VisaAdapter final : public DatasetAdapter {
 public:
  std::string name() const override { return "visa"; }

  std::vector<std::string> categories(const fs::path& root) const override {
    std::set<std::string> names;
    for (const auto& r : read_rows(root)) names.insert(r.object);
    if (names.empty())
      throw_file_error(csv_path(root), "no rows (expected object,split,label,image,mask lines)");
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
      Sample s = Sample::single(Modality::Image, root / r.image);
      s.category = category;
      s.split = r.split;
      s.label = s.unit().label = r.label == "anomaly" ? 1 : 0;
      s.defect = s.label ? "bad" : "good";
      s.stem = s.path().stem().string();
      s.rel_path = s.defect + "/" + s.path().filename().string();
      if (!is_file(s.path())) throw_file_error(s.path(), "no such file (listed in " + where + ")");
      if (r.split == "train") {
        if (s.label == 1)
          throw InputError(where + ": anomalous image in the train split: " + excerpt(r.image));
        train.push_back(std::move(s));
        continue;
      }
      PendingSample p{std::move(s), {}};
      if (p.sample.label == 1) {
        if (r.mask.empty()) {
          p.mask.expected = csv;
        } else {
          p.mask.expected = root / r.mask;
          if (is_file(p.mask.expected)) p.mask.found = p.mask.expected;
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
    if (!is_file(csv)) throw_file_error(root, "no categories found (expected split_csv/1cls.csv)");
    return formats::parse_visa_csv(read_file(csv), csv.string());
  }
};

}  // namespace

std::unique_ptr<DatasetAdapter> make_visa_adapter() { return std::make_unique<VisaAdapter>(); }

}  // namespace adbench::datasets_detail
