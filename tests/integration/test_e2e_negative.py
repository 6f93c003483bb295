#!/usr/bin/env python3
"""Negative end-to-end tests, one per command-line argument:

  rogue_ca       a gemeente certificate from another CA is refused
  spec_mismatch  a spec that differs between the nodes is refused on both
  bad_rows       malformed rows are counted by reason, nothing else is lost
  peer_stopped   the CBS daemon stopped (hung, then killed) mid-round: the
                 round fails cleanly, both daemons keep serving, and a new
                 round succeeds
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()



def rogue_ca(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 7)
    rogue = os.path.join(work, "rogue")
    subprocess.run([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), rogue, "rogue CA"], check=True,
                   stdout=subprocess.DEVNULL)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"])
    with harness.Cluster(gcsv, ccsv, peer_timeout=3, resend=1, gemeente_certs=rogue) as cl:
        cl.start()
        cl.approve(spec)
        rid, r = cl.run_round(spec, expect_ok=False)
        T.check(r.returncode == 3, "round with a certificate from another CA fails (exit %d)" % r.returncode)
        err = cl.gemeente.round_status(rid).get("error", "")
        T.check("no TLS connection" in err, "the gemeente says it has no TLS connection: %r" % err)
        T.check(cl.cbs.alive() and cl.cbs.ctl("round", "list", check=False).returncode == 0,
                "the CBS daemon keeps serving")
        T.check(rid not in cl.cbs.ctl("round", "list").stdout, "the CBS node never saw the round")


def spec_mismatch(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 8)
    a = harness.write_spec(os.path.join(work, "a.ini"), ["bsn"], min_cell=0, name="same-name")
    b = harness.write_spec(os.path.join(work, "b.ini"), ["bsn"], min_cell=10, name="same-name")
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        r = cl.gemeente.ctl("round", "start", a, check=False)
        T.check(r.returncode == 4 and "not approved" in r.stderr,
                "an unapproved spec is refused at start (exit %d: %s)" % (r.returncode, r.stderr.strip()))
        cl.gemeente.ctl("spec", "approve", a)
        cl.cbs.ctl("spec", "approve", b)
        rid, r = cl.run_round(a, expect_ok=False)
        T.check(r.returncode == 3, "round on differing specs fails (exit %d)" % r.returncode)
        err = cl.gemeente.round_status(rid).get("error", "")
        T.check("not approved at the CBS node" in err, "udcctl shows why: %r" % err)
        cbs_err = cl.cbs.round_status(rid)
        T.check(cbs_err.get("state") == "failed" and "not approved" in cbs_err.get("error", ""),
                "the CBS node records the refusal too: %r" % cbs_err)
        r = cl.gemeente.ctl("round", "result", rid, check=False)
        T.check(r.returncode == 4, "no result for a refused round (exit %d)" % r.returncode)


def bad_rows(work):
    g = os.path.join(work, "g.csv")
    c = os.path.join(work, "c.csv")
    # Valid BSNs (11-test): 111222333, 123456782, and more made below.
    def bsn(n):
        d = [int(x) for x in "%08d" % n]
        s = sum(d[i] * (9 - i) for i in range(8)) % 11
        return None if s == 10 else "%08d%d" % (n, s)
    good = [b for b in (bsn(10000000 + 7 * i) for i in range(60)) if b][:40]
    gh = "truth_id,bsn,voornamen,voorvoegsel,geslachtsnaam,geboortedatum,geslacht,postcode,huisnummer,wijk,leeftijdsklasse,ooievaarspas\n"
    rows = []
    for i, b in enumerate(good):
        rows.append("%d,%s,Jan,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee\n" % (i, b))
    bad = [
        "900,%s,Jan,,Jansen,20150101,M,2511AB,1\n" % good[0],                 # too few fields
        "901,%s,\"Jan,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee\n" % good[1],  # quote never closed on this line...
        "902,%s,Jan,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee,extra\n" % good[2],  # too many fields
        "903,%s,J\xff\xfen,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee\n" % good[3],   # invalid UTF-8 (bytes)
        "904,%s,Jan,,Jansen,20150101,M,2511AB,1,WK059999,4-11,nee\n" % good[4],  # wijk not allowed
        "905,,Jan,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee\n",            # no BSN: no key
        "906,123456789,Jan,,Jansen,20150101,M,2511AB,1,WK051801,4-11,nee\n",   # fails the 11-test: no key
        "907,%s,Piet,,Pietersen,20140101,M,2511AB,2,WK051802,0-3,ja\n" % good[5],  # duplicate BSN of row 5
    ]
    with open(g, "wb") as f:
        f.write(gh.encode())
        for r in rows[:20]:
            f.write(r.encode())
        # The unterminated quote swallows the rest of the file into one bad
        # record, so it goes last; the other bad rows sit in between good ones.
        for r in bad[:1] + bad[2:]:
            f.write(r.encode("latin-1") if "\xff" in r else r.encode())
        for r in rows[20:]:
            f.write(r.encode())
        f.write(bad[1].encode())
    ch = "truth_id,bsn,first_names,prefix,last_name,date_of_birth,sex,postal_code,house_number,income_band,uitkering,household_type\n"
    with open(c, "w") as f:
        f.write(ch)
        for i, b in enumerate(good):
            f.write("%d,%s,Jan,,Jansen,01-01-2015,male,2511 AB,1,0-100,ja,paar\n" % (i, b))
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(g, c, reject_limit="1%") as cl:
        cl.start()
        cl.approve(spec)
        # 9 of 48 rows rejected: above the 1% limit, the round fails and says
        # why, by reason, rather than linking what is left.
        rid0, r0 = cl.run_round(spec, expect_ok=False)
        err0 = cl.gemeente.round_status(rid0).get("error", "")
        T.check(r0.returncode == 3 and "rejected 9 of 48 rows" in err0 and "invalid_utf8 1" in err0
                and "--accept-rejects" in err0,
                "too many rejected rows fail the round, with the counts by reason: %r" % err0)
        # The operator accepts them for this round.
        rid = cl.gemeente.ctl("round", "start", spec, "--accept-rejects").stdout.strip()
        r = cl.gemeente.ctl("round", "wait", rid, check=False)
        T.check(r.returncode == 0, "with --accept-rejects the round runs: %s" % r.stdout)
        inp = cl.gemeente.round_status(rid).get("input", "")
        T.check(inp.startswith("48 rows read, 39 used, 9 rejected (") and "malformed_csv 3" in inp
                and "duplicate 2" in inp, "round status says what the input gave: %r" % inp)
        T.check("rows read" in cl.cbs.round_status(rid).get("input", ""),
                "so does the CBS node's, for its own input")
        meta = json.loads(cl.gemeente.ctl("round", "result", rid, "--format", "json").stdout)["metadata"]
        gi = meta["gemeente_input"]
        print(json.dumps(gi, indent=1))
        rej = gi["rejected_by_reason"]
        T.check(gi["rows_read"] == 40 + 8, "every data row is counted as read (%d)" % gi["rows_read"])
        T.check(rej.get("malformed_csv") == 3, "3 malformed CSV records (%s)" % rej.get("malformed_csv"))
        T.check(rej.get("invalid_utf8") == 1, "1 row with invalid UTF-8 (%s)" % rej.get("invalid_utf8"))
        T.check(rej.get("label_not_allowed") == 1, "1 row with a wijk outside the spec (%s)" % rej.get("label_not_allowed"))
        T.check(rej.get("no_match_key") == 2, "2 rows without a usable BSN (%s)" % rej.get("no_match_key"))
        T.check(rej.get("duplicate") == 2, "both rows sharing a BSN are set aside (%s)" % rej.get("duplicate"))
        T.check(gi["invalid_values_by_field"].get("bsn") == 1, "1 BSN failing the 11-test")
        T.check(gi["records_used"] == 40 - 1, "39 records used (%d)" % gi["records_used"])
        T.check(meta["links_per_key"][0]["links"] == 39 - 0, "39 links (%d)" % meta["links_per_key"][0]["links"])
        logs = cl.gemeente.read_log()
        T.check(":22:" in logs or ":22: " in logs, "the log names file and line of a bad row")
        T.check(good[0] not in logs, "no BSN in the log")


def check_config(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 10)
    with harness.Cluster(gcsv, ccsv) as cl:
        for node in (cl.gemeente, cl.cbs):
            r = subprocess.run([harness.bin_path(node.prog), "--check-config", "-c", node.conf],
                               capture_output=True, text=True)
            T.check(r.returncode == 0 and r.stdout.strip() == "configuration OK",
                    "%s --check-config accepts a good file: %r" % (node.prog, r.stdout.strip()))
        r = subprocess.run([harness.bin_path("cbsd"), "--check-config", "-c", cl.gemeente.conf],
                           capture_output=True, text=True)
        T.check(r.returncode != 0 and "role is gemeente" in r.stderr,
                "cbsd refuses a gemeente configuration: %r" % r.stderr.strip())
        lines = open(cl.gemeente.conf).read().splitlines()
        idx = next(i for i, l in enumerate(lines) if l.startswith("timeout ="))
        lines[idx] = "timeout = forever"
        with open(cl.gemeente.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([harness.bin_path("gemeented"), "--check-config", "-c", cl.gemeente.conf],
                           capture_output=True, text=True)
        want = "%s:%d:" % (cl.gemeente.conf, idx + 1)
        T.check(r.returncode != 0 and want in r.stderr,
                "a bad value is reported with its file and line %r: %r" % (want, r.stderr.strip()))
        r = subprocess.run([harness.bin_path("cbsd"), "--check-config", "-c", cl.gemeente.conf.replace("gemeente.conf", "cbs.conf")],
                           capture_output=True, text=True)
        T.check(r.returncode == 0, "the other node's file is untouched and still OK")


def wait_step(node, rid, steps, timeout=120):
    """Polls the round's status.json every millisecond (a round's upload
    can last a few tenths of a second, and the gemeente's step alternates
    between upload and download meanwhile: asking udcctl every 20 ms missed
    it) until it shows one of steps or the round ended."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = node.status_file(rid) or {}
        if st.get("step") in steps or st.get("state") in ("done", "failed"):
            return st
        time.sleep(0.001)
    return node.round_status(rid)


def peer_stopped(work):
    gcsv, ccsv = harness.gen_population(work, 20000, 9)
    spec = harness.write_spec(os.path.join(work, "spec.ini"),
                              ["bsn", "surname+birth_date+postcode", "given_names+surname+birth_date"])
    with harness.Cluster(gcsv, ccsv, peer_timeout=4, resend=1, chunk=512, session_idle=10) as cl:
        cl.start()
        cl.approve(spec)
        # 1. The CBS daemon hangs (SIGSTOP) during the upload.
        rid = cl.gemeente.ctl("round", "start", spec).stdout.strip()
        st = wait_step(cl.gemeente, rid, ("upload",))
        T.check(st.get("state") == "running", "round reached the upload step: %r" % st)
        cl.cbs.proc.send_signal(signal.SIGSTOP)
        r = cl.gemeente.ctl("round", "wait", rid, check=False, timeout=120)
        cl.cbs.proc.send_signal(signal.SIGCONT)
        err = cl.gemeente.round_status(rid).get("error", "")
        T.check(r.returncode == 3 and "no answer within 4 s" in err, "hung peer: the round fails by timeout: %r" % err)
        T.check(cl.gemeente.ctl("round", "list", check=False).returncode == 0, "the gemeente keeps serving")
        T.check(cl.cbs.ctl("round", "list", check=False).returncode == 0, "the CBS daemon serves again")
        # The CBS node notices the silence and fails its side of the round.
        deadline = time.time() + 30
        while time.time() < deadline and cl.cbs.round_status(rid).get("state") != "failed":
            time.sleep(0.2)
        T.check(cl.cbs.round_status(rid).get("state") == "failed", "the CBS side of the round is failed too")
        # 2. The CBS daemon dies (SIGKILL) during the upload and is restarted.
        rid2 = cl.gemeente.ctl("round", "start", spec).stdout.strip()
        wait_step(cl.gemeente, rid2, ("upload",))
        # The gemeente proposes while it reads, so its step can say upload
        # before the CBS node has taken the proposal: kill the CBS node only
        # once it holds the round (what this case is about).
        deadline = time.time() + 30
        while time.time() < deadline and cl.cbs.round_status(rid2).get("state") != "running":
            time.sleep(0.02)
        T.check(cl.cbs.round_status(rid2).get("state") == "running",
                "the CBS node holds round 2 before it is killed")
        cl.cbs.proc.kill()
        cl.cbs.proc.wait()
        r = cl.gemeente.ctl("round", "wait", rid2, check=False, timeout=120)
        err = cl.gemeente.round_status(rid2).get("error", "")
        T.check(r.returncode == 3 and err != "", "killed peer: the round fails with a reason: %r" % err)
        cl.cbs.start()
        st = cl.cbs.round_status(rid2)
        T.check(st.get("state") == "failed" and "interrupted" in st.get("error", ""),
                "after a restart the CBS node marks the interrupted round failed: %r" % st)
        # 3. Both serve and a new round succeeds.
        rid3, r = cl.run_round(spec)
        T.check(r.returncode == 0, "a new round succeeds after the failures")
        T.check(cl.gemeente.alive() and cl.cbs.alive(), "both daemons are still running")


def main():
    tests = {"rogue_ca": rogue_ca, "spec_mismatch": spec_mismatch, "bad_rows": bad_rows,
             "peer_stopped": peer_stopped, "check_config": check_config}
    names = sys.argv[1:] or list(tests)
    for n in names:
        work = harness.tempfile.mkdtemp(prefix="udc-neg-")
        print("== " + n)
        try:
            tests[n](work)
        finally:
            harness.shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
