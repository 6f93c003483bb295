"""harness.py - start a gemeente node and a CBS node on loopback for a test.

Each cluster lives in its own temporary directory: certificates (made with
scripts/gen-certs.sh), configs, state directories, control sockets and logs.
Ports are picked free; readiness is polled through udcctl, never slept for.

UDC_DAEMON_WRAPPER, if set, is a command line put in front of each daemon's
(split like a shell would; "{role}" becomes gemeente or cbs), e.g.
  valgrind --leak-check=full --error-exitcode=99 --log-file=/tmp/vg-{role}.%p.log
Waits for readiness and shutdown are then 4 times longer.
"""
import json
import os
import shutil
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("UDC_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN = os.environ.get("UDC_BINARY_DIR", os.path.join(SRC, "build"))
WRAPPER = os.environ.get("UDC_DAEMON_WRAPPER", "")
SLOW = 4 if WRAPPER else 1

GEMEENTE_FIELDS = {
    "bsn": "bsn", "given_names": "voornamen", "surname_prefix": "voorvoegsel",
    "surname": "geslachtsnaam", "birth_date": "geboortedatum", "sex": "geslacht",
    "postcode": "postcode", "house_number": "huisnummer",
}
GEMEENTE_LABELS = {"wijk": "wijk", "age_band": "leeftijdsklasse", "ooievaarspas": "ooievaarspas"}
CBS_FIELDS = {
    "bsn": "bsn", "given_names": "first_names", "surname_prefix": "prefix",
    "surname": "last_name", "birth_date": "date_of_birth", "sex": "sex",
    "postcode": "postal_code", "house_number": "house_number",
}
CBS_LABELS = {"income_band": "income_band", "uitkering": "uitkering", "household_type": "household_type"}

WIJKEN = ["WK0518%02d" % i for i in range(1, 45)]


def bin_path(name):
    for sub in ("party_gemeente", "party_cbs", "tools", ""):
        p = os.path.join(BIN, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wrap(values, per_line=8):
    """Long value lists continue on indented lines (inih's line limit)."""
    lines = [", ".join(values[i:i + per_line]) for i in range(0, len(values), per_line)]
    return ",\n    ".join(lines)


def write_spec(path, keys, min_cell=0, name="test", gemeente=None, cbs=None, pad="max", mode="exact",
               fuzzy=None, extra_disclosure=None):
    gemeente = gemeente or {"wijk": WIJKEN, "age_band": ["0-3", "4-11", "12-17"], "ooievaarspas": ["ja", "nee"]}
    cbs = cbs or {"income_band": ["0-100", "100-130", "130-200", "200+"], "uitkering": ["ja", "nee"]}
    with open(path, "w") as f:
        f.write("[spec]\nname = %s\nmode = %s\n" % (name, mode))
        if keys:
            f.write("keys = %s\n" % ", ".join(keys))
        f.write("\n[gemeente]\n")
        for k, v in gemeente.items():
            f.write("%s = %s\n" % (k, _wrap(v)))
        f.write("\n[cbs]\n")
        for k, v in cbs.items():
            f.write("%s = %s\n" % (k, _wrap(v)))
        f.write("\n[disclosure]\nmin_cell = %d\npad_categories = %s\n" % (min_cell, pad))
        for k, v in (extra_disclosure or {}).items():
            f.write("%s = %s\n" % (k, v))
        if fuzzy:
            f.write("\n[fuzzy]\n")
            for k, v in fuzzy.items():
                f.write("%s = %s\n" % (k, v))
    return path


class Node:
    def __init__(self, cluster, role, prog, conf):
        self.cluster, self.role, self.prog, self.conf = cluster, role, prog, conf
        self.proc = None
        self.log = os.path.join(cluster.dir, role + ".log")

    def start(self, wait=True):
        logf = open(self.log, "ab")
        wrap = [a.replace("{role}", self.role) for a in shlex.split(WRAPPER)]
        self.proc = subprocess.Popen(wrap + [bin_path(self.prog), "-c", self.conf, "-d"], stdout=logf, stderr=logf)
        logf.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=30):
        timeout *= SLOW
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log:\n%s" % (self.prog, self.proc.returncode, self.read_log()))
            r = self.ctl("round", "list", check=False, timeout=5)
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %d s" % (self.prog, timeout))

    def ctl(self, *args, check=True, timeout=120):
        r = subprocess.run([bin_path("udcctl"), "-c", self.conf, "-t", "30"] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("udcctl %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status_file(self, rid):
        """The node's status.json for rid, or None (missing; written
        atomically): read without starting udcctl, so a caller can poll it
        every millisecond and catch a step that lasts a fraction of a second."""
        try:
            with open(os.path.join(self.cluster.dir, self.role + "-state", "rounds", rid,
                                   "status.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def round_status(self, rid, timeout=120):
        """udcctl round status, parsed into a dict (no state if the round is
        unknown), with udcctl's exit code and stderr as _rc and _stderr."""
        r = self.ctl("round", "status", rid, check=False, timeout=timeout)
        info = {"_rc": r.returncode, "_stderr": r.stderr.strip()}
        for line in r.stdout.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
        return info

    def audit_log(self):
        return os.path.join(self.cluster.dir, self.role + "-state", "audit.log")

    def audit_entries(self):
        """The node's audit log, one dict per entry."""
        with open(self.audit_log()) as f:
            return [json.loads(l) for l in f if l.strip()]

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout):
        """True once the node's log holds text, polled for up to timeout seconds
        (for what a node logs after a timer of its own runs out)."""
        end = time.time() + timeout
        while True:
            if text in self.read_log():
                return True
            if time.time() >= end:
                return False
            time.sleep(0.2)


class Cluster:
    def __init__(self, gemeente_csv, cbs_csv, peer_timeout=20, resend=5, chunk=1024, session_idle=60,
                 gemeente_certs=None, keep=False, gemeente_labels=None, cbs_labels=None,
                 reject_limit="10%", gemeente_conf=None, cbs_conf=None):
        """gemeente_conf / cbs_conf: {section: {key: value}} added to that node's
        configuration (keys the harness does not write itself)."""
        self.dir = tempfile.mkdtemp(prefix="udc-it-")
        self.keep = keep or os.environ.get("UDC_KEEP_TEST_DIRS") == "1"
        self.certs = os.path.join(self.dir, "certs")
        subprocess.run([os.path.join(SRC, "scripts", "gen-certs.sh"), self.certs], check=True,
                       stdout=subprocess.DEVNULL)
        gcerts = gemeente_certs or self.certs
        self.keys = os.path.join(self.dir, "keys")
        os.makedirs(self.keys, exist_ok=True)
        for role in ("gemeente", "cbs"):
            subprocess.run([bin_path("udc-keygen"), os.path.join(self.keys, role + ".sign"),
                            os.path.join(self.keys, role + ".pub")], check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        common = {"timeout": peer_timeout, "resend": resend, "chunk": chunk, "idle": session_idle,
                  "reject_limit": reject_limit}
        self.extra = {"gemeente": gemeente_conf or {}, "cbs": cbs_conf or {}}
        self.gemeente = Node(self, "gemeente", "gemeented",
                             self._conf("gemeente", gemeente_csv, GEMEENTE_FIELDS,
                                        gemeente_labels or GEMEENTE_LABELS, gcerts, common))
        self.cbs = Node(self, "cbs", "cbsd",
                        self._conf("cbs", cbs_csv, CBS_FIELDS, cbs_labels or CBS_LABELS, self.certs, common))

    def _conf(self, role, csv, fields, labels, certs, c):
        state = os.path.join(self.dir, role + "-state")
        path = os.path.join(self.dir, role + ".conf")
        with open(path, "w") as f:
            f.write("[node]\nrole = %s\nname = %s-test\nstate_dir = %s\ncontrol_socket = %s\nlog_level = debug\n"
                    % (role, role, state, os.path.join(self.dir, role + ".ctl")))
            f.write("signing_key = %s\n\n" % os.path.join(self.keys, role + ".sign"))
            f.write("[peer]\npublic_key = %s\n" % os.path.join(self.keys, ("cbs" if role == "gemeente" else "gemeente") + ".pub"))
            if role == "cbs":
                f.write("listen = tls+tcp://127.0.0.1:%d\n" % self.port)
            else:
                f.write("connect = tls+tcp://127.0.0.1:%d\nserver_name = cbs.udclink.test\n" % self.port)
            f.write("timeout = %d\nresend = %d\nchunk_records = %d\nsession_idle = %d\n\n"
                    % (c["timeout"], c["resend"], c["chunk"], c["idle"]))
            f.write("[tls]\nca_file = %s/ca.pem\ncert_file = %s/%s.pem\nkey_file = %s/%s.key\n\n"
                    % (certs, certs, role, certs, role))
            # the generated lists break ~3% of rows on purpose
            f.write("[input]\nfile = %s\nreject_limit = %s\n\n[fields]\n" % (os.path.abspath(csv), c.get("reject_limit", "10%")))
            for k, v in fields.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n[labels]\n")
            for k, v in labels.items():
                f.write("%s = %s\n" % (k, v))
            for section, kv in self.extra[role].items():
                f.write("\n[%s]\n" % section)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))
        return path

    def start(self):
        self.cbs.start()
        self.gemeente.start()
        return self

    def approve(self, spec, nodes=None):
        for n in nodes or (self.gemeente, self.cbs):
            n.ctl("spec", "approve", spec)

    def run_round(self, spec, expect_ok=True, timeout=600):
        rid = self.gemeente.ctl("round", "start", spec).stdout.strip()
        r = self.gemeente.ctl("round", "wait", rid, check=False, timeout=timeout)
        if expect_ok and r.returncode != 0:
            raise RuntimeError("round %s failed (%d): %s%s\n--- gemeente log\n%s\n--- cbs log\n%s" % (
                rid, r.returncode, r.stdout, r.stderr, self.gemeente.read_log()[-4000:], self.cbs.read_log()[-4000:]))
        return rid, r

    def stop(self):
        """Stops both daemons with SIGTERM; returns their exit codes (0 is a
        clean exit; under the sanitizers a leak or error makes it non-zero)."""
        return self.gemeente.stop(), self.cbs.stop()

    def close(self):
        for n in (self.gemeente, self.cbs):
            if n.proc and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def private_copy(names, where):
    """Copies programs of the build tree into WHERE (made 0755) and returns
    their paths: for running them as another user when the clone sits in a
    private (0700) directory that user cannot enter.  The programs link
    only system libraries besides udccommon (static), so a copy runs."""
    os.makedirs(where, exist_ok=True)
    os.chmod(where, 0o755)
    out = {}
    for n in names:
        dst = os.path.join(where, n)
        shutil.copy2(bin_path(n), dst)
        os.chmod(dst, 0o755)
        out[n] = dst
    return out


def gen_population(outdir, persons, seed, extra=()):
    g = os.path.join(outdir, "gemeente.csv")
    c = os.path.join(outdir, "cbs.csv")
    subprocess.run([sys.executable, os.path.join(SRC, "scripts", "gen-population"), "--persons", str(persons),
                    "--seed", str(seed), "--out-gemeente", g, "--out-cbs", c] + list(extra),
                   check=True, stderr=subprocess.DEVNULL)
    return g, c


class Checks:
    """Counts checks and prints the closing line ctest's log shows."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print("ok: " + what)
        else:
            self.failed += 1
            print("FAILED: " + what)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)
