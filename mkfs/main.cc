// mkfs.foliofs: makes a foliofs filesystem (fs/FORMAT.md) on a block device,
// loop device or image file. Exit status: 0 made, 1 anything else (as mke2fs).
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "mkfs/args.h"
#include "mkfs/probe.h"
#include "pagecache/blockdev/uring_device.h"

namespace foliofs::mkfs {
namespace {

constexpr size_t kProbeBytes = 132 << 10;  // sees btrfs's superblock at 64 KiB

int Fail(const std::string& message) {
  fprintf(stderr, "mkfs.foliofs: %s\n", message.c_str());
  return 1;
}

// Refuses to overwrite a recognised filesystem unless forced.
Status CheckSignature(BlockDevice& dev, const MkfsArgs& args) {
  const size_t lbs = dev.logical_block_size();
  const size_t len = std::min<uint64_t>(kProbeBytes / lbs * lbs, dev.size_bytes());
  AlignedBuffer buf = AllocateAligned(len, std::max<size_t>(4096, lbs));
  RETURN_IF_ERROR(dev.Read(0, buf.get(), len));
  const std::string type = DetectSignature(buf.get(), len);
  if (type.empty()) return Status::Ok();
  if (!args.force) {
    return Status::Error(EEXIST, args.device + " contains a " + type +
                                     " file system\nUse -f to overwrite it.");
  }
  if (!args.quiet) printf("%s contains a %s file system; overwriting it (-f)\n", args.device.c_str(), type.c_str());
  return Status::Ok();
}

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ULL << 30)) snprintf(buf, sizeof buf, "%.1f GiB", bytes / double(1ULL << 30));
  else if (bytes >= (1ULL << 20)) snprintf(buf, sizeof buf, "%.1f MiB", bytes / double(1ULL << 20));
  else snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(bytes >> 10));
  return buf;
}

void PrintPlan(const format::Layout& l, const format::MakeOptions& o) {
  printf("Creating filesystem with %llu %uk blocks and %llu inodes\n",
         static_cast<unsigned long long>(l.blocks_count), l.block_size / 1024,
         static_cast<unsigned long long>(l.inodes_count));
  printf("Filesystem UUID: %s\n", FormatUuid(o.uuid).c_str());
  if (!o.label.empty()) printf("Filesystem label: %s\n", o.label.c_str());
  printf("Block size: %u\n", l.block_size);
  printf("Groups: %u (%u blocks per group, %u inodes per group)\n", l.group_count,
         l.blocks_per_group, l.inodes_per_group);
  printf("Superblock backups stored on blocks:");
  for (size_t i = 0; i < l.backup_blocks.size(); ++i) {
    printf("%s %llu", i ? "," : "", static_cast<unsigned long long>(l.backup_blocks[i]));
  }
  printf("\nJournal: %llu blocks (%s) at block %llu\n",
         static_cast<unsigned long long>(l.journal_blocks),
         HumanBytes(l.journal_blocks * l.block_size).c_str(),
         static_cast<unsigned long long>(l.journal_first_block));
  fflush(stdout);
}

// Progress lines like mke2fs's "Writing inode tables: 12/64", about 20 at most,
// only when there are enough groups for it to matter.
void PrintProgress(const char* stage, uint64_t done, uint64_t total) {
  const uint64_t step = std::max<uint64_t>(1, total / 20);
  if (total >= 8 && (done % step == 0 || done == total)) {
    printf("Writing %s: %llu/%llu\n", stage, static_cast<unsigned long long>(done),
           static_cast<unsigned long long>(total));
    fflush(stdout);
  }
}

Result<std::unique_ptr<BlockDevice>> Open(const MkfsArgs& args) {
  struct stat st;
  if (stat(args.device.c_str(), &st) != 0) {
    return Status::Error(errno, args.device + ": " + std::strerror(errno));
  }
  RETURN_IF_ERROR(CheckNotMounted(args.device));
  RETURN_IF_ERROR(CheckWritable(args.device));
  DeviceOptions options;
  options.exclusive = S_ISBLK(st.st_mode);
  auto dev = OpenDevice(args.device, options);
  if (!dev.ok() && dev.err() == EBUSY) {
    return Status::Error(EBUSY, args.device +
                                    " is in use (mounted or held by another program); "
                                    "will not make a filesystem here!");
  }
  return dev;
}

int Run(const MkfsArgs& args) {
  auto dev = Open(args);
  if (!dev.ok()) return Fail(dev.status().message());
  Status st = CheckSignature(**dev, args);
  if (!st.ok()) return Fail(st.message());
  if (args.block_size < (*dev)->logical_block_size()) {
    return Fail("block size " + std::to_string(args.block_size) +
                " is smaller than the device's logical block size " +
                std::to_string((*dev)->logical_block_size()));
  }
  const uint64_t journal_blocks = (args.journal_bytes + args.block_size - 1) / args.block_size;
  auto layout = format::ComputeLayout((*dev)->size_bytes(), args.block_size, args.inode_count,
                                      journal_blocks);
  if (!layout.ok()) return Fail(args.device + ": " + layout.status().message());
  format::MakeOptions o;
  o.label = args.label;
  o.uuid = args.uuid ? *args.uuid : RandomUuid();
  o.hash_seed = RandomBytes16();
  o.now = static_cast<int64_t>(time(nullptr));
  o.format_journal = journal::FormatJournal;
  if (!args.quiet) {
    PrintPlan(*layout, o);
    o.progress = PrintProgress;
  }
  auto sb = format::MakeFilesystem(**dev, *layout, o);
  if (!sb.ok()) return Fail(args.device + ": " + sb.status().ToString());
  if (!args.quiet) printf("Writing superblocks, bitmaps and the journal: done\n");
  return 0;
}

}  // namespace
}  // namespace foliofs::mkfs

int main(int argc, char** argv) {
  using namespace foliofs::mkfs;
  auto args = ParseArgs(argc, argv);
  if (!args.ok()) {
    fprintf(stderr, "mkfs.foliofs: %s\n\n%s", args.status().message().c_str(), Usage().c_str());
    return 1;
  }
  if (args->help) {
    printf("%s", Usage().c_str());
    return 0;
  }
  if (args->version) {
    printf("mkfs.foliofs 0.1.0 (on-disk format version %u)\n", foliofs::format::kFormatVersion);
    return 0;
  }
  return Run(*args);
}
