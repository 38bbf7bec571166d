#!/usr/bin/env bash
# Compares foliofs-devbench (OpenDevice, io_uring) with fio (ioengine=io_uring,
# direct=1) on the same loop device, same block sizes and queue depth:
#   seqwrite  1 MiB sequential writes over SIZE (wrapping) for TIME seconds  (MiB/s)
#   seqread   1 MiB sequential reads, likewise                              (MiB/s)
#   randread  4 KiB random reads for TIME seconds                           (IOPS)
# fio runs with gtod_reduce=1 (no per-I/O latency clocks; foliofs-devbench has
# none either); FIO_ARGS adds flags, e.g. "--iodepth_batch_submit=32
# --iodepth_batch_complete_max=32 --registerfiles=1" for fio's most tuned run.
# The two tools run alternately (order swapped each round); the best of ROUNDS
# runs of each is reported, one line per workload: workload fio foliofs ratio.
#
# Needs root (losetup). Environment:
#   BUILD_DIR       build directory holding bin/foliofs-devbench (default: build)
#   SIZE            image size (default 2G)        TIME    seconds per run (default 5)
#   QD              queue depth (default 32)       ROUNDS  rounds (default 3)
#   LOOP_DIRECT_IO  on|off: loop device bypasses the backing file's page cache (default off)
#   FIO_ARGS        extra fio flags
#   DEVBENCH_ARGS   extra foliofs-devbench flags (e.g. --sync to measure the fallback)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$root/$BUILD_DIR
SIZE=${SIZE:-2G}
TIME=${TIME:-5}
QD=${QD:-32}
ROUNDS=${ROUNDS:-3}
LOOP_DIRECT_IO=${LOOP_DIRECT_IO:-off}
DEVBENCH_ARGS=${DEVBENCH_ARGS:-}
FIO_ARGS=${FIO_ARGS:-}
bench=$BUILD_DIR/bin/foliofs-devbench

[[ -x $bench ]] || { echo "missing $bench (build target foliofs-devbench)" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio is not installed" >&2; exit 1; }
((EUID == 0)) || { echo "needs root for losetup" >&2; exit 1; }

tmp=$(mktemp -d /tmp/foliofs-devbench.XXXXXX)
loop=""
cleanup() {
  [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fallocate -l "$SIZE" "$tmp/image"
loop=$(losetup -f --show --direct-io="$LOOP_DIRECT_IO" "$tmp/image")
# Warm-up: write the image once so neither tool pays for first-touch of the
# backing file's extents in its measured run.
dd if=/dev/zero of="$loop" bs=1M oflag=direct status=none count=$(($(numfmt --from=iec "$SIZE") >> 20))
sync
echo "# device $loop over $tmp/image ($SIZE, loop direct-io $LOOP_DIRECT_IO), qd $QD, best of $ROUNDS" >&2

# fio_run WORKLOAD -> MiB/s (seq) or IOPS (randread)
fio_run() {
  local args=(--name=bench --filename="$loop" --ioengine=io_uring --direct=1 --iodepth="$QD"
              --output-format=json --numjobs=1 --thread --gtod_reduce=1
              --size="$SIZE" --time_based --runtime="$TIME")
  case $1 in
    seqwrite) args+=(--rw=write --bs=1M) ;;
    seqread) args+=(--rw=read --bs=1M) ;;
    randread) args+=(--rw=randread --bs=4k --norandommap --randrepeat=1) ;;
  esac
  # shellcheck disable=SC2086
  fio "${args[@]}" $FIO_ARGS | python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
kind = sys.argv[1]
side = job["write"] if kind == "seqwrite" else job["read"]
print("%.1f" % (side["iops"] if kind == "randread" else side["bw_bytes"] / 2**20))' "$1"
}

# devbench_run WORKLOAD -> MiB/s (seq) or IOPS (randread)
devbench_run() {
  # shellcheck disable=SC2086
  local line
  line=$("$bench" "$loop" --workload "$1" --size "$(numfmt --from=iec "$SIZE")" --time "$TIME" --qd "$QD" $DEVBENCH_ARGS)
  if [[ $1 == randread ]]; then sed -E 's/.* iops=([0-9.]+).*/\1/' <<<"$line"
  else sed -E 's/.* mib_s=([0-9.]+).*/\1/' <<<"$line"; fi
}

max() { python3 -c 'import sys; print(max(float(a) for a in sys.argv[1:]))' "$@"; }

declare -A best_fio best_ours
for ((round = 0; round < ROUNDS; ++round)); do
  for w in seqwrite seqread randread; do
    sync
    if ((round % 2 == 0)); then f=$(fio_run $w); sync; o=$(devbench_run $w)
    else o=$(devbench_run $w); sync; f=$(fio_run $w); fi
    echo "# round $round $w fio=$f foliofs=$o" >&2
    best_fio[$w]=$(max "${best_fio[$w]:-0}" "$f")
    best_ours[$w]=$(max "${best_ours[$w]:-0}" "$o")
  done
done

printf '%-10s %12s %12s %7s\n' workload fio foliofs ratio
for w in seqwrite seqread randread; do
  unit=MiB/s; [[ $w == randread ]] && unit=IOPS
  ratio=$(python3 -c "print('%.2f' % (${best_ours[$w]} / ${best_fio[$w]}))")
  printf '%-10s %12s %12s %7s  (%s)\n' "$w" "${best_fio[$w]}" "${best_ours[$w]}" "$ratio" "$unit"
done
