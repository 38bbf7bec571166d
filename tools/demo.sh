#!/usr/bin/env bash
# README command 1: install, build, make an image on a loop device, mkfs.foliofs
# it, mount it, show a few commands working on the mounted filesystem, and
# print how to unmount. The filesystem stays mounted when this script ends.
# Env: IMAGE (default /var/tmp/foliofs-demo.img), SIZE (default 1G),
#      MNT (default /mnt/foliofs-demo), BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-/var/tmp/foliofs-demo.img}
SIZE=${SIZE:-1G}
MNT=${MNT:-/mnt/foliofs-demo}
BUILD_DIR=${BUILD_DIR:-build}

tools/install-deps.sh
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target foliofs mkfs.foliofs fsck.foliofs >/dev/null
bin="$BUILD_DIR/bin"

if mountpoint -q "$MNT"; then
  echo "== $MNT is already mounted; unmount it first (umount $MNT)" >&2
  exit 1
fi
rm -f "$IMAGE"
truncate -s "$SIZE" "$IMAGE"
loop=$(losetup -f --show "$IMAGE")
mounted=0
cleanup() {
  # On failure only: leave nothing behind. On success the mount stays.
  if [[ $mounted -eq 0 ]]; then losetup -d "$loop" 2>/dev/null || true; fi
}
trap cleanup EXIT
echo "== image $IMAGE ($SIZE) attached as $loop"

echo "== mkfs.foliofs $loop"
"$bin/mkfs.foliofs" "$loop"

mkdir -p "$MNT"
echo "== foliofs $loop $MNT   (a fuseblk mount: umount waits until the device holds everything)"
"$bin/foliofs" "$loop" "$MNT"
mounted=1
grep " $MNT " /proc/mounts

echo "== df -h $MNT"
df -h "$MNT"
echo "== writing, copying, listing"
mkdir "$MNT/docs"
cp -a /usr/share/doc/bash "$MNT/docs/" 2>/dev/null || cp -a /etc/os-release "$MNT/docs/"
echo "hello from foliofs" > "$MNT/hello.txt"
ln -s hello.txt "$MNT/link-to-hello"
dd if=/dev/urandom of="$MNT/random.bin" bs=1M count=16 status=none
sync "$MNT/random.bin"
ls -la "$MNT"
cat "$MNT/link-to-hello"
sha256sum "$MNT/random.bin"
setfattr -n user.demo -v works "$MNT/hello.txt" 2>/dev/null && getfattr -d "$MNT/hello.txt" || true
du -sh "$MNT/docs"

cat <<MSG
== done: foliofs on $loop is mounted at $MNT
   unmount:  umount $MNT && losetup -d $loop
   check:    $bin/fsck.foliofs -f -n $loop     (after unmounting)
   remount:  $bin/foliofs $loop $MNT
MSG
