#!/usr/bin/env python3
"""End-to-end: sums and means of a CBS income column as group-mean estimates
(docs/governance.md, "Magnitudes").  Both daemons run a round on a spec with
three sum tables; this test computes what the release must say from the two
generated lists with its own reading of the rules, not the project's code:

- its own join on BSN and its own reading of the spec (test_e2e_linked.py);
- its own grouping of each CBS category by household_income (the slots are
  the quantiles of the whole CBS list: the value of rank r falls in slot
  floor(r * G / n), a run of equal values where its first one does; in each
  category the lowest failing group is merged with the next one, the last
  with the one before, named after the part whose slot brought more values
  (the lower on a tie), until every group holds min_cell values,
  min_contributors nonzero ones and passes the p%-rule);
- the counts of every cell of every generated group table, the group means
  over the whole CBS list (rounded half up to whole euros), and the
  estimate sum over g of count(cell, g) x mean(cell's CBS categories, g).

Every released count, estimate and mean must equal its expectation; an
estimate is released exactly when its count and every group count it uses
are; no group count from 1 to min_cell-1 is released, nor implied by a line
of a group table with a single suppressed entry.

  test_e2e_sums.py [PERSONS]     (default 2000)
"""
import collections
import csv
import io
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import test_e2e_linked as base  # noqa: E402  (its spec reader and BSN check)

G = 4
MIN_CELL, MIN_CONTRIB, P = 10, 3, 10
WIJKEN = harness.WIJKEN
STADSDELEN = {"sd%d" % (i + 1): WIJKEN[i * 11:(i + 1) * 11] for i in range(4)}

SPEC = """[spec]
name = e2e-sums
keys = bsn

[gemeente]
wijk = %s
ooievaarspas = ja, nee

[cbs]
income_band = 0-100, 100-130, 130-200, 200+
uitkering = ja, nee

[recode stadsdeel]
from = wijk
%s

[attributes]
household_income = cbs
household_income.groups = %d

[table deel_income]
dims = stadsdeel
sum = household_income
mean = yes

[table pas_uitk_income]
dims = ooievaarspas, uitkering
sum = household_income
mean = yes

[table unreached_income]
population = cbs_only
dims = income_band
sum = household_income

[table deel_count]
dims = stadsdeel, uitkering

[disclosure]
min_cell = %d
min_contributors = %d
p_percent = %d
""" % (",\n       ".join(WIJKEN), "\n".join("%s = %s" % (k, ",\n    ".join(v)) for k, v in STADSDELEN.items()),
       G, MIN_CELL, MIN_CONTRIB, P)


def passes(vals):
    """vals sorted ascending: min_cell, min_contributors, the p%-rule."""
    if len(vals) < MIN_CELL:
        return False
    if sum(1 for v in vals if v) < MIN_CONTRIB:
        return False
    x1 = vals[-1]
    x2 = vals[-2] if len(vals) > 1 else 0
    return (sum(vals) - x1 - x2) * 100 >= P * x1


def bounds_of(values):
    """the lower bound of each slot: the value of rank r falls in slot
    r * G // n, a run of equal values where its first one does"""
    s = sorted(values)
    n = len(s)
    lo = [0] + [None] * (G - 1)
    for r, v in enumerate(s):
        if r > 0 and s[r - 1] == v:
            continue
        slot = r * G // n
        if slot > 0 and lo[slot] is None:
            lo[slot] = v
    for g in range(G - 1, 0, -1):  # an empty slot takes the next one's bound
        if lo[g] is None:
            lo[g] = lo[g + 1] if g + 1 < G else float("inf")
    return lo


def grouping(values, lo):
    """value -> group slot in one category, by the documented rule"""
    slot = lambda v: max(g for g in range(G) if lo[g] <= v)
    groups = []  # [slot, [values], values the slot it is named after brought]
    for v in sorted(values):
        if groups and groups[-1][0] == slot(v):
            groups[-1][1].append(v)
        else:
            groups.append([slot(v), [v], 0])
    for gr in groups:
        gr[2] = len(gr[1])
    while len(groups) > 1:
        bad = [i for i, (_, v, _) in enumerate(groups) if not passes(v)]
        if not bad:
            break
        i = bad[0]
        if i == len(groups) - 1:
            i -= 1
        if groups[i + 1][2] > groups[i][2]:  # the larger part names it, the lower on a tie
            groups[i][0], groups[i][2] = groups[i + 1][0], groups[i + 1][2]
        groups[i][1].extend(groups[i + 1][1])
        del groups[i + 1]
    return {v: sl for sl, vs, _ in groups for v in vs}


def main():
    persons = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    T = harness.Checks()
    work = harness.tempfile.mkdtemp(prefix="udc-e2e-sums-")
    gcsv, ccsv = harness.gen_population(work, persons, 20261204, extra=["--income"])
    spec_path = os.path.join(work, "sums.spec")
    with open(spec_path, "w", encoding="utf-8") as f:
        f.write(SPEC)
    dims, recodes, tables, sections = base.parse_spec(SPEC)

    gcols = {"wijk": "wijk", "ooievaarspas": "ooievaarspas"}
    allowed = {d: set(dims[d][1]) for d in ("wijk", "ooievaarspas", "income_band", "uitkering")}
    g = base.read_side(gcsv, "bsn", gcols, allowed)
    # the CBS side by hand: a household_income that is not a whole number >= 0 rejects the row
    seen, rows = collections.Counter(), []
    with open(ccsv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            b = base.norm_bsn(r["bsn"])
            lab = {d: r[d].strip() for d in ("income_band", "uitkering")}
            inc = r["household_income"].strip()
            if b is None or any(lab[d] not in allowed[d] for d in lab) or not inc.isdigit():
                continue
            seen[b] += 1
            rows.append((b, dict(lab, inc=int(inc))))
    c = {b: l for b, l in rows if seen[b] == 1}

    # groups per CBS category (income_band x uitkering)
    bycat = collections.defaultdict(list)
    for rec in c.values():
        bycat[(rec["income_band"], rec["uitkering"])].append(rec["inc"])
    lo = bounds_of([r["inc"] for r in c.values()])
    slot_of = {cat: grouping(v, lo) for cat, v in bycat.items()}
    for rec in c.values():
        rec["group"] = slot_of[(rec["income_band"], rec["uitkering"])][rec["inc"]]
    ngroups = collections.Counter(len(set(m.values())) for m in slot_of.values())
    print("categories by number of groups after merging: %s" % dict(sorted(ngroups.items())))

    records = []
    for b, gl in g.items():
        records.append(("linked", dict(gl, **c[b])) if b in c else ("g", dict(gl)))
    for b, cl in c.items():
        if b not in g:
            records.append(("c", dict(cl)))

    def matches(t, cell, kind, rec):
        if kind not in base.kinds(t["population"]):
            return False
        for d, al in t["where"].items():
            if base.value(rec, d, recodes) not in al:
                return False
        return all(v == "" or base.value(rec, d, recodes) == v for d, v in cell.items())

    def cells_of(t):
        return [dict(zip(t["dims"], co)) for co in itertools.product(*[dims[d][1] + [""] for d in t["dims"]])]

    def mean_of(t, cell, grp):
        """the group mean over every CBS record of the cell's CBS categories"""
        vals = [r["inc"] for r in c.values() if r["group"] == grp and all(
            v == "" or dims[d][0] != "cbs" or base.value(r, d, recodes) == v for d, v in cell.items())
            and all(base.value(r, d, recodes) in al for d, al in t["where"].items() if dims[d][0] == "cbs")]
        return (2 * sum(vals) + len(vals)) // (2 * len(vals)) if vals else None

    sum_tables = [n for n, t in tables.items() if "sum" in sections["table " + n]]
    expect, est = {}, {}
    for name, t in tables.items():
        for cell in cells_of(t):
            key = (name,) + tuple(cell[d] for d in t["dims"])
            expect[key] = sum(1 for k, r in records if matches(t, cell, k, r))
    for name in sum_tables:
        t = tables[name]
        for cell in cells_of(t):
            key = (name,) + tuple(cell[d] for d in t["dims"])
            parts = []
            for grp in range(G):
                n = sum(1 for k, r in records if matches(t, cell, k, r) and r["group"] == grp)
                gkey = (name + "_groups",) + key[1:] + (str(grp + 1),)
                expect[gkey] = n
                parts.append((gkey, n, mean_of(t, cell, grp)))
            est[key] = parts
        # the group table's totals over the group dimension
        for cell in cells_of(t):
            key = (name + "_groups",) + tuple(cell[d] for d in t["dims"]) + ("",)
            expect[key] = sum(1 for k, r in records if matches(t, cell, k, r))

    with harness.Cluster(gcsv, ccsv, cbs_labels=dict(harness.CBS_LABELS, household_income="household_income")) as cl:
        cl.start()
        cl.approve(spec_path)
        rid, _ = cl.run_round(spec_path)
        out = cl.gemeente.ctl("round", "result", rid).stdout
        meta = json.loads(cl.gemeente.ctl("round", "result", rid, "--format", "json").stdout)
        # the report reads a release with estimates and group tables
        docs = os.path.join(cl.dir, "gemeente-state", "rounds", rid)
        conf = os.path.join(work, "sums.report")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("[report]\ntitle = Uitkering per stadsdeel\narea = stadsdeel\n\n"
                    "[indicator uitkering]\ntitle = Met uitkering\ntable = deel_count\n"
                    "numerator = uitkering=ja\n")
        r = harness.subprocess.run([harness.bin_path("udc-report"), "-c", conf, "-o",
                                    os.path.join(work, "report"), "-q",
                                    os.path.join(docs, "result.csv"), os.path.join(docs, "result.json")],
                                   capture_output=True, text=True, timeout=120)
        T.check(r.returncode == 0 and os.path.exists(os.path.join(work, "report", "report.html")),
                "udc-report reads the release with estimates and group tables: rc %d %s"
                % (r.returncode, r.stderr.strip()))

    rows = list(csv.reader(io.StringIO(out)))
    header = rows[0]
    T.check(header[-5:] == ["count", "suppressed", "sum_estimate", "sum_suppressed", "mean_estimate"],
            "result.csv says the sums and means are estimates: %s" % header[-5:])
    got = {}
    for r in rows[1:]:
        rec = dict(zip(header, r))
        tn = rec["table"]
        tdims = tables[tn]["dims"] if tn in tables else tables[tn[:-len("_groups")]]["dims"] + ["household_income_group"]
        got[(tn,) + tuple(rec[d] for d in tdims)] = rec
    for r in rows[1:]:
        if r[0] in ("deel_income", "pas_uitk_income"):
            print("  " + ",".join(r))  # for the record
    T.check(set(got) == set(expect), "the release has the cells of the spec's tables and of one group table "
            "per sum table (%d cells)" % len(expect))

    wrong, small = [], []
    for key, n in expect.items():
        rec = got.get(key)
        if rec is None:
            continue
        if rec["suppressed"] == "0":
            if rec["count"] != str(n):
                wrong.append((key, rec["count"], n))
            if 0 < n < MIN_CELL:
                small.append((key, n))
        elif rec["count"] != "":
            wrong.append((key, rec["count"], "suppressed"))
    T.check(not wrong, "every released count, group counts included, equals the independent join%s"
            % ("" if not wrong else ": " + repr(wrong[:5])))
    T.check(not small, "no count from 1 to %d is released, in the group tables neither%s"
            % (MIN_CELL - 1, "" if not small else ": " + repr(small[:5])))

    bad_est, bad_rule, released = [], [], 0
    for key, parts in est.items():
        rec = got[key]
        usable = rec["suppressed"] == "0" and all(got[gk]["suppressed"] == "0" for gk, _, _ in parts)
        shown = rec["sum_suppressed"] == "0"
        if shown != usable:
            bad_rule.append((key, shown, usable))
            continue
        if not shown:
            if rec["sum_estimate"] != "" or rec["mean_estimate"] != "":
                bad_est.append((key, "withheld but shows", rec["sum_estimate"]))
            continue
        released += 1
        want = sum(n * (m or 0) for _, n, m in parts)
        if rec["sum_estimate"] != str(want):
            bad_est.append((key, rec["sum_estimate"], want))
        tn = key[0]
        if sections["table " + tn].get("mean") == "yes" and int(rec["count"]) > 0:
            cnt = int(rec["count"])
            q = (want * 200 + cnt) // (2 * cnt)
            if rec["mean_estimate"] != "%d.%02d" % (q // 100, q % 100):
                bad_est.append((key, "mean", rec["mean_estimate"], q))
    # how close the estimates come to the true sums (printed for the record)
    errs = []
    for key, parts in est.items():
        rec = got[key]
        if rec["sum_suppressed"] != "0" or rec["sum_estimate"] in ("", "0"):
            continue
        t = tables[key[0]]
        cell = dict(zip(t["dims"], key[1:]))
        true = sum(r["inc"] for k, r in records if matches(t, cell, k, r))
        errs.append((abs(int(rec["sum_estimate"]) - true) / true if true else 0.0, key, rec["count"],
                     rec["sum_estimate"], true))
    if errs:
        errs.sort()
        print("estimates against the true sums: median error %.2f%%, largest %.2f%% (%d cells); "
              "the largest: %s, count %s, estimate %s, true %d"
              % ((100 * errs[len(errs) // 2][0], 100 * errs[-1][0], len(errs)) + errs[-1][1:]))
    T.check(not bad_rule, "an estimate is released exactly when its count and every group count it "
            "uses are%s" % ("" if not bad_rule else ": " + repr(bad_rule[:5])))
    T.check(not bad_est and released > 0, "every released estimate (%d of %d) and mean equals the "
            "independent one%s" % (released, len(est), "" if not bad_est else ": " + repr(bad_est[:5])))

    # a line of a group table with exactly one suppressed entry would give it away
    lonely = []
    for name in sum_tables:
        gt = name + "_groups"
        gd = tables[name]["dims"] + ["household_income_group"]
        axes = [dims[d][1] + [""] for d in tables[name]["dims"]] + [[str(i + 1) for i in range(G)] + [""]]
        for i in range(len(gd)):
            for fixed in itertools.product(*(axes[:i] + axes[i + 1:])):
                line = [(gt,) + fixed[:i] + (v,) + fixed[i:] for v in axes[i]]
                if sum(1 for k in line if got[k]["suppressed"] == "1") == 1:
                    lonely.append(line)
    T.check(not lonely, "no line of a group table has exactly one suppressed count%s"
            % ("" if not lonely else ": " + repr(lonely[0])))

    # the metadata: method, groups and every group mean
    mt = {x["name"]: x for x in meta.get("tables", [])}
    bad_meta = []
    for name in sum_tables:
        e = mt.get(name, {}).get("estimate", {})
        if e.get("method") != "group_mean" or e.get("groups") != G or e.get("group_table") != name + "_groups":
            bad_meta.append((name, e.get("method"), e.get("groups")))
            continue
        t = tables[name]
        for m in e.get("means", []):
            cell = {d: m["categories"].get(d, "") for d in t["dims"] if dims[d][0] == "cbs"}
            want = [mean_of(t, cell, grp) for grp in range(G)]
            if m["group_means"] != want:
                bad_meta.append((name, cell, m["group_means"], want))
    T.check(not bad_meta, "result.json names the method, the groups and every group mean, as "
            "computed here%s" % ("" if not bad_meta else ": " + repr(bad_meta[:3])))
    T.finish()


if __name__ == "__main__":
    main()
