// Command-line parsing for mkfs.foliofs (mke2fs is the model).
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "fs/format/format.h"
#include "pagecache/base/status.h"

namespace foliofs::mkfs {

struct MkfsArgs {
  std::string device;
  uint32_t block_size = format::kDefaultBlockSize;
  uint64_t journal_bytes = 0;  // 0 = default
  uint64_t inode_count = 0;    // 0 = default
  std::string label;
  std::optional<format::Uuid> uuid;
  bool force = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses argv. Errors are EINVAL with a message for the user (the caller
// prints it and the usage text, and exits 1).
Result<MkfsArgs> ParseArgs(int argc, char** argv);

std::string Usage();

// "4096", "4k", "16M", "1G" -> bytes. Suffixes K/M/G/T (powers of 1024), either case.
Result<uint64_t> ParseSize(const std::string& text);
// "01234567-89ab-cdef-0123-456789abcdef" -> bytes, hex in either case.
Result<format::Uuid> ParseUuid(const std::string& text);
std::string FormatUuid(const format::Uuid& uuid);
// A random version-4 UUID (getrandom).
format::Uuid RandomUuid();
// 16 random bytes (getrandom), e.g. the directory hash seed.
std::array<uint8_t, 16> RandomBytes16();

}  // namespace foliofs::mkfs
