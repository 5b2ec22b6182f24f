#pragma once
// Helpers shared by the point-cloud detectors (simple3d, fpfh_patchcore).
#include <cstdint>
#include <string>

#include "adbench/detectors/detector.hpp"
#include "adbench/pointcloud/cloud.hpp"

namespace adbench::point_detail {

/// Reads a sample's cloud (InputError naming the file on bad input).
pointcloud::Cloud load_cloud(const Sample& s);

/// Prediction of one cloud from per-point scores [N]: an unorganised cloud gets map = scores [N];
/// an organised one (MVTec 3D-AD xyz) a [H,W] map with its points' scores and, at missing
/// points, the cloud's smallest score. score = object score.
Prediction make_prediction(const pointcloud::Cloud& cloud, const at::Tensor& point_scores,
                           double object_score);

/// Mean of the k largest values (k <= 0 or k >= N: k = 1 means the maximum; k >= N the mean).
double top_k_mean(const at::Tensor& scores, std::int64_t k);

/// Throws InputError naming the missing or mis-shaped tensor.
at::Tensor take_tensor(const std::map<std::string, at::Tensor>& t, const std::string& key, std::int64_t dim1);

}  // namespace adbench::point_detail
