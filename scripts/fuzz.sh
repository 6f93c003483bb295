#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang and run each for a while.
#
#   scripts/fuzz.sh [TARGET...]        (default: wire csv config spec clk)
#
# Builds in build-fuzz/ (BUILD_DIR) with -DUDC_FUZZ=ON, then runs every target
# for FUZZ_SECONDS (default 30) on a copy of its committed corpus
# (tests/fuzz/corpus/<t>/ is never written to; the copy and any new inputs are
# in build-fuzz/fuzz-work/<t>/).  Reproducers land in build-fuzz/fuzz-work/
# <t>/artifacts/.  Exits 1 if any target found a crash, leak or timeout, and
# prints the reproducer's path and how to replay it.  FUZZ_JOBS runs that many
# workers per target (default 1).  Summary lines "fuzz: <t>: ..." are greppable.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build-fuzz}
secs=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(wire csv config spec clk)

# Largest input worth trying per target: a few chunks' worth of points for the
# wire decoder, a few dozen CSV rows, a long config or spec, a rich schema.
max_len() {
	case $1 in
	wire) echo 16384 ;;
	csv) echo 8192 ;;
	config) echo 8192 ;;
	spec) echo 8192 ;;
	clk) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

cc=${CC:-clang}
if ! command -v "$cc" >/dev/null; then
	echo "fuzz.sh: $cc not found (libFuzzer needs clang)" >&2
	exit 2
fi
mkdir -p "$build"
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DUDC_FUZZ=ON -DUDC_TESTS=ON >"$build/cmake-fuzz.log" 2>&1 || {
	cat "$build/cmake-fuzz.log" >&2
	exit 2
}
bins=()
for t in "${targets[@]}"; do bins+=("fuzz_$t"); done
cmake --build "$build" -j"$(nproc)" --target "${bins[@]}" || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$build/fuzz-work
failed=0
for t in "${targets[@]}"; do
	dir=$work/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp -a "$here/tests/fuzz/corpus/$t/." "$dir/corpus/"
	log=$dir/fuzz.log
	echo "fuzz: $t: running for ${secs}s (max_len $(max_len "$t"), $(ls "$dir/corpus" | wc -l) seeds)"
	par=()
	[ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
	# In $dir: with -jobs libFuzzer writes fuzz-N.log into the working directory.
	(cd "$dir" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
		-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"${par[@]}" -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$log" 2>&1)
	rc=$?
	[ "$jobs" -gt 1 ] && cat "$dir"/fuzz-*.log >>"$log" 2>/dev/null
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
	arts=$(find "$dir/artifacts" -type f | sort)
	if [ $rc -ne 0 ] || [ -n "$arts" ]; then
		failed=1
		echo "fuzz: $t: FAILED (exit $rc) after $runs runs; log: $log"
		grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|check failed' "$log" | sed 's/^/fuzz:   /'
		for a in $arts; do
			echo "fuzz:   reproducer: $a"
			echo "fuzz:   replay: $build/tests/fuzz/fuzz_$t $a"
		done
	else
		echo "fuzz: $t: ok, $runs runs in ${secs}s, coverage ${cov:-?}, corpus now $(ls "$dir/corpus" | wc -l) inputs"
	fi
done
exit $failed
