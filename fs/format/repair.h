// Offline repair of a foliofs filesystem (fsck.foliofs -y / -p; FORMAT.md §14).
//
// What it promises. RepairFilesystem runs the verifier (VerifyFilesystem's
// checks), fixes what it safely can, and verifies again, pass after pass, until
// the verifier is clean or a pass finds nothing more it may fix. Every change is
// a direct write of a whole metadata block (re-sealed) followed by a device
// flush at the end of the pass; the primary superblock is written last in a
// pass. It never writes the journal region: the caller recovers the journal
// first (journal::Journal::Open + Close) and must not let anything else use the
// device meanwhile (the filesystem is not mounted).
//
// What is fixed, one small function each (repair*.cc):
//  * inodes with a damaged record, extent tree or directory tree are cleared
//    (record zeroed, bit cleared; their blocks are freed by the bitmap rebuild);
//    a damaged root or lost+found is recreated empty in a new block;
//  * directory blocks failing only their checksum are resealed;
//  * inodes named by an entry whose bitmap bit is clear but whose record is
//    valid are marked in use;
//  * directory entries naming a free or damaged inode, with a wrong hash, in
//    the wrong leaf, naming the root, or a second name of a directory are
//    removed; a wrong dtype is corrected; a directory's parent field is set
//    to the directory naming it; an inode's blocks field is set to the count;
//  * the orphan list: unlinked inodes (nlink 0, no name) are freed, others are
//    truncated to their size (files) and unflagged; the list is emptied;
//  * inodes in use with no name: reattached to lost+found as "#<ino>" when
//    nlink > 0, freed otherwise;
//  * link counts are set to the names counted;
//  * block and inode bitmaps are rewritten from what is reachable / in use,
//    descriptors (free counts, used_dirs, locations) and the superblock's free
//    counts from the bitmaps;
//  * once the verifier is clean, the superblock state is set to CLEAN (ERRORS
//    and the RECOVER incompat bit cleared).
// Not fixed (left as errors): a damaged primary superblock, backups, the
// journal region, blocks claimed twice, xattrs, a full lost+found leaf.
//
// Preen mode (-p) fixes only counters, bitmaps, link counts and the orphan
// list; when the verifier reports anything else it writes nothing and sets
// `unexpected`.
//
// Thread safety: one call at a time per device; the device must not be used by
// anyone else during the call.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fs/format/format.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"

namespace foliofs::format {

enum class RepairMode {
  kPreen,  // fsck -p: only what is safe without a human
  kYes,    // fsck -y: everything this repair knows how to fix
};

struct RepairOptions {
  RepairMode mode = RepairMode::kYes;
  int max_passes = 10;  // verify + fix rounds before giving up
  // Polled between passes and steps; true stops the repair (cancelled).
  std::function<bool()> cancelled;
};

struct RepairReport {
  VerifyReport initial;              // the first verification
  VerifyReport final;                // the last verification (clean unless errors remain)
  std::vector<std::string> actions;  // one line per change made
  bool changed = false;              // some metadata was written to fix an error
  bool marked_clean = false;         // only the superblock state was updated
  bool unexpected = false;           // preen: found an error preen may not fix; nothing written
  bool cancelled = false;
  int passes = 0;
};

// See the header comment. Returns an error Status only for operational
// failures (device I/O); remaining corruption shows in `final`.
Result<RepairReport> RepairFilesystem(BlockDevice& dev, const RepairOptions& options = {});

}  // namespace foliofs::format
