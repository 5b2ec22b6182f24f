// 8-connected component labelling (two-pass union-find) and small shared helpers.
#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>

#include "engine.hpp"

namespace adbench::metrics::detail {

namespace {
std::int32_t find_root(std::vector<std::int32_t>& parent, std::int32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}
void unite(std::vector<std::int32_t>& parent, std::int32_t a, std::int32_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a == b) return;
  if (a < b) std::swap(a, b);
  parent[a] = b;  // the smaller provisional label is the root: roots keep raster order
}
}  // namespace

std::int64_t label8(const std::uint8_t* mask, std::int64_t h, std::int64_t w, std::int32_t* labels,
                    std::vector<std::int64_t>& sizes) {
  std::vector<std::int32_t> parent{0};
  for (std::int64_t r = 0; r < h; ++r) {
    const std::uint8_t* m = mask + r * w;
    std::int32_t* l = labels + r * w;
    const std::int32_t* up = r > 0 ? labels + (r - 1) * w : nullptr;
    for (std::int64_t c = 0; c < w; ++c) {
      if (!m[c]) {
        l[c] = 0;
        continue;
      }
      std::int32_t best = 0;
      auto take = [&](std::int32_t v) {
        if (v == 0) return;
        if (best == 0)
          best = v;
        else if (v != best)
          unite(parent, best, v), best = std::min(best, v);
      };
      if (c > 0) take(l[c - 1]);
      if (up) {
        if (c > 0) take(up[c - 1]);
        take(up[c]);
        if (c + 1 < w) take(up[c + 1]);
      }
      if (best == 0) {
        best = static_cast<std::int32_t>(parent.size());
        parent.push_back(best);
      }
      l[c] = best;
    }
  }
  // Compact: final ids in raster order of each component's first pixel.
  std::vector<std::int32_t> final_id(parent.size(), 0);
  std::int32_t n = 0;
  for (size_t i = 1; i < parent.size(); ++i) {
    std::int32_t root = find_root(parent, static_cast<std::int32_t>(i));
    if (root == static_cast<std::int32_t>(i)) final_id[i] = ++n;
  }
  for (size_t i = 1; i < parent.size(); ++i)
    final_id[i] = final_id[find_root(parent, static_cast<std::int32_t>(i))];
  sizes.assign(static_cast<size_t>(n), 0);
  const std::int64_t total = h * w;
  for (std::int64_t i = 0; i < total; ++i) {
    if (labels[i]) {
      labels[i] = final_id[labels[i]];
      ++sizes[static_cast<size_t>(labels[i] - 1)];
    }
  }
  return n;
}

int engine_threads(const Options& options) {
  int t = options.threads > 0 ? options.threads : at::get_num_threads();
  return std::clamp(t, 1, 64);
}

}  // namespace adbench::metrics::detail
