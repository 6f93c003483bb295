/*
 * main.c - the IFMA builds of the batch group backend, run where no IFMA
 * hardware is: a freestanding payload for an emulated Ice Lake (bochs).
 *
 * boot.s enters 64-bit mode with the AVX-512 state enabled and calls
 * emu_main.  On port 0xe9 it prints:
 *  - CPUID: the emulated CPU reports AVX-512F, IFMA and VL, and the
 *    run-time choice (udc_group_cpu_ifma) takes both IFMA builds on it;
 *  - every lane operation of ifma and ifma256 against the portable build
 *    on pseudo-random inputs, and every field operation bit for bit;
 *  - the RFC 9496 known answers through both backends (A.1: k B as k
 *    times B, A.2: refused encodings, A.3: the map);
 *  - the differential stream: the edge cases (identity, non-canonical and
 *    invalid encodings, the RFC 9496 vectors, scalars 0, 1, L - 1 and the
 *    others of test_group_diff.c, digests at the map's edges) and then
 *    EMU_ROUNDS rounds of pseudo-random valid, from_hash, mul and hash_mul
 *    cases of 1..16 inputs (ifma takes sixteen per call, ifma256 eight:
 *    cut into calls of each backend's lanes), each case with its inputs
 *    and both backends' outputs.  check.c (on the host) computes libsodium's answer for every
 *    printed input and compares;
 * and ends with "EMU RESULT: PASS" or "EMU RESULT: FAIL" for its own
 * checks.  No libc: the few functions the code needs are defined here.
 */
#include <stddef.h>
#include <stdint.h>

#include "group_impl.h"
#include "rfc9496.h"

/* libsodium 1.0.18's answer (group_batch.c probes it on the host). */
int udc_group_sodium_bit255_ok = 1;

/*
 * What the compiler and the vector code call.
 */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void sodium_memzero(void *p, size_t n);
void emu_main(void);

void *
memcpy(void *d, const void *s, size_t n)
{
	volatile uint8_t *dd = d;
	const uint8_t *ss = s;

	while (n--)
		*dd++ = *ss++;
	return d;
}

void *
memmove(void *d, const void *s, size_t n)
{
	volatile uint8_t *dd = d;
	const uint8_t *ss = s;

	if (dd < ss) {
		while (n--)
			*dd++ = *ss++;
	} else {
		while (n--)
			dd[n] = ss[n];
	}
	return d;
}

void *
memset(void *d, int c, size_t n)
{
	volatile uint8_t *dd = d;

	while (n--)
		*dd++ = (uint8_t)c;
	return d;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void
sodium_memzero(void *p, size_t n)
{
	memset(p, 0, n);
}

/*
 * Output on the bochs debug port.
 */
static void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void
put(const char *s)
{
	while (*s)
		outb(0xe9, (uint8_t)*s++);
}

static void
putu(uint64_t v)
{
	char b[24];
	int i = 23;

	b[i] = '\0';
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	put(b + i);
}

static void
puthex(const uint8_t *p, size_t n)
{
	static const char h[] = "0123456789abcdef";
	char b[3] = {0, 0, 0};

	for (size_t i = 0; i < n; i++) {
		b[0] = h[p[i] >> 4];
		b[1] = h[p[i] & 15];
		put(b);
	}
}

static void
puthex32(uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	puthex(b, 4);
}

static int failures;

static void
check(int ok, const char *what)
{
	if (!ok) {
		failures++;
		if (failures <= 20) {
			put("EMU: FAIL ");
			put(what);
			put("\n");
		}
	}
}

/* splitmix64: the same stream on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void
unhex(uint8_t *out, const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(hexval(h[2 * i]) << 4 | hexval(h[2 * i + 1]));
}

/*
 * CPUID as the code sees it.
 */
static void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
	                 : "a"(leaf), "c"(sub));
}

/* The registers udclink's run-time choice reads (group_batch.c), and its
 * decision on them (udc_group_cpu_ifma): both IFMA builds. */
static void
check_cpuid(void)
{
	uint32_t r0[4], r1[4], r7[4], lo, hi;
	int ifma, ifma256;

	cpuid(0, 0, r0);
	cpuid(1, 0, r1);
	cpuid(7, 0, r7);
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	(void)hi;
	ifma = udc_group_cpu_ifma(r0[0], r1[2], lo, r7[1], 0);
	ifma256 = udc_group_cpu_ifma(r0[0], r1[2], lo, r7[1], 1);
	put("EMU: cpuid.7 ebx avx512f ");
	putu((r7[1] >> 16) & 1);
	put(" avx512ifma ");
	putu((r7[1] >> 21) & 1);
	put(" avx512vl ");
	putu((r7[1] >> 31) & 1);
	put("; max leaf ");
	putu(r0[0]);
	put(", cpuid.1 ecx 0x");
	puthex32(r1[2]);
	put(", xcr0 0x");
	puthex32(lo);
	put(", cpuid.7 ebx 0x");
	puthex32(r7[1]);
	put("\nEMU: run-time choice (udc_group_cpu_ifma): ifma ");
	putu((uint64_t)ifma);
	put(", ifma256 ");
	putu((uint64_t)ifma256);
	put("\n");
	check(ifma && ifma256, "run-time choice on an IFMA CPU");
}

/*
 * Lanes and field, against the portable build.
 */
static void
fill_lv(udc_lv a)
{
	for (int i = 0; i < UDC_GROUP_LANES; i++) {
		uint64_t r = rnd();

		switch (rnd() & 7) {
		case 0:
			a[i] = 0;
			break;
		case 1:
			a[i] = ~0ULL;
			break;
		case 2:
			a[i] = r & 0xfffffffffffffULL;
			break;
		default:
			a[i] = r;
			break;
		}
	}
}

static void
fill_fe(udc_fe a)
{
	for (int k = 0; k < 5; k++)
		for (int i = 0; i < UDC_GROUP_LANES; i++)
			a[k][i] =
			    (rnd() & 3) == 0 ? 0xfffffffffffffULL : rnd() & 0xfffffffffffffULL;
}

static void
check_lanes(const struct udc_group_lanes *T)
{
	static const int counts[] = UDC_LSHIFTS;
	const struct udc_group_lanes *P = &udc_group_portable_lanes;
	udc_lv a, b, c, m, r1, r2, w1, w2;
	udc_fe x, y, f1, f2;
	int n = 0;

	for (int round = 0; round < 2000; round++) {
		fill_lv(a);
		fill_lv(b);
		fill_lv(c);
		if (round & 1)
			memcpy(b, a, 4 * sizeof(uint64_t));
		for (int i = 0; i < UDC_GROUP_LANES; i++)
			m[i] = (round & 2) ? rnd() : ((rnd() & 1) ? ~0ULL : 0);
		for (int op = 0; op < UDC_LOP_N; op++) {
			P->op2[op](r1, a, b);
			T->op2[op](r2, a, b);
			check(memcmp(r1, r2, sizeof(r1)) == 0, "lane op2");
		}
		P->madd52lo(r1, c, a, b);
		T->madd52lo(r2, c, a, b);
		check(memcmp(r1, r2, sizeof(r1)) == 0, "madd52lo");
		P->madd52hi(r1, c, a, b);
		T->madd52hi(r2, c, a, b);
		check(memcmp(r1, r2, sizeof(r1)) == 0, "madd52hi");
		P->blend(r1, a, b, m);
		T->blend(r2, a, b, m);
		check(memcmp(r1, r2, sizeof(r1)) == 0, "blend");
		P->set1(r1, a[0]);
		T->set1(r2, a[0]);
		check(memcmp(r1, r2, sizeof(r1)) == 0, "set1");
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			for (int left = 0; left < 2; left++) {
				P->shift(r1, a, left, counts[k]);
				T->shift(r2, a, left, counts[k]);
				check(memcmp(r1, r2, sizeof(r1)) == 0, "shift");
			}
		}
		n++;
	}
	for (int round = 0; round < 200; round++) {
		fill_fe(x);
		fill_fe(y);
		for (int op = 0; op < UDC_FOP_N; op++) {
			P->fe2[op](f1, (const uint64_t(*)[8])x, (const uint64_t(*)[8])y);
			T->fe2[op](f2, (const uint64_t(*)[8])x, (const uint64_t(*)[8])y);
			check(memcmp(f1, f2, sizeof(f1)) == 0, "field op2");
		}
		for (int op = 0; op < (round % 20 == 0 ? UDC_FOP1_N : UDC_FOP1_POW22523); op++) {
			P->fe1[op](f1, (const uint64_t(*)[8])x);
			T->fe1[op](f2, (const uint64_t(*)[8])x);
			check(memcmp(f1, f2, sizeof(f1)) == 0, "field op1");
		}
		if (round % 20 == 0) {
			P->sqrt_ratio(f1, w1, (const uint64_t(*)[8])x, (const uint64_t(*)[8])y);
			T->sqrt_ratio(f2, w2, (const uint64_t(*)[8])x, (const uint64_t(*)[8])y);
			check(memcmp(f1, f2, sizeof(f1)) == 0 && memcmp(w1, w2, sizeof(w1)) == 0,
			      "sqrt_ratio");
		}
	}
	put("EMU: ");
	put(T->name);
	put(": lanes (");
	putu((uint64_t)n);
	put(" rounds) and field (200 rounds) against portable done\n");
}

/*
 * The backends: known answers here, then the case stream for the host.
 */
static void
check_known(const struct udc_group_impl *im)
{
	uint8_t pts[16 * 32], out[16 * 32], want[16 * 32], h[16 * 64], ok[16], s[32];
	struct udc_group_key k;
	size_t L = udc_group_impl_lanes(im); /* a full call */

	/* A.1: k B = k times B, k = 0..15 (0: refused, zero) */
	for (size_t i = 0; i < L; i++)
		unhex(pts + i * 32, rfc9496_multiples[1], 32);
	for (int kk = 0; kk < 16; kk++) {
		memset(s, 0, sizeof(s));
		s[0] = (uint8_t)kk;
		udc_group_key_prepare(&k, s);
		im->mul(out, ok, &k, pts, L);
		unhex(want, rfc9496_multiples[kk], 32);
		for (size_t i = 0; i < L; i++)
			check(ok[i] == (kk != 0) && memcmp(out + i * 32, want, 32) == 0,
			      "A.1 multiple");
	}
	/* A.2 */
	for (size_t j = 0; j < RFC9496_NBAD; j += L) {
		size_t n = RFC9496_NBAD - j < L ? RFC9496_NBAD - j : L;

		for (size_t i = 0; i < n; i++)
			unhex(pts + i * 32, rfc9496_bad[j + i], 32);
		im->valid(ok, pts, n);
		for (size_t i = 0; i < n; i++)
			check(ok[i] == 0, "A.2 refused");
	}
	/* A.3 */
	for (size_t j = 0; j < RFC9496_NMAP; j += L) {
		size_t n = RFC9496_NMAP - j < L ? RFC9496_NMAP - j : L;

		for (size_t i = 0; i < n; i++)
			unhex(h + i * 64, rfc9496_map[j + i][0], 64);
		im->from_hash(out, h, n);
		for (size_t i = 0; i < n; i++) {
			unhex(want, rfc9496_map[j + i][1], 32);
			check(memcmp(out + i * 32, want, 32) == 0, "A.3 map");
		}
	}
	put("EMU: ");
	put(im->name);
	put(": RFC 9496 A.1, A.2, A.3 known answers done\n");
}

/*
 * The differential stream.  Each case is up to EMU_MAXN inputs, run
 * through both IFMA backends in calls of their lanes and printed for
 * check.c, which computes
 * libsodium's answer for the printed inputs and compares:
 *   EMUC op n scalar|- inputs
 *   EMUR backend ok|- outputs|-
 * op: V valid, F from_hash, M mul, H hash_mul.
 */
#ifndef EMU_ROUNDS
#define EMU_ROUNDS 64
#endif
/* Inputs per case: the widest backend's call (ifma: sixteen). */
#define EMU_MAXN 16

static const struct udc_group_impl *const emu_impls[2] = {&udc_group_ifma_impl,
                                                          &udc_group_ifma256_impl};
static uint64_t n_cases;

static void
put_bytes(const char *pre, const uint8_t *p, size_t n)
{
	put(pre);
	if (p)
		puthex(p, n);
	else
		put("-");
}

/* Runs one case; out (may be NULL) gets the ifma outputs. */
static void
emit(char op, const uint8_t *s, const uint8_t *in, size_t n, uint8_t *first_out)
{
	uint8_t out[2][EMU_MAXN * 32], ok[2][EMU_MAXN];
	char opstr[2] = {op, 0}, okstr[EMU_MAXN + 1];
	size_t inlen = (op == 'F' || op == 'H') ? 64 : 32;
	struct udc_group_key k;

	udc_group_key_prepare(&k, s ? s : (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	                                                   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	for (int b = 0; b < 2; b++) {
		const struct udc_group_impl *im = emu_impls[b];
		size_t lanes = udc_group_impl_lanes(im);

		memset(out[b], 0, sizeof(out[b]));
		memset(ok[b], 0, sizeof(ok[b]));
		for (size_t j = 0; j < n; j += lanes) {
			size_t m = n - j < lanes ? n - j : lanes;
			const uint8_t *x = in + j * inlen;

			switch (op) {
			case 'V':
				im->valid(ok[b] + j, x, m);
				break;
			case 'F':
				im->from_hash(out[b] + j * 32, x, m);
				break;
			case 'M':
				im->mul(out[b] + j * 32, ok[b] + j, &k, x, m);
				break;
			default:
				im->hash_mul(out[b] + j * 32, ok[b] + j, &k, x, m);
				break;
			}
		}
	}
	put("EMUC ");
	put(opstr);
	put(" ");
	putu(n);
	put_bytes(" ", s, 32);
	put_bytes(" ", in, n * inlen);
	put("\n");
	for (int b = 0; b < 2; b++) {
		put("EMUR ");
		put(emu_impls[b]->name);
		put(" ");
		if (op == 'V' || op == 'M' || op == 'H') {
			for (size_t i = 0; i < n; i++)
				okstr[i] = ok[b][i] ? '1' : '0';
			okstr[n] = 0;
			put(okstr);
		} else {
			put("-");
		}
		put_bytes(" ", op == 'V' ? NULL : out[b], n * 32);
		put("\n");
	}
	if (first_out)
		memcpy(first_out, out[0], n * 32);
	n_cases++;
}

/* Every array in cases of up to EMU_MAXN. */
static void
emit_all(char op, const uint8_t *s, const uint8_t *in, size_t n)
{
	size_t inlen = (op == 'F' || op == 'H') ? 64 : 32;

	for (size_t j = 0; j < n; j += EMU_MAXN)
		emit(op, s, in + j * inlen, n - j < EMU_MAXN ? n - j : EMU_MAXN, NULL);
}

static uint8_t e_pts[96 * 32], e_h[96 * 64];

static void
edge_cases(void)
{
	uint8_t scal[14][32], s[32];
	size_t n = 0, ns = 0;

	/* valid: A.1, A.2, and encodings around the canonical check */
	for (int i = 0; i < 16; i++)
		unhex(e_pts + i * 32, rfc9496_multiples[i], 32);
	emit_all('V', NULL, e_pts, 16);
	for (size_t i = 0; i < RFC9496_NBAD; i++)
		unhex(e_pts + i * 32, rfc9496_bad[i], 32);
	emit_all('V', NULL, e_pts, RFC9496_NBAD);
	memset(s, 0, sizeof(s));
	s[0] = 7;
	emit_all('M', s, e_pts, RFC9496_NBAD);
	memset(e_pts, 0, sizeof(e_pts));
	n = 1; /* the identity */
	for (int k = -1; k <= 18; k++, n++) { /* p - 1 .. p + 18 */
		memset(e_pts + n * 32, 0xff, 32);
		e_pts[n * 32 + 31] = 0x7f;
		e_pts[n * 32] = (uint8_t)(0xed + k);
	}
	for (int k = 1; k <= 6; k++, n++)
		e_pts[n * 32] = (uint8_t)k;
	for (int k = 1; k <= 8; k++) { /* the sign bit and bit 255 flipped */
		unhex(e_pts + n * 32, rfc9496_multiples[k], 32);
		e_pts[n++ * 32] ^= 1;
		unhex(e_pts + n * 32, rfc9496_multiples[k], 32);
		e_pts[n++ * 32 + 31] ^= 0x80;
	}
	e_pts[n++ * 32 + 31] = 0x80; /* the identity with bit 255 */
	memset(e_pts + n++ * 32, 0xff, 32);
	memset(e_pts + n++ * 32, 0xaa, 32);
	memset(e_pts + n++ * 32, 0x54, 32);
	emit_all('V', NULL, e_pts, n);
	memset(s, 0, sizeof(s));
	s[0] = 3;
	emit_all('M', s, e_pts, n);

	/* from_hash: A.3, and digests whose halves are at the map's edges */
	for (size_t i = 0; i < RFC9496_NMAP; i++)
		unhex(e_h + i * 64, rfc9496_map[i][0], 64);
	emit_all('F', NULL, e_h, RFC9496_NMAP);
	{
		static const int lows[] = {0x00, 0x01, 0xec, 0xed, 0xee, 0xff};

		n = 0;
		for (size_t a = 0; a < 6; a++) {
			for (size_t b = 0; b < 6; b++) {
				for (int top = 0; top < 2; top++, n++) {
					uint8_t *d = e_h + n * 64;

					memset(d, lows[a] >= 0xec ? 0xff : 0, 32);
					d[0] = (uint8_t)lows[a];
					d[31] = (uint8_t)((lows[a] >= 0xec ? 0x7f : 0) |
					                  (top ? 0x80 : 0));
					memset(d + 32, lows[b] >= 0xec ? 0xff : 0, 32);
					d[32] = (uint8_t)lows[b];
					d[63] = (uint8_t)((lows[b] >= 0xec ? 0x7f : 0) |
					                  (top ? 0 : 0x80));
				}
			}
		}
		emit_all('F', NULL, e_h, n);
		memset(s, 0, sizeof(s));
		s[0] = 5;
		emit_all('H', s, e_h, n);
	}

	/* scalars at the edges, over A.1 points, the identity and refused ones */
	memset(scal, 0, sizeof(scal));
	ns++;              /* 0 */
	scal[ns++][0] = 1; /* 1 */
	scal[ns++][0] = 2;
	memcpy(scal[ns], rfc9496_L, 32);
	scal[ns++][0] -= 1; /* L - 1 */
	memcpy(scal[ns++], rfc9496_L, 32);
	memcpy(scal[ns], rfc9496_L, 32);
	scal[ns++][0] += 1;    /* L + 1 */
	scal[ns++][31] = 0x10; /* 2^252 */
	memset(scal[ns], 0xff, 32);
	scal[ns++][31] = 0x7f;        /* 2^255 - 1 */
	memset(scal[ns++], 0xff, 32); /* bit 255 set: ignored */
	scal[ns][0] = 1;
	scal[ns++][31] = 0x80; /* 1 + 2^255: as 1 */
	memset(scal[ns++], 0x88, 32);  /* every radix-16 digit 8 */
	memset(scal[ns++], 0x77, 32);  /* every digit 7 */
	memset(scal[ns], 0x99, 32);    /* every digit -7 after recoding */
	scal[ns++][31] = 0x09;
	rnd_bytes(scal[ns], 32);
	scal[ns++][31] |= 0x80;
	for (int i = 0; i < 8; i++)
		unhex(e_pts + i * 32, rfc9496_multiples[i + 1], 32);
	memset(e_pts + 8 * 32, 0, 32); /* the identity */
	unhex(e_pts + 9 * 32, rfc9496_bad[3], 32);
	unhex(e_pts + 10 * 32, rfc9496_multiples[9], 32);
	unhex(e_pts + 11 * 32, rfc9496_bad[12], 32);
	rnd_bytes(e_h, 11 * 64);
	for (size_t i = 0; i < ns; i++) {
		emit_all('M', scal[i], e_pts, 12);
		emit_all('H', scal[i], e_h, 11);
	}
}

static void
random_cases(void)
{
	uint8_t h[EMU_MAXN * 64], pts[EMU_MAXN * 32], s[32];

	for (int r = 0; r < EMU_ROUNDS; r++) {
		size_t n = (rnd() & 1) ? EMU_MAXN : 1 + (size_t)(rnd() % EMU_MAXN);

		rnd_bytes(h, n * 64);
		emit('F', NULL, h, n, pts);
		for (size_t i = 0; i < n; i++) {
			switch (rnd() & 7) {
			case 0: /* one bit flipped */
				pts[i * 32 + (rnd() & 31)] ^= (uint8_t)(1u << (rnd() & 7));
				break;
			case 1: /* random bytes */
				rnd_bytes(pts + i * 32, 32);
				break;
			default:
				break;
			}
		}
		emit('V', NULL, pts, n, NULL);
		rnd_bytes(s, 32);
		emit('M', s, pts, n, NULL);
		rnd_bytes(s, 32);
		emit('H', s, h, n, NULL);
	}
}

static uint64_t
ticks(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void
put_phase(const char *what, uint64_t t0)
{
	put("EMU: time ");
	put(what);
	put(" ");
	putu((ticks() - t0) / 1000000);
	put(" Mticks\n");
}

extern uint8_t __bss_start[], __bss_end[];

__attribute__((section(".text.entry"))) void
emu_main(void)
{
	memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
	put("EMU: start\n");
	check_cpuid();
	if (failures == 0) {
		uint64_t t = ticks();

		check_lanes(&udc_group_ifma_lanes);
		check_lanes(&udc_group_ifma256_lanes);
		put_phase("lanes", t);
		t = ticks();
		check_known(&udc_group_ifma_impl);
		check_known(&udc_group_ifma256_impl);
		put_phase("known answers", t);
		t = ticks();
		edge_cases();
		put_phase("edge cases", t);
		put("EMU: edge cases: ");
		putu(n_cases);
		put(" calls\n");
		t = ticks();
		random_cases();
		put_phase("random cases", t);
		put("EMU DIFF: ");
		putu(n_cases);
		put(" calls, ");
		putu(EMU_ROUNDS);
		put(" random rounds\n");
	}
	put("EMU: ");
	putu((uint64_t)failures);
	put(" failures\n");
	put(failures == 0 ? "EMU RESULT: PASS\n" : "EMU RESULT: FAIL\n");
}
