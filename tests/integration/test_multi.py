#!/usr/bin/env python3
"""One CBS node, two gemeenten (issue 12 item 7; docs/operations.md, "Serving
several gemeenten").

cbsd has [gemeente a] on the shared listener and [gemeente b] on a listener
of its own that trusts only gemeente b's CA.  Both read one national CBS
file, each through its filter value.  The test checks, against joins it
computes itself from the generated lists:

- rounds of a and b run at the CBS node at the same time (both sessions
  live at once: the CBS operator approves them only when both wait), and
  each released table equals the BSN join of that gemeente's list with its
  own part of the national file (and not with the whole file);
- the history is per gemeente: a spec that releases once per CBS input
  releases once for a and once for b, and a's second release is refused;
- approvals are per gemeente: `spec approve` without --peer is refused and
  names the gemeenten; a spec approved only for b is refused to a;
- impersonation is refused and logged, and the node keeps serving:
  a's key proposing under b's name; a on b's listener with a's certificate
  (TLS refuses it); a on b's listener with a certificate of b's CA (the
  proposal is refused: a proposes through the shared listener);
- limits are per gemeente: a second round of a while one waits is refused
  by [gemeente a] max_sessions while b's is accepted; b's listener holds at
  most [gemeente b] max_connections connections;
- per-gemeente state: STATE/peers/ID/{approvals,releases}, the audit log
  names the gemeente of each proposed round, the metrics count each
  gemeente's rounds.
"""
import collections
import csv
import io
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()
PERSONS = int(os.environ.get("UDC_MULTI_PERSONS", "1500"))
GCODE = {"a": "0518", "b": "0772"}
GDIMS = [("wijk", "wijk", harness.WIJKEN), ("age_band", "leeftijdsklasse", ["0-3", "4-11", "12-17"]),
         ("ooievaarspas", "ooievaarspas", ["ja", "nee"])]
CDIMS = [("income_band", "income_band", ["0-100", "100-130", "130-200", "200+"]),
         ("uitkering", "uitkering", ["ja", "nee"])]


def norm_bsn(s):
    d = s.replace(" ", "").replace(".", "").strip()
    if not d.isdigit() or len(d) not in (8, 9):
        return None
    d = d.zfill(9)
    if d == "000000000":
        return None
    total = sum(int(d[i]) * (9 - i) for i in range(8)) - int(d[8])
    return d if total % 11 == 0 else None


def side(path, label_cols, allowed, only=None):
    """BSN -> labels for rows with a valid BSN that occurs once (among the
    rows kept) and labels from the allowed sets; only=(column, value)
    keeps the rows of one population."""
    seen = collections.Counter()
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if only and r[only[0]].strip() != only[1]:
                continue
            b = norm_bsn(r["bsn"])
            labels = tuple(r[c].strip() for c in label_cols)
            if b is None or any(l not in a for l, a in zip(labels, allowed)):
                continue
            seen[b] += 1
            rows.append((b, labels))
    return {b: l for b, l in rows if seen[b] == 1}


def join(g, c):
    want = collections.Counter()
    for b, gl in g.items():
        if b in c:
            want[("linked",) + gl + c[b]] += 1
        else:
            want[("gemeente_only",) + gl + ("",) * len(CDIMS)] += 1
    for b, cl in c.items():
        if b not in g:
            want[("cbs_only",) + ("",) * len(GDIMS) + cl] += 1
    return +want


def table(out):
    got = collections.Counter()
    for r in list(csv.reader(io.StringIO(out)))[1:]:
        if int(r[-2] or 0):
            got[tuple(r[:-2])] += int(r[-2])
    return +got


class Place:
    """What harness.Node needs of a cluster: the directory."""

    def __init__(self, d):
        self.dir = d


def write_conf(path, role, name, state, ctl, sign, sections):
    with open(path, "w") as f:
        f.write("[node]\nrole = %s\nname = %s\nstate_dir = %s\ncontrol_socket = %s\nlog_level = debug\n"
                "signing_key = %s\n" % (role, name, state, ctl, sign))
        if role == "cbs":
            f.write("round_approval = operator\n")
        for sec, kv in sections:
            f.write("\n[%s]\n" % sec)
            for k, v in kv:
                f.write("%s = %s\n" % (k, v))
    return path


def main():
    work = tempfile.mkdtemp(prefix="udc-multi-")
    keep = os.environ.get("UDC_KEEP_TEST_DIRS") == "1"
    place = Place(work)
    # Two cities' lists, and the national CBS file: each city's CBS rows
    # with its gemeentecode.
    ga, ca = harness.gen_population(os.makedirs(os.path.join(work, "a")) or os.path.join(work, "a"), PERSONS, 1201)
    gb, cb = harness.gen_population(os.makedirs(os.path.join(work, "b")) or os.path.join(work, "b"), PERSONS, 1202)
    national = os.path.join(work, "nationaal.csv")
    with open(national, "w", newline="", encoding="utf-8") as out:
        w = None
        for path, code in ((ca, GCODE["a"]), (cb, GCODE["b"])):
            with open(path, newline="", encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    if w is None:
                        w = csv.DictWriter(out, fieldnames=list(r.keys()) + ["gemeentecode"])
                        w.writeheader()
                    r["gemeentecode"] = code
                    w.writerow(r)

    # Certificates: the node CA (cbsd's certificate, gemeente a's) and
    # gemeente b's own CA, the only one b's listener trusts.
    certs, certs_b = os.path.join(work, "certs"), os.path.join(work, "certs-b")
    subprocess.run([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), certs], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), certs_b, "gemeente b CA"],
                   check=True, stdout=subprocess.DEVNULL)
    keys = os.path.join(work, "keys")
    os.makedirs(keys)
    for k in ("cbs", "a", "b"):
        subprocess.run([harness.bin_path("udc-keygen"), os.path.join(keys, k + ".sign"),
                        os.path.join(keys, k + ".pub")], check=True, stdout=subprocess.DEVNULL)
    shared, own_b = harness.free_port(), harness.free_port()
    timing = [("timeout", "10"), ("resend", "3"), ("chunk_records", "256"), ("session_idle", "60")]
    fields = lambda m: [(k, v) for k, v in m.items()]  # noqa: E731

    cbs_conf = write_conf(os.path.join(work, "cbs.conf"), "cbs", "cbs-test", os.path.join(work, "cbs-state"),
                          os.path.join(work, "cbs.ctl"), os.path.join(keys, "cbs.sign"), [
        ("peer", [("listen", "tls+tcp://127.0.0.1:%d" % shared)] + timing),
        ("tls", [("ca_file", certs + "/ca.pem"), ("cert_file", certs + "/cbs.pem"), ("key_file", certs + "/cbs.key")]),
        ("input", [("file", national), ("reject_limit", "10%")]),
        ("fields", fields(harness.CBS_FIELDS)),
        ("labels", fields(harness.CBS_LABELS)),
        ("gemeente a", [("name", "gemeente-a"), ("display_name", "Gemeente A"),
                        ("public_key", os.path.join(keys, "a.pub")),
                        ("filter_column", "gemeentecode"), ("filter_value", GCODE["a"]),
                        ("max_sessions", "1")]),
        ("gemeente b", [("name", "gemeente-b"), ("public_key", os.path.join(keys, "b.pub")),
                        ("listen", "tls+tcp://127.0.0.1:%d" % own_b), ("ca_file", certs_b + "/ca.pem"),
                        ("max_connections", "2"),
                        ("filter_column", "gemeentecode"), ("filter_value", GCODE["b"])]),
    ])

    def gemeente(role, name, key, port, gcerts, csv_path):
        conf = write_conf(os.path.join(work, role + ".conf"), "gemeente", name, os.path.join(work, role + "-state"),
                          os.path.join(work, role + ".ctl"), os.path.join(keys, key + ".sign"), [
            ("peer", [("public_key", os.path.join(keys, "cbs.pub")),
                      ("connect", "tls+tcp://127.0.0.1:%d" % port), ("server_name", "cbs.udclink.test")] + timing),
            # the CBS certificate is of the node CA; this node's own may be of another
            ("tls", [("ca_file", certs + "/ca.pem"), ("cert_file", gcerts + "/gemeente.pem"),
                     ("key_file", gcerts + "/gemeente.key")]),
            ("input", [("file", csv_path), ("reject_limit", "10%")]),
            ("fields", fields(harness.GEMEENTE_FIELDS)),
            ("labels", fields(harness.GEMEENTE_LABELS)),
        ])
        return harness.Node(place, role, "gemeented", conf)

    cbsd = harness.Node(place, "cbs", "cbsd", cbs_conf)
    node_a = gemeente("gemeente-a", "gemeente-a", "a", shared, certs, ga)
    node_b = gemeente("gemeente-b", "gemeente-b", "b", own_b, certs_b, gb)
    # the attackers: a's key under b's name; a's node on b's listener with
    # a's certificate; the same with a certificate of b's CA
    as_b = gemeente("imp-name", "gemeente-b", "a", shared, certs, ga)
    a_on_b = gemeente("imp-tls", "gemeente-a", "a", own_b, certs, ga)
    a_on_b_ca = gemeente("imp-listener", "gemeente-a", "a", own_b, certs_b, ga)
    a_twin = gemeente("a-twin", "gemeente-a", "a", shared, certs, ga)
    nodes = [cbsd, node_a, node_b, as_b, a_on_b, a_on_b_ca, a_twin]

    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0, name="multi-bsn")
    only_b = harness.write_spec(os.path.join(work, "only-b.ini"), ["bsn"], min_cell=0, name="only-b",
                                cbs={"income_band": ["0-100", "100-130", "130-200", "200+"]})

    def start_round(g, sp):
        return g.ctl("round", "start", sp).stdout.strip()

    def waiting(rid, timeout=120):
        """Whether round rid comes to wait for the CBS operator's consent."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = cbsd.round_status(rid, timeout=30)
            if st.get("step", "").startswith("consent"):
                return True
            if st.get("state") in ("done", "failed"):
                return False
            time.sleep(0.1)
        return False

    def consent(rid, timeout=120):
        """The CBS operator approves round rid once it waits for consent."""
        if not waiting(rid, timeout):
            return False
        cbsd.ctl("round", "approve", rid)
        return True

    def wait(g, rid):
        return g.ctl("round", "wait", rid, "--timeout", "300", check=False, timeout=600)

    def refused_at_propose(g, rid, timeout=120):
        r = wait(g, rid)
        return r.returncode, g.round_status(rid).get("error", "")

    try:
        # the attackers start when their turn comes and stop after it: a
        # node that cannot pass TLS redials all the time
        # --check-config checks each gemeente's key, CA and input too
        def check_config():
            return subprocess.run([harness.bin_path("cbsd"), "-c", cbs_conf, "--check-config"],
                                  capture_output=True, text=True, timeout=60)
        os.makedirs(os.path.join(work, "cbs-state"), exist_ok=True)
        r = check_config()
        T.check(r.returncode == 0 and r.stdout.strip().endswith("configuration OK"),
                "cbsd --check-config passes the configuration with two gemeenten: %r" % r.stdout[-300:])
        os.rename(os.path.join(keys, "b.pub"), os.path.join(keys, "b.pub.away"))
        r = check_config()
        os.rename(os.path.join(keys, "b.pub.away"), os.path.join(keys, "b.pub"))
        T.check(r.returncode == 1 and "[gemeente b] public_key" in r.stdout,
                "and names a gemeente's missing key: %r" % r.stdout.strip()[:300])
        for n in (cbsd, node_a, node_b):
            n.start()

        # --- approvals are per gemeente
        r = cbsd.ctl("spec", "approve", spec, check=False)
        T.check(r.returncode == 4 and "serves several gemeenten (a, b)" in r.stderr and "--peer" in r.stderr,
                "spec approve without --peer is refused and names the gemeenten: %r" % r.stderr.strip())
        r = cbsd.ctl("spec", "approve", spec, "--peer", "c", check=False)
        T.check(r.returncode != 0 and "no such gemeente" in r.stderr, "--peer c (no such section) is refused: %r"
                % r.stderr.strip())
        r = node_a.ctl("spec", "approve", spec, "--peer", "a", check=False)
        T.check(r.returncode != 0 and "one peer" in r.stderr, "a gemeente node refuses --peer: %r" % r.stderr.strip())
        for p in ("a", "b"):
            cbsd.ctl("spec", "approve", spec, "--peer", p)
        cbsd.ctl("spec", "approve", only_b, "--peer", "b")
        for n in (node_a, node_b):
            n.ctl("spec", "approve", spec)
            n.ctl("spec", "approve", only_b)
        st = os.path.join(work, "cbs-state")
        hs = harness.subprocess.run([harness.bin_path("udcctl"), "spec", "show", spec], capture_output=True,
                                    text=True).stdout
        spec_hash = re.search(r"# hash ([0-9a-f]{64})", hs).group(1)
        T.check(all(os.path.exists(os.path.join(st, "peers", p, "approvals", spec_hash + ".sig")) for p in "ab")
                and not os.path.exists(os.path.join(st, "approvals", spec_hash + ".sig")),
                "the approvals are kept per gemeente (STATE/peers/ID/approvals)")

        # --- two gemeenten at once
        ra, rb = start_round(node_a, spec), start_round(node_b, spec)
        ok = consent(ra)
        ok = consent(rb) and ok
        T.check(ok, "both rounds reach the CBS node and wait for its operator at the same time")
        res = {}
        procs = {rid: subprocess.Popen([harness.bin_path("udcctl"), "-c", g.conf, "round", "wait", rid,
                                        "--timeout", "300"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for g, rid in ((node_a, ra), (node_b, rb))}
        for rid, p in procs.items():
            p.communicate(timeout=600)
            res[rid] = p.returncode
        T.check(res[ra] == 0 and res[rb] == 0, "both rounds are done (%s)" % res)
        log = cbsd.read_log()
        acc = [log.find("round %s of gemeente %s accepted" % (rid, p)) for rid, p in ((ra, "a"), (rb, "b"))]
        sealed = [log.find("round %s sealed" % rid) for rid in (ra, rb)]
        T.check(min(acc) >= 0 and max(acc) < min(s for s in sealed if s >= 0),
                "the CBS node held both rounds at once (both accepted before either was sealed)")
        gsets = {p: side(path, [d[1] for d in GDIMS], [d[2] for d in GDIMS]) for p, path in (("a", ga), ("b", gb))}
        for p, g, rid in (("a", node_a, ra), ("b", node_b, rb)):
            want = join(gsets[p], side(national, [d[1] for d in CDIMS], [d[2] for d in CDIMS],
                                       only=("gemeentecode", GCODE[p])))
            whole = join(gsets[p], side(national, [d[1] for d in CDIMS], [d[2] for d in CDIMS]))
            got = table(g.ctl("round", "result", rid).stdout)
            T.check(want != whole, "gemeente %s: its part of the national file gives another table than the "
                    "whole file (the check below can fail)" % p)
            T.check(got == want, "gemeente %s: the released table equals the join with its own CBS rows "
                    "(%d linked)" % (p, sum(v for k, v in want.items() if k[0] == "linked")))
            if got != want:
                print("differences (first 10):", list(((got - want) + (want - got)).items())[:10])
        rl = json.loads(cbsd.ctl("--json", "round", "list").stdout)
        peers = {r["round_id"]: r.get("peer") for r in rl.get("rounds", [])}
        T.check(peers.get(ra) == "a" and peers.get(rb) == "b",
                "udcctl round list at the CBS node names each round's gemeente: %r" % peers)
        sl = json.loads(cbsd.ctl("--json", "spec", "list").stdout)
        T.check(sorted((x["spec_hash"] == spec_hash, x.get("peer")) for x in sl.get("specs", [])
                       if x["spec_hash"] == spec_hash) == [(True, "a"), (True, "b")],
                "udcctl spec list at the CBS node names the gemeente of each approval: %r" % sl)
        T.check(len(os.listdir(os.path.join(st, "peers", "a", "releases"))) > 0 and
                len(os.listdir(os.path.join(st, "peers", "b", "releases"))) > 0 and
                not [f for f in os.listdir(os.path.join(st, "releases")) if f.endswith(".json")],
                "each gemeente's releases are in its own history (STATE/peers/ID/releases)")
        proposed = {e["fields"].get("round"): e["fields"] for e in cbsd.audit_entries()
                    if e["type"] == "round_proposed"}
        T.check(proposed.get(ra, {}).get("gemeente") == "a" and proposed.get(rb, {}).get("gemeente") == "b",
                "the audit log names the gemeente of each round")

        # --- limits are per gemeente ([gemeente a] max_sessions = 1): while
        # a round of a waits, a second node of a (same key and name; one
        # gemeented runs one round at a time) is refused, b is not held up
        rx = start_round(node_a, spec)
        T.check(waiting(rx), "a's round waits for the CBS operator")
        a_twin.start()
        a_twin.ctl("spec", "approve", spec)
        ry = start_round(a_twin, spec)
        rc, err = refused_at_propose(a_twin, ry)
        a_twin.stop()
        T.check(rc == 3 and "[gemeente a] max_sessions" in err,
                "a second round of a while one waits is refused by a's own limit: %r" % err[:160])
        rz = start_round(node_b, only_b)
        T.check(waiting(rz), "b's round is accepted meanwhile")
        for rid in (rx, rz):
            cbsd.ctl("round", "refuse", rid, "test over")
        for g, rid in ((node_a, rx), (node_b, rz)):
            wait(g, rid)

        # --- the history is per gemeente: a changed list of a cannot
        # release the spec again, b's releases are not a's
        ga2 = os.path.join(work, "a", "gemeente-less.csv")
        with open(ga) as f, open(ga2, "w") as o:
            lines = f.readlines()
            o.writelines(lines[:1] + lines[4:])
        shutil.copy(ga2, ga)
        r2 = start_round(node_a, spec)
        consent(r2)
        rc, err = refused_at_propose(node_a, r2)
        T.check(rc == 3 and "differencing" in err, "gemeente a: a second release of the spec on its CBS rows is "
                "refused: %r" % err[:160])

        # --- a spec approved only for b
        r3 = start_round(node_a, only_b)
        rc, err = refused_at_propose(node_a, r3)
        T.check(rc == 3 and "not approved at the CBS node cbs-test for gemeente a" in err,
                "gemeente a cannot run a spec approved only for b: %r" % err[:160])

        # --- impersonation
        def attacker(n):
            n.start()
            n.ctl("spec", "approve", spec)
            return start_round(n, spec)

        r4 = attacker(as_b)
        rc, err = refused_at_propose(as_b, r4)
        T.check(rc == 3 and "signed by the key of gemeente a" in err,
                "a's key proposing under b's name is refused: %r" % err[:200])
        T.check(re.search(r"round %s refused: gemeente a \(key [^)]*\) signed a proposal under the name "
                          r"'gemeente-b', which is gemeente b" % r4, cbsd.read_log()) is not None,
                "the CBS node logs the impersonation with both names")
        T.check(any(e["type"] == "round_refused" and e["fields"].get("round") == r4 and
                    e["fields"].get("gemeente") == "a" for e in cbsd.audit_entries()),
                "and audits it under gemeente a")
        T.check(cbsd.round_status(r4).get("state") is None, "no round of b is recorded for it")
        as_b.stop()
        r5 = attacker(a_on_b)
        rc, err = refused_at_propose(a_on_b, r5)
        a_on_b.stop()
        T.check(rc == 3, "a on b's listener with a certificate of the node CA fails (TLS): %r" % err[:200])
        T.check(cbsd.round_status(r5).get("state") is None, "and never reaches the CBS node as a round")
        r6 = attacker(a_on_b_ca)
        rc, err = refused_at_propose(a_on_b_ca, r6)
        a_on_b_ca.stop()
        T.check(rc == 3 and "gemeente a proposes through the shared listener, not this listener" in err,
                "a on b's listener with a certificate of b's CA is refused: %r" % err[:200])
        T.check("gemeente a (key" in cbsd.read_log() and
                "proposed through the listener of gemeente b instead of its own" in cbsd.read_log(),
                "the CBS node logs which gemeente came through whose listener")

        # --- the node keeps serving, and b's history is b's own
        T.check(cbsd.alive(), "cbsd is still running")
        with open(gb) as f, open(gb + ".tmp", "w") as o:
            lines = f.readlines()
            o.writelines(lines[:1] + lines[4:])
        os.replace(gb + ".tmp", gb)
        r7 = start_round(node_b, only_b)
        consent(r7)
        rc = wait(node_b, r7).returncode
        T.check(rc == 0, "gemeente b still runs rounds after the attacks (a spec of its own)")
        # b's listener takes at most its max_connections (2): raw SP
        # connections with b's certificate beyond that are closed
        ctx = ssl.create_default_context(cafile=certs + "/ca.pem")
        ctx.load_cert_chain(certs_b + "/gemeente.pem", certs_b + "/gemeente.key")
        raw = []
        for _ in range(4):
            c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", own_b), timeout=10),
                                server_hostname="cbs.udclink.test")
            c.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # an SP header: req0
            c.recv(8)
            raw.append(c)
        deadline = time.time() + 10
        while time.time() < deadline and "on the listener of gemeente b, the most allowed" not in cbsd.read_log():
            time.sleep(0.1)
        T.check("on the listener of gemeente b, the most allowed" in cbsd.read_log(),
                "b's listener holds at most [gemeente b] max_connections connections")
        for c in raw:
            c.close()
        metrics = cbsd.ctl("metrics").stdout
        T.check(re.search(r'udclink_peer_rounds\{peer="b",state="done"\} 2', metrics) is not None and
                re.search(r'udclink_peer_rounds\{peer="a",state="done"\} 1', metrics) is not None,
                "metrics count the rounds of each gemeente")
        rcs = [n.stop() for n in (cbsd, node_a, node_b)] + [n.proc.returncode for n in (as_b, a_on_b, a_on_b_ca, a_twin)]
        T.check(all(rc == 0 for rc in rcs), "every daemon exits cleanly (%s)" % rcs)
    except Exception as e:  # the logs say why
        T.check(False, "the test ran to its end: %s" % e)
        for n in nodes:
            print("--- %s log (end)\n%s" % (n.role, n.read_log()[-3000:]))
    finally:
        for n in nodes:
            if n.alive():
                n.proc.kill()
                n.proc.wait()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
