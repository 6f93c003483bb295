/*
 * test_group_ct.c - the portable build of the batch group backend is
 * constant time in its secrets, checked by valgrind memcheck.
 *
 * The scalar, the points to decode and blind and the digests to map are
 * marked undefined (VALGRIND_MAKE_MEM_UNDEFINED); memcheck then reports any
 * branch ("Conditional jump or move depends on uninitialised value") or
 * memory address ("Use of uninitialised value of size 8") computed from
 * them.  Only what the protocol makes public is marked defined again: the
 * outputs and the ok flags (group_batch.c does that, built here with
 * UDC_GROUP_DECLASSIFY, before it branches on them).  The results are then
 * compared with libsodium, so the run also shows the code did the work.
 * ctest runs this under valgrind --error-exitcode=1; the mutant builds
 * (UDC_GROUP_CT_MUTANT=1, 2: a branch on a digit, an index by a digit) must
 * be reported, which shows the check can fail.
 *
 * Usage: test_group_ct (under valgrind), or test_group_ct --no-valgrind
 * (ctest, where valgrind is missing) or --sanitized (ctest in a sanitizer
 * build): says why it cannot check and exits 77, skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <valgrind/memcheck.h>

#include "group_batch.h"

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static int failures;

static void
expect(int cond, const char *what, size_t round)
{
	if (!cond) {
		fprintf(stderr, "test_group_ct: %s differs from libsodium (round %zu)\n", what,
		        round);
		failures++;
	}
}

/* L - 1, little endian: the largest reduced scalar. */
static const uint8_t L_1[32] = {0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

int
main(int argc, char **argv)
{
	enum { N = 8, ROUNDS = 4 };
	uint8_t s[32], h[N * 64], pts[N * 32], out[N * 32], ok[N];
	uint8_t want[N * 32], wok[N], ws[32], wh[N * 64], wpts[N * 32];
	const int b = UDC_GROUP_PORTABLE;

	if (argc > 1 && strcmp(argv[1], "--sanitized") == 0) {
		printf("test_group_ct: NOT RUN: this is a sanitizer build, and valgrind cannot run "
		       "an ASan binary; the constant-time check runs in the plain build\n");
		return 77;
	}
	if (argc > 1 && strcmp(argv[1], "--no-valgrind") == 0) {
		printf("test_group_ct: NOT RUN: valgrind was not found when the build was "
		       "configured; the constant-time check needs it (install valgrind)\n");
		return 77;
	}
	if (!RUNNING_ON_VALGRIND) {
		fprintf(stderr, "test_group_ct: run me under valgrind (ctest does); outside it "
		                "nothing is checked\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	printf("test_group_ct: backend %s, mutant %d, secrets marked undefined\n",
	       udc_group_backend_name(b), UDC_GROUP_CT_MUTANT);

	for (size_t r = 0; r < ROUNDS; r++) {
		/* Inputs, and libsodium's answers from defined copies. */
		randombytes_buf(ws, sizeof(ws));
		if (r == 1)
			memset(ws, 0, sizeof(ws)); /* every digit zero, the result refused */
		if (r == 2)
			memcpy(ws, L_1, sizeof(ws));
		randombytes_buf(wh, sizeof(wh));
		for (size_t i = 0; i < N; i++)
			crypto_core_ristretto255_from_hash(wpts + i * 32, wh + i * 64);
		wpts[3 * 32] ^= 1; /* one lane refused by the decoder */

		/* valid: the points secret */
		memcpy(pts, wpts, sizeof(pts));
		SECRET(pts, sizeof(pts));
		udc_group_valid(b, ok, pts, N);
		for (size_t i = 0; i < N; i++)
			expect(ok[i] ==
			           (crypto_core_ristretto255_is_valid_point(wpts + i * 32) == 1),
			       "valid", r);

		/* mul: the scalar and the points secret, a full group and a tail */
		for (size_t n = N; n >= 5; n -= 3) {
			memcpy(s, ws, sizeof(s));
			memcpy(pts, wpts, sizeof(pts));
			SECRET(s, sizeof(s));
			SECRET(pts, sizeof(pts));
			udc_group_mul(b, out, ok, s, pts, n);
			for (size_t i = 0; i < n; i++) {
				wok[i] = crypto_scalarmult_ristretto255(want + i * 32, ws,
				                                        wpts + i * 32) == 0;
				if (!wok[i])
					memset(want + i * 32, 0, 32);
				expect(ok[i] == wok[i] &&
				           memcmp(out + i * 32, want + i * 32, 32) == 0,
				       "mul", r);
			}
		}

		/* from_hash: the digests secret, the output public */
		memcpy(h, wh, sizeof(h));
		SECRET(h, sizeof(h));
		udc_group_from_hash(b, out, h, N);
		PUBLIC(out, sizeof(out));
		for (size_t i = 0; i < N; i++) {
			crypto_core_ristretto255_from_hash(want + i * 32, wh + i * 64);
			expect(memcmp(out + i * 32, want + i * 32, 32) == 0, "from_hash", r);
		}

		/* hash_mul: scalar and digests secret */
		memcpy(s, ws, sizeof(s));
		memcpy(h, wh, sizeof(h));
		SECRET(s, sizeof(s));
		SECRET(h, sizeof(h));
		udc_group_hash_mul(b, out, ok, s, h, N);
		for (size_t i = 0; i < N; i++) {
			crypto_core_ristretto255_from_hash(want + i * 32, wh + i * 64);
			wok[i] =
			    crypto_scalarmult_ristretto255(want + i * 32, ws, want + i * 32) == 0;
			if (!wok[i])
				memset(want + i * 32, 0, 32);
			expect(ok[i] == wok[i] && memcmp(out + i * 32, want + i * 32, 32) == 0,
			       "hash_mul", r);
		}
	}
	PUBLIC(s, sizeof(s));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(ws, sizeof(ws));
	printf("test_group_ct: %d rounds, %s; any secret-dependent branch or address above is a "
	       "failure (valgrind --error-exitcode)\n",
	       ROUNDS, failures ? "RESULTS DIFFER from libsodium" : "results equal to libsodium");
	return failures ? 1 : 0;
}
