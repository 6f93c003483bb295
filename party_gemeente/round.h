/*
 * round.h - the gemeente's side of a round, shared by the files that drive
 * it (round.c: the order of the steps; peer.c: one request, one reply;
 * propose.c, link.c, count.c, release.c: the protocol's phases).
 */
#ifndef UDC_GEM_ROUND_H
#define UDC_GEM_ROUND_H

#include <pthread.h>
#include <stdint.h>

#include "blist.h"
#include "daemon.h"
#include "gemeente.h"
#include "input.h"
#include "wire.h"

struct udc_scalar;

struct gem_round {
	pthread_mutex_t mtx;      /* err, reqid, peer_answered, last_call: threads of one round */
	struct udc_node *n;
	struct gem_job *job;
	struct udc_spec *spec;
	char spec_hex[65];
	uint64_t reqid;
	char err[512];
	int peer_aborted; /* the CBS side already knows the round failed */
	size_t count_nkeys;    /* keys per tuple in the count: the spec's, or 1 (handles) */
	int peer_answered; /* the CBS node answered at least once in this round */
	unsigned conn_mark; /* pipes_added when the round began */
	int conn_up;        /* a connection was up when the round began */
	struct udc_transcript tx;
	uint8_t input_digest[32];  /* SHA-256 of the input file, as read */
	uint8_t proposal_hash[32]; /* of what we signed when proposing */
	int awaiting_consent;      /* the CBS operator has yet to approve the round */
	long long last_call;       /* when the CBS node last answered (keepalive while reading) */
	int timeout_ms;            /* of each request; 0: [peer] timeout */
};

/* round.c: fails the round if more rows were rejected than [input]
 * reject_limit allows (unless the round was started with --accept-rejects). */
int gem_check_rejects(struct gem_round *r, const struct udc_input_stats *in_stats);

/* peer.c */
/* Keeps the first reason the round failed for (thread safe). */
void gem_fail(struct gem_round *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether a reason is kept. */
int gem_failed(struct gem_round *r);
/* Where the round is, for udcctl. */
void gem_step(struct gem_round *r, const char *name, unsigned permille);
/* What gem_call needs of a round besides n and job: its lock, its transcript
 * and the connection state its failures are judged by.  gem_round_close
 * undoes it. */
void gem_round_open(struct gem_round *r);
void gem_round_close(struct gem_round *r);
/* One request, one reply of the wanted type (*out, freed by the caller with
 * udc_wire_free).  An Error reply becomes UDC_EPEER with its reason. */
int gem_call(struct gem_round *r, Udc__Envelope *req, Udc__Envelope__BodyCase want,
    Udc__Envelope **out);
int gem_status(struct gem_round *r, Udc__Envelope **out);
/* Tells the CBS node the round failed (best effort). */
void gem_abort_peer(struct gem_round *r);

/* propose.c: kx_pub/peer_pub in fuzzy and combined modes (NULL in exact mode). */
int gem_propose(struct gem_round *r, const uint8_t *kx_pub, uint8_t *peer_pub);
int gem_wait_consent(struct gem_round *r);
/* For udc_input_opts.progress: the reading step's progress, and a Status
 * now and then so that the CBS node keeps the session while we read. */
void gem_read_progress(void *arg, uint64_t done, uint64_t total);

/* link.c: fuzzy and combined phase 1, after the proposal agreed the round
 * secret (our X25519 key kx, the CBS node's peer_kx); leaves the count list
 * in *count, shuffled. */
struct udc_kx;
int gem_linkage_phase(struct gem_round *r, const struct udc_scalar *a,
    const struct udc_input_opts *io, struct udc_kx *kx, const uint8_t peer_kx[32],
    struct udc_blist *count, struct udc_input_stats *in_stats);

/* count.c */
int gem_upload(struct gem_round *r, const struct udc_blist *l, Udc__Envelope__BodyCase kind,
    const char *stepname);
int gem_wait_cbs(struct gem_round *r, uint64_t *c_records, uint32_t *c_chunks);
int gem_download(struct gem_round *r, struct udc_blist *cbs_list, const struct udc_scalar *a,
    uint64_t c_records, uint32_t c_chunks);

/* release.c: commit to our input (signed) and wait for the count; seal the
 * transcript (*out holds the Seal reply, which says what was released);
 * fetch the release, check its signatures and hashes, store it and tell
 * the CBS node it arrived. */
int gem_finish(struct gem_round *r, const struct udc_input_stats *in_stats, uint64_t records);
int gem_seal(struct gem_round *r, Udc__Envelope **out);
int gem_receive_release(struct gem_round *r, const Udc__Release *rl);

#endif
