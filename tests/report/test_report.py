#!/usr/bin/env python3
"""The report of a real round, checked in a real browser.

  test_report.py render [PERSONS]    one round of the Den Haag study (10,000 children by
                                     default), udc-report on the gemeente's documents, the
                                     page rendered by headless Chromium
  test_report.py compare [PERSONS]   two rounds (new CBS data and a higher Ooievaarspas
                                     take-up the second time), udc-report --compare
  test_report.py noisy [PERSONS]     a round with rounding and noise: the stated bounds
  test_report.py udcctl [PERSONS]    udcctl report ROUND on both nodes: the documents
                                     fetched from the daemon, --compare by round id and
                                     by directory, --csv-separator, --json, errors

Everything the report says is checked against what this test computes on its own, in
Python, from result.csv (the released shares and which are suppressed) and from the two
generated lists (the true counts: every interval the report gives must hold them):

- indicators.csv: released shares, suppressed shares left empty, intervals that hold the
  true share and the true counts;
- the DOM (chromium --dump-dom): every wijk's bar and map area carries its released share,
  suppressed wijken are drawn as suppressed (hatch pattern, class), every wijk's name is
  there, the page fetches nothing and runs no script;
- the screenshot (chromium --screenshot, decoded by tests/report/png.py): per map, the
  pixels of each legend colour inside the map against the area of the wijken of that class
  computed from the GeoJSON with the documented projection, the hatch colour where and
  only where wijken are suppressed; per bar, its drawn length against its released share.

The screenshot and a crop of the first indicator (docs/img/report-example.png is such a
crop) are left in the test's directory, which is printed.
"""
import collections
import configparser
import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import png  # noqa: E402
import test_e2e_linked as e2e  # noqa: E402  (its independent reader of the spec and lists)

SPEC = os.path.join(harness.SRC, "docs", "examples", "denhaag-kinderarmoede-tables.spec")
CONFIG = os.path.join(harness.SRC, "docs", "examples", "denhaag-kinderarmoede.report")
GEOJSON = os.path.join(harness.SRC, "docs", "examples", "maps", "denhaag_wijken.geojson")

# The report's colours (common/report/html.c); the test finds them in the screenshot.
CLASS_FILLS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
HATCH_LINE = "#7a7a7a"
NOBODY_FILL = "#e0e0e0"
BAR_FILL = "#4f79b0"
MAP_WIDTH = 640.0


def rgb(h):
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


# --- the study's definitions, read independently ---

def read_config(path):
    cp = configparser.ConfigParser(interpolation=None, comment_prefixes=("#", ";"),
                                   inline_comment_prefixes=None)
    cp.read(path, encoding="utf-8")
    inds = []
    for sec in cp.sections():
        if not sec.startswith("indicator "):
            continue
        s = cp[sec]
        sel = lambda v: dict(p.split("=", 1) for p in (x.strip() for x in v.split(",")) if p)
        inds.append({"name": sec.split(None, 1)[1], "table": s["table"],
                     "num": {k.strip(): v.strip() for k, v in sel(s["numerator"]).items()},
                     "den": {k.strip(): v.strip() for k, v in sel(s.get("denominator", "")).items()}})
    return cp["report"]["area"], inds


def read_release(path):
    """result.csv -> {(table, ((dim, value), ...)): (count or None, suppressed)} where the key
    names only the dimensions the row is split by."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    dims = head[1:head.index("count")]
    for r in rows[1:]:
        rec = dict(zip(head, r))
        key = (rec["table"], tuple(sorted((d, rec[d]) for d in dims if rec[d] != "")))
        out[key] = (None if rec["suppressed"] == "1" else int(rec["count"]), rec["suppressed"] == "1")
    return out


def cell_key(table, area, code, fixed):
    d = dict(fixed)
    if code is not None:
        d[area] = code
    return (table, tuple(sorted(d.items())))


def expected(rel, area, ind, codes):
    """Per wijk (and None, the city): the state and share this test reads off result.csv."""
    exp = {}
    for code in list(codes) + [None]:
        n, ns = rel[cell_key(ind["table"], area, code, ind["num"])]
        d, ds = rel[cell_key(ind["table"], area, code, ind["den"])]
        if not ns and not ds and d == 0:
            exp[code] = ("nobody", None)
        elif ns or ds:
            exp[code] = ("suppressed", None)
        else:
            exp[code] = ("released", min(1.0, n / d))  # noise can make n > d
    return exp


def truth_counts(gcsv, ccsv, spec_text):
    """The true count of every cell of every table, from the two lists (the e2e test's own
    join and reading of the spec, independent of the C code)."""
    dims, recodes, tables, _ = e2e.parse_spec(spec_text)
    gcols = {"wijk": "wijk", "age_band": "leeftijdsklasse", "ooievaarspas": "ooievaarspas"}
    ccols = {"income_band": "income_band", "uitkering": "uitkering"}
    g = e2e.read_side(gcsv, "bsn", gcols, {d: set(dims[d][1]) for d in gcols})
    c = e2e.read_side(ccsv, "bsn", ccols, {d: set(dims[d][1]) for d in ccols})
    records = [("linked", dict(gl, **c[b])) if b in c else ("g", dict(gl)) for b, gl in g.items()]
    records += [("c", dict(cl)) for b, cl in c.items() if b not in g]
    truth = collections.Counter()
    for tname, t in tables.items():
        for kind, rec in records:
            if kind not in e2e.kinds(t["population"]):
                continue
            if any(e2e.value(rec, d, recodes) not in allowed for d, allowed in t["where"].items()):
                continue
            vals = [e2e.value(rec, d, recodes) for d in t["dims"]]
            # every cell the record is in: each dimension at its value or at the total
            for mask in range(1 << len(vals)):
                key = tuple(sorted((d, v) for i, (d, v) in enumerate(zip(t["dims"], vals))
                                   if mask >> i & 1))
                truth[(tname, key)] += 1
    return truth


def dutch(s):
    return None if s == "" else float(s.replace(",", "."))


def read_indicators_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    return list(csv.DictReader(io.StringIO(text), delimiter=";")), text


# --- the DOM ---

class Dom(HTMLParser):
    """Collects every element's tag, attributes and section, and the page's text."""

    def __init__(self):
        super().__init__()
        self.elems, self.text, self.section = [], [], [None]
        self.stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section.append(a.get("data-indicator"))
        self.elems.append((tag, a, self.section[-1]))
        if tag not in ("path", "rect", "line", "meta", "br", "input", "img"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs), self.section[-1]))

    def handle_endtag(self, tag):
        if tag == "section" and len(self.section) > 1:
            self.section.pop()
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def classes(a):
    return set(a.get("class", "").split())


# --- the projection of docs/report.md, for the expected map areas ---

def projected_areas(geo):
    """wijkcode -> area in px^2 of its polygons drawn MAP_WIDTH wide."""
    pts = [p for f in geo["features"] for ring in rings(f) for p in ring]
    lon0, lon1 = min(p[0] for p in pts), max(p[0] for p in pts)
    lat0, lat1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos((lat0 + lat1) / 2 * math.pi / 180)
    s = MAP_WIDTH / ((lon1 - lon0) * k)
    out = {}
    for f in geo["features"]:
        a = 0.0
        for ring in rings(f):
            xy = [((lon - lon0) * k * s, (lat1 - lat) * s) for lon, lat in ring]
            a += abs(sum(xy[i][0] * xy[i + 1][1] - xy[i + 1][0] * xy[i][1] for i in range(len(xy) - 1))) / 2
        out[f["properties"]["wijkcode"]] = a
    return out


def rings(f):
    g = f["geometry"]
    polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return [r for p in polys for r in p]


# --- the browser ---

MEASURE = """<script>
(function () {
  function box(e) { var r = e.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.right + window.scrollX, r.bottom + window.scrollY]; }
  var out = {height: document.documentElement.scrollHeight, sections: {}};
  document.querySelectorAll('section.indicator').forEach(function (s) {
    var o = {bars: null, rows: {}, areas: null};
    var b = s.querySelector('svg.bars'); if (b) o.bars = box(b);
    var a = s.querySelector('svg.map g.areas'); if (a) o.areas = box(a);
    s.querySelectorAll('svg.bars g.bar').forEach(function (g) {
      var r = g.querySelector('rect'); o.rows[g.getAttribute('data-code') || 'TOTAL'] = r ? box(r) : null; });
    o.section = box(s);
    var mf = s.querySelector('figure.map'); o.mapfig = mf ? box(mf) : o.section;
    out.sections[s.getAttribute('data-indicator')] = o; });
  document.body.setAttribute('data-layout', JSON.stringify(out));
})();
</script>"""


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def run_chromium(exe, work, url, *args):
    prof = tempfile.mkdtemp(prefix="chrome-", dir=work)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
           "--user-data-dir=" + prof] + list(args) + [url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        raise RuntimeError("chromium failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    return r.stdout


def near(px, want, tol):
    return abs(px[0] - want[0]) <= tol and abs(px[1] - want[1]) <= tol and abs(px[2] - want[2]) <= tol


# --- one round ---

def study_spec(work):
    text = open(SPEC, encoding="utf-8").read()
    text = re.sub(r"(?m)^keys = .*$", "keys = bsn", text)
    text = re.sub(r"(?m)^name = .*$", "name = report-test-bsn", text)
    path = os.path.join(work, "tables.spec")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path, text


def run_report(T, docs_dir, out, *extra):
    csvp, jsonp = os.path.join(docs_dir, "result.csv"), os.path.join(docs_dir, "result.json")
    t0 = time.monotonic()
    r = subprocess.run([harness.bin_path("udc-report"), "-c", CONFIG, "-o", out] + list(extra)
                       + [csvp, jsonp], capture_output=True, text=True, timeout=120)
    dt = time.monotonic() - t0
    html = os.path.join(out, "report.html")
    T.check(r.returncode == 0 and r.stdout.strip() == html,
            "udc-report exits 0 and prints the page's path (%s): rc %d %s" % (html, r.returncode, r.stderr.strip()))
    return html, dt


def check_csv(T, out, area, inds, codes, rel, truth, old_rel=None, old_truth=None, sound_tables=None):
    """sound_tables: the tables whose intervals must hold the truth (default all)."""
    rows, text = read_indicators_csv(os.path.join(out, "indicators.csv"))
    T.check(text.startswith("indicator;code;name;numerator;") and "\r\n" in text,
            "indicators.csv: ';'-separated with a header, CRLF lines (Dutch spreadsheet settings)")
    by = {(r["indicator"], r["code"] or None): r for r in rows}
    T.check(len(rows) == len(inds) * (len(codes) + 1),
            "indicators.csv: one row per indicator and wijk plus the city (%d rows)" % len(rows))
    wrong, unsound, empty_supp, commas = [], [], 0, 0
    for ind in inds:
        exp = expected(rel, area, ind, codes)
        for code in list(codes) + [None]:
            r = by[(ind["name"], code)]
            state, share = exp[code]
            if r["state"] != state:
                wrong.append((ind["name"], code, "state", r["state"], state))
            if state == "released":
                got = dutch(r["share"])
                commas += "," in r["share"]
                if got is None or abs(got - share) > 0.00005:
                    wrong.append((ind["name"], code, "share", r["share"], share))
            elif r["share"] != "":
                wrong.append((ind["name"], code, "a share where there is none", r["share"]))
            else:
                empty_supp += state == "suppressed"
            # the truth must lie in every interval
            if sound_tables is not None and ind["table"] not in sound_tables:
                continue
            tn = truth[cell_key(ind["table"], area, code, ind["num"])]
            td = truth[cell_key(ind["table"], area, code, ind["den"])]
            nlo, nhi = int(r["numerator_low"]), r["numerator_high"]
            dlo, dhi = int(r["denominator_low"]), r["denominator_high"]
            if not (nlo <= tn and (nhi == "" or tn <= int(nhi)) and dlo <= td and (dhi == "" or td <= int(dhi))):
                unsound.append((ind["name"], code, "counts", tn, td, r["numerator_low"], nhi, r["denominator_low"], dhi))
            if td > 0 and r["share_low"] != "":
                ts = tn / td
                if not (dutch(r["share_low"]) <= ts + 1e-12 and ts <= dutch(r["share_high"]) + 1e-12):
                    unsound.append((ind["name"], code, "share", ts, r["share_low"], r["share_high"]))
            if old_rel is not None and r.get("comparable") == "1" and r["change_low"] != "":
                otn = old_truth[cell_key(ind["table"], area, code, ind["num"])]
                otd = old_truth[cell_key(ind["table"], area, code, ind["den"])]
                if td > 0 and otd > 0:
                    tc = tn / td - otn / otd
                    if not (dutch(r["change_low"]) <= tc + 1e-12 and tc <= dutch(r["change_high"]) + 1e-12):
                        unsound.append((ind["name"], code, "change", tc, r["change_low"], r["change_high"]))
    T.check(not wrong, "indicators.csv: every state and released share as computed from result.csv%s"
            % ("" if not wrong else ": " + repr(wrong[:4])))
    T.check(commas > 0, "indicators.csv: shares written with a decimal comma (%d)" % commas)
    T.check(empty_supp > 0, "indicators.csv: %d suppressed shares left empty (never computed from "
            "the unsuppressed cells)" % empty_supp)
    T.check(not unsound, "indicators.csv: every interval holds the true count, share%s (computed "
            "from the generated lists)%s" % (" and change" if old_rel else "",
                                              "" if not unsound else ": " + repr(unsound[:4])))
    return by


def check_dom(T, html_path, dom_text, area, inds, codes, rel, names):
    raw = open(html_path, encoding="utf-8").read()
    T.check("<script" not in raw.lower() and " src=" not in raw and "<link" not in raw.lower()
            and "@import" not in raw and not re.search(r"url\((?!#)", raw),
            "report.html is self-contained: no script, no src=, no <link>, no @import, no url() but "
            "to its own patterns (%d bytes)" % len(raw.encode()))
    d = Dom()
    d.feed(dom_text)
    text = "".join(d.text)
    T.check(all(n in text for n in names.values()), "the DOM holds the name of every one of the %d "
            "wijken" % len(names))
    T.check("Kadaster / Centraal Bureau voor de Statistiek, 2024" in text,
            "the map's attribution is on the page")
    patterns = {a.get("id") for t, a, s in d.elems if t == "pattern"}
    problems, counted = [], collections.Counter()
    for ind in inds:
        exp = expected(rel, area, ind, codes)
        bars = {a.get("data-code"): a for t, a, s in d.elems
                if s == ind["name"] and t == "g" and "bar" in classes(a)}
        paths = {a.get("data-code"): a for t, a, s in d.elems
                 if s == ind["name"] and t == "path" and "area" in classes(a)}
        legend = [a for t, a, s in d.elems if s == ind["name"] and t == "g" and "legend-item" in classes(a)
                  and "data-class" in a]
        for code in codes:
            state, share = exp[code]
            for kind, a in (("bar", bars.get(code)), ("map", paths.get(code))):
                if a is None:
                    problems.append((ind["name"], code, kind, "missing"))
                    continue
                if a.get("data-state") != state or state not in classes(a):
                    problems.append((ind["name"], code, kind, "state", a.get("data-state"), state))
                    continue
                counted[(kind, state)] += 1
                if state == "released":
                    if abs(float(a.get("data-share", "nan")) - share) > 6e-7:
                        problems.append((ind["name"], code, kind, "share", a.get("data-share"), share))
                elif "data-share" in a:
                    problems.append((ind["name"], code, kind, "a share on a " + state + " wijk"))
            p = paths.get(code)
            if p is None:
                continue
            fill = p.get("fill", "")
            if state == "suppressed":
                m = re.fullmatch(r"url\(#(.+)\)", fill)
                if not m or m.group(1) not in patterns:
                    problems.append((ind["name"], code, "suppressed but not hatched", fill))
            elif state == "released":
                k = [i for i, l in enumerate(legend)
                     if float(l["data-lo"]) <= share and (share < float(l["data-hi"]) or
                                                          (i == len(legend) - 1 and share <= float(l["data-hi"])))]
                if len(k) != 1 or fill != legend[k[0]]["data-fill"] or p.get("data-class") != legend[k[0]]["data-class"]:
                    problems.append((ind["name"], code, "class", fill, p.get("data-class"), share))
        tot = bars.get("")
        if tot is None or tot.get("data-state") != exp[None][0] or (
                exp[None][0] == "released" and abs(float(tot.get("data-share")) - exp[None][1]) > 6e-7):
            problems.append((ind["name"], "city total", tot))
    T.check(not problems, "DOM: every wijk's bar and map area carries its state and released share "
            "(%d released, %d suppressed, %d nobody bars; as many areas), suppressed areas are hatched, "
            "released ones have their legend class's colour%s"
            % (counted[("bar", "released")], counted[("bar", "suppressed")], counted[("bar", "nobody")],
               "" if not problems else ": " + repr(problems[:4])))
    return d


def check_pixels(T, img, layout, area, inds, codes, rel, geo_areas, dom):
    """The screenshot: the maps' colours and hatch, the bars' lengths."""
    legends = collections.defaultdict(list)
    for t, a, s in dom.elems:
        if t == "g" and "legend-item" in classes(a) and "data-class" in a:
            legends[s].append(a)
    for ind in inds:
        exp = expected(rel, area, ind, codes)
        lay = layout["sections"][ind["name"]]
        x0, y0, x1, y1 = [int(round(v)) for v in lay["areas"]]
        want = {rgb(f): 0.0 for f in CLASS_FILLS}
        hatch_area = nobody_area = 0.0
        for code in codes:
            state, share = exp[code]
            a = geo_areas[code]
            if state == "suppressed":
                hatch_area += a
            elif state == "nobody":
                nobody_area += a
            else:
                for l in legends[ind["name"]]:
                    lo, hi = float(l["data-lo"]), float(l["data-hi"])
                    last = l is legends[ind["name"]][-1]
                    if lo <= share and (share < hi or (last and share <= hi)):
                        want[rgb(l["data-fill"])] += a
        got = collections.Counter()
        targets = list(want) + [rgb(HATCH_LINE), rgb(NOBODY_FILL)]
        for y in range(max(y0, 0), min(y1, img.height)):
            for x in range(max(x0, 0), min(x1, img.width)):
                px = img.pixel(x, y)
                for t in targets:
                    if near(px, t, 2):
                        got[t] += 1
                        break
        bad = []
        for colour, area_px in want.items():
            n = got[colour]
            if area_px == 0 and n > 20:
                bad.append(("colour of an empty class drawn", colour, n))
            elif area_px > 0 and not 0.70 * area_px <= n <= 1.05 * area_px:
                bad.append(("class colour", colour, n, round(area_px)))
        h = got[rgb(HATCH_LINE)]
        if hatch_area == 0 and h > 20:
            bad.append(("hatch without a suppressed wijk", h))
        elif hatch_area > 0 and not 0.15 * hatch_area <= h <= 0.5 * hatch_area:
            bad.append(("hatch", h, round(hatch_area)))
        nb = got[rgb(NOBODY_FILL)]
        if (nobody_area == 0 and nb > 20) or (nobody_area > 0 and not 0.70 * nobody_area <= nb <= 1.05 * nobody_area):
            bad.append(("nobody grey", nb, round(nobody_area)))
        T.check(not bad, "screenshot, map of %s: pixels of each legend colour match the area of its "
                "wijken (%s), hatch over the %d suppressed wijken (%d px of %d px^2)%s"
                % (ind["name"], ", ".join("%d/%d" % (got[c], round(a)) for c, a in want.items()),
                   sum(1 for c in codes if exp[c][0] == "suppressed"), h, round(hatch_area),
                   "" if not bad else ": " + repr(bad)))

        # bars: the drawn length along a scanline through each bar, against the share
        bx0, _, bx1, _ = [int(round(v)) for v in lay["bars"]]
        lengths, bad = [], []
        for code in list(codes) + [None]:
            state, share = exp[code]
            r = lay["rows"].get(code if code is not None else "TOTAL")
            if r is None:
                if state in ("released", "suppressed"):
                    bad.append((code, "no bar drawn", state))
                continue
            y = int(round(r[1] + 2))
            line = [img.pixel(x, y) for x in range(bx0, min(bx1, img.width))]
            nbar = sum(1 for p in line if near(p, rgb(BAR_FILL), 2))
            nhatch = sum(1 for p in line if near(p, rgb(HATCH_LINE), 12))
            if state == "released":
                lengths.append((share, nbar, code))
            elif state == "suppressed" and (nbar > 0 or nhatch == 0):
                bad.append((code, "suppressed bar", nbar, nhatch))
        top = max(lengths, key=lambda t: t[0])
        scale = top[1] / top[0] if top[0] > 0 else 0
        for share, n, code in lengths:
            if abs(n - share * scale) > 2.5:
                bad.append((code, "bar length", n, share * scale))
        T.check(scale > 100 and not bad, "screenshot, bars of %s: %d released bars drawn %.1f px per "
                "unit share (within 2.5 px each), suppressed rows hatched without a bar%s"
                % (ind["name"], len(lengths), scale, "" if not bad else ": " + repr(bad[:4])))


def render(persons):
    T = harness.Checks()
    work = tempfile.mkdtemp(prefix="udc-report-test-")
    print("test directory: %s" % work)
    gcsv, ccsv = harness.gen_population(work, persons, 20261203)
    spec, spec_text = study_spec(work)
    area, inds = read_config(CONFIG)
    geo = json.load(open(GEOJSON, encoding="utf-8"))
    names = {f["properties"]["wijkcode"]: f["properties"]["wijknaam"] for f in geo["features"]}
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        rid, _ = cl.run_round(spec)
        docs = os.path.join(work, "round")
        shutil.copytree(os.path.join(cl.dir, "gemeente-state", "rounds", rid), docs)
    rel = read_release(os.path.join(docs, "result.csv"))
    codes = sorted({dict(k[1]).get(area) for k in rel if k[0] == inds[0]["table"]} - {None})
    truth = truth_counts(gcsv, ccsv, spec_text)

    out = os.path.join(work, "out")
    html, dt = run_report(T, docs, out)
    size = os.path.getsize(html)
    print("figures: udc-report on %d children: %.3f s wall; report.html %d bytes, indicators.csv %d, "
          "indicators.json %d" % (persons, dt, size, os.path.getsize(os.path.join(out, "indicators.csv")),
                                  os.path.getsize(os.path.join(out, "indicators.json"))))
    check_csv(T, out, area, inds, codes, rel, truth)
    ind_json = json.load(open(os.path.join(out, "indicators.json"), encoding="utf-8"))
    T.check([i["name"] for i in ind_json["indicators"]] == [i["name"] for i in inds],
            "indicators.json has the configuration's indicators in order")
    for ind in inds:
        exp = expected(rel, area, ind, codes)
        n = sum(1 for c in codes if exp[c][0] == "released")
        print("%s: released for %d of %d wijken" % (ind["name"], n, len(codes)))

    exe = chromium()
    if exe is None:
        print("NOT RUN: the browser checks (DOM and screenshot): chromium is not installed "
              "(scripts/install-deps.sh installs it)")
        T.finish()
    dom_text = run_chromium(exe, work, "file://" + html, "--dump-dom")
    dom = check_dom(T, html, dom_text, area, inds, codes, rel, names)

    # a copy that measures its own layout; the page itself runs no script
    measure = os.path.join(out, "measure.html")
    with open(measure, "w", encoding="utf-8") as f:
        f.write(open(html, encoding="utf-8").read().replace("</body>", MEASURE + "</body>"))
    # the same window width as the screenshot's, so that the page is laid out alike
    m = re.search(r'data-layout="([^"]*)"', run_chromium(exe, work, "file://" + measure, "--dump-dom",
                                                         "--window-size=1100,2000"))
    layout = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    shot = os.path.join(work, "report.png")
    height = int(layout["height"]) + 10
    run_chromium(exe, work, "file://" + measure, "--window-size=1100,%d" % height, "--screenshot=" + shot)
    img = png.read(shot)
    T.check(img.width == 1100 and img.height == height, "screenshot %dx%d of the whole page" % (img.width, img.height))
    check_pixels(T, img, layout, area, inds, codes, rel, projected_areas(geo), dom)
    s = layout["sections"][inds[0]["name"]]["mapfig"]
    crop = os.path.join(work, "report-example.png")
    png.write(crop, img.crop(0, 0, 1100, min(img.height, int(s[3]) + 8)))
    print("screenshot: %s; the first indicator: %s (docs/img/report-example.png is this crop)" % (shot, crop))
    T.finish()


def compare(persons):
    T = harness.Checks()
    work = tempfile.mkdtemp(prefix="udc-report-compare-")
    print("test directory: %s" % work)
    spec, spec_text = study_spec(work)
    area, inds = read_config(CONFIG)
    g1, c1 = harness.gen_population(os.path.join(work), persons, 20250101)
    y2 = os.path.join(work, "year2")
    os.makedirs(y2)
    # a year later: new CBS data, and the city has raised Ooievaarspas take-up
    g2, c2 = harness.gen_population(y2, persons, 20260101, ["--ref-date", "2026-01-01", "--pas-takeup", "0.85"])
    truth1 = truth_counts(g1, c1, spec_text)
    truth2 = truth_counts(g2, c2, spec_text)
    inputs = os.path.join(work, "inputs")
    os.makedirs(inputs)
    gcsv, ccsv = os.path.join(inputs, "gemeente.csv"), os.path.join(inputs, "cbs.csv")
    shutil.copy(g1, gcsv)
    shutil.copy(c1, ccsv)
    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        rid1, _ = cl.run_round(spec)
        shutil.copy(g2, gcsv)
        shutil.copy(c2, ccsv)
        rid2, _ = cl.run_round(spec)
        d1, d2 = os.path.join(work, "round1"), os.path.join(work, "round2")
        shutil.copytree(os.path.join(cl.dir, "gemeente-state", "rounds", rid1), d1)
        shutil.copytree(os.path.join(cl.dir, "gemeente-state", "rounds", rid2), d2)
    rel1 = read_release(os.path.join(d1, "result.csv"))
    rel2 = read_release(os.path.join(d2, "result.csv"))
    codes = sorted({dict(k[1]).get(area) for k in rel2 if k[0] == inds[0]["table"]} - {None})
    out = os.path.join(work, "out")
    html, dt = run_report(T, d2, out, "--compare", os.path.join(d1, "result.csv"), os.path.join(d1, "result.json"))
    print("figures: udc-report --compare: %.3f s wall; report.html %d bytes" % (dt, os.path.getsize(html)))
    by = check_csv(T, out, area, inds, codes, rel2, truth2, rel1, truth1)

    bad, known, interval_only = [], 0, 0
    for ind in inds:
        e1, e2 = expected(rel1, area, ind, codes), expected(rel2, area, ind, codes)
        for code in list(codes) + [None]:
            r = by[(ind["name"], code)]
            if r["comparable"] != "1":
                bad.append((ind["name"], code, "not comparable"))
                continue
            if e1[code][0] == "released" and e2[code][0] == "released":
                known += 1
                if r["change"] == "" or abs(dutch(r["change"]) - (e2[code][1] - e1[code][1])) > 0.00005:
                    bad.append((ind["name"], code, "change", r["change"], e2[code][1] - e1[code][1]))
            elif r["change"] != "":
                bad.append((ind["name"], code, "a change where a share is suppressed", r["change"]))
            elif r["change_low"] != "":
                interval_only += 1
    T.check(not bad and known > 0 and interval_only > 0,
            "indicators.csv: the change where both rounds released the share (%d), only an interval "
            "where one suppressed it (%d)%s" % (known, interval_only, "" if not bad else ": " + repr(bad[:4])))
    pas = by[("ooievaarspas", None)]
    T.check(dutch(pas["change_low"]) > 0, "the city's Ooievaarspas take-up rose for certain: change "
            "%s (interval %s .. %s)" % (pas["change"], pas["change_low"], pas["change_high"]))

    exe = chromium()
    if exe is None:
        print("NOT RUN: the DOM checks of the comparison: chromium is not installed")
    else:
        d = Dom()
        d.feed(run_chromium(exe, work, "file://" + html, "--dump-dom"))
        probs, n = [], 0
        for ind in inds:
            e1, e2 = expected(rel1, area, ind, codes), expected(rel2, area, ind, codes)
            chg = {a.get("data-code"): a for t, a, s in d.elems if s == ind["name"] and t == "g" and "chg" in classes(a)}
            for code in codes:
                a = chg.get(code)
                both = e1[code][0] == "released" and e2[code][0] == "released"
                if a is None:
                    probs.append((ind["name"], code, "no change row"))
                elif both:
                    n += 1
                    if "known" not in classes(a) or abs(float(a["data-change"]) - (e2[code][1] - e1[code][1])) > 6e-7:
                        probs.append((ind["name"], code, a))
                elif "data-change" in a or ("suppressed" not in classes(a) and "none" not in classes(a)):
                    probs.append((ind["name"], code, "suppressed change drawn as a value", a))
        T.check(not probs, "DOM: %d change bars carry the change computed from the two result.csv files; "
                "the others show no value%s" % (n, "" if not probs else ": " + repr(probs[:3])))

    # An earlier release whose table counts under another condition is not compared.
    d3 = os.path.join(work, "round1-other")
    shutil.copytree(d1, d3)
    meta = json.load(open(os.path.join(d3, "result.json"), encoding="utf-8"))
    for t in meta["tables"]:
        if t["name"] == "wijk_benefit_low":
            t["where"] = {"low_income": ["nee"]}
    json.dump(meta, open(os.path.join(d3, "result.json"), "w", encoding="utf-8"))
    out3 = os.path.join(work, "out-other")
    html3, _ = run_report(T, d2, out3, "--compare", os.path.join(d3, "result.csv"), os.path.join(d3, "result.json"))
    rows, _ = read_indicators_csv(os.path.join(out3, "indicators.csv"))
    comp = {r["indicator"]: r["comparable"] for r in rows}
    page = open(html3, encoding="utf-8").read()
    sec = page[page.index('id="ind-zonder_uitkering"'):]
    T.check(comp == {"laag_inkomen": "1", "ooievaarspas": "1", "zonder_uitkering": "0"}
            and all(r["change_low"] == "" for r in rows if r["indicator"] == "zonder_uitkering")
            and "Niet vergelijkbaar" in sec[:sec.index("</section>")],
            "an earlier table with another condition (where.low_income) is marked not comparable, "
            "with no change given: %s" % comp)
    T.finish()


def laplace_bound(eps, n, alpha=0.05):
    """The least B with 2 p^(B+1) / (1 + p) <= alpha / n, p = exp(-eps) (docs/report.md),
    by counting up rather than by the closed form the C code uses."""
    p = math.exp(-eps)
    b = 0
    while 2 * p ** (b + 1) / (1 + p) > alpha / n:
        b += 1
    return b


def noisy(persons):
    """A release with rounding (base 5) and noise (epsilon 1/2): the report's stated bounds
    are the documented ones, and every interval holds the truth in each table whose released
    cells all lie within those bounds of the truth (the 95% event; the test checks it).
    Noise is drawn once per distinct cell, so the tables share their margins' noise: when no
    table lies within its bound (under 1% of runs) the experiment is drawn again on other
    data, at most three times, and the test says so."""
    T = harness.Checks()
    area, inds = read_config(CONFIG)
    for attempt in range(3):
        work = tempfile.mkdtemp(prefix="udc-report-noisy-")
        print("test directory: %s" % work)
        gcsv, ccsv = harness.gen_population(work, persons, 20261205 + attempt)
        spec, text = study_spec(work)
        text = text.replace("pad_categories = max", "pad_categories = max\nround_base = 5\n"
                            "noise_epsilon = 1/2\nnoise_budget = 20")
        with open(spec, "w", encoding="utf-8") as f:
            f.write(text)
        with harness.Cluster(gcsv, ccsv) as cl:
            cl.start()
            cl.approve(spec)
            rid, _ = cl.run_round(spec)
            docs = os.path.join(work, "round")
            shutil.copytree(os.path.join(cl.dir, "gemeente-state", "rounds", rid), docs)
        rel = read_release(os.path.join(docs, "result.csv"))
        truth = truth_counts(gcsv, ccsv, text)
        sound = set()
        for ind in inds:
            cells = {k: v for k, v in rel.items() if k[0] == ind["table"]}
            n = sum(1 for c, s in cells.values() if not s)
            worst = max(abs(c - truth[k]) for k, (c, s) in cells.items() if not s)
            if worst <= laplace_bound(0.5, n) + 4:
                sound.add(ind["table"])
        if sound:
            break
        print("attempt %d: no table lies within its 95%% bound (a shared margin's noise); "
              "drawing the experiment again on other data" % (attempt + 1))
    meta = json.load(open(os.path.join(docs, "result.json"), encoding="utf-8"))["metadata"]
    T.check(meta.get("round_base") == 5 and meta.get("noise_epsilon_per_entry") == "1/2",
            "the release says it is rounded to 5 and noised at epsilon 1/2")
    codes = sorted({dict(k[1]).get(area) for k in rel if k[0] == inds[0]["table"]} - {None})
    out = os.path.join(work, "out")
    run_report(T, docs, out)
    ij = json.load(open(os.path.join(out, "indicators.json"), encoding="utf-8"))
    sound, bad = set(), []
    for ind, j in zip(inds, ij["indicators"]):
        cells = {k: v for k, v in rel.items() if k[0] == ind["table"]}
        n = sum(1 for c, s in cells.values() if not s)
        b = laplace_bound(0.5, n)
        if j["round"]["noise_bound_95"] != b or j["round"]["rounding_bound"] != 4:
            bad.append((ind["name"], j["round"], b))
        worst = max(abs(c - truth[k]) for k, (c, s) in cells.items() if not s)
        if worst <= b + 4:
            sound.add(ind["table"])
        else:
            print("NOT CHECKED: table %s: a released cell is %d from the truth, beyond the stated "
                  "bound %d (the 5%% case); its intervals are not held to the truth" % (ind["table"], worst, b + 4))
        print("%s: %d released cells, noise bound %d, rounding 4, largest error %d" % (ind["table"], n, b, worst))
    T.check(not bad, "indicators.json states the noise bound of docs/report.md per table (counted "
            "up here) and rounding's 4%s" % ("" if not bad else ": " + repr(bad)))
    check_csv(T, out, area, inds, codes, rel, truth, sound_tables=sound)
    T.check(len(sound) >= 1, "at least one table's intervals were held to the truth (%s)" % sorted(sound))
    T.finish()


def udcctl(persons):
    """udcctl report: the round's documents fetched from the daemon (in pieces) and the
    report written beside them, as udc-report writes it; --compare with an earlier round's
    id or with an earlier report's directory; --csv-separator; errors by exit status."""
    T = harness.Checks()
    work = tempfile.mkdtemp(prefix="udc-report-udcctl-")
    print("test directory: %s" % work)
    spec, spec_text = study_spec(work)
    area, inds = read_config(CONFIG)
    g1, c1 = harness.gen_population(work, persons, 20250101)
    y2 = os.path.join(work, "year2")
    os.makedirs(y2)
    g2, c2 = harness.gen_population(y2, persons, 20260101, ["--ref-date", "2026-01-01", "--pas-takeup", "0.85"])
    truth1, truth2 = truth_counts(g1, c1, spec_text), truth_counts(g2, c2, spec_text)
    inputs = os.path.join(work, "inputs")
    os.makedirs(inputs)
    gcsv, ccsv = os.path.join(inputs, "gemeente.csv"), os.path.join(inputs, "cbs.csv")
    shutil.copy(g1, gcsv)
    shutil.copy(c1, ccsv)

    def report(node, *args):
        t0 = time.monotonic()
        r = node.ctl("report", *args, check=False)
        return r, time.monotonic() - t0

    def same(a, b):
        return open(a, "rb").read() == open(b, "rb").read()

    with harness.Cluster(gcsv, ccsv) as cl:
        cl.start()
        cl.approve(spec)
        rid1, _ = cl.run_round(spec)
        shutil.copy(g2, gcsv)
        shutil.copy(c2, ccsv)
        rid2, _ = cl.run_round(spec)
        state = os.path.join(cl.dir, "gemeente-state", "rounds")

        out1 = os.path.join(work, "out1")
        r, dt = report(cl.gemeente, rid1, "-o", out1, "--report-config", CONFIG)
        html1 = os.path.join(out1, "report.html")
        T.check(r.returncode == 0 and r.stdout.strip() == html1,
                "udcctl report exits 0 and prints the page's path: rc %d %s %s" % (r.returncode, r.stdout.strip(), r.stderr.strip()))
        print("figures: udcctl report of %d children (fetch and report): %.3f s wall" % (persons, dt))
        T.check(all(os.path.exists(os.path.join(out1, n)) for n in
                    ("report.html", "indicators.csv", "indicators.json", "result.csv", "result.csv.sig", "result.json")),
                "udcctl report writes report.html, indicators.csv, indicators.json and the fetched "
                "result.csv (with result.csv.sig) and result.json: %s" % sorted(os.listdir(out1)))
        T.check(same(os.path.join(out1, "result.csv"), os.path.join(state, rid1, "result.csv"))
                and same(os.path.join(out1, "result.json"), os.path.join(state, rid1, "result.json")),
                "the fetched result.csv and result.json are the node's, byte for byte")
        v = cl.gemeente.ctl("verify", os.path.join(out1, "result.csv"), check=False)
        T.check(v.returncode == 0, "udcctl verify: the fetched result.csv carries the CBS node's "
                "signature (rc %d %s)" % (v.returncode, v.stderr.strip()))

        # the same numbers as udc-report on the node's own documents
        ref1 = os.path.join(work, "ref1")
        run_report(T, os.path.join(state, rid1), ref1)
        for n in ("indicators.csv", "indicators.json"):
            T.check(same(os.path.join(out1, n), os.path.join(ref1, n)),
                    "udcctl report's %s is udc-report's on the node's documents" % n)
        rel1 = read_release(os.path.join(out1, "result.csv"))
        codes = sorted({dict(k[1]).get(area) for k in rel1 if k[0] == inds[0]["table"]} - {None})
        check_csv(T, out1, area, inds, codes, rel1, truth1)

        # the margins: rejected rows per list, as metadata.margins says, on the page
        meta = json.load(open(os.path.join(out1, "result.json"), encoding="utf-8"))["metadata"]
        page = open(html1, encoding="utf-8").read()
        for side in ("gemeente", "cbs"):
            n = meta["margins"][side + "_only"]["rows_rejected_not_counted"]
            m = re.search(r'<tr class="margin-%s">.*?data-rejected="(\d+)"' % side, page)
            T.check(m is not None and int(m.group(1)) == n,
                    "the page's margins: %s_only leaves out %s rejected rows (metadata.margins: %d)"
                    % (side, m.group(1) if m else None, n))
        T.check(meta["gemeente_input"]["rows_rejected"] + meta["cbs_input"]["rows_rejected"] > 0,
                "the generated lists have rejected rows for the margins to explain (%d, %d)"
                % (meta["gemeente_input"]["rows_rejected"], meta["cbs_input"]["rows_rejected"]))

        # --compare with the earlier round's id (fetched into DIR/earlier)
        out2 = os.path.join(work, "out2")
        r, dt = report(cl.gemeente, rid2, "-o", out2, "--compare", rid1, "--report-config", CONFIG)
        T.check(r.returncode == 0 and r.stdout.strip() == os.path.join(out2, "report.html"),
                "udcctl report --compare ID exits 0: rc %d %s" % (r.returncode, r.stderr.strip()))
        T.check(same(os.path.join(out2, "earlier", "result.csv"), os.path.join(state, rid1, "result.csv")),
                "--compare ID fetches the earlier round into DIR/earlier")
        ref2 = os.path.join(work, "ref2")
        run_report(T, os.path.join(state, rid2), ref2, "--compare", os.path.join(state, rid1, "result.csv"),
                   os.path.join(state, rid1, "result.json"))
        T.check(same(os.path.join(out2, "indicators.csv"), os.path.join(ref2, "indicators.csv")),
                "udcctl report --compare ID: indicators.csv is udc-report --compare's")
        rel2 = read_release(os.path.join(out2, "result.csv"))
        by = check_csv(T, out2, area, inds, codes, rel2, truth2, rel1, truth1)
        pas = by[("ooievaarspas", None)]
        T.check(pas["comparable"] == "1" and dutch(pas["change_low"]) > 0,
                "--compare: the city's take-up rose for certain (change %s, %s .. %s)"
                % (pas["change"], pas["change_low"], pas["change_high"]))
        # --compare with an earlier report's directory, and --csv-separator ,
        out3 = os.path.join(work, "out3")
        r, _ = report(cl.gemeente, rid2, "-o", out3, "--compare", out1, "--csv-separator", ",",
                      "--report-config", CONFIG)
        T.check(r.returncode == 0, "udcctl report --compare DIR exits 0 (%s)" % r.stderr.strip())
        a = list(csv.DictReader(open(os.path.join(out3, "indicators.csv"), newline="", encoding="utf-8")))
        b, _ = read_indicators_csv(os.path.join(out2, "indicators.csv"))
        T.check(len(a) == len(b) and all({k: v.replace(",", ".") for k, v in y.items() if k != "name"} ==
                                         {k: v for k, v in x.items() if k != "name"} for x, y in zip(a, b)),
                "--compare DIR and --csv-separator ,: the same indicators with decimal points")
        # the CBS node holds the same release and writes the same report
        out4 = os.path.join(work, "out4")
        r, _ = report(cl.cbs, rid1, "-o", out4, "--report-config", CONFIG)
        T.check(r.returncode == 0 and same(os.path.join(out4, "indicators.csv"), os.path.join(out1, "indicators.csv")),
                "udcctl report on the CBS node: the same indicators (rc %d %s)" % (r.returncode, r.stderr.strip()))
        # no -o and no --report-config: ./report-ID, and the study's configuration (the
        # installed one, or for this build tree's udcctl the source tree's)
        r = subprocess.run([harness.bin_path("udcctl"), "-c", cl.gemeente.conf, "report", rid1], cwd=work,
                           capture_output=True, text=True, timeout=120)
        dflt = os.path.join("report-" + rid1, "report.html")
        T.check(r.returncode == 0 and r.stdout.strip() == dflt
                and same(os.path.join(work, "report-" + rid1, "indicators.csv"), os.path.join(out1, "indicators.csv")),
                "udcctl report ID without options writes %s with the study's configuration (rc %d %s)"
                % (dflt, r.returncode, r.stderr.strip()[-200:]))
        # --json
        r = cl.gemeente.ctl("--json", "report", rid1, "-o", os.path.join(work, "out5"), "--report-config",
                            CONFIG, check=False)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {}
        T.check(r.returncode == 0 and j.get("round_id") == rid1 and j.get("report", "").endswith("report.html")
                and os.path.exists(j.get("indicators_csv", "")),
                "udcctl --json report: round_id, report, indicators_csv (%s)" % r.stdout.strip()[:200])

        # errors: each with its exit status and a message that names what is wrong
        bad_conf = os.path.join(work, "bad.report")
        with open(bad_conf, "w", encoding="utf-8") as f:
            f.write("[report]\ntitle = x\narea = wijk\n\n[indicator a]\ntitle = a\ntable = nosuch\nnumerator = low_income=ja\n")
        cases = [
            (("not-a-round",), 1, "not a round id"),
            (("0" * 32, "-o", os.path.join(work, "e1")), 4, ""),
            ((rid1, "-o", os.path.join(work, "e2"), "--report-config", bad_conf), 2, "bad.report:7"),
            ((rid1, "-o", os.path.join(work, "e3"), "--compare", os.path.join(work, "nowhere")), 2, "nowhere"),
            ((rid1, "--csv-separator", "x"), 1, "--csv-separator"),
            ((rid1, "--format", "json"), 1, "takes no"),
        ]
        for args, code, text in cases:
            r = cl.gemeente.ctl("report", *args, check=False)
            T.check(r.returncode == code and text in r.stderr,
                    "udcctl report %s: exit %d, saying '%s' (got %d: %s)" % (" ".join(args), code, text,
                                                                           r.returncode, r.stderr.strip()[:200]))
    T.finish()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "render"
    persons = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    {"render": render, "compare": compare, "noisy": noisy, "udcctl": udcctl}[mode](persons)


if __name__ == "__main__":
    main()
