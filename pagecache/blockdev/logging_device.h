// LoggingDevice: records every write, discard and flush in order and builds
// the device image as of any crash point (littlefs's power-cut emulation and
// dm-log-writes are the models).
//
// It wraps a MemoryDevice; requests go through to it (so reads see everything
// written, as on a live system) and are appended to the log in the order they
// complete. The image the base held when the LoggingDevice was created (or at
// the last ResetLog) is the log's starting image.
//
// Crash model (the BlockDevice durability contract, see block_device.h):
//  - every op before the last completed kFlush is on the medium;
//  - a FUA write is on the medium once it has completed;
//  - any other write or discard that completed after that flush may or may
//    not be on the medium, independently, and may be torn: each of its
//    logical blocks lands or not, independently.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "pagecache/blockdev/memory_device.h"

namespace foliofs {

struct LoggedOp {
  IoOp op = IoOp::kWrite;          // kWrite, kDiscard or kFlush (reads are not logged)
  uint64_t offset = 0;             // kWrite, kDiscard
  uint64_t length = 0;             // bytes written or discarded
  bool fua = false;                // kWrite
  std::vector<uint8_t> data;       // kWrite: the bytes written
};

// Which ops reached the medium at a crash. Built by RandomCrashState or by hand.
struct CrashState {
  // Ops [0, durable_ops) all reached the medium in full.
  size_t durable_ops = 0;
  // Indices >= durable_ops of writes/discards that also reached the medium in full.
  std::vector<size_t> applied;
  // Writes (indices >= durable_ops, not in `applied`) that reached the medium in
  // part: blocks_landed[i] says whether logical block i of the write landed.
  struct Torn {
    size_t op = 0;
    std::vector<bool> blocks_landed;
  };
  std::vector<Torn> torn;
};

class LoggingDevice final : public BlockDevice {
 public:
  static Result<std::unique_ptr<LoggingDevice>> Create(std::shared_ptr<MemoryDevice> base);

  uint64_t size_bytes() const override;
  uint32_t logical_block_size() const override;
  std::string name() const override { return "logging(memory)"; }
  Status Submit(std::span<IoRequest> batch) override;

  // A copy of the log so far.
  std::vector<LoggedOp> Log() const;
  size_t op_count() const;
  // Makes the base's current contents the starting image and empties the log.
  void ResetLog();

  // The state of a crash that happens after ops [0, crash_at) completed:
  // everything up to the last kFlush before crash_at is durable, FUA writes
  // after it are applied, every other write/discard after it is applied with
  // probability 1/2, and each of those applied writes is torn with
  // probability `torn_probability` (a random subset of its logical blocks lands).
  CrashState RandomCrashState(size_t crash_at, std::mt19937_64& rng,
                              double torn_probability = 0.1) const;

  // The image as of `state`: the starting image with the chosen ops applied in
  // log order. EINVAL if `state` names an op out of range or below durable_ops,
  // or a torn mask of the wrong length.
  Result<std::unique_ptr<MemoryDevice>> CrashImage(const CrashState& state) const;

 private:
  explicit LoggingDevice(std::shared_ptr<MemoryDevice> base);
  std::shared_ptr<MemoryDevice> base_;
  mutable std::mutex mu_;
  std::vector<uint8_t> start_image_;  // GUARDED_BY(mu_)
  std::vector<LoggedOp> log_;         // GUARDED_BY(mu_)
};

}  // namespace foliofs
