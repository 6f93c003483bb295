#!/usr/bin/env python3
"""Derive the small data files in scripts/popdata/ from the shared data folder.

Not needed at run time: gen-population reads only the derived files.  Kept so that
the derivation can be checked and repeated:  python3 derive.py /work/shared/data
"""
import csv, json, os, random, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
OUT = os.path.dirname(os.path.abspath(__file__))

TUSSEN = {"van", "de", "der", "den", "het", "'t", "'s", "te", "ten", "ter", "in", "op",
          "uit", "aan", "bij", "onder", "over", "la", "le", "du", "da", "di", "del", "della",
          "des", "von", "vom", "zu", "el", "al", "d'", "l'", "t", "s"}


def split_prefix(name):
    """'van der Berg' -> ('van der', 'Berg'); leading lower-case particles are the voorvoegsel."""
    parts = name.split()
    pre = []
    while len(parts) > 1 and parts[0].lower() == parts[0] and parts[0] in TUSSEN:
        pre.append(parts.pop(0))
    return " ".join(pre), " ".join(parts)


def surnames():
    rows = list(csv.DictReader(open(os.path.join(SRC, "nl-surnames-meertens",
                                                 "top_1000_last_names_in_the_netherlands_2007.csv"))))
    top = []
    seen = set()
    for r in rows:
        nat = r["natural name"].strip().replace("' t ", "'t ")
        if nat in seen:
            continue
        seen.add(nat)
        pre, core = split_prefix(nat)
        top.append((pre, core, int(r["count in 2007"])))
    with open(os.path.join(OUT, "surnames_top1000.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["voorvoegsel", "geslachtsnaam", "count2007"])
        w.writerows(top)
    # tail: a fixed random sample of names with >= 5 bearers, outside the top 1000
    tail = []
    for line in open(os.path.join(SRC, "nl-surnames-meertens", "family_names_freq_5_or_more.lst"),
                     encoding="utf-8"):
        nat = line.strip()
        if not nat or nat in seen or "," in nat or '"' in nat or len(nat) > 30:
            continue
        tail.append(nat)
    rng = random.Random(20250101)
    sample = sorted(rng.sample(tail, 8000))
    with open(os.path.join(OUT, "surnames_tail.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["voorvoegsel", "geslachtsnaam"])
        for nat in sample:
            w.writerow(split_prefix(nat))
    total_top = sum(c for _, _, c in top)
    print("surnames: top", len(top), "sum", total_top, "tail sample", len(sample), "of", len(tail))


GROUPS = [("2005-2009", 2005, 2009), ("2010-2014", 2010, 2014), ("1950-1979", 1950, 1979)]


def firstnames():
    agg = {}
    for r in csv.DictReader(open(os.path.join(SRC, "nl-firstnames-meertens",
                                              "name_popularity_netherlands_1880-2014_with_year_DERIVED.csv"))):
        y = int(r["year"])
        for g, lo, hi in GROUPS:
            if lo <= y <= hi:
                k = (g, r["sex"], r["name"])
                agg[k] = agg.get(k, 0) + int(r["count"])
    with open(os.path.join(OUT, "firstnames_top.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["group", "sex", "name", "count"])
        for g, _, _ in GROUPS:
            for sex in ("M", "F"):
                items = sorted(((n, c) for (gg, s, n), c in agg.items() if gg == g and s == sex),
                               key=lambda x: (-x[1], x[0]))[:150]
                for n, c in items:
                    w.writerow([g, sex, n, c])
    names = json.load(open(os.path.join(SRC, "nl-firstnames-meertens", "voornamen_reithose.json")))
    with open(os.path.join(OUT, "firstnames_all.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["sex", "name"])
        for d in sorted(names, key=lambda d: (d["geslacht"], d["naam"])):
            n = d["naam"].strip()
            if n and n.isprintable() and "," not in n and " " not in n:
                w.writerow(["M" if d["geslacht"] == "M" else "F", n])
    print("firstnames: groups", [g for g, _, _ in GROUPS], "all", len(names))


def wijken():
    rows = list(csv.DictReader(open(os.path.join(SRC, "denhaag-wijken", "denhaag_wijken_overview.csv"))))
    with open(os.path.join(OUT, "wijken.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["wijkcode", "wijknaam", "inwoners2024", "share_0to20", "share_low_income",
                    "share_welfare"])
        for r in rows:
            w.writerow([r["wijkcode"], r["wijknaam_cbs"], r["kwb2024_inwoners"], r["elan2022_pct_0to20"],
                        r["elan2022_pct_low_income"], r["elan2022_pct_welfare_benefit"]])
    return {r["wijkcode"]: r for r in rows}


# Hand-made, APPROXIMATE assignment of Den Haag PC4 areas to CBS wijken (share of the PC4's
# inhabitants thought to live in each wijk).  No openly licensed PC4->wijk table was available;
# shares were set from general knowledge of the city and adjusted so that summed PC4 inhabitants
# per wijk come close to the wijk's inhabitants (derive.py prints the comparison).
PC4_WIJK = {
    2491: {"43": .5, "44": .5}, 2492: {"44": 1}, 2493: {"44": 1}, 2495: {"41": 1},
    2496: {"42": 1}, 2497: {"42": .93, "41": .07}, 2498: {"42": 1},
    2511: {"28": 1}, 2512: {"28": .45, "27": .55}, 2513: {"28": 1}, 2514: {"28": .8, "23": .2},
    2515: {"27": .5, "28": .3, "29": .2}, 2516: {"38": .6, "39": .2, "27": .2},
    2517: {"22": .45, "11": .5, "10": .05}, 2518: {"22": .7, "11": .3},
    2521: {"38": 1}, 2522: {"38": 1}, 2523: {"38": 1}, 2524: {"38": 1},
    2525: {"29": 1}, 2526: {"29": .75, "37": .25},
    2531: {"36": 1}, 2532: {"36": 1}, 2533: {"36": .95, "35": .05},
    2541: {"34": 1}, 2542: {"34": 1}, 2543: {"33": .7, "34": .3}, 2544: {"33": 1},
    2545: {"32": .6, "33": .4}, 2546: {"33": 1}, 2547: {"32": 1}, 2548: {"40": 1},
    2551: {"17": 1}, 2552: {"17": .4, "18": .6}, 2553: {"18": .8, "15": .2},
    2554: {"15": .6, "14": .4}, 2555: {"16": 1},
    2561: {"20": .5, "21": .5}, 2562: {"21": 1}, 2563: {"20": 1}, 2564: {"19": .6, "12": .4},
    2565: {"12": .85, "14": .15}, 2566: {"13": .8, "14": .2},
    2571: {"30": .6, "37": .4}, 2572: {"30": 1}, 2573: {"31": 1}, 2574: {"31": 1},
    2581: {"09": .75, "06": .25}, 2582: {"09": 1}, 2583: {"08": .5, "09": .2, "07": .3},
    2584: {"07": 1}, 2585: {"05": .65, "23": .2, "06": .15}, 2586: {"07": 1},
    2587: {"02": .9, "03": .1},
    2591: {"25": 1}, 2592: {"25": 1}, 2593: {"26": 1}, 2594: {"26": .8, "24": .2},
    2595: {"26": .85, "27": .15}, 2596: {"04": 1}, 2597: {"04": .75, "03": .25},
}


def pc4(wk):
    base = os.path.join(SRC, "cbs-pc4-population-certegis")
    inw = {int(r["postcode"]): int(r["inwoners"])
           for r in csv.DictReader(open(os.path.join(base, "denhaag_pc4_population.csv")))}
    kids = {}
    for r in csv.DictReader(open(os.path.join(base, "denhaag_pc4_population_by_age5.csv"))):
        a = r["leeftijd"]
        fac = {"0-4": 1, "5-9": 1, "10-14": 1, "15-19": 0.6}.get(a)
        if fac:
            p = int(r["postcode"])
            kids[p] = kids.get(p, 0) + fac * int(r["inwoners"])
    ages = {}
    for r in csv.DictReader(open(os.path.join(base, "denhaag_pc4_population_by_age5.csv"))):
        if r["leeftijd"] in ("0-4", "5-9", "10-14", "15-19"):
            ages[r["leeftijd"]] = ages.get(r["leeftijd"], 0) + int(r["inwoners"])
    with open(os.path.join(OUT, "age_denhaag.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["leeftijd", "inwoners2021"])
        for a in ("0-4", "5-9", "10-14", "15-19"):
            w.writerow([a, ages[a]])
    assert set(inw) == set(PC4_WIJK), set(inw) ^ set(PC4_WIJK)
    per_wijk = {}
    with open(os.path.join(OUT, "pc4_wijk.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["pc4", "wijkcode", "share", "pc4_inwoners2021", "pc4_children0to17_est"])
        for p in sorted(PC4_WIJK):
            shares = PC4_WIJK[p]
            assert abs(sum(shares.values()) - 1) < 1e-9, p
            for k, s in shares.items():
                code = "WK0518" + k
                assert code in wk
                w.writerow([p, code, s, inw[p], round(kids[p])])
                per_wijk[code] = per_wijk.get(code, 0) + s * inw[p]
    print("pc4: wijk, kwb2024 inwoners, summed PC4 inwoners x share (2021)")
    for code, r in wk.items():
        print(" ", code, r["wijknaam_cbs"][:30].ljust(30), r["kwb2024_inwoners"].rjust(6),
              str(round(per_wijk.get(code, 0))).rjust(6))


def geco():
    """Copy GeCo's QWERTY layout and the unconditional phonetic rules (MPL-2.0)."""
    base = os.path.join(SRC, "geco-lookup-files")
    with open(os.path.join(base, "qwerty-keyboard.csv")) as f, \
            open(os.path.join(OUT, "geco_qwerty_keyboard.csv"), "w") as g:
        g.write(f.read())
    n = 0
    with open(os.path.join(base, "phonetic-variations.csv")) as f, \
            open(os.path.join(OUT, "geco_phonetic_variations.csv"), "w") as g:
        g.write("# Derived from GeCo lookup-files/phonetic-variations.csv (MPL-2.0): only the rules\n"
                "# without pre/post conditions; a replacement of @ means the empty string\n"
                "where,original,replacement\n")
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.strip().split(",")
            if p[3:] == ["None"] * 4 and p[0] in ("ALL", "START", "END", "MIDDLE"):
                g.write(",".join(p[:3]) + "\n")
                n += 1
    print("geco: phonetic rules kept", n)


if __name__ == "__main__":
    geco()
    surnames()
    firstnames()
    pc4(wijken())
