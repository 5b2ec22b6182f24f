// Benchmark driver for scripts/bench_simple3d.py: Simple3D fit and score time on synthetic clouds of
// a given size (the "plate" surface with a dent), with stage timings and peak RSS, as JSON on stdout.
// Usage: adbench_bench_simple3d POINTS [TRAIN_CLOUDS=2] [THREADS=0] [CONFIG_JSON={}]
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "adbench/core/system_info.hpp"
#include "adbench/datasets/synth_points.hpp"
#include "adbench/pointcloud/features.hpp"
#include "adbench/pointcloud/knn.hpp"
#include "simple3d/simple3d.hpp"

namespace pc = adbench::pointcloud;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

static pc::Cloud make(const std::string& defect, int index, int points) {
  auto c = adbench::make_synthetic_cloud("plate", 0, "bench", defect, index, points);
  pc::Cloud out;
  out.points =
      at::from_blob(c.xyz.data(), {static_cast<std::int64_t>(c.labels.size()), 3}, at::kFloat).clone();
  return out;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s POINTS [TRAIN_CLOUDS] [THREADS] [CONFIG_JSON]\n", argv[0]);
    return 2;
  }
  const int points = std::atoi(argv[1]);
  const int ntrain = argc > 2 ? std::atoi(argv[2]) : 2;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 0;
  const nlohmann::json cfg = argc > 4 ? nlohmann::json::parse(argv[4]) : nlohmann::json::object();
  if (threads > 0) at::set_num_threads(threads);
  adbench::Simple3D det(cfg);
  std::vector<pc::Cloud> train;
  for (int i = 0; i < ntrain; ++i) train.push_back(make("good", i, points));
  auto t0 = Clock::now();
  det.fit_clouds(train, 0);
  const double fit_s = since(t0);
  train.clear();
  pc::Cloud test = make("dent", 0, points);
  // Stage timings of one description (FPFH with the detector's settings, FPS, grouping) and the full
  // scoring.
  auto t1 = Clock::now();
  const nlohmann::json used = det.config();
  at::Tensor f =
      pc::fpfh(test.points, used["normal_k"].get<int>(), used["neighbour_counts"].get<std::vector<int>>(),
               pc::fpfh_method_from_name(used["fpfh_impl"].get<std::string>()));
  const double fpfh_s = since(t1);
  f = at::Tensor();
  auto t2 = Clock::now();
  at::Tensor idx = pc::farthest_point_sample(test.points, 4096);
  const double fps_s = since(t2);
  auto t3 = Clock::now();
  pc::KdTree tree(test.points);
  at::Tensor g = tree.knn_indices(test.points.index_select(0, idx), 128);
  const double knn_s = since(t3);
  auto t4 = Clock::now();
  at::Tensor s = det.score_points(test);
  const double score_s = since(t4);
  nlohmann::json out = {
      {"points", points},
      {"train_clouds", ntrain},
      {"threads", at::get_num_threads()},
      {"fit_seconds", fit_s},
      {"fit_points_per_second", double(points) * ntrain / fit_s},
      {"score_seconds", score_s},
      {"score_points_per_second", double(points) / score_s},
      {"stage_seconds",
       {{"fpfh_3_scales", fpfh_s}, {"fps_4096", fps_s}, {"kdtree_build_and_group_knn", knn_s}}},
      {"peak_rss_bytes", adbench::peak_rss_bytes()},
      {"config", det.config()}};
  std::cout << out.dump() << "\n";
  return s.numel() == points ? 0 : 1;
}
