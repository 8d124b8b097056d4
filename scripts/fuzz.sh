#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz/*_fuzz.cc), each for SECONDS (default 60), starting
# from its seed corpus. New inputs go to build-fuzz/corpus/<target> (not committed); a crash is
# written to tests/fuzz/crashes/<target>/ so that it can be kept as a regression seed.
#   usage: scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 1800 http1_request
# Needs clang-16 and libclang-rt-16-dev (installed here when missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
"$root/scripts/install-deps.sh"
for p in clang-16 libclang-rt-16-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      clang-16 libclang-rt-16-dev
    break
  fi
done

build=$root/build-fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++-16 -DWEFT_STATIC_DEPS=OFF "${launcher[@]}" >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$root"/tests/fuzz/*_fuzz.cc; do
    t=$(basename "$f" _fuzz.cc)
    targets+=("$t")
  done
fi
ninja -C "$build" "${targets[@]/%/_fuzz}"

status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  crashes=$root/tests/fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes"
  echo "== $t for ${seconds}s"
  # -rss_limit_mb: the targets' own bounds are far below it; -max_len: large enough for a
  # header or chunk line over its limit.
  if ! "$build/tests/${t}_fuzz" "$corpus" "$root/tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -max_len=200000 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/" 2>&1 | tail -n 25; then
    status=1
  fi
done
exit $status
