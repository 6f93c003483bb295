#!/usr/bin/env python3
"""A hostile gemeente against a real cbsd.

Starts both daemons, approves a spec on both and runs one real round (so a
finished round id exists to replay), then runs hostile_peer against cbsd
with the gemeente's TLS certificate, signing key and config.  Afterwards:
cbsd is alive and serving, its audit log holds a message_refused entry for
every refused message, a new real round succeeds, and after a restart of
cbsd the ids of finished rounds are still refused ("already ran").
"""
import os
import re
import shutil
import subprocess
import time
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()



def hostile_bin():
    p = os.path.join(harness.BIN, "tests", "integration", "hostile_peer")
    return p if os.path.exists(p) else harness.bin_path("hostile_peer")


def hostile(cl, spec, *args, timeout=150):
    cmd = [hostile_bin(), "-c", cl.gemeente.conf, "-s", spec,
           "-k", os.path.join(cl.keys, "gemeente.sign")] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    sys.stdout.write("--- hostile_peer %s\n%s" % (" ".join(args), r.stdout))
    if r.stderr:
        sys.stdout.write("--- stderr\n%s" % r.stderr)
    sys.stdout.write("--- end of hostile_peer (exit %d)\n" % r.returncode)
    return r


def main():
    work = tempfile.mkdtemp(prefix="udc-hostile-")
    try:
        gcsv, ccsv = harness.gen_population(work, 1000, 41)
        spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
        with harness.Cluster(gcsv, ccsv) as cl:
            cl.start()
            cl.approve(spec)
            rid1, _ = cl.run_round(spec)
            T.check(cl.cbs.round_status(rid1).get("state", "") == "done", "a real round %s ran first" % rid1)
            before = len(cl.cbs.audit_entries())

            r = hostile(cl, spec, "-r", rid1)
            m = re.search(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
            T.check(r.returncode == 0 and m is not None,
                    "hostile_peer: every case behaved (%s)" % (m.group(0) if m else "exit %d" % r.returncode))
            T.check(cl.cbs.alive(), "cbsd is still running after the hostile peer")
            lst = cl.cbs.ctl("round", "list", check=False)
            T.check(lst.returncode == 0 and rid1 in lst.stdout,
                    "cbsd still serves its control socket (udcctl round list)")

            new = cl.cbs.audit_entries()[before:]
            refused = [e for e in new if e["type"] == "message_refused"]
            # Every Error reply hostile_peer checked ("Error X (want Y)") is one refusal.
            errors = len(re.findall(r"^(?:ok|FAILED): .*: Error ERR_", r.stdout, re.M))
            T.check(errors > 0 and len(refused) >= errors,
                    "CBS audit log: %d message_refused entries for %d Error replies" % (len(refused), errors))
            types = set(e["fields"].get("type") for e in refused)
            for t in ("undecodable", "g_chunk", "fetch", "r_chunk", "finish", "seal", "status", "ack"):
                T.check(t in types, "CBS audit log: a %s message was refused" % t)
            reasons = " | ".join(e["fields"].get("reason", "") for e in refused)
            for w in ("not known at the CBS node", "out of order", "out of range", "bytes of points",
                      "invalid group element", "not allowed in state", "already ran"):
                T.check(w in reasons, "CBS audit log: a refusal says '%s'" % w)
            T.check(any(e["type"] == "round_refused" and "pinned key" in e["fields"].get("reason", "")
                        for e in new),
                    "CBS audit log: the proposal signed by another key is a round_refused entry")
            T.check(cl.cbs.round_status(rid1).get("state", "") == "done", "the replayed round %s is still done at CBS" % rid1)
            v = cl.cbs.ctl("audit", "verify", check=False)
            T.check(v.returncode == 0, "CBS audit log verifies: %s" % (v.stdout.strip() or v.stderr.strip()))

            rid2, r2 = cl.run_round(spec, expect_ok=False)
            T.check(r2.returncode == 0 and cl.cbs.round_status(rid2).get("state", "") == "done",
                    "a new real round %s succeeds after the hostile peer (exit %d)" % (rid2, r2.returncode))

            # Finished rounds stay refused once their sessions are gone.
            cl.cbs.stop()
            cl.cbs.start()
            r3 = hostile(cl, spec, "--only", "replay", "-r", rid1, "-r", rid2)
            T.check(r3.returncode == 0, "after a restart of cbsd, replays of %s and %s are refused" % (rid1, rid2))
            T.check(cl.cbs.alive(), "cbsd is still running after the replays")

            # A flood of junk: every message answered, the audit log bounded
            # (a burst of 200 entries, then 1 per second), and the rest
            # counted into messages_refused_unrecorded entries, written at
            # the latest when cbsd stops: the total is exact.
            N = 600
            before = len(cl.cbs.audit_entries())
            t0 = time.time()
            r4 = hostile(cl, spec, "--only", "flood", "--flood", str(N))
            secs = time.time() - t0
            T.check(r4.returncode == 0, "flood: cbsd answered all %d junk messages with an Error" % N)
            T.check(cl.cbs.alive(), "cbsd is still running after the flood")
            mid = cl.cbs.audit_entries()[before:]
            recorded = sum(1 for e in mid if e["type"] == "message_refused")
            T.check(recorded <= 200 + secs + 2,
                    "flood: %d message_refused entries during %.1f s (at most 200 + 1/s)" % (recorded, secs))
            cl.cbs.stop()
            after = cl.cbs.audit_entries()[before:]
            recorded = sum(1 for e in after if e["type"] == "message_refused")
            counted = sum(e["fields"].get("count", 0) for e in after
                          if e["type"] == "messages_refused_unrecorded")
            # hostile_peer's two liveness probes are refused too (unknown round)
            probes = len(re.findall(r"cbsd still serving after", r4.stdout))
            T.check(recorded + counted == N + probes and counted > 0,
                    "flood: %d recorded one by one + %d counted = %d junk messages + %d probes"
                    % (recorded, counted, N, probes))
            cl.cbs.start()
            v = cl.cbs.ctl("audit", "verify", check=False)
            T.check(v.returncode == 0, "CBS audit log verifies after the flood: %s"
                    % (v.stdout.strip() or v.stderr.strip()))
            if T.failed:
                print("--- cbs log (tail)\n" + cl.cbs.read_log()[-6000:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
