/*
 * group_portable.c - the batch group backend over plain C lanes.
 *
 * group_core.inc compiled over group_lane_portable.h.  Slower than
 * libsodium on its own (see docs/batch-backend.md); it exists as the
 * reference the IFMA build is compared with lane by lane, and as the build
 * valgrind proves constant time on.  Chosen only when UDC_GROUP_BACKEND
 * forces it.
 */
#include "group_lane_portable.h"

/* test_group_fallback renames it to wrap it in a deliberately broken one. */
#ifndef UDC_GROUP_PORTABLE_SYM
#define UDC_GROUP_PORTABLE_SYM udc_group_portable_impl
#endif
#define GROUP_IMPL UDC_GROUP_PORTABLE_SYM
#define GROUP_LANES_TABLE udc_group_portable_lanes
#define GROUP_NAME "portable"
#include "group_core.inc"
