// A deterministic PRNG for fsx: xoshiro256** seeded through splitmix64, so a
// seed reproduces a run exactly on every machine and libc (fsx's random() does
// not promise that). Not thread-safe; one instance per run.
#pragma once

#include <cstdint>

namespace foliofs::fsx {

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : s_) s = SplitMix(x);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform enough in [0, n) for n > 0 (modulo bias is irrelevant here);
  // always consumes exactly one draw so op streams stay aligned.
  uint64_t Below(uint64_t n) { return n == 0 ? (Next(), 0) : Next() % n; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

}  // namespace foliofs::fsx
