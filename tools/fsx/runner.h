// The fsx run: draws each operation from the seeded PRNG, performs it on the
// file (or only on the model before -b), keeps the model in step, checks every
// read, the size after every op and the whole file on a schedule, and reports
// the first divergence with the recent operation log.
//
// Determinism: every op consumes the same five PRNG draws whatever the flags,
// so a seed names one op sequence; -R/-W/-F/-H/-z only change how the drawn
// ops are carried out (mapped op -> plain op, fallocate-family op -> skipped).
// Not thread-safe; one Runner per process.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "tools/fsx/model.h"
#include "tools/fsx/oplog.h"
#include "tools/fsx/options.h"
#include "tools/fsx/rng.h"
#include "tools/fsx/test_file.h"

namespace foliofs::fsx {

// A posix_memalign buffer (O_DIRECT needs aligned user memory).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  bool Allocate(uint64_t size, uint64_t align);
  uint8_t* data() const { return data_; }

 private:
  uint8_t* data_ = nullptr;
};

class Runner {
 public:
  Runner(const Options& options, std::FILE* out);
  // Runs to completion; returns the process exit code (options.h).
  int Run();

 private:
  // The fallocate-family modes, each probed on its first real use.
  enum Mode { kAlloc, kAllocKeep, kPunch, kZero, kZeroKeep, kModes };
  enum class Support { kUnknown, kYes, kNo };
  // Summary counters, in summary-line order.
  enum Counter {
    cRead,
    cWrite,
    cMapRead,
    cMapWrite,
    cTruncate,
    cFallocate,
    cFallocateKeep,
    cPunch,
    cZero,
    cZeroKeep,
    cFsync,
    cFdatasync,
    cReopen,
    cSkipped,
    cChecks,
    kCounters
  };

  int Setup();
  int Step(uint64_t n);
  OpRecord Generate(uint64_t n);
  void TrimAndAlign(OpRecord& r, uint64_t drawn_off);
  bool Disabled(const OpRecord& r) const;
  static Mode ModeOf(const OpRecord& r);
  static int FallocateFlags(Mode m);
  int Syscalls(OpRecord& r);
  int FallocateFamily(OpRecord& r);
  void ApplyToModel(const OpRecord& r);
  void Count(const OpRecord& r);
  void Log(const OpRecord& r);
  int VerifyRead(const OpRecord& r);
  int CheckSize();
  int CheckWholeFile(const char* when);
  int MaybeInject(uint64_t n);
  int Finish(uint64_t ops);
  int RequireAllOps();

  int FailSyscall(const SysError& e);
  int FailData(const std::string& what, const uint8_t* actual, uint64_t off, uint64_t len,
               uint64_t bad);
  int Fail(int code, const std::string& message);
  void DumpLog(std::FILE* f);
  void SaveFailureFiles(const std::string& message);
  void PrintSummary(const char* status);

  const Options o_;
  std::FILE* out_;
  Rng rng_;
  std::unique_ptr<FileModel> model_;
  std::unique_ptr<TestFile> file_;
  OpLog log_;
  AlignedBuffer wbuf_, rbuf_, fbuf_;
  uint64_t fbuf_cap_ = 0;
  uint64_t read_got_ = 0;             // bytes the current read op returned
  std::optional<uint64_t> eof_junk_;  // from the current mapread
  OpRecord cur_;                      // the op in progress
  bool cur_logged_ = false;
  uint64_t ops_done_ = 0;
  bool inject_pending_ = false;
  std::array<Support, kModes> support_{};
  std::array<uint64_t, kCounters> counts_{};
};

}  // namespace foliofs::fsx
