/*
 * gemeente.h - the gemeente node: it starts rounds and drives the protocol
 * as the requesting side (REQ) towards the CBS node.
 */
#ifndef UDC_GEMEENTE_H
#define UDC_GEMEENTE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "daemon.h"

struct gem_job {
	struct gem_job *next;
	uint8_t round_id[16];
	char idhex[33];
	uint8_t *spec_text;
	size_t spec_len;
	uint8_t *schema_text; /* NULL in exact mode */
	size_t schema_len;
	int peer_timed_out;   /* set by the round: the CBS node stopped answering */
	int accept_rejects;   /* udcctl round start --accept-rejects: no reject_limit */
};

struct gem {
	pthread_t thr;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	struct gem_job *head, *tail; /* rounds wait here and run one at a time */
	int stop;
	atomic_int pipes; /* TLS connections to the CBS node now up */
	atomic_uint pipes_added; /* connections made since start */
	struct udc_guard *guard; /* logs failed handshakes; the last one for failure reasons */
};

/* round.c: runs one round to its end; marks it done or failed. */
void gem_run_round(struct udc_node *n, struct gem_job *job);

#endif
