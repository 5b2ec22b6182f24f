#pragma once
// Point-cloud evaluation (lib/bench/src/evaluate_points.cpp), called by evaluate_category() when a
// category's samples are point clouds.
//  - Object level: the sample scores (image_* keys of the result).
//  - Point level (unorganised clouds: real3d_ad, anomaly_shapenet, minishift): every point of the
//    test set, one flat set of scores and 0/1 labels (pixel_auroc / pixel_ap / pixel_f1_max keys,
//    category "level": "point"; AUPRO null: points have no regions).
//  - mvtec_3d: maps on the xyz grid, missing points (0,0,0) excluded; pixel AUROC/AP/F1-max and AUPRO
//    over 8-connected regions of the ground truth restricted to valid points ("level": "pixel");
//    the AUPRO limits always include 0.3 and 0.01.
// A prediction for an unorganised cloud is float [N] in the cloud's point order; for an organised one
// [H,W] on the grid (or [N valid] in row-major grid order).
#include "adbench/bench/pipeline.hpp"

namespace adbench {

/// True when the category's samples are point clouds.
bool is_point_cloud_category(const CategoryData& data);

CategoryResult evaluate_point_category(const CategoryData& data, const BatchPredictor& predict, const EvalOptions& eval,
                                       const CommonOptions& common, PredictionWriter* writer);

}  // namespace adbench
