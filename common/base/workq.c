/*
 * workq.c - the crypto worker pool.
 *
 * A parallel loop is a job: [0, n) cut into ranges that threads claim from an
 * atomic counter.  Jobs wait in a queue; idle workers join the job at the head
 * and the calling thread works on its own job too, so a call makes progress
 * even when every worker is busy with another caller's job.  A job lives on
 * its caller's stack: the caller returns only after every thread that joined
 * the job has left it.
 */
#include "workq.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"

struct job {
	udc_range_fn fn;
	void *arg;
	size_t n, grain, nranges;
	atomic_size_t next; /* next range to claim */
	atomic_int err;     /* first nonzero return of fn */
	unsigned refs;      /* workers inside the job (pool lock) */
	int queued;         /* still in the pool's queue (pool lock) */
	struct job *qnext;
};

struct udc_workq {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued, or stop */
	pthread_cond_t left; /* a worker left a job */
	struct job *head, *tail;
	int stop;
	unsigned nthreads;
	pthread_t *threads;
};

/* Claims and runs ranges until none are left or one failed. */
static void
job_run(struct job *j)
{
	size_t r;

	while (atomic_load_explicit(&j->err, memory_order_relaxed) == 0 &&
	       (r = atomic_fetch_add(&j->next, 1)) < j->nranges) {
		size_t begin = r * j->grain;
		size_t end = j->n - begin < j->grain ? j->n : begin + j->grain;
		int rv = j->fn(j->arg, begin, end);

		if (rv != 0) {
			int zero = 0;

			/* The first error wins; a later one is dropped. */
			atomic_compare_exchange_strong(&j->err, &zero, rv);
		}
	}
}

/* Pool lock held.  Once unqueued no new worker can join the job. */
static void
job_unqueue(struct udc_workq *wq, struct job *j)
{
	struct job **pp, *prev = NULL;

	if (!j->queued)
		return;
	for (pp = &wq->head; *pp != NULL; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp == j) {
			*pp = j->qnext;
			if (wq->tail == j)
				wq->tail = prev;
			break;
		}
	}
	j->queued = 0;
	j->qnext = NULL;
}

static void *
worker_main(void *arg)
{
	struct udc_workq *wq = arg;
	struct job *j;

	pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (wq->head == NULL && !wq->stop)
			pthread_cond_wait(&wq->work, &wq->lock);
		if (wq->stop)
			break;
		j = wq->head;
		j->refs++;
		pthread_mutex_unlock(&wq->lock);

		job_run(j);

		pthread_mutex_lock(&wq->lock);
		/* Every range is claimed (or the job failed): let the other
		 * workers move on to the next job in the queue. */
		job_unqueue(wq, j);
		if (--j->refs == 0)
			pthread_cond_broadcast(&wq->left);
	}
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

int
udc_workq_new(struct udc_workq **out, unsigned nthreads)
{
	struct udc_workq *wq = NULL;
	sigset_t all, old;
	unsigned started = 0;
	int rv, locked = 0, cwork = 0, cleft = 0, masked = 0;

	*out = NULL;
	if (nthreads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		nthreads = ncpu > 1 ? (unsigned)(ncpu - 1) : 1;
	}
	if ((wq = calloc(1, sizeof(*wq))) == NULL ||
	    (wq->threads = calloc(nthreads, sizeof(*wq->threads))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if (pthread_mutex_init(&wq->lock, NULL) != 0) {
		rv = UDC_ENOMEM;
		goto out;
	}
	locked = 1;
	if (pthread_cond_init(&wq->work, NULL) != 0) {
		rv = UDC_ENOMEM;
		goto out;
	}
	cwork = 1;
	if (pthread_cond_init(&wq->left, NULL) != 0) {
		rv = UDC_ENOMEM;
		goto out;
	}
	cleft = 1;

	/* Workers start with every signal blocked, so that signals keep
	 * going to the threads that expect them (the daemon's main loop). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	masked = 1;
	for (; started < nthreads; started++) {
		if (pthread_create(&wq->threads[started], NULL, worker_main, wq) != 0) {
			rv = UDC_ENOMEM;
			goto out;
		}
	}
	wq->nthreads = nthreads;
	*out = wq;
	wq = NULL;
	rv = 0;
out:
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (wq != NULL) {
		if (started > 0) {
			pthread_mutex_lock(&wq->lock);
			wq->stop = 1;
			pthread_cond_broadcast(&wq->work);
			pthread_mutex_unlock(&wq->lock);
			for (unsigned i = 0; i < started; i++)
				pthread_join(wq->threads[i], NULL);
		}
		if (cleft)
			pthread_cond_destroy(&wq->left);
		if (cwork)
			pthread_cond_destroy(&wq->work);
		if (locked)
			pthread_mutex_destroy(&wq->lock);
		free(wq->threads);
		free(wq);
	}
	return rv;
}

void
udc_workq_free(struct udc_workq *wq)
{
	if (wq == NULL)
		return;
	pthread_mutex_lock(&wq->lock);
	wq->stop = 1;
	pthread_cond_broadcast(&wq->work);
	pthread_mutex_unlock(&wq->lock);
	for (unsigned i = 0; i < wq->nthreads; i++)
		pthread_join(wq->threads[i], NULL);
	pthread_cond_destroy(&wq->left);
	pthread_cond_destroy(&wq->work);
	pthread_mutex_destroy(&wq->lock);
	free(wq->threads);
	free(wq);
}

unsigned
udc_workq_width(const struct udc_workq *wq)
{
	return wq == NULL ? 1 : wq->nthreads + 1;
}

int
udc_workq_parallel(struct udc_workq *wq, size_t n, size_t grain, udc_range_fn fn, void *arg)
{
	struct job j = {0};

	if (n == 0)
		return 0;
	if (grain == 0) {
		/* About eight ranges per thread: small enough to even out
		 * threads that start late or run slow, big enough that the
		 * counter is not contended. */
		grain = n / (8 * (size_t)udc_workq_width(wq));
		if (grain == 0)
			grain = 1;
	}
	/* One range, or no pool: no point in waking anyone. */
	if (wq == NULL || grain >= n)
		return fn(arg, 0, n);

	j.fn = fn;
	j.arg = arg;
	j.n = n;
	j.grain = grain;
	j.nranges = n / grain + (n % grain != 0);
	atomic_init(&j.next, 0);
	atomic_init(&j.err, 0);

	pthread_mutex_lock(&wq->lock);
	if (wq->tail != NULL)
		wq->tail->qnext = &j;
	else
		wq->head = &j;
	wq->tail = &j;
	j.queued = 1;
	pthread_cond_broadcast(&wq->work);
	pthread_mutex_unlock(&wq->lock);

	job_run(&j);

	pthread_mutex_lock(&wq->lock);
	job_unqueue(wq, &j);
	/* Ranges claimed by workers may still be running: j is on this
	 * stack, so wait until they have all left it. */
	while (j.refs > 0)
		pthread_cond_wait(&wq->left, &wq->lock);
	pthread_mutex_unlock(&wq->lock);
	return atomic_load(&j.err);
}
