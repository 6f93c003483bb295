/*
 * sodium.h - for the freestanding IFMA check payload (main.c): the one
 * libsodium function the vector code calls.  Found before the real header
 * only when the payload is compiled.
 */
#ifndef UDC_GROUP_EMU_SODIUM_H
#define UDC_GROUP_EMU_SODIUM_H

#include <stddef.h>

void sodium_memzero(void *p, size_t n);

#endif
