#!/usr/bin/env bash
# valgrind-e2e.sh - the BSN end-to-end round (tests/integration/
# test_e2e_exact.py) with both daemons running under valgrind memcheck.
#
#   scripts/valgrind-e2e.sh
#
# Builds without sanitizers in build-vg/ (BUILD_DIR), then runs the test with
# UDC_DAEMON_WRAPPER (tests/integration/harness.py) set to
#   valgrind --leak-check=full --error-exitcode=99
#            --errors-for-leak-kinds=definite,indirect
#            --show-leak-kinds=definite,indirect --num-callers=30
#            --log-file=build-vg/valgrind/{role}.%p.log
# Fails if the test fails, or if either daemon's log reports an invalid
# access, a use of uninitialised memory, a definite or indirect leak (any
# "ERROR SUMMARY" other than 0) or lacks a summary (killed before exit).
# UDC_E2E_PERSONS (default 1000 here) sizes the population.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-vg}
vglogs=$build/valgrind

command -v valgrind >/dev/null || { echo "valgrind-e2e.sh: valgrind not installed" >&2; exit 2; }
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DUDC_SANITIZE=OFF -DUDC_TESTS=ON \
	>/dev/null || exit 2
cmake --build "$build" -j"$(nproc)" --target gemeented cbsd udcctl || exit 2

rm -rf "$vglogs"
mkdir -p "$vglogs"
export UDC_SOURCE_DIR=$here UDC_BINARY_DIR=$build
export UDC_E2E_PERSONS=${UDC_E2E_PERSONS:-1000}
export UDC_DAEMON_WRAPPER="valgrind --leak-check=full --error-exitcode=99 \
--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
--num-callers=30 --log-file=$vglogs/{role}.%p.log"

python3 "$here/tests/integration/test_e2e_exact.py"
rc=$?
[ $rc -eq 0 ] || echo "valgrind-e2e: the end-to-end test failed (exit $rc)"

status=$rc
for role in gemeente cbs; do
	logs=$(ls "$vglogs"/$role.*.log 2>/dev/null)
	if [ -z "$logs" ]; then
		echo "valgrind-e2e: $role: no valgrind log"
		status=1
		continue
	fi
	for l in $logs; do
		summary=$(grep -E 'ERROR SUMMARY:' "$l" | tail -1)
		if [ -z "$summary" ]; then
			echo "valgrind-e2e: $role: $l has no ERROR SUMMARY (did the daemon exit?)"
			status=1
		elif ! echo "$summary" | grep -q 'ERROR SUMMARY: 0 errors'; then
			echo "valgrind-e2e: $role: $summary"
			grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|[0-9,]+ .*bytes in .* (definitely|indirectly) lost)' "$l" | sort | uniq -c | head -20
			echo "valgrind-e2e: $role: full report: $l"
			status=1
		else
			echo "valgrind-e2e: $role: clean ($summary; $(grep -E 'definitely lost|indirectly lost' "$l" | sed 's/==[0-9]*== *//' | tr '\n' ' '))"
		fi
	done
done
exit $status
