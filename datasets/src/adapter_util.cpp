#include <algorithm>
#include <cctype>

#include "adapters.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/path_util.hpp"

namespace fs = std::filesystem;

namespace adbench::datasets_detail {

namespace {

bool hidden(const fs::path& p) {
  auto n = p.filename().string();
  return n.empty() || n[0] == '.';
}

/// Sorts by (defect, stem) and rejects two files of one (split, defect) with the same stem
/// (e.g. "a.png" and "a.jpg"): rel_path would differ but prediction files would collide.
template <typename T, typename Get>
void sort_and_check(std::vector<T>& items, Get get) {
  std::sort(items.begin(), items.end(), [&](const T& a, const T& b) {
    const Sample& x = get(a);
    const Sample& y = get(b);
    if (x.defect != y.defect) return x.defect < y.defect;
    if (x.stem != y.stem) return x.stem < y.stem;
    return x.path() < y.path();
  });
  for (size_t i = 1; i < items.size(); ++i) {
    const Sample& x = get(items[i - 1]);
    const Sample& y = get(items[i]);
    if (x.defect == y.defect && x.stem == y.stem)
      throw_file_error(y.path(), "duplicate file stem '" + y.stem + "' in " + y.split + "/" + y.defect +
                                     " (also " + x.path().string() + ")");
  }
}

/// InputError unless the symbolic link `link` leads to an existing file: "<link>: symbolic link
/// loop" (ELOOP) or "<link>: dangling symbolic link (its target '<target>' does not exist)".
void check_link_target(const fs::path& link) {
  std::error_code ec;
  fs::file_status st = fs::status(link, ec);
  if (ec == std::errc::too_many_symbolic_link_levels) throw_file_error(link, "symbolic link loop");
  if (!ec && fs::exists(st)) return;
  if (ec && ec != std::errc::no_such_file_or_directory)
    throw_file_error(link, "symbolic link cannot be followed (" + ec.message() + ")");
  std::error_code ec2;
  const std::string target = fs::read_symlink(link, ec2).string();
  throw_file_error(link, "dangling symbolic link (its target '" + excerpt(target, 200) + "' does not exist)");
}

}  // namespace

bool is_dataset_image(const fs::path& path) {
  static const char* kExt[] = {".png", ".jpg", ".jpeg", ".bmp", ".tif"};
  auto e = lower(path.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

std::vector<fs::path> list_files(const fs::path& dir, bool (*accept)(const fs::path&)) {
  std::vector<fs::path> out;
  if (!is_dir(dir)) return out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto& p = entry.path();
    if (hidden(p) || !accept(p)) continue;
    std::error_code ec2;
    if (fs::is_symlink(fs::symlink_status(p, ec2))) check_link_target(p);
    if (is_file(p)) out.push_back(p);
  }
  if (ec) throw_file_error(dir, "cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return out;
}

std::vector<std::string> list_subdirs(const fs::path& dir) {
  std::vector<std::string> out;
  if (!is_dir(dir)) return out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!hidden(entry.path()) && is_dir(entry.path())) out.push_back(entry.path().filename().string());
  }
  if (ec) throw_file_error(dir, "cannot list folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

void check_root(const fs::path& root) {
  if (!is_dir(root)) throw_file_error(root, "no such folder");
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

void check_category(const fs::path& root, const std::string& category,
                    const std::vector<std::string>& valid) {
  if (std::find(valid.begin(), valid.end(), category) == valid.end())
    throw_file_error(root, "unknown category '" + category + "' (valid: " + join(valid) + ")");
}

CategoryData finish_category(const std::string& dataset, const std::string& category, const fs::path& root,
                             std::vector<Sample> train, std::vector<PendingSample> test,
                             const fs::path& empty_test_where, const std::string& empty_test_problem,
                             CategoryData::Truth truth) {
  if (test.empty()) throw_file_error(empty_test_where, empty_test_problem);
  sort_and_check(train, [](const Sample& s) -> const Sample& { return s; });
  sort_and_check(test, [](const PendingSample& p) -> const Sample& { return p.sample; });

  bool any_mask = false;
  for (const auto& p : test)
    if (p.sample.label == 1 && p.mask.found) any_mask = true;
  CategoryData data;
  data.dataset = dataset;
  data.category = category;
  data.root = root;
  data.train = std::move(train);
  data.has_truth = any_mask;
  data.truth = truth;
  const auto& first = data.train.empty() ? test.front().sample : data.train.front();
  data.modality = first.modality;
  data.test.reserve(test.size());
  for (auto& p : test) {
    Sample s = std::move(p.sample);
    Unit& u = s.unit();
    u.truth.reset();
    if (any_mask && s.label == 1) {
      if (!p.mask.found)
        throw_file_error(p.mask.expected, "missing ground-truth mask for " + u.path.string());
      u.truth = *p.mask.found;
    }
    data.test.push_back(std::move(s));
  }
  return data;
}

}  // namespace adbench::datasets_detail
