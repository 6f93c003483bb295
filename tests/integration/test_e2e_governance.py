#!/usr/bin/env python3
"""Governance end to end, one test per argument:

  signed_round    approvals exchanged and checked, the released table signed
                  and verified, transcripts sealed by both nodes, audit logs
                  that verify and hold no identifier
  wrong_key       a gemeente whose approval is not signed by the key the CBS
                  node pinned is refused, and both nodes say why
  audit_tamper    an edited or deleted audit entry is found by udcctl audit verify
  key_mode        a signing key readable by others is refused at start
"""
import csv
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()


def fingerprint(pub):
    return subprocess.run([harness.bin_path("udc-keygen"), "fingerprint", pub], capture_output=True,
                          text=True, check=True).stdout.split()[0]


def signed_round(work):
    gcsv, ccsv = harness.gen_population(work, 1500, 31)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        r = cl.gemeente.ctl("spec", "approve", spec)
        gfp = fingerprint(os.path.join(cl.keys, "gemeente.pub"))
        cfp = fingerprint(os.path.join(cl.keys, "cbs.pub"))
        T.check(gfp in r.stdout, "the approval is signed with the gemeente's key %s: %r" % (gfp, r.stdout.strip()))
        cl.cbs.ctl("spec", "approve", spec)
        rid, _ = cl.run_round(spec)
        r = cl.gemeente.ctl("round", "result", rid)
        T.check("signed by the CBS node's key %s (verified)" % cfp in r.stderr,
                "udcctl round result shows who signed: %r" % r.stderr.strip())
        r2 = cl.cbs.ctl("round", "result", rid)
        T.check(cfp in r2.stderr, "the CBS node shows its own signature: %r" % r2.stderr.strip())
        tj = [json.load(open(os.path.join(cl.dir, role + "-state", "rounds", rid, "transcript.json")))
              for role in ("gemeente", "cbs")]
        T.check(tj[0]["transcript_sha256"] == tj[1]["transcript_sha256"] and tj[0]["both_signed"],
                "both nodes sealed the same transcript %s" % tj[0]["transcript_sha256"][:16])
        for node in (cl.gemeente, cl.cbs):
            v = node.ctl("audit", "verify", check=False)
            T.check(v.returncode == 0 and "audit log OK" in v.stdout,
                    "%s: udcctl audit verify: %s" % (node.role, v.stdout.strip() or v.stderr.strip()))
            path, entries = node.audit_log(), node.audit_entries()
            types = [e["type"] for e in entries]
            for t in ("spec_approved", "round_proposed", "result_released", "peer_head", "checkpoint"):
                T.check(t in types, "%s audit log has a %s entry" % (node.role, t))
            text = open(path).read()
            bsns = set()
            for f in (gcsv, ccsv):
                with open(f, newline="") as fh:
                    for row in csv.DictReader(fh):
                        if row["bsn"]:
                            bsns.add(row["bsn"].strip())
            leaked = [b for b in bsns if b in text]
            T.check(not leaked, "%s audit log holds no BSN (%d found)" % (node.role, len(leaked)))
        gent = cl.gemeente.audit_entries()
        prop = [e for e in gent if e["type"] == "round_proposed"]
        T.check(prop and prop[0]["fields"]["uid"] == os.getuid(),
                "the gemeente records who started the round (uid %d)" % os.getuid())
        digest = [e for e in gent if e["type"] == "input_digest"]
        T.check(digest and len(digest[0]["fields"]["file_sha256"]) == 64 and digest[0]["fields"]["rows"] > 0,
                "the gemeente records its input file's digest and row count")


def wrong_key(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 32)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(gcsv, ccsv) as cl:
        other = os.path.join(work, "other")
        subprocess.run([harness.bin_path("udc-keygen"), other + ".sign", other + ".pub"], check=True,
                       stdout=subprocess.DEVNULL)
        conf = open(cl.cbs.conf).read()
        conf = re.sub(r"public_key = .*", "public_key = %s.pub" % other, conf)
        open(cl.cbs.conf, "w").write(conf)
        cl.start()
        cl.approve(spec)
        rid, r = cl.run_round(spec, expect_ok=False)
        err = cl.gemeente.round_status(rid).get("error", "")
        T.check(r.returncode == 3 and "not signed by the gemeente's pinned key" in err,
                "the gemeente shows why: %r" % err)
        # A proposal the CBS node cannot attribute to its gemeente leaves
        # no round behind there (a stranger must not fill its state), only
        # the rate-limited refusal in its log and audit log.
        cerr = cl.cbs.round_status(rid)
        T.check(cerr.get("state") is None and cerr["_rc"] != 0,
                "the CBS node kept no round for it: %r" % cerr)
        cent = cl.cbs.audit_entries()
        T.check(any(e["type"] == "message_refused" and e["fields"]["round"] == rid and
                    "pinned key" in e["fields"]["reason"] for e in cent),
                "the refusal is in the CBS audit log")
        T.check("not signed by the gemeente's pinned key" in cl.cbs.read_log(),
                "and in the CBS log")


def audit_tamper(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 33)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        cl.run_round(spec)
        cl.gemeente.stop()
        path, entries = cl.gemeente.audit_log(), cl.gemeente.audit_entries()
        lines = open(path).read().splitlines(keepends=True)
        orig = list(lines)
        # 1. edit a value of the second entry, leaving its hash
        lines[1] = lines[1].replace('"uid":', '"uid":1', 1) if '"uid":' in lines[1] else lines[1].replace('"seq":2', '"seq":2 ', 1)
        open(path, "w").write("".join(lines))
        cl.gemeente.start()
        v = cl.gemeente.ctl("audit", "verify", check=False)
        T.check(v.returncode == 6 and ":2:" in v.stderr, "an edited entry is found on line 2: %r" % v.stderr.strip())
        cl.gemeente.stop()
        # 2. delete the second entry
        open(path, "w").write("".join(orig[:1] + orig[2:]))
        cl.gemeente.start()
        v = cl.gemeente.ctl("audit", "verify", check=False)
        T.check(v.returncode == 6 and ":2:" in v.stderr, "a deleted entry is found at line 2: %r" % v.stderr.strip())
        cl.gemeente.stop()
        open(path, "w").write("".join(orig))


def drop_rows(src, dst, n):
    with open(src) as f:
        lines = f.readlines()
    with open(dst, "w") as f:
        f.writelines(lines[:len(lines) - n])


def released_entries(csv_text):
    """{(row key): value or None if suppressed} of a released CSV table."""
    lines = csv_text.splitlines()
    head = lines[0].split(",")
    out = {}
    for row in lines[1:]:
        f = row.split(",")
        key = tuple(f[:-2])
        out[key] = None if f[-1] == "1" else int(f[-2])
    return head, out


def differencing(work):
    g0, ccsv = harness.gen_population(work, 1200, 35)
    gcsv = os.path.join(work, "g-now.csv")
    drop_rows(g0, gcsv, 0)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=10)
    again = harness.write_spec(os.path.join(work, "again.ini"), ["bsn"], min_cell=10, name="again",
                               extra_disclosure={"max_releases": "5"})
    noisy = harness.write_spec(os.path.join(work, "noisy.ini"), ["bsn"], min_cell=10, name="noisy",
                               extra_disclosure={"noise_epsilon": "1/2", "noise_budget": "1",
                                                 "round_base": "5", "max_releases": "5"})
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        for sp in (spec, again, noisy):
            cl.approve(sp)
        rid1, _ = cl.run_round(spec)
        first = cl.gemeente.ctl("round", "result", rid1).stdout
        # The same question on the same data: the stored release, not a new one.
        rid2, _ = cl.run_round(spec)
        T.check(cl.gemeente.ctl("round", "result", rid2).stdout == first,
                "asking again returns the stored release")
        meta = json.loads(cl.gemeente.ctl("round", "result", rid2, "--format", "json").stdout)["metadata"]
        T.check("stored release" in meta["disclosure_control"], "and says so: %r" % meta["disclosure_control"])
        # Three persons fewer under the same spec: a spec releases once per
        # CBS input unless it says otherwise.
        drop_rows(g0, gcsv, 3)
        rid3, r = cl.run_round(spec, expect_ok=False)
        err = cl.gemeente.round_status(rid3).get("error", "")
        T.check(r.returncode == 3 and "differencing" in err and "max_releases" in err,
                "a second release of the spec on the same CBS data is refused: %r" % err)
        T.check("differencing" in cl.cbs.round_status(rid3).get("error", ""), "the CBS node records why")
        # A spec that allows more releases: every entry that moved by less
        # than min_cell since the first release (same dimensions, same
        # values: the same entries) is suppressed; what is shown moved by
        # 0 or by at least min_cell.
        drop_rows(g0, gcsv, 20)
        rid4, r = cl.run_round(again, expect_ok=False)
        T.check(r.returncode == 0, "a spec with max_releases = 5 releases again")
        _, e1 = released_entries(first)
        _, e4 = released_entries(cl.gemeente.ctl("round", "result", rid4).stdout)
        both = [(k, e1[k], e4[k]) for k in e4 if e1.get(k) is not None and e4[k] is not None]
        bad = [(k, a, b) for k, a, b in both if 0 < abs(a - b) < 10]
        T.check(len(both) > 0 and not bad,
                "no released entry moved by 1..9 between the releases (%d compared, %s)" % (len(both), bad[:3]))
        m4 = json.loads(cl.gemeente.ctl("round", "result", rid4, "--format", "json").stdout)["metadata"]
        moved = re.findall(r"round %s: \d+ under min_cell \d+, (\d+) changed by less than min_cell" % rid4,
                           cl.cbs.read_log())
        T.check(moved and int(moved[0]) > 0, "the CBS node's log says how many entries moved: %s" % moved)
        T.check("changed" not in m4["disclosure_control"] and "zeros" not in m4["disclosure_control"],
                "the release does not say which rule suppressed what (the protection does not allow "
                "for a reader who knows): %r" % m4["disclosure_control"])
        # Noise: the budget (1) pays for one release (2 x 1/2); the same data
        # again gets the stored draw; a new gemeente list against the same CBS
        # data finds the budget spent.
        rid5, _ = cl.run_round(noisy)
        t5 = cl.gemeente.ctl("round", "result", rid5).stdout
        counts = [int(row.split(",")[-2]) for row in t5.splitlines()[1:] if row.split(",")[-2]]
        T.check(counts and all(c % 5 == 0 for c in counts), "noisy release rounded to multiples of 5")
        rid6, _ = cl.run_round(noisy)
        T.check(cl.gemeente.ctl("round", "result", rid6).stdout == t5, "the same data gets the same noisy draw")
        drop_rows(g0, gcsv, 0)
        rid7, r = cl.run_round(noisy, expect_ok=False)
        err = cl.gemeente.round_status(rid7).get("error", "")
        T.check(r.returncode == 3 and "budget of this spec on this CBS data is spent" in err, "the privacy budget, once spent, refuses: %r" % err)


def key_mode(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 34)
    with harness.Cluster(gcsv, ccsv) as cl:
        key = os.path.join(cl.keys, "gemeente.sign")
        os.chmod(key, 0o644)
        r = subprocess.run([harness.bin_path("gemeented"), "-c", cl.gemeente.conf], capture_output=True,
                           text=True, timeout=30)
        T.check(r.returncode != 0 and key in r.stderr and "0644" in r.stderr,
                "a signing key with mode 0644 is refused at start: %r" % r.stderr.strip()[-200:])
        os.chmod(key, 0o600)
        cl.gemeente.start()
        T.check(cl.gemeente.alive(), "with mode 0600 it starts")


def main():
    tests = {"signed_round": signed_round, "wrong_key": wrong_key, "audit_tamper": audit_tamper,
             "key_mode": key_mode, "differencing": differencing}
    for n in sys.argv[1:] or list(tests):
        work = harness.tempfile.mkdtemp(prefix="udc-gov-")
        print("== " + n)
        try:
            tests[n](work)
        finally:
            harness.shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
