// The file under test: every syscall fsx makes on it, each returning a
// SysError (errors as values; call and errno kept for the report). Buffers
// passed in must be aligned to dio_align() when O_DIRECT is on.
// Not thread-safe; one instance per run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace foliofs::fsx {

struct SysError {
  int err = 0;       // errno; 0 means success
  std::string call;  // e.g. "pwrite(0x1000 bytes at 0x2000)"
  bool ok() const { return err == 0; }
  static SysError Ok() { return {}; }
  static SysError Errno(std::string call);  // from the current errno
  static SysError Short(std::string call);  // a short transfer (reported as EIO)
  std::string ToString() const;             // "call: strerror"
};

class TestFile {
 public:
  // Creates or truncates `path` (O_RDWR|O_CREAT|O_TRUNC, plus O_DIRECT when
  // dio_align > 0). nullptr with `why` set on failure.
  static std::unique_ptr<TestFile> Create(const std::string& path, uint64_t dio_align,
                                          std::string* why);
  ~TestFile();
  TestFile(const TestFile&) = delete;
  TestFile& operator=(const TestFile&) = delete;

  uint64_t dio_align() const { return dio_align_; }

  // Reads up to len bytes at off, looping over short reads until EOF.
  SysError Pread(uint8_t* buf, uint64_t len, uint64_t off, uint64_t* got);
  // Writes all len bytes at off (a short write is an error).
  SysError Pwrite(const uint8_t* buf, uint64_t len, uint64_t off);
  // Reads the whole file (up to cap bytes) in aligned chunks until EOF.
  SysError ReadAll(uint8_t* buf, uint64_t cap, uint64_t* got);
  // mmap + memcpy of [off, off + len), which must lie within file_size. When
  // the mapping covers the page holding EOF, *eof_junk is set to the first
  // offset past EOF in that page that is not zero (POSIX: it must read zero).
  SysError MapRead(uint8_t* dst, uint64_t len, uint64_t off, uint64_t file_size,
                   std::optional<uint64_t>* eof_junk);
  // As fsx: ftruncate up to off + len first if that is past file_size, then
  // mmap + memcpy + msync(MS_SYNC).
  SysError MapWrite(const uint8_t* src, uint64_t len, uint64_t off, uint64_t file_size);
  SysError Truncate(uint64_t size);
  SysError Fallocate(int mode, uint64_t off, uint64_t len);
  SysError Fsync();
  SysError Fdatasync();
  SysError Reopen();
  SysError Size(uint64_t* size);

  // Through a second, buffered fd (behind the main fd's back):
  // writes `size` bytes of image and sets the size (fsx's -b start).
  SysError WriteImage(const uint8_t* image, uint64_t size);
  // Flips every bit of the byte at off (--inject-corruption).
  SysError CorruptByte(uint64_t off);
  // Copies the first `size` bytes of `data` to a new file `path`.
  static SysError SaveBytes(const std::string& path, const uint8_t* data, uint64_t size);

 private:
  TestFile(std::string path, int fd, uint64_t dio_align)
      : path_(std::move(path)), fd_(fd), dio_align_(dio_align) {}
  int OpenFlags() const;

  std::string path_;
  int fd_;
  uint64_t dio_align_;  // 0 unless O_DIRECT
  uint64_t page_size_ = 0;
};

}  // namespace foliofs::fsx
