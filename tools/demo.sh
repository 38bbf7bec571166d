#!/usr/bin/env bash
# README command 1: install, build, make an image on a loop device, mkfs.foliofs it,
# and show what was made (mkfs's report, then the verifier's view of the result).
# Later issues grow this into a mounted filesystem.
# Env: IMAGE (default /var/tmp/foliofs-demo.img), SIZE (default 1G), BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-/var/tmp/foliofs-demo.img}
SIZE=${SIZE:-1G}
BUILD_DIR=${BUILD_DIR:-build}

tools/install-deps.sh
cmake -S . -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target mkfs.foliofs fsck.foliofs >/dev/null
bin="$BUILD_DIR/bin"

rm -f "$IMAGE"
truncate -s "$SIZE" "$IMAGE"
loop=$(losetup -f --show "$IMAGE")
trap 'losetup -d "$loop"' EXIT
echo "== image $IMAGE ($SIZE) attached as $loop"

echo "== mkfs.foliofs $loop"
"$bin/mkfs.foliofs" "$loop"

echo "== fsck.foliofs -n -v $loop"
"$bin/fsck.foliofs" -n -v "$loop"

echo "== done: $loop is detached on exit; the image stays at $IMAGE"
