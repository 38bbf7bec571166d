#!/usr/bin/env bash
# Installs every Debian package foliofs needs to build, test and benchmark.
# Idempotent: does nothing (and touches no network) when all are present.
set -euo pipefail

packages=(
  build-essential cmake g++ pkg-config
  libfuse3-dev fuse3 liburing-dev libspdlog-dev
  googletest libgtest-dev libgmock-dev
  util-linux e2fsprogs   # losetup, mkfs.ext4 (signature tests, peers)
  fio fuse2fs            # tools/bench (peers)
  attr                   # setfattr/getfattr (demo, mount tests)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
