/*
 * group_batch.c - choosing a backend for the ristretto255 operations, and
 * running them over arrays in groups of each backend's lanes.
 *
 * Also the libsodium backend (a loop of libsodium calls: the reference and
 * the fallback) and the self-test that every vector backend passes before
 * it is used.  The scalar is recoded once per call into signed radix-16
 * digits (udc_group_key_prepare, group_impl.h; constant time), kept on the
 * stack and wiped before returning.
 */
#include "group_batch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "group_impl.h"
#include "log.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

/*
 * The constant-time test (tests/unit/test_group_ct.c) builds this file with
 * UDC_GROUP_DECLASSIFY: what a backend returns (ok flags, output points) is
 * public by the protocol, so it is marked defined for valgrind before this
 * file branches on it.  In every other build these are no-ops.
 */
#ifdef UDC_GROUP_DECLASSIFY
#include <valgrind/memcheck.h>
#define DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

/*
 * The libsodium backend.
 */
static void
ls_valid(uint8_t *ok, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ok[i] = crypto_core_ristretto255_is_valid_point(in + i * 32) == 1;
}

static void
ls_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *in, size_t n)
{
	uint8_t q[32];

	for (size_t i = 0; i < n; i++) {
		ok[i] = crypto_scalarmult_ristretto255(q, k->s, in + i * 32) == 0;
		if (ok[i])
			memcpy(out + i * 32, q, 32);
		else
			memset(out + i * 32, 0, 32);
	}
	sodium_memzero(q, sizeof(q));
}

static void
ls_from_hash(uint8_t *out, const uint8_t *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crypto_core_ristretto255_from_hash(out + i * 32, h + i * 64);
}

static void
ls_hash_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *h, size_t n)
{
	uint8_t q[32];

	for (size_t i = 0; i < n; i++) {
		crypto_core_ristretto255_from_hash(q, h + i * 64);
		ok[i] = crypto_scalarmult_ristretto255(q, k->s, q) == 0;
		if (ok[i])
			memcpy(out + i * 32, q, 32);
		else
			memset(out + i * 32, 0, 32);
	}
	sodium_memzero(q, sizeof(q));
}

const struct udc_group_impl udc_group_libsodium_impl = {
    .name = "libsodium",
    .lanes = UDC_GROUP_LANES,
    .valid = ls_valid,
    .mul = ls_mul,
    .from_hash = ls_from_hash,
    .hash_mul = ls_hash_mul,
};

static const struct udc_group_impl *const impls[UDC_GROUP_NBACKENDS] = {
    [UDC_GROUP_LIBSODIUM] = &udc_group_libsodium_impl,
    [UDC_GROUP_PORTABLE] = &udc_group_portable_impl,
    [UDC_GROUP_IFMA] = &udc_group_ifma_impl,
    [UDC_GROUP_IFMA256] = &udc_group_ifma256_impl,
};

const char *
udc_group_backend_name(int b)
{
	if (b < 0 || b >= UDC_GROUP_NBACKENDS)
		return "?";
	return impls[b]->name;
}

int
udc_group_backend_parse(const char *s, int *b)
{
	if (strcmp(s, "auto") == 0) {
		*b = UDC_GROUP_AUTO;
		return 0;
	}
	for (int i = 0; i < UDC_GROUP_NBACKENDS; i++) {
		if (strcmp(s, impls[i]->name) == 0) {
			*b = i;
			return 0;
		}
	}
	return UDC_EINVAL;
}

#ifdef UDC_GROUP_TEST_CPU
/* Tests only (test_group_dispatch_ifmacpu): the registers of a CPU with
 * IFMA, so that the choice can be tested where there is none. */
void udc_group_test_cpu(uint32_t *max_leaf, uint32_t *ecx1, uint32_t *xcr0, uint32_t *ebx7);
#endif

/* Reads the registers udc_group_cpu_ifma (group_impl.h) decides on; XCR0
 * only when OSXSAVE says xgetbv exists. */
static int
cpu_runs_ifma(int vl)
{
	uint32_t max_leaf = 0, ecx1 = 0, xcr0 = 0, ebx7 = 0;
#if defined(UDC_GROUP_TEST_CPU)
	udc_group_test_cpu(&max_leaf, &ecx1, &xcr0, &ebx7);
#elif defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	unsigned a, b, c, d, lo, hi;

	max_leaf = __get_cpuid_max(0, NULL);
	if (max_leaf < 7)
		return 0;
	__cpuid(1, a, b, c, d);
	ecx1 = c;
	if (!(c & (1u << 27))) /* OSXSAVE: no xgetbv without it */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	xcr0 = lo;
	__cpuid_count(7, 0, a, b, c, d);
	ebx7 = b;
#endif
	return udc_group_cpu_ifma(max_leaf, ecx1, xcr0, ebx7, vl);
}

int
udc_group_backend_runs(int b)
{
	switch (b) {
	case UDC_GROUP_LIBSODIUM:
	case UDC_GROUP_PORTABLE:
		return 1;
	case UDC_GROUP_IFMA:
		return cpu_runs_ifma(0);
	case UDC_GROUP_IFMA256:
		return cpu_runs_ifma(1);
	default:
		return 0;
	}
}

/*
 * What the linked libsodium does with bit 255 of an encoding: the
 * generator with that bit set is refused by RFC 9496 and by later
 * libsodium, accepted by 1.0.18.
 */
int udc_group_sodium_bit255_ok;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void
probe_sodium(void)
{
	static const uint8_t gen_bit255[32] = {0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71,
	                                       0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
	                                       0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d,
	                                       0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0xf6};

	udc_group_sodium_bit255_ok = crypto_core_ristretto255_is_valid_point(gen_bit255) == 1;
}

static void
probe(void)
{
	pthread_once(&probe_once, probe_sodium);
}

/*
 * Running the operations.
 */
/* b comes from udc_group_backend() or a udc_group_backend_runs() check;
 * anything out of range gets libsodium rather than a read past the table. */
static const struct udc_group_impl *
impl_of(int b)
{
	return b >= 0 && b < UDC_GROUP_NBACKENDS ? impls[b] : &udc_group_libsodium_impl;
}

/* Callers size their buffers by UDC_GROUP_BATCH: a backend claiming more
 * is cut to the default. */
static size_t
lanes_of(const struct udc_group_impl *im)
{
	size_t l = udc_group_impl_lanes(im);

	return l <= UDC_GROUP_BATCH ? l : UDC_GROUP_LANES;
}

unsigned
udc_group_backend_lanes(int b)
{
	return (unsigned)lanes_of(impl_of(b));
}

static size_t
count_failed(uint8_t *ok, size_t n)
{
	size_t bad = 0;

	DECLASSIFY(ok, n);
	for (size_t i = 0; i < n; i++)
		bad += ok[i] == 0;
	return bad;
}

void
udc_group_valid(int b, uint8_t *ok, const uint8_t *in, size_t n)
{
	const struct udc_group_impl *im = impl_of(b);

	probe();
	for (size_t i = 0, L = lanes_of(im); i < n; i += L) {
		size_t m = n - i < L ? n - i : L;

		im->valid(ok + i, in + i * 32, m);
		DECLASSIFY(ok + i, m);
	}
}

size_t
udc_group_mul(int b, uint8_t *out, uint8_t *ok, const uint8_t s[32], const uint8_t *in, size_t n)
{
	const struct udc_group_impl *im = impl_of(b);
	struct udc_group_key k;
	size_t bad = 0;

	probe();
	udc_group_key_prepare(&k, s);
	for (size_t i = 0, L = lanes_of(im); i < n; i += L) {
		size_t m = n - i < L ? n - i : L;

		im->mul(out + i * 32, ok + i, &k, in + i * 32, m);
		DECLASSIFY(out + i * 32, m * 32);
		bad += count_failed(ok + i, m);
	}
	sodium_memzero(&k, sizeof(k));
	return bad;
}

void
udc_group_from_hash(int b, uint8_t *out, const uint8_t *h, size_t n)
{
	const struct udc_group_impl *im = impl_of(b);

	probe();
	for (size_t i = 0, L = lanes_of(im); i < n; i += L) {
		size_t m = n - i < L ? n - i : L;

		im->from_hash(out + i * 32, h + i * 64, m);
	}
}

size_t
udc_group_hash_mul(int b, uint8_t *out, uint8_t *ok, const uint8_t s[32], const uint8_t *h,
                   size_t n)
{
	const struct udc_group_impl *im = impl_of(b);
	struct udc_group_key k;
	size_t bad = 0;

	probe();
	udc_group_key_prepare(&k, s);
	for (size_t i = 0, L = lanes_of(im); i < n; i += L) {
		size_t m = n - i < L ? n - i : L;

		im->hash_mul(out + i * 32, ok + i, &k, h + i * 64, m);
		DECLASSIFY(out + i * 32, m * 32);
		bad += count_failed(ok + i, m);
	}
	sodium_memzero(&k, sizeof(k));
	return bad;
}

/*
 * The self-test: 13 digests (a full group and a tail of five), the points
 * they map to plus the identity and encodings libsodium refuses, through
 * every operation, against libsodium.  Pseudo-random inputs from SHA-512 of
 * a counter, so that a failure reproduces.
 */
enum { ST_N = 13, ST_PTS = ST_N + 6 };

static const uint8_t st_bad[5][32] = {
    /* p (non-canonical) */
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* 1: negative */
    {0x01},
    /* a non-square x^2 (RFC 9496 A.2) */
    {0x26, 0x94, 0x8d, 0x35, 0xca, 0x62, 0xe6, 0x43, 0xe2, 0x6a, 0x83,
     0x17, 0x73, 0x32, 0xe6, 0xb6, 0xaf, 0xeb, 0x9d, 0x08, 0xe4, 0x26,
     0x8b, 0x65, 0x0f, 0x1f, 0x5b, 0xbd, 0x8d, 0x81, 0xd3, 0x71},
    /* s = -1: y = 0 */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    /* bit 255 set */
    {0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
     0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
     0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0xf6},
};

int
udc_group_selftest(int b)
{
	uint8_t h[ST_N * 64], pts[ST_PTS * 32], want[ST_PTS * 32], got[ST_PTS * 32];
	uint8_t okw[ST_PTS], okg[ST_PTS], s[32], wide[64], ctr[8] = {0};
	int rv = UDC_ECRYPTO;

	if (b < 0 || b >= UDC_GROUP_NBACKENDS || !udc_group_backend_runs(b))
		return UDC_EINVAL;
	for (size_t i = 0; i < ST_N; i++) {
		ctr[0] = (uint8_t)i;
		crypto_hash_sha512(h + i * 64, ctr, sizeof(ctr));
	}
	memset(h, 0, 64);         /* both halves map from zero */
	memset(h + 64, 0xff, 64); /* above p in both halves */
	crypto_hash_sha512(wide, (const uint8_t *)"udclink group selftest", 22);
	crypto_core_ristretto255_scalar_reduce(s, wide);

	/* from_hash */
	ls_from_hash(want, h, ST_N);
	udc_group_from_hash(b, got, h, ST_N);
	if (memcmp(want, got, ST_N * 32) != 0)
		goto out;
	/* valid, over those points, the identity and the refused ones */
	memcpy(pts, want, ST_N * 32);
	memset(pts + ST_N * 32, 0, 32);
	memcpy(pts + (ST_N + 1) * 32, st_bad, sizeof(st_bad));
	ls_valid(okw, pts, ST_PTS);
	udc_group_valid(b, okg, pts, ST_PTS);
	if (memcmp(okw, okg, ST_PTS) != 0)
		goto out;
	/* mul, in place as the callers do */
	for (size_t i = 0; i < ST_PTS; i++) {
		okw[i] = crypto_scalarmult_ristretto255(want + i * 32, s, pts + i * 32) == 0;
		if (!okw[i])
			memset(want + i * 32, 0, 32);
	}
	memcpy(got, pts, sizeof(pts));
	udc_group_mul(b, got, okg, s, got, ST_PTS);
	if (memcmp(okw, okg, ST_PTS) != 0 || memcmp(want, got, ST_PTS * 32) != 0)
		goto out;
	/* hash_mul: the same as mul of from_hash */
	udc_group_hash_mul(b, got, okg, s, h, ST_N);
	if (memcmp(okw, okg, ST_N) != 0 || memcmp(want, got, ST_N * 32) != 0)
		goto out;
	rv = 0;
out:
	sodium_memzero(s, sizeof(s));
	sodium_memzero(wide, sizeof(wide));
	return rv;
}

/*
 * The choice, once per process.
 */
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static atomic_int current = UDC_GROUP_LIBSODIUM;

/* One log line, whatever happens: the choice, or why it is libsodium. */
static void
choose(void)
{
	const char *env = getenv("UDC_GROUP_BACKEND");
	int want = UDC_GROUP_AUTO, bad_env = 0, b;

	if (env != NULL && env[0] != '\0' && udc_group_backend_parse(env, &want) != 0) {
		bad_env = 1;
		want = UDC_GROUP_AUTO;
	}
	if (want == UDC_GROUP_AUTO)
		b = udc_group_backend_runs(UDC_GROUP_IFMA) ? UDC_GROUP_IFMA : UDC_GROUP_LIBSODIUM;
	else
		b = want;
	if (!udc_group_backend_runs(b)) {
		log_warnx("UDC_GROUP_BACKEND=%s: this CPU does not run it (no AVX-512 IFMA); "
		          "using libsodium",
		          udc_group_backend_name(b));
		b = UDC_GROUP_LIBSODIUM;
	} else if (b != UDC_GROUP_LIBSODIUM && udc_group_selftest(b) != 0) {
		log_warnx("group backend %s: self-test against libsodium failed; using libsodium",
		          udc_group_backend_name(b));
		b = UDC_GROUP_LIBSODIUM;
	} else if (bad_env) {
		log_warnx("UDC_GROUP_BACKEND=%.32s: not a backend (libsodium, portable, ifma, "
		          "ifma256, auto); "
		          "group backend %s",
		          env, udc_group_backend_name(b));
	} else {
		log_info("group backend %s%s", udc_group_backend_name(b),
		         want == UDC_GROUP_AUTO ? "" : " (UDC_GROUP_BACKEND)");
	}
	atomic_store(&current, b);
}

int
udc_group_backend(void)
{
	pthread_once(&choose_once, choose);
	return atomic_load(&current);
}

int
udc_group_backend_set(int b)
{
	int rv;

	pthread_once(&choose_once, choose);
	if (b < 0 || b >= UDC_GROUP_NBACKENDS || !udc_group_backend_runs(b))
		return UDC_EINVAL;
	if (b != UDC_GROUP_LIBSODIUM && (rv = udc_group_selftest(b)) != 0)
		return rv;
	atomic_store(&current, b);
	return 0;
}
