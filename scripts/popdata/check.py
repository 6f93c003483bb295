#!/usr/bin/env python3
"""Check the output of gen-population against its options and the wijk table.

  python3 check.py G.csv C.csv T.csv [E.csv]   (E = the --errors log, optional)

Exits non-zero when a hard check fails (headers, labels, formats, BSN 11-test, consistency);
prints the observed rates next to the generator's defaults for the soft checks.
"""
import collections
import csv
import datetime
import importlib.machinery
import importlib.util
import math
import os
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader("genpop", os.path.join(HERE, "..", "gen-population"))
spec = importlib.util.spec_from_loader("genpop", loader)
gp = importlib.util.module_from_spec(spec)
loader.exec_module(gp)

FAIL = []


def hard(cond, msg):
    if not cond:
        FAIL.append(msg)
        print("FAIL", msg)


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = ",".join(next(r))
        return header, list(r)


def main():
    gpath, cpath, tpath = sys.argv[1:4]
    epath = sys.argv[4] if len(sys.argv) > 4 else None
    gh, G = read(gpath)
    ch, C = read(cpath)
    th, T = read(tpath)
    hard(gh == gp.GEMEENTE_HEADER, "gemeente header")
    hard(ch == gp.CBS_HEADER, "cbs header")
    hard(th == gp.TRUTH_HEADER, "truth header")
    N = len(T)
    errs = collections.defaultdict(set)       # (side, kind) -> truth ids
    if epath:
        _, E = read(epath)
        for tid, side, kind in E:
            errs[(side, kind)].add(int(tid))

    # labels
    WK = {f"WK0518{i:02d}" for i in range(1, 45)}
    LK = {"0-3", "4-11", "12-17"}
    JN = {"ja", "nee"}
    for r in G:
        hard(len(r) == 12, f"gemeente row width {r}")
        hard(r[9] in WK and r[10] in LK and r[11] in JN and r[6] in ("M", "V"), f"gemeente labels {r}")
    for r in C:
        hard(len(r) == 12, f"cbs row width {r}")
        hard(r[9] in gp.BANDS and r[10] in JN and r[11] in ("eenouder", "paar") and r[6] in ("male", "female"),
             f"cbs labels {r}")
    for r in T:
        hard(r[1] in WK and r[2] in LK and r[3] in JN and r[4] in gp.BANDS and r[5] in JN, f"truth labels {r}")
    print(f"labels: all within the allowed sets ({len(G)} gemeente, {len(C)} cbs, {len(T)} truth rows)")

    # formats
    bad = collections.Counter()
    for r in G:
        if not re.fullmatch(r"[1-9]\d{3}[A-Z]{2}", r[7]) or r[7] == "0000XX":
            bad["g_postcode"] += 1
        if not re.fullmatch(r"[1-9]\d*[a-z]?", r[8]):
            bad["g_huisnummer"] += 1
        try:
            datetime.datetime.strptime(r[5], "%Y%m%d")
        except ValueError:
            bad["g_date"] += 1
        if r[1] and not re.fullmatch(r"\d{9}", r[1]):
            bad["g_bsn_format"] += 1
    for r in C:
        if not re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", r[7]):
            bad["c_postcode"] += 1
        if not re.fullmatch(r"[1-9]\d*[a-z]?", r[8]):
            bad["c_house_number"] += 1
        try:
            datetime.datetime.strptime(r[5], "%d-%m-%Y")
        except ValueError:
            bad["c_date"] += 1
    print("invalid values:", dict(bad))
    if epath:
        for side, f in (("g", "g"), ("c", "c")):
            dup_pc = sum(1 for t in errs[(side, "malformed_postcode")] if t in errs[(side, "duplicate")])
            dup_dt = sum(1 for t in errs[(side, "malformed_date")] if t in errs[(side, "duplicate")])
            hard(bad[f + "_postcode"] == len(errs[(side, "malformed_postcode")]) + dup_pc,
                 f"{side}: invalid postcodes {bad[f + '_postcode']} vs logged")
            hard(bad[f + "_date"] == len(errs[(side, "malformed_date")]) + dup_dt,
                 f"{side}: invalid dates {bad[f + '_date']} vs logged")
    hard(bad["g_huisnummer"] == 0 and bad["c_house_number"] == 0 and bad["g_bsn_format"] == 0, "formats")

    # BSN: 11-test on the gemeente side, uniqueness, agreement between the sides
    g_fail = [r for r in G if r[1] and not gp.bsn_valid(r[1])]
    if epath:
        corrupt = errs[("g", "bsn_typo")] | errs[("g", "bsn_typo_valid")]
        hard(all(int(r[0]) in errs[("g", "bsn_typo")] for r in g_fail),
             "gemeente: a BSN fails the 11-test that was not deliberately corrupted")
        clean = [r for r in G if r[1] and int(r[0]) not in corrupt]
        hard(all(gp.bsn_valid(r[1]) for r in clean), "gemeente: uncorrupted BSN fails 11-test")
        owner = {}
        for r in clean:
            hard(owner.setdefault(r[1], r[0]) == r[0], f"BSN {r[1]} on two children")
        c_corrupt = errs[("c", "bsn_typo")] | errs[("c", "bsn_typo_valid")]
        cb = {r[0]: r[1] for r in C if r[1] and int(r[0]) not in c_corrupt}
        agree = sum(1 for r in clean if r[0] in cb and cb[r[0]] == r[1])
        both = sum(1 for r in clean if r[0] in cb)
        hard(agree == both, "uncorrupted BSNs differ between the sides")
        print(f"bsn: {len(clean)} uncorrupted gemeente BSNs pass the 11-test and are unique; "
              f"{len(g_fail)} fail (all logged as bsn_typo); sides agree on {agree}/{both}")
    else:
        print(f"bsn: {len(g_fail)} gemeente BSNs fail the 11-test")

    # overlap
    g_ids = {int(r[0]) for r in G}
    c_ids = {int(r[0]) for r in C}
    print(f"overlap: gemeente holds {len(g_ids & set(range(1, N + 1))) / N:.2%} of the population "
          f"(default 99%), cbs {len(c_ids & set(range(1, N + 1))) / N:.2%} (96%), "
          f"cbs extra {len([i for i in c_ids if i > N]) / N:.2%} of N (3%), both {len(g_ids & c_ids) / N:.2%}")
    print(f"duplicates: gemeente {(len(G) - len(g_ids)) / len(G):.3%}, cbs {(len(C) - len(c_ids)) / len(C):.3%} (0.1%)")

    # shuffled?
    ids = [int(r[0]) for r in G]
    adj = sum(1 for a, b in zip(ids, ids[1:]) if abs(a - b) == 1) / max(1, len(ids) - 1)
    print(f"shuffle: share of adjacent gemeente rows with consecutive truth_id {adj:.4%}")
    hard(adj < 0.01, "rows look ordered")

    # field differences between the sides for the same child
    gi = {r[0]: r for r in G}
    diff = collections.Counter()
    n_both = 0
    for r in C:
        g = gi.get(r[0])
        if not g:
            continue
        n_both += 1
        if g[2] != r[2]:
            diff["given names differ"] += 1
        if (g[3], g[4]) != (r[3], r[4]):
            diff["surname/prefix differ"] += 1
        if g[7] != r[7].replace(" ", "") or g[8] != r[8]:
            diff["address differs"] += 1
        if g[5] != r[5][6:] + r[5][3:5] + r[5][:2]:
            diff["birth date differs"] += 1
        if g[1] != r[1]:
            diff["bsn differs (incl. missing)"] += 1
    print("pairs on both lists:", n_both, {k: f"{v / max(1, n_both):.2%}" for k, v in sorted(diff.items())})

    # calibration against the wijk table
    class A:  # the generator's defaults
        lt130_share, lt100_share, lt130_cap, pas_takeup, pas_ineligible = 0.25, 0.13, 0.65, 0.65, 0.03
        ref_date = datetime.date(2025, 1, 1)
    m = gp.Model(A)
    tot = sum(w["kids"] for w in m.wijken.values())
    # wijk is drawn per household: variance of a count is inflated by E[k^2]/E[k]
    kp = gp.KIDS_PER_HOUSEHOLD
    deff = sum(k * k * p for k, p in kp) / sum(k * p for k, p in kp)
    per = collections.defaultdict(lambda: [0, 0, 0])
    for r in T:
        x = per[r[1]]
        x[0] += 1
        x[1] += r[4] in ("0-100", "100-130")
        x[2] += r[4] == "0-100"
    print("wijk         name                          children  expected  z    <130%  expected  z")
    zs, zl = [], []
    for code, w in m.wijken.items():
        n, low, _ = per.get(code, [0, 0, 0])
        p = w["kids"] / tot
        e = N * p
        z = (n - e) / math.sqrt(max(1e-9, deff * N * p * (1 - p))) if p > 0 else 0.0
        sl = low / n if n else 0.0
        zl_ = ((sl - w["p130"]) / math.sqrt(max(1e-9, deff * w["p130"] * (1 - w["p130"]) / n))) if n else 0.0
        if e >= 20:                      # normal approximation only for wijken with enough children
            zs.append(abs(z))
        if n >= 30:
            zl.append(abs(zl_))
        print(f"{code} {w['name'][:30]:30} {n:8d} {e:9.0f} {z:5.1f}  {sl:6.1%} {w['p130']:8.1%} {zl_:5.1f}")
    print(f"max |z| children (wijken with >= 20 expected) {max(zs):.1f}, max |z| low-income share {max(zl):.1f} "
          f"(z-scores include the household design effect {deff:.2f})")
    hard(max(zs) < 5, "per-wijk child counts off")

    # city-level model figures
    band = collections.Counter(r[4] for r in T)
    elig = [r for r in T if r[4] in ("0-100", "100-130")]
    inel = [r for r in T if r[4] not in ("0-100", "100-130")]
    p0 = [r for r in T if r[4] == "0-100"]
    print("income bands:", {b: f"{band[b] / N:.1%}" for b in gp.BANDS})
    print(f"ooievaarspas: take-up among eligible {sum(r[3] == 'ja' for r in elig) / len(elig):.1%}, "
          f"held by ineligible {sum(r[3] == 'ja' for r in inel) / len(inel):.2%}, "
          f"all children {sum(r[3] == 'ja' for r in T) / N:.1%}")
    print(f"uitkering: under 100% {sum(r[5] == 'ja' for r in p0) / len(p0):.1%}; "
          f"eligible without uitkering {sum(r[5] == 'nee' for r in elig) / len(elig):.1%}; "
          f"eligible, no uitkering, no pas {sum(r[5] == 'nee' and r[3] == 'nee' for r in elig) / N:.1%} of all children")
    ab = collections.Counter(r[2] for r in T)
    print("age bands:", {k: f"{ab[k] / N:.1%}" for k in ("0-3", "4-11", "12-17")}, "(uniform ages: 22.2% / 44.4% / 33.3%)")
    ht = collections.Counter(r[11] for r in C)
    print("household_type:", dict(ht))
    print("RESULT:", "FAIL" if FAIL else "OK")
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
