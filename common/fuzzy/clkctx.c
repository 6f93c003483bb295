/*
 * clkctx.c - encoding a node's records into CLKs for a round.
 */
#include "clkctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clk.h"
#include "err.h"
#include "fields.h"
#include "rand.h"
#include "roundkey.h"
#include "spec.h"

#define MAX_FEATURES 64

struct udc_clkctx {
	struct udc_clk_schema *schema;
	struct udc_clk_encoder *enc;
	size_t nfeat;
	int field[MAX_FEATURES]; /* udclink field per feature, -1 = ignored */
	size_t raw_bits, raw_bytes;
	uint32_t *perm;          /* balancing permutation, NULL if off */
	int fields;              /* field scoring */
	size_t nseg;             /* filters per record: 1, or one per feature (field scoring) */
	size_t seg[MAX_FEATURES]; /* field scoring: the feature of each filter */
	size_t bits, bytes;      /* as sent */
	int with_handle;
};

int
udc_clkctx_new(struct udc_clkctx **out, const struct udc_spec *spec, const uint8_t secret[32],
    int with_handle, char *err, size_t errlen)
{
	struct udc_clkctx *c;
	int rv;

	if (spec->schema_json == NULL) {
		snprintf(err, errlen, "spec '%s': no CLK schema attached", spec->name);
		return UDC_EINVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return UDC_ENOMEM;
	c->with_handle = with_handle;
	if ((rv = udc_clk_schema_parse(&c->schema, spec->schema_json, spec->schema_len,
	    spec->schema_name, err, errlen)) != 0)
		goto fail;
	c->nfeat = udc_clk_schema_nfields(c->schema);
	if (c->nfeat > MAX_FEATURES) {
		snprintf(err, errlen, "%s: more than %d features", spec->schema_name, MAX_FEATURES);
		rv = UDC_EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < c->nfeat; i++) {
		const char *name = udc_clk_schema_field_name(c->schema, i);
		c->field[i] = -1;
		if (udc_clk_schema_field_ignored(c->schema, i))
			continue;
		if ((c->field[i] = udc_fieldset_find(&spec->fields, name)) < 0) {
			snprintf(err, errlen, "%s: feature '%s' is not a field of the spec (built-in "
			    "or declared in its [fields]) and not ignored", spec->schema_name, name);
			rv = UDC_EINVAL;
			goto fail;
		}
	}
	if ((rv = udc_clk_encoder_new(&c->enc, c->schema, secret, 32, err, errlen)) != 0)
		goto fail;
	c->raw_bits = udc_clk_schema_bits(c->schema);
	c->raw_bytes = udc_clk_schema_bytes(c->schema);
	c->bits = c->raw_bits;
	c->nseg = 1;
	if (spec->scoring == UDC_SCORING_FIELDS) {
		/* the spec parser refused balancing and an l that is not a
		 * multiple of 64; checked again because the layout relies on it */
		if (spec->balance || c->raw_bits % 64 != 0) {
			snprintf(err, errlen, "%s: field scoring needs l a multiple of 64 and no "
			    "balancing", spec->schema_name);
			rv = UDC_EINVAL;
			goto fail;
		}
		c->fields = 1;
		c->nseg = 0;
		for (size_t i = 0; i < c->nfeat; i++)
			if (c->field[i] >= 0)
				c->seg[c->nseg++] = i;
		if (c->nseg == 0) {
			snprintf(err, errlen, "%s: every feature is ignored", spec->schema_name);
			rv = UDC_EINVAL;
			goto fail;
		}
		c->bits = c->nseg * c->raw_bits;
	}
	if (spec->balance) {
		if ((rv = udc_balance_perm(secret, c->raw_bits, &c->perm)) != 0)
			goto fail;
		c->bits = 2 * c->raw_bits;
	}
	c->bytes = (c->bits + 7) / 8;
	*out = c;
	return 0;
fail:
	udc_clkctx_free(c);
	return rv;
}

void
udc_clkctx_free(struct udc_clkctx *c)
{
	if (c == NULL)
		return;
	udc_clk_encoder_free(c->enc);
	udc_clk_schema_free(c->schema);
	free(c->perm);
	free(c);
}

size_t
udc_clkctx_ext_bytes(const struct udc_clkctx *c)
{
	return (c->with_handle ? 32 : 0) + c->bytes;
}

size_t
udc_clkctx_bits(const struct udc_clkctx *c)
{
	return c->bits;
}

size_t
udc_clkctx_segments(const struct udc_clkctx *c)
{
	return c->nseg;
}

size_t
udc_clkctx_bytes(const struct udc_clkctx *c)
{
	return c->bytes;
}

int
udc_clkctx_fill(void *arg, const struct udc_inrec *rec, uint8_t *ext)
{
	struct udc_clkctx *c = arg;
	const char *values[MAX_FEATURES];
	uint8_t raw[8192];
	char err[160];
	uint8_t *filter = ext + (c->with_handle ? 32 : 0);
	int rv;

	if (c->with_handle)
		udc_random_buf(ext, 32);
	for (size_t i = 0; i < c->nfeat; i++) {
		if (c->field[i] < 0)
			values[i] = NULL;
		else
			values[i] = rec->field[c->field[i]] ? rec->field[c->field[i]] : "";
	}
	if (c->raw_bytes > sizeof(raw))
		return UDC_ELIMIT;
	if (c->fields) {
		/* field scoring: feature seg[k] alone into filter k */
		for (size_t k = 0; k < c->nseg; k++)
			if ((rv = udc_clk_encode_feature(c->enc, values, c->nfeat, c->seg[k],
			    filter + k * c->raw_bytes, c->raw_bytes, NULL, err, sizeof(err))) != 0)
				return rv;
		return 0;
	}
	if ((rv = udc_clk_encode(c->enc, values, c->nfeat, c->perm ? raw : filter, c->raw_bytes,
	    NULL, err, sizeof(err))) != 0)
		return rv;
	if (c->perm)
		udc_balance(raw, c->raw_bits, c->perm, filter);
	return 0;
}
