#include "tools/fsx/test_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace foliofs::fsx {
namespace {

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Range(const char* call, uint64_t len, uint64_t off) {
  return std::string(call) + "(" + Hex(len) + " bytes at " + Hex(off) + ")";
}

}  // namespace

SysError SysError::Errno(std::string call) { return {errno == 0 ? EIO : errno, std::move(call)}; }
SysError SysError::Short(std::string call) { return {EIO, std::move(call) + " short transfer"}; }
std::string SysError::ToString() const { return call + ": " + strerror(err); }

std::unique_ptr<TestFile> TestFile::Create(const std::string& path, uint64_t dio_align,
                                           std::string* why) {
  std::unique_ptr<TestFile> f(new TestFile(path, -1, dio_align));
  f->fd_ = open(path.c_str(), f->OpenFlags() | O_CREAT | O_TRUNC, 0644);
  if (f->fd_ < 0) {
    *why = "cannot open " + path + ": " + strerror(errno);
    if (errno == EINVAL && dio_align > 0) *why += " (O_DIRECT not supported on this filesystem?)";
    return nullptr;
  }
  f->page_size_ = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return f;
}

TestFile::~TestFile() {
  if (fd_ >= 0) close(fd_);
}

int TestFile::OpenFlags() const { return O_RDWR | (dio_align_ > 0 ? O_DIRECT : 0); }

SysError TestFile::Pread(uint8_t* buf, uint64_t len, uint64_t off, uint64_t* got) {
  *got = 0;
  while (*got < len) {
    const ssize_t n = pread(fd_, buf + *got, len - *got, static_cast<off_t>(off + *got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError::Errno(Range("pread", len - *got, off + *got));
    *got += static_cast<uint64_t>(n);
    // EOF; with O_DIRECT a short read can only be EOF (and the next offset
    // would be unaligned).
    if (n == 0 || dio_align_ > 0) break;
  }
  return SysError::Ok();
}

SysError TestFile::Pwrite(const uint8_t* buf, uint64_t len, uint64_t off) {
  uint64_t done = 0;
  while (done < len) {
    const ssize_t n = pwrite(fd_, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError::Errno(Range("pwrite", len - done, off + done));
    if (n == 0 || (dio_align_ > 0 && static_cast<uint64_t>(n) < len - done))
      return SysError::Short(Range("pwrite", len - done, off + done));
    done += static_cast<uint64_t>(n);
  }
  return SysError::Ok();
}

SysError TestFile::ReadAll(uint8_t* buf, uint64_t cap, uint64_t* got) {
  constexpr uint64_t kChunk = 1 << 20;  // a multiple of any dio_align we accept
  *got = 0;
  while (*got < cap) {
    const uint64_t want = cap - *got < kChunk ? cap - *got : kChunk;
    uint64_t n = 0;
    SysError e = Pread(buf + *got, want, *got, &n);
    if (!e.ok()) return e;
    *got += n;
    if (n < want) break;
  }
  return SysError::Ok();
}

SysError TestFile::MapRead(uint8_t* dst, uint64_t len, uint64_t off, uint64_t file_size,
                           std::optional<uint64_t>* eof_junk) {
  eof_junk->reset();
  const uint64_t start = off - off % page_size_;
  const uint64_t map_len = off + len - start;
  void* p = mmap(nullptr, map_len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(start));
  if (p == MAP_FAILED) return SysError::Errno(Range("mmap(PROT_READ)", map_len, start));
  const auto* base = static_cast<const uint8_t*>(p);
  std::memcpy(dst, base + (off - start), len);
  // The mapping extends to a page boundary; if that page holds EOF, the bytes
  // past EOF in it must read as zero.
  const uint64_t map_end = (start + map_len + page_size_ - 1) / page_size_ * page_size_;
  if (file_size % page_size_ != 0 && map_end > file_size) {
    for (uint64_t o = file_size; o < map_end; ++o)
      if (base[o - start] != 0) {
        *eof_junk = o;
        break;
      }
  }
  if (munmap(p, map_len) != 0) return SysError::Errno("munmap");
  return SysError::Ok();
}

SysError TestFile::MapWrite(const uint8_t* src, uint64_t len, uint64_t off, uint64_t file_size) {
  if (off + len > file_size) {
    SysError e = Truncate(off + len);
    if (!e.ok()) return e;
  }
  const uint64_t start = off - off % page_size_;
  const uint64_t map_len = off + len - start;
  void* p =
      mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(start));
  if (p == MAP_FAILED) return SysError::Errno(Range("mmap(PROT_WRITE)", map_len, start));
  std::memcpy(static_cast<uint8_t*>(p) + (off - start), src, len);
  SysError e;
  if (msync(p, map_len, MS_SYNC) != 0) e = SysError::Errno(Range("msync", map_len, start));
  if (munmap(p, map_len) != 0 && e.ok()) e = SysError::Errno("munmap");
  return e;
}

SysError TestFile::Truncate(uint64_t size) {
  if (ftruncate(fd_, static_cast<off_t>(size)) != 0)
    return SysError::Errno("ftruncate(" + Hex(size) + ")");
  return SysError::Ok();
}

SysError TestFile::Fallocate(int mode, uint64_t off, uint64_t len) {
  if (fallocate(fd_, mode, static_cast<off_t>(off), static_cast<off_t>(len)) != 0)
    return SysError::Errno("fallocate(mode " + Hex(static_cast<uint64_t>(mode)) + ", " + Hex(len) +
                           " bytes at " + Hex(off) + ")");
  return SysError::Ok();
}

SysError TestFile::Fsync() { return fsync(fd_) == 0 ? SysError::Ok() : SysError::Errno("fsync"); }

SysError TestFile::Fdatasync() {
  return fdatasync(fd_) == 0 ? SysError::Ok() : SysError::Errno("fdatasync");
}

SysError TestFile::Reopen() {
  if (close(fd_) != 0) {
    fd_ = -1;
    return SysError::Errno("close");
  }
  fd_ = open(path_.c_str(), OpenFlags());
  if (fd_ < 0) return SysError::Errno("open(" + path_ + ")");
  return SysError::Ok();
}

SysError TestFile::Size(uint64_t* size) {
  struct stat st;
  if (fstat(fd_, &st) != 0) return SysError::Errno("fstat");
  *size = static_cast<uint64_t>(st.st_size);
  return SysError::Ok();
}

SysError TestFile::WriteImage(const uint8_t* image, uint64_t size) {
  const int fd = open(path_.c_str(), O_WRONLY);
  if (fd < 0) return SysError::Errno("open(" + path_ + ") for the -b image");
  SysError e;
  uint64_t done = 0;
  while (e.ok() && done < size) {
    const ssize_t n = pwrite(fd, image + done, size - done, static_cast<off_t>(done));
    if (n <= 0)
      e = SysError::Errno(Range("pwrite(-b image)", size - done, done));
    else
      done += static_cast<uint64_t>(n);
  }
  if (e.ok() && ftruncate(fd, static_cast<off_t>(size)) != 0)
    e = SysError::Errno("ftruncate(-b image)");
  close(fd);
  return e;
}

SysError TestFile::CorruptByte(uint64_t off) {
  const int fd = open(path_.c_str(), O_RDWR);
  if (fd < 0) return SysError::Errno("open(" + path_ + ") for --inject-corruption");
  SysError e;
  uint8_t b = 0;
  if (pread(fd, &b, 1, static_cast<off_t>(off)) != 1) {
    e = SysError::Errno(Range("pread(inject)", 1, off));
  } else {
    b = static_cast<uint8_t>(~b);
    if (pwrite(fd, &b, 1, static_cast<off_t>(off)) != 1)
      e = SysError::Errno(Range("pwrite(inject)", 1, off));
  }
  close(fd);
  return e;
}

SysError TestFile::SaveBytes(const std::string& path, const uint8_t* data, uint64_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return SysError::Errno("open(" + path + ")");
  SysError e;
  uint64_t done = 0;
  while (e.ok() && done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0)
      e = SysError::Errno("write(" + path + ")");
    else
      done += static_cast<uint64_t>(n);
  }
  if (close(fd) != 0 && e.ok()) e = SysError::Errno("close(" + path + ")");
  return e;
}

}  // namespace foliofs::fsx
