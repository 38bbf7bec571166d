// fs/iomap: the generic iterator that maps a file range to extents and works
// on cached folios — buffered read and write, zero range, truncate-page,
// seek data/hole and writeback — for any filesystem that describes its
// extents through IomapInode (the kernel's include/linux/iomap.h and
// fs/iomap/{iter,buffered-io,seek}.c).
//
// ## The iterator contract
//
//   IomapIter iter(inode, pos, len, flags);
//   while (iter.Next()) {                 // End(previous), advance, Begin(next)
//     ... work on [iter.pos(), iter.pos() + iter.length()) using iter.iomap()
//     iter.Advance(done);                 // bytes finished; 0 = ask again
//   }
//   return iter.status();
//
//  - Next(): if a mapping is current, calls inode.End(iter, processed) with
//    the bytes advanced over it, then moves pos forward by them. It stops
//    (returns false) when len is exhausted, on an error (from Begin, End or
//    a client via SetError) or when a step advanced 0 bytes twice in a row
//    with an unchanged mapping (a bug: status becomes EIO instead of a
//    livelock). Otherwise it clears the batch and calls inode.Begin(iter).
//  - Begin (the filesystem) sets iter.iomap (and srcmap if the source of
//    existing data differs — foliofs has no COW, so srcmap == iomap unless
//    set) covering iter.pos(): offset ≤ pos < offset + length. It may
//    allocate (unwritten, for writes: I8) inside its own journal handle,
//    which it stops before returning. For kIomapZero over an UNWRITTEN
//    mapping, or a HOLE inside EOF, it fills iter.batch() with
//    Mapping::FillDirtyFolios **under its per-inode mapping lock** — the lock
//    its writeback completion holds to convert extents — and trims
//    iomap.length to the position FillDirtyFolios returned (I2, I3). It
//    records in iomap.seq the inode's extent-map sequence number (I7).
//  - Begin(kIomapRead) runs WITH FOLIO LOCKS HELD (IomapRead locks the
//    folios it fills, ascending, before mapping them — see IomapRead): it is
//    a pure lookup under the per-inode mapping lock, like MapBlocks — no
//    allocation, no journal handle, no wait on a folio. Every other Begin
//    runs with no folio lock held.
//  - Who touches what: Begin writes iomap, srcmap, batch; the client reads
//    them and calls Advance/SetError; only the iterator changes pos/len.
//  - pos() and len() stay put during a step: Advance(n) adds n to the bytes
//    processed() over the current mapping (it refuses to go past length():
//    EIO) and the client works at pos() + processed(); Next() moves pos.
//  - length() = min(remaining len, end of iomap − pos).
//  - End (optional) runs after each mapping, with the folio locks released:
//    e.g. to update i_size after a write. End may not touch the batch.
//
// ## Which invariant each part upholds (DESIGN.md)
//  - I1  Nothing here waits for writeback or flushes a range while the
//        caller might hold a journal handle: buffered write and zero range
//        never wait for writeback (writeback.h: folios are not read by I/O
//        while unlocked). IomapWriteAndWait is I1-checked.
//  - I2  Zero range has no flush path at all: over UNWRITTEN/HOLE it zeroes
//        exactly the batched folios; over MAPPED it zeroes through the cache.
//  - I3  The batch is IomapIter's own FolioBatch (31 entries); a full batch
//        trims the mapping, and the next step continues after it.
//  - I4  Dirtiness is judged per mapping, in each Begin.
//  - I5  Zeroing a sub-range of a folio zeroes exactly that sub-range
//        whatever the types of the mappings it straddles.
//  - I6  IomapTruncatePage zeroes the partial EOF block (in cache, dirty,
//        so the device follows); IomapWritepages never writes blocks wholly
//        past EOF and zeroes the EOF folio's tail before writing it.
//  - I7  Buffered write and zero range lock a folio, then call
//        inode.IomapValid(iter); if stale they unlock, advance over what is
//        done and let Next() remap.
//  - I8  Reads of UNWRITTEN and HOLE return zeros unless the cache has data;
//        writeback converts UNWRITTEN only after the data I/O completed.
//
// ## Caller rules
//  - The filesystem serializes operations per inode as Linux does with
//    i_rwsem: IomapWrite, IomapZeroRange, IomapTruncatePage exclusive;
//    IomapRead and IomapSeek shared. Writeback runs concurrently with all.
//  - No folio lock is held on entry. Only IomapZeroRange and
//    IomapTruncatePage may be called with a journal handle held (I1, and the
//    seed thread's ext4 case).
#pragma once

#include <cstdint>
#include <span>

#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"
#include "pagecache/pagecache.h"
#include "pagecache/readahead.h"

namespace foliofs {

enum class IomapType : uint8_t {
  kHole,       // no blocks: reads as zeros
  kUnwritten,  // blocks allocated, contents undefined: reads as zeros
  kMapped,     // blocks hold the data
};
const char* IomapTypeName(IomapType type);

inline constexpr uint64_t kIomapNoAddr = UINT64_MAX;

// Iomap flags.
inline constexpr uint32_t kIomapFlagNew = 1u << 0;  // blocks allocated by this Begin

struct Iomap {
  uint64_t offset = 0;            // file position of the mapping's first byte
  uint64_t length = 0;            // bytes; a multiple of the block size
  uint64_t addr = kIomapNoAddr;   // device byte address of `offset`; none for kHole
  IomapType type = IomapType::kHole;
  uint32_t flags = 0;
  uint64_t seq = 0;               // extent-map sequence number at Begin (I7)

  uint64_t end() const { return offset + length; }
  // Device address of file position `pos` inside the mapping.
  uint64_t AddrOf(uint64_t pos) const { return addr + (pos - offset); }
};

// Operation flags of an iteration (what Begin is asked to prepare for).
inline constexpr uint32_t kIomapRead = 0;
inline constexpr uint32_t kIomapWrite = 1u << 0;   // allocate holes (unwritten)
inline constexpr uint32_t kIomapZero = 1u << 1;    // fill the batch (I2)
inline constexpr uint32_t kIomapReport = 1u << 2;  // seek: report only, allocate nothing

class IomapIter;

// What the iterator needs from one filesystem inode. Implementations are the
// filesystem's inode (fs/) and the model filesystem of the tests. The default
// Writepages makes every IomapInode usable as its mapping's AddressSpaceOps.
class IomapInode : public AddressSpaceOps {
 public:
  ~IomapInode() override = default;

  virtual Mapping& page_mapping() = 0;
  virtual BlockDevice& device() = 0;
  // i_size now. Read without the caller's i_rwsem by writeback.
  virtual uint64_t size() const = 0;

  // iomap_begin / iomap_end; see the contract above.
  virtual Status Begin(IomapIter& iter) = 0;
  virtual Status End(IomapIter& iter, uint64_t processed);
  // I7: false when the extent map changed since iter.iomap() was made.
  virtual bool IomapValid(const IomapIter& iter) = 0;

  // Writeback mapping: the extent containing `pos`, clipped to at most
  // [pos, pos+len). A pure lookup under the per-inode mapping lock — no
  // allocation and no journal handle, since it runs with folio locks held
  // (writeback.h). kHole here means dirty data without blocks: a filesystem
  // bug, which writeback reports as EIO.
  virtual Result<Iomap> MapBlocks(uint64_t pos, uint64_t len) = 0;
  // Writeback completion for [pos, pos+len), which `map` covered, after the
  // device finished (io_status). Called with no folio lock, before the
  // folios' EndWriteback: converts UNWRITTEN to written inside the
  // filesystem's own journal handle, under its mapping lock (I2, I8), and
  // may record the new on-disk size. On an I/O error it must not convert.
  virtual Status EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) = 0;

  // In-memory i_size update by a buffered write, called by IomapWrite with
  // the folio holding byte new_size − 1 LOCKED, after the data is copied and
  // the blocks dirtied, whenever new_size > size(); size() must return at
  // least new_size once this returns. Linux's iomap_write_iter does the same
  // (i_size_write before folio_unlock): writeback reads size() with the folio
  // locked, so if i_size grew only in End (after the unlock), a concurrent
  // writeback would take the new data for bytes past EOF — zero it (EOF tail)
  // or drop it (folio wholly past EOF). Must not take a folio lock, wait, or
  // start a journal handle; a leaf size lock or an atomic is fine. The
  // on-disk size is End's / EndWriteback's business.
  virtual void ExtendSize(uint64_t new_size) = 0;

  // AddressSpaceOps: IomapWritepages(*this, wbc).
  Status Writepages(Mapping& mapping, WritebackControl& wbc) override;
};

class IomapIter {
 public:
  IomapIter(IomapInode& inode, uint64_t pos, uint64_t len, uint32_t flags);
  ~IomapIter() = default;
  IomapIter(const IomapIter&) = delete;
  IomapIter& operator=(const IomapIter&) = delete;

  // See the contract above.
  bool Next();
  void Advance(uint64_t bytes);
  void SetError(Status error);

  IomapInode& inode() const { return inode_; }
  uint64_t pos() const { return pos_; }
  uint64_t len() const { return len_; }  // bytes remaining from pos()
  uint64_t length() const;               // bytes of the current step
  uint64_t processed() const { return processed_; }  // advanced in this step
  uint32_t flags() const { return flags_; }
  const Status& status() const { return status_; }

  // Begin fills these.
  Iomap& iomap() { return iomap_; }
  const Iomap& iomap() const { return iomap_; }
  // The mapping to read existing data from: iomap() unless Begin set it.
  const Iomap& srcmap() const { return has_srcmap_ ? srcmap_ : iomap_; }
  void set_srcmap(const Iomap& map) {
    srcmap_ = map;
    has_srcmap_ = true;
  }
  FolioBatch& batch() { return batch_; }  // I3: lives here; never allocates

 private:
  IomapInode& inode_;
  uint64_t pos_;
  uint64_t len_;
  const uint32_t flags_;
  Status status_;
  Iomap iomap_;
  Iomap srcmap_;
  bool has_srcmap_ = false;
  bool have_map_ = false;     // a mapping is current (End is due)
  uint64_t processed_ = 0;    // bytes advanced over the current mapping
  int stalls_ = 0;            // consecutive steps that advanced nothing
  FolioBatch batch_;
};

// ---- clients ---------------------------------------------------------------

// Buffered read of [pos, pos + out.size()), clipped at EOF. Holes and
// unwritten extents read as zeros unless the cache has data (I8). Folios
// missing or not uptodate are created per `ra` (nullptr: no readahead, folios
// sized to the request) and filled — only their non-uptodate blocks — in one
// device batch, folio locked first, then mapped (so a concurrent writeback
// completion cannot make the mapping stale under it). Returns the bytes read
// (0 at or past EOF).
Result<size_t> IomapRead(IomapInode& inode, ReadaheadState* ra, uint64_t pos,
                         std::span<uint8_t> out);

// Buffered write of `data` at pos (iter flags kIomapWrite). Folios are large
// when the write is (order from the remaining length and alignment).
// Read-modify-write only for partial blocks that are not uptodate: read from
// the device for MAPPED, zeros for HOLE/UNWRITTEN/new. Revalidates after each
// folio lock (I7). The on-disk i_size is the filesystem's business (End sees how far
// the write got); I6 for a write starting past EOF is the caller's
// IomapTruncatePage(old size) first. Grows the in-memory i_size through
// inode.ExtendSize under the folio lock. Calls PageCache::BalanceDirty after the
// write, with no folio lock held. Returns bytes written: short only on an
// error after some progress.
Result<size_t> IomapWrite(IomapInode& inode, uint64_t pos, std::span<const uint8_t> data);

// Zero range (iter flags kIomapZero), I2–I5: MAPPED parts are zeroed through
// the cache (read-modify-write of partial blocks, dirty); UNWRITTEN and HOLE
// parts zero exactly the folios Begin batched (dirty or under writeback) and
// nothing else — no flush, no wait for writeback. Never extends i_size.
// `did_zero` (optional) is set when any byte of the cache was changed. Safe
// with a journal handle held.
Status IomapZeroRange(IomapInode& inode, uint64_t pos, uint64_t len, bool* did_zero = nullptr);

// Truncate-page: zeroes [pos, next block boundary) — the partial EOF block —
// through IomapZeroRange. No-op when pos is block aligned. Call with the new
// size before truncating down, and with the old size before growing i_size.
Status IomapTruncatePage(IomapInode& inode, uint64_t pos);

// SEEK_DATA / SEEK_HOLE from pos: the first data / hole position at or after
// pos, from the mappings (kIomapReport) plus the cache. MAPPED is data; HOLE
// and UNWRITTEN are holes except where the cache holds data for them: a
// folio's dirty blocks, or a folio under writeback (block granularity; the
// answer is rounded to blocks, clipped to i_size). EOF counts as a hole.
// ENXIO when pos ≥ i_size (both), or when no data follows (SEEK_DATA).
Result<uint64_t> IomapSeekData(IomapInode& inode, uint64_t pos);
Result<uint64_t> IomapSeekHole(IomapInode& inode, uint64_t pos);

// Writeback of a mapping's dirty folios per writeback.h's protocol: runs of
// contiguous dirty folios, dirty block runs mapped with MapBlocks, device
// writes coalesced where addresses are contiguous and submitted as one
// batch per run (one io_uring submission), EndWriteback after unlocking.
Status IomapWritepages(IomapInode& inode, WritebackControl& wbc);

// fsync's data half: inode.page_mapping().WriteAndWait(start, end). I1-checked.
Status IomapWriteAndWait(IomapInode& inode, uint64_t start, uint64_t end);

}  // namespace foliofs
