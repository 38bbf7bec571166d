// Runner, second half: the checks against the model, the end of the run and
// the failure report (see runner.h).
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "tools/fsx/report.h"
#include "tools/fsx/runner.h"

namespace foliofs::fsx {
namespace {

constexpr const char* kCounterNames[] = {
    "read", "write",     "mapread", "mapwrite",  "truncate", "fallocate", "fallocate_keep", "punch",
    "zero", "zero_keep", "fsync",   "fdatasync", "reopen",   "skipped",   "checks"};

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

int Runner::VerifyRead(const OpRecord& r) {
  const char* what = r.kind == OpKind::kRead ? "read" : "mapread";
  if (auto bad = model_->FirstMismatch(r.off, rbuf_.data(), read_got_))
    return FailData(std::string(what) + " bad data", rbuf_.data(), r.off, read_got_, *bad);
  if (read_got_ != r.len)
    return Fail(kExitMismatch, std::string(what) + " short: got " + Hex(read_got_) + " of " +
                                   Hex(r.len) + " bytes at " + Hex(r.off) + " (model size " +
                                   Hex(model_->size()) + ")");
  if (r.kind == OpKind::kMapRead && eof_junk_)
    return Fail(kExitMismatch, "mapread: byte at " + Hex(*eof_junk_) +
                                   " past EOF in the EOF page is not zero (size " +
                                   Hex(model_->size()) + ")");
  return kExitOk;
}

int Runner::CheckSize() {
  uint64_t size = 0;
  SysError e = file_->Size(&size);
  if (!e.ok()) return FailSyscall(e);
  if (size != model_->size())
    return Fail(kExitMismatch,
                "size check: fstat says " + Hex(size) + ", model says " + Hex(model_->size()));
  return kExitOk;
}

int Runner::CheckWholeFile(const char* when) {
  ++counts_[cChecks];
  uint64_t got = 0;
  SysError e = file_->ReadAll(fbuf_.data(), fbuf_cap_, &got);
  if (!e.ok()) return FailSyscall(e);
  const uint64_t size = model_->size();
  if (auto bad = model_->FirstMismatch(0, fbuf_.data(), std::min(got, size)))
    return FailData(std::string(when) + " whole-file check: bad data", fbuf_.data(), 0,
                    std::min(got, size), *bad);
  if (got != size)
    return Fail(kExitMismatch, std::string(when) + " whole-file check: read " + Hex(got) +
                                   " bytes, model size " + Hex(size));
  return kExitOk;
}

// --inject-corruption: a checker self-test. Deferred while the file is empty.
int Runner::MaybeInject(uint64_t n) {
  if (n == o_.inject_corruption_op) inject_pending_ = true;
  if (!inject_pending_ || model_->size() == 0) return kExitOk;
  inject_pending_ = false;
  const uint64_t off = (n * 2654435761u) % model_->size();
  SysError e = file_->CorruptByte(off);
  if (!e.ok()) return FailSyscall(e);
  fprintf(out_,
          "fsx: --inject-corruption: flipped the byte at %s after op %" PRIu64
          " behind the model's back (checker self-test)\n",
          Hex(off).c_str(), n);
  return kExitOk;
}

int Runner::Finish(uint64_t ops) {
  ops_done_ = ops;
  if (ops >= o_.first_real_op) {
    if (int rc = CheckWholeFile("final"); rc != kExitOk) return rc;
  }
  if (o_.require_all_ops) {
    if (int rc = RequireAllOps(); rc != kExitOk) return rc;
  }
  if (!o_.model_out.empty()) {
    SysError e = TestFile::SaveBytes(o_.model_out, model_->data(), model_->size());
    if (!e.ok()) {
      fprintf(out_, "fsx: --model-out: %s\n", e.ToString().c_str());
      PrintSummary("FAILED");
      return kExitSetup;
    }
  }
  PrintSummary("OK");
  return kExitOk;
}

int Runner::RequireAllOps() {
  const bool enabled[kCounters] = {true,
                                   true,
                                   o_.mapped_reads,
                                   o_.mapped_writes,
                                   true,
                                   o_.fallocate_calls,
                                   o_.fallocate_calls,
                                   o_.punch_hole_calls,
                                   o_.zero_range_calls,
                                   o_.zero_range_calls,
                                   true,
                                   true,
                                   o_.closeprob > 0,
                                   false,
                                   false};
  std::string missing;
  for (int c = 0; c < kCounters; ++c)
    if (enabled[c] && counts_[c] == 0)
      missing += std::string(missing.empty() ? "" : ", ") + kCounterNames[c];
  if (missing.empty()) return kExitOk;
  return Fail(kExitUnsupported, "--require-all-ops: these enabled op kinds never ran: " + missing);
}

int Runner::FailSyscall(const SysError& e) {
  return Fail(kExitSyscall, std::string(OpName(cur_.kind)) + ": " + e.ToString());
}

int Runner::FailData(const std::string& what, const uint8_t* actual, uint64_t off, uint64_t len,
                     uint64_t bad) {
  const uint8_t exp = model_->At(bad), act = actual[bad - off];
  std::string msg = what + ": first mismatch at file offset " + Hex(bad) + ": expected " +
                    Hex(exp) + ", actual " + Hex(act) + "\n";
  if (const OpRecord* w = log_.LastTouching(bad)) {
    msg += "  the expected byte was last changed by op: " + FormatOp(*w) + "\n";
  } else {
    msg += "  the expected byte was not changed by the last " + std::to_string(OpLog::kCapacity) +
           " ops\n";
  }
  if (bad % 2 == 0 && act != 0)
    msg += "  the actual byte, at an even offset, is the data tag of ops n with n % 255 == " +
           std::to_string(act - 1) + "\n";
  msg += HexWindow(*model_, actual, off, len, bad);
  return Fail(kExitMismatch, msg);
}

int Runner::Fail(int code, const std::string& message) {
  if (!cur_logged_ && cur_.num == ops_done_ && cur_.num != 0) {
    cur_.size_after = model_->size();
    log_.Add(cur_);
    cur_logged_ = true;
  }
  fprintf(out_, "fsx: FAILURE at op %" PRIu64 " (seed %" PRIu64 "): %s\n", ops_done_, o_.seed,
          message.c_str());
  DumpLog(out_);
  SaveFailureFiles(message);
  PrintSummary("FAILED");
  return code;
}

void Runner::DumpLog(std::FILE* f) {
  const auto recent = log_.Recent();
  fprintf(f, "fsx: last %zu operations (op, kind, range, size before -> after):\n", recent.size());
  for (const OpRecord& r : recent) fprintf(f, "  %s\n", FormatOp(r).c_str());
}

void Runner::SaveFailureFiles(const std::string& message) {
  const std::string good = SidePath(o_.file, o_.dirpath, ".fsxgood");
  SysError e = TestFile::SaveBytes(good, model_->data(), model_->size());
  fprintf(out_, "fsx: %s %s\n", e.ok() ? "model saved to" : "could not save the model:",
          e.ok() ? good.c_str() : e.ToString().c_str());
  const std::string logpath = SidePath(o_.file, o_.dirpath, ".fsxlog");
  std::FILE* f = fopen(logpath.c_str(), "w");
  if (f == nullptr) {
    fprintf(out_, "fsx: could not write %s: %s\n", logpath.c_str(), strerror(errno));
    return;
  }
  fprintf(f, "fsx %s seed %" PRIu64 ": FAILURE at op %" PRIu64 ": %s\n", o_.file.c_str(), o_.seed,
          ops_done_, message.c_str());
  DumpLog(f);
  fclose(f);
  fprintf(out_, "fsx: operation log saved to %s\n", logpath.c_str());
}

void Runner::PrintSummary(const char* status) {
  std::string counts;
  for (int c = 0; c < kCounters; ++c)
    counts += std::string(c ? ", " : "") + kCounterNames[c] + " " + std::to_string(counts_[c]);
  fprintf(out_, "fsx: %" PRIu64 " ops (%s) seed %" PRIu64 ": %s\n", ops_done_, counts.c_str(),
          o_.seed, status);
  fflush(out_);
}

}  // namespace foliofs::fsx
