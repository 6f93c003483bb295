/*
 * test_group_dispatch.c - how the batch group backend is chosen.
 *
 * CPUID against /proc/cpuinfo (an independent reading of the same flags),
 * names, the self-tests, udc_group_backend_set, and UDC_GROUP_BACKEND with
 * each value in a child process of its own (the choice is made once per
 * process), its log line included.
 *
 * Built a second time as test_group_fallback with UDC_TEST_BROKEN_PORTABLE:
 * the portable backend is then wrapped so that it gets one lane of one
 * multiplication wrong, and forcing it must end in libsodium with the
 * "self-test ... failed" line, as a broken IFMA build would on a machine
 * with IFMA.
 *
 * Built a third time as test_group_dispatch_ifmacpu with UDC_TEST_IFMA_CPU:
 * group_batch.c then reads the registers of the emulated Ice Lake
 * (corei7_icelake_u, as test_group_ifma_emulated prints them) instead of
 * this CPU's, and the ifma and ifma256 backends are the portable code under
 * those names (this machine may have no IFMA to run the real ones).  The
 * automatic choice must take ifma, and UDC_GROUP_BACKEND=libsodium must
 * still force libsodium.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "group_batch.h"
#include "group_impl.h"

#ifdef UDC_TEST_BROKEN_PORTABLE
/* group_portable.c is compiled with UDC_GROUP_PORTABLE_SYM=real_portable_impl. */
extern const struct udc_group_impl real_portable_impl;

static void
broken_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *in, size_t n)
{
	real_portable_impl.mul(out, ok, k, in, n);
	if (n > 2 && ok[2])
		out[2 * 32 + 7] ^= 0x10;
}

static void
broken_valid(uint8_t *ok, const uint8_t *in, size_t n)
{
	real_portable_impl.valid(ok, in, n);
}

static void
broken_from_hash(uint8_t *out, const uint8_t *h, size_t n)
{
	real_portable_impl.from_hash(out, h, n);
}

static void
broken_hash_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *h,
                size_t n)
{
	real_portable_impl.hash_mul(out, ok, k, h, n);
}

const struct udc_group_impl udc_group_portable_impl = {
    .name = "portable",
    .valid = broken_valid,
    .mul = broken_mul,
    .from_hash = broken_from_hash,
    .hash_mul = broken_hash_mul,
};
#endif

#ifdef UDC_TEST_IFMA_CPU
/* CPUID leaf 0 EAX, leaf 1 ECX, XCR0 and leaf 7 EBX of bochs's
 * corei7_icelake_u with the AVX-512 state enabled (test_group_ifma_emulated). */
void udc_group_test_cpu(uint32_t *max_leaf, uint32_t *ecx1, uint32_t *xcr0, uint32_t *ebx7);

void
udc_group_test_cpu(uint32_t *max_leaf, uint32_t *ecx1, uint32_t *xcr0, uint32_t *ebx7)
{
	*max_leaf = 27;
	*ecx1 = 0x7ffaf3bf;
	*xcr0 = 0xe7;
	*ebx7 = 0xf0bf27eb;
}

/* group_ifma.c and group_ifma256.c are not linked: the portable code runs
 * under their names. */
static void
p_valid(uint8_t *ok, const uint8_t *in, size_t n)
{
	udc_group_portable_impl.valid(ok, in, n);
}

static void
p_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *in, size_t n)
{
	udc_group_portable_impl.mul(out, ok, k, in, n);
}

static void
p_from_hash(uint8_t *out, const uint8_t *h, size_t n)
{
	udc_group_portable_impl.from_hash(out, h, n);
}

static void
p_hash_mul(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *h, size_t n)
{
	udc_group_portable_impl.hash_mul(out, ok, k, h, n);
}

const struct udc_group_impl udc_group_ifma_impl = {
    .name = "ifma",
    .valid = p_valid,
    .mul = p_mul,
    .from_hash = p_from_hash,
    .hash_mul = p_hash_mul,
};
const struct udc_group_impl udc_group_ifma256_impl = {
    .name = "ifma256",
    .valid = p_valid,
    .mul = p_mul,
    .from_hash = p_from_hash,
    .hash_mul = p_hash_mul,
};
#endif

#if !defined(UDC_TEST_BROKEN_PORTABLE) && !defined(UDC_TEST_IFMA_CPU)
static int
has_flag(const char *line, const char *flag)
{
	char a[64], b[64];

	snprintf(a, sizeof(a), " %s ", flag);
	snprintf(b, sizeof(b), " %s\n", flag);
	return strstr(line, a) != NULL || strstr(line, b) != NULL;
}

/* Whether /proc/cpuinfo lists avx512f and avx512ifma (and avx512vl if vl);
 * -1: no cpuinfo to read. */
static int
cpuinfo_has_ifma(int vl)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	int f512 = 0, ifma = 0, v = 0, seen = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		seen = 1;
		f512 = has_flag(line, "avx512f");
		ifma = has_flag(line, "avx512ifma");
		v = has_flag(line, "avx512vl");
		break;
	}
	fclose(f);
	return seen ? (f512 && ifma && (!vl || v)) : -1;
}
#endif

/*
 * A child with UDC_GROUP_BACKEND = value (NULL: unset) reports the backend
 * it chose; its stderr (the log) comes back in log.
 */
static int
choose_in_child(const char *value, char *log, size_t loglen)
{
	int out[2], err[2], status;
	pid_t pid;
	int b = -99;
	ssize_t got;
	size_t used = 0;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int chosen;

		close(out[0]);
		close(err[0]);
		dup2(err[1], 2);
		if (value != NULL)
			setenv("UDC_GROUP_BACKEND", value, 1);
		else
			unsetenv("UDC_GROUP_BACKEND");
		chosen = udc_group_backend();
		if (write(out[1], &chosen, sizeof(chosen)) != (ssize_t)sizeof(chosen))
			_exit(1);
		_exit(0);
	}
	close(out[1]);
	close(err[1]);
	assert_int_equal(read(out[0], &b, sizeof(b)), (ssize_t)sizeof(b));
	while (used + 1 < loglen && (got = read(err[0], log + used, loglen - 1 - used)) > 0)
		used += (size_t)got;
	log[used] = '\0';
	close(out[0]);
	close(err[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return b;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#if !defined(UDC_TEST_BROKEN_PORTABLE) && !defined(UDC_TEST_IFMA_CPU)
/* The decision on given registers: the emulated Ice Lake's, and the same
 * with one thing missing each time. */
static void
test_cpu_decision(void **state)
{
	const uint32_t max = 27, ecx1 = 0x7ffaf3bf, xcr0 = 0xe7, ebx7 = 0xf0bf27eb;

	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7, 0), 1);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7, 1), 1);
	/* no AVX-512VL: ifma only */
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7 & ~(UINT32_C(1) << 31), 0), 1);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7 & ~(UINT32_C(1) << 31), 1), 0);
	/* no IFMA (Skylake-X), no AVX-512F, no leaf 7 */
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7 & ~(UINT32_C(1) << 21), 0), 0);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, xcr0, ebx7 & ~(UINT32_C(1) << 16), 0), 0);
	assert_int_equal(udc_group_cpu_ifma(6, ecx1, xcr0, ebx7, 0), 0);
	/* an OS that does not save the opmask or zmm state, or no OSXSAVE */
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, 0x07, ebx7, 0), 0);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, 0xa7, ebx7, 0), 0);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1, 0x67, ebx7, 0), 0);
	assert_int_equal(udc_group_cpu_ifma(max, ecx1 & ~(UINT32_C(1) << 27), xcr0, ebx7, 0), 0);
}

static void
test_names(void **state)
{
	int b;

	assert_string_equal(udc_group_backend_name(UDC_GROUP_LIBSODIUM), "libsodium");
	assert_string_equal(udc_group_backend_name(UDC_GROUP_PORTABLE), "portable");
	assert_string_equal(udc_group_backend_name(UDC_GROUP_IFMA), "ifma");
	assert_string_equal(udc_group_backend_name(UDC_GROUP_IFMA256), "ifma256");
	assert_string_equal(udc_group_backend_name(7), "?");
	assert_string_equal(udc_group_backend_name(-1), "?");
	for (int i = 0; i < UDC_GROUP_NBACKENDS; i++) {
		assert_int_equal(udc_group_backend_parse(udc_group_backend_name(i), &b), 0);
		assert_int_equal(b, i);
	}
	assert_int_equal(udc_group_backend_parse("auto", &b), 0);
	assert_int_equal(b, UDC_GROUP_AUTO);
	assert_int_equal(udc_group_backend_parse("IFMA", &b), UDC_EINVAL);
	assert_int_equal(udc_group_backend_parse("", &b), UDC_EINVAL);
}

static void
test_cpuid(void **state)
{
	int want = cpuinfo_has_ifma(0), want_vl = cpuinfo_has_ifma(1);

	assert_int_equal(udc_group_backend_runs(UDC_GROUP_LIBSODIUM), 1);
	assert_int_equal(udc_group_backend_runs(UDC_GROUP_PORTABLE), 1);
	assert_int_equal(udc_group_backend_runs(UDC_GROUP_NBACKENDS), 0);
	assert_int_equal(udc_group_backend_runs(-1), 0);
	if (want < 0) {
		printf("test_cpuid: no /proc/cpuinfo: CPUID not cross-checked\n");
		return;
	}
	printf("test_cpuid: /proc/cpuinfo says avx512f+avx512ifma %s; CPUID+XCR0 say %s\n",
	       want ? "yes" : "no", udc_group_backend_runs(UDC_GROUP_IFMA) ? "yes" : "no");
	assert_int_equal(udc_group_backend_runs(UDC_GROUP_IFMA), want);
	assert_int_equal(udc_group_backend_runs(UDC_GROUP_IFMA256), want_vl);
}

static void
test_selftests(void **state)
{
	assert_int_equal(udc_group_selftest(UDC_GROUP_LIBSODIUM), 0);
	assert_int_equal(udc_group_selftest(UDC_GROUP_PORTABLE), 0);
	for (int b = UDC_GROUP_IFMA; b <= UDC_GROUP_IFMA256; b++) {
		if (udc_group_backend_runs(b))
			assert_int_equal(udc_group_selftest(b), 0);
		else
			assert_int_equal(udc_group_selftest(b), UDC_EINVAL);
	}
	assert_int_equal(udc_group_selftest(UDC_GROUP_NBACKENDS), UDC_EINVAL);
}

static void
test_env(void **state)
{
	int ifma = udc_group_backend_runs(UDC_GROUP_IFMA);
	int best = ifma ? UDC_GROUP_IFMA : UDC_GROUP_LIBSODIUM;
	char log[4096];

	assert_int_equal(choose_in_child(NULL, log, sizeof(log)), best);
	assert_non_null(strstr(log, "group backend"));
	assert_int_equal(count_lines(log), 1);
	assert_int_equal(choose_in_child("", log, sizeof(log)), best);
	assert_int_equal(choose_in_child("auto", log, sizeof(log)), best);
	assert_int_equal(choose_in_child("libsodium", log, sizeof(log)), UDC_GROUP_LIBSODIUM);
	assert_non_null(strstr(log, "group backend libsodium (UDC_GROUP_BACKEND)"));
	assert_int_equal(choose_in_child("portable", log, sizeof(log)), UDC_GROUP_PORTABLE);
	assert_non_null(strstr(log, "group backend portable (UDC_GROUP_BACKEND)"));
	assert_int_equal(count_lines(log), 1);
	assert_int_equal(choose_in_child("ifma", log, sizeof(log)), best);
	assert_int_equal(count_lines(log), 1);
	if (!ifma) {
		/* the one line says why */
		assert_non_null(strstr(log, "UDC_GROUP_BACKEND=ifma: this CPU does not run it"));
		assert_non_null(strstr(log, "using libsodium"));
	}
	assert_int_equal(choose_in_child("sse9", log, sizeof(log)), best);
	assert_non_null(strstr(log, "UDC_GROUP_BACKEND=sse9: not a backend"));
	assert_int_equal(count_lines(log), 1);
}

static void
test_set(void **state)
{
	int before = udc_group_backend();

	assert_int_equal(udc_group_backend_set(UDC_GROUP_PORTABLE), 0);
	assert_int_equal(udc_group_backend(), UDC_GROUP_PORTABLE);
	assert_int_equal(udc_group_backend_set(UDC_GROUP_LIBSODIUM), 0);
	assert_int_equal(udc_group_backend(), UDC_GROUP_LIBSODIUM);
	if (!udc_group_backend_runs(UDC_GROUP_IFMA)) {
		assert_int_equal(udc_group_backend_set(UDC_GROUP_IFMA), UDC_EINVAL);
		assert_int_equal(udc_group_backend(), UDC_GROUP_LIBSODIUM);
	}
	assert_int_equal(udc_group_backend_set(42), UDC_EINVAL);
	assert_int_equal(udc_group_backend_set(before), 0);
}
#elif defined(UDC_TEST_IFMA_CPU)
static void
test_ifma_cpu(void **state)
{
	char log[4096];

	assert_int_equal(udc_group_backend_runs(UDC_GROUP_IFMA), 1);
	assert_int_equal(udc_group_backend_runs(UDC_GROUP_IFMA256), 1);
	assert_int_equal(choose_in_child(NULL, log, sizeof(log)), UDC_GROUP_IFMA);
	assert_non_null(strstr(log, "group backend ifma\n"));
	assert_int_equal(count_lines(log), 1);
	assert_int_equal(choose_in_child("auto", log, sizeof(log)), UDC_GROUP_IFMA);
	assert_int_equal(choose_in_child("libsodium", log, sizeof(log)), UDC_GROUP_LIBSODIUM);
	assert_non_null(strstr(log, "group backend libsodium (UDC_GROUP_BACKEND)"));
	assert_int_equal(count_lines(log), 1);
	assert_int_equal(choose_in_child("ifma256", log, sizeof(log)), UDC_GROUP_IFMA256);
	assert_non_null(strstr(log, "group backend ifma256 (UDC_GROUP_BACKEND)"));
	assert_int_equal(choose_in_child("sse9", log, sizeof(log)), UDC_GROUP_IFMA);
	assert_non_null(strstr(log, "UDC_GROUP_BACKEND=sse9: not a backend"));
	assert_int_equal(udc_group_backend(), UDC_GROUP_IFMA);
}
#else
static void
test_broken_falls_back(void **state)
{
	char log[4096];

	/* First, while this process has not chosen yet (a child inherits the
	 * choice once made). */
	assert_int_equal(choose_in_child("portable", log, sizeof(log)), UDC_GROUP_LIBSODIUM);
	assert_non_null(strstr(log, "group backend portable: self-test against libsodium failed; "
	                            "using libsodium"));
	assert_int_equal(count_lines(log), 1);
	assert_int_equal(udc_group_selftest(UDC_GROUP_PORTABLE), UDC_ECRYPTO);
	assert_int_equal(udc_group_backend_set(UDC_GROUP_PORTABLE), UDC_ECRYPTO);
	assert_int_equal(udc_group_backend(), udc_group_backend_runs(UDC_GROUP_IFMA)
	                                          ? UDC_GROUP_IFMA
	                                          : UDC_GROUP_LIBSODIUM);
}
#endif

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#if defined(UDC_TEST_IFMA_CPU)
	    cmocka_unit_test(test_ifma_cpu),
#elif !defined(UDC_TEST_BROKEN_PORTABLE)
	    cmocka_unit_test(test_cpu_decision),
	    cmocka_unit_test(test_names),     cmocka_unit_test(test_cpuid),
	    cmocka_unit_test(test_selftests), cmocka_unit_test(test_env),
	    cmocka_unit_test(test_set),
#else
	    cmocka_unit_test(test_broken_falls_back),
#endif
	};

	/* Children inherit this process's environment otherwise. */
	unsetenv("UDC_GROUP_BACKEND");
	return cmocka_run_group_tests(tests, setup, NULL);
}
