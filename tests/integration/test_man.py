#!/usr/bin/env python3
"""The man pages (man/*.scd, rendered by scdoc at build time):

- each renders with `man -l` without a warning and has NAME, SYNOPSIS or
  DESCRIPTION, and SEE ALSO;
- every option a program's --help shows appears in its page;
- every command of `udcctl --help` appears in udcctl(1);
- every key of the configuration table (common/config/config.c) appears in
  udclink.conf(5), so a key added there without its page fails here.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()
MAN = os.path.join(harness.BIN, "man")
PAGES = {"gemeented": "gemeented.8", "cbsd": "cbsd.8", "udcctl": "udcctl.1", "udc-clk": "udc-clk.1",
         "udc-audit": "udc-audit.1", "udc-keygen": "udc-keygen.1", "udc-report": "udc-report.1", None: "udclink.conf.5",
         "": "udclink-spec.5"}


def render(page):
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--warnings", "-l", os.path.join(MAN, page)], capture_output=True, text=True,
                       env=env, timeout=60)
    # Undo hyphenation at line ends and typographic hyphens, so options match.
    text = re.sub(r"[\u2010\u2011\u2212]", "-", r.stdout)
    text = re.sub(r"-\n\s+", "", text)
    return r, text


def main():
    if not os.path.isdir(MAN):
        T.check(False, "man pages built in %s (install scdoc: scripts/install-deps.sh)" % MAN)
        T.finish()
    for prog, page in PAGES.items():
        r, text = render(page)
        T.check(r.returncode == 0 and r.stderr.strip() == "", "%s renders without warnings: %s" % (
            page, r.stderr.strip()[:300]))
        T.check("NAME" in text and "SEE ALSO" in text and ("SYNOPSIS" in text or "DESCRIPTION" in text),
                "%s has NAME, SYNOPSIS/DESCRIPTION, SEE ALSO" % page)
        if not prog:
            continue
        h = subprocess.run([harness.bin_path(prog), "--help"], capture_output=True, text=True, timeout=30)
        opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", h.stdout + h.stderr))
        T.check(len(opts) > 0 or prog in ("udc-keygen", "udc-audit"), "%s --help shows options" % prog)
        missing = sorted(o for o in opts if o not in text)
        T.check(not missing, "%s: every --help option is in %s (missing %s)" % (prog, page, missing))
    # udcctl commands
    h = subprocess.run([harness.bin_path("udcctl"), "--help"], capture_output=True, text=True).stdout
    cmds = re.findall(r"^  ([a-z]+(?: [a-z]+)?) +[A-Z]*\s", h.split("commands:")[1], re.M)
    _, text = render("udcctl.1")
    T.check(len(cmds) >= 10, "udcctl --help lists its commands (%d)" % len(cmds))
    for c in cmds:
        T.check(re.search(r"^\s+%s\b" % re.escape(c), text, re.M) is not None, "udcctl(1) describes '%s'" % c)
    # configuration keys
    src = open(os.path.join(harness.SRC, "common", "config", "config.c")).read()
    table = src[src.index("cfg_keys[] = {"):]
    table = table[:table.index("};")]
    keys = re.findall(r'\{"(\w+)", "(\w+)",', table)
    _, text = render("udclink.conf.5")
    T.check(len(keys) >= 20, "config.c's key table read (%d keys)" % len(keys))
    for sect, key in keys:
        body = text.split("[%s]" % sect, 1)
        T.check(len(body) == 2 and re.search(r"^\s+%s = " % key, body[1], re.M) is not None,
                "udclink.conf(5) documents [%s] %s" % (sect, key))
    T.finish()


if __name__ == "__main__":
    main()
