/*
 * secmem.c - locked memory for secrets and key-file hygiene.
 *
 * Round scalars and key material live in sodium_malloc'd pages (guarded,
 * mlock'ed, wiped on free); the process refuses to dump core so that none of
 * it reaches a disk; key files readable by anyone but their owner are refused
 * (as OpenSMTPD does for its TLS keys).
 */
#include "secmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <sodium.h>
#include <stdatomic.h>

#include "err.h"

int
udc_crypto_init(void)
{
	/* sodium_init returns 1 when already initialised: that is fine. */
	if (sodium_init() < 0)
		return UDC_ECRYPTO;
	return 0;
}

int
udc_secmem_init(void)
{
	struct rlimit rl = {0, 0};
	int rv;

	if ((rv = udc_crypto_init()) != 0)
		goto out;
	/* Both: RLIMIT_CORE alone is ignored when core_pattern pipes to a
	 * helper, and PR_SET_DUMPABLE 0 also keeps ptrace by the same user
	 * away from the process. */
	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		rv = UDC_EIO;
		goto out;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		rv = UDC_EIO;
		goto out;
	}
	rv = 0;
out:
	return rv;
}

/* Secrets in locked memory right now: a round that ends must bring this
 * back to where it was, or a secret outlived it (tests check this). */
static atomic_long secmem_live;

void *
udc_secmem_alloc(size_t n)
{
	void *p = sodium_malloc(n);
	if (p)
		atomic_fetch_add(&secmem_live, 1);
	return p;
}

void
udc_secmem_free(void *p)
{
	/* sodium_free wipes before it frees, and accepts NULL. */
	if (p)
		atomic_fetch_sub(&secmem_live, 1);
	sodium_free(p);
}

long
udc_secmem_live(void)
{
	return atomic_load(&secmem_live);
}

int
udc_keyfile_check(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int rv;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (stat(path, &st) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: not a regular file", path);
		rv = UDC_EPERM;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: mode %04o is too open, need 0600 or stricter",
			         path, (unsigned)(st.st_mode & 07777));
		rv = UDC_EPERM;
		goto out;
	}
	rv = 0;
out:
	return rv;
}
