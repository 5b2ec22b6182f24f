#include "point_detector.hpp"

#include "adbench/core/error.hpp"

namespace adbench::point_detail {

pointcloud::Cloud load_cloud(const Sample& s) {
  if (s.modality != Modality::PointCloud || s.units.size() != 1)
    throw InputError((s.units.empty() ? s.rel_path : s.units.front().path.string()) +
                     ": not a point cloud (point-cloud detectors need a point-cloud dataset such as "
                     "real3d_ad or mvtec_3d)");
  return pointcloud::read_cloud(s.path());
}

Prediction make_prediction(const pointcloud::Cloud& cloud, const at::Tensor& point_scores,
                           double object_score) {
  at::Tensor s = point_scores.to(at::kFloat).contiguous();
  if (!cloud.organised()) return Prediction::single(s, object_score);
  at::Tensor map = at::full({cloud.height * cloud.width}, s.min().item<float>(), at::kFloat);
  map.index_put_({cloud.grid_index}, s);
  return Prediction::single(map.reshape({cloud.height, cloud.width}), object_score);
}

double top_k_mean(const at::Tensor& scores, std::int64_t k) {
  const std::int64_t n = scores.numel();
  if (k <= 1) return scores.max().item<double>();
  k = std::min(k, n);
  return std::get<0>(scores.reshape({-1}).topk(k)).to(at::kDouble).mean().item<double>();
}

at::Tensor take_tensor(const std::map<std::string, at::Tensor>& t, const std::string& key,
                       std::int64_t dim1) {
  auto it = t.find(key);
  if (it == t.end()) throw InputError("missing tensor '" + key + "'");
  const at::Tensor& v = it->second;
  if (v.dim() != 2 || v.size(0) < 1 || (dim1 > 0 && v.size(1) != dim1))
    throw InputError("tensor '" + key + "' has shape " + c10::str(v.sizes()) + ", expected [M," +
                     std::to_string(dim1) + "]");
  return v.to(at::kFloat).contiguous();
}

}  // namespace adbench::point_detail
