// Helpers for the block device tests: the shared guards and commands of
// tests/support/test_support.h, plus deterministic data patterns.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "tests/support/test_support.h"

namespace foliofs::bdtest {

using testsupport::LoopDevice;
using testsupport::LoopUnavailableReason;
using testsupport::MakeImage;
using testsupport::MountGuard;
using testsupport::Shell;
using testsupport::TempDir;

// Deterministic bytes for (seed, position): any block can be re-derived.
inline void FillPattern(uint8_t* p, size_t len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < len; ++j) p[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
}

}  // namespace foliofs::bdtest
