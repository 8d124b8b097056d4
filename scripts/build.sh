#!/usr/bin/env bash
# Configures and builds Weft. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# Uses ccache when it is installed (several worktrees then share one object cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
  export CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$dir" -G Ninja -DWEFT_WERROR=ON "${launcher[@]}" "$@" >/dev/null
ninja -C "$dir"
