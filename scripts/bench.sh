#!/usr/bin/env bash
# bench.sh - the udclink benchmark: micro figures, full rounds with both
# daemons over TLS on loopback, the cryptographic bound of each exact round,
# and a peer (OpenMined PSI).  Prints the results and writes
# docs/benchmarks.md.  See docs/benchmarks.md for what is measured and how.
#
#   scripts/bench.sh                  default run (~20-25 min on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh    smoke run, small sizes (~3 min)
#   BENCH_SKIP_PSI=1                  leave out the OpenMined PSI peer
#   BENCH_SKIP_3KEY_LARGE=1           leave out the 1M x 1M three-key round
#   BUILD_DIR=DIR                     build directory (default build-bench)
#   BENCH_REF=REV                     build that commit (git archive) instead
#                                     of the working tree; the benchmark's own
#                                     files (tests/bench, tests/unit/bench*)
#                                     are taken from the working tree
#   BENCH_DOC=PATH                    where to write the report
#                                     (default docs/benchmarks.md)
#   BENCH_SEED=S                      generator seed (default 1)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$here/build-bench}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$here/$BUILD_DIR ;; esac
QUICK=${BENCH_QUICK:-0}
SKIP_PSI=${BENCH_SKIP_PSI:-0}
SKIP_3KL=${BENCH_SKIP_3KEY_LARGE:-0}
REF=${BENCH_REF:-}
DOC=${BENCH_DOC:-$here/docs/benchmarks.md}
SEED=${BENCH_SEED:-1}
PSI_VERSION=2.0.6
ncpu=$(nproc)
out=$BUILD_DIR/bench-out
data=$BUILD_DIR/bench-data
mkdir -p "$out" "$data"
log() { printf 'bench: %s\n' "$*" >&2; }
t_start=$(date +%s)
# CPU pressure (microseconds in which some task waited for a CPU) over the run
psi_cpu() { awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
p_start=$(psi_cpu)

if [ "$QUICK" = 1 ]; then
	SMALL=${BENCH_SMALL:-10000}; LARGE=${BENCH_LARGE:-50000}; FUZZY_N=$SMALL; PSI_N=$SMALL
	MICRO_S=0.5; FUZZY_BENCH_N=20000
else
	SMALL=${BENCH_SMALL:-100000}; LARGE=${BENCH_LARGE:-1000000}; FUZZY_N=$SMALL; PSI_N=$SMALL
	MICRO_S=2; FUZZY_BENCH_N=100000
fi

# --- 1. packages and build -------------------------------------------------
if ! "$here/scripts/install-deps.sh" --test >&2; then
	log "install-deps.sh failed (no root/sudo?); going on with what is installed"
fi
command -v ss >/dev/null || log "ss (iproute2) missing: byte counts will be 0"
src=$here
if [ -n "$REF" ]; then
	src=$BUILD_DIR/src
	rm -rf "$src"
	mkdir -p "$src"
	git -C "$here" archive "$REF" | tar -x -C "$src"
	cp "$here"/tests/bench/*.c "$src/tests/bench/"
	cp "$here"/tests/unit/bench*.cmake "$src/tests/unit/"
	log "building $REF ($(git -C "$here" rev-parse --short "$REF")) in $src"
fi
obj=$BUILD_DIR/obj
# Release (-O3 -DNDEBUG).  UDC_WERROR=OFF: gcc 12 at -O3 reports
# -Wmaybe-uninitialized false positives in common/fuzzy/clk.c.
cmake -S "$src" -B "$obj" -DCMAKE_BUILD_TYPE=Release -DUDC_WERROR=OFF >/dev/null
targets=(gemeented cbsd udcctl bench_crypto bench_clk bench_fuzzy)
# operator signing keys, in trees that have them
[ -f "$src/tools/udc-keygen.c" ] && targets+=(udc-keygen)
for f in "$src"/tests/unit/bench_*.cmake; do
	n=$(basename "$f" .cmake)
	case " ${targets[*]} " in *" $n "*) ;; *) grep -q "add_executable($n" "$f" && targets+=("$n") ;; esac
done
log "building ${targets[*]}"
cmake --build "$obj" -j"$ncpu" --target "${targets[@]}" >"$out/build.log" 2>&1 ||
	{ tail -30 "$out/build.log" >&2; exit 1; }
tb=$obj/tests

# --- 2. system ---------------------------------------------------------------
python3 - "$out/system.json" "$here" "$REF" <<'EOF'
import json, os, subprocess, sys, time
out, here, ref = sys.argv[1:4]
def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
cpu = ""
flags = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name") and not cpu:
        cpu = line.split(":", 1)[1].strip()
    if line.startswith("flags") and not flags:
        flags = line
pk = {}
for p in ("libsodium23", "libssl3", "libnng1", "libmbedtls14", "libprotobuf-c1", "gcc", "nodejs"):
    pk[p] = sh("dpkg-query", "-W", "-f=${Version}", p)
rev = sh("git", "-C", here, "rev-parse", ref or "HEAD")
dirty = "" if ref else sh("git", "-C", here, "status", "--porcelain", "--untracked-files=no")
json.dump({"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "cpu": cpu, "cores": os.cpu_count(),
           "avx512_vpopcntdq": "avx512_vpopcntdq" in flags,
           "kernel": sh("uname", "-sr"), "packages": pk, "commit": rev,
           "built_from": ("git archive " + ref) if ref else "working tree",
           "tree_dirty": bool(dirty), "load_start": open("/proc/loadavg").read().split()[:3],
           "node": sh("node", "--version")}, open(out, "w"), indent=1)
EOF

# --- 3. micro figures -------------------------------------------------------
log "micro: bench_crypto ($MICRO_S s per figure)"
"$tb/bench_crypto" "$MICRO_S" | tee "$out/bench_crypto.txt"
log "micro: bench_clk, one process, then $ncpu at once"
"$tb/bench_clk" "$MICRO_S" | tee "$out/bench_clk.txt"
for i in $(seq 1 "$ncpu"); do "$tb/bench_clk" "$MICRO_S" >"$out/bench_clk.par$i.txt" & done
wait
log "micro: bench_fuzzy $FUZZY_BENCH_N x $FUZZY_BENCH_N"
"$tb/bench_fuzzy" "$FUZZY_BENCH_N" "$FUZZY_BENCH_N" | tee "$out/bench_fuzzy.txt"
for f in "$tb"/bench_*; do
	n=$(basename "$f")
	case $n in bench_crypto|bench_clk|bench_fuzzy) continue ;; esac
	[ -x "$f" ] || continue
	case $n in
	bench_dedupe) arg=$LARGE ;;
	# tools with arguments of their own (city lists, schema, sizes): run
	# by hand, see their headers
	bench_fields|bench_linked) log "micro: $n not run here (needs its own arguments)"; continue ;;
	*) arg=$MICRO_S ;;
	esac
	log "micro: $n $arg"
	"$f" "$arg" | tee "$out/$n.txt" || log "$n failed (exit $?); going on"
done

# --- 4. data ------------------------------------------------------------------
gen() { # persons -> $data/{g,c}_N.csv, kept between runs (same generator, seed)
	local n=$1 stamp
	stamp="$n $SEED $(sha256sum "$here/scripts/gen-population" | cut -c1-16)"
	if [ -f "$data/g_$n.csv" ] && [ "$(cat "$data/stamp_$n" 2>/dev/null)" = "$stamp" ]; then
		return
	fi
	log "generating $n persons (seed $SEED)"
	"$here/scripts/gen-population" --persons "$n" --seed "$SEED" \
		--out-gemeente "$data/g_$n.csv" --out-cbs "$data/c_$n.csv" 2>"$data/gen_$n.log"
	echo "$stamp" >"$data/stamp_$n"
}
gen "$SMALL"
gen "$LARGE"

# --- 5. full rounds -----------------------------------------------------------
K3='["bsn", "surname+birth_date+postcode", "given_names+surname+birth_date"]'
r() { # name persons keys pad [mode [pin [scoring [extra JSON fields]]]]
	printf '{"name": "%s", "persons": %s, "gemeente": "%s", "cbs": "%s", "keys": %s, "pad": "%s", "mode": "%s", "schema": "%s", "pin": %s, "scoring": "%s"%s}' \
		"$1" "$2" "$data/g_$2.csv" "$data/c_$2.csv" "$3" "$4" "${5:-exact}" \
		"$here/docs/examples/denhaag-clk-$([ "${7:-record}" = fields ] && echo fields-)schema.json" \
		"${6:-false}" "${7:-record}" "${8:+, $8}"
}
# The Den Haag study spec as users run it (docs/examples), its labels mapped
# to the generator's columns.
DH="\"spec_file\": \"$here/docs/examples/denhaag-kinderarmoede.spec\", \"labels_g\": {\"wijk\": \"wijk\", \"age_band\": \"leeftijdsklasse\", \"ooievaarspas\": \"ooievaarspas\"}, \"labels_c\": {\"income_band\": \"income_band\", \"uitkering\": \"uitkering\"}"
rm -f "$out/rounds.json"
rounds=(
	"$(r exact-1key-small "$SMALL" '["bsn"]' none)"
	"$(r exact-1key-small-portable "$SMALL" '["bsn"]' none exact false record '"env": {"UDC_GROUP_BACKEND": "portable"}')"
	"$(r exact-3key-small "$SMALL" "$K3" none)"
	"$(r exact-1key-small-padmax "$SMALL" '["bsn"]' max)"
	"$(r denhaag-study-small "$SMALL" "$K3" max exact false record "$DH")"
	"$(r fuzzy-small "$FUZZY_N" '[]' none fuzzy false record '"repeat": 3')"
	"$(r fuzzy-small-fields "$FUZZY_N" '[]' none fuzzy false fields)"
	# three runs each (the median is kept): the WAN verdict is the
	# difference of the two, and one run under load moved it by 0.3 s
	"$(r exact-1key-small-2nodes "$SMALL" '["bsn"]' none exact true record '"repeat": 3')"
	"$(r exact-1key-small-2nodes-wan20 "$SMALL" '["bsn"]' none exact true record '"delay_ms": 20, "repeat": 3')"
)
nsmall=${#rounds[@]}
rounds+=("$(r exact-1key-large "$LARGE" '["bsn"]' none)")
# two one-core nodes with ten times the work: the round's fixed steps
# (proposal, count, seal) weigh little, the overlap of the exchange shows
rounds+=("$(r exact-1key-large-2nodes "$LARGE" '["bsn"]' none exact true)")
[ "$SKIP_3KL" = 1 ] || rounds+=("$(r exact-3key-large "$LARGE" "$K3" none)")
log "rounds: ${#rounds[@]}"
python3 "$here/scripts/bench/rounds.py" --bin "$obj" --work "$out/rounds" --out "$out/rounds.json" "${rounds[@]:0:$nsmall}"
# The multiplication rate once more, next to the large rounds: the report
# divides by the best all-core rate of the run (the most demanding bound).
log "micro: bench_crypto again, before the large rounds"
"$tb/bench_crypto" "$MICRO_S" >"$out/bench_crypto.2.txt"
python3 "$here/scripts/bench/rounds.py" --bin "$obj" --work "$out/rounds" --out "$out/rounds.json" "${rounds[@]:$nsmall}"

# --- 6. the peer: OpenMined PSI ------------------------------------------------
rm -f "$out/psi.json" "$out/psi.err"
if [ "$SKIP_PSI" = 1 ]; then
	echo "skipped (BENCH_SKIP_PSI=1)" >"$out/psi.err"
else
	psidir=$BUILD_DIR/psi
	pkg=$psidir/node_modules/@openmined/psi.js
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "node/npm not installed" >"$out/psi.err"
	else
		if [ ! -f "$pkg/psi_wasm_node.js" ] || ! grep -q "\"version\": \"$PSI_VERSION\"" "$pkg/package.json"; then
			log "npm install @openmined/psi.js@$PSI_VERSION into $psidir"
			mkdir -p "$psidir"
			# --ignore-scripts: the package's post-install step downloads a
			# build that cannot be fetched here; the WASM is embedded in
			# psi_wasm_node.js anyway.
			(cd "$psidir" && npm install --ignore-scripts --no-audit --no-fund \
				"@openmined/psi.js@$PSI_VERSION" >"$out/npm.log" 2>&1) ||
				echo "npm install failed: $(tail -3 "$out/npm.log" | tr '\n' ' ')" >"$out/psi.err"
		fi
		if [ ! -f "$out/psi.err" ]; then
			log "peer: OpenMined PSI $PSI_N x $PSI_N BSNs, P-256, one thread"
			node "$here/scripts/bench/psi.js" "$pkg" "$data/g_$PSI_N.csv" "$data/c_$PSI_N.csv" \
				"$out/psi.json" >"$out/psi.out" 2>&1 ||
				echo "psi.js failed: $(tail -5 "$out/psi.out" | tr '\n' ' ')" >"$out/psi.err"
		fi
	fi
fi

# --- 7. report -----------------------------------------------------------------
p_end=$(psi_cpu)
elapsed=$(( $(date +%s) - t_start ))
python3 "$here/scripts/bench/report.py" --out "$out" --doc "$DOC" --quick "$QUICK" \
	--elapsed "$elapsed" --pressure "$(awk -v a="$p_start" -v b="$p_end" -v t="$elapsed" \
		'BEGIN { if (t > 0 && b > a) printf "some task waited for a CPU %.0f%% of the time", (b - a) / 1e4 / t; else print "not read" }')"
log "done in $(( $(date +%s) - t_start )) s; report in $DOC, raw figures in $out"
