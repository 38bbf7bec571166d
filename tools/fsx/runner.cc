#include "tools/fsx/runner.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <new>


namespace foliofs::fsx {
namespace {

// Relative weights of the drawn op kinds (fsx draws them uniformly; we favour
// data ops so that syncs do not dominate the run time).
struct Weight {
  OpKind kind;
  uint64_t weight;
};
constexpr Weight kWeights[] = {
    {OpKind::kRead, 8},      {OpKind::kWrite, 8},     {OpKind::kMapRead, 4},
    {OpKind::kMapWrite, 4},  {OpKind::kTruncate, 2},  {OpKind::kFallocate, 2},
    {OpKind::kPunchHole, 2}, {OpKind::kZeroRange, 2}, {OpKind::kFsync, 1},
    {OpKind::kFdatasync, 1},
};

OpKind PickKind(uint64_t r) {
  uint64_t total = 0;
  for (const Weight& w : kWeights) total += w.weight;
  r %= total;
  for (const Weight& w : kWeights) {
    if (r < w.weight) return w.kind;
    r -= w.weight;
  }
  return OpKind::kRead;
}

constexpr const char* kModeNames[] = {"0 (fallocate)", "KEEP_SIZE (fallocate keep_size)",
                                      "PUNCH_HOLE|KEEP_SIZE (punch)", "ZERO_RANGE (zero)",
                                      "ZERO_RANGE|KEEP_SIZE (zero keep_size)"};

bool IsDataRead(OpKind k) { return k == OpKind::kRead || k == OpKind::kMapRead; }

}  // namespace

AlignedBuffer::~AlignedBuffer() { free(data_); }

bool AlignedBuffer::Allocate(uint64_t size, uint64_t align) {
  void* p = nullptr;
  if (posix_memalign(&p, align, size) != 0) return false;
  data_ = static_cast<uint8_t*>(p);
  return true;
}

Runner::Runner(const Options& options, std::FILE* out) : o_(options), out_(out), rng_(o_.seed) {
  support_.fill(Support::kUnknown);
}

int Runner::Setup() {
  struct stat st;
  if (!o_.dirpath.empty() && (stat(o_.dirpath.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    fprintf(stderr, "fsx: -P %s: not an existing directory\n", o_.dirpath.c_str());
    return kExitSetup;
  }
  const size_t slash = o_.file.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : o_.file.substr(0, slash + 1);
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "fsx: directory %s of %s does not exist\n", dir.c_str(), o_.file.c_str());
    return kExitSetup;
  }
  const uint64_t align = std::max<uint64_t>(4096, o_.dio_align);
  fbuf_cap_ = (o_.maxfilelen + align - 1) / align * align + align;
  const uint64_t opbuf = (o_.maxoplen + align - 1) / align * align;
  try {
    model_ = std::make_unique<FileModel>(o_.maxfilelen);
  } catch (const std::bad_alloc&) {
    model_.reset();
  }
  if (!model_ || !wbuf_.Allocate(opbuf, align) || !rbuf_.Allocate(opbuf, align) ||
      !fbuf_.Allocate(fbuf_cap_, align)) {
    fprintf(stderr, "fsx: cannot allocate buffers for -l %" PRIu64 " -o %" PRIu64 "\n",
            o_.maxfilelen, o_.maxoplen);
    return kExitSetup;
  }
  std::string why;
  file_ = TestFile::Create(o_.file, o_.dio_align, &why);
  if (!file_) {
    fprintf(stderr, "fsx: %s\n", why.c_str());
    return kExitSetup;
  }
  return kExitOk;
}

int Runner::Run() {
  if (int rc = Setup(); rc != kExitOk) return rc;
  fprintf(out_, "fsx: %s seed %" PRIu64 "%s\n", o_.file.c_str(), o_.seed,
          o_.seed_from_time ? " (from the clock)" : "");
  if (o_.first_real_op > 1)
    fprintf(out_, "fsx: simulating ops 1..%" PRIu64 " on the model only\n", o_.first_real_op - 1);
  uint64_t n = 1;
  for (; o_.numops == kInfiniteOps || n <= o_.numops; ++n) {
    if (n == o_.first_real_op && n > 1) {
      SysError e = file_->WriteImage(model_->data(), model_->size());
      if (!e.ok()) return FailSyscall(e);
    }
    if (int rc = Step(n); rc != kExitOk) return rc;
  }
  return Finish(n - 1);
}

int Runner::Step(uint64_t n) {
  cur_ = Generate(n);
  cur_logged_ = false;
  ops_done_ = n;
  if (cur_.kind == OpKind::kWrite || cur_.kind == OpKind::kMapWrite)
    FillPattern(n, cur_.off, wbuf_.data(), cur_.len);
  if (!cur_.skipped && !cur_.simulated) {
    if (int rc = Syscalls(cur_); rc != kExitOk) return rc;
  }
  if (!cur_.skipped) ApplyToModel(cur_);
  cur_.size_after = model_->size();
  Log(cur_);
  if (cur_.simulated) return kExitOk;
  Count(cur_);
  if (!cur_.skipped && IsDataRead(cur_.kind)) {
    if (int rc = VerifyRead(cur_); rc != kExitOk) return rc;
  }
  if (cur_.reopen) {
    SysError e = file_->Reopen();
    if (!e.ok()) return FailSyscall(e);
    ++counts_[cReopen];
  }
  if (int rc = CheckSize(); rc != kExitOk) return rc;
  if (int rc = MaybeInject(n); rc != kExitOk) return rc;
  if (o_.check_interval > 0 && n % o_.check_interval == 0) return CheckWholeFile("periodic");
  return kExitOk;
}

OpRecord Runner::Generate(uint64_t n) {
  // Always exactly five draws per op (see the determinism note in runner.h).
  const uint64_t kind_r = rng_.Next();
  const uint64_t off_r = rng_.Next();
  const uint64_t len_r = rng_.Below(o_.maxoplen + 1);
  const uint64_t keep_r = rng_.Below(2);
  const uint64_t close_r = rng_.Below(o_.closeprob > 0 ? o_.closeprob : 1);

  OpRecord r;
  r.num = n;
  r.kind = PickKind(kind_r);
  if (r.kind == OpKind::kMapRead && !o_.mapped_reads) r.kind = OpKind::kRead;
  if (r.kind == OpKind::kMapWrite && !o_.mapped_writes) r.kind = OpKind::kWrite;
  r.keep_size = (r.kind == OpKind::kFallocate || r.kind == OpKind::kZeroRange) && keep_r == 1;
  r.simulated = n < o_.first_real_op;
  r.reopen = o_.closeprob > 0 && close_r == 0 && !r.simulated;
  r.len = len_r;
  r.size_before = model_->size();
  TrimAndAlign(r, off_r);
  if (Disabled(r)) r.skipped = true;
  return r;
}

// fsx's TRIM_OFF_LEN plus the -r/-w/-t (and -Z) rounding. The resulting range
// of a read or punch lies within the file, of other ops within -l.
void Runner::TrimAndAlign(OpRecord& r, uint64_t drawn_off) {
  const uint64_t size = model_->size();
  const bool within_file = IsDataRead(r.kind) || r.kind == OpKind::kPunchHole;
  const uint64_t limit = within_file ? size : o_.maxfilelen;
  switch (r.kind) {
    case OpKind::kTruncate: {
      uint64_t t = drawn_off % o_.maxfilelen;
      r.off = t - t % o_.truncbdy;
      r.len = 0;
      return;
    }
    case OpKind::kFsync:
    case OpKind::kFdatasync:
      r.off = r.len = 0;
      return;
    default:
      break;
  }
  r.off = limit == 0 ? 0 : drawn_off % limit;
  r.len = std::min(r.len, limit - r.off);
  if (IsDataRead(r.kind)) r.off -= r.off % o_.readbdy;
  if (r.kind == OpKind::kWrite || r.kind == OpKind::kMapWrite) r.off -= r.off % o_.writebdy;
  if (o_.o_direct && r.kind == OpKind::kRead) r.len -= r.len % o_.readbdy;
  if (o_.o_direct && r.kind == OpKind::kWrite) r.len -= r.len % o_.writebdy;
  if (r.len == 0) r.skipped = true;
}

bool Runner::Disabled(const OpRecord& r) const {
  switch (r.kind) {
    case OpKind::kFallocate:
      if (!o_.fallocate_calls) return true;
      break;
    case OpKind::kPunchHole:
      if (!o_.punch_hole_calls) return true;
      break;
    case OpKind::kZeroRange:
      if (!o_.zero_range_calls) return true;
      break;
    default:
      return false;
  }
  return support_[ModeOf(r)] == Support::kNo;
}

Runner::Mode Runner::ModeOf(const OpRecord& r) {
  if (r.kind == OpKind::kFallocate) return r.keep_size ? kAllocKeep : kAlloc;
  if (r.kind == OpKind::kPunchHole) return kPunch;
  return r.keep_size ? kZeroKeep : kZero;
}

int Runner::FallocateFlags(Mode m) {
  switch (m) {
    case kAlloc:
      return 0;
    case kAllocKeep:
      return FALLOC_FL_KEEP_SIZE;
    case kPunch:
      return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    case kZero:
      return FALLOC_FL_ZERO_RANGE;
    case kZeroKeep:
      return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    case kModes:
      break;
  }
  return 0;
}

int Runner::Syscalls(OpRecord& r) {
  SysError e;
  switch (r.kind) {
    case OpKind::kRead:
      e = file_->Pread(rbuf_.data(), r.len, r.off, &read_got_);
      break;
    case OpKind::kMapRead:
      read_got_ = r.len;
      e = file_->MapRead(rbuf_.data(), r.len, r.off, model_->size(), &eof_junk_);
      break;
    case OpKind::kWrite:
      e = file_->Pwrite(wbuf_.data(), r.len, r.off);
      break;
    case OpKind::kMapWrite:
      e = file_->MapWrite(wbuf_.data(), r.len, r.off, model_->size());
      break;
    case OpKind::kTruncate:
      e = file_->Truncate(r.off);
      break;
    case OpKind::kFallocate:
    case OpKind::kPunchHole:
    case OpKind::kZeroRange:
      return FallocateFamily(r);
    case OpKind::kFsync:
      e = file_->Fsync();
      break;
    case OpKind::kFdatasync:
      e = file_->Fdatasync();
      break;
  }
  return e.ok() ? kExitOk : FailSyscall(e);
}

// fsx behaviour: a mode refused with EOPNOTSUPP/ENOSYS at its first attempt
// is disabled with one warning (or fails the run with --require-all-ops).
int Runner::FallocateFamily(OpRecord& r) {
  const Mode m = ModeOf(r);
  SysError e = file_->Fallocate(FallocateFlags(m), r.off, r.len);
  const bool unsupported = e.err == EOPNOTSUPP || e.err == ENOSYS;
  if (unsupported && support_[m] == Support::kUnknown) {
    if (o_.require_all_ops)
      return Fail(kExitUnsupported, "--require-all-ops: the filesystem refused fallocate mode " +
                                        std::string(kModeNames[m]) + ": " + e.ToString());
    fprintf(out_,
            "fsx: warning: the filesystem does not support fallocate mode %s (%s), "
            "disabling it\n",
            kModeNames[m], strerror(e.err));
    support_[m] = Support::kNo;
    r.skipped = true;
    return kExitOk;
  }
  if (!e.ok()) return FailSyscall(e);
  support_[m] = Support::kYes;
  return kExitOk;
}

void Runner::ApplyToModel(const OpRecord& r) {
  FileModel& m = *model_;
  switch (r.kind) {
    case OpKind::kWrite:
    case OpKind::kMapWrite:
      m.Write(r.off, wbuf_.data(), r.len);
      break;
    case OpKind::kTruncate:
      m.SetSize(r.off);
      break;
    case OpKind::kZeroRange:
      m.Zero(r.off, r.len);
      [[fallthrough]];
    case OpKind::kFallocate:
      if (!r.keep_size && r.off + r.len > m.size()) m.SetSize(r.off + r.len);
      break;
    case OpKind::kPunchHole:
      m.Zero(r.off, r.len);
      break;
    default:
      break;
  }
}

void Runner::Count(const OpRecord& r) {
  if (r.skipped) {
    ++counts_[cSkipped];
    return;
  }
  switch (r.kind) {
    case OpKind::kRead:
      ++counts_[cRead];
      break;
    case OpKind::kWrite:
      ++counts_[cWrite];
      break;
    case OpKind::kMapRead:
      ++counts_[cMapRead];
      break;
    case OpKind::kMapWrite:
      ++counts_[cMapWrite];
      break;
    case OpKind::kTruncate:
      ++counts_[cTruncate];
      break;
    case OpKind::kFallocate:
      ++counts_[r.keep_size ? cFallocateKeep : cFallocate];
      break;
    case OpKind::kPunchHole:
      ++counts_[cPunch];
      break;
    case OpKind::kZeroRange:
      ++counts_[r.keep_size ? cZeroKeep : cZero];
      break;
    case OpKind::kFsync:
      ++counts_[cFsync];
      break;
    case OpKind::kFdatasync:
      ++counts_[cFdatasync];
      break;
  }
}

void Runner::Log(const OpRecord& r) {
  log_.Add(r);
  cur_logged_ = true;
  if (r.simulated) return;
  const bool progress = o_.progress_interval > 0 && r.num % o_.progress_interval == 0;
  if (!o_.quiet || progress) fprintf(out_, "%s\n", FormatOp(r).c_str());
}

}  // namespace foliofs::fsx
