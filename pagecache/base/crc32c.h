// crc32c (Castagnoli), the checksum of every foliofs metadata block and journal record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time),
// a slice-by-8 table otherwise; both give identical results.
// Convention (fs/FORMAT.md): Crc32c(seed, data) with the usual pre/post inversion,
// so Crc32c(0, "123456789") == 0xE3069283. Chained: Crc32c(Crc32c(s, a), b) == Crc32c(s, a+b).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace foliofs {

uint32_t Crc32c(uint32_t seed, const void* data, size_t len);

// Same result as Crc32c; forces the portable table implementation (tests compare both).
uint32_t Crc32cPortable(uint32_t seed, const void* data, size_t len);
// True when Crc32c uses the CPU instruction.
bool Crc32cIsHardwareAccelerated();

}  // namespace foliofs
