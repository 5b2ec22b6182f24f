#pragma once
// The CPU engine's storage and sort: keys appended in chunks (so nothing is ever re-allocated and
// copied while maps are added), then one parallel MSD pass on the top bits of (key - min) into
// buckets, each bucket finished by an LSD radix sort in cache. Chunks are freed as they are
// scattered, so the peak is about one copy of the keys plus the sorted array.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace adbench::metrics::detail {

/// Runs f(t) for t in [0, n) on n threads (the caller's thread is t = 0); rethrows the first error.
template <class F>
void run_threads(int n, F&& f) {
  if (n <= 1) {
    f(0);
    return;
  }
  std::exception_ptr error;
  std::mutex m;
  auto guarded = [&](int t) {
    try {
      f(t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(n - 1));
  for (int t = 1; t < n; ++t) threads.emplace_back(guarded, t);
  guarded(0);
  for (auto& th : threads) th.join();
  if (error) std::rethrow_exception(error);
}

/// Append-only storage in blocks (64 Ki elements, doubling to 16 Mi). Blocks are allocated
/// uninitialised, so untouched capacity costs address space only.
template <class T>
class Chunks {
 public:
  /// Contiguous room for n more elements at the end; commit(k <= n) makes k of them part of the data.
  T* reserve(size_t n) {
    if (blocks_.empty() || blocks_.back().cap - blocks_.back().size < n) {
      size_t cap = std::max(n, next_cap_);
      next_cap_ = std::min<size_t>(next_cap_ * 2, size_t{1} << 24);
      blocks_.push_back(Block{std::unique_ptr<T[]>(new T[cap]), 0, cap});
    }
    return blocks_.back().data.get() + blocks_.back().size;
  }
  void commit(size_t n) {
    if (n == 0) return;
    blocks_.back().size += n;
    total_ += n;
  }
  size_t size() const { return total_; }
  size_t block_count() const { return blocks_.size(); }
  const T* block(size_t i) const { return blocks_[i].data.get(); }
  size_t block_size(size_t i) const { return blocks_[i].size; }
  void release(size_t i) { blocks_[i].data.reset(); }
  void clear() {
    blocks_.clear();
    total_ = 0;
    next_cap_ = size_t{1} << 16;
  }

 private:
  struct Block {
    std::unique_ptr<T[]> data;
    size_t size = 0, cap = 0;
  };
  std::vector<Block> blocks_;
  size_t total_ = 0;
  size_t next_cap_ = size_t{1} << 16;
};

/// Sorts (ascending by key_of) into a new array, releasing src's blocks as it goes (src is empty
/// afterwards). kmin <= every key; bits = bit width of (kmax - kmin).
template <class T, class Key, class KeyOf>
std::unique_ptr<T[]> radix_sort(Chunks<T>& src, Key kmin, int bits, int threads, KeyOf key_of) {
  const size_t n = src.size();
  std::unique_ptr<T[]> out(new T[n > 0 ? n : 1]);
  if (n == 0) {
    src.clear();
    return out;
  }
  if (n < (size_t{1} << 18)) threads = 1;
  const int top = std::min(bits, 12);
  const int shift = bits - top;
  const size_t nb = size_t{1} << top;
  auto bucket_of = [&](const T& e) -> size_t {
    return static_cast<size_t>(static_cast<Key>(key_of(e) - kmin) >> shift);
  };

  // Blocks to threads, largest first to the least loaded.
  std::vector<std::vector<size_t>> mine(static_cast<size_t>(threads));
  {
    std::vector<size_t> order(src.block_count());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return src.block_size(a) > src.block_size(b); });
    std::vector<size_t> load(static_cast<size_t>(threads), 0);
    for (size_t i : order) {
      size_t t = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      mine[t].push_back(i);
      load[t] += src.block_size(i);
    }
  }
  std::vector<std::vector<size_t>> hist(static_cast<size_t>(threads), std::vector<size_t>(nb, 0));
  run_threads(threads, [&](int t) {
    auto& h = hist[static_cast<size_t>(t)];
    for (size_t bi : mine[static_cast<size_t>(t)]) {
      const T* p = src.block(bi);
      const size_t m = src.block_size(bi);
      for (size_t i = 0; i < m; ++i) ++h[bucket_of(p[i])];
    }
  });
  std::vector<size_t> start(nb + 1, 0);
  {
    size_t pos = 0;
    for (size_t b = 0; b < nb; ++b) {
      start[b] = pos;
      for (int t = 0; t < threads; ++t) {
        size_t c = hist[static_cast<size_t>(t)][b];
        hist[static_cast<size_t>(t)][b] = pos;  // becomes this thread's write offset
        pos += c;
      }
    }
    start[nb] = pos;
  }
  T* dst = out.get();
  run_threads(threads, [&](int t) {
    auto& off = hist[static_cast<size_t>(t)];
    for (size_t bi : mine[static_cast<size_t>(t)]) {
      const T* p = src.block(bi);
      const size_t m = src.block_size(bi);
      for (size_t i = 0; i < m; ++i) dst[off[bucket_of(p[i])]++] = p[i];
      src.release(bi);
    }
  });
  src.clear();
  if (shift == 0) return out;  // each bucket holds one key

  const int passes = (shift + 10) / 11;
  const int dbits = (shift + passes - 1) / passes;
  const Key dmask = static_cast<Key>((Key{1} << dbits) - 1);
  std::atomic<size_t> next{0};
  run_threads(threads, [&](int) {
    std::unique_ptr<T[]> tmp;
    size_t tmp_cap = 0;
    std::vector<size_t> cnt(static_cast<size_t>(passes) << dbits);
    for (;;) {
      const size_t b = next.fetch_add(1);
      if (b >= nb) break;
      T* a = dst + start[b];
      const size_t m = start[b + 1] - start[b];
      if (m < 2) continue;
      if (m <= 256) {
        std::sort(a, a + m, [&](const T& x, const T& y) { return key_of(x) < key_of(y); });
        continue;
      }
      if (tmp_cap < m) {
        tmp.reset(new T[m]);
        tmp_cap = m;
      }
      std::fill(cnt.begin(), cnt.end(), 0);
      for (size_t i = 0; i < m; ++i) {
        const Key v = static_cast<Key>(key_of(a[i]) - kmin);
        for (int p = 0; p < passes; ++p)
          ++cnt[(static_cast<size_t>(p) << dbits) | static_cast<size_t>((v >> (p * dbits)) & dmask)];
      }
      T* from = a;
      T* to = tmp.get();
      for (int p = 0; p < passes; ++p) {
        size_t* c = cnt.data() + (static_cast<size_t>(p) << dbits);
        const size_t nd = size_t{1} << dbits;
        bool trivial = false;
        size_t sum = 0;
        for (size_t d = 0; d < nd; ++d) {
          if (c[d] == m) trivial = true;
          const size_t x = c[d];
          c[d] = sum;
          sum += x;
        }
        if (trivial) continue;  // every element has the same digit: this pass would not move anything
        const int sh = p * dbits;
        for (size_t i = 0; i < m; ++i) {
          const Key v = static_cast<Key>(key_of(from[i]) - kmin);
          to[c[static_cast<size_t>((v >> sh) & dmask)]++] = from[i];
        }
        std::swap(from, to);
      }
      if (from != a) std::memcpy(static_cast<void*>(a), static_cast<const void*>(from), m * sizeof(T));
    }
  });
  return out;
}

}  // namespace adbench::metrics::detail
