#!/usr/bin/env bash
# demo.sh - the Den Haag child-poverty study on one machine, end to end:
# packages, build, synthetic data, certificates, both daemons on loopback,
# spec approval on both nodes, one round, the released table and the
# indicators computed from it; then the daemons are stopped.
#
#   scripts/demo.sh                     # 10,000 children
#   UDC_DEMO_PERSONS=100000 scripts/demo.sh
#
# Everything goes to ./demo-run (or $UDC_DEMO_DIR), which is recreated.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
persons=${UDC_DEMO_PERSONS:-10000}
run=${UDC_DEMO_DIR:-$here/demo-run}
build=${BUILD_DIR:-$here/build}
spec=$here/docs/examples/denhaag-kinderarmoede.spec
t0=$(date +%s)

"$here/scripts/install-deps.sh" --build
# The programs only: no tests, no benchmarks.
"$here/scripts/build.sh" -DUDC_TESTS=OFF
bin_g=$build/party_gemeente/gemeented
bin_c=$build/party_cbs/cbsd
ctl=$build/tools/udcctl

rm -rf "$run"
mkdir -p "$run/data"
echo "== synthetic Den Haag: $persons children"
python3 "$here/scripts/gen-population" --persons "$persons" --seed 2026 \
	--out-gemeente "$run/data/gemeente.csv" --out-cbs "$run/data/cbs.csv"
echo "== demo certificates and node signing keys"
"$here/scripts/gen-certs.sh" "$run/certs" >/dev/null
mkdir -p "$run/keys"
for role in gemeente cbs; do
	"$build/tools/udc-keygen" "$run/keys/$role.sign" "$run/keys/$role.pub" >/dev/null
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for role in gemeente cbs; do
	sed "s/127.0.0.1:7440/127.0.0.1:$port/" "$here/docs/examples/$role.conf" >"$run/$role.conf"
done

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== starting cbsd and gemeented (logs in $run/*.log)"
"$bin_c" -c "$run/cbs.conf" 2>"$run/cbs.log" & pids+=($!)
"$bin_g" -c "$run/gemeente.conf" 2>"$run/gemeente.log" & pids+=($!)
for role in cbs gemeente; do
	for i in $(seq 1 300); do
		"$ctl" -c "$run/$role.conf" round list >/dev/null 2>&1 && break
		sleep 0.1
		[ "$i" -lt 300 ] || { echo "$role did not start:"; cat "$run/$role.log"; exit 1; }
	done
done

echo "== the operators approve the study spec on both nodes"
"$ctl" -c "$run/gemeente.conf" spec approve "$spec"
"$ctl" -c "$run/cbs.conf" spec approve "$spec"

echo "== round"
rid=$("$ctl" -c "$run/gemeente.conf" round start "$spec")
echo "round id: $rid"
"$ctl" -c "$run/gemeente.conf" round wait "$rid"
"$ctl" -c "$run/gemeente.conf" round result "$rid" >"$run/result.csv"   # says who signed it
"$ctl" -c "$run/gemeente.conf" round result "$rid" --format json >"$run/result.json"

echo
echo "== released table ($run/result.csv): entries with a count, and the number suppressed"
python3 - "$run/result.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head, body = rows[0], rows[1:]
shown = [r for r in body if r[-1] == "0" and r[-2] not in ("", "0")]
supp = sum(1 for r in body if r[-1] == "1")
zero = sum(1 for r in body if r[-1] == "0" and r[-2] == "0")
w = [max(len(x) for x in col) for col in zip(*([head] + shown))]
for r in [head] + shown:
    print("  ".join(x.ljust(n) for x, n in zip(r, w)))
print("%d entries released with a count, %d released as zero, %d suppressed (under min_cell)" % (len(shown), zero, supp))
PY
echo
python3 "$here/scripts/indicators.py" "$run/result.json"
echo
python3 - "$run/result.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metadata"]
for side in ("gemeente_input", "cbs_input"):
    s = m[side]
    rej = ", ".join("%s %d" % kv for kv in s["rejected_by_reason"].items() if kv[1])
    print("%-9s rows %d, used %d, rejected %d (%s)" % (s["node"], s["rows_read"], s["records_used"], s["rows_rejected"], rej or "none"))
PY
echo
echo "== the audit logs: hash chain and signed checkpoints, verified on each node"
"$ctl" -c "$run/gemeente.conf" audit verify
"$ctl" -c "$run/cbs.conf" audit verify
echo "== done in $(( $(date +%s) - t0 )) s; stopping the daemons"
