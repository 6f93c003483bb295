#!/usr/bin/env python3
"""End-to-end: both daemons on loopback over mutual TLS run a BSN-keyed round
with min_cell 0; the released table must equal the table this test computes
itself by joining the two CSV files on valid, equal BSNs."""
import collections
import csv
import io
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PERSONS = int(os.environ.get("UDC_E2E_PERSONS", "4000"))


def norm_bsn(s):
    d = s.replace(" ", "").replace(".", "").strip()
    if not d.isdigit() or len(d) not in (8, 9):
        return None
    d = d.zfill(9)
    if d == "000000000":
        return None
    total = sum(int(d[i]) * (9 - i) for i in range(8)) - int(d[8])
    return d if total % 11 == 0 else None


def side(path, bsn_col, label_cols, allowed):
    """BSN -> label tuple for rows with a valid BSN that occurs once and
    labels from the allowed sets."""
    seen = collections.Counter()
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            b = norm_bsn(r[bsn_col])
            labels = tuple(r[c].strip() for c in label_cols)
            if b is None or any(l not in a for l, a in zip(labels, allowed)):
                continue
            seen[b] += 1
            rows.append((b, labels))
    return {b: l for b, l in rows if seen[b] == 1}


def main():
    t = harness.Checks()
    work = harness.tempfile.mkdtemp(prefix="udc-e2e-")
    gcsv, ccsv = harness.gen_population(work, PERSONS, 20261127)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0, name="e2e-bsn")
    gdims = [("wijk", "wijk", harness.WIJKEN), ("age_band", "leeftijdsklasse", ["0-3", "4-11", "12-17"]),
             ("ooievaarspas", "ooievaarspas", ["ja", "nee"])]
    cdims = [("income_band", "income_band", ["0-100", "100-130", "130-200", "200+"]),
             ("uitkering", "uitkering", ["ja", "nee"])]
    g = side(gcsv, "bsn", [d[1] for d in gdims], [d[2] for d in gdims])
    c = side(ccsv, "bsn", [d[1] for d in cdims], [d[2] for d in cdims])
    want = collections.Counter()
    for b, gl in g.items():
        if b in c:
            want[("linked",) + gl + c[b]] += 1
        else:
            want[("gemeente_only",) + gl + ("",) * len(cdims)] += 1
    for b, cl in c.items():
        if b not in g:
            want[("cbs_only",) + ("",) * len(gdims) + cl] += 1

    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        rid, _ = cl.run_round(spec)
        out = cl.gemeente.ctl("round", "result", rid).stdout
        got = collections.Counter()
        rows = list(csv.reader(io.StringIO(out)))
        header = rows[0]
        t.check(header == ["kind"] + [d[0] for d in gdims] + [d[0] for d in cdims] + ["count", "suppressed"],
                "CSV header names every dimension: %s" % header)
        nrows = 0
        for r in rows[1:]:
            nrows += 1
            if r[-1] not in ("0", "1"):
                t.check(False, "suppressed column is 0 or 1: %r" % r)
            if int(r[-2] or 0):
                got[tuple(r[:-2])] += int(r[-2])
        ng = 44 * 3 * 2
        nc = 4 * 2
        t.check(nrows == ng * nc + ng + nc, "one row per cell and per margin entry (%d)" % nrows)
        t.check(got == +want, "released table equals the BSN join computed here (%d links, %d entries)"
                % (sum(v for k, v in want.items() if k[0] == "linked"), len(+want)))
        if got != +want:
            diff = (got - want) + (want - got)
            print("differences (first 10):", list(diff.items())[:10])
        meta = json.loads(cl.gemeente.ctl("round", "result", rid, "--format", "json").stdout)["metadata"]
        links = sum(v for k, v in want.items() if k[0] == "linked")
        t.check(meta["links_per_key"][0]["links"] == links, "metadata: links per key = %d" % links)
        t.check(meta["round_id"] == rid, "metadata: round id")
        t.check(meta["gemeente_input"]["rows_read"] > 0 and meta["cbs_input"]["rows_read"] > 0,
                "metadata: rows read on both sides")
        cbs_copy = cl.cbs.ctl("round", "result", rid).stdout
        t.check(cbs_copy == out, "the CBS node stored the same released table")
        for node in (cl.gemeente, cl.cbs):
            mode = os.stat(os.path.join(cl.dir, node.role + ".ctl")).st_mode & 0o777
            t.check(mode == 0o600, "%s control socket has mode %o (want 600)" % (node.role, mode))
        st = cl.gemeente.ctl("round", "status", rid).stdout
        t.check("state:    done" in st, "round status says done")
        # The round's secrets (scalars) are wiped when it ends: the count of
        # live locked-memory secrets is back to what the daemon started with.
        for node in (cl.gemeente, cl.cbs):
            log = node.read_log()
            base = re.search(r"ready: .*?, (\d+) secrets in locked memory", log)
            after = re.findall(r"round %s.*?: (\d+) secrets in locked memory after the round" % rid, log)
            t.check(base and after and int(after[-1]) == int(base.group(1)),
                    "%s: secrets in locked memory after the round %s, at start %s"
                    % (node.role, after[-1] if after else "?", base.group(1) if base else "?"))
        rcs = cl.stop()
        t.check(rcs == (0, 0), "both daemons exit cleanly on SIGTERM (exit codes %s)" % (rcs,))
    harness.shutil.rmtree(work, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
