/*
 * workq.h - the crypto worker pool.
 *
 * A fixed set of threads runs index ranges of a parallel loop; the calling
 * thread works too, so a pool of N threads keeps N+1 busy only while the
 * caller is in udc_workq_parallel.  Several callers may share one pool.
 */
#ifndef UDC_WORKQ_H
#define UDC_WORKQ_H

#include <stddef.h>

struct udc_workq;

/* nthreads helper threads; 0 = (online CPUs - 1), at least 1. */
int udc_workq_new(struct udc_workq **out, unsigned nthreads);
void udc_workq_free(struct udc_workq *wq);
/* Threads that work on a loop, caller included. */
unsigned udc_workq_width(const struct udc_workq *wq);

typedef int (*udc_range_fn)(void *arg, size_t begin, size_t end);
/* Runs fn over [0, n) in ranges of about grain items (grain 0 = automatic);
 * returns when all ranges are done: 0, or the first nonzero return of fn
 * (remaining ranges are then skipped). */
int udc_workq_parallel(struct udc_workq *wq, size_t n, size_t grain, udc_range_fn fn, void *arg);

#endif
