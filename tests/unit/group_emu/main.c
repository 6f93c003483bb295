/*
 * main.c - the IFMA builds of the batch group backend, run where no IFMA
 * hardware is: a freestanding payload for an emulated Ice Lake (bochs).
 *
 * boot.s enters 64-bit mode with the AVX-512 state enabled and calls
 * emu_main.  It checks, and prints on port 0xe9:
 *  - CPUID: the emulated CPU reports AVX-512F, IFMA and VL;
 *  - every lane operation of ifma and ifma256 against the portable build
 *    on pseudo-random inputs, and every field operation bit for bit;
 *  - the RFC 9496 vectors through the ifma and ifma256 backends (A.1: k B
 *    as k times B, A.2: refused encodings, A.3: the map);
 *  - valid, from_hash, mul and hash_mul of ifma and ifma256 against the
 *    portable backend on pseudo-random inputs (the portable backend is
 *    itself checked against libsodium by test_group_diff_portable);
 * and ends with "EMU RESULT: PASS" or "EMU RESULT: FAIL".  No libc: the
 * few functions the code needs are defined here.
 */
#include <stddef.h>
#include <stdint.h>

#include "group_impl.h"

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
check_cpuid(void)
{
	uint32_t a = 7, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	put("EMU: cpuid.7 ebx avx512f ");
	putu((b >> 16) & 1);
	put(" avx512ifma ");
	putu((b >> 21) & 1);
	put(" avx512vl ");
	putu((b >> 31) & 1);
	put("\n");
	check(((b >> 16) & 1) && ((b >> 21) & 1) && ((b >> 31) & 1), "cpu model without IFMA");
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
 * The backends: known answers, then against the portable backend.
 */
static const char *const multiples[9] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
};

static const char *const bad[] = {
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
};

static const char *const map_in[3] = {
    "5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1"
    "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
    "f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27"
    "0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    "1200000000000000000000000000000000000000000000000000000000000000",
};
static const char *const map_out[3] = {
    "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46",
    "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b",
    "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f",
};

static void
key_digits(struct udc_group_key *k, int small)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < 64; i++)
		k->e[i] = small >= 0 ? 0 : (int8_t)((int)(rnd() % 17) - 8);
	if (small >= 0)
		k->e[0] = (int8_t)small;
}

static void
check_backend(const struct udc_group_impl *im)
{
	const struct udc_group_impl *P = &udc_group_portable_impl;
	uint8_t pts[8 * 32], out[8 * 32], want[8 * 32], h[8 * 64], ok[8], wok[8];
	struct udc_group_key k;
	uint64_t n_valid = 0, n_hash = 0, n_mul = 0, n_hmul = 0;

	/* A.1: k B = k times B, k = 0..8 (0: refused, zero) */
	for (int i = 0; i < 8; i++)
		unhex(pts + i * 32, multiples[1], 32);
	for (int kk = 0; kk <= 8; kk++) {
		key_digits(&k, kk);
		im->mul(out, ok, &k, pts, 8);
		unhex(want, multiples[kk], 32);
		for (int i = 0; i < 8; i++)
			check(ok[i] == (kk != 0) && memcmp(out + i * 32, want, 32) == 0,
			      "A.1 multiple");
	}
	/* A.2 */
	for (int i = 0; i < 8; i++)
		unhex(pts + i * 32, bad[i], 32);
	im->valid(ok, pts, 8);
	for (int i = 0; i < 8; i++)
		check(ok[i] == 0, "A.2 refused");
	/* A.3 */
	for (int i = 0; i < 3; i++)
		unhex(h + i * 64, map_in[i], 64);
	im->from_hash(out, h, 3);
	for (int i = 0; i < 3; i++) {
		unhex(want, map_out[i], 32);
		check(memcmp(out + i * 32, want, 32) == 0, "A.3 map");
	}
	/* pseudo-random, full groups and tails */
	for (int round = 0; round < 48; round++) {
		size_t n = round % 4 == 3 ? (size_t)(1 + round % 7) : 8;

		rnd_bytes(h, sizeof(h));
		P->from_hash(want, h, n);
		im->from_hash(out, h, n);
		check(memcmp(out, want, n * 32) == 0, "from_hash");
		n_hash += n;
		memcpy(pts, want, sizeof(pts));
		for (size_t i = 0; i < n; i++)
			if ((rnd() & 3) == 0)
				pts[i * 32 + (rnd() & 31)] ^= (uint8_t)(1u << (rnd() & 7));
		P->valid(wok, pts, n);
		im->valid(ok, pts, n);
		check(memcmp(ok, wok, n) == 0, "valid");
		n_valid += n;
		key_digits(&k, -1);
		P->mul(want, wok, &k, pts, n);
		im->mul(out, ok, &k, pts, n);
		check(memcmp(ok, wok, n) == 0 && memcmp(out, want, n * 32) == 0, "mul");
		n_mul += n;
		if (round % 2 == 0) {
			P->hash_mul(want, wok, &k, h, n);
			im->hash_mul(out, ok, &k, h, n);
			check(memcmp(ok, wok, n) == 0 && memcmp(out, want, n * 32) == 0,
			      "hash_mul");
			n_hmul += n;
		}
	}
	put("EMU: ");
	put(im->name);
	put(": RFC 9496 A.1, A.2, A.3 done; against portable: ");
	putu(n_valid);
	put(" valid, ");
	putu(n_hash);
	put(" from_hash, ");
	putu(n_mul);
	put(" mul, ");
	putu(n_hmul);
	put(" hash_mul; last output ");
	puthex(out, 8);
	put("\n");
}

extern uint8_t __bss_start[], __bss_end[];

__attribute__((section(".text.entry"))) void
emu_main(void)
{
	memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
	put("EMU: start\n");
	check_cpuid();
	if (failures == 0) {
		check_lanes(&udc_group_ifma_lanes);
		check_lanes(&udc_group_ifma256_lanes);
		check_backend(&udc_group_ifma_impl);
		check_backend(&udc_group_ifma256_impl);
	}
	put("EMU: ");
	putu((uint64_t)failures);
	put(" failures\n");
	put(failures == 0 ? "EMU RESULT: PASS\n" : "EMU RESULT: FAIL\n");
}
