// OpenDevice where io_uring is unavailable: a seccomp filter (in a forked
// child, as a death test) makes io_uring_setup fail with ENOSYS, as container
// runtimes do. OpenDevice must fall back to the sync device, or refuse when
// allow_sync_fallback is off.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstddef>
#include <cstring>

#include "pagecache/blockdev/uring_device.h"
#include "tests/blockdev/test_util.h"

namespace foliofs {
namespace {

// Makes io_uring_setup fail with ENOSYS in this process; everything else passes.
bool DenyIoUring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Child body: 0 if OpenDevice fell back to a working sync device.
int OpenFallsBackToSync(const std::string& image) {
  if (!DenyIoUring()) return 10;
  auto dev = OpenDevice(image);
  if (!dev.ok()) return 11;
  if ((*dev)->name().rfind("sync:", 0) != 0) return 12;
  AlignedBuffer in = AllocateAligned(8192), out = AllocateAligned(8192);
  bdtest::FillPattern(in.get(), 8192, 9);
  if (!(*dev)->Write(4096, in.get(), 8192).ok() || !(*dev)->Flush().ok()) return 13;
  if (!(*dev)->Read(4096, out.get(), 8192).ok()) return 14;
  return std::memcmp(in.get(), out.get(), 8192) == 0 ? 0 : 15;
}

// Child body: 0 if OpenDevice refused with an error naming io_uring.
int OpenRefusesWithoutFallback(const std::string& image) {
  if (!DenyIoUring()) return 10;
  DeviceOptions o;
  o.allow_sync_fallback = false;
  auto dev = OpenDevice(image, o);
  if (dev.ok()) return 11;
  return dev.status().message().find("io_uring") != std::string::npos ? 0 : 12;
}

class FallbackDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // "fast" death tests fork without re-running SetUp in the child, so the
    // child (which leaves through _exit) never owns a temp dir; the parent's
    // TempDir removes the one it made.
    GTEST_FLAG_SET(death_test_style, "fast");
    ASSERT_TRUE(dir_.ok());
    ASSERT_TRUE(bdtest::MakeImage(dir_.File("image"), 1 << 20));
  }
  bdtest::TempDir dir_;
};

TEST_F(FallbackDeviceTest, OpenFallsBackToSyncWhenIoUringIsBlocked) {
  EXPECT_EXIT(_exit(OpenFallsBackToSync(dir_.File("image"))), ::testing::ExitedWithCode(0),
              "falling back to synchronous");
}

TEST_F(FallbackDeviceTest, OpenFailsWhenIoUringIsBlockedAndFallbackIsOff) {
  EXPECT_EXIT(_exit(OpenRefusesWithoutFallback(dir_.File("image"))), ::testing::ExitedWithCode(0),
              "");
}

}  // namespace
}  // namespace foliofs
