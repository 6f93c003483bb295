/*
 * fuzz_clk.c - the CLK linkage-schema parser (clkhash schema v3 JSON).
 *
 * udc_clk_schema_parse gets the bytes with their exact length.  A schema
 * that parses is queried field by field; when its filter is small enough an
 * encoder is derived from a fixed secret and one record is encoded with
 * values taken from the schema's own field names, so that the per-format
 * value checks and the hashing run on the configuration the fuzzer built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clk.h"
#include "err.h"
#include "fuzz.h"

#define MAX_ENCODE_BITS 8192
#define MAX_ENCODE_FIELDS 32

static void
encode_once(const struct udc_clk_schema *s)
{
	static const uint8_t secret[] = "fuzz secret, not a real one";
	static const char *const sample[] = { "", "1", "2012-03-04", "Jansen", "x", "-5", "15" };
	struct udc_clk_encoder *enc = NULL;
	const char *values[MAX_ENCODE_FIELDS];
	size_t n = udc_clk_schema_nfields(s), bytes = udc_clk_schema_bytes(s);
	uint8_t *out;
	unsigned pop = 0;
	char err[512];

	if (n > MAX_ENCODE_FIELDS || udc_clk_schema_bits(s) > MAX_ENCODE_BITS)
		return;
	if (udc_clk_encoder_new(&enc, s, secret, sizeof(secret) - 1, err, sizeof(err)) != 0)
		return;
	if ((out = malloc(bytes ? bytes : 1)) == NULL)
		fuzz_fail("out of memory");
	for (size_t v = 0; v < sizeof(sample) / sizeof(sample[0]); v++) {
		for (size_t i = 0; i < n; i++)
			values[i] = udc_clk_schema_field_ignored(s, i) ? NULL : sample[(v + i) % 7];
		if (udc_clk_encode(enc, values, n, out, bytes, &pop, err, sizeof(err)) == 0)
			FUZZ_CHECK(pop <= udc_clk_schema_bits(s));
	}
	free(out);
	udc_clk_encoder_free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct udc_clk_schema *s = NULL;
	char err[512] = "";
	int rv;

	rv = udc_clk_schema_parse(&s, (const char *)data, size, "fuzz.json", err, sizeof(err));
	if (rv != 0) {
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(err[0] != '\0' || rv == UDC_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(udc_clk_schema_bits(s) >= 1);
	FUZZ_CHECK(udc_clk_schema_bytes(s) == (udc_clk_schema_bits(s) + 7) / 8);
	for (size_t i = 0; i < udc_clk_schema_nfields(s); i++) {
		const char *name = udc_clk_schema_field_name(s, i);
		FUZZ_CHECK(name != NULL);
		(void)strlen(name);
		(void)udc_clk_schema_field_ignored(s, i);
	}
	encode_once(s);
	udc_clk_schema_free(s);
	return 0;
}
