// FPFH through Open3D (the only other translation unit that includes Open3D headers).
#include "adbench/pointcloud/features.hpp"

#include <open3d/geometry/KDTreeSearchParam.h>
#include <open3d/geometry/PointCloud.h>
#include <open3d/pipelines/registration/Feature.h>

#include "adbench/core/error.hpp"
#include "text_io.hpp"

namespace adbench::pointcloud {

at::Tensor fpfh(const at::Tensor& points, int normal_k, const std::vector<int>& ks) {
  at::Tensor p = points.to(at::kFloat).contiguous();
  if (p.dim() != 2 || p.size(1) != 3) throw InternalError("fpfh: points must be [N,3]");
  if (ks.empty()) throw InternalError("fpfh: no neighbour counts");
  const std::int64_t n = p.size(0);
  quiet_open3d();
  open3d::geometry::PointCloud pc;
  pc.points_.resize(static_cast<size_t>(n));
  const float* d = p.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    pc.points_[static_cast<size_t>(i)] = Eigen::Vector3d(d[3 * i], d[3 * i + 1], d[3 * i + 2]);
  pc.EstimateNormals(open3d::geometry::KDTreeSearchParamKNN(std::max(3, normal_k)));
  at::Tensor out = at::empty({n, 33 * static_cast<std::int64_t>(ks.size())}, at::kFloat);
  float* o = out.data_ptr<float>();
  const std::int64_t stride = out.size(1);
  for (size_t s = 0; s < ks.size(); ++s) {
    auto f = open3d::pipelines::registration::ComputeFPFHFeature(
        pc, open3d::geometry::KDTreeSearchParamKNN(std::max(2, ks[s])));
    const Eigen::MatrixXd& m = f->data_;  // 33 x N, column-major
    for (std::int64_t i = 0; i < n; ++i) {
      const double* col = m.data() + 33 * i;
      float* row = o + i * stride + 33 * static_cast<std::int64_t>(s);
      for (int b = 0; b < 33; ++b) row[b] = static_cast<float>(col[b]);
    }
  }
  return out;
}

}  // namespace adbench::pointcloud
