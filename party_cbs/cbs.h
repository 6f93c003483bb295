/*
 * cbs.h - the CBS node: it answers the gemeente's requests (REP), prepares
 * its own blinded list, links, counts, applies disclosure control and
 * releases the table.
 */
#ifndef UDC_CBS_H
#define UDC_CBS_H

#include <pthread.h>
#include <stdint.h>

#include "blist.h"
#include "daemon.h"
#include "input.h"
#include "ratelimit.h"
#include "wire.h"

#define CBS_SERVICE_THREADS 4
#define CBS_MAX_RECORDS 100000000ULL /* per side and round */

struct udc_scalar;
struct udc_spec;
struct udc_clkctx;

enum sess_state {
	SS_LINK = -1,  /* fuzzy and combined: receiving CLKs (and keys), linking */
	SS_UPLOAD = 0, /* receiving H(k)^a, preparing own list in the background */
	SS_RETURN,     /* own list sent out; receiving H(k)^ba */
	SS_DONE,       /* table released */
	SS_FAILED,
};

struct session {
	struct session *next;
	uint8_t rid[16];
	char idhex[33];
	char spec_hex[65];
	pthread_mutex_t mtx;
	enum sess_state state;
	char error[320];
	long long last_seen;
	long long started;
	int refs;                 /* handlers and the preparer using it */
	struct udc_spec *spec;
	struct udc_scalar *b;     /* wiped as soon as both uses are over */
	char gname[64];

	/* step 1: the gemeente's tuples, raised to b */
	struct udc_blist g;
	uint64_t g_expected;
	uint32_t g_next;          /* next chunk index expected */
	int g_done;

	/* step 2: own tuples (H(k)^b), padded and shuffled, built by a thread */
	pthread_t prep;
	int prep_started, prep_done, prep_failed;
	unsigned prep_progress;
	struct udc_blist c;
	uint64_t *dummies;        /* per category */
	struct udc_input_stats cst;
	size_t c_chunk;           /* records per outgoing chunk */
	size_t c_sent;            /* records in c (kept when c is freed) */
	uint32_t c_chunks;

	/* step 3: CBS tuples back from the gemeente, raised to a */
	struct udc_blist r;
	uint32_t r_next;
	int r_done;

	/* step 4 */
	uint8_t *result;          /* packed Result body, answered to every Finish */
	size_t result_len;

	/* governance */
	uint8_t approval_sig[64]; /* our approval of the spec, sent to the gemeente */
	struct udc_transcript tx;
	int sealed;
	uint8_t seal_hash[32], seal_sig[64];
	struct udc_audit_signed_head seal_head;
	uint8_t input_digest[32]; /* our input file */
	uint8_t g_digest[32];     /* the gemeente's, as it declared it */
	uint8_t result_sig[64];

	/* fuzzy and combined modes: phase 1, the linkage, before the count */
	int fuzzy;
	size_t cnkeys;            /* keys per tuple in the count: spec keys, or 1 (handles) */
	uint8_t kx_pub[32];       /* our half of the round-secret exchange */
	struct udc_clkctx *clk;   /* our encoder, wiped once our list is encoded */
	size_t clk_bytes, clk_bits, clk_segs; /* clk_segs filters per record (field scoring) */
	struct udc_blist gl;      /* gemeente: H(k)^ab; payload handle || CLK */
	uint32_t l_next;
	int l_done;
	struct udc_blist own;     /* ours: H(k)^b (combined); payload CLK; label category */
	int own_ready;
	struct udc_blist ownx;    /* combined: our keys raised to a and b, in our order */
	size_t own_chunk;
	uint32_t own_chunks, x_next;
	int x_done;
	int link_started, linked;
	int link_busy;            /* a background thread reads the phase-1 lists */
	uint64_t *own_unlinked;   /* per category: our records left unlinked by phase 1 */
	uint64_t exact_links[UDC_MAX_KEYS];
	uint64_t fuzzy_links;
	uint64_t fuzzy_bands[4];
	uint32_t band_lo[5];      /* thousandths */
};

struct cbs {
	struct udc_node *n;
	pthread_t svc[CBS_SERVICE_THREADS];
	int nsvc;
	pthread_t reaper;
	pthread_mutex_t mtx;      /* the session list */
	pthread_cond_t cv;
	struct session *sessions;
	int stop;
	struct udc_releases *releases; /* what this node released, per spec (differencing) */
	/* refused peer messages: an audit entry and a log line each, up to a
	 * burst and a rate; the rest are counted into one entry (ratelimit.h) */
	pthread_mutex_t refusal_mtx;
	struct udc_ratelimit refusals;
};

/* Refusal entries let through at once, and per second after that. */
#define CBS_REFUSAL_BURST 200
#define CBS_REFUSAL_RATE 1.0

/* session.c: the audit entry for refused messages not recorded one by one */
void cbs_note_unrecorded_refusals(struct cbs *cb, uint64_t n);
double cbs_now(void);

/* session.c */
void cbs_handle(struct cbs *cb, const uint8_t *data, size_t len, nng_msg **reply);
void cbs_reap(struct cbs *cb, int all);

#endif
