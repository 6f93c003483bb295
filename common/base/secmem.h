/*
 * secmem.h - locked memory for secrets and key-file hygiene.
 */
#ifndef UDC_SECMEM_H
#define UDC_SECMEM_H

#include <stddef.h>

/* sodium_init, and make the process non-dumpable (RLIMIT_CORE 0,
 * PR_SET_DUMPABLE 0) so that secrets never reach a core file. */
int udc_secmem_init(void);
/* Only sodium_init (for tools and tests that may dump core). */
int udc_crypto_init(void);
/* Guarded, mlock'ed allocation (sodium_malloc); NULL on failure. */
void *udc_secmem_alloc(size_t n);
/* Wipes and frees (sodium_free); NULL is fine. */
void udc_secmem_free(void *p);
/* Allocations made here and not yet freed (wiped): secrets alive now. */
long udc_secmem_live(void);
/* Refuses a key file that is not a regular file or whose mode allows any
 * access by group or others.  err gets "PATH: reason". */
int udc_keyfile_check(const char *path, char *err, size_t errlen);

#endif
