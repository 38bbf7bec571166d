#!/usr/bin/env bash
# foliofs against its peers: kernel ext4 and fuse2fs (Debian package fuse2fs,
# ext4 through libext2fs over FUSE). Makes identical loop devices (one image
# file each), mounts the three filesystems on them and runs the same workloads
# on each, interleaved (every filesystem runs workload N before any runs
# N+1), then prints one markdown table with ratios and the targets:
#   seqwrite   1 MiB sequential writes of SIZE into a new file, end fsync (MiB/s)
#   seqread    cold 1 MiB sequential reads of that file (MiB/s)
#   randwrite  4 KiB random overwrites of SIZE/4 bytes over the SIZE file, end fsync (IOPS)
#   randread   cold 4 KiB random reads (SIZE/16 bytes or 20 s) over the file (IOPS)
#   parread    cold, 4 parallel random readers of the file (total IOPS)
#   fsync      4 KiB append + fsync latency, p50 and p99 (microseconds)
#   files      create, stat, unlink of 20,000 empty files in one directory (ops/s)
#   dirscale   100,000 files in one directory: create and stat rates at 1,000
#              and at 100,000 entries (separate table; ext4 and foliofs only
#              unless --dirscale-fs says otherwise: fuse2fs's directories are
#              linear and 100,000 entries take it very long)
# and the daemons' peak RSS (VmHWM of foliofs and fuse2fs just before each
# unmount; the maximum over all runs).
# "Cold" = unmount, sync + echo 3 > /proc/sys/vm/drop_caches (this also drops
# the loop devices' backing files from the host page cache), mount again — so
# foliofs's own cache, which lives in the daemon, starts empty too.
# fio: --direct=0 --ioengine=psync --fallocate=none, json output parsed by python3.
# Namespace and fsync figures come from foliofs-dirscale (tools/bench/dirscale.cc).
#
# Usage: peers.sh [options]
#   --dir DIR           where the image files go (default /tmp); a fresh
#                       subdirectory is made and removed at the end
#   --size SIZE         file size of the streaming/random workloads (default 1G;
#                       --size 256M for a quick run)
#   --image-size SIZE   size of each image (default 3G)
#   --runs N            best of N (default 1)
#   --only LIST         comma list of workloads (default: all of the above)
#   --fs LIST           comma list among ext4,fuse2fs,foliofs (default all three)
#   --dirscale-fs LIST  filesystems for dirscale (default ext4,foliofs)
#   --dirscale-count N  entries for dirscale (default 100000)
#   --files N           files for the files workload (default 20000)
#   --build DIR         build directory holding bin/foliofs, bin/mkfs.foliofs
#                       and bin/foliofs-dirscale (default: build)
#   --cache-size SIZE   foliofs -o cache_size= (default 256M)
#   --foliofs-opts OPTS extra foliofs -o options, e.g. writeback_cache
#   --keep              keep the images and logs
# Needs root (losetup, mount, drop_caches). Only the loop devices, mounts and
# daemons this script made are ever touched; all are released on exit, even on
# failure or ^C.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
BASE_DIR=/tmp SIZE=1G IMAGE_SIZE=3G RUNS=1 BUILD_DIR=build CACHE_SIZE=256M FOLIOFS_OPTS=""
ONLY=seqwrite,seqread,randwrite,randread,parread,fsync,files,dirscale
FSES=ext4,fuse2fs,foliofs DIRSCALE_FS=ext4,foliofs DIRSCALE_COUNT=100000 NFILES=20000 KEEP=0

usage() { sed -n '/^# Usage/,/^# Needs root/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --dir) BASE_DIR=$2; shift ;;
    --size) SIZE=$2; shift ;;
    --image-size) IMAGE_SIZE=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --fs) FSES=$2; shift ;;
    --dirscale-fs) DIRSCALE_FS=$2; shift ;;
    --dirscale-count) DIRSCALE_COUNT=$2; shift ;;
    --files) NFILES=$2; shift ;;
    --build) BUILD_DIR=$2; shift ;;
    --cache-size) CACHE_SIZE=$2; shift ;;
    --foliofs-opts) FOLIOFS_OPTS=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    *) echo "unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$root/$BUILD_DIR
BIN=$BUILD_DIR/bin
DIRSCALE=$BIN/foliofs-dirscale
IFS=, read -ra fs_list <<<"$FSES"
IFS=, read -ra work_list <<<"$ONLY"

log() { echo "# $*" >&2; }
die() { echo "peers.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "needs root (losetup, mount, drop_caches)"
command -v fio >/dev/null || die "fio is not installed (apt-get install fio)"
command -v python3 >/dev/null || die "python3 is needed to parse fio's json"
[[ -x $DIRSCALE ]] || die "missing $DIRSCALE (build target foliofs-dirscale)"
want_fs() { [[ ",$FSES," == *",$1,"* ]]; }
want_fs fuse2fs && ! command -v fuse2fs >/dev/null && die "fuse2fs is not installed (apt-get install fuse2fs)"
if want_fs foliofs; then
  [[ -x $BIN/foliofs && -x $BIN/mkfs.foliofs ]] || die "missing $BIN/foliofs or $BIN/mkfs.foliofs"
fi
size_bytes=$(numfmt --from=iec "$SIZE")
rand_write_bytes=$((size_bytes / 4))
rand_read_bytes=$((size_bytes / 16))
cache_bytes=$(numfmt --from=iec "$CACHE_SIZE")

mkdir -p "$BASE_DIR"
work=$(mktemp -d "$BASE_DIR/foliofs-peers.XXXXXX")
results=$work/results.tsv
: >"$results"
declare -A loop=() mnt=() pid=()

# Release one filesystem's mount and daemon (the daemon recorded in
# $work/pid-FS, started by this script): unmount, give the daemon 30 s to
# finish writing and exit, then kill it by its pid.
release_fs() {  # fs
  local fs=$1 p=""
  set +e
  [[ -e $work/pid-$fs ]] && p=$(<"$work/pid-$fs")
  if mountpoint -q "${mnt[$fs]}"; then
    umount "${mnt[$fs]}" 2>/dev/null || umount -l "${mnt[$fs]}"
  fi
  if [[ -n $p ]]; then
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill "$p" 2>/dev/null && log "killed the $fs daemon $p"
    rm -f "$work/pid-$fs"
  fi
}

# Release only what this script made: its mounts, its daemons (by pid), its
# loop devices, its directory.
cleanup() {
  local rc=$? fs
  set +e
  for fs in "${!mnt[@]}"; do release_fs "$fs"; done
  for fs in "${!loop[@]}"; do losetup -d "${loop[$fs]}" 2>/dev/null; done
  if ((KEEP)); then log "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

make_image() {  # fs
  local img=$work/$1.img
  fallocate -l "$IMAGE_SIZE" "$img" 2>/dev/null || truncate -s "$IMAGE_SIZE" "$img"
  loop[$1]=$(losetup -f --show "$img")
  mnt[$1]=$work/mnt-$1
  mkdir -p "${mnt[$1]}"
  case $1 in
    # No lazy init: ext4lazyinit would zero inode tables in the background
    # during the runs (fuse2fs shares the format, so it gets the same).
    ext4|fuse2fs) mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "${loop[$1]}" ;;
    foliofs) "$BIN/mkfs.foliofs" "${loop[$1]}" >>"$work/foliofs.log" 2>&1 ||
               die "mkfs.foliofs ${loop[$1]} failed (see $work/foliofs.log)" ;;
    *) die "unknown filesystem $1" ;;
  esac
  log "$1: $img on ${loop[$1]}"
}

wait_mounted() {  # fs
  for _ in $(seq 300); do
    mountpoint -q "${mnt[$1]}" && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || { pid[$1]=""; die "$1 daemon exited while mounting (see $work/$1.log)"; }
    sleep 0.1
  done
  die "$1 did not mount within 30 s (see $work/$1.log)"
}

mount_fs() {  # fs
  local fs=$1 opts
  case $fs in
    ext4) mount -t ext4 "${loop[$fs]}" "${mnt[$fs]}" ;;
    fuse2fs)
      fuse2fs "${loop[$fs]}" "${mnt[$fs]}" -f >>"$work/$fs.log" 2>&1 &
      pid[$fs]=$!; echo "${pid[$fs]}" >"$work/pid-$fs"
      wait_mounted "$fs" ;;
    foliofs)
      opts=cache_size=$CACHE_SIZE${FOLIOFS_OPTS:+,$FOLIOFS_OPTS}
      "$BIN/foliofs" "${loop[$fs]}" "${mnt[$fs]}" -f -o "$opts" >>"$work/$fs.log" 2>&1 &
      pid[$fs]=$!; echo "${pid[$fs]}" >"$work/pid-$fs"
      wait_mounted "$fs" ;;
  esac
}

# Unmount and wait until the daemon has exited (it has then written
# everything); record its peak RSS first.
umount_fs() {  # fs
  local fs=$1 p=${pid[$1]:-} hwm
  if [[ -n $p ]]; then
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    [[ -n $hwm ]] && record rss_mib "$fs" "$(awk -v k="$hwm" 'BEGIN{printf "%.1f", k/1024}')"
  fi
  for _ in $(seq 50); do umount "${mnt[$fs]}" 2>/dev/null && break; sleep 0.2; done
  mountpoint -q "${mnt[$fs]}" && die "cannot unmount ${mnt[$fs]}"
  if [[ -n $p ]]; then
    wait "$p" || log "$fs daemon exited with status $? (see $work/$fs.log)"
    pid[$fs]=""; rm -f "$work/pid-$fs"
  fi
}

cold_remount() { umount_fs "$1"; drop_caches; mount_fs "$1"; }

record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; log "$1 $2 $3"; }
# measure METRIC FS COMMAND...: records the figure COMMAND prints; a failing
# COMMAND fails the measurement (set -e sees the assignment, not an argument).
measure() {
  local m=$1 fs=$2 v
  shift 2
  v=$("$@")
  [[ -n $v ]] || { log "no figure for $m on $fs"; return 1; }
  record "$m" "$fs" "$v"
}

# fio_run fs read|write json-field extra-args... -> prints the field of the job's read/write side
fio_run() {
  local fs=$1 side=$2 field=$3 out
  shift 3
  out=$work/fio.json
  fio --name=peers --filename="${mnt[$fs]}/data" --direct=0 --ioengine=psync --fallocate=none \
      --randrepeat=1 --group_reporting --output-format=json --output="$out" "$@" >/dev/null ||
    { log "fio failed on $fs"; return 1; }
  python3 - "$out" "$side" "$field" <<'EOF'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
side = job[sys.argv[2]]
print("%.1f" % (side["bw_bytes"] / 2**20 if sys.argv[3] == "mib_s" else side["iops"]))
EOF
}

# The SIZE file every data workload uses; written (untimed) if a workload
# needs it and seqwrite did not run before.
ensure_data() {  # fs (mounted)
  [[ -e $work/have-data-$1 ]] && return 0
  fio_run "$1" write mib_s --rw=write --bs=1M --size="$size_bytes" --end_fsync=1 >/dev/null
  touch "$work/have-data-$1"
}

w_seqwrite() {
  mount_fs "$1"
  rm -f "${mnt[$1]}/data"
  measure seqwrite "$1" fio_run "$1" write mib_s --rw=write --bs=1M --size="$size_bytes" --end_fsync=1
  touch "$work/have-data-$1"
  umount_fs "$1"
}
w_seqread() {
  mount_fs "$1"; ensure_data "$1"; cold_remount "$1"
  measure seqread "$1" fio_run "$1" read mib_s --rw=read --bs=1M --size="$size_bytes"
  umount_fs "$1"
}
w_randwrite() {
  mount_fs "$1"; ensure_data "$1"
  measure randwrite "$1" fio_run "$1" write iops --rw=randwrite --bs=4k --size="$size_bytes" \
    --io_size="$rand_write_bytes" --end_fsync=1
  umount_fs "$1"
}
w_randread() {
  mount_fs "$1"; ensure_data "$1"; cold_remount "$1"
  measure randread "$1" fio_run "$1" read iops --rw=randread --bs=4k --size="$size_bytes" \
    --io_size="$rand_read_bytes" --runtime=20
  umount_fs "$1"
}
w_parread() {
  mount_fs "$1"; ensure_data "$1"; cold_remount "$1"
  measure parread "$1" fio_run "$1" read iops --rw=randread --bs=4k --size="$size_bytes" \
    --io_size="$((rand_read_bytes / 2))" --runtime=20 --numjobs=4
  umount_fs "$1"
}
w_fsync() {
  local out
  mount_fs "$1"
  out=$("$DIRSCALE" fsync "${mnt[$1]}/fsync.dat" --count 1000 --seconds 10)
  log "fsync $1: $out"
  record fsync_p50 "$1" "$(sed -E 's/.*p50_us=([0-9.]+).*/\1/' <<<"$out")"
  record fsync_p99 "$1" "$(sed -E 's/.*p99_us=([0-9.]+).*/\1/' <<<"$out")"
  umount_fs "$1"
}
w_files() {
  local out k
  mount_fs "$1"
  out=$("$DIRSCALE" files "${mnt[$1]}" --count "$NFILES")
  log "files $1: $out"
  for k in create stat unlink; do
    record "$k" "$1" "$(sed -E "s/.*${k}_per_s=([0-9.]+).*/\\1/" <<<"$out")"
  done
  umount_fs "$1"
}
w_dirscale() {
  local out
  [[ ",$DIRSCALE_FS," == *",$1,"* ]] || return 0
  mount_fs "$1"
  out=$("$DIRSCALE" scale "${mnt[$1]}" --count "$DIRSCALE_COUNT" --sample 1000)
  log "dirscale $1: $(tr '\n' ' ' <<<"$out")"
  record ds_create_small "$1" "$(sed -n '1s/.*create_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
  record ds_stat_small "$1" "$(sed -n '1s/.*stat_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
  record ds_create_large "$1" "$(sed -n '2s/.*create_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
  record ds_stat_large "$1" "$(sed -n '2s/.*stat_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
  umount_fs "$1"
}

for w in "${work_list[@]}"; do declare -F "w_$w" >/dev/null || die "unknown workload $w"; done
for fs in "${fs_list[@]}"; do make_image "$fs"; done
log "size $SIZE, images $IMAGE_SIZE in $work, best of $RUNS, foliofs -o cache_size=$CACHE_SIZE${FOLIOFS_OPTS:+,$FOLIOFS_OPTS}"
start=$SECONDS
for w in "${work_list[@]}"; do
  for ((run = 0; run < RUNS; ++run)); do
    for fs in "${fs_list[@]}"; do
      # Each measurement runs in a subshell: a failing filesystem loses its
      # figure, not the whole comparison, and its mount and daemon are
      # released so the next workload starts clean. State that outlives a
      # measurement (results, peak RSS, "data file written") goes to files.
      set +e
      ( trap 'release_fs "$fs"' EXIT; "w_$w" "$fs" )
      (($? == 0)) || log "$w on $fs FAILED"
      set -e
    done
  done
done
log "total $((SECONDS - start)) s"

python3 - "$results" "$cache_bytes" "$SIZE" "$NFILES" "$DIRSCALE_COUNT" <<'EOF'
import collections, sys
path, cache, size, nfiles, dcount = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
vals = collections.defaultdict(list)
for line in open(path):
    m, fs, v = line.rstrip("\n").split("\t")
    if v:
        vals[(m, fs)].append(float(v))
# metric: label, higher is better?, target (kind, factor against ext4, factor against fuse2fs)
rows = [
    ("seqwrite", f"seq 1 MiB write {size}, end fsync (MiB/s)", True, (1, 3)),
    ("seqread", f"seq 1 MiB cold read {size} (MiB/s)", True, (1, 3)),
    ("randwrite", f"rand 4 KiB write over {size}, end fsync (IOPS)", True, (None, 6)),
    ("randread", f"rand 4 KiB cold read over {size} (IOPS)", True, (None, None)),
    ("parread", "4 parallel rand 4 KiB readers (IOPS)", True, (None, None)),
    ("fsync_p50", "4 KiB write+fsync p50 (us)", False, (1, None)),
    ("fsync_p99", "4 KiB write+fsync p99 (us)", False, (None, None)),
    ("create", f"create {nfiles} files (files/s)", True, (None, 8)),
    ("stat", f"stat {nfiles} files, cold dentries (files/s)", True, (None, 8)),
    ("unlink", f"unlink {nfiles} files (files/s)", True, (None, 8)),
    ("rss_mib", "daemon peak RSS (MiB)", False, "rss"),
]
def best(m, fs, hi):
    v = vals.get((m, fs))
    if not v:
        return None
    # Peak RSS is the worst daemon over all runs; every other figure is best of N.
    return max(v) if hi or m == "rss_mib" else min(v)
def fmt(v):
    return "n/a" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")
def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"
print("| workload | ext4 | fuse2fs | foliofs | foliofs/ext4 | foliofs/fuse2fs | target | met? |")
print("|---|---:|---:|---:|---:|---:|---|---|")
for m, label, hi, target in rows:
    e, f2, fo = (best(m, fs, hi) for fs in ("ext4", "fuse2fs", "foliofs"))
    if e is None and f2 is None and fo is None:
        continue
    goals, met = [], []
    if target == "rss":
        limit = cache / 2**20 + 64
        goals.append(f"<= {limit:.0f} MiB (cache_size + 64)")
        met.append(None if fo is None else fo <= limit)
    else:
        te, tf = target
        if te is not None:
            goals.append(("ext4 x%g" % te if hi else "<= ext4") if te != 1 else (">= ext4" if hi else "<= ext4"))
            met.append(None if fo is None or e is None else (fo >= te * e if hi else fo <= te * e))
        if tf is not None:
            goals.append(f">= {tf}x fuse2fs")
            met.append(None if fo is None or f2 is None else fo >= tf * f2)
    verdict = "" if not met else ("?" if None in met else ("yes" if all(met) else "NO"))
    print(f"| {label} | {fmt(e)} | {fmt(f2)} | {fmt(fo)} | {ratio(fo, e)} | {ratio(fo, f2)} | "
          f"{'; '.join(goals) or '-'} | {verdict} |")
# Directory scaling: one row per filesystem; the last columns say how much
# slower the big directory is (1.00 = no slowdown).
ds = [fs for fs in ("ext4", "fuse2fs", "foliofs") if best("ds_create_small", fs, True) is not None]
if ds:
    print()
    print(f"Directory scaling, {dcount:,} files in one directory (files/s; stat = 1,000 random names, dentry cache dropped):")
    print()
    print(f"| filesystem | create @1,000 | create @{dcount:,} | stat @1,000 | stat @{dcount:,} | create large/small | stat large/small |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for fs in ds:
        cs, cl, ss, sl = (best(m, fs, True) for m in ("ds_create_small", "ds_create_large", "ds_stat_small", "ds_stat_large"))
        print(f"| {fs} | {fmt(cs)} | {fmt(cl)} | {fmt(ss)} | {fmt(sl)} | {ratio(cl, cs)} | {ratio(sl, ss)} |")
EOF
