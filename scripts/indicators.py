#!/usr/bin/env python3
"""indicators.py - the child-poverty indicators, computed from a released
table only (udcctl round result ID --format json).

  scripts/indicators.py RESULT.json [--wijken N]

Suppressed entries are never guessed: each figure says how many entries it
had to leave out, and a share whose inputs are partly suppressed is shown
as a bound or as "n/a".
"""
import argparse
import collections
import json
import sys

LOW = {"0-100", "100-130"}  # Ooievaarspas eligibility: up to 130% of the social minimum


def load(path):
    with open(path) as f:
        return json.load(f)


def fmt_share(num, den, num_supp, den_supp):
    if den == 0 and den_supp == 0:
        return "      -"
    if den_supp or num_supp:
        return "    n/a"
    return "%6.1f%%" % (100.0 * num / den) if den else "      -"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("result")
    ap.add_argument("--wijken", type=int, default=44)
    a = ap.parse_args()
    doc = load(a.result)
    meta = doc["metadata"]

    # Per wijk, over released linked cells: children, low-income children,
    # eligible with a pass, eligible without a benefit.
    w = collections.defaultdict(lambda: collections.Counter())
    city = collections.Counter()
    for e in doc["linked"]:
        g, c = e["gemeente"], e["cbs"]
        wijk = g.get("wijk", "?")
        low = c.get("income_band") in LOW
        keys = ["children"]
        if low:
            keys.append("low")
            keys.append("low_pas" if g.get("ooievaarspas") == "ja" else "low_nopas")
            if c.get("uitkering") == "nee":
                keys.append("low_nobenefit")
        for k in keys:
            if e["suppressed"]:
                w[wijk][k + "_supp"] += 1
                city[k + "_supp"] += 1
            else:
                w[wijk][k] += e["count"]
                city[k] += e["count"]
    unreached = collections.Counter()
    for e in doc["cbs_only"]:
        if e["cbs"].get("income_band") in LOW:
            if e["suppressed"]:
                unreached["supp"] += 1
            else:
                unreached["n"] += e["count"]

    print("Indicators from the released table of round %s (spec %s, min_cell %s)"
          % (meta["round_id"], meta["spec_name"], meta["min_cell"]))
    print("links: %d (%s)" % (meta["links_total"], ", ".join("%s %d" % (k["key"], k["links"]) for k in meta["links_per_key"])))
    print()
    print("%-10s %9s %9s %8s %8s %9s" % ("wijk", "children", "low-inc", "share", "pas", "no-benef"))
    shown = 0
    for wijk in sorted(w):
        x = w[wijk]
        if shown >= a.wijken:
            break
        shown += 1
        print("%-10s %9s %9s %8s %8s %9s" % (
            wijk,
            "%d%s" % (x["children"], "+" if x["children_supp"] else ""),
            "%d%s" % (x["low"], "+" if x["low_supp"] else ""),
            fmt_share(x["low"], x["children"], x["low_supp"], x["children_supp"]),
            fmt_share(x["low_pas"], x["low"], x["low_pas_supp"], x["low_supp"]),
            fmt_share(x["low_nobenefit"], x["low"], x["low_nobenefit_supp"], x["low_supp"])))
    print("('+': some cells suppressed, the count is a lower bound; n/a: a share with suppressed inputs)")
    print()
    print("City (released cells only):")
    print("  linked children in low-income households: %d of %d%s" % (
        city["low"], city["children"],
        " (%d cells suppressed)" % city["children_supp"] if city["children_supp"] else ""))
    if city["low"]:
        print("  share in low-income households:         %5.1f%%" % (100.0 * city["low"] / city["children"]))
        print("  Ooievaarspas take-up among the eligible: %5.1f%%" % (100.0 * city["low_pas"] / city["low"]))
        print("  eligible children without a benefit:     %d (%4.1f%%)" % (
            city["low_nobenefit"], 100.0 * city["low_nobenefit"] / city["low"]))
    print("  eligible children CBS sees that the city's list does not reach: %d%s" % (
        unreached["n"], " (+%d suppressed entries)" % unreached["supp"] if unreached["supp"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
