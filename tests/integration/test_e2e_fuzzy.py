#!/usr/bin/env python3
"""End-to-end fuzzy and combined rounds on generated data with realistic
errors.  Both sides get a label derived from truth_id (truth_id mod K), so
correct links land on the diagonal of the released table: the test reads
precision and recall off the table, without either node seeing the truth.

  test_e2e_fuzzy.py fuzzy       CLKs only
  test_e2e_fuzzy.py combined    exact keys first, then CLKs
  test_e2e_fuzzy.py balanced    fuzzy with balanced filters
  test_e2e_fuzzy.py fields      fuzzy with field scoring
  test_e2e_fuzzy.py auto        fuzzy, threshold = auto at precision 0.99: the
                                chosen threshold meets it, the estimated
                                precision and recall are close to the table's
  test_e2e_fuzzy.py fields_auto the same with field scoring (the feature join)
  test_e2e_fuzzy.py combined_keyless
                                combined, a tenth of the gemeente rows without BSN
                                and postcode (no exact key): they must link by CLK

Every other variant runs at the spec's default threshold (UDC_FUZZY_THRESHOLD
overrides it for exploring, never in the suite).  Each checks that both
nodes' metadata carries the matcher's report (times, pairs compared) and the
estimated curve.
"""
import csv
import io
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

K = 40
PERSONS = int(os.environ.get("UDC_FUZZY_PERSONS", "3000"))


def keyless_row(truth_id):
    """A tenth of the persons, spread over the table's labels."""
    return (truth_id * 7919) % 10 == 3


def add_truth_label(src, dst, keyless=None):
    """Copy src adding column t = truth_id mod K; returns the truth ids.
    keyless: (bsn column, postcode column): blank both for keyless_row()
    persons and add column kl = keyless | keyed; also returns their ids."""
    ids, kl_ids = [], set()
    with open(src, newline="", encoding="utf-8") as f, open(dst, "w", newline="", encoding="utf-8") as g:
        r = csv.DictReader(f)
        w = csv.DictWriter(g, fieldnames=r.fieldnames + ["t"] + (["kl"] if keyless else []))
        w.writeheader()
        for row in r:
            tid = int(row["truth_id"])
            row["t"] = str(tid % K)
            ids.append(tid)
            if keyless:
                row["kl"] = "keyed"
                if keyless_row(tid):
                    row[keyless[0]] = row[keyless[1]] = ""
                    row["kl"] = "keyless"
                    kl_ids.add(tid)
            w.writerow(row)
    return (ids, kl_ids) if keyless else ids


def main():
    variant = sys.argv[1] if len(sys.argv) > 1 else "fuzzy"
    T = harness.Checks()
    work = harness.tempfile.mkdtemp(prefix="udc-fz-")
    g0, c0 = harness.gen_population(work, PERSONS, 424242)
    gcsv, ccsv = os.path.join(work, "g.csv"), os.path.join(work, "c.csv")
    keyless = variant == "combined_keyless"
    kl_ids = set()
    if keyless:
        gids, kl_ids = add_truth_label(g0, gcsv, ("bsn", "postcode"))
    else:
        gids = add_truth_label(g0, gcsv)
    cids = add_truth_label(c0, ccsv)
    # True pairs: persons on both lists (a duplicated row counts once).
    true_pairs = len(set(gids) & set(cids))
    # field scoring: one filter per feature, so a shorter l (docs/fuzzy.md)
    fields = variant in ("fields", "fields_auto")
    auto = variant in ("auto", "fields_auto")
    schema = "denhaag-clk-fields-schema.json" if fields else "denhaag-clk-schema.json"
    shutil.copy(os.path.join(harness.SRC, "docs", "examples", schema), os.path.join(work, "schema.json"))
    vals = [str(i) for i in range(K)]
    mode = "fuzzy" if variant in ("fuzzy", "balanced", "fields", "auto", "fields_auto") else "combined"
    gdims, glabels = {"tg": vals}, {"tg": "t"}
    if keyless:
        gdims["kl"], glabels["kl"] = ["keyed", "keyless"], "kl"
    keys = [] if mode == "fuzzy" else ["bsn", "surname+birth_date+postcode"]
    fz = {"schema": "schema.json"}
    if variant == "balanced":
        fz["balance"] = "yes"
    if fields:
        fz["scoring"] = "fields"
    if auto:
        fz["threshold"] = "auto"
        fz["target_precision"] = "0.99"
    if os.environ.get("UDC_FUZZY_THRESHOLD"):
        fz["threshold"] = os.environ["UDC_FUZZY_THRESHOLD"]
    spec = harness.write_spec(os.path.join(work, "spec.ini"), keys, min_cell=0, name="fz-" + variant,
                              gemeente=gdims, cbs={"tc": vals}, mode=mode, fuzzy=fz)
    with harness.Cluster(gcsv, ccsv, gemeente_labels=glabels, cbs_labels={"tc": "t"}) as cl:
        cl.start()
        cl.approve(spec)
        rid, _ = cl.run_round(spec)
        doc = json.loads(cl.gemeente.ctl("round", "result", rid, "--format", "json").stdout)
        meta = doc["metadata"]
        diag = off = 0
        for e in doc["linked"]:
            if e["gemeente"]["tg"] == e["cbs"]["tc"]:
                diag += e["count"]
            else:
                off += e["count"]
        links = diag + off
        # A wrong link lands on the diagonal with probability 1/K.
        wrong = off * K / (K - 1)
        precision = 1 - wrong / links if links else 0
        recall = (links - wrong) / true_pairs
        print("links %d (diagonal %d, off %d), true pairs %d: precision %.4f recall %.4f"
              % (links, diag, off, true_pairs, precision, recall))
        print(json.dumps(meta.get("fuzzy"), indent=1))
        print("exact links per key:", [(k["key"], k["links"]) for k in meta["links_per_key"]])
        T.check(meta["mode"] == mode, "metadata says mode %s" % mode)
        scoring = "fields" if fields else "record"
        T.check(meta["fuzzy"]["scoring"] == scoring, "metadata says scoring %s" % scoring)
        default = "0.700" if fields else "0.850"
        T.check("threshold" in fz or meta["fuzzy"]["threshold"] == default,
                "the spec's default threshold for %s scoring is %s" % (scoring, default))
        T.check(precision >= 0.95, "precision %.4f >= 0.95" % precision)
        T.check(recall >= 0.95, "recall %.4f >= 0.95" % recall)
        fzm = meta["fuzzy"]
        # The matcher's report and the estimated curve, on both nodes.
        cmeta = json.loads(cl.cbs.ctl("round", "result", rid, "--format", "json").stdout)["metadata"]
        for who, mm in (("gemeente", meta), ("cbs", cmeta)):
            mt = mm["fuzzy"].get("matcher", {})
            T.check(mt.get("pairs_compared", 0) > 0 and mt.get("seconds_score", -1) >= 0,
                    "%s metadata: the matcher compared %d pairs in %.3f s (index %.3f, resolve %.3f)"
                    % (who, mt.get("pairs_compared", 0), mt.get("seconds_score", -1),
                       mt.get("seconds_index", -1), mt.get("seconds_resolve", -1)))
            T.check(len(mm["fuzzy"]["estimated"]["curve"]) > 0, "%s metadata: the estimated curve" % who)
            T.check("invalid_values_by_field_and_reason" in mm["gemeente_input"]
                    and "invalid_values_by_field_and_reason" in mm["cbs_input"],
                    "%s metadata: failed checks per field and reason for both inputs" % who)
        T.check(cmeta["fuzzy"] == fzm, "both nodes report the same linkage")
        est = fzm["estimated"]
        print("threshold %s (auto %s): estimated precision %.4f recall %.4f; from the table %.4f / %.4f"
              % (fzm["threshold"], fzm["threshold_auto"], est["precision_at_threshold"],
                 est["recall_at_threshold"], precision, recall))
        if auto:
            T.check(fzm["threshold_auto"] and fzm["target_precision"] == "0.990",
                    "threshold = auto, target 0.990 (chose %s)" % fzm["threshold"])
            T.check(precision >= 0.99, "auto meets its target: precision %.4f >= 0.99" % precision)
            T.check(abs(est["precision_at_threshold"] - precision) <= 0.03,
                    "estimated precision %.4f within 0.03 of the table's %.4f"
                    % (est["precision_at_threshold"], precision))
            T.check(abs(est["recall_at_threshold"] - recall) <= 0.03,
                    "estimated recall %.4f within 0.03 of the table's %.4f"
                    % (est["recall_at_threshold"], recall))
        T.check(sum(b["links"] for b in fzm["links_per_similarity_band"]) == fzm["links"],
                "the similarity bands add up to the fuzzy links")
        T.check(meta["links_total"] == links, "links_total %d equals the table's links %d" % (meta["links_total"], links))
        if mode == "combined":
            T.check(meta["links_per_key"][0]["links"] > 0 and fzm["links"] > 0,
                    "combined: both exact and fuzzy links")
        if keyless:
            # The keyless persons can only link by CLK: read their links
            # off the kl = keyless rows of the table.
            kd = ko = 0
            for e in doc["linked"]:
                if e["gemeente"]["kl"] != "keyless":
                    continue
                if e["gemeente"]["tg"] == e["cbs"]["tc"]:
                    kd += e["count"]
                else:
                    ko += e["count"]
            kl_true = len(kl_ids & set(cids))
            kl_recall = (kd - ko / (K - 1)) / kl_true if kl_true else 0
            print("keyless: %d gemeente rows, %d with a CBS record; %d links (diagonal %d, off %d): "
                  "recall %.4f" % (len(kl_ids), kl_true, kd + ko, kd, ko, kl_recall))
            rej = meta["gemeente_input"]["rejected_by_reason"]
            T.check(rej["no_match_key"] == 0,
                    "no keyless row rejected as no_match_key (%d)" % rej["no_match_key"])
            T.check(kl_true > PERSONS // 20, "the test has keyless persons (%d)" % kl_true)
            T.check(kl_recall >= 0.95, "keyless persons linked by CLK: recall %.4f >= 0.95" % kl_recall)
        # Margins: every record on exactly one side of the table.
        gonly = sum(e["count"] for e in doc["gemeente_only"])
        conly = sum(e["count"] for e in doc["cbs_only"])
        T.check(links + gonly == meta["gemeente_input"]["records_used"],
                "gemeente records: linked + gemeente_only = used (%d + %d = %d)"
                % (links, gonly, meta["gemeente_input"]["records_used"]))
        T.check(links + conly == meta["cbs_input"]["records_used"],
                "CBS records: linked + cbs_only = used (%d + %d = %d)"
                % (links, conly, meta["cbs_input"]["records_used"]))
        cl.stop()
    shutil.rmtree(work, ignore_errors=True)
    T.finish()


if __name__ == "__main__":
    main()
