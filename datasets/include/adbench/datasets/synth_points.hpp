#pragma once
// Small deterministic synthetic point-cloud datasets (same seed => byte-identical files):
//  - write_synthetic_pointcloud_dataset: the Real3D-AD layout (unorganised PCD clouds, text ground
//    truth "x y z label" per point);
//  - write_synthetic_xyz_dataset: the MVTec 3D-AD layout (organised float32 xyz TIFFs with missing
//    points at (0,0,0), 2-D ground-truth masks aligned with the xyz grid, RGB renderings).
// Surfaces are smooth height fields with per-sample tilt and sensor noise; defects are dents,
// bumps, cracks and (unorganised only) holes a few point spacings wide; labels are exact (a point is
// anomalous exactly where the defect moved or bordered it).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "adbench/datasets/synth.hpp"

namespace adbench {

struct PointSynthOptions {
  int points = 6000;   ///< points per unorganised cloud (before a hole removes some), 500..5,000,000
  int grid = 96;       ///< xyz grid side (organised), 32..1024
  int train = 4;       ///< training clouds per category (templates; mvtec_3d: train/good)
  int test_good = 4;   ///< normal test clouds per category
  int per_defect = 3;  ///< test clouds per defect kind
};

/// Categories "plate" (test clouds in ASCII PCD) and "wave" (binary_compressed PCD); training
/// templates are binary PCD. Defects: bump, crack, dent, hole.
///   <out>/<category>/train/<i>_template.pcd
///   <out>/<category>/test/<i>_good.pcd, <i>_<defect>.pcd
///   <out>/<category>/gt/<stem>.txt               "x y z label" per point, in the cloud's order
SynthSummary write_synthetic_pointcloud_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                                const PointSynthOptions& options = {});

/// Category "disc" (a domed disc on a missing background, with 1 % random dropouts). Defects: bump,
/// crack, dent.
///   <out>/disc/{train,validation}/good/{rgb/NNN.png, xyz/NNN.tiff}
///   <out>/disc/test/{good,<defect>}/{rgb/NNN.png, xyz/NNN.tiff, gt/NNN.png}
SynthSummary write_synthetic_xyz_dataset(const std::filesystem::path& out, std::uint64_t seed,
                                         const PointSynthOptions& options = {});

/// One unorganised synthetic cloud (what write_synthetic_pointcloud_dataset writes): xyz float rows
/// and 0/1 labels. defect: "good", "bump", "crack", "dent" or "hole".
struct SynthCloud {
  std::vector<float> xyz;
  std::vector<std::uint8_t> labels;
};
SynthCloud make_synthetic_cloud(const std::string& category, std::uint64_t seed, const std::string& split,
                                const std::string& defect, int index, int points);

}  // namespace adbench
