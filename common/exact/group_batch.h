/*
 * group_batch.h - ristretto255 operations on arrays of points, on the
 * fastest backend this CPU runs.
 *
 * Backends: libsodium one point at a time (the reference, and the fallback
 * everywhere), and sixteen points at a time in radix 2^52 with AVX-512 IFMA
 * (eight lanes in each of two registers, so that two chains of dependent
 * multiply-adds overlap),
 * with a portable build of the same code (plain C lanes) that is slower than
 * libsodium and exists to prove the vector code constant time under
 * valgrind and to check the IFMA build lane by lane.  Every backend gives
 * libsodium's results byte for byte, refusals included
 * (tests/unit/test_group_diff.c).  docs/batch-backend.md has the design.
 *
 * Choice: on first use, from UDC_GROUP_BACKEND (libsodium, portable, ifma,
 * ifma256, auto; unset = auto) and CPUID: auto takes ifma where the CPU and
 * OS run AVX-512F+IFMA, libsodium elsewhere (ifma256, the same code on
 * 256-bit registers, only when forced, until a machine with IFMA shows it
 * faster).  A vector backend is used only after
 * it has passed a self-test against libsodium; if it fails, or the forced
 * one cannot run here, libsodium is used and one line is logged.
 *
 * The operations run on the calling thread (callers parallelise over the
 * worker pool) and may be called from several threads at once.  A scalar is
 * 32 bytes little endian; bit 255 is ignored, as crypto_scalarmult_ristretto255
 * ignores it.  The caller owns every buffer; nothing is kept after a call.
 * The backend b of each operation must be one this CPU runs: the one
 * udc_group_backend() returns, or one udc_group_backend_runs() accepted.
 */
#ifndef UDC_GROUP_BATCH_H
#define UDC_GROUP_BATCH_H

#include <stddef.h>
#include <stdint.h>

enum udc_group_backend {
	UDC_GROUP_LIBSODIUM = 0,
	UDC_GROUP_PORTABLE = 1,
	UDC_GROUP_IFMA = 2,
	UDC_GROUP_IFMA256 = 3, /* the same on 256-bit registers (AVX-512VL) */
	UDC_GROUP_NBACKENDS = 4,
	UDC_GROUP_AUTO = -1,
};

/* Points per group: the most any backend computes at once (ifma: sixteen,
 * eight lanes in each of two registers); callers that hash or check points
 * group by group hand over this many at a time. */
#define UDC_GROUP_BATCH 16

/* Points backend b computes in one call (16 for ifma, 8 for the others). */
unsigned udc_group_backend_lanes(int b);

/* "libsodium", "portable", "ifma", "ifma256"; "?" for anything else. */
const char *udc_group_backend_name(int b);
/* The name (or "auto") to a backend or UDC_GROUP_AUTO: 0, or UDC_EINVAL. */
int udc_group_backend_parse(const char *s, int *b);
/* 1 if this CPU and OS execute backend b, else 0. */
int udc_group_backend_runs(int b);
/* The backend in use (chosen on the first call, see above). */
int udc_group_backend(void);
/* Use b from now on (tests, benchmarks): UDC_EINVAL if this CPU cannot run
 * it, UDC_ECRYPTO if its self-test fails; the backend in use is then kept. */
int udc_group_backend_set(int b);
/* Backend b against libsodium on fixed and pseudo-random inputs, every
 * operation, full groups and a tail: 0 or UDC_ECRYPTO. */
int udc_group_selftest(int b);

/* ok[i] = 1 if in[i] is a valid encoding (crypto_core_ristretto255_is_valid_point;
 * the identity is valid), else 0. */
void udc_group_valid(int b, uint8_t *ok, const uint8_t *in, size_t n);
/* out[i] = s * in[i], ok[i] = 1; or ok[i] = 0 and out[i] zero where
 * crypto_scalarmult_ristretto255 fails (invalid input, identity result).
 * out may equal in.  Returns how many failed. */
size_t udc_group_mul(int b, uint8_t *out, uint8_t *ok, const uint8_t s[32], const uint8_t *in,
                     size_t n);
/* out[i] = crypto_core_ristretto255_from_hash(h + 64 i). */
void udc_group_from_hash(int b, uint8_t *out, const uint8_t *h, size_t n);
/* out[i] = s * from_hash(h + 64 i), as udc_group_mul of udc_group_from_hash
 * (the same bytes) with one encode and decode fewer.  Returns how many
 * results were the identity (ok[i] = 0, out[i] zero). */
size_t udc_group_hash_mul(int b, uint8_t *out, uint8_t *ok, const uint8_t s[32], const uint8_t *h,
                          size_t n);

#endif
