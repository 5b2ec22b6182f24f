#include "adbench/datasets/dataset.hpp"

#include <algorithm>

#include "adapters.hpp"

namespace adbench {

DatasetRegistry& dataset_registry() {
  static DatasetRegistry registry("dataset");
  return registry;
}

void register_builtin_datasets() {
  using namespace datasets_detail;
  auto& r = dataset_registry();
  // The summary is the one-line layout `adbench list datasets` prints.
  auto add = [&](const std::string& name, const std::string& layout, DatasetRegistry::Factory f) {
    if (!r.contains(name)) r.add(name, layout, std::move(f));
  };
  add("mvtec_ad", "<root>/<category>/{train/good/*, test/<defect>/*, ground_truth/<defect>/<stem>_mask.png}",
      &make_mvtec_ad_adapter);
  add("mpdd",
      "MVTec AD layout: <root>/<category>/{train/good/*, test/<defect>/*, "
      "ground_truth/<defect>/<stem>_mask.png}",
      &make_mpdd_adapter);
  add("btad",
      "<root>/{01,02,03}/{train/ok/*, test/{ok,ko}/*, ground_truth/ko/<stem>.png|.bmp}; normal folder 'ok'",
      &make_btad_adapter);
  add("visa",
      "<root>/split_csv/1cls.csv (object,split,label,image,mask; paths relative to <root>); masks hold "
      "instance ids",
      &make_visa_adapter);
  add("folder",
      "any MVTec-like tree: <root>/<category>/{train/good/*, test/<defect>/*, "
      "ground_truth/<defect>/<stem>_mask.<ext> or <stem>.<ext>}; png/jpg/jpeg/bmp/tif/tiff",
      &make_folder_adapter);
  add("mvtec_3d",
      "<root>/<category>/{train,validation,test}/<defect>/{rgb/*.png, xyz/*.tiff, gt/*.png}; point clouds "
      "(organised xyz)",
      &make_mvtec_3d_adapter);
  add("real3d_ad",
      "<root>/<category>/{train/*template*.pcd, test/*.pcd, gt/<stem>.txt}; point clouds; 'good' in a name = "
      "normal",
      &make_real3d_ad_adapter);
  add("anomaly_shapenet",
      "<root>/<category>/{train/*template*.pcd, test/*.pcd, GT/<stem>.txt}; point clouds; 'good'/'positive' "
      "= normal",
      &make_anomaly_shapenet_adapter);
  add("minishift",
      "<root>/<category>/{train/good/*.txt, test/good/*.txt, test/<defect>/<level>/*.txt, "
      "gt/<defect>/<level>/*.txt}; point clouds",
      &make_minishift_adapter);
  add("ipad",
      "<root>/<scene>/{training,testing}/frames/<video>/<n>.jpg, labels test_label/<video>.npy (01 <-> "
      "001.npy) "
      "or <scene>.mat (gt) or frame_labels_<scene>.npy; videos",
      &make_ipad_adapter);
  add("video_folder",
      "<root>/<scene>/{train,test}/{<video>/NNNN.png|jpg, <video>.mp4|avi|mkv|mov}, "
      "test_labels/<video>.npy|txt, test_masks/<video>/NNNN.png (optional); videos",
      &make_video_folder_adapter);
  add("real_iad",
      "<root>/<category>/{OK/S<nnnn>/*_C<v>_*.jpg, NG/<code>/S<nnnn>/*.jpg|.png}, splits "
      "realiad_jsons[_sv|_fuiad_<r>]/<category>.json; 5 views C1..C5 a sample",
      &make_real_iad_adapter);
}

std::string dataset_summary(const std::string& name) {
  register_builtin_datasets();
  auto& r = dataset_registry();
  if (!r.contains(name)) r.create(name);  // throws the InputError listing the valid names
  return r.summary(name);
}

std::string dataset_layout_help() {
  register_builtin_datasets();
  const auto& r = dataset_registry();
  size_t width = 0;
  for (const auto& n : r.names()) width = std::max(width, n.size());
  std::string out;
  for (const auto& n : r.names()) out += n + std::string(width - n.size() + 2, ' ') + r.summary(n) + "\n";
  return out;
}

std::unique_ptr<DatasetAdapter> make_dataset_adapter(const std::string& name, const DatasetOptions& options) {
  register_builtin_datasets();
  auto adapter = dataset_registry().create(name);
  if (!options.split.empty()) {
    const std::vector<std::string> splits = adapter->splits();
    if (splits.empty())
      throw InputError("--split " + options.split + ": dataset " + name + " has no split files");
    if (std::find(splits.begin(), splits.end(), options.split) == splits.end()) {
      std::string valid;
      for (const auto& s : splits) valid += (valid.empty() ? "" : ", ") + s;
      throw InputError("--split " + options.split + ": unknown split of dataset " + name +
                       " (valid: " + valid + ")");
    }
  }
  adapter->options = options;
  return adapter;
}

}  // namespace adbench
