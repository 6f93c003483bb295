#!/usr/bin/env python3
"""rounds.py - full udclink rounds for the benchmark (scripts/bench.sh).

Both daemons run on this machine over TLS on loopback, started afresh for
every round (so the peak RSS of a daemon is that round's), and one round is
run per start.  Per round it measures:

  wall      from `udcctl round start` until `udcctl round wait` returns
            (wait polls every 200 ms, so +-0.2 s); the time each step was
            first seen is kept too
  cpu       utime+stime of each daemon (all threads) from /proc/PID/stat,
            read just before `round start` and just after the round is done
  peak RSS  VmHWM from /proc/PID/status, read after the round (the daemon is
            fresh, so that is the round's peak); VmRSS is also sampled every
            0.25 s with the step, to tell where the peak is reached
  bytes     TCP payload bytes of the gemeente<->CBS connection, from the
            kernel's tcp_info (`ss -tin`): bytes_received on the CBS end is
            gemeente->CBS, bytes_received on the gemeente end is CBS->gemeente.
            Both directions, exact, no proxy in the path (a proxy would cost
            CPU on this 2-core machine and copy every byte once more).  The
            figure includes TLS records, NNG framing and protobuf, i.e. what
            a network between the nodes would carry above TCP.  The
            connection must be the same one before and after (checked).
  counts    from the daemons' logs: gemeente records blinded, CBS tuples
            after padding; from the result JSON: records used, keys missing

Usage: rounds.py --bin BUILD_DIR --work DIR --out results.json ROUND_JSON...
where each ROUND_JSON is {"name":..., "gemeente":csv, "cbs":csv, "mode":
"exact"|"fuzzy", "keys":[...], "pad":"none"|"max", "schema": path,
"scoring": "record"|"fields" (fuzzy; default record)} and optionally "pin"
(two one-core nodes), "delay_ms" (simulated latency each way), "repeat" (run
it N times, keep the run of median wall time), "env" (both
daemons' environment), "spec_file" with "labels_g"/"labels_c" (a spec as
written, instead of the generated one), "chunk_records" (default 4096).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

GEMEENTE_FIELDS = {
    "bsn": "bsn", "given_names": "voornamen", "surname_prefix": "voorvoegsel",
    "surname": "geslachtsnaam", "birth_date": "geboortedatum", "sex": "geslacht",
    "postcode": "postcode", "house_number": "huisnummer",
}
CBS_FIELDS = {
    "bsn": "bsn", "given_names": "first_names", "surname_prefix": "prefix",
    "surname": "last_name", "birth_date": "date_of_birth", "sex": "sex",
    "postcode": "postal_code", "house_number": "house_number",
}
CLK_TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_secs(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # fields 14 and 15 (utime, stime); rest[0] is field 3
    return (int(rest[11]) + int(rest[12])) / CLK_TICK


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def tcp_counters(port):
    """{(local, peer): bytes_received} for established sockets on port."""
    out = subprocess.run(["ss", "-tinH", "state", "established",
                          "( sport = :%d or dport = :%d )" % (port, port)],
                         capture_output=True, text=True).stdout
    conns, cur = {}, None
    for line in out.splitlines():
        f = line.split()
        if not line.startswith((" ", "\t")) and len(f) >= 4:
            cur = (f[2], f[3])
            conns[cur] = 0
        elif cur is not None:
            m = re.search(r"bytes_received:(\d+)", line)
            conns[cur] = int(m.group(1)) if m else 0
    return conns


def split_directions(conns, port):
    """(gemeente->CBS, CBS->gemeente, connection ids)."""
    g2c = c2g = 0
    ids = set()
    for (local, peer), rcv in conns.items():
        if local.endswith(":%d" % port):      # CBS end: received from gemeente
            g2c += rcv
            ids.add(peer)
        elif peer.endswith(":%d" % port):     # gemeente end
            c2g += rcv
            ids.add(local)
    return g2c, c2g, ids


class Node:
    def __init__(self, work, role, prog, conf, cpu=None):
        self.work, self.role, self.prog, self.conf, self.cpu = work, role, prog, conf, cpu
        self.log = os.path.join(work, role + ".log")
        self.proc = None

    def start(self, env=None):
        with open(self.log, "wb") as logf:
            pin = ["taskset", "-c", str(self.cpu)] if self.cpu is not None else []
            self.proc = subprocess.Popen(pin + [self.prog, "-c", self.conf, "-d"], stdout=logf, stderr=logf,
                                         env=dict(os.environ, **(env or {})))

    def ctl(self, udcctl, *args, check=True, timeout=120):
        r = subprocess.run([udcctl, "-c", self.conf, "-t", "60"] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("udcctl %s -> %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def wait_ready(self, udcctl, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited (%s):\n%s" % (self.prog, self.proc.returncode, self.read_log()[-3000:]))
            if self.ctl(udcctl, "round", "list", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("%s not ready" % self.prog)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def make_keys(bindir, keys):
    """Operator signing keys (udc-keygen), for trees whose daemons need them."""
    keygen = os.path.join(bindir, "tools", "udc-keygen")
    if not os.path.exists(keygen):
        return None
    os.makedirs(keys, exist_ok=True)
    for role in ("gemeente", "cbs"):
        if not os.path.exists(os.path.join(keys, role + ".pub")):
            subprocess.run([keygen, os.path.join(keys, role + ".sign"), os.path.join(keys, role + ".pub")],
                           check=True, stdout=subprocess.DEVNULL)
    return keys


def write_conf(work, role, port, csv, certs, labels, workers, keys=None, chunk=4096):
    state = os.path.join(work, role + "-state")
    shutil.rmtree(state, ignore_errors=True)
    path = os.path.join(work, role + ".conf")
    fields = GEMEENTE_FIELDS if role == "gemeente" else CBS_FIELDS
    with open(path, "w") as f:
        f.write("[node]\nrole = %s\nname = %s-bench\nstate_dir = %s\ncontrol_socket = %s\n"
                "log_level = info\nworkers = %d\n"
                % (role, role, state, os.path.join(work, role + ".ctl"), workers))
        if keys:
            f.write("signing_key = %s\n" % os.path.join(keys, role + ".sign"))
        f.write("\n[peer]\n")
        if keys:
            f.write("public_key = %s\n" % os.path.join(keys, ("cbs" if role == "gemeente" else "gemeente") + ".pub"))
        if role == "cbs":
            f.write("listen = tls+tcp://127.0.0.1:%d\n" % port)
        else:
            f.write("connect = tls+tcp://127.0.0.1:%d\nserver_name = cbs.udclink.test\n" % port)
        # Generous timeouts: on a loaded 2-core machine one chunk or the
        # final count of a 1M round can take longer than the defaults.
        f.write("timeout = 900\nresend = 300\nchunk_records = %d\nsession_idle = 900\n\n" % chunk)
        f.write("[tls]\nca_file = %s/ca.pem\ncert_file = %s/%s.pem\nkey_file = %s/%s.key\n\n"
                % (certs, certs, role, certs, role))
        f.write("[input]\nfile = %s\nreject_limit = 10%%\n\n[fields]\n" % os.path.abspath(csv))
        for k, v in fields.items():
            f.write("%s = %s\n" % (k, v))
        f.write("\n[labels]\n")
        for k, v in labels.items():
            f.write("%s = %s\n" % (k, v))
    return path


def write_spec(work, r):
    path = os.path.join(work, "spec-%s.ini" % r["name"])
    with open(path, "w") as f:
        f.write("[spec]\nname = bench-%s\nmode = %s\n" % (r["name"], r.get("mode", "exact")))
        if r.get("keys"):
            f.write("keys = %s\n" % ", ".join(r["keys"]))
        f.write("\n[gemeente]\nage_band = 0-3, 4-11, 12-17\n\n[cbs]\nuitkering = ja, nee\n\n")
        f.write("[disclosure]\nmin_cell = 0\npad_categories = %s\n" % r.get("pad", "none"))
        if r.get("mode") == "fuzzy":
            shutil.copy(r["schema"], os.path.join(work, "schema.json"))
            f.write("\n[fuzzy]\nschema = schema.json\n")
            if r.get("scoring"):
                f.write("scoring = %s\n" % r["scoring"])
    return path


def runnable(pid):
    """1 if some thread of pid is running or waiting for a CPU (state R)."""
    d = "/proc/%d/task" % pid
    for t in os.listdir(d):
        try:
            with open("%s/%s/stat" % (d, t)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    return 1
        except OSError:
            pass
    return 0


class Sampler(threading.Thread):
    """VmRSS of both daemons every 0.25 s, with the gemeente's current step;
    and every 0.05 s whether each daemon has a thread that is running or
    waiting for a CPU (state R in /proc/PID/task/TID/stat).  The share of
    samples in which a daemon wanted a CPU does not depend on how much of the
    CPU other jobs of this shared machine took meanwhile (they stretch the
    round, not the shares), so it tells which party waited for the other."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.step, self.samples = pids, "start", []
        self.busy = []   # (t, step, [0/1 per daemon])
        self.stop_ev = threading.Event()

    def run(self):
        t0 = time.time()
        k = 0
        while not self.stop_ev.is_set():
            t = round(time.time() - t0, 2)
            try:
                self.busy.append((t, self.step, [runnable(p) for p in self.pids]))
                if k % 5 == 0:
                    self.samples.append((t, self.step, [status_kb(p, "VmRSS") for p in self.pids]))
            except OSError:
                pass
            k += 1
            self.stop_ev.wait(0.05)


def run_round(args, r, certs):
    work = os.path.join(args.work, r["name"])
    os.makedirs(work, exist_ok=True)
    port = free_port()
    bindir = args.bin
    udcctl = os.path.join(bindir, "tools", "udcctl")
    keys = make_keys(bindir, os.path.join(args.work, "keys"))
    # "pin": each daemon on a core of its own with one worker, so that the
    # machine acts as two one-core nodes: shows what overlaps and what waits.
    pin = r.get("pin", False)
    workers = 1 if pin else args.workers
    gconf = write_conf(work, "gemeente", port, r["gemeente"], certs,
                       r.get("labels_g", {"age_band": "leeftijdsklasse"}), workers, keys,
                       r.get("chunk_records", 4096))
    cconf = write_conf(work, "cbs", port, r["cbs"], certs, r.get("labels_c", {"uitkering": "uitkering"}),
                       workers, keys, r.get("chunk_records", 4096))
    if r.get("spec_file"):   # a spec as users write it (docs/examples), unchanged
        spec = os.path.join(work, os.path.basename(r["spec_file"]))
        shutil.copy(r["spec_file"], spec)
    else:
        spec = write_spec(work, r)
    # "env": environment of both daemons (e.g. UDC_GROUP_BACKEND)
    env = dict(r.get("env", {}))
    cbs = Node(work, "cbs", os.path.join(bindir, "party_cbs", "cbsd"), cconf, 1 if pin else None)
    gem = Node(work, "gemeente", os.path.join(bindir, "party_gemeente", "gemeented"), gconf, 0 if pin else None)
    # "delay_ms": a simulated WAN latency, D ms each way on every request of
    # the gemeente (transport.c, UDC_BENCH_PEER_DELAY_MS): this kernel has
    # no netem.
    delay = int(r.get("delay_ms", 0))
    res = {"name": r["name"], "mode": r.get("mode", "exact"), "keys": r.get("keys", []),
           "pad": r.get("pad", "none"), "persons": r.get("persons"), "pin": pin, "delay_ms": delay,
           "spec": r.get("spec_file"), "env": r.get("env", {})}
    try:
        cbs.start(env)
        cbs.wait_ready(udcctl)
        gem.start(dict(env, **({"UDC_BENCH_PEER_DELAY_MS": str(delay)} if delay else {})))
        gem.wait_ready(udcctl)
        for n in (gem, cbs):
            n.ctl(udcctl, "spec", "approve", spec)
        # the gemeente dials at start; wait for the TLS connection
        end = time.time() + 30
        while time.time() < end and not split_directions(tcp_counters(port), port)[2]:
            time.sleep(0.1)
        with open("/proc/loadavg") as f:
            res["load_before"] = float(f.read().split()[0])
        pids = [gem.proc.pid, cbs.proc.pid]
        cpu0 = [cpu_secs(p) for p in pids]
        b0 = split_directions(tcp_counters(port), port)
        sampler = Sampler(pids)
        sampler.start()
        perf = None
        if os.environ.get("BENCH_PERF"):   # profile both daemons during the round
            perf = subprocess.Popen(["perf", "record", "-g", "-F", "499", "-o", os.path.join(work, "perf.data"),
                                     "-p", "%d,%d" % tuple(pids)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        rid = gem.ctl(udcctl, "round", "start", spec).stdout.strip()
        w = subprocess.Popen([udcctl, "-c", gconf, "-t", "600", "round", "wait", rid],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        steps = []
        for line in w.stderr:
            m = re.search(r"round \S+: (\S+)$", line.strip())
            if m:
                steps.append((m.group(1), round(time.time() - t0, 2)))
                sampler.step = m.group(1)
        out = w.stdout.read()
        rc = w.wait()
        wall = time.time() - t0
        sampler.stop_ev.set()
        sampler.join()
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        cpu1 = [cpu_secs(p) for p in pids]
        hwm = [status_kb(p, "VmHWM") * 1024 for p in pids]
        b1 = split_directions(tcp_counters(port), port)
        if rc != 0:
            raise RuntimeError("round failed (%d): %s\n--- gemeente log\n%s\n--- cbs log\n%s"
                               % (rc, out, gem.read_log()[-3000:], cbs.read_log()[-3000:]))
        doc = json.loads(gem.ctl(udcctl, "round", "result", rid, "--format", "json").stdout)
        meta = doc["metadata"]
        res.update({
            "wall_s": round(wall, 3), "steps": steps,
            "cpu_s": {"gemeente": round(cpu1[0] - cpu0[0], 2), "cbs": round(cpu1[1] - cpu0[1], 2)},
            "peak_rss": {"gemeente": hwm[0], "cbs": hwm[1]},
            "bytes": {"gemeente_to_cbs": b1[0] - b0[0], "cbs_to_gemeente": b1[1] - b0[1]},
            "same_connection": b0[2] == b1[2] and len(b1[2]) > 0,
            "links_total": meta.get("links_total"),
            "links_per_key": [(k["key"], k["links"]) for k in meta.get("links_per_key", [])],
            "gemeente_input": meta.get("gemeente_input"), "cbs_input": meta.get("cbs_input"),
            "fuzzy": meta.get("fuzzy"),
        })
        with open("/proc/loadavg") as f:
            res["load_after"] = float(f.read().split()[0])
        # peak: where the sampled RSS was highest
        for i, role in enumerate(("gemeente", "cbs")):
            if sampler.samples:
                best = max(sampler.samples, key=lambda s: s[2][i])
                res.setdefault("peak_at", {})[role] = {"t": best[0], "step": best[1], "rss": best[2][i] * 1024}
        res["rss_trace"] = sampler.samples[:: max(1, len(sampler.samples) // 200)]
        # Shares of the round in which each daemon wanted a CPU, and both at once.
        if sampler.busy:
            nb = len(sampler.busy)
            g = sum(b[2][0] for b in sampler.busy) / nb
            c = sum(b[2][1] for b in sampler.busy) / nb
            both = sum(b[2][0] and b[2][1] for b in sampler.busy) / nb
            res["busy"] = {"gemeente": round(g, 3), "cbs": round(c, 3), "both": round(both, 3),
                           "samples": nb}
            per = {}
            for t, st, b in sampler.busy:
                e = per.setdefault(st, [0, 0, 0])
                e[0] += 1
                e[1] += b[0]
                e[2] += b[1]
            res["busy_steps"] = [(st, round(e[0] / nb, 3), round(e[1] / e[0], 2), round(e[2] / e[0], 2))
                                 for st, e in per.items()]
        glog, clog = gem.read_log(), cbs.read_log()
        m = re.search(r"(\d+) rows, (\d+) used, (\d+) blinded", glog)
        if m:
            res["g_rows"], res["g_used"], res["g_tuples"] = map(int, m.groups())
        m = re.search(r"(\d+) rows, (\d+) used, (\d+) tuples after padding", clog)
        if m:
            res["c_rows"], res["c_used"], res["c_tuples"] = map(int, m.groups())
        m = re.search(r"group backend (\S+)", clog)
        if m:
            res["backend"] = m.group(1)
        m = re.search(r"(\d+) rows, (\d+) encoded", glog)
        if m:
            res["g_rows"], res["g_used"] = map(int, m.groups())
        m = re.search(r"(\d+) rows, (\d+) encoded", clog)
        if m:
            res["c_rows"], res["c_used"] = map(int, m.groups())
        gi, ci = meta.get("gemeente_input") or {}, meta.get("cbs_input") or {}
        res.setdefault("g_rows", gi.get("rows_read"))
        res.setdefault("c_rows", ci.get("rows_read"))
        res.setdefault("g_used", gi.get("records_used"))
        res.setdefault("c_used", ci.get("records_used"))
    finally:
        gem.stop()
        cbs.stop()
        for n in (gem, cbs):
            if os.path.exists(n.log):
                shutil.copy(n.log, os.path.join(args.work, "%s-%s.log" % (r["name"], n.role)))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("rounds", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    certs = os.path.join(args.work, "certs")
    if not os.path.exists(os.path.join(certs, "cbs.pem")):
        subprocess.run([os.path.join(SRC, "scripts", "gen-certs.sh"), certs], check=True,
                       stdout=subprocess.DEVNULL)
    results = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for spec in args.rounds:
        r = json.loads(spec)
        print("bench: round %s ..." % r["name"], file=sys.stderr, flush=True)
        try:
            # "repeat": N runs the round N times and keeps the run with the
            # median wall time (its logs too); all walls are recorded
            def copy_logs(src, dst):
                for role in ("gemeente", "cbs"):
                    path = os.path.join(args.work, "%s-%s%s.log" % (r["name"], role, src))
                    if os.path.exists(path):
                        shutil.copy(path, os.path.join(args.work, "%s-%s%s.log" % (r["name"], role, dst)))

            runs = []
            for k in range(max(1, int(r.get("repeat", 1)))):
                res = run_round(args, r, certs)
                copy_logs("", ".run%d" % k)
                runs.append((res["wall_s"], k, res))
            if len(runs) > 1:
                runs.sort(key=lambda x: (x[0], x[1]))
                _, k, res = runs[len(runs) // 2]
                res["walls_s"] = sorted(x[0] for x in runs)
                copy_logs(".run%d" % k, "")
        except Exception as e:  # noqa: BLE001 - record and go on with the next round
            res = {"name": r["name"], "error": str(e)[-4000:]}
            print("bench: round %s FAILED: %s" % (r["name"], str(e)[-2000:]), file=sys.stderr, flush=True)
        else:
            print("bench: round %s: %.1f s wall, cpu g %.1f s c %.1f s, peak RSS g %.0f MB c %.0f MB, "
                  "bytes g->c %.1f MB c->g %.1f MB" % (
                      r["name"], res["wall_s"], res["cpu_s"]["gemeente"], res["cpu_s"]["cbs"],
                      res["peak_rss"]["gemeente"] / 1e6, res["peak_rss"]["cbs"] / 1e6,
                      res["bytes"]["gemeente_to_cbs"] / 1e6, res["bytes"]["cbs_to_gemeente"] / 1e6),
                  file=sys.stderr, flush=True)
        results = [x for x in results if x.get("name") != r["name"]] + [res]
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
