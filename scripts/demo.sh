#!/usr/bin/env bash
# demo.sh - the Den Haag child-poverty study on one machine, end to end:
# packages, build, synthetic data, certificates, both daemons on loopback,
# spec approval on both nodes, one round of the study as linked tables
# (docs/examples/denhaag-kinderarmoede-tables.spec), the report written by
# `udcctl report` (report.html, indicators.csv, indicators.json) and the
# wijk-level indicators printed from it; then the daemons are stopped.
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
spec=$here/docs/examples/denhaag-kinderarmoede-tables.spec
report_conf=$here/docs/examples/denhaag-kinderarmoede.report
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
echo
echo "== the report: udcctl fetches the released tables and writes the indicators"
html=$("$ctl" -c "$run/gemeente.conf" report "$rid" -o "$run/report" --report-config "$report_conf")

echo
echo "== released tables ($run/report/result.csv): cells and how many are suppressed"
python3 - "$run/report/result.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
for t in doc["tables"]:
    dims = ", ".join(d["name"] for d in t["dimensions"]) or "(total only)"
    where = "".join(" where %s in %s" % (k, "/".join(v)) for k, v in sorted(t.get("where", {}).items()))
    print("  %-18s %-14s %-28s %4d cells, %3d suppressed%s" % (t["name"], t["population"], dims,
                                                              t["cells"], t["suppressed"], where))
PY

echo
echo "== indicators per wijk ($run/report/indicators.csv): count / total = share;"
echo "   a suppressed share shows only the interval the released cells allow (never a value)"
python3 - "$run/report/indicators.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
inds = doc["indicators"]

def cnt(v, k):
    if v[k] is not None:
        return "%d" % v[k]
    hi = v[k + "_high"]
    return "%d-%s" % (v[k + "_low"], "?" if hi is None else "%d" % hi)

def cell(v):
    if v["state"] == "nobody":
        return "nobody"
    if v["share_low"] is None:
        return "unknown"
    lo, hi = 100 * v["share_low"], 100 * v["share_high"]
    if v["state"] == "released":
        share = "%5.1f%%" % (100 * v["share"])
        iv = "" if hi - lo < 0.05 else " [%.1f-%.1f]" % (lo, hi)
    else:
        share, iv = "  supp", " [%.0f-%.0f%%]" % (lo, hi)
    return "%s/%s %s%s" % (cnt(v, "numerator"), cnt(v, "denominator"), share, iv)

names = [v["name"] or v["code"] for v in inds[0]["values"]]
heads = [i["name"] for i in inds]
rows = [[names[k]] + [cell(i["values"][k]) for i in inds] for k in range(len(names))]
w = [max(len(r[c]) for r in rows + [["wijk"] + heads]) for c in range(len(heads) + 1)]
print("  ".join(x.ljust(n) for x, n in zip(["wijk"] + heads, w)))
for r in rows:
    print("  ".join(x.ljust(n) for x, n in zip(r, w)))
print()
for i in inds:
    wijken = [v for v in i["values"] if v["code"] is not None]
    st = {s: sum(1 for v in wijken if v["state"] == s) for s in ("released", "suppressed", "nobody", "unknown")}
    print("%-17s released for %d of %d wijken (%d suppressed, %d with nobody in the denominator): %s"
          % (i["name"], st["released"], len(wijken), st["suppressed"], st["nobody"], i["title"]))
PY

echo
python3 - "$run/report/result.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))["metadata"]
for side in ("gemeente_input", "cbs_input"):
    s = m[side]
    rej = ", ".join("%s %d" % kv for kv in s["rejected_by_reason"].items() if kv[1])
    print("%-9s rows %d, used %d, rejected %d (%s)" % (s["node"], s["rows_read"], s["records_used"], s["rows_rejected"], rej or "none"))
for k, v in m.get("margins", {}).items():
    print("margin %-13s leaves out %d rejected rows: they are in no table" % (k, v["rows_rejected_not_counted"]))
PY
echo
echo "== the report: $html"
echo
echo "== the audit logs: hash chain and signed checkpoints, verified on each node"
"$ctl" -c "$run/gemeente.conf" audit verify
"$ctl" -c "$run/cbs.conf" audit verify
echo "== done in $(( $(date +%s) - t0 )) s; stopping the daemons"
