#include "pagecache/blockdev/logging_device.h"

#include <algorithm>
#include <cstring>

namespace foliofs {
namespace {

LoggedOp ToLoggedOp(const IoRequest& req) {
  LoggedOp op;
  op.op = req.op;
  if (req.op == IoOp::kFlush) return op;
  op.offset = req.offset;
  if (req.op == IoOp::kDiscard) {
    op.length = req.length;
    return op;
  }
  op.fua = req.fua;
  op.length = req.iov_bytes();
  op.data.reserve(op.length);
  for (const iovec& v : req.iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    op.data.insert(op.data.end(), p, p + v.iov_len);
  }
  return op;
}

// Applies blocks [first, first + count) of `op` to `image`; a discard zeroes
// (as MemoryDevice does).
void ApplyBlocks(const LoggedOp& op, uint64_t lbs, uint64_t first, uint64_t count,
                 std::vector<uint8_t>& image) {
  uint64_t off = first * lbs, len = count * lbs;
  if (op.op == IoOp::kWrite) {
    std::memcpy(image.data() + op.offset + off, op.data.data() + off, len);
  } else if (op.op == IoOp::kDiscard) {
    std::memset(image.data() + op.offset + off, 0, len);
  }
}

void ApplyWhole(const LoggedOp& op, uint64_t lbs, std::vector<uint8_t>& image) {
  if (op.op != IoOp::kFlush) ApplyBlocks(op, lbs, 0, op.length / lbs, image);
}

// Marks an op chosen whole in ChooseOps' result.
const std::vector<bool> kWholeOp;

Status BadState(const std::string& what) {
  return Status::Error(EINVAL, "logging device: invalid crash state: " + what);
}

Status CheckChoosable(const std::vector<LoggedOp>& log, const CrashState& state,
                      const std::vector<const std::vector<bool>*>& choice, size_t i,
                      const char* kind) {
  const std::string op = std::string(kind) + " op " + std::to_string(i);
  if (i < state.durable_ops || i >= log.size())
    return BadState(op + " is outside [durable_ops, log size)");
  if (log[i].op == IoOp::kFlush) return BadState(op + " is a flush");
  if (choice[i] != nullptr) return BadState(op + " is chosen twice");
  return Status::Ok();
}

// For each logged op past the durable prefix: nullptr (not applied),
// &kWholeOp (applied in full) or the torn mask; EINVAL if `state` is invalid.
Result<std::vector<const std::vector<bool>*>> ChooseOps(const std::vector<LoggedOp>& log,
                                                        const CrashState& state, uint64_t lbs) {
  if (state.durable_ops > log.size())
    return BadState("durable_ops " + std::to_string(state.durable_ops) + " > log size " +
                    std::to_string(log.size()));
  std::vector<const std::vector<bool>*> choice(log.size(), nullptr);
  for (size_t i : state.applied) {
    RETURN_IF_ERROR(CheckChoosable(log, state, choice, i, "applied"));
    choice[i] = &kWholeOp;
  }
  for (const CrashState::Torn& t : state.torn) {
    RETURN_IF_ERROR(CheckChoosable(log, state, choice, t.op, "torn"));
    const LoggedOp& op = log[t.op];
    if (op.op != IoOp::kWrite)
      return BadState("torn op " + std::to_string(t.op) + " is not a write");
    if (t.blocks_landed.size() != op.length / lbs)
      return BadState("torn op " + std::to_string(t.op) + " has a mask of " +
                      std::to_string(t.blocks_landed.size()) + " blocks, the write has " +
                      std::to_string(op.length / lbs));
    choice[t.op] = &t.blocks_landed;
  }
  return choice;
}

}  // namespace

Result<std::unique_ptr<LoggingDevice>> LoggingDevice::Create(std::shared_ptr<MemoryDevice> base) {
  if (base == nullptr) return Status::Error(EINVAL, "logging device: null base device");
  return std::unique_ptr<LoggingDevice>(new LoggingDevice(std::move(base)));
}

LoggingDevice::LoggingDevice(std::shared_ptr<MemoryDevice> base)
    : base_(std::move(base)), start_image_(base_->Snapshot()) {}

uint64_t LoggingDevice::size_bytes() const { return base_->size_bytes(); }
uint32_t LoggingDevice::logical_block_size() const { return base_->logical_block_size(); }

Status LoggingDevice::Submit(std::span<IoRequest> batch) {
  // mu_ is held across the base's Submit so the log order is the order the
  // base applied the ops (MemoryDevice completes a batch in batch order).
  std::lock_guard<std::mutex> lock(mu_);
  Status st = base_->Submit(batch);
  for (const IoRequest& req : batch) {
    if (req.status.ok() && req.op != IoOp::kRead) log_.push_back(ToLoggedOp(req));
  }
  return st;
}

std::vector<LoggedOp> LoggingDevice::Log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

size_t LoggingDevice::op_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_.size();
}

void LoggingDevice::ResetLog() {
  std::lock_guard<std::mutex> lock(mu_);
  start_image_ = base_->Snapshot();
  log_.clear();
}

CrashState LoggingDevice::RandomCrashState(size_t crash_at, std::mt19937_64& rng,
                                           double torn_probability) const {
  std::lock_guard<std::mutex> lock(mu_);
  crash_at = std::min(crash_at, log_.size());
  CrashState state;
  for (size_t i = crash_at; i > 0; --i) {
    if (log_[i - 1].op == IoOp::kFlush) {
      state.durable_ops = i;
      break;
    }
  }
  const uint64_t lbs = base_->logical_block_size();
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (size_t i = state.durable_ops; i < crash_at; ++i) {
    const LoggedOp& op = log_[i];
    if (op.op == IoOp::kWrite && op.fua) {
      state.applied.push_back(i);  // FUA: durable at completion
      continue;
    }
    if (coin(rng) >= 0.5) continue;  // this op never reached the medium
    if (op.op == IoOp::kWrite && coin(rng) < torn_probability) {
      CrashState::Torn torn{i, std::vector<bool>(op.length / lbs)};
      for (size_t b = 0; b < torn.blocks_landed.size(); ++b)
        torn.blocks_landed[b] = coin(rng) < 0.5;
      state.torn.push_back(std::move(torn));
    } else {
      state.applied.push_back(i);
    }
  }
  return state;
}

Result<std::unique_ptr<MemoryDevice>> LoggingDevice::CrashImage(const CrashState& state) const {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t lbs = base_->logical_block_size();
  ASSIGN_OR_RETURN(std::vector<const std::vector<bool>*> choice, ChooseOps(log_, state, lbs));
  std::vector<uint8_t> image = start_image_;
  for (size_t i = 0; i < log_.size(); ++i) {
    if (i < state.durable_ops || choice[i] == &kWholeOp) {
      ApplyWhole(log_[i], lbs, image);
    } else if (choice[i] != nullptr) {
      for (size_t b = 0; b < choice[i]->size(); ++b)
        if ((*choice[i])[b]) ApplyBlocks(log_[i], lbs, b, 1, image);
    }
  }
  return MemoryDevice::FromImage(std::move(image), static_cast<uint32_t>(lbs));
}

}  // namespace foliofs
