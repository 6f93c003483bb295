/*
 * rand.h - the one source of randomness.
 *
 * Everything random in udclink (scalars, filler points, shuffles, round ids)
 * goes through udc_random_buf so that a unit test can make it predictable
 * with udc_random_set_source.  The default source is libsodium's randombytes.
 */
#ifndef UDC_RAND_H
#define UDC_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef void (*udc_random_fn)(void *buf, size_t n, void *ctx);

void udc_random_buf(void *buf, size_t n);
/* Uniform in [0, upper); upper > 0.  Unbiased (rejection sampling). */
uint32_t udc_random_uniform(uint32_t upper);
/* Installs a source for tests; fn == NULL restores libsodium.  Not thread safe. */
void udc_random_set_source(udc_random_fn fn, void *ctx);
/* Fisher-Yates shuffle of n elements of size bytes each (n < 2^32). */
void udc_shuffle(void *base, size_t n, size_t size);

/* Many draws from one buffer of udc_random_buf output: libsodium's default
 * source makes a getrandom() system call per request, which a shuffle of a
 * million records paid a million times.  Wipe it after use. */
struct udc_random_stream {
	uint8_t buf[1024];
	size_t pos;
};

void udc_random_stream_init(struct udc_random_stream *r);
/* uniform in [0, upper), upper < 2 gives 0; rejection sampling as above */
uint64_t udc_random_stream_uniform(struct udc_random_stream *r, uint64_t upper);
void udc_random_stream_wipe(struct udc_random_stream *r);

#endif
