/*
 * group_ifma256.c - the batch group backend on AVX-512 IFMA, 256 bits wide.
 *
 * group_core.inc compiled over group_lane_ifma256.h, with the target switched
 * to avx512f+avx512vl+avx512ifma for this file only: the rest of udclink stays
 * baseline x86-64, and group_batch.c calls in here only after CPUID (and
 * the OS's XCR0) said the CPU runs these instructions and a self-test
 * against libsodium passed.  On other architectures the tables exist but
 * are never selected.
 */
#if defined(__x86_64__)

/* Headers first, so that only this file's own functions change target. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include <sodium.h>
#include "group_impl.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512ifma"))),               \
                             apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512ifma")
#endif

#include "group_lane_ifma256.h"

#define GROUP_IMPL udc_group_ifma256_impl
#define GROUP_LANES_TABLE udc_group_ifma256_lanes
#define GROUP_NAME "ifma256"
#include "group_core.inc"

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

#else /* not x86-64: nothing to run, and group_batch.c never selects it */

#include <stddef.h>
#include "group_impl.h"

const struct udc_group_impl udc_group_ifma256_impl = {.name = "ifma256"};
const struct udc_group_lanes udc_group_ifma256_lanes = {.name = "ifma256"};

#endif
