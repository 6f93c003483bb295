/*
 * clkctx.h - a round's CLK encoding context: the spec's schema, the encoder
 * keyed with the round secret, the mapping from schema features to udclink's
 * normalised identifier fields, and optional balancing.
 *
 * Schema features are named by udclink field names (given_names, surname,
 * birth_date, ...; see fields.h) so that both nodes feed the encoder the
 * same normalised values, whatever their CSV columns are called.  A missing
 * field is passed as "" (declare missingValue in the schema to accept it).
 */
#ifndef UDC_CLKCTX_H
#define UDC_CLKCTX_H

#include <stddef.h>
#include <stdint.h>
#include "input.h"

struct udc_spec;
struct udc_clkctx;

/* with_handle: each record's payload starts with a fresh 32-byte random
 * handle (the gemeente's records), followed by the filter. */
int udc_clkctx_new(struct udc_clkctx **out, const struct udc_spec *spec, const uint8_t secret[32],
    int with_handle, char *err, size_t errlen);
void udc_clkctx_free(struct udc_clkctx *c);
/* Payload bytes per record: handle (if any) + filter. */
size_t udc_clkctx_ext_bytes(const struct udc_clkctx *c);
/* Filter length as sent and compared (doubled when balanced). */
size_t udc_clkctx_bits(const struct udc_clkctx *c);
size_t udc_clkctx_bytes(const struct udc_clkctx *c);
/* Filters per record, each bits / segments long: 1 for record scoring, one
 * per encoded feature (schema order) for field scoring. */
size_t udc_clkctx_segments(const struct udc_clkctx *c);
/* Payload filler for udc_blist_from_input_ext (arg = the context). */
int udc_clkctx_fill(void *arg, const struct udc_inrec *rec, uint8_t *ext);

#endif
