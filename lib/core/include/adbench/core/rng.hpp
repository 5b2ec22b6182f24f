#pragma once
// The seeded random generator of the synthetic data generators (datasets/src/synth*.cpp):
// xoshiro256** (Blackman & Vigna) seeded through splitmix64, with its own uniform/normal helpers,
// because std:: distributions differ between standard libraries and the generated files must depend
// only on the seed. The stream is pinned by tests (tests/datasets/test_synth.cpp): do not change it.
#include <cstdint>
#include <string_view>

namespace adbench {

/// splitmix64: advances `state` and returns the next output (also used to derive seeds).
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// 64-bit FNV-1a hash of `s` (stable seeds from names).
inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return h;
}

/// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (auto& x : s_) x = splitmix64(seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Integer in [lo, hi] (lo <= hi; modulo reduction, a negligible bias for small ranges).
  int integer(int lo, int hi) {
    return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool coin() { return (next() >> 63) != 0; }
  /// Approximately standard normal: the Irwin-Hall sum of four uniforms, rescaled (|x| <= 3.46).
  double normal() {
    double u = uniform() + uniform() + uniform() + uniform();
    return (u - 2.0) * 1.7320508075688772;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace adbench
