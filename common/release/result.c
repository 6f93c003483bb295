/*
 * result.c - result documents and wire conversions of tables and reports.
 */
#define _GNU_SOURCE
#include "result.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "fields.h"
#include "normalize.h"

static void
iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
stats_json(const char *name, const struct udc_input_stats *st, const struct udc_spec *spec, int side)
{
	json_t *o = json_object(), *rej = json_object(), *inv = json_object();
	json_t *miss = json_object(), *dup = json_object(), *lab = json_object();
	json_t *why = json_object(), *over = json_array();
	const struct udc_fieldset *fs = udc_input_fieldset(spec);
	uint64_t total = 0;

	for (int r = 0; r < UDC_REJ_MAX; r++) {
		json_object_set_new(rej, udc_reject_name(r), json_integer((json_int_t)st->rejected[r]));
		total += st->rejected[r];
	}
	for (size_t f = 0; f < fs->n; f++) {
		json_t *byr;

		if (st->over_limit & (1u << f))
			json_array_append_new(over, json_string(fs->f[f].name));
		if (!st->invalid[f])
			continue;
		json_object_set_new(inv, fs->f[f].name, json_integer((json_int_t)st->invalid[f]));
		byr = json_object();
		for (int r = 0; r < UDC_NORM_NREASONS; r++)
			if (st->invalid_why[f][r])
				json_object_set_new(byr, udc_norm_reason_key(r),
				                    json_integer((json_int_t)st->invalid_why[f][r]));
		json_object_set_new(why, fs->f[f].name, byr);
	}
	for (size_t j = 0; j < spec->nkeys; j++) {
		json_object_set_new(miss, spec->keys[j].name, json_integer((json_int_t)st->key_missing[j]));
		json_object_set_new(dup, spec->keys[j].name, json_integer((json_int_t)st->key_duplicate[j]));
	}
	for (size_t d = 0; d < spec->ndims[side]; d++)
		if (st->label_rejected[d])
			json_object_set_new(lab, spec->dims[side][d].name,
			    json_integer((json_int_t)st->label_rejected[d]));
	json_object_set_new(o, "node", json_string(name));
	json_object_set_new(o, "rows_read", json_integer((json_int_t)st->rows));
	json_object_set_new(o, "records_used", json_integer((json_int_t)st->accepted));
	json_object_set_new(o, "rows_rejected", json_integer((json_int_t)total));
	json_object_set_new(o, "rejected_by_reason", rej);
	json_object_set_new(o, "label_not_allowed_by_dimension", lab);
	json_object_set_new(o, "invalid_values_by_field", inv);
	json_object_set_new(o, "invalid_values_by_field_and_reason", why);
	json_object_set_new(o, "fields_over_limit_allowed", over);
	json_object_set_new(o, "key_missing", miss);
	json_object_set_new(o, "key_duplicate", dup);
	return o;
}

static json_t *
labels_json(const struct udc_spec *spec, int side, size_t cell)
{
	size_t idx[UDC_MAX_DIMS];
	json_t *o = json_object();

	udc_spec_cell_split(spec, side, cell, idx);
	for (size_t d = 0; d < spec->ndims[side]; d++)
		json_object_set_new(o, spec->dims[side][d].name,
		    json_string(spec->dims[side][d].values[idx[d]]));
	return o;
}

static json_t *
entry(json_t *g, json_t *c, uint64_t count, int supp)
{
	json_t *o = json_object();
	if (g)
		json_object_set_new(o, "gemeente", g);
	if (c)
		json_object_set_new(o, "cbs", c);
	json_object_set_new(o, "count", supp ? json_null() : json_integer((json_int_t)count));
	json_object_set_new(o, "suppressed", json_boolean(supp));
	return o;
}

static const char *
blocking_name(int b)
{
	switch (b) {
	case UDC_FUZZY_LSH:
		return "lsh";
	case UDC_FUZZY_EXHAUSTIVE:
		return "every pair";
	case UDC_FUZZY_JOIN:
		return "feature join";
	}
	return "none";
}

static json_t *
milli(uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u.%03u", v / 1000, v % 1000);
	return json_string(s);
}

/* The matcher and the estimated precision/recall curve, into the linkage
 * report of the metadata. */
static void
linkage_json(json_t *fz, const struct udc_linkage_report *r)
{
	json_t *mt = json_object(), *est = json_object(), *curve = json_array();

	json_object_set_new(fz, "threshold", milli(r->threshold));
	json_object_set_new(fz, "threshold_auto", json_boolean(r->threshold_auto));
	if (r->threshold_auto)
		json_object_set_new(fz, "target_precision", milli(r->target_precision));
	json_object_set_new(mt, "blocking", json_string(blocking_name(r->stats.blocking)));
	json_object_set_new(mt, "gemeente_records", json_integer((json_int_t)r->fuzzy_a));
	json_object_set_new(mt, "cbs_records", json_integer((json_int_t)r->fuzzy_b));
	json_object_set_new(mt, "pairs_compared", json_integer((json_int_t)r->stats.compared));
	json_object_set_new(mt, "pairs_total", json_integer((json_int_t)r->stats.pairs_total));
	json_object_set_new(mt, "seconds_index", json_real(r->stats.secs_index));
	json_object_set_new(mt, "seconds_score", json_real(r->stats.secs_score));
	json_object_set_new(mt, "seconds_resolve", json_real(r->stats.secs_resolve));
	json_object_set_new(mt, "seconds_model", json_real(r->secs_model));
	json_object_set_new(fz, "matcher", mt);
	json_object_set_new(est, "best_match_scores", json_integer((json_int_t)r->model_sample));
	if (r->model_sample > 0) {
		json_object_set_new(est, "non_match_model",
		                    json_string(r->model_gumbel ? "gumbel" : "beta"));
		json_object_set_new(est, "match_share", json_real(r->model_match_share));
		json_object_set_new(est, "precision_at_threshold", json_real(r->est_precision));
		json_object_set_new(est, "recall_at_threshold", json_real(r->est_recall));
		for (size_t k = 0; k < r->ncurve; k++)
			json_array_append_new(
			    curve, json_pack("{s:o, s:f, s:f, s:f}", "threshold", milli(r->curve_t[k]),
			                     "precision", r->curve_p[k], "recall", r->curve_r[k],
			                     "precision_low", r->curve_p_low[k]));
	}
	json_object_set_new(est, "curve", curve);
	json_object_set_new(fz, "estimated", est);
}

/* The margins leave out rejected rows: said per margin, so no one reads a
 * rejected row as a person the other side does not reach. */
static json_t *
margins_json(const struct udc_result_meta *m)
{
	uint64_t gr = 0, cr = 0;
	char g[320], c[320];

	for (int r = 0; r < UDC_REJ_MAX; r++) {
		gr += m->g.rejected[r];
		cr += m->c.rejected[r];
	}
	snprintf(g, sizeof(g), "gemeente records not linked; leaves out the %llu gemeente rows that "
	    "input validation rejected (gemeente_input.rejected_by_reason)", (unsigned long long)gr);
	snprintf(c, sizeof(c), "CBS records not linked; leaves out the %llu CBS rows that input "
	    "validation rejected (cbs_input.rejected_by_reason)", (unsigned long long)cr);
	return json_pack("{s:{s:s, s:I}, s:{s:s, s:I}}", "gemeente_only", "counts", g,
	    "rows_rejected_not_counted", (json_int_t)gr, "cbs_only", "counts", c,
	    "rows_rejected_not_counted", (json_int_t)cr);
}

static json_t *
meta_json(const struct udc_result_meta *m)
{
	const struct udc_spec *spec = m->spec;
	json_t *meta = json_object(), *links = json_array();
	char ts[32], te[32];
	uint64_t total = 0;

	iso_time(m->started, ts);
	iso_time(m->finished, te);
	for (size_t j = 0; j < spec->nkeys; j++) {
		json_array_append_new(links, json_pack("{s:i, s:s, s:I}", "key_index", (int)j, "key",
		    spec->keys[j].name, "links", (json_int_t)m->links_per_key[j]));
		total += m->links_per_key[j];
	}
	json_object_set_new(meta, "round_id", json_string(m->round_id));
	json_object_set_new(meta, "spec_name", json_string(spec->name));
	json_object_set_new(meta, "spec_hash", json_string(m->spec_hash));
	json_object_set_new(meta, "started", json_string(ts));
	json_object_set_new(meta, "finished", json_string(te));
	json_object_set_new(meta, "mode", json_string(spec->mode == UDC_MODE_FUZZY ? "fuzzy"
	    : spec->mode == UDC_MODE_COMBINED ? "combined" : "exact"));
	json_object_set_new(meta, "signer", json_string(m->signer));
	json_object_set_new(meta, "min_cell", json_integer(spec->min_cell));
	json_object_set_new(meta, "suppressed_entries", json_integer((json_int_t)m->suppressed));
	json_object_set_new(meta, "disclosure_control", json_string(m->release_note));
	if (spec->round_base)
		json_object_set_new(meta, "round_base", json_integer(spec->round_base));
	if (spec->eps_num) {
		char eps[48];
		snprintf(eps, sizeof(eps), "%u/%u", spec->eps_num, spec->eps_den);
		json_object_set_new(meta, "noise_epsilon_per_entry", json_string(eps));
	}
	json_object_set_new(meta, "links_total", json_integer((json_int_t)(total + m->fuzzy_links)));
	json_object_set_new(meta, "links_per_key", links);
	if (udc_spec_fuzzy(spec)) {
		/* The linkage report: how close the fuzzy links were, so an
		 * operator can judge the threshold without seeing a person. */
		json_t *fz = json_object(), *bands = json_array();
		char thr[16];
		snprintf(thr, sizeof(thr), "%u.%03u", spec->threshold / 1000, spec->threshold % 1000);
		json_object_set_new(fz, "threshold", json_string(thr));
		json_object_set_new(fz, "scoring",
		    json_string(spec->scoring == UDC_SCORING_FIELDS ? "fields" : "record"));
		json_object_set_new(fz, "balanced", json_boolean(spec->balance));
		json_object_set_new(fz, "links", json_integer((json_int_t)m->fuzzy_links));
		for (int b = 0; b < 4; b++) {
			char from[16], to[16];
			snprintf(from, sizeof(from), "%u.%03u", m->band_lo[b] / 1000, m->band_lo[b] % 1000);
			snprintf(to, sizeof(to), "%u.%03u", m->band_lo[b + 1] / 1000, m->band_lo[b + 1] % 1000);
			json_array_append_new(bands, json_pack("{s:s, s:s, s:I}", "from", from, "to", to,
			    "links", (json_int_t)m->fuzzy_bands[b]));
		}
		json_object_set_new(fz, "links_per_similarity_band", bands);
		if (m->has_linkage)
			linkage_json(fz, &m->linkage);
		json_object_set_new(meta, "fuzzy", fz);
	}
	json_object_set_new(meta, "gemeente_input", stats_json(m->gemeente_name, &m->g, spec, 0));
	json_object_set_new(meta, "cbs_input", stats_json(m->cbs_name, &m->c, spec, 1));
	json_object_set_new(meta, "margins", margins_json(m));
	return meta;
}

/* One entry, compact, after a separator. */
static int
put_entry(FILE *f, int first, json_t *e)
{
	int rv = e != NULL && fputs(first ? "\n  " : ",\n  ", f) != EOF &&
	    json_dumpf(e, f, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 ? 0 : UDC_EIO;

	json_decref(e);
	return rv;
}

int
udc_result_write_json(const struct udc_result_meta *m, const struct udc_table *t, FILE *f)
{
	const struct udc_spec *spec = m->spec;
	json_t *meta = meta_json(m);
	int rv = UDC_EIO;

	/* Streamed entry by entry: a table of millions of cells never becomes
	 * one tree in memory. */
	if (meta == NULL || fputs("{\n \"metadata\": ", f) == EOF ||
	    json_dumpf(meta, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputs(",\n \"linked\": [", f) == EOF)
		goto out;
	for (size_t g = 0; g < t->ngroups; g++)
		for (size_t c = 0; c < t->ncats; c++) {
			size_t k = g * t->ncats + c;
			if (put_entry(f, k == 0, entry(labels_json(spec, 0, g), labels_json(spec, 1, c),
			    t->cells[k], t->cell_supp[k])) != 0)
				goto out;
		}
	if (fputs("\n ],\n \"gemeente_only\": [", f) == EOF)
		goto out;
	for (size_t g = 0; g < t->ngroups; g++)
		if (put_entry(f, g == 0, entry(labels_json(spec, 0, g), NULL, t->g_unlinked[g],
		    t->g_supp[g])) != 0)
			goto out;
	if (fputs("\n ],\n \"cbs_only\": [", f) == EOF)
		goto out;
	for (size_t c = 0; c < t->ncats; c++)
		if (put_entry(f, c == 0, entry(NULL, labels_json(spec, 1, c), t->c_unlinked[c],
		    t->c_supp[c])) != 0)
			goto out;
	if (fputs("\n ]\n}\n", f) == EOF)
		goto out;
	rv = 0;
out:
	json_decref(meta);
	return rv;
}

/* How the sums of table t are estimated (docs/governance.md, "Magnitudes"):
 * the method, the groups, the group table and, per combination of the
 * table's CBS categories (a cell whose gemeente dimensions are all totals
 * stands for it), the mean of each group. */
static json_t *
estimate_json(const struct udc_spec *spec, const struct udc_linked *l, size_t t)
{
	const struct udc_tablespec *ts = &spec->tables[t];
	const struct udc_attr *at = &spec->attrs[ts->sum];
	json_t *o = json_object(), *means = json_array();
	size_t n = udc_linked_ncells(l, t), coords[UDC_MAX_TABLE_DIMS];
	uint64_t gm[UDC_SPEC_MAX_GROUPS];
	uint8_t def[UDC_SPEC_MAX_GROUPS];

	json_object_set_new(o, "method", json_string("group_mean"));
	json_object_set_new(o, "note", json_string("sum_estimate = sum over groups of the released "
	    "count of the cell in the group and the group's mean over the whole CBS input; "
	    "exact sums are not computed (the CBS node does not learn which of its records linked)"));
	json_object_set_new(o, "groups", json_integer((json_int_t)at->groups));
	json_object_set_new(o, "group_dimension", json_string(spec->dims[UDC_SIDE_CBS][at->gdim].name));
	json_object_set_new(o, "group_table", json_string(spec->tables[ts->gtable - 1].name));
	for (size_t k = 0; k < n; k++) {
		json_t *e, *cats, *ms;
		int whole = 1;

		udc_linked_coords(l, t, k, coords);
		for (size_t i = 0; i < ts->ndims; i++)
			if (ts->dims[i].ref.side == UDC_SIDE_GEMEENTE && coords[i] != ts->dims[i].ncats)
				whole = 0;
		if (!whole || udc_linked_group_means(l, t, k, gm, def) != 0)
			continue;
		cats = json_object();
		for (size_t i = 0; i < ts->ndims; i++)
			if (ts->dims[i].ref.side == UDC_SIDE_CBS)
				json_object_set_new(cats, udc_dimref_name(spec, &ts->dims[i].ref),
				    json_string(coords[i] == ts->dims[i].ncats ? "" :
				    udc_dimref_value(spec, &ts->dims[i].ref, ts->dims[i].cats[coords[i]])));
		ms = json_array();
		for (unsigned g = 0; g < at->groups; g++)
			json_array_append_new(ms, def[g] ? json_integer((json_int_t)gm[g]) : json_null());
		e = json_pack("{s:o, s:o}", "categories", cats, "group_means", ms);
		json_array_append_new(means, e);
	}
	json_object_set_new(o, "means", means);
	return o;
}

static json_t *
table_json(const struct udc_spec *spec, const struct udc_linked *l, size_t t)
{
	const struct udc_tablespec *ts = &spec->tables[t];
	json_t *o = json_object(), *dims = json_array(), *where = json_object();
	size_t n = udc_linked_ncells(l, t), supp = 0, sum_supp = 0;

	for (size_t i = 0; i < ts->ndims; i++) {
		json_t *cats = json_array();

		for (size_t k = 0; k < ts->dims[i].ncats; k++)
			json_array_append_new(cats, json_string(udc_dimref_value(spec, &ts->dims[i].ref,
			    ts->dims[i].cats[k])));
		json_array_append_new(dims, json_pack("{s:s, s:s, s:o}", "name",
		    udc_dimref_name(spec, &ts->dims[i].ref), "side",
		    ts->dims[i].ref.side == UDC_SIDE_GEMEENTE ? "gemeente" : "cbs", "categories", cats));
	}
	for (size_t i = 0; i < ts->nwhere; i++) {
		json_t *vals = json_array();
		size_t nv = udc_dimref_nvalues(spec, &ts->where[i].dim);

		for (size_t v = 0; v < nv; v++)
			if (ts->where[i].allowed[v])
				json_array_append_new(vals, json_string(udc_dimref_value(spec,
				    &ts->where[i].dim, v)));
		json_object_set_new(where, udc_dimref_name(spec, &ts->where[i].dim), vals);
	}
	for (size_t k = 0; k < n; k++) {
		struct udc_linked_cell c;

		udc_linked_get(l, t, k, &c);
		supp += c.suppressed;
		sum_supp += c.has_sum && c.sum_suppressed;
	}
	json_object_set_new(o, "name", json_string(ts->name));
	json_object_set_new(o, "population", json_string(udc_population_name(ts->pop)));
	json_object_set_new(o, "dimensions", dims);
	json_object_set_new(o, "where", where);
	if (ts->sum >= 0) {
		json_object_set_new(o, "sum", json_string(spec->attrs[ts->sum].name));
		json_object_set_new(o, "mean", json_boolean(ts->mean));
		json_object_set_new(o, "sums_suppressed", json_integer((json_int_t)sum_supp));
		if (udc_linked_estimated(l, t))
			json_object_set_new(o, "estimate", estimate_json(spec, l, t));
	}
	if (ts->generated_for)
		json_object_set_new(o, "groups_of", json_string(spec->tables[ts->generated_for - 1].name));
	json_object_set_new(o, "zeros_sensitive", json_boolean(ts->zeros_sensitive));
	json_object_set_new(o, "cells", json_integer((json_int_t)n));
	json_object_set_new(o, "suppressed", json_integer((json_int_t)supp));
	return o;
}

int
udc_result_write_json_linked(const struct udc_result_meta *m, const struct udc_linked *l,
    const struct udc_linked_report *rep, FILE *f)
{
	const struct udc_spec *spec = m->spec;
	json_t *root = json_object(), *tables = json_array(), *dc;
	char charged[64];
	int rv;

	for (size_t t = 0; t < udc_linked_ntables(l); t++)
		json_array_append_new(tables, table_json(spec, l, t));
	snprintf(charged, sizeof(charged), "%llu/%llu", (unsigned long long)rep->charged.num,
	    (unsigned long long)(rep->charged.den ? rep->charged.den : 1));
	/* What the reader may know: the rules, how many cells, whether a
	 * suppressed count may be 0.  Not how many were suppressed for which
	 * reason (small, zero, difference, secondary): the protection does not
	 * allow for a reader who knows that. */
	dc = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:b, s:b, s:I, s:s}",
	    "min_cell", (int)spec->min_cell, "protection", (int)spec->protection,
	    "min_contributors", (int)spec->min_contributors, "p_percent", (int)spec->p_percent,
	    "cells", (json_int_t)rep->cells, "distinct_cells", (json_int_t)rep->distinct,
	    "distinct_suppressed", (json_int_t)(rep->primary + rep->secondary),
	    "suppressed_may_be_zero", rep->lb == 0, "two_way_certified", rep->two_way,
	    "sensitivity", (json_int_t)rep->sensitivity, "epsilon_charged", charged);
	json_object_set_new(root, "metadata", meta_json(m));
	json_object_set_new(root, "disclosure", dc);
	json_object_set_new(root, "tables", tables);
	json_object_set_new(root, "format",
	    json_string("result.csv: one row per cell of every table; a column per dimension of any "
	    "table, empty where the row is not split by it (a total, or not a dimension of the "
	    "table); count empty where suppressed"));
	rv = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', f) != EOF
	    ? 0 : UDC_EIO;
	json_decref(root);
	return rv;
}

int
udc_report_to_proto(const struct udc_input_stats *st, const struct udc_spec *spec,
    Udc__InputReport *out)
{
	const struct udc_fieldset *fs = udc_input_fieldset(spec);
	size_t nkeys = spec->nkeys, nchk = 0, nover = 0;

	udc__input_report__init(out);
	out->rows = st->rows;
	out->accepted = st->accepted;
	out->n_reject_reason = out->n_reject_count = UDC_REJ_MAX;
	out->reject_reason = calloc(UDC_REJ_MAX, sizeof(char *));
	out->reject_count = calloc(UDC_REJ_MAX, sizeof(uint64_t));
	out->n_key_missing = out->n_key_duplicate = nkeys;
	out->key_missing = calloc(nkeys ? nkeys : 1, sizeof(uint64_t));
	out->key_duplicate = calloc(nkeys ? nkeys : 1, sizeof(uint64_t));
	for (size_t f = 0; f < fs->n; f++) {
		nover += (st->over_limit >> f) & 1;
		for (int r = 0; r < UDC_NORM_NREASONS; r++)
			nchk += st->invalid_why[f][r] != 0;
	}
	out->invalid_values = calloc(nchk ? nchk : 1, sizeof(*out->invalid_values));
	out->fields_over_limit = calloc(nover ? nover : 1, sizeof(char *));
	if (!out->reject_reason || !out->reject_count || !out->key_missing || !out->key_duplicate ||
	    !out->invalid_values || !out->fields_over_limit) {
		udc_report_proto_free(out);
		return UDC_ENOMEM;
	}
	for (int r = 0; r < UDC_REJ_MAX; r++) {
		out->reject_reason[r] = (char *)udc_reject_name(r);
		out->reject_count[r] = st->rejected[r];
	}
	for (size_t j = 0; j < nkeys; j++) {
		out->key_missing[j] = st->key_missing[j];
		out->key_duplicate[j] = st->key_duplicate[j];
	}
	for (size_t f = 0; f < fs->n; f++) {
		if (st->over_limit & (1u << f))
			out->fields_over_limit[out->n_fields_over_limit++] = (char *)fs->f[f].name;
		for (int r = 0; r < UDC_NORM_NREASONS; r++) {
			Udc__FieldCheck *c;

			if (st->invalid_why[f][r] == 0)
				continue;
			if ((c = malloc(sizeof(*c))) == NULL) {
				udc_report_proto_free(out);
				return UDC_ENOMEM;
			}
			udc__field_check__init(c);
			c->field = (char *)fs->f[f].name;
			c->reason = (char *)udc_norm_reason_key(r);
			c->count = st->invalid_why[f][r];
			out->invalid_values[out->n_invalid_values++] = c;
		}
	}
	return 0;
}

void
udc_report_proto_free(Udc__InputReport *r)
{
	free(r->reject_reason);
	free(r->reject_count);
	free(r->key_missing);
	free(r->key_duplicate);
	if (r->invalid_values != NULL)
		for (size_t i = 0; i < r->n_invalid_values; i++)
			free(r->invalid_values[i]);
	free(r->invalid_values);
	free(r->fields_over_limit);
	r->reject_reason = NULL;
	r->reject_count = r->key_missing = r->key_duplicate = NULL;
	r->invalid_values = NULL;
	r->fields_over_limit = NULL;
	r->n_invalid_values = r->n_fields_over_limit = 0;
}

int
udc_report_from_proto(const Udc__InputReport *r, const struct udc_spec *spec,
    struct udc_input_stats *st, char *err, size_t errlen)
{
	const struct udc_fieldset *fs = udc_input_fieldset(spec);
	size_t nkeys = spec->nkeys;

	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return 0;
	if (r->n_reject_reason != r->n_reject_count || r->n_reject_reason > UDC_REJ_MAX ||
	    r->n_key_missing > nkeys || r->n_key_duplicate > nkeys ||
	    r->n_invalid_values > (size_t)UDC_MAX_FIELDS * UDC_NORM_NREASONS ||
	    r->n_fields_over_limit > UDC_MAX_FIELDS) {
		snprintf(err, errlen, "input report with inconsistent array sizes");
		return UDC_EPROTO;
	}
	st->rows = r->rows;
	st->accepted = r->accepted;
	for (size_t i = 0; i < r->n_reject_reason; i++) {
		int k;
		for (k = 0; k < UDC_REJ_MAX; k++)
			if (strcmp(r->reject_reason[i], udc_reject_name(k)) == 0)
				break;
		if (k == UDC_REJ_MAX) {
			snprintf(err, errlen, "input report with an unknown reject reason");
			return UDC_EPROTO;
		}
		st->rejected[k] = r->reject_count[i];
	}
	for (size_t j = 0; j < r->n_key_missing; j++)
		st->key_missing[j] = r->key_missing[j];
	for (size_t j = 0; j < r->n_key_duplicate; j++)
		st->key_duplicate[j] = r->key_duplicate[j];
	for (size_t i = 0; i < r->n_invalid_values; i++) {
		const Udc__FieldCheck *c = r->invalid_values[i];
		int f = c && c->field ? udc_fieldset_find(fs, c->field) : -1;
		int why = c && c->reason ? udc_norm_reason_parse(c->reason) : -1;

		if (f < 0 || why <= UDC_NORM_MISSING) {
			snprintf(err, errlen, "input report with an unknown field or reason");
			return UDC_EPROTO;
		}
		/* counts of one field add up, whatever the peer sent */
		if (st->invalid_why[f][why] != 0 || c->count > st->rows) {
			snprintf(err, errlen, "input report with an inconsistent field count");
			return UDC_EPROTO;
		}
		st->invalid_why[f][why] = c->count;
		st->invalid[f] += c->count;
	}
	for (size_t i = 0; i < r->n_fields_over_limit; i++) {
		int f = r->fields_over_limit[i] ? udc_fieldset_find(fs, r->fields_over_limit[i]) : -1;

		if (f < 0) {
			snprintf(err, errlen, "input report with an unknown field");
			return UDC_EPROTO;
		}
		st->over_limit |= 1u << f;
	}
	return 0;
}

void
udc_linkage_log_line(const struct udc_linkage_report *r, char *buf, size_t len)
{
	int n = snprintf(buf, len,
	                 "fuzzy step %zu x %zu records: %llu links at threshold %u.%03u%s, "
	                 "blocking %s, %llu of %llu pairs compared; matcher %.2f s (index %.2f, "
	                 "score %.2f, resolve %.2f), model %.2f s",
	                 r->fuzzy_a, r->fuzzy_b, (unsigned long long)r->fuzzy_links,
	                 r->threshold / 1000, r->threshold % 1000,
	                 r->threshold_auto ? " (auto)" : "", blocking_name(r->stats.blocking),
	                 (unsigned long long)r->stats.compared,
	                 (unsigned long long)r->stats.pairs_total,
	                 r->stats.secs_index + r->stats.secs_score + r->stats.secs_resolve,
	                 r->stats.secs_index, r->stats.secs_score, r->stats.secs_resolve,
	                 r->secs_model);

	if (n > 0 && (size_t)n < len && r->model_sample > 0)
		n += snprintf(buf + n, len - (size_t)n,
		              "; estimated precision %.3f, recall %.3f there (%zu best-match scores)",
		              r->est_precision, r->est_recall, r->model_sample);
	/* what the blocking did, for tuning (docs/fuzzy.md, "Choice of P, k and L") */
	if (n > 0 && (size_t)n < len && r->stats.blocking == UDC_FUZZY_LSH &&
	    r->stats.lsh_tables > 0)
		snprintf(buf + n, len - (size_t)n,
		         "; lsh %u bits x %u tables (%.0f probed per record), design popcount %u, "
		         "outliers %zu + %zu, %llu candidates, %llu pruned by popcount",
		         r->stats.lsh_bits, r->stats.lsh_tables,
		         r->fuzzy_a > 0 ? (double)r->stats.lsh_lookups / (double)r->fuzzy_a : 0.0,
		         r->stats.design_popcount,
		         r->stats.outliers_a, r->stats.outliers_b,
		         (unsigned long long)r->stats.candidates,
		         (unsigned long long)r->stats.size_pruned);
}

static uint32_t
milli_of(json_t *v)
{
	const char *s = json_string_value(v);
	double x = s ? strtod(s, NULL) : 0.0;

	return x > 0.0 && x <= 1.0 ? (uint32_t)(x * 1000.0 + 0.5) : 0;
}

static size_t
count_of(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 ? (size_t)v : 0;
}

static double
secs_of(json_t *o, const char *k)
{
	double v = json_number_value(json_object_get(o, k));

	return v > 0.0 ? v : 0.0;
}

int
udc_linkage_log_line_json(const char *json, size_t len, char *buf, size_t buflen)
{
	struct udc_linkage_report r;
	json_t *root, *fz, *mt, *est;
	const char *b;
	int rv = -1;

	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return -1;
	fz = json_object_get(json_object_get(root, "metadata"), "fuzzy");
	if ((mt = json_object_get(fz, "matcher")) != NULL) {
		memset(&r, 0, sizeof(r));
		est = json_object_get(fz, "estimated");
		r.threshold = milli_of(json_object_get(fz, "threshold"));
		r.threshold_auto = json_is_true(json_object_get(fz, "threshold_auto"));
		r.fuzzy_links = count_of(fz, "links");
		b = json_string_value(json_object_get(mt, "blocking"));
		r.stats.blocking = !b                         ? -1
		                   : strcmp(b, "lsh") == 0          ? UDC_FUZZY_LSH
		                   : strcmp(b, "every pair") == 0   ? UDC_FUZZY_EXHAUSTIVE
		                   : strcmp(b, "feature join") == 0 ? UDC_FUZZY_JOIN
		                                                    : -1;
		r.fuzzy_a = count_of(mt, "gemeente_records");
		r.fuzzy_b = count_of(mt, "cbs_records");
		r.stats.compared = count_of(mt, "pairs_compared");
		r.stats.pairs_total = count_of(mt, "pairs_total");
		r.stats.secs_index = secs_of(mt, "seconds_index");
		r.stats.secs_score = secs_of(mt, "seconds_score");
		r.stats.secs_resolve = secs_of(mt, "seconds_resolve");
		r.secs_model = secs_of(mt, "seconds_model");
		r.model_sample = count_of(est, "best_match_scores");
		r.est_precision = json_number_value(json_object_get(est, "precision_at_threshold"));
		r.est_recall = json_number_value(json_object_get(est, "recall_at_threshold"));
		udc_linkage_log_line(&r, buf, buflen);
		rv = 0;
	}
	json_decref(root);
	return rv;
}
