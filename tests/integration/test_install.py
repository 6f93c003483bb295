#!/usr/bin/env python3
"""The packages, installed as docs/install.md says, in a fresh Debian 12.

1. scripts/build-deb.sh builds the three .deb files (lintian: no errors).
2. debootstrap makes a minimal Debian 12 (bookworm) in a temporary
   directory; apt-get installs the packages from the files there (the
   Debian archive must be reachable).
3. Inside: the man pages are there (man -w), systemd-analyze verify passes
   for both units and systemd-analyze security --offline rates each at most
   MAX_EXPOSURE.
4. docs/install.md step by step: keys and certificates in
   /etc/udclink/NODE/ with the modes and owner it gives (the CA is the demo
   CA of scripts/gen-certs.sh), the signing keys made with the installed
   udc-keygen, the input lists in /srv/udclink, the installed configurations
   edited only for the peer address and name; --check-config as udclink.
5. Both daemons start as their units would: the ExecStartPre and ExecStart
   lines, User, Group, SupplementaryGroups, UMask, StateDirectory and
   RuntimeDirectory (with their modes) read from the installed unit files;
   NOTIFY_SOCKET and WATCHDOG_USEC set, and READY=1 and WATCHDOG=1 must
   arrive.  (There is no systemd running in a chroot to do it.)
6. An operator, alice, in the group udclink-operators, approves the example
   spec on both nodes, runs a round, saves the table with its signature and
   verifies it, all with the installed udcctl; the audit logs name alice.

Needs root, debootstrap and the Debian archive; if one is missing it says
which and exits 77 (ctest reports the test as skipped).  Takes ~3-4 min on
2 cores, most of it debootstrap and apt.  UDC_INSTALL_KEEP=1 keeps the
chroot.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()
MAX_EXPOSURE = 2.0
MIRROR = os.environ.get("UDC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SPEC = "/usr/share/doc/udclink/examples/denhaag-kinderarmoede.spec"


def sh(cmd, check=True, timeout=900, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s -> %d\n%s\n%s" % (" ".join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


class Chroot:
    def __init__(self, root):
        self.root = root
        self.mounts = []

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def mount(self):
        for args, where in ((["-t", "proc", "proc"], "/proc"), (["--bind", "/dev"], "/dev"),
                            (["-t", "tmpfs", "tmpfs"], "/run")):
            sh(["mount"] + args + [self.path(where)])
            self.mounts.append(self.path(where))

    def umount(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m])
        self.mounts = []

    def run(self, cmd, user=None, check=True, timeout=600, env=None):
        spec = []
        if user:
            spec = ["--userspec=%s:%s" % (user, user), "--groups=udclink-operators"]
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root" if not user else
             "/home/" + user}
        e.update(env or {})
        return sh(["chroot"] + spec + [self.root, "/bin/sh", "-c", cmd], check=check, timeout=timeout, env=e)


def unit_of(ch, name):
    """The [Service] settings of an installed unit, as lists."""
    out = {}
    for line in open(ch.path("/lib/systemd/system/" + name)):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("[") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k, []).append(v)
    return out


class Notify:
    """An abstract socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, name):
        self.addr = "\0" + name
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.addr)
        self.s.settimeout(0.5)
        self.msgs = []
        self.stop = False
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while not self.stop:
            try:
                self.msgs.append(self.s.recv(4096).decode())
            except socket.timeout:
                continue
            except OSError:
                return

    def wait_for(self, what, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(what in m for m in self.msgs):
                return True
            time.sleep(0.1)
        return False

    def close(self):
        self.stop = True
        self.s.close()


def start_as_unit(ch, prog, node, logdir):
    """Starts PROG the way its installed unit says; returns (Popen, Notify)."""
    u = unit_of(ch, prog + ".service")
    user, group = u["User"][0], u["Group"][0]
    groups = ",".join(u.get("SupplementaryGroups", []))
    umask = u.get("UMask", ["0022"])[0]
    for key, base in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run")):
        mode = u.get(key + "Mode", ["0755"])[0]
        for d in u.get(key, []):
            p = os.path.join(base, d)
            ch.run("mkdir -p %s && chown %s:%s %s && chmod %s %s" % (p, user, group, p, mode, p))
    T.check(u.get("Type") == ["notify"], "%s: Type=notify" % prog)
    wd = u.get("WatchdogSec", ["0"])[0]
    pre = ["ulimit -c 0; umask %s; %s" % (umask, c.lstrip("+-!")) for c in u.get("ExecStartPre", [])]
    spec = ["--userspec=%s:%s" % (user, group)] + (["--groups=%s" % groups] if groups else [])
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"}
    for c in pre:
        r = sh(["chroot"] + spec + [ch.root, "/bin/sh", "-c", c], check=False, env=env)
        T.check(r.returncode == 0, "%s: ExecStartPre %s (%d): %s" % (prog, c.split(";")[-1].strip(), r.returncode,
                                                                     (r.stdout + r.stderr).strip()[-600:]))
    n = Notify("udc-notify-%s-%d" % (node, os.getpid()))
    env = dict(env, NOTIFY_SOCKET="@" + n.addr[1:], WATCHDOG_USEC="2000000")
    log = open(os.path.join(logdir, node + ".log"), "ab")
    cmd = "ulimit -c 0; umask %s; exec %s" % (umask, u["ExecStart"][0])
    p = subprocess.Popen(["chroot"] + spec + [ch.root, "/bin/sh", "-c", cmd], stdout=log, stderr=log, env=env)
    log.close()
    T.check(n.wait_for("READY=1", 60), "%s: READY=1 reached the notify socket" % prog)
    T.check(wd != "0" and n.wait_for("WATCHDOG=1", 10), "%s: the watchdog is pinged (WatchdogSec=%s)" % (prog, wd))
    return p, n


def main():
    missing = [t for t in ("debootstrap", "chroot", "mount", "dpkg-deb", "lintian", "scdoc") if not shutil.which(t)]
    if os.geteuid() != 0 or missing:
        print("not run: needs root (uid %d) and %s" % (os.geteuid(), ", ".join(missing) or "nothing else"))
        print("install them with scripts/install-deps.sh --package and run as root")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="udc-install-", dir="/var/tmp")
    ch = Chroot(os.path.join(work, "root"))
    procs = []
    t0 = time.time()
    try:
        # 1. packages
        r = sh([os.path.join(harness.SRC, "scripts", "build-deb.sh"), os.path.join(work, "deb")],
               env=dict(os.environ, BUILD_DIR=os.path.join(work, "build")), timeout=1800, check=False)
        T.check(r.returncode == 0, "build-deb.sh: packages built, lintian has no error (%d)\n%s" % (
            r.returncode, r.stderr[-2000:]))
        if r.returncode != 0:
            return
        debs = [l for l in r.stdout.split() if l.endswith(".deb")]
        T.check(len(debs) == 3, "three packages: %s" % [os.path.basename(d) for d in debs])
        print("note: packages built in %.0f s" % (time.time() - t0))
        # 2. Debian 12
        t1 = time.time()
        r = sh(["debootstrap", "--variant=minbase", "bookworm", ch.root, MIRROR], check=False, timeout=1200)
        if r.returncode != 0:
            print("not run: debootstrap could not reach %s:\n%s" % (MIRROR, r.stdout[-1500:]))
            sys.exit(77)
        print("note: debootstrap took %.0f s" % (time.time() - t1))
        ch.mount()
        os.makedirs(ch.path("/tmp/debs"), exist_ok=True)
        for d in debs:
            shutil.copy(d, ch.path("/tmp/debs"))
        t1 = time.time()
        ch.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
               "--no-install-recommends man-db openssl /tmp/debs/*.deb >/tmp/apt.log 2>&1 || "
               "{ tail -30 /tmp/apt.log; exit 1; }", timeout=1200)
        print("note: apt-get install took %.0f s" % (time.time() - t1))
        T.check(ch.run("getent passwd udclink && getent group udclink-operators", check=False).returncode == 0,
                "the packages made the user udclink and the group udclink-operators")
        st = ch.run("stat -c '%a %U' /etc/udclink/gemeente /etc/udclink/cbs", check=False).stdout.split("\n")
        T.check(st[:2] == ["700 udclink", "700 udclink"], "key directories 0700 udclink: %r" % st)
        # 3. man pages, units
        for page in ("gemeented", "cbsd", "udcctl", "udc-keygen", "udc-audit", "udc-clk", "udclink.conf",
                     "udclink-spec"):
            T.check(ch.run("man -w %s" % page, check=False).returncode == 0, "man %s is installed" % page)
        for unit in ("gemeented.service", "cbsd.service"):
            r = ch.run("systemd-analyze verify /lib/systemd/system/%s" % unit, check=False)
            T.check(r.returncode == 0 and r.stderr.strip() == "", "systemd-analyze verify %s: %s" % (
                unit, r.stderr.strip()[:500]))
            r = ch.run("systemd-analyze security --offline=true /lib/systemd/system/%s" % unit, check=False)
            m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), r.stdout)
            T.check(m is not None and float(m.group(1)) <= MAX_EXPOSURE,
                    "systemd-analyze security %s: exposure %s (at most %.1f)" % (
                        unit, m.group(1) if m else r.stdout[-300:], MAX_EXPOSURE))
        # 4. docs/install.md, steps 3-5
        certs = os.path.join(work, "certs")
        sh([os.path.join(harness.SRC, "scripts", "gen-certs.sh"), certs])
        for node, other in (("gemeente", "cbs"), ("cbs", "gemeente")):
            d = "/etc/udclink/" + node
            for src, dst in (("ca.pem", "ca.pem"), (node + ".pem", node + ".pem"), (node + ".key", node + ".key")):
                shutil.copy(os.path.join(certs, src), ch.path(d + "/" + dst))
            ch.run("udc-keygen %s/%s.sign /tmp/%s.pub" % (d, node, node))
        for node, other in (("gemeente", "cbs"), ("cbs", "gemeente")):
            d = "/etc/udclink/" + node
            ch.run("cp /tmp/%s.pub %s/%s.pub && chown udclink: %s/* && chmod 600 %s/*.key %s/*.sign"
                   % (other, d, other, d, d, d))
        gcsv, ccsv = harness.gen_population(work, 2000, 7)
        for node, csv in (("gemeente", gcsv), ("cbs", ccsv)):
            shutil.copy(csv, ch.path("/srv/udclink/%s.csv" % node))
            ch.run("chgrp udclink /srv/udclink/%s.csv && chmod 640 /srv/udclink/%s.csv" % (node, node))
        port = harness.free_port()
        for node, edits in (("gemeente", [(r"^connect = .*$", "connect = tls+tcp://127.0.0.1:%d" % port),
                                          (r"^server_name = .*$", "server_name = cbs.udclink.test")]),
                            ("cbs", [(r"^listen = .*$", "listen = tls+tcp://127.0.0.1:%d" % port)])):
            p = ch.path("/etc/udclink/%s.conf" % node)
            text = open(p).read()
            for pat, rep in edits:
                text, n = re.subn(pat, rep, text, flags=re.M)
                T.check(n == 1, "%s.conf: one line matches %s" % (node, pat))
            open(p, "w").write(text)
        for prog, node in (("gemeented", "gemeente"), ("cbsd", "cbs")):
            r = ch.run("runuser -u udclink -- %s -c /etc/udclink/%s.conf --check-config" % (prog, node), check=False)
            T.check(r.returncode == 0 and "configuration OK" in r.stdout and "StateDirectory=" in r.stdout,
                    "%s --check-config as udclink, before the first start: OK, the state and runtime "
                    "directories are left to the unit: %s" % (prog, (r.stdout + r.stderr).strip()[-800:]))
        ch.run("useradd -m alice && usermod -a -G udclink-operators alice")
        # 5. the daemons, as their units start them
        for prog, node in (("cbsd", "cbs"), ("gemeented", "gemeente")):
            p, n = start_as_unit(ch, prog, node, work)
            procs.append((p, n, node))
        st = ch.run("stat -c '%a %U %G' /run/udclink/gemeente/ctl.sock", check=False).stdout.strip()
        T.check(st == "660 udclink udclink-operators", "control socket 0660 udclink:udclink-operators (%s)" % st)
        # 6. an operator's round
        g, c = "/etc/udclink/gemeente.conf", "/etc/udclink/cbs.conf"
        for conf in (c, g):
            r = ch.run("udcctl -c %s spec approve %s" % (conf, SPEC), user="alice", check=False)
            T.check(r.returncode == 0, "alice approves the example spec (%s): %s" % (conf, r.stderr.strip()))
        r = ch.run("udcctl -c %s round start %s" % (g, SPEC), user="alice", check=False)
        rid = r.stdout.strip()
        T.check(r.returncode == 0 and re.fullmatch(r"[0-9a-f]{32}", rid), "alice starts a round: %r %s" % (
            rid, r.stderr.strip()))
        r = ch.run("udcctl -c %s --json round wait %s --timeout 300" % (g, rid), user="alice", check=False,
                   timeout=400)
        T.check(r.returncode == 0 and json.loads(r.stdout or "{}").get("state") == "done",
                "the round is done (%d): %s" % (r.returncode, r.stderr.strip()[-500:]))
        ch.run("cp /etc/udclink/gemeente/cbs.pub /home/alice/cbs.pub && chown alice /home/alice/cbs.pub")
        r = ch.run("cd && udcctl -c %s round result %s -o table.csv && udcctl verify table.csv --key cbs.pub"
                   % (g, rid), user="alice", check=False)
        T.check(r.returncode == 0 and "OK" in r.stdout, "alice saves the table and verifies its signature: %s" % (
            r.stdout + r.stderr).strip()[-400:])
        uid = int(ch.run("id -u alice").stdout)
        for node in ("gemeente", "cbs"):
            entries = [json.loads(l) for l in open(ch.path("/var/lib/udclink/%s/audit.log" % node)) if l.strip()]
            appr = [e for e in entries if e["type"] == "spec_approved"]
            T.check(appr and appr[-1]["fields"].get("user") == "alice" and appr[-1]["fields"].get("uid") == uid,
                    "%s audit log: the approval names alice (uid %d)" % (node, uid))
        entries = [json.loads(l) for l in open(ch.path("/var/lib/udclink/gemeente/audit.log")) if l.strip()]
        T.check(any(e["type"] == "control_request" and e["fields"].get("command") == "round start" and
                    e["fields"].get("user") == "alice" for e in entries),
                "gemeente audit log: alice started the round")
        r = ch.run("udcctl -c %s audit verify" % g, user="alice", check=False)
        T.check(r.returncode == 0, "the audit log verifies: %s" % r.stdout.strip())
    finally:
        for p, n, node in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            T.check(p.returncode == 0, "%s stopped cleanly on SIGTERM (%s)" % (node, p.returncode))
            n.close()
        ch.umount()
        still = [l.split()[1] for l in open("/proc/mounts") if l.split()[1].startswith(work)]
        if os.environ.get("UDC_INSTALL_KEEP") == "1" or still:
            print("note: kept %s%s" % (work, " (still mounted: %s)" % still if still else ""))
        else:
            shutil.rmtree(work, ignore_errors=True)
        print("note: the install test took %.0f s" % (time.time() - t0))
    T.finish()


if __name__ == "__main__":
    main()
