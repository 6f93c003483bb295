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
	uint64_t total = 0;

	for (int r = 0; r < UDC_REJ_MAX; r++) {
		json_object_set_new(rej, udc_reject_name(r), json_integer((json_int_t)st->rejected[r]));
		total += st->rejected[r];
	}
	for (int f = 0; f < UDC_NFIELDS; f++)
		if (st->invalid[f])
			json_object_set_new(inv, udc_field_name(f), json_integer((json_int_t)st->invalid[f]));
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

char *
udc_result_json(const struct udc_result_meta *m, const struct udc_table *t)
{
	const struct udc_spec *spec = m->spec;
	json_t *root = json_object(), *meta = json_object(), *links = json_array();
	json_t *cells = json_array(), *gm = json_array(), *cm = json_array();
	char ts[32], te[32], *txt;
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
		json_object_set_new(meta, "fuzzy", fz);
	}
	json_object_set_new(meta, "gemeente_input", stats_json(m->gemeente_name, &m->g, spec, 0));
	json_object_set_new(meta, "cbs_input", stats_json(m->cbs_name, &m->c, spec, 1));
	for (size_t g = 0; g < t->ngroups; g++)
		for (size_t c = 0; c < t->ncats; c++) {
			size_t k = g * t->ncats + c;
			json_array_append_new(cells, entry(labels_json(spec, 0, g), labels_json(spec, 1, c),
			    t->cells[k], t->cell_supp[k]));
		}
	for (size_t g = 0; g < t->ngroups; g++)
		json_array_append_new(gm, entry(labels_json(spec, 0, g), NULL, t->g_unlinked[g], t->g_supp[g]));
	for (size_t c = 0; c < t->ncats; c++)
		json_array_append_new(cm, entry(NULL, labels_json(spec, 1, c), t->c_unlinked[c], t->c_supp[c]));
	json_object_set_new(root, "metadata", meta);
	json_object_set_new(root, "linked", cells);
	json_object_set_new(root, "gemeente_only", gm);
	json_object_set_new(root, "cbs_only", cm);
	txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return txt;
}

int
udc_result_csv(const struct udc_table *t, const struct udc_spec *spec, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int rv;

	if (f == NULL)
		return UDC_ENOMEM;
	rv = udc_table_write_csv(t, spec, f);
	if (fclose(f) != 0 && rv == 0)
		rv = UDC_EIO;
	if (rv != 0) {
		free(buf);
		return rv;
	}
	*out = buf;
	*len = n;
	return 0;
}

int
udc_report_to_proto(const struct udc_input_stats *st, size_t nkeys, Udc__InputReport *out)
{
	udc__input_report__init(out);
	out->rows = st->rows;
	out->accepted = st->accepted;
	out->n_reject_reason = out->n_reject_count = UDC_REJ_MAX;
	out->reject_reason = calloc(UDC_REJ_MAX, sizeof(char *));
	out->reject_count = calloc(UDC_REJ_MAX, sizeof(uint64_t));
	out->n_key_missing = out->n_key_duplicate = nkeys;
	out->key_missing = calloc(nkeys ? nkeys : 1, sizeof(uint64_t));
	out->key_duplicate = calloc(nkeys ? nkeys : 1, sizeof(uint64_t));
	if (!out->reject_reason || !out->reject_count || !out->key_missing || !out->key_duplicate) {
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
	return 0;
}

void
udc_report_proto_free(Udc__InputReport *r)
{
	free(r->reject_reason);
	free(r->reject_count);
	free(r->key_missing);
	free(r->key_duplicate);
	r->reject_reason = NULL;
	r->reject_count = r->key_missing = r->key_duplicate = NULL;
}

int
udc_report_from_proto(const Udc__InputReport *r, size_t nkeys, struct udc_input_stats *st,
    char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return 0;
	if (r->n_reject_reason != r->n_reject_count || r->n_reject_reason > UDC_REJ_MAX ||
	    r->n_key_missing > nkeys || r->n_key_duplicate > nkeys) {
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
	return 0;
}

void
udc_table_to_result(const struct udc_table *t, Udc__Result *r)
{
	r->ready = 1;
	r->ngroups = (uint32_t)t->ngroups;
	r->ncats = (uint32_t)t->ncats;
	r->n_cells = t->ngroups * t->ncats;
	r->cells = t->cells;
	r->n_g_unlinked = t->ngroups;
	r->g_unlinked = t->g_unlinked;
	r->n_c_unlinked = t->ncats;
	r->c_unlinked = t->c_unlinked;
	r->cell_supp.data = t->cell_supp;
	r->cell_supp.len = t->ngroups * t->ncats;
	r->g_supp.data = t->g_supp;
	r->g_supp.len = t->ngroups;
	r->c_supp.data = t->c_supp;
	r->c_supp.len = t->ncats;
}

int
udc_table_from_result(const Udc__Result *r, const struct udc_spec *spec, struct udc_table **out,
    char *err, size_t errlen)
{
	struct udc_table *t;
	size_t ng = spec->ncells[0], nc = spec->ncells[1];
	int rv;

	if (r->ngroups != ng || r->ncats != nc || r->n_cells != ng * nc || r->n_g_unlinked != ng ||
	    r->n_c_unlinked != nc || r->cell_supp.len != ng * nc || r->g_supp.len != ng ||
	    r->c_supp.len != nc) {
		snprintf(err, errlen, "result table does not have the spec's shape (%zu x %zu)", ng, nc);
		return UDC_EPROTO;
	}
	if ((rv = udc_table_new(&t, ng, nc)) != 0)
		return rv;
	memcpy(t->cells, r->cells, ng * nc * sizeof(uint64_t));
	memcpy(t->g_unlinked, r->g_unlinked, ng * sizeof(uint64_t));
	memcpy(t->c_unlinked, r->c_unlinked, nc * sizeof(uint64_t));
	for (size_t k = 0; k < ng * nc; k++)
		t->cell_supp[k] = r->cell_supp.data[k] != 0;
	for (size_t k = 0; k < ng; k++)
		t->g_supp[k] = r->g_supp.data[k] != 0;
	for (size_t k = 0; k < nc; k++)
		t->c_supp[k] = r->c_supp.data[k] != 0;
	*out = t;
	return 0;
}
