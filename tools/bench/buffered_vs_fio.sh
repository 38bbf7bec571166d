#!/usr/bin/env bash
# Compares foliofs-bufbench (buffered I/O through foliofs's page cache and
# fs/iomap, writeback to the io_uring device) with fio on the same device:
#   write  1 MiB sequential writes of SIZE, timed with the final flush
#          (fio end_fsync=1; foliofs: IomapWriteAndWait + device flush)
#   read   1 MiB sequential reads of SIZE from a cold cache (fio and
#          foliofs each in a fresh run after drop_caches; foliofs reads the
#          data its write run left, with readahead)
# fio runs twice per workload: buffered (the kernel page cache, psync) and
# O_DIRECT (psync, one 1 MiB request at a time — what a single-threaded
# application sees without a cache). The ratios are foliofs / fio.
#
# Usage: buffered_vs_fio.sh DEVICE_OR_IMAGE
#   An image file is attached to a loop device of our own (detached on exit);
#   a block device is used as is — its contents are destroyed.
# Needs root (losetup, drop_caches). Environment:
#   BUILD_DIR       build directory holding bin/foliofs-bufbench (default: build)
#   SIZE            bytes written and read (default 1G)   ROUNDS  best of (default 3)
#   CACHE_SIZE      foliofs page cache size (default 256M)
#   LOOP_DIRECT_IO  on|off for the loop device (default off)
#   BUFBENCH_ARGS   extra foliofs-bufbench flags   FIO_ARGS  extra fio flags
#   BUFBENCH_TUNABLES  GLIBC_TUNABLES for foliofs-bufbench (default
#                   glibc.malloc.hugetlb=1: folio buffers on transparent huge
#                   pages; on a VM where first-touch page faults are slow this
#                   is worth 3x, see foliofs-bufbench's --no-malloc-tuning).
#                   Set it empty to measure plain malloc.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$root/$BUILD_DIR
SIZE=${SIZE:-1G}
ROUNDS=${ROUNDS:-3}
CACHE_SIZE=${CACHE_SIZE:-256M}
LOOP_DIRECT_IO=${LOOP_DIRECT_IO:-off}
BUFBENCH_ARGS=${BUFBENCH_ARGS:-}
FIO_ARGS=${FIO_ARGS:-}
BUFBENCH_TUNABLES=${BUFBENCH_TUNABLES-glibc.malloc.hugetlb=1}
bench=$BUILD_DIR/bin/foliofs-bufbench

(($# == 1)) || { echo "usage: $0 DEVICE_OR_IMAGE" >&2; exit 2; }
target=$1
[[ -x $bench ]] || { echo "missing $bench (build target foliofs-bufbench)" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio is not installed" >&2; exit 1; }
((EUID == 0)) || { echo "needs root (losetup, drop_caches)" >&2; exit 1; }

loop=""
cleanup() { [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

size_bytes=$(numfmt --from=iec "$SIZE")
if [[ -b $target ]]; then
  dev=$target
elif [[ -f $target ]]; then
  loop=$(losetup -f --show --direct-io="$LOOP_DIRECT_IO" "$target")
  dev=$loop
else
  echo "$target is neither a block device nor an image file" >&2
  exit 1
fi
(($(blockdev --getsize64 "$dev") >= size_bytes)) || { echo "$dev is smaller than $SIZE" >&2; exit 1; }
# Warm-up: write the range once so no run pays for first-touch of the
# backing file's extents.
dd if=/dev/zero of="$dev" bs=1M oflag=direct status=none count=$((size_bytes >> 20))
sync
echo "# $dev ($target, loop direct-io $LOOP_DIRECT_IO), size $SIZE, foliofs cache $CACHE_SIZE, best of $ROUNDS" >&2

drop_caches() {
  sync
  blockdev --flushbufs "$dev" 2>/dev/null || true
  echo 3 >/proc/sys/vm/drop_caches
}

# fio_run write|read buffered|direct -> MiB/s
fio_run() {
  local args=(--name=bench --filename="$dev" --ioengine=psync --bs=1M --size="$SIZE"
              --numjobs=1 --thread --output-format=json)
  [[ $1 == write ]] && args+=(--rw=write --end_fsync=1) || args+=(--rw=read)
  [[ $2 == direct ]] && args+=(--direct=1) || args+=(--direct=0)
  drop_caches
  # shellcheck disable=SC2086
  fio "${args[@]}" $FIO_ARGS | python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
side = job["write"] if sys.argv[1] == "write" else job["read"]
print("%.1f" % (side["bw_bytes"] / 2**20))' "$1"
}

# ours_run write|read -> MiB/s. Separate runs with the kernel's caches dropped
# in between (as for fio), so the read phase cannot be served by the page
# cache of a loop device's backing file.
ours_run() {
  local out
  drop_caches
  # shellcheck disable=SC2086
  if ! out=$(GLIBC_TUNABLES=$BUFBENCH_TUNABLES "$bench" "$dev" --workload "$1" --size "$size_bytes" \
               --cache-size "$(numfmt --from=iec "$CACHE_SIZE")" $BUFBENCH_ARGS); then
    echo "# foliofs $1 run FAILED (see its message above); counted as 0" >&2
    echo 0
    return
  fi
  echo "# foliofs: $out" >&2
  sed -E 's/.* mib_s=([0-9.]+).*/\1/' <<<"$out"
}

max() { python3 -c 'import sys; print(max(float(a) for a in sys.argv[1:]))' "$@"; }

declare -A best
for ((round = 0; round < ROUNDS; ++round)); do
  for w in write read; do
    for m in buffered direct; do
      v=$(fio_run $w $m)
      echo "# round $round fio $w $m $v" >&2
      best[fio_${w}_$m]=$(max "${best[fio_${w}_$m]:-0}" "$v")
    done
  done
  for w in write read; do
    v=$(ours_run $w)
    best[ours_$w]=$(max "${best[ours_$w]:-0}" "$v")
  done
done

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
printf '%-7s %14s %14s %14s %10s %10s\n' workload fio-buffered fio-direct foliofs vs-buffered vs-direct
for w in write read; do
  fb=${best[fio_${w}_buffered]} fd=${best[fio_${w}_direct]} o=${best[ours_$w]}
  printf '%-7s %14s %14s %14s %10s %10s  (MiB/s)\n' "$w" "$fb" "$fd" "$o" "$(ratio "$o" "$fb")" \
    "$(ratio "$o" "$fd")"
done
