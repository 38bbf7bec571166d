// Test helpers for whole-filesystem tests on a memory device: make, mount,
// remount and verify a foliofs without a kernel mount.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "fs/filesystem.h"
#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::fstest {

// A BlockDevice that forwards to a MemoryDevice the test keeps, so the image
// outlives the Filesystem that owned the device.
class SharedDevice final : public BlockDevice {
 public:
  explicit SharedDevice(std::shared_ptr<MemoryDevice> base) : base_(std::move(base)) {}
  uint64_t size_bytes() const override { return base_->size_bytes(); }
  uint32_t logical_block_size() const override { return base_->logical_block_size(); }
  std::string name() const override { return "shared-memory"; }
  Status Submit(std::span<IoRequest> batch) override { return base_->Submit(batch); }

 private:
  std::shared_ptr<MemoryDevice> base_;
};

inline std::shared_ptr<MemoryDevice> MakeImage(uint32_t block_size = 4096,
                                               uint64_t bytes = 64ull << 20) {
  auto dev = MemoryDevice::Create(bytes);
  EXPECT_TRUE(dev.ok());
  std::shared_ptr<MemoryDevice> shared(std::move(*dev));
  auto layout = format::ComputeLayout(bytes, block_size, 0, 0);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  format::MakeOptions o;
  for (int i = 0; i < 16; ++i) {
    o.uuid[i] = static_cast<uint8_t>(0x20 + i);
    o.hash_seed[i] = static_cast<uint8_t>(0x90 + i);
  }
  o.now = 1700000000;
  o.format_journal = journal::FormatJournal;
  auto sb = format::MakeFilesystem(*shared, *layout, o);
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  return shared;
}

inline std::unique_ptr<fs::Filesystem> MountImage(const std::shared_ptr<MemoryDevice>& image,
                                                  fs::MountOptions options = {}) {
  if (options.cache_size == fs::MountOptions{}.cache_size) {
    options.cache_size = 16ull << 20;
  }
  auto fs = fs::Filesystem::Mount(std::make_unique<SharedDevice>(image), "test", options);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return fs.ok() ? std::move(*fs) : nullptr;
}

// fsck's verifier on the image; returns the findings joined (empty = clean).
inline std::string VerifyImage(const std::shared_ptr<MemoryDevice>& image) {
  auto report = format::VerifyFilesystem(*image);
  if (!report.ok()) return "verify failed: " + report.status().ToString();
  std::string out;
  for (const auto& f : report->findings) {
    if (f.severity == format::Finding::Severity::kError) out += f.message + "\n";
  }
  return out;
}

}  // namespace foliofs::fstest
