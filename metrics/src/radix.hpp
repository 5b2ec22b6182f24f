#pragma once
// The CPU engine's storage and sort. Negatives (nearly every pixel) are appended to one
// contiguous, growable array (GrowArray: grown by remapping its pages, never by copying) and
// sorted in place: an MSD pass permutes them into buckets of their top bits (American flag sort),
// and each bucket is finished by an LSD radix sort in cache; with T threads the array is sorted as
// min(T, 4) runs, one per thread, that the sweep merges. So the keys take 4 bytes a pixel
// (float32) from the first map to the end of the sweep, plus one bucket-sized buffer per thread.
// Positives (a small fraction) are appended in chunks and sorted into a new array, freeing the
// chunks as they are scattered.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
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

struct FreeDelete {
  void operator()(void* p) const { std::free(p); }
};
/// An uninitialised array of trivially copyable elements, released with free().
template <class T>
using Buffer = std::unique_ptr<T[], FreeDelete>;

/// Allocates n uninitialised elements. With `huge`, arrays of 4 MiB or more are 2 MiB-aligned and
/// marked for transparent huge pages (madvise; a no-op where THP is off): filling 1.3 GB of keys in
/// 4 KiB pages costs ~330 k page faults, which took several seconds of system time on a virtual
/// machine. Not for arrays written at thousands of places at once (a scatter's destination): each
/// place would make a whole 2 MiB page resident.
template <class T>
Buffer<T> allocate(size_t n, bool huge = true) {
  static_assert(std::is_trivially_copyable_v<T>);
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t bytes = std::max<size_t>(n, 1) * sizeof(T);
  void* p = nullptr;
  if (huge && bytes >= 2 * kHuge) {
    const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
    p = std::aligned_alloc(kHuge, rounded);
#ifdef MADV_HUGEPAGE
    if (p) ::madvise(p, rounded, MADV_HUGEPAGE);
#endif
  } else {
    p = std::malloc(bytes);
  }
  if (!p) throw std::bad_alloc();
  return Buffer<T>(static_cast<T*>(p));
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
      blocks_.push_back(Block{allocate<T>(cap), 0, cap});
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
    Buffer<T> data;
    size_t size = 0, cap = 0;
  };
  std::vector<Block> blocks_;
  size_t total_ = 0;
  size_t next_cap_ = size_t{1} << 16;
};

/// Append-only contiguous storage with the interface of Chunks (reserve / commit). Grows by
/// doubling; on Linux the array is its own anonymous mapping, grown with mremap (the kernel moves
/// the pages, nothing is copied) and marked for transparent huge pages as a whole (marking part of
/// it would split the mapping, and mremap refuses a range of several mappings). Elsewhere realloc.
/// Capacity that was never written costs address space only.
template <class T>
class GrowArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  GrowArray() = default;
  GrowArray(const GrowArray&) = delete;
  GrowArray& operator=(const GrowArray&) = delete;
  ~GrowArray() { clear(); }
  T* reserve(size_t n) {
    if (cap_ - size_ < n) grow(size_ + n);
    return data_ + size_;
  }
  void commit(size_t n) { size_ += n; }
  size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  void clear() {
    if (data_) {
#ifdef __linux__
      ::munmap(static_cast<void*>(data_), bytes_);
#else
      std::free(data_);
#endif
    }
    data_ = nullptr;
    size_ = cap_ = bytes_ = 0;
  }

 private:
  void grow(size_t need) {
    const size_t cap = std::max<size_t>({need, cap_ * 2, size_t{1} << 16});
#ifdef __linux__
    const size_t bytes = (cap * sizeof(T) + 4095) & ~size_t{4095};
    void* p = data_ ? ::mremap(static_cast<void*>(data_), bytes_, bytes, MREMAP_MAYMOVE)
                    : ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (bytes >= (size_t{4} << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
#else
    const size_t bytes = cap * sizeof(T);
    void* p = std::realloc(static_cast<void*>(data_), bytes);
    if (!p) throw std::bad_alloc();
#endif
    data_ = static_cast<T*>(p);
    cap_ = bytes / sizeof(T);
    bytes_ = bytes;
  }
  T* data_ = nullptr;
  size_t size_ = 0, cap_ = 0, bytes_ = 0;
};

/// Finishes an MSD pass: bucket b = dst[start[b], start[b+1]) holds the keys whose top bits (above
/// `shift`) are b; each is sorted by an LSD radix sort on the low `shift` bits (std::sort for 256 or
/// fewer), buckets shared out to `threads` threads, each with one scratch buffer.
template <class T, class Key, class KeyOf>
void finish_buckets(T* dst, const std::vector<size_t>& start, size_t nb, int shift, Key kmin, int threads,
                    KeyOf key_of) {
  if (shift == 0) return;  // each bucket holds one key
  const int passes = (shift + 10) / 11;
  const int dbits = (shift + passes - 1) / passes;
  const Key dmask = static_cast<Key>((Key{1} << dbits) - 1);
  std::atomic<size_t> next{0};
  run_threads(threads, [&](int) {
    Buffer<T> tmp;
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
        tmp.reset();
        tmp = allocate<T>(m);
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
}

/// Sorts a[0, n) ascending by key_of in place: an MSD pass on the top bits of (key - kmin) (12, or
/// 16 from 16 M elements on, so that buckets stay small) that counts the buckets on `threads`
/// threads and then permutes the elements into them (American flag sort: every element is moved
/// once, with no second array), then finish_buckets(). kmin <= every key; bits = bit width of
/// (kmax - kmin).
template <class T, class Key, class KeyOf>
void radix_sort_in_place(T* a, size_t n, Key kmin, int bits, int threads, KeyOf key_of) {
  if (n < 2) return;
  if (n < (size_t{1} << 18)) threads = 1;
  const int top = std::min(bits, 12);
  const int shift = bits - top;
  const size_t nb = size_t{1} << top;
  auto bucket_of = [&](const T& e) -> size_t {
    return static_cast<size_t>(static_cast<Key>(key_of(e) - kmin) >> shift);
  };
  std::vector<std::vector<size_t>> hist(static_cast<size_t>(threads), std::vector<size_t>(nb, 0));
  run_threads(threads, [&](int t) {
    auto& h = hist[static_cast<size_t>(t)];
    const size_t lo = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
    const size_t hi = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
    for (size_t i = lo; i < hi; ++i) ++h[bucket_of(a[i])];
  });
  std::vector<size_t> start(nb + 1, 0);
  for (size_t b = 0; b < nb; ++b) {
    size_t c = 0;
    for (const auto& h : hist) c += h[b];
    start[b + 1] = start[b] + c;
  }
  hist.clear();
  std::vector<size_t> next(start.begin(), start.end() - 1);
  for (size_t b = 0; b < nb; ++b) {
    const size_t end = start[b + 1];
    while (next[b] < end) {
      T v = a[next[b]];
      size_t d = bucket_of(v);
      while (d != b) {  // carry v to its bucket's next free slot, take up what was there
        std::swap(v, a[next[d]++]);
        d = bucket_of(v);
      }
      a[next[b]++] = v;
    }
  }
  finish_buckets(a, start, nb, shift, kmin, threads, key_of);
}

/// Sorts a[0, n) into consecutive sorted runs, one per thread up to kMaxRuns, each sorted in place
/// by its own thread (radix_sort_in_place, with threads / runs threads for its counting and
/// buckets): the American flag permutation is sequential, so this is how it uses the cores.
/// Returns the run bounds (runs + 1 values, from 0 to n); one run below 2^18 elements. The caller
/// merges the runs (a comparison per run and distinct key, hence the cap).
inline constexpr int kMaxRuns = 4;
template <class T, class Key, class KeyOf>
std::vector<size_t> radix_sort_runs(T* a, size_t n, Key kmin, int bits, int threads, KeyOf key_of) {
  if (threads < 1) threads = 1;
  const int runs = n < (size_t{1} << 18) ? 1 : std::min(threads, kMaxRuns);
  const int inner = std::max(1, threads / runs);
  std::vector<size_t> bound(static_cast<size_t>(runs) + 1);
  for (size_t t = 0; t <= static_cast<size_t>(runs); ++t) bound[t] = n * t / static_cast<size_t>(runs);
  run_threads(runs, [&](int t) {
    const size_t lo = bound[static_cast<size_t>(t)], hi = bound[static_cast<size_t>(t) + 1];
    radix_sort_in_place(a + lo, hi - lo, kmin, bits, inner, key_of);
  });
  return bound;
}

/// Sorts (ascending by key_of) into a new array, releasing src's blocks as it goes (src is empty
/// afterwards). kmin <= every key; bits = bit width of (kmax - kmin).
template <class T, class Key, class KeyOf>
Buffer<T> radix_sort(Chunks<T>& src, Key kmin, int bits, int threads, KeyOf key_of) {
  const size_t n = src.size();
  Buffer<T> out = allocate<T>(n, /*huge=*/false);
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
  finish_buckets(dst, start, nb, shift, kmin, threads, key_of);
  return out;
}

}  // namespace adbench::metrics::detail
