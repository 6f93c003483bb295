/*
 * dice.c - Dice coefficient kernels with run-time CPU dispatch.
 *
 * Every path is compiled in this one file with a target attribute, so the
 * build needs no -mavx2 / -mavx512* flags and the binary still runs on a CPU
 * without them; __builtin_cpu_supports picks the path on first use.  The
 * paths differ only in how they count bits; tests compare each with a
 * bit-by-bit reference.
 */
#include <stdatomic.h>
#include <string.h>

#include <immintrin.h>

#include "dice.h"
#include "err.h"

typedef uint32_t (*popcount_fn)(const uint64_t *a, size_t nwords);
typedef uint32_t (*andcount_fn)(const uint64_t *a, const uint64_t *b, size_t nwords);
typedef void (*andcounts_fn)(const uint64_t *q, const uint64_t *f, size_t n, size_t nwords,
                             uint32_t *out);

struct dice_ops {
	popcount_fn popcount;
	andcount_fn andcount;
	andcounts_fn andcounts;
};

/* ---------- portable ---------- */

static uint32_t
pc_portable(const uint64_t *a, size_t nwords)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		c += (uint64_t)__builtin_popcountll(a[i]);
	return (uint32_t)c;
}

static uint32_t
and_portable(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		c += (uint64_t)__builtin_popcountll(a[i] & b[i]);
	return (uint32_t)c;
}

static void
ands_portable(const uint64_t *q, const uint64_t *f, size_t n, size_t nwords, uint32_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = and_portable(q, f + i * nwords, nwords);
}

/* ---------- scalar with the POPCNT instruction ---------- */

__attribute__((target("popcnt"))) static uint32_t
pc_popcnt(const uint64_t *a, size_t nwords)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < nwords; i++)
		c += (uint64_t)__builtin_popcountll(a[i]);
	return (uint32_t)c;
}

__attribute__((target("popcnt"))) static uint32_t
and_popcnt(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	/* four accumulators: popcnt has a false dependency on its output on
	 * some CPUs, and independent sums let the loads overlap */
	uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
	size_t i = 0;

	for (; i + 4 <= nwords; i += 4) {
		c0 += (uint64_t)__builtin_popcountll(a[i] & b[i]);
		c1 += (uint64_t)__builtin_popcountll(a[i + 1] & b[i + 1]);
		c2 += (uint64_t)__builtin_popcountll(a[i + 2] & b[i + 2]);
		c3 += (uint64_t)__builtin_popcountll(a[i + 3] & b[i + 3]);
	}
	for (; i < nwords; i++)
		c0 += (uint64_t)__builtin_popcountll(a[i] & b[i]);
	return (uint32_t)(c0 + c1 + c2 + c3);
}

__attribute__((target("popcnt"))) static void
ands_popcnt(const uint64_t *q, const uint64_t *f, size_t n, size_t nwords, uint32_t *out)
{
	size_t i;

	/* a constant length lets the compiler unroll the 1024-bit case fully */
	if (nwords == 16) {
		for (i = 0; i < n; i++)
			out[i] = and_popcnt(q, f + i * 16, 16);
		return;
	}
	/* one feature's 256-bit filter (field scoring, the feature join): the
	 * query in registers, four popcounts per filter */
	if (nwords == 4) {
		const uint64_t q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];

		for (i = 0; i < n; i++, f += 4)
			out[i] = (uint32_t)(__builtin_popcountll(q0 & f[0]) +
			                    __builtin_popcountll(q1 & f[1]) +
			                    __builtin_popcountll(q2 & f[2]) +
			                    __builtin_popcountll(q3 & f[3]));
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = and_popcnt(q, f + i * nwords, nwords);
}

/* ---------- AVX2: popcount of bytes by nibble table (Mula et al.) ---------- */

__attribute__((target("avx2,popcnt"))) static inline __m256i
popcnt256(__m256i v)
{
	const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1,
	                                     1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i low = _mm256_set1_epi8(0x0f);
	__m256i lo = _mm256_and_si256(v, low);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
	__m256i cnt = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
	/* byte counts summed into four 64-bit lanes */
	return _mm256_sad_epu8(cnt, _mm256_setzero_si256());
}

__attribute__((target("avx2,popcnt"))) static inline uint64_t
hsum256(__m256i v)
{
	__m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	return (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
}

__attribute__((target("avx2,popcnt"))) static uint32_t
pc_avx2(const uint64_t *a, size_t nwords)
{
	__m256i acc = _mm256_setzero_si256();
	uint64_t c;
	size_t i = 0;

	for (; i + 4 <= nwords; i += 4)
		acc =
		    _mm256_add_epi64(acc, popcnt256(_mm256_loadu_si256((const __m256i *)(a + i))));
	c = hsum256(acc);
	for (; i < nwords; i++)
		c += (uint64_t)__builtin_popcountll(a[i]);
	return (uint32_t)c;
}

__attribute__((target("avx2,popcnt"))) static uint32_t
and_avx2(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	__m256i acc = _mm256_setzero_si256();
	uint64_t c;
	size_t i = 0;

	for (; i + 4 <= nwords; i += 4) {
		__m256i x = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(a + i)),
		                             _mm256_loadu_si256((const __m256i *)(b + i)));
		acc = _mm256_add_epi64(acc, popcnt256(x));
	}
	c = hsum256(acc);
	for (; i < nwords; i++)
		c += (uint64_t)__builtin_popcountll(a[i] & b[i]);
	return (uint32_t)c;
}

/* 1024-bit filters: the query stays in four registers */
__attribute__((target("avx2,popcnt"))) static void
ands_avx2_16(const uint64_t *q, const uint64_t *f, size_t n, uint32_t *out)
{
	const __m256i q0 = _mm256_loadu_si256((const __m256i *)q);
	const __m256i q1 = _mm256_loadu_si256((const __m256i *)(q + 4));
	const __m256i q2 = _mm256_loadu_si256((const __m256i *)(q + 8));
	const __m256i q3 = _mm256_loadu_si256((const __m256i *)(q + 12));
	size_t i;

	for (i = 0; i < n; i++, f += 16) {
		__m256i a = popcnt256(_mm256_and_si256(q0, _mm256_loadu_si256((const __m256i *)f)));
		__m256i b =
		    popcnt256(_mm256_and_si256(q1, _mm256_loadu_si256((const __m256i *)(f + 4))));
		__m256i c =
		    popcnt256(_mm256_and_si256(q2, _mm256_loadu_si256((const __m256i *)(f + 8))));
		__m256i d =
		    popcnt256(_mm256_and_si256(q3, _mm256_loadu_si256((const __m256i *)(f + 12))));
		out[i] = (uint32_t)hsum256(
		    _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
	}
}

__attribute__((target("avx2,popcnt"))) static void
ands_avx2(const uint64_t *q, const uint64_t *f, size_t n, size_t nwords, uint32_t *out)
{
	size_t i;

	if (nwords == 16) {
		ands_avx2_16(q, f, n, out);
		return;
	}
	/* one feature's filter: the table popcount's horizontal sum per
	 * filter costs more than POPCNT on four words */
	if (nwords == 4) {
		ands_popcnt(q, f, n, nwords, out);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = and_avx2(q, f + i * nwords, nwords);
}

/* ---------- AVX-512 VPOPCNTDQ ---------- */

#define T512 __attribute__((target("avx512f,avx512vpopcntdq")))

T512 static uint32_t
pc_avx512(const uint64_t *a, size_t nwords)
{
	__m512i acc = _mm512_setzero_si512();
	size_t i = 0;

	for (; i + 8 <= nwords; i += 8)
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_loadu_si512(a + i)));
	if (i < nwords) {
		/* masked load: the tail never reads past the filter */
		__mmask8 m = (__mmask8)((1u << (nwords - i)) - 1);
		acc =
		    _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_maskz_loadu_epi64(m, a + i)));
	}
	return (uint32_t)_mm512_reduce_add_epi64(acc);
}

T512 static uint32_t
and_avx512(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	__m512i acc = _mm512_setzero_si512();
	size_t i = 0;

	for (; i + 8 <= nwords; i += 8) {
		__m512i x = _mm512_and_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
	}
	if (i < nwords) {
		__mmask8 m = (__mmask8)((1u << (nwords - i)) - 1);
		__m512i x = _mm512_and_si512(_mm512_maskz_loadu_epi64(m, a + i),
		                             _mm512_maskz_loadu_epi64(m, b + i));
		acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
	}
	return (uint32_t)_mm512_reduce_add_epi64(acc);
}

/* The common CLK sizes (512, 1024, 2048 bits) keep the query in registers
 * across the whole array. */
T512 static void
ands_avx512_16(const uint64_t *q, const uint64_t *f, size_t n, uint32_t *out)
{
	__m512i q0 = _mm512_loadu_si512(q), q1 = _mm512_loadu_si512(q + 8);
	size_t i;

	for (i = 0; i < n; i++, f += 16) {
		__m512i c0 = _mm512_popcnt_epi64(_mm512_and_si512(q0, _mm512_loadu_si512(f)));
		__m512i c1 = _mm512_popcnt_epi64(_mm512_and_si512(q1, _mm512_loadu_si512(f + 8)));
		out[i] = (uint32_t)_mm512_reduce_add_epi64(_mm512_add_epi64(c0, c1));
	}
}

T512 static void
ands_avx512(const uint64_t *q, const uint64_t *f, size_t n, size_t nwords, uint32_t *out)
{
	size_t i;

	if (nwords == 16) {
		ands_avx512_16(q, f, n, out);
		return;
	}
	for (i = 0; i < n; i++)
		out[i] = and_avx512(q, f + i * nwords, nwords);
}

/* ---------- dispatch ---------- */

static const struct dice_ops ops_table[UDC_DICE_NIMPL] = {
    [UDC_DICE_PORTABLE] = {pc_portable, and_portable, ands_portable},
    [UDC_DICE_POPCNT] = {pc_popcnt, and_popcnt, ands_popcnt},
    [UDC_DICE_AVX2] = {pc_avx2, and_avx2, ands_avx2},
    [UDC_DICE_AVX512] = {pc_avx512, and_avx512, ands_avx512},
};

static _Atomic int selected; /* 0 = not chosen yet */

const char *
udc_dice_impl_name(enum udc_dice_impl impl)
{
	switch (impl) {
	case UDC_DICE_AUTO:
		return "auto";
	case UDC_DICE_PORTABLE:
		return "portable";
	case UDC_DICE_POPCNT:
		return "popcnt";
	case UDC_DICE_AVX2:
		return "avx2";
	case UDC_DICE_AVX512:
		return "avx512-vpopcntdq";
	}
	return "unknown";
}

int
udc_dice_supported(enum udc_dice_impl impl)
{
	__builtin_cpu_init();
	switch (impl) {
	case UDC_DICE_AUTO:
	case UDC_DICE_PORTABLE:
		return 1;
	case UDC_DICE_POPCNT:
		return __builtin_cpu_supports("popcnt") ? 1 : 0;
	case UDC_DICE_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? 1 : 0;
	case UDC_DICE_AVX512:
		return __builtin_cpu_supports("avx512f") &&
		               __builtin_cpu_supports("avx512vpopcntdq")
		           ? 1
		           : 0;
	}
	return 0;
}

int
udc_dice_select(enum udc_dice_impl impl)
{
	int i;

	if ((int)impl < 0 || (int)impl >= UDC_DICE_NIMPL || !udc_dice_supported(impl))
		return UDC_EINVAL;
	if (impl == UDC_DICE_AUTO) {
		for (i = UDC_DICE_NIMPL - 1; i > UDC_DICE_PORTABLE; i--)
			if (udc_dice_supported((enum udc_dice_impl)i))
				break;
		impl = (enum udc_dice_impl)i;
	}
	atomic_store(&selected, (int)impl);
	return 0;
}

enum udc_dice_impl
udc_dice_selected(void)
{
	int s = atomic_load(&selected);

	if (s == 0) {
		udc_dice_select(UDC_DICE_AUTO);
		s = atomic_load(&selected);
	}
	return (enum udc_dice_impl)s;
}

static const struct dice_ops *
ops(void)
{
	return &ops_table[udc_dice_selected()];
}

uint32_t
udc_dice_popcount(const uint64_t *a, size_t nwords)
{
	return ops()->popcount(a, nwords);
}

void
udc_dice_popcounts(const uint64_t *filters, size_t nfilters, size_t nwords, uint32_t *out)
{
	popcount_fn pc = ops()->popcount;
	size_t i;

	for (i = 0; i < nfilters; i++)
		out[i] = pc(filters + i * nwords, nwords);
}

uint32_t
udc_dice_and_count(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	return ops()->andcount(a, b, nwords);
}

double
udc_dice_from_counts(uint32_t and_count, uint32_t pop_a, uint32_t pop_b)
{
	uint64_t den = (uint64_t)pop_a + pop_b;

	return den == 0 ? 0.0 : 2.0 * and_count / (double)den;
}

double
udc_dice(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	const struct dice_ops *o = ops();

	return udc_dice_from_counts(o->andcount(a, b, nwords), o->popcount(a, nwords),
	                            o->popcount(b, nwords));
}

void
udc_dice_and_counts(const uint64_t *q, const uint64_t *filters, size_t n, size_t nwords,
                    uint32_t *out)
{
	ops()->andcounts(q, filters, n, nwords, out);
}

void
udc_dice_scores(const uint64_t *q, uint32_t qpop, const uint64_t *filters, const uint32_t *pops,
                size_t n, size_t nwords, double *out)
{
	andcounts_fn ands = ops()->andcounts;
	uint32_t cnt[256];
	size_t done, i, m;

	/* counts in blocks that stay in L1, then the divisions */
	for (done = 0; done < n; done += m) {
		m = n - done < 256 ? n - done : 256;
		ands(q, filters + done * nwords, m, nwords, cnt);
		for (i = 0; i < m; i++)
			out[done + i] = udc_dice_from_counts(cnt[i], qpop, pops[done + i]);
	}
}

void
udc_dice_words_from_bytes(const uint8_t *bytes, size_t nbytes, uint64_t *words, size_t nwords)
{
	size_t i;

	memset(words, 0, nwords * sizeof(*words));
	for (i = 0; i < nbytes && i / 8 < nwords; i++)
		words[i / 8] |= (uint64_t)bytes[i] << (8 * (i % 8));
}
