/*
 * report.c - the report's files: indicators.csv, indicators.json, and the
 * whole run that writes them with report.html (report.h; the page itself
 * is html.c).
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"
#include "file.h"
#include "released.h"
#include "reportconf.h"

/* A text field, quoted where it holds the separator, a quote or a line end. */
static void
csv_text(FILE *f, const char *s, char sep)
{
	int q = strchr(s, sep) != NULL || strpbrk(s, "\"\r\n") != NULL;

	if (!q) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
csv_num(FILE *f, char sep, double v, int decimals, enum udc_round_how how, int present)
{
	char b[48];

	fputc(sep, f);
	if (!present)
		return;
	udc_report_fmt(v, decimals, sep == ';', how, b, sizeof(b));
	fputs(b, f);
}

static void
csv_int(FILE *f, char sep, int64_t v, int present)
{
	fputc(sep, f);
	if (present && v != UDC_BOUND_INF)
		fprintf(f, "%lld", (long long)v);
}

static void
csv_fig(FILE *f, char sep, const struct udc_ind_fig *g)
{
	int iv = g->has_interval;

	csv_num(f, sep, g->share, 4, UDC_ROUND_NEAREST, g->state == UDC_IND_RELEASED);
	csv_num(f, sep, g->lo, 4, UDC_ROUND_DOWN, iv);
	csv_num(f, sep, g->hi, 4, UDC_ROUND_UP, iv);
}

int
udc_report_csv(const struct udc_indicators *x, char sep, FILE *f)
{
	static const char *const cols[] = {
	    "indicator", "code", "name", "numerator", "numerator_low", "numerator_high",
	    "denominator", "denominator_low", "denominator_high", "share", "share_low", "share_high",
	    "suppressed", "state"};
	static const char *const ccols[] = {
	    "share_earlier", "share_earlier_low", "share_earlier_high", "change", "change_low",
	    "change_high", "comparable"};

	if (sep != ';' && sep != ',')
		return UDC_EINVAL;
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		fprintf(f, "%s%s", i ? (sep == ';' ? ";" : ",") : "", cols[i]);
	if (x->old != NULL)
		for (size_t i = 0; i < sizeof(ccols) / sizeof(ccols[0]); i++)
			fprintf(f, "%c%s", sep, ccols[i]);
	fputs("\r\n", f);
	for (size_t i = 0; i < x->n; i++) {
		const struct udc_ind *ind = &x->ind[i];

		for (size_t a = 0; a < ind->nrows; a++) {
			const struct udc_ind_row *r = &ind->rows[a];
			const struct udc_ind_fig *g = &r->now;

			csv_text(f, ind->conf->name, sep);
			fputc(sep, f);
			csv_text(f, r->code ? r->code : "", sep);
			fputc(sep, f);
			csv_text(f, r->name, sep);
			csv_int(f, sep, (int64_t)g->num, g->num_released);
			csv_int(f, sep, g->num_lo, 1);
			csv_int(f, sep, g->num_hi, 1);
			csv_int(f, sep, (int64_t)g->den, g->den_released);
			csv_int(f, sep, g->den_lo, 1);
			csv_int(f, sep, g->den_hi, 1);
			csv_fig(f, sep, g);
			fprintf(f, "%c%d%c%s", sep, !(g->num_released && g->den_released), sep,
			        udc_ind_state_name(g->state));
			if (x->old != NULL) {
				if (ind->comparable)
					csv_fig(f, sep, &r->old);
				else
					fprintf(f, "%c%c%c", sep, sep, sep);
				csv_num(f, sep, r->change, 4, UDC_ROUND_NEAREST, r->change_known);
				csv_num(f, sep, r->change_lo, 4, UDC_ROUND_DOWN, r->has_change);
				csv_num(f, sep, r->change_hi, 4, UDC_ROUND_UP, r->has_change);
				fprintf(f, "%c%d", sep, ind->comparable);
			}
			fputs("\r\n", f);
		}
	}
	return ferror(f) ? UDC_EIO : 0;
}

static json_t *
jcount(int64_t v, int present)
{
	return present && v != UDC_BOUND_INF ? json_integer((json_int_t)v) : json_null();
}

static json_t *
jfig(const struct udc_ind_fig *g)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o}", "state",
	    udc_ind_state_name(g->state), "numerator", jcount((int64_t)g->num, g->num_released),
	    "numerator_low", jcount(g->num_lo, 1), "numerator_high", jcount(g->num_hi, 1),
	    "denominator", jcount((int64_t)g->den, g->den_released), "denominator_low",
	    jcount(g->den_lo, 1), "denominator_high", jcount(g->den_hi, 1), "suppressed",
	    !(g->num_released && g->den_released), "share",
	    g->state == UDC_IND_RELEASED ? json_real(g->share) : json_null(), "share_low",
	    g->has_interval ? json_real(g->lo) : json_null(), "share_high",
	    g->has_interval ? json_real(g->hi) : json_null());
}

static json_t *
jsel(const struct udc_rconf_sel *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < s->n; i++)
		json_object_set_new(o, s->dim[i], json_string(s->val[i]));
	return o;
}

static json_t *
jround(const struct udc_release *r, const struct udc_ind_round *rd)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:b}", "round_id", r->round_id,
	    "spec_name", r->spec_name, "spec_hash", r->spec_hash, "finished", r->finished,
	    "rounding_bound", (json_int_t)rd->round_slack, "noise_bound_95",
	    (json_int_t)rd->noise_bound, "propagated", rd->propagated, "converged", rd->converged);
}

char *
udc_report_json(const struct udc_indicators *x)
{
	json_t *root = json_object(), *inds = json_array();
	char *txt;

	json_object_set_new(root, "title", json_string(x->conf->title));
	json_object_set_new(root, "area", json_string(x->conf->area));
	json_object_set_new(root, "round_id", json_string(x->rel->round_id));
	json_object_set_new(root, "spec_name", json_string(x->rel->spec_name));
	json_object_set_new(root, "spec_hash", json_string(x->rel->spec_hash));
	json_object_set_new(root, "earlier_round_id",
	                    x->old ? json_string(x->old->round_id) : json_null());
	json_object_set_new(root, "intervals",
	    json_string("numerator_low..numerator_high and denominator_low..denominator_high hold "
	    "the count for certain, from the released cells of the same table (every line: total "
	    "= sum of its cells), with rounding's bound, and with noise whenever every released "
	    "cell of the table is within noise_bound_95 of its value before noise (probability "
	    "at least 95%); share_low..share_high is the range of numerator / denominator over "
	    "those intervals; change_low..change_high the difference of two such ranges; null "
	    "high: no upper bound"));
	for (size_t i = 0; i < x->n; i++) {
		const struct udc_ind *ind = &x->ind[i];
		json_t *o = json_object(), *vals = json_array();

		json_object_set_new(o, "name", json_string(ind->conf->name));
		json_object_set_new(o, "title", json_string(ind->conf->title));
		json_object_set_new(o, "table", json_string(ind->table->name));
		json_object_set_new(o, "numerator", jsel(&ind->conf->num));
		json_object_set_new(o, "denominator", jsel(&ind->conf->den));
		json_object_set_new(o, "description", ind->conf->description
		    ? json_string(ind->conf->description) : json_null());
		json_object_set_new(o, "round", jround(x->rel, &ind->rnow));
		if (ind->compare) {
			json_object_set_new(o, "comparable", json_boolean(ind->comparable));
			json_object_set_new(o, "incomparable_reason", ind->comparable ? json_null()
			    : json_string(ind->incomparable));
			if (ind->comparable)
				json_object_set_new(o, "earlier_round", jround(x->old, &ind->rold));
		}
		for (size_t a = 0; a < ind->nrows; a++) {
			const struct udc_ind_row *r = &ind->rows[a];
			json_t *v = jfig(&r->now);

			json_object_set_new(v, "code", r->code ? json_string(r->code) : json_null());
			json_object_set_new(v, "name", json_string(r->name));
			if (ind->compare && ind->comparable) {
				json_object_set_new(v, "earlier", jfig(&r->old));
				json_object_set_new(v, "change", r->change_known ? json_real(r->change)
				    : json_null());
				json_object_set_new(v, "change_low", r->has_change
				    ? json_real(r->change_lo) : json_null());
				json_object_set_new(v, "change_high", r->has_change
				    ? json_real(r->change_hi) : json_null());
			}
			json_array_append_new(vals, v);
		}
		json_object_set_new(o, "values", vals);
		json_array_append_new(inds, o);
	}
	json_object_set_new(root, "indicators", inds);
	txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(root);
	return txt;
}

/* What a file writer does: fill f. */
enum what { W_HTML, W_CSV, W_JSON };

static int
fill(enum what w, const struct udc_indicators *x, const struct udc_geomap *map,
     const struct udc_report_opts *o, FILE *f)
{
	char *txt;
	int rv;

	switch (w) {
	case W_HTML:
		return udc_report_html(x, map, o->generator, f);
	case W_CSV:
		return udc_report_csv(x, o->csv_sep ? o->csv_sep : ';', f);
	case W_JSON:
		if ((txt = udc_report_json(x)) == NULL)
			return UDC_ENOMEM;
		rv = fputs(txt, f) == EOF || fputc('\n', f) == EOF ? UDC_EIO : 0;
		free(txt);
		return rv;
	}
	return UDC_EINVAL;
}

/* OUTDIR/name, written under a temporary name and renamed into place when
 * complete. */
static int
write_file(const char *dir, const char *name, enum what w, const struct udc_indicators *x,
           const struct udc_geomap *map, const struct udc_report_opts *o, char *path,
           size_t pathlen, char *err, size_t errlen)
{
	struct udc_afile af;
	FILE *f;
	int rv;

	if ((size_t)snprintf(path, pathlen, "%s/%s", dir, name) >= pathlen) {
		snprintf(err, errlen, "%s: path too long", dir);
		return UDC_EINVAL;
	}
	if ((rv = udc_afile_begin(&af, AT_FDCWD, path, NULL, 0644, 0, err, errlen)) != 0)
		return rv;
	if ((f = udc_afile_stream(&af)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		udc_afile_discard(&af);
		return UDC_ENOMEM;
	}
	if ((rv = fill(w, x, map, o, f)) != 0) {
		snprintf(err, errlen, "%s: %s", path, udc_strerror(rv));
		udc_afile_discard(&af);
		return rv;
	}
	return udc_afile_commit(&af, err, errlen);
}

int
udc_report_write(const struct udc_report_opts *o, char *html, size_t htmllen,
                 enum udc_report_stage *stage, char *err, size_t errlen)
{
	struct udc_rconf *conf = NULL;
	struct udc_geomap *map = NULL;
	struct udc_release *rel = NULL, *old = NULL;
	struct udc_indicators *x = NULL;
	enum udc_report_stage st = UDC_REPORT_STAGE_NONE;
	char path[4096];
	int rv;

	if (errlen > 0)
		err[0] = '\0';
	if ((o->old_csv == NULL) != (o->old_json == NULL) ||
	    (o->csv_sep != 0 && o->csv_sep != ';' && o->csv_sep != ',')) {
		snprintf(err, errlen, "the earlier round needs both result.csv and result.json, and "
		         "the separator must be ; or ,");
		rv = UDC_EINVAL;
		goto out;
	}
	st = UDC_REPORT_STAGE_CONFIG;
	if ((rv = udc_rconf_load(&conf, o->config, err, errlen)) != 0)
		goto out;
	if (conf->map != NULL &&
	    (rv = udc_geomap_read(&map, conf->map, conf->map_code, conf->map_name, err, errlen)) != 0)
		goto out;
	st = UDC_REPORT_STAGE_RELEASE;
	if ((rv = udc_release_read(&rel, o->csv, o->json, err, errlen)) != 0)
		goto out;
	if (o->old_csv != NULL &&
	    (rv = udc_release_read(&old, o->old_csv, o->old_json, err, errlen)) != 0)
		goto out;
	rv = udc_indicators_compute(&x, conf, rel, old, map, err, errlen);
	if (rv == UDC_EINVAL)
		st = UDC_REPORT_STAGE_CONFIG;
	if (rv != 0)
		goto out;
	st = UDC_REPORT_STAGE_OUTPUT;
	if (mkdir(o->outdir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", o->outdir, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if ((rv = write_file(o->outdir, "indicators.csv", W_CSV, x, map, o, path, sizeof(path),
	                     err, errlen)) != 0 ||
	    (rv = write_file(o->outdir, "indicators.json", W_JSON, x, map, o, path, sizeof(path),
	                     err, errlen)) != 0 ||
	    (rv = write_file(o->outdir, "report.html", W_HTML, x, map, o, path, sizeof(path), err,
	                     errlen)) != 0)
		goto out;
	if (html != NULL && htmllen > 0)
		snprintf(html, htmllen, "%s", path);
	st = UDC_REPORT_STAGE_NONE;
	rv = 0;
out:
	if (stage != NULL)
		*stage = rv ? st : UDC_REPORT_STAGE_NONE;
	udc_indicators_free(x);
	udc_release_free(old);
	udc_release_free(rel);
	udc_geomap_free(map);
	udc_rconf_free(conf);
	return rv;
}
