#!/usr/bin/env python3
"""Declared fields end to end, on generated data:

  declared   a combined round whose second key and whose CLK schema use a
             field the spec declares (pc4, the postcode's four digits, a
             number 1000..9999), mapped by each node to a column of its own
  invalid    the CBS node maps pc4 to a column of 9-digit numbers: the field
             fails its check in nearly every row, the round fails naming the
             field and the limit; with [input] allow_invalid = pc4 it runs,
             and both nodes' metadata list the failures per field and reason
"""
import csv
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

T = harness.Checks()
K = 40


def add_columns(src, dst, pc_col):
    """t = truth_id mod K (the label the test reads precision off), pc4 =
    the first four characters of the postcode column."""
    ids = []
    with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
        r = csv.DictReader(f)
        w = csv.DictWriter(g, fieldnames=r.fieldnames + ["t", "pc4"])
        w.writeheader()
        for row in r:
            row["t"] = str(int(row["truth_id"]) % K)
            row["pc4"] = row[pc_col].replace(" ", "")[:4]
            ids.append(int(row["truth_id"]))
            w.writerow(row)
    return ids


def setup(work):
    g0, c0 = harness.gen_population(work, 2000, 5151)
    gcsv, ccsv = os.path.join(work, "g.csv"), os.path.join(work, "c.csv")
    gids, cids = add_columns(g0, gcsv, "postcode"), add_columns(c0, ccsv, "postal_code")
    schema = json.load(open(os.path.join(harness.SRC, "docs", "examples", "denhaag-clk-schema.json")))
    schema["features"].append({"identifier": "pc4", "format": {"type": "string", "encoding": "utf-8"},
                               "hashing": {"comparison": {"type": "ngram", "n": 2, "positional": False},
                                           "strategy": {"bitsPerToken": 8}, "hash": {"type": "blakeHash"},
                                           "missingValue": {"sentinel": ""}}})
    json.dump(schema, open(os.path.join(work, "schema.json"), "w"))
    vals = [str(i) for i in range(K)]
    spec = harness.write_spec(os.path.join(work, "spec.ini"), ["bsn", "surname+birth_date+pc4"], min_cell=0,
                              name="declared-pc4", gemeente={"tg": vals}, cbs={"tc": vals}, mode="combined",
                              fuzzy={"schema": "schema.json"})
    with open(spec, "a") as f:
        f.write("\n[fields]\npc4 = number min=1000 max=9999\n")
    return gcsv, ccsv, spec, len(set(gids) & set(cids))


def precision_recall(doc, true_pairs):
    diag = off = 0
    for e in doc["linked"]:
        if e["gemeente"]["tg"] == e["cbs"]["tc"]:
            diag += e["count"]
        else:
            off += e["count"]
    links = diag + off
    wrong = off * K / (K - 1)
    return (1 - wrong / links if links else 0), (links - wrong) / true_pairs


def declared(work):
    gcsv, ccsv, spec, true_pairs = setup(work)
    conf = {"fields": {"pc4": "pc4"}}
    with harness.Cluster(gcsv, ccsv, gemeente_labels={"tg": "t"}, cbs_labels={"tc": "t"},
                         gemeente_conf=conf, cbs_conf=conf) as cl:
        cl.start()
        cl.approve(spec)
        rid, _ = cl.run_round(spec)
        doc = json.loads(cl.gemeente.ctl("round", "result", rid, "--format", "json").stdout)
        meta = doc["metadata"]
        p, r = precision_recall(doc, true_pairs)
        keys = {k["key"]: k["links"] for k in meta["links_per_key"]}
        print("links per key %s, fuzzy %d; precision %.4f recall %.4f" % (keys, meta["fuzzy"]["links"], p, r))
        T.check(keys.get("surname+birth_date+pc4", 0) > 0,
                "the key over the declared field links %d" % keys.get("surname+birth_date+pc4", 0))
        T.check(p >= 0.95 and r >= 0.95, "precision %.4f and recall %.4f >= 0.95" % (p, r))
        bad = meta["gemeente_input"]["invalid_values_by_field"].get("pc4", 0)
        T.check(bad <= meta["gemeente_input"]["rows_read"] // 100,
                "the gemeente's pc4 values pass the number check but for the generator's "
                "malformed postcodes (%d)" % bad)
        cl.stop()


def invalid(work):
    gcsv, ccsv, spec, true_pairs = setup(work)
    with harness.Cluster(gcsv, ccsv, gemeente_labels={"tg": "t"}, cbs_labels={"tc": "t"},
                         gemeente_conf={"fields": {"pc4": "pc4"}}, cbs_conf={"fields": {"pc4": "bsn"}}) as cl:
        cl.start()
        cl.approve(spec)
        rid, res = cl.run_round(spec, expect_ok=False)
        err = cl.gemeente.round_status(rid).get("error", "")
        T.check(res.returncode != 0 and "field pc4" in err and "max_invalid" in err,
                "the round fails naming the field and the limit: %r" % err)
        T.check(not any(ch.isdigit() and len(w) == 9 for w in err.split() for ch in w[:1]),
                "no value in the message")
        logs = cl.cbs.read_log()
        T.check("field pc4:" in logs and "invalid number" in logs, "the CBS node logs the counts by reason")
        cl.stop()
    with harness.Cluster(gcsv, ccsv, gemeente_labels={"tg": "t"}, cbs_labels={"tc": "t"},
                         gemeente_conf={"fields": {"pc4": "pc4"}},
                         cbs_conf={"fields": {"pc4": "bsn"}, "input": {"allow_invalid": "pc4"}}) as cl:
        cl.start()
        cl.approve(spec)
        rid, _ = cl.run_round(spec)
        for who, node in (("gemeente", cl.gemeente), ("cbs", cl.cbs)):
            meta = json.loads(node.ctl("round", "result", rid, "--format", "json").stdout)["metadata"]
            ci = meta["cbs_input"]
            T.check(ci["fields_over_limit_allowed"] == ["pc4"],
                    "%s metadata: pc4 over the limit, allowed (%s)" % (who, ci["fields_over_limit_allowed"]))
            why = ci["invalid_values_by_field_and_reason"].get("pc4", {})
            T.check(why.get("invalid_number", 0) > ci["rows_read"] // 2,
                    "%s metadata: CBS pc4 failures by reason %s" % (who, why))
        cl.stop()


def main():
    what = sys.argv[1]
    work = harness.tempfile.mkdtemp(prefix="udc-fields-")
    {"declared": declared, "invalid": invalid}[what](work)
    shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
