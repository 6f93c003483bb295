/*
 * html.c - report.html: one page, no scripts, nothing fetched (report.h).
 *
 * Inline CSS, inline SVG.  Per indicator: the city-wide figure, a bar
 * chart with interval whiskers, a choropleth map, the comparison with an
 * earlier round, and the table with every area's counts.  A suppressed
 * share is never drawn as a value: its bar is a hatched band over its
 * interval and its area on the map is hatched, both saying "onderdrukt".
 * Every bar and area carries its figures in data-* attributes, which the
 * browser test (tests/report/test_report.py) reads back.
 *
 * The page is in Dutch, for the city's readers.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "err.h"

#define NCLASS 5
static const char *const class_fill[NCLASS] = {"#eff3ff", "#bdd7e7", "#6baed6", "#3182bd",
                                               "#08519c"};
#define HATCH_LINE "#7a7a7a"
#define HATCH_BG "#ffffff"
#define NOBODY_FILL "#e0e0e0"
#define NODATA_FILL "#c8c8c8"
#define BAR_FILL "#4f79b0"
#define MAP_WIDTH 640.0
#define MAP_PAD 4.0

static void
esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

void
udc_report_fmt(double v, int decimals, int comma, enum udc_round_how how, char *out, size_t outlen)
{
	double scale = pow(10.0, decimals), x = v * scale;
	char *p;

	if (how == UDC_ROUND_DOWN)
		x = floor(x + 1e-9);
	else if (how == UDC_ROUND_UP)
		x = ceil(x - 1e-9);
	else
		x = round(x);
	if (x == 0.0)
		x = 0.0; /* no "-0" */
	snprintf(out, outlen, "%.*f", decimals, x / scale);
	if (comma && (p = strchr(out, '.')) != NULL)
		*p = ',';
}

/* A share as a percentage with one decimal: "25,7". */
static const char *
pct(double v, enum udc_round_how how, char buf[32])
{
	udc_report_fmt(v * 100.0, 1, 1, how, buf, 32);
	return buf;
}

/* "25,7 – 27,4%" (rounded outwards). */
static void
interval(FILE *f, double lo, double hi)
{
	char a[32], b[32];

	fprintf(f, "%s&#8201;&#8211;&#8201;%s%%", pct(lo, UDC_ROUND_DOWN, a), pct(hi, UDC_ROUND_UP, b));
}

/* A count as released, or its interval where it is suppressed. */
static void
count_cell(FILE *f, int released, uint64_t v, int64_t lo, int64_t hi)
{
	if (released) {
		fprintf(f, "<td class=\"n\">%llu</td>", (unsigned long long)v);
		return;
	}
	fputs("<td class=\"n supp\">onderdrukt", f);
	if (hi == UDC_BOUND_INF)
		fprintf(f, " <small>(&#8805;&#8201;%lld)</small>", (long long)lo);
	else if (lo == hi)
		fprintf(f, " <small>(=&#8201;%lld)</small>", (long long)lo);
	else
		fprintf(f, " <small>(%lld&#8211;%lld)</small>", (long long)lo, (long long)hi);
	fputs("</td>", f);
}

static const char *
state_text(enum udc_ind_state s)
{
	switch (s) {
	case UDC_IND_RELEASED: return "";
	case UDC_IND_SUPPRESSED: return "onderdrukt";
	case UDC_IND_NOBODY: return "niemand in de noemer";
	case UDC_IND_UNKNOWN: return "onbekend";
	}
	return "";
}

/* Map classes: five equal steps of a round size (1, 2, 2.5, 5, 10 or 20
 * percentage points) that cover the released shares of the areas. */
struct classes {
	int n;                   /* 0: no released share to classify */
	double b[NCLASS + 1];    /* class k is b[k] <= share < b[k+1] (the last includes b[5]) */
};

static void
make_classes(const struct udc_ind *ind, struct classes *c)
{
	/* in thousandths, so that every boundary is the double nearest to a
	 * round decimal, as a share such as 3 / 10 is */
	static const long steps[] = {10, 20, 25, 50, 100, 200};
	double mn = 2.0, mx = -1.0;
	long lo = 0, step = 200;

	c->n = 0;
	for (size_t a = 0; a + 1 < ind->nrows; a++) {
		const struct udc_ind_fig *f = &ind->rows[a].now;

		if (f->state != UDC_IND_RELEASED)
			continue;
		mn = fmin(mn, f->share);
		mx = fmax(mx, f->share);
	}
	if (mx < 0.0)
		return;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		long l = (long)floor(mn * 1000.0 / (double)steps[i]) * steps[i];

		if ((double)l / 1000.0 > mn)
			l -= steps[i];
		if (l + NCLASS * steps[i] > 1000)
			l = 1000 - NCLASS * steps[i];
		if ((double)(l + NCLASS * steps[i]) / 1000.0 >= mx && (double)l / 1000.0 <= mn) {
			lo = l;
			step = steps[i];
			break;
		}
	}
	c->n = NCLASS;
	for (int k = 0; k <= NCLASS; k++)
		c->b[k] = (double)(lo + step * k) / 1000.0;
}

/* A class boundary as a percentage: "12,5" or "10". */
static const char *
pct_short(double v, char buf[32])
{
	char *p;

	udc_report_fmt(v * 100.0, 1, 1, UDC_ROUND_NEAREST, buf, 32);
	if ((p = strstr(buf, ",0")) != NULL && p[2] == '\0')
		*p = '\0';
	return buf;
}

static int
class_of(const struct classes *c, double s)
{
	for (int k = 0; k < c->n - 1; k++)
		if (s < c->b[k + 1])
			return k;
	return c->n - 1;
}

static void
hatch_def(FILE *f, const char *id)
{
	fprintf(f, "<defs><pattern id=\"%s\" patternUnits=\"userSpaceOnUse\" width=\"8\" "
	        "height=\"8\" patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" "
	        "fill=\"" HATCH_BG "\"/><rect width=\"3\" height=\"8\" fill=\"" HATCH_LINE
	        "\"/></pattern></defs>\n", id);
}

/* A nice axis end: the next multiple of 5% at or above v (5% at least). */
static double
axis_max(double v)
{
	double m = ceil(v * 20.0 - 1e-9) / 20.0;

	return m < 0.05 ? 0.05 : m > 1.0 ? 1.0 : m;
}

static void
row_label(FILE *f, const struct udc_ind_row *r, double y)
{
	fprintf(f, "<text x=\"0\" y=\"%.1f\" class=\"lab%s\">", y, r->code ? "" : " tot");
	if (r->code != NULL && r->name[0] != '\0')
		esc(f, r->name);
	else if (r->code != NULL)
		esc(f, r->code);
	else
		esc(f, r->name);
	fputs("<title>", f);
	if (r->code != NULL) {
		esc(f, r->code);
		fputc(' ', f);
	}
	esc(f, r->name);
	fputs("</title></text>", f);
}

static void
data_attrs(FILE *f, const struct udc_ind_row *r, const struct udc_ind_fig *fg)
{
	fprintf(f, " data-code=\"");
	esc(f, r->code ? r->code : "");
	fprintf(f, "\" data-state=\"%s\"", udc_ind_state_name(fg->state));
	if (fg->state == UDC_IND_RELEASED)
		fprintf(f, " data-share=\"%.6f\"", fg->share);
	if (fg->has_interval)
		fprintf(f, " data-low=\"%.6f\" data-high=\"%.6f\"", floor(fg->lo * 1e6) / 1e6,
		        ceil(fg->hi * 1e6) / 1e6);
}

#define BAR_LABEL 330.0
#define BAR_PLOT 400.0
#define BAR_ROW 18.0
#define BAR_TOP 26.0

static void
axis(FILE *f, double x0, double w, double vmin, double vmax, double top, double height)
{
	int ticks = 4;

	for (int k = 0; k <= ticks; k++) {
		double v = vmin + (vmax - vmin) * k / ticks, x = x0 + w * k / ticks;
		char b[32];

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid%s\"/>",
		        x, top - 4, x, top + height, fabs(v) < 1e-12 ? " zero" : "");
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s%%</text>\n", x, top - 8,
		        pct(v, UDC_ROUND_NEAREST, b));
	}
}

static void
whisker(FILE *f, double x1, double x2, double y)
{
	fprintf(f, "<path class=\"whisker\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fV%.1f\"/>",
	        x1, y - 5, y + 5, x1, y, x2, x2, y - 5, y + 5);
}

static void
bars(FILE *f, const struct udc_ind *ind)
{
	double m = 0.0, height = (double)ind->nrows * BAR_ROW + 6.0, width;
	char id[64], b[32];

	for (size_t a = 0; a < ind->nrows; a++) {
		const struct udc_ind_fig *fg = &ind->rows[a].now;

		if (fg->state == UDC_IND_RELEASED)
			m = fmax(m, fg->share);
		if (fg->has_interval && fg->state != UDC_IND_NOBODY)
			m = fmax(m, fg->hi);
	}
	m = axis_max(m);
	width = BAR_LABEL + BAR_PLOT + 180.0;
	snprintf(id, sizeof(id), "hb-%s", ind->conf->name);
	fprintf(f, "<figure class=\"bars\"><svg class=\"bars\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"staafdiagram\">\n", width,
	        BAR_TOP + height, width, BAR_TOP + height);
	hatch_def(f, id);
	axis(f, BAR_LABEL, BAR_PLOT, 0.0, m, BAR_TOP, height);
	for (size_t a = 0; a < ind->nrows; a++) {
		const struct udc_ind_row *r = &ind->rows[a];
		const struct udc_ind_fig *fg = &r->now;
		double y = BAR_TOP + (double)a * BAR_ROW + (r->code ? 0.0 : 6.0), yc = y + BAR_ROW / 2;

		fprintf(f, "<g class=\"bar %s%s\"", udc_ind_state_name(fg->state),
		        r->code ? "" : " total");
		data_attrs(f, r, fg);
		fputs(">", f);
		if (r->code == NULL)
			fprintf(f, "<line x1=\"0\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"sep\"/>",
			        y - 3, width, y - 3);
		row_label(f, r, yc + 4);
		if (fg->state == UDC_IND_RELEASED) {
			double w = fg->share / m * BAR_PLOT;

			fprintf(f, "<rect class=\"val\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
			        "height=\"%.1f\" fill=\"" BAR_FILL "\"/>", BAR_LABEL, y + 3, w,
			        BAR_ROW - 6);
		} else if (fg->state == UDC_IND_SUPPRESSED && fg->has_interval) {
			double x1 = BAR_LABEL + fg->lo / m * BAR_PLOT, x2 = BAR_LABEL + fg->hi / m * BAR_PLOT;

			fprintf(f, "<rect class=\"supp\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
			        "height=\"%.1f\" fill=\"url(#%s)\" stroke=\"" HATCH_LINE "\"/>", x1, y + 3,
			        fmax(x2 - x1, 1.0), BAR_ROW - 6, id);
		}
		if (fg->has_interval && fg->state != UDC_IND_NOBODY && fg->hi > fg->lo)
			whisker(f, BAR_LABEL + fg->lo / m * BAR_PLOT, BAR_LABEL + fg->hi / m * BAR_PLOT,
			        yc);
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"v%s\">", BAR_LABEL + BAR_PLOT + 8,
		        yc + 4, fg->state == UDC_IND_RELEASED ? "" : " supp");
		if (fg->state == UDC_IND_RELEASED)
			fprintf(f, "%s%%", pct(fg->share, UDC_ROUND_NEAREST, b));
		else
			esc(f, state_text(fg->state));
		if (fg->has_interval && fg->state != UDC_IND_NOBODY &&
		    (fg->state != UDC_IND_RELEASED || fg->hi > fg->lo)) {
			fputs(" (", f);
			interval(f, fg->lo, fg->hi);
			fputs(")", f);
		}
		fputs("</text></g>\n", f);
	}
	fputs("</svg><figcaption>Staven: het gepubliceerde aandeel; lijnen: het interval waarin "
	      "het aandeel zeker ligt (zie <a href=\"#methode\">Methode</a>).  Gearceerd: "
	      "onderdrukt; alleen het interval is bekend.</figcaption></figure>\n", f);
}

static void
map_path(FILE *f, const struct udc_geomap *map, const struct udc_geo_area *g)
{
	size_t off = 0;

	fputs(" d=\"", f);
	for (size_t r = 0; r < g->nrings; r++) {
		for (size_t i = 0; i + 1 < g->ring_len[r]; i++) {
			double x, y;

			udc_geomap_project(map, MAP_WIDTH, g->lonlat[2 * (off + i)],
			                   g->lonlat[2 * (off + i) + 1], &x, &y);
			fprintf(f, "%s%.1f %.1f", i == 0 ? "M" : "L", x + MAP_PAD, y + MAP_PAD);
		}
		fputs("Z", f);
		off += g->ring_len[r];
	}
	fputs("\"", f);
}

static void
legend_item(FILE *f, double x, double y, const char *fill, const char *cls, const char *label,
            int k, const struct classes *c)
{
	fprintf(f, "<g class=\"legend-item %s\"", cls);
	if (k >= 0)
		fprintf(f, " data-class=\"%d\" data-lo=\"%.17g\" data-hi=\"%.17g\" data-fill=\"%s\"", k,
		        c->b[k], c->b[k + 1], fill);
	fprintf(f, "><rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"14\" fill=\"%s\" "
	        "stroke=\"#888\" stroke-width=\"0.5\"/><text x=\"%.1f\" y=\"%.1f\">", x, y, fill,
	        x + 28, y + 11);
	esc(f, label);
	fputs("</text></g>\n", f);
}

static void
choropleth(FILE *f, const struct udc_ind *ind, const struct udc_geomap *map, const char *attribution)
{
	struct classes c;
	double h, legend_y, svg_h;
	char id[64], fill[80];

	make_classes(ind, &c);
	udc_geomap_size(map, MAP_WIDTH, &h);
	legend_y = h + 2 * MAP_PAD + 10;
	svg_h = legend_y + 2 * 22 + 6;
	snprintf(id, sizeof(id), "hm-%s", ind->conf->name);
	fprintf(f, "<figure class=\"map\"><svg class=\"map\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"kaart\">\n",
	        MAP_WIDTH + 2 * MAP_PAD, svg_h, MAP_WIDTH + 2 * MAP_PAD, svg_h);
	hatch_def(f, id);
	fputs("<g class=\"areas\">\n", f);
	for (size_t i = 0; i < map->nareas; i++) {
		const struct udc_geo_area *g = &map->areas[i];
		const struct udc_ind_row *r = NULL;
		const char *state = "nodata";
		char b[32];
		int k = -1;

		for (size_t a = 0; a + 1 < ind->nrows; a++)
			if (strcmp(ind->rows[a].code, g->code) == 0)
				r = &ind->rows[a];
		if (r == NULL) {
			snprintf(fill, sizeof(fill), NODATA_FILL);
		} else {
			state = udc_ind_state_name(r->now.state);
			switch (r->now.state) {
			case UDC_IND_RELEASED:
				k = class_of(&c, r->now.share);
				snprintf(fill, sizeof(fill), "%s", class_fill[k]);
				break;
			case UDC_IND_SUPPRESSED:
				snprintf(fill, sizeof(fill), "url(#%s)", id);
				break;
			case UDC_IND_NOBODY:
				snprintf(fill, sizeof(fill), NOBODY_FILL);
				break;
			case UDC_IND_UNKNOWN:
				snprintf(fill, sizeof(fill), NODATA_FILL);
				break;
			}
		}
		fprintf(f, "<path class=\"area %s\"", state);
		if (r != NULL)
			data_attrs(f, r, &r->now);
		else {
			fputs(" data-code=\"", f);
			esc(f, g->code);
			fputs("\" data-state=\"nodata\"", f);
		}
		if (k >= 0)
			fprintf(f, " data-class=\"%d\"", k);
		fprintf(f, " fill=\"%s\"", fill);
		map_path(f, map, g);
		fputs("><title>", f);
		esc(f, g->name);
		fputs(" (", f);
		esc(f, g->code);
		fputs("): ", f);
		if (r == NULL)
			fputs("geen gegevens", f);
		else if (r->now.state == UDC_IND_RELEASED)
			fprintf(f, "%s%%", pct(r->now.share, UDC_ROUND_NEAREST, b));
		else
			esc(f, state_text(r->now.state));
		if (r != NULL && r->now.has_interval && r->now.state != UDC_IND_NOBODY) {
			fputs(" (", f);
			interval(f, r->now.lo, r->now.hi);
			fputs(")", f);
		}
		fputs("</title></path>\n", f);
	}
	fputs("</g>\n<g class=\"legend\">\n", f);
	for (int k = 0; k < c.n; k++) {
		char a[32], b[32], label[80];

		snprintf(label, sizeof(label), "%s%s%s%%", pct_short(c.b[k], a),
		         k + 1 < c.n ? " tot " : " t/m ", pct_short(c.b[k + 1], b));
		legend_item(f, MAP_PAD + (double)k * 128.0, legend_y, class_fill[k], "class", label, k,
		            &c);
	}
	snprintf(fill, sizeof(fill), "url(#%s)", id);
	legend_item(f, MAP_PAD, legend_y + 22, fill, "suppressed", "onderdrukt (alleen een interval "
	            "bekend)", -1, &c);
	legend_item(f, MAP_PAD + 256, legend_y + 22, NOBODY_FILL, "nobody", "niemand in de noemer",
	            -1, &c);
	legend_item(f, MAP_PAD + 448, legend_y + 22, NODATA_FILL, "nodata", "geen gegevens", -1, &c);
	fputs("</g></svg><figcaption>", f);
	esc(f, attribution);
	fputs(".  Kleur: het gepubliceerde aandeel.</figcaption></figure>\n",
	      f);
}

/* The change since the earlier round, per area: a bar from 0 to the
 * change where both shares are released, the interval always. */
static void
change_chart(FILE *f, const struct udc_ind *ind)
{
	double m = 0.0, height = (double)ind->nrows * BAR_ROW + 6.0, width, x0;
	char id[64], b[32];

	for (size_t a = 0; a < ind->nrows; a++) {
		const struct udc_ind_row *r = &ind->rows[a];

		if (r->has_change)
			m = fmax(m, fmax(fabs(r->change_lo), fabs(r->change_hi)));
	}
	m = axis_max(m);
	width = BAR_LABEL + BAR_PLOT + 200.0;
	x0 = BAR_LABEL + BAR_PLOT / 2;
	snprintf(id, sizeof(id), "hc-%s", ind->conf->name);
	fprintf(f, "<figure class=\"change\"><svg class=\"change\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"verandering\">\n", width,
	        BAR_TOP + height, width, BAR_TOP + height);
	hatch_def(f, id);
	axis(f, BAR_LABEL, BAR_PLOT, -m, m, BAR_TOP, height);
	for (size_t a = 0; a < ind->nrows; a++) {
		const struct udc_ind_row *r = &ind->rows[a];
		double y = BAR_TOP + (double)a * BAR_ROW + (r->code ? 0.0 : 6.0), yc = y + BAR_ROW / 2;
		double scale = BAR_PLOT / (2 * m);

		fprintf(f, "<g class=\"chg%s%s\" data-code=\"", r->change_known ? " known" :
		        r->has_change ? " suppressed" : " none", r->code ? "" : " total");
		esc(f, r->code ? r->code : "");
		fputs("\"", f);
		if (r->change_known)
			fprintf(f, " data-change=\"%.6f\"", r->change);
		if (r->has_change)
			fprintf(f, " data-low=\"%.6f\" data-high=\"%.6f\"",
			        floor(r->change_lo * 1e6) / 1e6, ceil(r->change_hi * 1e6) / 1e6);
		fputs(">", f);
		if (r->code == NULL)
			fprintf(f, "<line x1=\"0\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" class=\"sep\"/>",
			        y - 3, width, y - 3);
		row_label(f, r, yc + 4);
		if (r->change_known) {
			double x = x0 + r->change * scale;

			fprintf(f, "<rect class=\"val\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
			        "height=\"%.1f\" fill=\"" BAR_FILL "\"/>", fmin(x, x0), y + 3,
			        fabs(x - x0), BAR_ROW - 6);
		} else if (r->has_change) {
			double x1 = x0 + r->change_lo * scale, x2 = x0 + r->change_hi * scale;

			fprintf(f, "<rect class=\"supp\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
			        "height=\"%.1f\" fill=\"url(#%s)\" stroke=\"" HATCH_LINE "\"/>", x1, y + 3,
			        fmax(x2 - x1, 1.0), BAR_ROW - 6, id);
		}
		if (r->has_change && r->change_hi > r->change_lo)
			whisker(f, x0 + r->change_lo * scale, x0 + r->change_hi * scale, yc);
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" class=\"v%s\">", BAR_LABEL + BAR_PLOT + 8,
		        yc + 4, r->change_known ? "" : " supp");
		if (r->change_known)
			fprintf(f, "%s%s pp", r->change > 0 ? "+" : "",
			        pct(r->change, UDC_ROUND_NEAREST, b));
		else if (r->has_change)
			fputs("onderdrukt", f);
		else
			fputs("geen vergelijking", f);
		if (r->has_change && (!r->change_known || r->change_hi > r->change_lo)) {
			char lo[32], hi[32];

			fprintf(f, " (%s&#8201;&#8211;&#8201;%s pp)", pct(r->change_lo, UDC_ROUND_DOWN, lo),
			        pct(r->change_hi, UDC_ROUND_UP, hi));
		}
		fputs("</text></g>\n", f);
	}
	fputs("</svg><figcaption>Verandering van het aandeel in procentpunten (pp) sinds de "
	      "eerdere ronde; lijnen: het interval waarin de verandering zeker ligt.  Gearceerd: in "
	      "een van beide rondes onderdrukt.</figcaption></figure>\n", f);
}

static void
fig_share(FILE *f, const struct udc_ind_fig *fg)
{
	char b[32];

	if (fg->state == UDC_IND_RELEASED)
		fprintf(f, "<td class=\"n\">%s%%</td>", pct(fg->share, UDC_ROUND_NEAREST, b));
	else {
		fputs("<td class=\"n supp\">", f);
		esc(f, state_text(fg->state));
		fputs("</td>", f);
	}
	fputs("<td class=\"n\">", f);
	if (fg->has_interval && fg->state != UDC_IND_NOBODY && fg->lo == fg->hi)
		fprintf(f, "%s%% (exact)", pct(fg->lo, UDC_ROUND_NEAREST, b));
	else if (fg->has_interval && fg->state != UDC_IND_NOBODY)
		interval(f, fg->lo, fg->hi);
	fputs("</td>", f);
}

static void
sel_text(FILE *f, const struct udc_rconf_sel *s)
{
	for (size_t i = 0; i < s->n; i++) {
		fputs(i ? ", " : "", f);
		esc(f, s->dim[i]);
		fputs("&#8201;=&#8201;", f);
		esc(f, s->val[i]);
	}
}

static void
data_table(FILE *f, const struct udc_indicators *x, const struct udc_ind *ind)
{
	const struct udc_rconf_ind *ci = ind->conf;
	int cmp = ind->compare && ind->comparable;

	fputs("<table class=\"data\"><thead><tr><th>Code</th><th>", f);
	esc(f, x->conf->area_label);
	fputs("</th><th class=\"n\">", f);
	esc(f, ci->num_label ? ci->num_label : "Teller");
	fputs("</th><th class=\"n\">", f);
	esc(f, ci->den_label ? ci->den_label : "Noemer");
	fputs("</th><th class=\"n\">Aandeel</th><th class=\"n\">Interval</th>", f);
	if (cmp)
		fputs("<th class=\"n\">Eerder</th><th class=\"n\">Interval</th>"
		      "<th class=\"n\">Verandering</th><th class=\"n\">Interval</th>", f);
	fputs("</tr></thead><tbody>\n", f);
	for (size_t a = 0; a < ind->nrows; a++) {
		const struct udc_ind_row *r = &ind->rows[a];
		char b[32], lo[32], hi[32];

		fprintf(f, "<tr class=\"%s%s\"", udc_ind_state_name(r->now.state),
		        r->code ? "" : " total");
		data_attrs(f, r, &r->now);
		fputs("><td>", f);
		esc(f, r->code ? r->code : "");
		fputs("</td><td>", f);
		esc(f, r->name);
		fputs("</td>", f);
		count_cell(f, r->now.num_released, r->now.num, r->now.num_lo, r->now.num_hi);
		count_cell(f, r->now.den_released, r->now.den, r->now.den_lo, r->now.den_hi);
		fig_share(f, &r->now);
		if (cmp) {
			fig_share(f, &r->old);
			if (r->change_known)
				fprintf(f, "<td class=\"n\">%s%s pp</td>", r->change > 0 ? "+" : "",
				        pct(r->change, UDC_ROUND_NEAREST, b));
			else
				fprintf(f, "<td class=\"n supp\">%s</td>",
				        r->has_change ? "onderdrukt" : "&#8211;");
			if (r->has_change)
				fprintf(f, "<td class=\"n\">%s&#8201;&#8211;&#8201;%s pp</td>",
				        pct(r->change_lo, UDC_ROUND_DOWN, lo),
				        pct(r->change_hi, UDC_ROUND_UP, hi));
			else
				fputs("<td></td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void
round_note(FILE *f, const struct udc_ind_round *rd)
{
	if (rd->round_slack > 0 || rd->noise_bound > 0) {
		fputs("<p class=\"note\">Gepubliceerde aantallen van deze tabel zijn ", f);
		if (rd->round_slack > 0)
			fprintf(f, "willekeurig afgerond (elk ligt hoogstens %lld van de waarde v&#243;&#243;r "
			        "afronding)%s", (long long)rd->round_slack, rd->noise_bound ? " en " : "");
		if (rd->noise_bound > 0)
			fprintf(f, "met ruis gepubliceerd: met ten minste 95%% kans wijkt geen van de %zu "
			        "gepubliceerde cellen van de tabel meer dan %lld af", rd->released_cells,
			        (long long)rd->noise_bound);
		fputs(".  De intervallen houden daar rekening mee.</p>\n", f);
	}
	if (!rd->propagated)
		fputs("<p class=\"note\">De ruis in deze tabel was ergens groter dan de 95%-grens: de "
		      "cellen zijn niet met elkaar te rijmen.  De intervallen zijn daarom per cel "
		      "gegeven, zonder de totalen te gebruiken.</p>\n", f);
	else if (!rd->converged)
		fputs("<p class=\"note\">De intervallen zijn na 1000 rondes door de tabel niet "
		      "verder versmald; ze zijn juist, maar misschien ruimer dan nodig.</p>\n", f);
}

static void
indicator(FILE *f, const struct udc_indicators *x, const struct udc_ind *ind,
          const struct udc_geomap *map)
{
	const struct udc_rconf_ind *ci = ind->conf;
	const struct udc_ind_row *tot = &ind->rows[ind->nrows - 1];
	size_t nrel = 0, nsupp = 0, nnob = 0;
	char b[32];

	for (size_t a = 0; a + 1 < ind->nrows; a++) {
		nrel += ind->rows[a].now.state == UDC_IND_RELEASED;
		nsupp += ind->rows[a].now.state == UDC_IND_SUPPRESSED ||
		         ind->rows[a].now.state == UDC_IND_UNKNOWN;
		nnob += ind->rows[a].now.state == UDC_IND_NOBODY;
	}
	fputs("<section class=\"indicator\" id=\"ind-", f);
	esc(f, ci->name);
	fputs("\" data-indicator=\"", f);
	esc(f, ci->name);
	fputs("\"><h2>", f);
	esc(f, ci->title);
	fputs("</h2>\n", f);
	if (ci->description != NULL) {
		fputs("<p>", f);
		esc(f, ci->description);
		fputs("</p>\n", f);
	}
	fputs("<p class=\"def\">Aandeel = teller / noemer uit tabel <code>", f);
	esc(f, ind->table->name);
	fputs("</code>.  Teller: ", f);
	sel_text(f, &ci->num);
	fputs(".  Noemer: ", f);
	if (ci->den.n > 0)
		sel_text(f, &ci->den);
	else
		fputs("het totaal van de ", f);
	esc(f, ci->den.n > 0 ? "" : x->conf->area_label);
	fputs(".</p>\n<p class=\"key\">", f);
	esc(f, x->conf->total_name);
	fputs(": ", f);
	if (tot->now.state == UDC_IND_RELEASED)
		fprintf(f, "<strong>%s%%</strong>", pct(tot->now.share, UDC_ROUND_NEAREST, b));
	else
		esc(f, state_text(tot->now.state));
	if (tot->now.has_interval && tot->now.state != UDC_IND_NOBODY &&
	    (tot->now.state != UDC_IND_RELEASED || tot->now.hi > tot->now.lo)) {
		fputs(" (interval ", f);
		interval(f, tot->now.lo, tot->now.hi);
		fputs(")", f);
	}
	fprintf(f, ".  Gepubliceerd voor %zu van de %zu gebieden; %zu onderdrukt; %zu zonder "
	        "iemand in de noemer.</p>\n", nrel, ind->nrows - 1, nsupp, nnob);
	round_note(f, &ind->rnow);
	bars(f, ind);
	if (map != NULL)
		choropleth(f, ind, map, x->conf->attribution);
	if (ind->compare) {
		fputs("<h3>Vergelijking met de eerdere ronde</h3>\n", f);
		if (!ind->comparable) {
			fputs("<p class=\"note incompatible\">Niet vergelijkbaar: ", f);
			esc(f, ind->incomparable);
			fputs(".  Een verandering zou hier twee verschillende vragen met elkaar "
			      "vergelijken.</p>\n", f);
		} else {
			round_note(f, &ind->rold);
			change_chart(f, ind);
		}
	}
	fputs("<details open><summary>Tabel per gebied</summary><div class=\"wide\">\n", f);
	data_table(f, x, ind);
	fputs("</div></details></section>\n", f);
}

static const char *
reason_nl(const char *r)
{
	static const struct {
		const char *key, *text;
	} t[] = {
	    {"malformed_csv", "onleesbare CSV-regel"},
	    {"invalid_utf8", "geen geldige UTF-8"},
	    {"label_not_allowed", "label niet toegestaan door de spec"},
	    {"no_match_key", "geen enkele koppelsleutel te vormen"},
	    {"duplicate", "dubbel: niet 1-op-1 te koppelen"},
	    {"clk_encoding", "CLK-codering mislukt"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].key, r) == 0)
			return t[i].text;
	return r;
}

static void
margins(FILE *f, const struct udc_release *r)
{
	static const char *const who[2] = {"gemeente", "CBS"};

	fputs("<section id=\"marges\"><h2>Marges: wat niet gekoppeld is, en wat niet "
	      "meetelt</h2>\n", f);
	fputs("<p>Tabellen over de populaties <code>gemeente_only</code> en <code>cbs_only</code> "
	      "tellen records die niet gekoppeld zijn.  Ze tellen alleen records die de "
	      "invoercontrole doorstonden: een afgewezen rij staat in geen enkele tabel.  Lees "
	      "afgewezen rijen dus niet als kinderen die de gemeente niet bereikt, of die CBS niet "
	      "kent.</p>\n", f);
	fputs("<table class=\"margins\"><thead><tr><th></th><th class=\"n\">Rijen gelezen</th>"
	      "<th class=\"n\">Gebruikt</th><th class=\"n\">Afgewezen</th><th>Afgewezen, naar "
	      "reden</th><th class=\"n\">Niet in de marge</th></tr></thead><tbody>\n", f);
	for (int s = 0; s < 2; s++) {
		const struct udc_rel_input *in = &r->input[s];

		fprintf(f, "<tr class=\"margin-%s\"><th>Lijst van %s</th>", s ? "cbs" : "gemeente",
		        who[s]);
		if (!in->present) {
			fputs("<td colspan=\"4\">niet in result.json</td>", f);
		} else {
			fprintf(f, "<td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">"
			        "%llu</td><td>", (unsigned long long)in->rows_read,
			        (unsigned long long)in->records_used,
			        (unsigned long long)in->rows_rejected);
			for (size_t k = 0, shown = 0; k < in->nreasons; k++) {
				if (in->rejected[k] == 0)
					continue;
				fputs(shown++ ? "; " : "", f);
				esc(f, reason_nl(in->reason[k]));
				fprintf(f, ": %llu", (unsigned long long)in->rejected[k]);
			}
			fputs("</td>", f);
		}
		if (r->has_margins)
			fprintf(f, "<td class=\"n\" data-rejected=\"%llu\">%llu rijen</td>",
			        (unsigned long long)r->margin_rejected[s],
			        (unsigned long long)r->margin_rejected[s]);
		else
			fputs("<td>niet gemeld</td>", f);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	for (size_t t = 0; t < r->ntables; t++) {
		const struct udc_rel_table *tb = &r->tables[t];
		int g = strcmp(tb->population, "gemeente_only") == 0;
		int c = strcmp(tb->population, "cbs_only") == 0;

		if (!g && !c)
			continue;
		fputs("<p>Tabel <code>", f);
		esc(f, tb->name);
		fprintf(f, "</code> telt %s.  Totaal: ", g ? "kinderen op de lijst van de gemeente die "
		        "niet gekoppeld zijn" : "kinderen die CBS kent en die niet op de lijst van de "
		        "gemeente staan");
		if (tb->suppressed[tb->ncells - 1])
			fputs("onderdrukt", f);
		else
			fprintf(f, "%llu", (unsigned long long)tb->count[tb->ncells - 1]);
		/* A row rejected on one side leaves its person unlinked on the other:
		 * it is in this margin, though both lists know the child. */
		if (r->has_margins)
			fprintf(f, "; de %llu afgewezen rijen van de %s tellen daarin niet mee, en wie "
			        "op de lijst van de %s werd afgewezen (%llu rijen) kan hier als niet "
			        "gekoppeld meetellen",
			        (unsigned long long)r->margin_rejected[g ? 0 : 1], g ? "gemeente" : "CBS",
			        g ? "CBS" : "gemeente", (unsigned long long)r->margin_rejected[g ? 1 : 0]);
		fputs(".</p>\n", f);
	}
	fputs("</section>\n", f);
}

static void
meta_row(FILE *f, const char *k, const char *v)
{
	fputs("<tr><th>", f);
	esc(f, k);
	fputs("</th><td>", f);
	esc(f, v && v[0] ? v : "(niet vermeld)");
	fputs("</td></tr>\n", f);
}

static void
release_meta(FILE *f, const struct udc_release *r, const char *heading, const char *id)
{
	char b[128];

	fprintf(f, "<section id=\"%s\"><h2>", id);
	esc(f, heading);
	fputs("</h2>\n<table class=\"meta\">\n", f);
	meta_row(f, "Spec", r->spec_name);
	fputs("<tr><th>Spec-hash (SHA-256)</th><td><code>", f);
	esc(f, r->spec_hash);
	fputs("</code></td></tr>\n<tr><th>Ronde</th><td><code>", f);
	esc(f, r->round_id);
	fputs("</code></td></tr>\n", f);
	meta_row(f, "Gestart", r->started);
	meta_row(f, "Afgerond", r->finished);
	meta_row(f, "Ondertekend door", r->signer);
	meta_row(f, "Koppeling", r->mode);
	if (r->has_links) {
		snprintf(b, sizeof(b), "%llu", (unsigned long long)r->links_total);
		meta_row(f, "Gekoppelde records", b);
	}
	snprintf(b, sizeof(b), "%d", r->min_cell);
	meta_row(f, "Kleinste gepubliceerde cel (min_cell)", b);
	snprintf(b, sizeof(b), "%d", r->protection);
	meta_row(f, "Beschermingsmarge (protection)", b);
	meta_row(f, "Onderdrukte cellen kunnen 0 zijn", r->may_be_zero ? "ja" : "nee (elk is ten "
	         "minste 1)");
	if (r->round_base > 1)
		snprintf(b, sizeof(b), "willekeurig, op veelvouden van %u", r->round_base);
	meta_row(f, "Afronding", r->round_base > 1 ? b : "geen");
	if (r->eps_num > 0)
		snprintf(b, sizeof(b), "discrete Laplace, epsilon %u/%u per cel", r->eps_num,
		         r->eps_den);
	meta_row(f, "Ruis", r->eps_num > 0 ? b : "geen");
	meta_row(f, "Geheimhouding", r->note);
	fputs("</table>\n<table class=\"tables\"><thead><tr><th>Tabel</th><th>Populatie</th>"
	      "<th>Dimensies</th><th>Voorwaarden</th><th class=\"n\">Cellen</th><th class=\"n\">"
	      "Onderdrukt</th></tr></thead><tbody>\n", f);
	for (size_t t = 0; t < r->ntables; t++) {
		const struct udc_rel_table *tb = &r->tables[t];

		fputs("<tr><td><code>", f);
		esc(f, tb->name);
		fputs("</code></td><td>", f);
		esc(f, tb->population);
		fputs("</td><td>", f);
		for (size_t i = 0; i < tb->ndims; i++) {
			fputs(i ? " &#215; " : "", f);
			esc(f, tb->dims[i].name);
			fprintf(f, " (%zu)", tb->dims[i].ncats);
		}
		if (tb->ndims == 0)
			fputs("(alleen het totaal)", f);
		fputs("</td><td>", f);
		for (size_t w = 0; w < tb->nwhere; w++) {
			fputs(w ? "; " : "", f);
			esc(f, tb->where[w].dim);
			fputs(" in {", f);
			for (size_t v = 0; v < tb->where[w].nvals; v++) {
				fputs(v ? ", " : "", f);
				esc(f, tb->where[w].vals[v]);
			}
			fputs("}", f);
		}
		fprintf(f, "</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td></tr>\n", tb->ncells,
		        tb->nsuppressed);
	}
	fputs("</tbody></table>\n<p>Per cel staat alleen of ze onderdrukt is, niet waarom: de "
	      "reden (te klein, nul, ter bescherming van een andere cel) zou meer vertellen dan de "
	      "bescherming toelaat.</p></section>\n", f);
}

static void
method(FILE *f, const struct udc_indicators *x)
{
	fputs("<section id=\"methode\"><h2>Methode: wat de intervallen betekenen</h2>\n", f);
	fputs("<p>Een aandeel wordt nooit berekend uit alleen de niet-onderdrukte cellen: dat zou "
	      "een vertekend beeld geven, want juist de kleine aantallen zijn onderdrukt.  Teller en "
	      "noemer zijn elk een cel van de gepubliceerde tabel.  Is een van beide onderdrukt, dan "
	      "toont het rapport geen aandeel maar alleen het interval waarin het zeker ligt.</p>\n"
	      "<p>Het interval van een aantal volgt uit de gepubliceerde cellen van dezelfde tabel. "
	      " Elke rij en kolom van de tabel (&#233;&#233;n dimensie loopt, de andere liggen "
	      "vast) zegt: het totaal is de som van de cellen.  Een onderdrukt aantal is minstens "
	      "1 (of 0 als de publicatie zegt dat onderdrukte cellen 0 kunnen zijn) en kent vooraf "
	      "geen bovengrens.  Elke rij en kolom versmalt de intervallen van haar cellen tot er "
	      "niets meer verandert.  Elke stap houdt elke waarde die de werkelijke tabel kan "
	      "hebben, dus het werkelijke aantal ligt zeker in het interval (het kan ruimer zijn "
	      "dan het kleinst mogelijke).  Het interval van een aandeel is de kleinste en grootste "
	      "waarde van teller / noemer over alle aantallen binnen hun intervallen, met de teller "
	      "als deel van de noemer.</p>\n", f);
	fputs("<p>Afronding: een willekeurig afgerond aantal ligt hoogstens de basis min 1 van de "
	      "werkelijke waarde; het interval begint daar.  Ruis: de grens is zo gekozen dat alle "
	      "gepubliceerde cellen van een tabel met ten minste 95% kans tegelijk binnen de grens "
	      "van hun waarde v&#243;&#243;r de ruis liggen; onder die voorwaarde liggen de "
	      "intervallen van die tabel zeker goed.  Een verandering tussen twee rondes heeft als "
	      "interval het verschil van de twee intervallen.</p>\n", f);
	fputs("<p>De kaart gebruikt een eenvoudige equirechthoekige projectie, geschaald met de "
	      "cosinus van de gemiddelde breedtegraad.  De kleuren verdelen de gepubliceerde "
	      "aandelen in vijf gelijke stappen van een ronde grootte (1, 2, 2,5, 5, 10 of 20 procentpunt).</p>\n", f);
	(void)x;
	fputs("</section>\n", f);
}

static const char css[] =
    "body{font-family:\"DejaVu Sans\",Verdana,Arial,sans-serif;color:#1a1a1a;margin:24px auto;"
    "max-width:1040px;padding:0 16px;font-size:14px;line-height:1.45}\n"
    "h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;border-bottom:2px solid #d0d0d0;"
    "margin-top:40px;padding-bottom:4px}h3{font-size:16px}\n"
    "table{border-collapse:collapse;margin:8px 0}th,td{padding:2px 8px;border-bottom:1px solid "
    "#e4e4e4;text-align:left;vertical-align:top}.n{text-align:right;white-space:nowrap}\n"
    "tr.total td{font-weight:bold;border-top:2px solid #999}.supp{color:#5f5f5f;"
    "font-style:italic}\n"
    "table.meta th{width:260px;font-weight:normal;color:#444}\n"
    ".note{background:#f7f5ea;border-left:4px solid #c9b458;padding:6px 12px}\n"
    ".key{font-size:16px}figure{margin:16px 0}figcaption{font-size:12px;color:#555;"
    "max-width:760px}\n"
    "svg text{font-family:\"DejaVu Sans\",Verdana,Arial,sans-serif;font-size:11px;"
    "fill:#1a1a1a}svg text.tick{fill:#666;text-anchor:middle}svg text.tot{font-weight:bold}\n"
    "svg text.supp{fill:#5f5f5f;font-style:italic}svg .grid{stroke:#e6e6e6}"
    "svg .grid.zero{stroke:#999}svg .sep{stroke:#999}\n"
    "svg .whisker{stroke:#1a1a1a;stroke-width:1.5;fill:none}"
    "svg path.area{stroke:#ffffff;stroke-width:0.6}\n"
    ".wide{overflow-x:auto}table.data{font-size:13px}\n"
    "code{font-size:12px}nav a{margin-right:12px}footer{margin-top:40px;font-size:12px;"
    "color:#555}\n"
    "@media print{details{display:block}section{break-inside:avoid-page}}\n";

int
udc_report_html(const struct udc_indicators *x, const struct udc_geomap *map,
                const char *generator, FILE *f)
{
	const struct udc_release *r = x->rel;

	fputs("<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	esc(f, x->conf->title);
	fprintf(f, "</title>\n<style>\n%s</style></head>\n<body>\n<header><h1>", css);
	esc(f, x->conf->title);
	fputs("</h1>\n<p>Spec <code>", f);
	esc(f, r->spec_name);
	fputs("</code>, ronde <code>", f);
	esc(f, r->round_id);
	fputs("</code>, afgerond ", f);
	esc(f, r->finished[0] ? r->finished : "(niet vermeld)");
	if (x->old != NULL) {
		fputs("; vergeleken met ronde <code>", f);
		esc(f, x->old->round_id);
		fputs("</code> (", f);
		esc(f, x->old->finished[0] ? x->old->finished : "datum niet vermeld");
		fputs(")", f);
	}
	fputs(".</p>\n<nav>", f);
	for (size_t i = 0; i < x->n; i++) {
		fputs("<a href=\"#ind-", f);
		esc(f, x->ind[i].conf->name);
		fputs("\">", f);
		esc(f, x->ind[i].conf->title);
		fputs("</a>", f);
	}
	fputs("<a href=\"#marges\">Marges</a><a href=\"#publicatie\">Over de publicatie</a>"
	      "<a href=\"#methode\">Methode</a></nav></header>\n<main>\n", f);
	for (size_t i = 0; i < x->n; i++)
		indicator(f, x, &x->ind[i], map);
	margins(f, r);
	release_meta(f, r, "Over de publicatie", "publicatie");
	if (x->old != NULL)
		release_meta(f, x->old, "De eerdere ronde", "eerder");
	method(f, x);
	fputs("</main>\n<footer>", f);
	if (map != NULL) {
		esc(f, x->conf->attribution);
		fputs(".  ", f);
	}
	fputs("Gemaakt met ", f);
	esc(f, generator ? generator : "udc-report");
	fputs(" uit result.csv en result.json van de ronde.</footer>\n</body></html>\n", f);
	return ferror(f) ? UDC_EIO : 0;
}
