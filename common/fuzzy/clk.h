/*
 * clk.h - Bloom-filter record encodings (CLKs) compatible with clkhash.
 *
 * Fuzzy mode encodes each record as a cryptographic long-term key (CLK) in
 * the format of clkhash (data61, linkage-schema v3) so that the encodings are
 * interchangeable with the anonlink ecosystem: the same schema, secret and
 * values give the same bytes as clkhash 0.18.
 *
 * Two objects:
 *   - a schema (parsed linkage-schema v3 JSON; public, no secrets), and
 *   - an encoder (schema + per-field keys derived from the round secret with
 *     HKDF; the keys live in sodium_malloc memory and are wiped on free).
 *
 * Supported (everything else is refused by udc_clk_schema_load with a message
 * naming the field and the problem):
 *   clkConfig: l (any >= 1), xor_folds / xorFolds, kdf HKDF with SHA256 or
 *     SHA512, base64 salt and info, keySize.
 *   format: string (encoding ascii/utf-8/utf-16/utf-32, case, minLength,
 *     maxLength), integer (minimum, maximum), date (strptime directives
 *     %Y %y %m %d %b %B %%, literals, white space), enum.
 *   comparison: ngram (n >= 1, positional), exact, numeric
 *     (thresholdDistance, resolution, fractional_precision).
 *   strategy: bitsPerToken, bitsPerFeature.
 *   hash: blakeHash (keySize 16..64), doubleHash (prevent_singularity).
 *   missingValue: sentinel, replaceWith.
 * Refused: string "pattern" (Python regular expressions), schema versions
 * other than 3, other KDFs, date directives not listed above.
 *
 * Input values are taken as they are (clkhash does no case folding or
 * trimming); they must be valid UTF-8.
 *
 * Output: the filter packed as bytes, l bits, bit i of the filter in bit
 * 7 - (i % 8) of byte i / 8 (Python bitarray's default), trailing bits of the
 * last byte zero.  Base64 of these bytes is what clkhash/anonlink exchange.
 */
#ifndef UDC_CLK_H
#define UDC_CLK_H

#include <stddef.h>
#include <stdint.h>

struct udc_clk_schema;
struct udc_clk_encoder;

/*
 * Parses the linkage schema in the file at path.  On success *out is a new
 * schema owned by the caller (udc_clk_schema_free).  On failure *out is NULL,
 * the return value is UDC_EIO (cannot read), UDC_EPARSE (not JSON) or
 * UDC_EINVAL (a schema the encoder cannot honour), and err gets a message
 * "PATH: field 'NAME': problem" (or "PATH: problem" for global settings).
 */
int udc_clk_schema_load(struct udc_clk_schema **out, const char *path, char *err, size_t errlen);
/* The same from a JSON text; name is used in messages in place of the path. */
int udc_clk_schema_parse(struct udc_clk_schema **out, const char *json, size_t len,
                         const char *name, char *err, size_t errlen);
void udc_clk_schema_free(struct udc_clk_schema *schema);

/* Number of features (including ignored ones), i.e. values per record. */
size_t udc_clk_schema_nfields(const struct udc_clk_schema *schema);
/* Identifier of feature i (valid while the schema lives). */
const char *udc_clk_schema_field_name(const struct udc_clk_schema *schema, size_t i);
/* 1 if feature i is ignored (its value is never looked at). */
int udc_clk_schema_field_ignored(const struct udc_clk_schema *schema, size_t i);
/* Features that are encoded (not ignored): the filters per record of field
 * scoring. */
size_t udc_clk_schema_nencoded(const struct udc_clk_schema *schema);
/* Length of an encoding in bits (l, after folding) and in bytes. */
size_t udc_clk_schema_bits(const struct udc_clk_schema *schema);
size_t udc_clk_schema_bytes(const struct udc_clk_schema *schema);

/*
 * Derives the per-feature keys from the secret (HKDF as in the schema, two
 * keys of keySize bytes per feature in schema order, as clkhash does).  The
 * schema must outlive the encoder.  The secret is not kept; the caller wipes
 * its own copy.  Returns 0, UDC_ENOMEM, UDC_EINVAL (empty secret, too many
 * keys for HKDF) or UDC_ECRYPTO; err never contains secret material.
 */
int udc_clk_encoder_new(struct udc_clk_encoder **out, const struct udc_clk_schema *schema,
                        const uint8_t *secret, size_t secretlen, char *err, size_t errlen);
/* Wipes the keys and frees; NULL is fine. */
void udc_clk_encoder_free(struct udc_clk_encoder *enc);

/*
 * Encodes one record: values[i] is the value of feature i (schema order,
 * NUL-terminated UTF-8; NULL is allowed for ignored features only).  out must
 * hold udc_clk_schema_bytes() bytes.  Returns 0, UDC_EINVAL (a value that
 * clkhash would reject: wrong number of values, invalid UTF-8, not an integer,
 * out of range, not a date, not in the enum, wrong case or length; err names
 * the feature and the rule but never repeats the value) or UDC_ENOMEM.
 * Thread safe: one encoder may be used by many threads at once.
 * Optional popcount receives the number of bits set.
 */
int udc_clk_encode(const struct udc_clk_encoder *enc, const char *const *values, size_t nvalues,
                   uint8_t *out, size_t outlen, unsigned *popcount, char *err, size_t errlen);

/*
 * Encodes feature `feature` of a record alone: the filter clkhash would give
 * for a schema in which every other feature is ignored (same keys, same l,
 * same folding).  Field-level scoring (fuzzy.h) compares these per feature.
 * Only values[feature] is looked at.  Returns as udc_clk_encode; UDC_EINVAL
 * also for an ignored or out-of-range feature.
 */
int udc_clk_encode_feature(const struct udc_clk_encoder *enc, const char *const *values,
                           size_t nvalues, size_t feature, uint8_t *out, size_t outlen,
                           unsigned *popcount, char *err, size_t errlen);

/* Standard base64 (with padding) of n bytes into dst, which must hold
 * udc_clk_base64_len(n) bytes including the NUL. */
size_t udc_clk_base64_len(size_t n);
void udc_clk_base64(char *dst, const uint8_t *src, size_t n);

#endif
