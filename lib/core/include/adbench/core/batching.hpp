#pragma once
// Splitting work into batches: one helper instead of hand-written slicing loops.
//   for_each_batch(samples, ctx.batch_size, [&](std::span<const Sample> batch) { ... });
//   for (auto [b, e] : batch_ranges(n, bs)) { ... }
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <ranges>
#include <span>
#include <vector>

namespace adbench {

/// One batch: items [begin, end).
struct BatchRange {
  std::size_t begin = 0, end = 0;
  std::size_t size() const { return end - begin; }
};

/// The consecutive batches of at most `batch_size` items (a value < 1 counts as 1) covering [0, n),
/// in order; none when n == 0. Every batch but the last has exactly batch_size items.
inline std::vector<BatchRange> batch_ranges(std::size_t n, std::int64_t batch_size) {
  const auto bs = static_cast<std::size_t>(std::max<std::int64_t>(1, batch_size));
  std::vector<BatchRange> out;
  out.reserve((n + bs - 1) / bs);
  for (std::size_t b = 0; b < n; b += std::min(bs, n - b)) out.push_back({b, b + std::min(bs, n - b)});
  return out;
}

/// Calls fn(std::span<T>) for each consecutive batch of a contiguous range (a vector, an array, a
/// span), in order, without copying the items; see batch_ranges for the batch sizes. A const
/// std::vector<Sample> gives std::span<const Sample>.
template <std::ranges::contiguous_range R, class Fn>
void for_each_batch(R&& items, std::int64_t batch_size, Fn&& fn) {
  auto all = std::span(items);
  for (const BatchRange& r : batch_ranges(all.size(), batch_size)) fn(all.subspan(r.begin, r.size()));
}

}  // namespace adbench
