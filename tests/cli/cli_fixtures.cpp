#include "cli_fixtures.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "adbench/core/image_io.hpp"
#include "adbench/core/npy.hpp"
#include "result_view.hpp"

namespace fs = std::filesystem;

namespace adbench::test {

const fs::path& synth_root() {
  static TempDir dir("synth");
  static fs::path root = [] {
    fs::path r = dir / "synth";
    auto res = run_adbench("--quiet synth --difficulty easy --out '" + r.string() + "'");
    if (res.exit_code != 0) throw std::runtime_error("adbench synth failed: " + res.err);
    return r;
  }();
  return root;
}

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void write_prediction_folder(const fs::path& pred, const std::string& dataset, const fs::path& root,
                             const std::string& category, const MapMaker& make, const std::string& ext,
                             bool scores_csv) {
  register_builtin_datasets();
  auto data = dataset_registry().create(dataset)->load(root, category);
  std::ofstream csv;
  if (scores_csv) {
    fs::create_directories(pred / category);
    csv.open(pred / category / "scores.csv");
    csv << "path,score\n";
    csv.precision(17);
  }
  for (const auto& s : data.test) {
    at::Tensor gt;
    if (s.truth()) {
      gt = mask_to_tensor(read_mask(*s.truth())).to(at::kFloat);
    } else {
      cv::Size sz = read_image_size(s.path());
      gt = at::zeros({sz.height, sz.width}, at::kFloat);
    }
    auto [map, score] = make(s, gt);
    fs::path file = pred / category / "test" / s.defect / (s.stem + ext);
    fs::create_directories(file.parent_path());
    if (ext == ".npy")
      write_npy(file, map);
    else
      write_score_map_tiff(file, map);
    if (scores_csv && !std::isnan(score)) csv << s.rel_path << "," << score << "\n";
  }
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return with_v1_view(nlohmann::json::parse(in));
}

double metric(const nlohmann::json& result, const std::string& cat, const std::string& name) {
  for (const auto& c : result.at("categories")) {
    if (c.at("category") == cat) {
      const auto& v = c.at("metrics").at(name);
      return v.is_null() ? std::nan("") : v.get<double>();
    }
  }
  FAIL("category " << cat << " not in result");
  return 0;
}

int count_partial_files(const fs::path& dir) {
  int n = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".partial-") != std::string::npos) ++n;
  return n;
}

}  // namespace adbench::test
