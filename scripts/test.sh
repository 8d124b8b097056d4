#!/usr/bin/env bash
# Installs dependencies, builds Weft twice (Release, and Debug with ASan+UBSan), and runs the
# whole test suite on each: unit tests, fuzz-corpus replays, and integration tests that start
# the real weft-proxy binaries on 127.0.0.1 and drive them with curl, openssl, nginx, promtool.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"

echo "== Release build"
"$root/scripts/build.sh" "$root/build"
# Tests run side by side, one per core: integration files take ephemeral ports, and those that
# measure latency or memory are marked RUN_SERIAL (tests/CMakeLists.txt).
jobs=$(nproc)
echo "== Release tests"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

if [ "${WEFT_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== ASan/UBSan build"
  "$root/scripts/build.sh" "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=address,undefined
  echo "== ASan/UBSan tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs"
fi
