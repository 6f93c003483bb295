/*
 * check.c - the host half of test_group_ifma_emulated: the IFMA builds'
 * outputs, as the emulated payload (main.c) printed them, against
 * libsodium.
 *
 *   check BOCHS_OUTPUT ROUNDS
 *
 * Reads every "EMUC" case (operation, scalar, inputs) and the "EMUR" lines
 * of the ifma and ifma256 backends after it, computes what libsodium
 * returns for those inputs (crypto_core_ristretto255_is_valid_point,
 * _from_hash, crypto_scalarmult_ristretto255 with the scalar as printed)
 * and compares outputs and refusals.  Also requires the payload's own
 * "EMU RESULT: PASS", its "EMU DIFF" count equal to the cases read (a
 * truncated run fails), ROUNDS random rounds, and that each edge case went
 * through: every RFC 9496 vector, the identity, the non-canonical
 * encodings p .. p + 18, scalars 0, 1 and L - 1 in mul and in hash_mul.
 * Exit 0 if all holds, 1 otherwise, with the reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rfc9496.h"

enum { OP_V, OP_F, OP_M, OP_H, OP_N };
static const char *const op_names[OP_N] = {"valid", "from_hash", "mul", "hash_mul"};
static const char *const backends[2] = {"ifma", "ifma256"};

struct ecase {
	int op;
	size_t n;
	int has_s;
	uint8_t s[32];
	uint8_t in[16 * 64];
};

/* Edge cases that must have gone through, each seen in a given operation. */
struct need {
	const char *what;
	int op;
	int is_scalar; /* 1: matches the scalar, 0: an input */
	uint8_t v[64];
	size_t len;
	int seen;
};

static struct need needs[128];
static size_t nneeds;
static uint64_t counts[2][OP_N], mismatches, cases;

static int
unhex(uint8_t *out, size_t n, const char *h)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
add_need(const char *what, int op, int is_scalar, const uint8_t *v, size_t len)
{
	struct need *w = &needs[nneeds++];

	w->what = what;
	w->op = op;
	w->is_scalar = is_scalar;
	memcpy(w->v, v, len);
	w->len = len;
}

static void
build_needs(void)
{
	uint8_t b[64];

	for (size_t i = 0; i < 16; i++) {
		unhex(b, 32, rfc9496_multiples[i]);
		add_need("RFC 9496 A.1 encoding in valid", OP_V, 0, b, 32);
	}
	for (size_t i = 0; i < RFC9496_NBAD; i++) {
		unhex(b, 32, rfc9496_bad[i]);
		add_need("RFC 9496 A.2 encoding in valid", OP_V, 0, b, 32);
		add_need("RFC 9496 A.2 encoding in mul", OP_M, 0, b, 32);
	}
	for (size_t i = 0; i < RFC9496_NMAP; i++) {
		unhex(b, 64, rfc9496_map[i][0]);
		add_need("RFC 9496 A.3 digest in from_hash", OP_F, 0, b, 64);
	}
	memset(b, 0, 32);
	add_need("the identity in valid", OP_V, 0, b, 32);
	add_need("the identity in mul", OP_M, 0, b, 32);
	for (int k = 0; k <= 18; k++) {
		memset(b, 0xff, 32);
		b[31] = 0x7f;
		b[0] = (uint8_t)(0xed + k);
		add_need("non-canonical p + k in valid", OP_V, 0, b, 32);
	}
	memset(b, 0, 32);
	add_need("scalar 0 in mul", OP_M, 1, b, 32);
	add_need("scalar 0 in hash_mul", OP_H, 1, b, 32);
	b[0] = 1;
	add_need("scalar 1 in mul", OP_M, 1, b, 32);
	add_need("scalar 1 in hash_mul", OP_H, 1, b, 32);
	memcpy(b, rfc9496_L, 32);
	b[0] -= 1;
	add_need("scalar L - 1 in mul", OP_M, 1, b, 32);
	add_need("scalar L - 1 in hash_mul", OP_H, 1, b, 32);
}

static void
mark_needs(const struct ecase *c)
{
	size_t inlen = c->op == OP_F || c->op == OP_H ? 64 : 32;

	for (size_t j = 0; j < nneeds; j++) {
		struct need *w = &needs[j];

		if (w->op != c->op)
			continue;
		if (w->is_scalar) {
			if (c->has_s && memcmp(c->s, w->v, 32) == 0)
				w->seen = 1;
			continue;
		}
		for (size_t i = 0; i < c->n; i++)
			if (memcmp(c->in + i * inlen, w->v, w->len) == 0)
				w->seen = 1;
	}
}

/* "EMUC op n scalar|- inputs" */
static int
parse_case(char *line, struct ecase *c)
{
	char op, *tok, *save = NULL;
	size_t inlen;

	memset(c, 0, sizeof(*c));
	tok = strtok_r(line + 5, " \n", &save);
	if (!tok || strlen(tok) != 1)
		return -1;
	op = tok[0];
	c->op = op == 'V' ? OP_V : op == 'F' ? OP_F : op == 'M' ? OP_M : op == 'H' ? OP_H : -1;
	if (c->op < 0)
		return -1;
	tok = strtok_r(NULL, " \n", &save);
	if (!tok)
		return -1;
	c->n = strtoul(tok, NULL, 10);
	if (c->n < 1 || c->n > 16)
		return -1;
	tok = strtok_r(NULL, " \n", &save);
	if (!tok)
		return -1;
	if (strcmp(tok, "-") != 0) {
		if (strlen(tok) != 64 || unhex(c->s, 32, tok) < 0)
			return -1;
		c->has_s = 1;
	}
	if ((c->op == OP_M || c->op == OP_H) != c->has_s)
		return -1;
	inlen = c->op == OP_F || c->op == OP_H ? 64 : 32;
	tok = strtok_r(NULL, " \n", &save);
	if (!tok || strlen(tok) != 2 * inlen * c->n || unhex(c->in, inlen * c->n, tok) < 0)
		return -1;
	return 0;
}

/* libsodium's answer for lane i. */
static void
expect(const struct ecase *c, size_t i, uint8_t out[32], int *ok)
{
	uint8_t q[32];

	memset(out, 0, 32);
	*ok = 1;
	switch (c->op) {
	case OP_V:
		*ok = crypto_core_ristretto255_is_valid_point(c->in + i * 32) == 1;
		break;
	case OP_F:
		crypto_core_ristretto255_from_hash(out, c->in + i * 64);
		break;
	case OP_M:
		*ok = crypto_scalarmult_ristretto255(q, c->s, c->in + i * 32) == 0;
		if (*ok)
			memcpy(out, q, 32);
		break;
	default:
		crypto_core_ristretto255_from_hash(q, c->in + i * 64);
		*ok = crypto_scalarmult_ristretto255(q, c->s, q) == 0;
		if (*ok)
			memcpy(out, q, 32);
		break;
	}
}

/* "EMUR backend ok|- outputs|-" for case c: 0 if it equals libsodium. */
static int
check_result(char *line, const struct ecase *c, int b, unsigned long lineno)
{
	char *tok, *save = NULL, *okstr, *outstr;
	uint8_t got[16 * 32];
	int bad = 0;

	tok = strtok_r(line + 5, " \n", &save);
	okstr = strtok_r(NULL, " \n", &save);
	outstr = strtok_r(NULL, " \n", &save);
	if (!tok || !okstr || !outstr || strcmp(tok, backends[b]) != 0) {
		fprintf(stderr, "check: line %lu: expected the result of %s\n", lineno, backends[b]);
		return -1;
	}
	if (c->op == OP_F ? strcmp(okstr, "-") != 0 : strlen(okstr) != c->n) {
		fprintf(stderr, "check: line %lu: malformed ok flags\n", lineno);
		return -1;
	}
	if (c->op == OP_V ? strcmp(outstr, "-") != 0
	                  : strlen(outstr) != 64 * c->n || unhex(got, 32 * c->n, outstr) < 0) {
		fprintf(stderr, "check: line %lu: malformed outputs\n", lineno);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		uint8_t want[32];
		int wok;

		expect(c, i, want, &wok);
		if (c->op != OP_F && (okstr[i] == '1') != wok)
			bad = 1;
		if (c->op != OP_V && memcmp(got + i * 32, want, 32) != 0)
			bad = 1;
		if (bad) {
			if (++mismatches <= 10)
				fprintf(stderr,
				        "check: line %lu: %s %s lane %zu differs from libsodium "
				        "(libsodium ok=%d)\n",
				        lineno, backends[b], op_names[c->op], i, wok);
			return 1;
		}
	}
	counts[b][c->op] += c->n;
	return 0;
}

int
main(int argc, char **argv)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0, want_rounds, diff_calls = 0, diff_rounds = 0;
	struct ecase c;
	int have_case = 0, next_b = 0, passed = 0, rc = 1, bit255 = -1;

	if (argc != 3) {
		fprintf(stderr, "usage: check BOCHS_OUTPUT ROUNDS\n");
		return 2;
	}
	want_rounds = strtoul(argv[2], NULL, 10);
	if (sodium_init() < 0) {
		fprintf(stderr, "check: sodium_init failed\n");
		return 1;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	build_needs();
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (strncmp(line, "EMUC ", 5) == 0) {
			if (have_case && next_b != 2) {
				fprintf(stderr, "check: line %lu: case without both results\n",
				        lineno);
				goto out;
			}
			if (parse_case(line, &c) < 0) {
				fprintf(stderr, "check: line %lu: malformed case\n", lineno);
				goto out;
			}
			have_case = 1;
			next_b = 0;
			cases++;
			mark_needs(&c);
		} else if (strncmp(line, "EMUR ", 5) == 0) {
			if (!have_case || next_b >= 2) {
				fprintf(stderr, "check: line %lu: result without a case\n", lineno);
				goto out;
			}
			if (check_result(line, &c, next_b++, lineno) < 0)
				goto out;
		} else if (strncmp(line, "EMU DIFF: ", 10) == 0) {
			if (sscanf(line + 10, "%lu calls, %lu random rounds", &diff_calls,
			           &diff_rounds) != 2) {
				fprintf(stderr, "check: line %lu: malformed count\n", lineno);
				goto out;
			}
		} else if (strncmp(line, "EMU RESULT: PASS", 16) == 0) {
			passed = 1;
		}
	}
	if (have_case && next_b != 2) {
		fprintf(stderr, "check: the last case lacks a result (output cut short)\n");
		goto out;
	}
	/* main.c assumes libsodium 1.0.18's acceptance of bit 255 */
	{
		uint8_t g[32];

		unhex(g, 32, rfc9496_multiples[1]);
		g[31] |= 0x80;
		bit255 = crypto_core_ristretto255_is_valid_point(g) == 1;
	}
	printf("check: %llu calls read; libsodium %s%s\n", (unsigned long long)cases,
	       sodium_version_string(),
	       bit255 ? "" : " (refuses bit 255; the payload assumes 1.0.18, which accepts it)");
	for (int b = 0; b < 2; b++)
		printf("check: %s against libsodium: %llu valid, %llu from_hash, %llu mul, %llu "
		       "hash_mul inputs\n",
		       backends[b], (unsigned long long)counts[b][OP_V],
		       (unsigned long long)counts[b][OP_F], (unsigned long long)counts[b][OP_M],
		       (unsigned long long)counts[b][OP_H]);
	if (mismatches) {
		printf("check: FAIL: %llu calls differ from libsodium\n",
		       (unsigned long long)mismatches);
		goto out;
	}
	if (!passed) {
		printf("check: FAIL: the payload did not report EMU RESULT: PASS\n");
		goto out;
	}
	if (diff_calls != cases || diff_rounds != want_rounds || cases == 0) {
		printf("check: FAIL: the payload announced %lu calls and %lu rounds; read %llu "
		       "calls, wanted %lu rounds\n",
		       diff_calls, diff_rounds, (unsigned long long)cases, want_rounds);
		goto out;
	}
	for (size_t j = 0; j < nneeds; j++) {
		if (!needs[j].seen) {
			printf("check: FAIL: edge case not exercised: %s (number %zu)\n",
			       needs[j].what, j);
			goto out;
		}
	}
	printf("check: PASS: every output and refusal of both IFMA builds equals libsodium's; "
	       "%zu required edge cases all went through\n",
	       nneeds);
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}
