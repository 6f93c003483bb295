#!/usr/bin/env bash
# test.sh - install dependencies, build, run the whole test suite (unit and
# end-to-end) with ctest.  Exit status is ctest's.
#   scripts/test.sh            # everything
#   scripts/test.sh -L unit    # extra arguments go to ctest
#   scripts/test.sh -LE install   # all but the slow install test (label install)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
"$here/scripts/build.sh" -DUDC_TESTS=ON
cd "${BUILD_DIR:-$here/build}"
# As many tests at once as there are cores: most end-to-end tests spend their
# time waiting on daemons, and each picks free ports and directories of its own.
ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
