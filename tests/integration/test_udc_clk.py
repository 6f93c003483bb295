#!/usr/bin/env python3
"""udc-clk, the stand-alone encoder: clkhash's argument order gives the same
bytes as udc-clk's own (checked against clkhash 0.18's known answers),
--fields writes each feature's filter as clkhash encodes it with every other
feature ignored, and a secret file others can read, or a secret given on the
command line as clkhash takes it, is refused with the file mode to use."""
import base64
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

VEC = os.path.join(harness.SRC, "tests", "vectors", "clkhash")


def run(*args):
    return subprocess.run([harness.bin_path("udc-clk")] + list(args), capture_output=True, text=True)


def main():
    T = harness.Checks()
    work = tempfile.mkdtemp(prefix="udc-clk-")
    kat = os.path.join(VEC, "kat_mixed.csv")
    schema = os.path.join(VEC, "mixed_schema.json")
    secret = os.path.join(work, "secret")
    with open(secret, "w") as f:
        f.write("udc test secret\n")
    os.chmod(secret, 0o600)
    want = [row["clk_base64"] for row in csv.DictReader(open(kat, newline=""))]

    ours = os.path.join(work, "ours.txt")
    theirs = os.path.join(work, "theirs.json")
    r1 = run("hash", kat, schema, secret, ours)
    r2 = run("hash", "--json", kat, secret, schema, theirs)
    T.check(r1.returncode == 0 and r2.returncode == 0, "both argument orders run (%s %s)" % (r1.stderr, r2.stderr))
    got1 = open(ours).read().split()
    got2 = json.load(open(theirs))["clks"]
    T.check(got1 == want, "udc-clk's order: all %d CLKs are clkhash's" % len(want))
    T.check(got2 == want, "clkhash's order: all %d CLKs are clkhash's" % len(want))

    # --fields: filter k is the CLK of a schema with every other feature ignored
    fields_out = os.path.join(work, "fields.json")
    r = run("hash", "--fields", "--json", kat, schema, secret, fields_out)
    T.check(r.returncode == 0, "--fields runs (%s)" % r.stderr.strip())
    doc = json.load(open(fields_out))
    sch = json.load(open(schema))
    encoded = [f["identifier"] for f in sch["features"] if not f.get("ignored")]
    T.check(doc["features"] == encoded, "--fields lists the encoded features in schema order")
    per = doc["bits_per_feature"] // 8
    rows = [base64.b64decode(c) for c in doc["clks"]]
    T.check(all(len(x) == per * len(encoded) for x in rows), "each record: %d features x %d bytes" % (len(encoded), per))
    for k, name in enumerate(encoded):
        one = json.loads(json.dumps(sch))
        for f in one["features"]:
            if f["identifier"] != name:
                for key in list(f):
                    if key != "identifier":
                        del f[key]
                f["ignored"] = True
        path = os.path.join(work, "one-%d.json" % k)
        json.dump(one, open(path, "w"))
        out = os.path.join(work, "one-%d.txt" % k)
        r = run("hash", kat, path, secret, out)
        alone = [base64.b64decode(c) for c in open(out).read().split()]
        T.check(r.returncode == 0 and all(x[k * per:(k + 1) * per] == a for x, a in zip(rows, alone)),
                "feature %s: its --fields filter is the CLK with every other feature ignored" % name)

    # secrets: the file mode, and a secret on the command line
    os.chmod(secret, 0o644)
    r = run("hash", kat, schema, secret, ours)
    T.check(r.returncode == 1 and "0600" in r.stderr and "chmod 600" in r.stderr,
            "a secret file of mode 0644 is refused naming the mode it needs: %s" % r.stderr.strip())
    os.chmod(secret, 0o600)
    r = run("hash", kat, "horse_staple", schema, ours)
    T.check(r.returncode == 1 and "takes a file" in r.stderr and "horse_staple" not in r.stderr,
            "clkhash's order with the secret itself is refused without repeating it: %s" % r.stderr.strip())
    r = run("hash", kat, secret, secret, ours)
    T.check(r.returncode == 2 and "neither" in r.stderr, "no schema among the arguments: usage error")
    r = run("hash", "--help")
    T.check(r.returncode == 0 and "clkhash's order" in r.stdout and "0600" in r.stdout,
            "--help describes clkhash's order and the secret file's mode")
    shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
