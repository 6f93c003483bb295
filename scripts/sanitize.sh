#!/usr/bin/env bash
# sanitize.sh - build everything with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (-DUDC_SANITIZE=ON) in build-asan/ and run the
# whole ctest suite there: unit tests, fuzz corpus replays and the end-to-end
# tests (whose daemons are then sanitized too).
#
#   scripts/sanitize.sh [ctest options...]     e.g. -L unit, -R e2e_exact
#
# Leaks are errors (detect_leaks=1) and any report aborts the program
# (abort_on_error, halt_on_error), so a finding fails its test.  BUILD_DIR
# overrides the build directory, CC the compiler.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-asan}
cc=${CC:-clang}

# -O1, as the AddressSanitizer documentation advises: at -O0 the suite's
# linkage and matcher tests run 10x slower than in a normal build.
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS_DEBUG="-g -O1" -DUDC_SANITIZE=ON -DUDC_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
# The install test (label install) builds and tests the packages, not this
# build: scripts/test.sh runs it.  So does scripts/test.sh run the five
# tests left out here, which spend their minutes waiting for timeouts and
# killed daemons (kill -9 at every step, a silent peer, connection limits)
# and run the same daemon code as the end-to-end tests that stay: 3.5 of
# the 10 minutes the sanitized suite takes on 2 cores.
SLOW_WAITS='^(e2e_peer_stopped|faults_kill_steps_gemeente|faults_kill_steps_cbs|faults_peer_timeout|attack_05_dos)$'
echo "sanitize.sh: not run here (scripts/test.sh runs them): $SLOW_WAITS"
ctest --output-on-failure -j"$(nproc)" -LE install -E "$SLOW_WAITS" "$@"
