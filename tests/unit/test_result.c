/*
 * test_result.c - the round metadata's wire forms (common/release/result.c):
 * input reports with failed field checks survive the trip to the peer, a
 * peer's inconsistent report is refused, and the linkage report reaches the
 * released metadata.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "err.h"
#include "result.h"

static struct udc_spec *
mkspec(void)
{
	struct udc_spec *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	udc_fieldset_init(&s->fields);
	assert_int_equal(udc_fieldset_declare(&s->fields, "straat", "text", err, sizeof(err)), 0);
	s->nkeys = 1;
	return s;
}

static void
test_input_report(void **st)
{
	struct udc_spec *spec = mkspec();
	struct udc_input_stats in, out;
	Udc__InputReport r;
	uint8_t *buf;
	size_t len;
	Udc__InputReport *back;
	char err[256];
	int straat = udc_fieldset_find(&spec->fields, "straat");
	(void)st;

	memset(&in, 0, sizeof(in));
	in.rows = 100;
	in.accepted = 90;
	in.rejected[UDC_REJ_NO_KEY] = 10;
	in.invalid_why[UDC_F_POSTCODE][UDC_NORM_BAD_POSTCODE] = 7;
	in.invalid_why[UDC_F_POSTCODE][UDC_NORM_BAD_UTF8] = 1;
	in.invalid[UDC_F_POSTCODE] = 8;
	in.invalid_why[straat][UDC_NORM_BAD_TEXT] = 3;
	in.invalid[straat] = 3;
	in.over_limit = 1u << straat;
	assert_int_equal(udc_report_to_proto(&in, spec, &r), 0);
	assert_int_equal(r.n_invalid_values, 3);
	len = udc__input_report__get_packed_size(&r);
	assert_non_null(buf = malloc(len));
	udc__input_report__pack(&r, buf);
	udc_report_proto_free(&r);
	assert_non_null(back = udc__input_report__unpack(NULL, len, buf));
	assert_int_equal(udc_report_from_proto(back, spec, &out, err, sizeof(err)), 0);
	assert_int_equal(out.invalid[UDC_F_POSTCODE], 8);
	assert_int_equal(out.invalid_why[UDC_F_POSTCODE][UDC_NORM_BAD_POSTCODE], 7);
	assert_int_equal(out.invalid_why[straat][UDC_NORM_BAD_TEXT], 3);
	assert_int_equal(out.over_limit, 1u << straat);
	assert_int_equal(out.rejected[UDC_REJ_NO_KEY], 10);
	/* a field or reason the spec does not know, or a count above the rows
	 * (the unpacked strings are put back before they are freed) */
	char *field0 = back->invalid_values[0]->field, *reason0 = back->invalid_values[0]->reason;
	back->invalid_values[0]->field = "nonsense";
	assert_int_equal(udc_report_from_proto(back, spec, &out, err, sizeof(err)), UDC_EPROTO);
	back->invalid_values[0]->field = "postcode";
	back->invalid_values[0]->reason = "ok";
	assert_int_equal(udc_report_from_proto(back, spec, &out, err, sizeof(err)), UDC_EPROTO);
	back->invalid_values[0]->reason = "invalid_postcode";
	back->invalid_values[0]->count = 101;
	assert_int_equal(udc_report_from_proto(back, spec, &out, err, sizeof(err)), UDC_EPROTO);
	back->invalid_values[0]->field = field0;
	back->invalid_values[0]->reason = reason0;
	udc__input_report__free_unpacked(back, NULL);
	free(buf);
	free(spec);
}

/* The linkage report in the released metadata: the threshold the round
 * used, the matcher's times and the estimated curve. */
/* The result.json the node writes, as text (free it). */
static char *
json_text(const struct udc_result_meta *m, const struct udc_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(udc_result_write_json(m, t, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_linkage_json(void **st)
{
	static const char text[] = "[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a\n[cbs]\nc=x\n"
	                           "[fuzzy]\nschema=s.json\nthreshold = auto\n";
	struct udc_spec *spec = NULL;
	struct udc_table *t = NULL;
	struct udc_result_meta m;
	json_t *root, *fz, *curve;
	json_error_t jerr;
	char err[256], *txt;
	(void)st;

	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &spec, err, sizeof(err)), 0);
	assert_int_equal(udc_table_new(&t, spec->ncells[0], spec->ncells[1]), 0);
	memset(&m, 0, sizeof(m));
	m.spec = spec;
	m.fuzzy_links = 280;
	m.has_linkage = 1;
	m.linkage.threshold = 715;
	m.linkage.threshold_auto = 1;
	m.linkage.target_precision = 990;
	m.linkage.stats.blocking = UDC_FUZZY_JOIN;
	m.linkage.stats.compared = 1000;
	m.linkage.stats.pairs_total = 100000;
	m.linkage.stats.secs_score = 1.5;
	m.linkage.fuzzy_a = 300;
	m.linkage.fuzzy_b = 310;
	m.linkage.model_sample = 300;
	m.linkage.model_gumbel = 1;
	m.linkage.model_match_share = 0.9;
	m.linkage.est_precision = 0.995;
	m.linkage.est_recall = 0.98;
	m.linkage.ncurve = UDC_LINKAGE_CURVE;
	for (size_t k = 0; k < m.linkage.ncurve; k++) {
		m.linkage.curve_t[k] = (uint32_t)(500 + 25 * k);
		m.linkage.curve_p[k] = 0.5 + 0.02 * (double)k;
		m.linkage.curve_r[k] = 1.0 - 0.03 * (double)k;
		m.linkage.curve_p_low[k] = 0.5 + 0.01 * (double)k;
	}
	assert_non_null(txt = json_text(&m, t));
	assert_non_null(root = json_loads(txt, 0, &jerr));
	assert_non_null(fz = json_object_get(json_object_get(root, "metadata"), "fuzzy"));
	assert_string_equal(json_string_value(json_object_get(fz, "threshold")), "0.715");
	assert_true(json_is_true(json_object_get(fz, "threshold_auto")));
	assert_string_equal(json_string_value(json_object_get(fz, "target_precision")), "0.990");
	assert_string_equal(json_string_value(json_object_get(json_object_get(fz, "matcher"),
	                        "blocking")), "feature join");
	assert_true(json_real_value(json_object_get(json_object_get(fz, "matcher"),
	                "seconds_score")) == 1.5);
	curve = json_object_get(json_object_get(fz, "estimated"), "curve");
	assert_int_equal(json_array_size(curve), UDC_LINKAGE_CURVE);
	assert_string_equal(json_string_value(json_object_get(json_array_get(curve, 1),
	                        "threshold")), "0.525");
	json_decref(root);
	free(txt);
	/* without a model sample no curve, and the spec's threshold otherwise */
	m.linkage.model_sample = 0;
	assert_non_null(txt = json_text(&m, t));
	assert_non_null(root = json_loads(txt, 0, &jerr));
	fz = json_object_get(json_object_get(root, "metadata"), "fuzzy");
	assert_int_equal(json_array_size(json_object_get(json_object_get(fz, "estimated"), "curve")), 0);
	json_decref(root);
	free(txt);
	udc_table_free(t);
	udc_spec_free(spec);
}

/* The log lines of the fuzzy step: the CBS node's from its report (with the
 * LSH blocking's parameters), the gemeente's rebuilt from the released JSON
 * (which does not carry them, so it says nothing about them rather than 0). */
static void
test_linkage_log_line(void **st)
{
	static const char text[] = "[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a\n[cbs]\nc=x\n"
	                           "[fuzzy]\nschema=s.json\n";
	struct udc_spec *spec = NULL;
	struct udc_table *t = NULL;
	struct udc_result_meta m;
	char err[256], line[768], *txt;
	(void)st;

	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &spec, err, sizeof(err)), 0);
	assert_int_equal(udc_table_new(&t, spec->ncells[0], spec->ncells[1]), 0);
	memset(&m, 0, sizeof(m));
	m.spec = spec;
	m.fuzzy_links = 94;
	m.has_linkage = 1;
	m.linkage.threshold = 850;
	m.linkage.fuzzy_links = 94;
	m.linkage.fuzzy_a = 99;
	m.linkage.fuzzy_b = 98;
	m.linkage.stats.blocking = UDC_FUZZY_LSH;
	m.linkage.stats.compared = 1479;
	m.linkage.stats.pairs_total = 9702;
	m.linkage.stats.candidates = 2000;
	m.linkage.stats.size_pruned = 521;
	m.linkage.stats.lsh_bits = 17;
	m.linkage.stats.lsh_tables = 40;
	m.linkage.stats.lsh_lookups = 99 * 31; /* 31 tables per record on average */
	m.linkage.stats.design_popcount = 412;
	m.linkage.stats.outliers_a = 3;
	m.linkage.stats.outliers_b = 2;
	m.linkage.stats.secs_score = 1.25;
	udc_linkage_log_line(&m.linkage, line, sizeof(line));
	assert_string_equal(line, "fuzzy step 99 x 98 records: 94 links at threshold 0.850, "
	                          "blocking lsh, 1479 of 9702 pairs compared; matcher 1.25 s "
	                          "(index 0.00, score 1.25, resolve 0.00), model 0.00 s; lsh 17 "
	                          "bits x 40 tables (31 probed per record), design popcount 412, "
	                          "outliers 3 + 2, 2000 candidates, 521 pruned by popcount");
	assert_non_null(txt = json_text(&m, t));
	assert_int_equal(udc_linkage_log_line_json(txt, strlen(txt), line, sizeof(line)), 0);
	assert_string_equal(line, "fuzzy step 99 x 98 records: 94 links at threshold 0.850, "
	                          "blocking lsh, 1479 of 9702 pairs compared; matcher 1.25 s "
	                          "(index 0.00, score 1.25, resolve 0.00), model 0.00 s");
	free(txt);
	udc_table_free(t);
	udc_spec_free(spec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_input_report),
	    cmocka_unit_test(test_linkage_json),
	    cmocka_unit_test(test_linkage_log_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
