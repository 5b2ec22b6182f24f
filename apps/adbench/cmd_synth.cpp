#include <iostream>

#include "adbench/core/error.hpp"
#include "adbench/core/fs.hpp"
#include "adbench/core/log.hpp"
#include "adbench/datasets/synth.hpp"
#include "adbench/datasets/synth_multiview.hpp"
#include "adbench/datasets/synth_points.hpp"
#include "adbench/datasets/synth_video.hpp"
#include "cli_common.hpp"

namespace adbench::cli {

Action setup_synth(CLI::App& app, const Globals& g) {
  struct Opts {
    std::string out, kind = "image", difficulty = "medium";
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("--out", o->out, "Folder to write (refused if it exists, unless --force)")->required();
  app.add_option(
         "--kind", o->kind,
         "image (MVTec AD layout), pointcloud (Real3D-AD layout: PCD clouds, x y z label ground truth), "
         "xyz (MVTec 3D-AD layout: organised xyz TIFFs), video (IPAD layout: scene S01, PNG frames, "
         "test_label/NNN.npy), video_file (video_folder layout: scene conveyor, MJPG .avi files) or "
         "multiview "
         "(Real-IAD layout: 5 views C1..C5 per sample, realiad_jsons splits)")
      ->check(one_of({"image", "pointcloud", "xyz", "video", "video_file", "multiview"}))
      ->capture_default_str();
  auto* diff =
      app.add_option("--difficulty", o->difficulty,
                     "Image data only: easy (aligned, high-contrast defects: the original set), medium "
                     "(misalignment, lighting drift, smaller and fainter defects, texture smudges, hard "
                     "negatives; spreads the detectors apart) or hard (more of all that)")
          ->check(one_of({"easy", "medium", "hard"}))
          ->capture_default_str();
  app.add_flag("--force", o->force, "Replace an existing folder");
  app.footer(
      "The seed is the global --seed (default 0); the same seed writes the same bytes.\n"
      "Categories: bracket, cap, marble, weave (image); plate, wave (pointcloud); disc (xyz); S01 (video);\n"
      "conveyor (video_file). Video: 64x64 RGB, 4 normal training videos x 300 frames, 15 test videos x 240\n"
      "frames with two anomalies each (stuck_wheel, foreign_object, arm_speed, missing_product, "
      "wrong_color)\n"
      "and one normal test video; <scene>/test_anomalies.json lists them.\n"
      "Multiview: categories crate, socket; 128x128 JPEG views C1..C5 of a box with a pocket; 24 train\n"
      "samples, 12 OK + 12 NG (CH, HS, ZW) test samples; half the defects visible from C1.\n"
      "Examples:\n  adbench synth --out data/synth --seed 0                    # medium: the demo's data\n"
      "  adbench synth --difficulty easy --out data/synth_easy     # the original, easy set\n"
      "  adbench synth --kind pointcloud --out data/synth_pc   # then --dataset real3d_ad\n"
      "  adbench synth --kind xyz --out data/synth_xyz         # then --dataset mvtec_3d\n"
      "  adbench synth --kind video --out data/synth_video     # then --dataset ipad\n"
      "  adbench synth --kind video_file --out data/synth_avi  # then --dataset video_folder\n"
      "  adbench synth --kind multiview --out data/synth_mv    # then --dataset real_iad\n"
      "  adbench eval --detector variation_model --root data/synth --category all");
  return [o, &g, diff]() {
    if (diff->count() > 0 && o->kind != "image")
      throw InputError("synth: --difficulty applies to --kind image only, not " + o->kind);
    StagingDir staging(o->out, OutputKind::DatasetFolder, o->force);
    if (o->kind == "pointcloud")
      write_synthetic_pointcloud_dataset(staging.path(), g.seed);
    else if (o->kind == "xyz")
      write_synthetic_xyz_dataset(staging.path(), g.seed);
    else if (o->kind == "video")
      write_synthetic_video_dataset(staging.path(), g.seed);
    else if (o->kind == "video_file")
      write_synthetic_video_file_dataset(staging.path(), g.seed);
    else if (o->kind == "multiview")
      write_synthetic_multiview_dataset(staging.path(), g.seed);
    else {
      SynthOptions opt;
      opt.difficulty = synth_difficulty_from(o->difficulty);
      if (opt.difficulty != SynthDifficulty::Easy) {
        // More test images than easy's 6 + 3 per defect, so that a detector's AUROC moves in
        // steps smaller than the gaps the medium set is calibrated for.
        opt.test_good = 12;
        opt.per_defect = 4;
      }
      write_synthetic_dataset(staging.path(), g.seed, opt);
    }
    staging.commit();
    spdlog::info("wrote synthetic dataset to {} (seed {})", o->out, g.seed);
    std::cout << o->out << "\n";
    return 0;
  };
}

}  // namespace adbench::cli
