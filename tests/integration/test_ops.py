#!/usr/bin/env python3
"""Operations end-to-end tests, one per command-line argument:

  control_channel  raw connects that close at once, half requests, garbage,
                   an oversized length and idle connections, repeatedly and
                   from many threads at once, against both daemons; then
                   `udcctl round list` answers at once, a round runs, and a
                   bare TCP connect to cbsd's peer port does not stop it
                   either.  A stopped (SIGSTOP) daemon gives exit code 5
                   within udcctl's -t.
  operators_group  without control_group the socket is 0600; with it 0660 and
                   that group's; an operator in the group (nobody/nogroup)
                   approves a spec and the audit log names that user and uid;
                   a user outside the group gets exit code 2 and "permission
                   denied"
  udcctl_scripts   udcctl for scripts: --version, per-command --help on
                   stdout, --json of every command parsed with its documented
                   field names, round list's header, spec show offline (same
                   hash as the daemon's), spec list and revoke, node status,
                   metrics, round result -o with the signature beside it and
                   `udcctl verify` (OK, changed table, wrong key), and the
                   exit codes 1, 2, 3, 4 and 5
  check_config     the deep --check-config: a good configuration passes; a
                   world-readable key, a certificate for another key, a node
                   certificate named as CA, a missing file and a semicolon CSV
                   each give an error naming the file and what to do
  node_status      the gemeente's node status: the CBS node reachable; stopped
                   (connection refused, exit 2); a certificate of another CA
                   (TCP answers, no TLS connection, what to check)
  journald         with JOURNAL_STREAM naming their stderr, the daemons log to
                   journald (a stand-in socket in a private /run): the ready
                   line at info, lines about a round with UDC_ROUND=<id>, a
                   start-up failure at error; a configuration error before
                   that goes to stderr with the <3> prefix
  input_errors     a round on a semicolon CSV fails with the header found and
                   the delimiter option; a spec edited after approval is
                   refused with both hashes
"""
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()


def note(msg):
    print("note: " + msg)


def udcctl(*args, timeout=60, user=None, binary=None):
    kw = {}
    if user is not None:
        kw = {"user": user[0], "group": user[1], "extra_groups": list(user[2])}
    return subprocess.run([binary or harness.bin_path("udcctl")] + list(args), capture_output=True, text=True,
                          timeout=timeout, **kw)


# --------------------------------------------------------------------------


def _abuse(path, rounds, kind):
    for i in range(rounds):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            if kind == 1:
                s.send(b"\x00\x00")                      # half a length
            elif kind == 2:
                s.send(b"\x00\x00\x00\x10garbage")       # half a body
            elif kind == 3:
                s.send(b"\xff\xff\xff\xff")               # 4 GiB claimed
            elif kind == 4:
                s.send(b"\x00\x00\x00\x05\xff\xff\xff\xff\xff")  # not a protobuf
                s.settimeout(5)
                s.recv(100)
        except OSError:
            pass
        finally:
            s.close()


def control_channel(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 41)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        for node in (cl.cbs, cl.gemeente):
            path = os.path.join(cl.dir, node.role + ".ctl")
            # A probe that connects and closes, 200 times in a row.
            _abuse(path, 200, 0)
            t0 = time.time()
            r = node.ctl("round", "list", check=False, timeout=30)
            T.check(r.returncode == 0 and time.time() - t0 < 5,
                    "%s: round list answers after 200 bare connects (%d, %.2f s)" % (node.role, r.returncode,
                                                                                     time.time() - t0))
            # 8 threads at once, each kind of abuse, and 40 idle connections held open.
            idle = []
            for _ in range(40):
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                idle.append(s)
            ths = [threading.Thread(target=_abuse, args=(path, 50, k % 5)) for k in range(8)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            # The idle ones hold every slot; the daemon refuses more rather than wedging.
            for s in idle:
                s.close()
            t0 = time.time()
            r = node.ctl("round", "list", check=False, timeout=30)
            T.check(r.returncode == 0 and r.stdout.startswith("ROUND"),
                    "%s: round list answers after concurrent raw abuse (%d, %.2f s): %s" % (
                        node.role, r.returncode, time.time() - t0, r.stderr.strip()))
            T.check(node.alive(), "%s still running" % node.role)
        # A port scanner on cbsd's peer port.
        for _ in range(20):
            try:
                socket.create_connection(("127.0.0.1", cl.port), timeout=5).close()
            except OSError:
                pass
        cl.approve(spec)
        rid, r = cl.run_round(spec, expect_ok=False)
        T.check(r.returncode == 0, "a round runs after it all (exit %d)" % r.returncode)
        # A hung daemon: udcctl gives up within -t with exit code 5.
        cl.cbs.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.time()
            r = udcctl("-c", cl.cbs.conf, "-t", "2", "round", "list", timeout=30)
            took = time.time() - t0
            T.check(r.returncode == 5 and took < 4,
                    "a stopped daemon: exit 5 within -t 2 (got %d after %.1f s)" % (r.returncode, took))
        finally:
            cl.cbs.proc.send_signal(signal.SIGCONT)
        r = cl.cbs.ctl("round", "list", check=False, timeout=30)
        T.check(r.returncode == 0, "and it answers again once it runs")
        rc = cl.stop()
        T.check(rc == (0, 0), "both daemons stop cleanly: %r" % (rc,))
        T.check(not os.path.exists(os.path.join(cl.dir, "cbs.ctl")), "the control socket is removed at exit")


# --------------------------------------------------------------------------


def operators_group(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 42)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    os.chmod(work, 0o755)
    os.chmod(spec, 0o644)
    try:
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrgid(nobody.pw_gid).gr_name
    except KeyError:
        nobody = None
    root = os.geteuid() == 0
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        st = os.stat(os.path.join(cl.dir, "gemeente.ctl"))
        T.check(stat.S_IMODE(st.st_mode) == 0o600, "without control_group the socket is 0600 (%o)" % st.st_mode)
    if not root or nobody is None:
        note("not root or no user nobody: the group's members and outsiders are not tried "
             "(root is needed to run udcctl as another user)")
        group = grp.getgrgid(os.getegid()).gr_name
    else:
        group = nogroup
    with harness.Cluster(gcsv, ccsv, gemeente_conf={"node": {"control_group": group}},
                         cbs_conf={"node": {"control_group": group}}) as cl:
        cl.start()
        sock = os.path.join(cl.dir, "gemeente.ctl")
        st = os.stat(sock)
        T.check(stat.S_IMODE(st.st_mode) == 0o660 and grp.getgrgid(st.st_gid).gr_name == group,
                "with control_group the socket is 0660 and group %s (%o, %s)" % (
                    group, stat.S_IMODE(st.st_mode), grp.getgrgid(st.st_gid).gr_name))
        if not root or nobody is None:
            return
        os.chmod(cl.dir, 0o711)
        bins = harness.private_copy(["udcctl"], os.path.join(work, "bin"))
        op = (nobody.pw_uid, nobody.pw_gid, [])
        r = udcctl("-s", sock, "spec", "approve", spec, user=op, binary=bins["udcctl"])
        T.check(r.returncode == 0, "an operator in group %s approves a spec (%d %s)" % (group, r.returncode,
                                                                                       r.stderr.strip()))
        ent = [e for e in cl.gemeente.audit_entries() if e.get("type") == "spec_approved"]
        T.check(ent and ent[-1]["fields"].get("user") == "nobody" and ent[-1]["fields"].get("uid") == nobody.pw_uid,
                "the audit log names the operator: %r" % (ent[-1] if ent else None))
        ctl = [e for e in cl.gemeente.audit_entries() if e.get("type") == "control_request"]
        T.check(ctl and ctl[-1]["fields"].get("user") == "nobody" and ctl[-1]["fields"].get("command") == "spec approve",
                "the control request is audited with the user: %r" % (ctl[-1] if ctl else None))
        outsider = None
        for name in ("daemon", "bin", "sys"):
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                continue
            if pw.pw_gid != nobody.pw_gid and name not in grp.getgrnam(group).gr_mem:
                outsider = pw
                break
        if outsider is None:
            note("no system user outside group %s: the refusal is not tried" % group)
            return
        r = udcctl("-s", sock, "round", "list", user=(outsider.pw_uid, outsider.pw_gid, []), binary=bins["udcctl"])
        T.check(r.returncode == 2 and "permission denied" in r.stderr,
                "user %s outside the group: exit 2, permission denied (%d %s)" % (
                    outsider.pw_name, r.returncode, r.stderr.strip()))


# --------------------------------------------------------------------------

ROUND_FIELDS = {"round_id", "state", "step", "progress_permille", "records_done", "records_total", "spec_hash", "input",
                "spec_name", "started", "finished", "error"}
NODE_FIELDS = {"name", "role", "version", "started", "key_fingerprint", "peer_key_fingerprint", "peer_url",
               "peer_reachable", "peer_error", "cert_not_after", "ca_not_after", "disk_free_bytes",
               "disk_total_bytes", "state_dir", "last_round", "last_round_state", "last_round_finished",
               "rounds_total", "rounds_running", "approved_specs", "limits"}


def jrun(node, *args, rc=0):
    r = udcctl("-c", node.conf, "--json", *args)
    T.check(r.returncode == rc, "udcctl --json %s: exit %d (got %d %s)" % (" ".join(args), rc, r.returncode,
                                                                         r.stderr.strip()[:200]))
    try:
        return json.loads(r.stdout)
    except ValueError:
        T.check(False, "udcctl --json %s prints JSON: %r" % (" ".join(args), r.stdout[:200]))
        return {}


def udcctl_scripts(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 43)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0, name="ops-test")
    npersons = sum(1 for _ in open(gcsv)) - 1
    r = udcctl("--version")
    T.check(r.returncode == 0 and re.match(r"udcctl \(udclink\) \d+\.\d+\.\d+", r.stdout),
            "--version: %r" % r.stdout)
    r = udcctl("round", "wait", "--help")
    T.check(r.returncode == 0 and "--timeout" in r.stdout and r.stderr == "",
            "round wait --help on stdout, exit 0")
    r = udcctl("help", "spec", "show")
    T.check(r.returncode == 0 and "canonical" in r.stdout, "udcctl help spec show")
    r = udcctl("round", "frobnicate")
    T.check(r.returncode == 1, "an unknown command: exit 1 (%d)" % r.returncode)
    r = udcctl("round", "result", "--bogus", "x")
    T.check(r.returncode == 1, "an unknown option: exit 1 (%d)" % r.returncode)
    r = udcctl("-s", os.path.join(work, "nothing.sock"), "round", "list")
    T.check(r.returncode == 2 and "no control socket" in r.stderr, "no daemon: exit 2 (%d %s)" % (
        r.returncode, r.stderr.strip()))
    # spec show works offline and gives the hash the daemons use
    show = json.loads(udcctl("--json", "spec", "show", spec).stdout)
    T.check(set(show) == {"file", "name", "mode", "spec_hash", "canonical"} and show["name"] == "ops-test",
            "spec show --json: %s" % sorted(show))
    # chunks of 16 records: steps that move records take many messages; and
    # 50 ms each way between the nodes (the transport's simulated latency,
    # UDC_BENCH_PEER_DELAY_MS), so that they take seconds and round wait,
    # which asks every 200 ms, sees them under way even on a fast machine
    # (without it a 1,000-row round finished within a second there)
    with harness.Cluster(gcsv, ccsv, chunk=16, gemeente_conf={"node": {"workers": "1"}}) as cl:
        os.environ["UDC_BENCH_PEER_DELAY_MS"] = "50"
        try:
            cl.start()
        finally:
            del os.environ["UDC_BENCH_PEER_DELAY_MS"]
        g, c = cl.gemeente, cl.cbs
        a = jrun(g, "spec", "approve", spec)
        T.check(show["spec_hash"] in a.get("message", ""), "the daemon approves the hash spec show printed")
        c.ctl("spec", "approve", spec)
        lst = jrun(g, "spec", "list")
        T.check([s["spec_hash"] for s in lst.get("specs", [])] == [show["spec_hash"]] and
                lst["specs"][0]["name"] == "ops-test", "spec list: %r" % lst)
        st = jrun(g, "round", "start", spec)
        T.check(set(st) == ROUND_FIELDS, "round start --json fields: %s" % sorted(st))
        rid = st.get("round_id", "")
        w = subprocess.run([harness.bin_path("udcctl"), "-c", g.conf, "--json", "round", "wait", rid,
                            "--timeout", "120"], capture_output=True, text=True, timeout=180)
        T.check(w.returncode == 0, "round wait: exit 0 (%d)" % w.returncode)
        wj = json.loads(w.stdout or "{}")
        T.check(wj.get("state") == "done" and wj.get("spec_name") == "ops-test" and wj.get("finished"),
                "round wait --json: %r" % wj)
        T.check(re.search(r"round %s: (counting|done|reading|propose|upload)" % rid, w.stderr) is not None,
                "round wait shows progress lines when piped: %r" % w.stderr[:300])
        # Steps that move records (upload, download, return, link) report
        # them: done of total, in step with the percentage (chunks of 16).
        moves = [(st, float(p), int(d), int(t)) for st, p, d, t in
                 re.findall(r"round %s: ([a-z-]+) ([0-9.]+)%%, (\d+) of (\d+) records" % rid, w.stderr)]
        T.check(len(moves) >= 1 and all(0 < d <= t and abs(d / t * 100 - p) <= 100 * 16 / t + 0.1
                                        for _, p, d, t in moves),
                "round wait shows records done of the total, in step with the percentage: %r %r" % (
                    moves[:4], w.stderr[-600:]))
        rl = udcctl("-c", g.conf, "round", "list")
        head = rl.stdout.splitlines()[0].split()
        T.check(head == ["ROUND", "STATE", "STEP", "SPEC", "STARTED", "FINISHED", "OUTCOME"],
                "round list header: %r" % head)
        row = rl.stdout.splitlines()[1]
        T.check(rid in row and "ops-test" in row and "released" in row, "round list row: %r" % row)
        lj = jrun(g, "round", "list")
        T.check(len(lj.get("rounds", [])) == 1 and set(lj["rounds"][0]) == ROUND_FIELDS, "round list --json")
        ns = jrun(g, "node", "status")
        T.check(set(ns) == NODE_FIELDS, "node status --json fields: %s" % sorted(set(ns) ^ NODE_FIELDS))
        T.check(ns.get("peer_reachable") is True and ns.get("last_round") == rid and ns.get("role") == "gemeente"
                and ns.get("cert_not_after") and ns.get("disk_free_bytes", 0) > 0,
                "node status: peer reachable, last round, certificate expiry, disk")
        nc = jrun(c, "node", "status")
        T.check(nc.get("peer_reachable") is None and nc.get("role") == "cbs", "cbs node status: listening")
        # workers = 1 is one crypto thread (it once started one per core);
        # the default (0) is one per core
        T.check(ns.get("limits", {}).get("workers") == 1 and
                nc.get("limits", {}).get("workers") == os.cpu_count(),
                "crypto threads: workers = 1 gives 1 (%r), the default one per core (%r of %d)" % (
                    ns.get("limits", {}).get("workers"), nc.get("limits", {}).get("workers"), os.cpu_count()))
        m = udcctl("-c", g.conf, "metrics")
        T.check('udclink_rounds{state="done"} 1' in m.stdout and "udclink_round_duration_seconds_count 1"
                in m.stdout, "metrics count the round: %r" % m.stdout[:200])
        T.check(all(re.match(r'^(# (HELP|TYPE) .*|[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$', l)
                    for l in m.stdout.splitlines()), "metrics are Prometheus text")
        mc = udcctl("-c", c.conf, "metrics")
        T.check('udclink_audit_events_total{type="result_released"} 1' in mc.stdout,
                "cbs metrics count the release")
        # result with its signature, verified offline
        out = os.path.join(work, "result.csv")
        r = udcctl("-c", g.conf, "round", "result", rid, "-o", out)
        T.check(r.returncode == 0 and os.path.exists(out + ".sig"), "round result -o writes the table and .sig")
        csvtext = udcctl("-c", g.conf, "round", "result", rid).stdout
        T.check(open(out).read() == csvtext, "the file holds the table round result prints")
        cbs_pub = os.path.join(cl.keys, "cbs.pub")
        v = udcctl("verify", out, "--key", cbs_pub)
        T.check(v.returncode == 0 and "OK" in v.stdout, "udcctl verify: OK (%d %s)" % (v.returncode, v.stderr))
        v = udcctl("-c", g.conf, "--json", "verify", out)
        T.check(v.returncode == 0 and json.loads(v.stdout).get("ok") is True,
                "udcctl verify with the gemeente's configuration (pinned CBS key)")
        with open(out, "a") as f:
            f.write("x\n")
        v = udcctl("verify", out, "--key", cbs_pub)
        T.check(v.returncode == 6 and "changed after release" in v.stderr, "a changed table: exit 6 (%d %s)" % (
            v.returncode, v.stderr.strip()))
        with open(out, "w") as f:
            f.write(csvtext)
        v = udcctl("verify", out, "--key", os.path.join(cl.keys, "gemeente.pub"))
        T.check(v.returncode == 6, "another key: exit 6 (%d)" % v.returncode)
        # refusals and failures
        r = udcctl("-c", g.conf, "round", "status", "0" * 32)
        T.check(r.returncode == 4, "an unknown round: exit 4 (%d)" % r.returncode)
        r = udcctl("-c", c.conf, "round", "start", spec)
        T.check(r.returncode == 4, "round start at the CBS node: exit 4 (%d)" % r.returncode)
        rv = jrun(g, "spec", "revoke", show["spec_hash"])
        T.check(rv.get("result") == "revoked", "spec revoke")
        T.check(jrun(g, "spec", "list").get("specs") == [], "the spec is no longer listed")
        r = udcctl("-c", g.conf, "round", "start", spec)
        T.check(r.returncode == 4 and "not approved" in r.stderr, "a revoked spec cannot start (%d %s)" % (
            r.returncode, r.stderr.strip()))
        ctl = [e for e in g.audit_entries() if e.get("type") in ("control_request", "spec_revoked")]
        T.check(any(e.get("type") == "spec_revoked" and e["fields"].get("user") == pwd.getpwuid(os.geteuid()).pw_name
                    for e in ctl),
                "the revocation is audited with the user")
        # a failed round: exit 3 from wait and status.  The CBS node revokes too.
        c.ctl("spec", "revoke", show["spec_hash"])
        g.ctl("spec", "approve", spec)
        rid2 = g.ctl("round", "start", spec).stdout.strip()
        r = udcctl("-c", g.conf, "round", "wait", rid2, "--timeout", "120", timeout=180)
        T.check(r.returncode == 3, "a round the CBS node refuses: wait exits 3 (%d)" % r.returncode)
        r = udcctl("-c", g.conf, "round", "status", rid2)
        T.check(r.returncode == 3, "and status exits 3 (%d)" % r.returncode)
        # round wait --timeout: a round that cannot finish in time (cbsd stopped).
        c.ctl("spec", "approve", spec)
        c.proc.send_signal(signal.SIGSTOP)
        try:
            rid3 = g.ctl("round", "start", spec).stdout.strip()
            t0 = time.time()
            r = udcctl("-c", g.conf, "round", "wait", rid3, "--timeout", "2", timeout=60)
            T.check(r.returncode == 5 and time.time() - t0 < 10, "round wait --timeout 2: exit 5 (%d after %.1f s)" % (
                r.returncode, time.time() - t0))
        finally:
            c.proc.send_signal(signal.SIGCONT)


# --------------------------------------------------------------------------


def check_config(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 44)
    with harness.Cluster(gcsv, ccsv) as cl:
        def check(node):
            return subprocess.run([harness.bin_path(node.prog), "-c", node.conf, "--check-config"],
                                  capture_output=True, text=True, timeout=60)
        for node in (cl.gemeente, cl.cbs):
            os.makedirs(os.path.join(cl.dir, node.role + "-state"), exist_ok=True)
            r = check(node)
            T.check(r.returncode == 0 and r.stdout.strip().endswith("configuration OK"),
                    "%s: a good configuration passes (%d %s)" % (node.role, r.returncode, r.stdout.strip()))
        g = cl.gemeente
        key = os.path.join(cl.certs, "gemeente.key")
        os.chmod(key, 0o644)
        r = check(g)
        T.check(r.returncode == 1 and re.search(r"error: \[tls\] key_file .*gemeente.key: mode 0644 .*chmod 600",
                                                r.stdout), "a world-readable key: %r" % r.stdout)
        os.chmod(key, 0o600)
        conf = open(g.conf).read()

        def with_conf(old, new):
            with open(g.conf, "w") as f:
                f.write(conf.replace(old, new))
            r = check(g)
            with open(g.conf, "w") as f:
                f.write(conf)
            return r
        r = with_conf("gemeente.key", "cbs.key")
        T.check(r.returncode == 1 and "do not belong together" in r.stdout, "certificate and key differ: %r" % r.stdout)
        # The daemon itself refuses to start with them (NNG would start and
        # fail every handshake later without naming either file).
        with open(g.conf, "w") as f:
            f.write(conf.replace("gemeente.key", "cbs.key"))
        try:
            r = subprocess.run([harness.bin_path(g.prog), "-c", g.conf, "-d"], capture_output=True, text=True,
                               timeout=60)
        finally:
            with open(g.conf, "w") as f:
                f.write(conf)
        out = r.stdout + r.stderr
        T.check(r.returncode != 0 and "do not belong together" in out and "gemeente.pem" in out and
                "cbs.key" in out, "the daemon does not start with another certificate's key: %d %r" %
                (r.returncode, out[-400:]))
        r = with_conf("ca.pem", "cbs.pem")
        T.check(r.returncode == 1 and "is not a CA" in r.stdout, "a node certificate as CA: %r" % r.stdout)
        other = os.path.join(cl.dir, "other")
        subprocess.run([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), other, "another CA"], check=True,
                       stdout=subprocess.DEVNULL)
        r = with_conf("%s/ca.pem" % cl.certs, "%s/ca.pem" % other)
        T.check(r.returncode == 1 and "not issued by the CA" in r.stdout, "a certificate of another CA: %r" % r.stdout)
        r = with_conf("gemeente.pem", "nothere.pem")
        T.check(r.returncode == 1 and "nothere.pem: No such file" in r.stdout, "a missing file: %r" % r.stdout)
        semi = os.path.join(work, "semi.csv")
        with open(gcsv) as src, open(semi, "w") as dst:
            dst.write("\ufeff" + src.read().replace(",", ";"))
        r = with_conf(os.path.abspath(gcsv), semi)
        T.check(r.returncode == 1 and "set delimiter = semicolon in [input]" in r.stdout and
                "the header found is" in r.stdout, "a semicolon CSV with a BOM: %r" % r.stdout[-400:])


# --------------------------------------------------------------------------


def input_errors(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 45)
    semi = os.path.join(work, "semi.csv")
    with open(gcsv) as src, open(semi, "w") as dst:
        dst.write(src.read().replace(",", ";"))
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0, name="edited")
    with harness.Cluster(semi, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        rid, r = cl.run_round(spec, expect_ok=False)
        st = cl.gemeente.round_status(rid)
        err = st.get("error", "")
        T.check(r.returncode == 3 and "set delimiter = semicolon in [input]" in err and "the header found" in err,
                "a semicolon CSV: the round fails naming the option: %r" % err)
        # Edited after approval: min_cell 0 -> 5.
        text = open(spec).read()
        with open(spec, "w") as f:
            f.write(text.replace("min_cell = 0", "min_cell = 5"))
        r = cl.gemeente.ctl("round", "start", spec, check=False)
        hashes = re.findall(r"[0-9a-f]{64}", r.stderr)
        T.check(r.returncode == 4 and len(set(hashes)) == 2 and "Both operators must review" in r.stderr,
                "a spec edited after approval: both hashes and what to do: %r" % r.stderr.strip())


def _status_until(node, want, timeout=20):
    deadline = time.time() + timeout
    while True:
        r = udcctl("-c", node.conf, "--json", "node", "status")
        j = json.loads(r.stdout or "{}")
        if j.get("peer_reachable") == want or time.time() > deadline:
            return r.returncode, j
        time.sleep(0.3)


def node_status(work):
    gcsv, ccsv = harness.gen_population(work, 1000, 46)
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        rc, j = _status_until(cl.gemeente, True)
        T.check(rc == 0 and j.get("peer_reachable") is True and j.get("peer_error") == "",
                "node status: the CBS node is reachable (%d %r)" % (rc, j.get("peer_error")))
        cl.cbs.stop()
        rc, j = _status_until(cl.gemeente, False)
        T.check(rc == 2 and j.get("peer_reachable") is False and "refused" in j.get("peer_error", ""),
                "cbsd stopped: not reachable, exit 2, connection refused (%d %r)" % (rc, j.get("peer_error")))
        r = udcctl("-c", cl.gemeente.conf, "node", "status")
        T.check("NOT reachable" in r.stdout, "the text form says NOT reachable")
    other = os.path.join(work, "other-ca")
    subprocess.run([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), other, "another CA"], check=True,
                   stdout=subprocess.DEVNULL)
    with harness.Cluster(gcsv, ccsv, gemeente_certs=other) as cl:
        cl.start()
        time.sleep(2)
        rc, j = _status_until(cl.gemeente, False, timeout=5)
        T.check(rc == 2 and j.get("peer_reachable") is False and "no TLS connection" in j.get("peer_error", ""),
                "a certificate of another CA: TCP answers, no TLS, and what to check (%d %r)" % (
                    rc, j.get("peer_error")))


def _journal_fields(data):
    """One datagram of journald's native protocol, as a dict."""
    out, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            break
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            out[k.decode()] = v.decode(errors="replace")
            i = nl + 1
        else:  # KEY\n<le64 length><bytes>\n
            n = int.from_bytes(data[nl + 1:nl + 9], "little")
            out[line.decode()] = data[nl + 9:nl + 9 + n].decode(errors="replace")
            i = nl + 9 + n + 1
    return out


def journald(work):
    """Runs itself again in a private mount namespace with a tmpfs on /run,
    where it listens on /run/systemd/journal/socket as journald would."""
    if os.environ.get("UDC_IN_NS") != "1":
        if os.geteuid() != 0 or not shutil.which("unshare"):
            note("not run: needs root and unshare(1) for a private /run with a stand-in journald socket")
            return
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && exec \"$0\" \"$1\" journald",
                            sys.executable, os.path.abspath(__file__)],
                           env=dict(os.environ, UDC_IN_NS="1"), capture_output=True, text=True, timeout=300)
        print(r.stdout, end="")
        m = re.search(r"(\d+) passed, (\d+) failed", r.stdout)
        T.check(r.returncode == 0 and m is not None and m.group(2) == "0" and int(m.group(1)) > 0,
                "journald checks in the namespace passed (%s)" % (m.group(0) if m else r.stderr[-500:]))
        return
    js = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    js.bind("/run/systemd/journal/socket")
    js.settimeout(0.2)
    got = []
    stop = threading.Event()

    def reader():  # journald never stops reading; a full socket would block the daemon's logging
        while not stop.is_set():
            try:
                got.append(_journal_fields(js.recv(65536)))
            except socket.timeout:
                continue
            except OSError:
                return
    th = threading.Thread(target=reader, daemon=True)
    th.start()

    def drain(until, pred=lambda f: False):
        deadline = time.time() + until
        seen = 0
        while True:
            while seen < len(got):
                if pred(got[seen]):
                    return got[seen]
                seen += 1
            if time.time() >= deadline:
                return None
            time.sleep(0.05)
    gcsv, ccsv = harness.gen_population(work, 1000, 47)
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn"], min_cell=0)
    with harness.Cluster(gcsv, ccsv) as cl:
        for node in (cl.cbs, cl.gemeente):
            logf = open(node.log, "ab")
            st = os.fstat(logf.fileno())
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            node.proc = subprocess.Popen([harness.bin_path(node.prog), "-c", node.conf], stdout=logf, stderr=logf,
                                         env=env)
            logf.close()
            node.wait_ready()
        ready = drain(5, lambda f: "ready" in f.get("MESSAGE", "") and f.get("SYSLOG_IDENTIFIER") == "gemeented")
        T.check(ready is not None and ready.get("PRIORITY") == "6", "journald: the ready line at priority 6 (info)")
        cl.approve(spec)
        rid, r = cl.run_round(spec)
        drain(2)
        with_round = [f for f in got if f.get("UDC_ROUND") == rid]
        T.check(len(with_round) >= 2 and all(rid in f.get("MESSAGE", "") for f in with_round),
                "journald: %d lines about the round carry UDC_ROUND=%s" % (len(with_round), rid))
        T.check(os.path.getsize(cl.gemeente.log) == 0, "nothing went to stderr meanwhile")
        cl.stop()
        # A start-up failure: the signing key is gone.
        conf = open(cl.gemeente.conf).read()
        with open(cl.gemeente.conf, "w") as f:
            f.write(re.sub(r"^signing_key = .*$", "signing_key = /nonexistent/key", conf, flags=re.M))
        logf = open(cl.gemeente.log, "ab")
        st = os.fstat(logf.fileno())
        r = subprocess.run([harness.bin_path("gemeented"), "-c", cl.gemeente.conf], stdout=logf, stderr=logf,
                           env=dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino)), timeout=60)
        logf.close()
        err = drain(3, lambda f: "/nonexistent/key" in f.get("MESSAGE", ""))
        T.check(r.returncode != 0 and err is not None and err.get("PRIORITY") == "3",
                "journald: a start-up failure at priority 3 (error): %r" % (err or {}).get("MESSAGE"))
        # Before the configuration is read there is no journald sink: the
        # stderr line carries the <3> prefix journald reads as the priority.
        with open(cl.gemeente.conf, "w") as f:
            f.write(conf.replace("[peer]", "[peer]\nbogus_key = 1", 1))
        logf = open(cl.gemeente.log, "wb")
        st = os.fstat(logf.fileno())
        subprocess.run([harness.bin_path("gemeented"), "-c", cl.gemeente.conf], stdout=logf, stderr=logf,
                       env=dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino)), timeout=60)
        logf.close()
        text = open(cl.gemeente.log).read()
        T.check(text.startswith("<3>gemeented: ") and "bogus_key" in text,
                "a configuration error on stderr starts with <3>: %r" % text[:200])
    stop.set()
    th.join()
    js.close()


TESTS = {"control_channel": control_channel, "node_status": node_status, "journald": journald, "operators_group": operators_group, "udcctl_scripts": udcctl_scripts,
         "check_config": check_config, "input_errors": input_errors}


def main():
    names = sys.argv[1:] or list(TESTS)
    for n in names:
        work = harness.tempfile.mkdtemp(prefix="udc-ops-")
        print("== " + n)
        t0 = time.time()
        try:
            TESTS[n](work)
        except Exception as e:  # noqa: BLE001 - a crash is a failed check, the others still run
            import traceback
            traceback.print_exc()
            T.check(False, "%s raised %s: %s" % (n, type(e).__name__, e))
        finally:
            shutil.rmtree(work, ignore_errors=True)
            print("== %s took %.1f s" % (n, time.time() - t0))
    T.finish()


if __name__ == "__main__":
    main()
