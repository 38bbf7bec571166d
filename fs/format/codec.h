// Internal to fs/format: little-endian field access at explicit offsets.
// Every on-disk field is read and written through these helpers, never by
// casting a buffer to a struct (FORMAT.md conventions).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pagecache/base/endian.h"

namespace foliofs::format::codec {

// Field access at an offset into a record; the byte order lives in base/endian.h.
inline void Put16(uint8_t* p, size_t off, uint16_t v) { PutLe16(p + off, v); }
inline void Put32(uint8_t* p, size_t off, uint32_t v) { PutLe32(p + off, v); }
inline void Put64(uint8_t* p, size_t off, uint64_t v) { PutLe64(p + off, v); }
inline uint16_t Get16(const uint8_t* p, size_t off) { return GetLe16(p + off); }
inline uint32_t Get32(const uint8_t* p, size_t off) { return GetLe32(p + off); }
inline uint64_t Get64(const uint8_t* p, size_t off) { return GetLe64(p + off); }

// Offsets of the common block header (FORMAT.md §2).
inline constexpr size_t kHdrMagic = 0;
inline constexpr size_t kHdrType = 4;
inline constexpr size_t kHdrBlocknr = 8;
inline constexpr size_t kHdrChecksum = 16;
inline constexpr size_t kHdrOwner = 24;

}  // namespace foliofs::format::codec
