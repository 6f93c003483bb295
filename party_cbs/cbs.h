/*
 * cbs.h - the CBS node: it answers the gemeente's requests (REP), prepares
 * its own blinded list, links, counts, applies disclosure control and
 * releases the table.
 *
 * The files of this folder follow the round:
 *   main.c      process wiring: service threads, the reaper
 *   session.c   the session register, state changes (one function), reaping
 *   dispatch.c  the table of which message is allowed in which state and
 *               mode, and the one entry point for every peer message
 *   propose.c   the proposal: approvals, the spec, a new session
 *   link.c      fuzzy and combined phase 1: CLKs (and keys) in, linkage
 *   count.c     the blinded count: upload, own list out, returned tuples in
 *   release.c   counting, disclosure control, the release and the seal
 */
#ifndef UDC_CBS_H
#define UDC_CBS_H

#include <pthread.h>
#include <stdint.h>

#include "blist.h"
#include "daemon.h"
#include "input.h"
#include "linkage.h"
#include "ratelimit.h"
#include "wire.h"

/* Requests served at once: more than a gemeente's upload and download
 * lanes together (party_gemeente/count.c, 8 + 4), so that its cheap fetches
 * never wait in the queue behind uploads being raised (with 4, a one-core
 * gemeente idled a third of the exchange).  The session limits hold however
 * many are handled at once (sess_add). */
#define CBS_SERVICE_THREADS 16
#define CBS_MAX_RECORDS 100000000ULL /* per side and round */

struct udc_scalar;
struct udc_spec;
struct udc_clkctx;
struct cbs_peer;

/* The states of a session, in the order a round passes them.  Every change
 * goes through sess_enter (session.c), which logs it. */
enum sess_state {
	SS_CONSENT, /* accepted, waiting for the CBS operator (round_approval = operator) */
	SS_LINK,    /* fuzzy and combined: receiving CLKs (and keys), linking */
	SS_UPLOAD,  /* receiving H(k)^a, preparing own list in the background */
	SS_RETURN,  /* own list sent out; receiving H(k)^ba */
	SS_COUNTED, /* the gemeente committed to its input; linked and counted, nothing released */
	SS_DELIVER, /* sealed by both; the release made, the gemeente fetching it */
	SS_DONE,    /* the gemeente stored the release */
	SS_FAILED,
	SS_NSTATES
};

#define SS_BIT(s) (1u << (s))
#define SS_ANY ((1u << SS_NSTATES) - 1)

/* The chunks of one upload: they may arrive in any order (several are in
 * flight at once) and a resend must not be processed twice. */
struct cbs_chunks {
	uint8_t *st;     /* per index: 0 not seen, 1 being processed, 2 done */
	size_t cap;
	uint32_t total;  /* chunks in the upload once the last one arrived, else 0 */
	uint32_t ndone;
	uint64_t records; /* records in the chunks done */
};

enum { CHUNK_NEW, CHUNK_DONE, CHUNK_BAD };

/* The release as stored in rounds/<id>/: result.csv then result.json,
 * fetched by the gemeente as one stream of chunk-byte pieces. */
struct cbs_release {
	uint64_t csv_bytes, json_bytes;
	uint8_t csv_sha[32], json_sha[32];
	uint8_t csv_sig[64], json_sig[64];
	uint32_t chunk;
	int delivered;            /* the gemeente said it stored both */
};

struct session {
	struct session *next;
	uint8_t rid[16];
	char idhex[33];
	char spec_hex[65];
	pthread_mutex_t mtx;
	pthread_cond_t cv;        /* a chunk finished (resends wait for it) */
	int busy;                 /* handlers working on this session's data without mtx */
	enum sess_state state;
	char error[320];
	long long last_seen;
	long long started;
	int refs;                 /* handlers and background threads using it */
	struct udc_spec *spec;
	struct udc_scalar *b;     /* wiped as soon as both uses are over */
	char gname[64];
	/* the gemeente whose round it is: identified by the key that signed
	 * the proposal; its listener, approvals, history and ledger */
	const struct udc_node_peer *np;
	struct cbs_peer *cp;

	/* the proposal: what the gemeente signed, and our signed answer */
	uint8_t proposal_hash[32];
	uint8_t proposal_sig[64];
	uint8_t reply_sig[64];
	int awaiting_consent_at_proposal; /* as the signed answer said */
	uint64_t g_max;           /* the most gemeente records we take (proposal and config) */

	/* step 1: the gemeente's tuples, raised to b */
	struct udc_blist g;
	uint64_t g_expected;      /* fuzzy and combined: the count list has one per phase-1 record */
	struct cbs_chunks g_chunks;
	int g_done;

	/* step 2: own tuples (H(k)^b), padded and shuffled, built by a thread */
	int prep_started, prep_done;
	struct udc_blist c;
	uint64_t *dummies;        /* per category */
	uint64_t *cat_records;    /* per category: our records before padding */
	uint64_t *mag_sum, *mag_n; /* spec with groups: per category x group, the
	                            * attribute's sum and values (magest.h) */
	struct udc_input_stats cst;
	size_t c_chunk;           /* records per outgoing chunk */
	size_t c_sent;            /* records in c (kept when c is freed) */
	uint32_t c_chunks;

	/* step 3: CBS tuples back from the gemeente, raised to a */
	struct udc_blist r;
	struct cbs_chunks r_chunks;
	int r_done;

	/* step 4: counted at Finish, released at Seal */
	struct udc_table *counted;  /* true counts, never sent */
	uint64_t *grp_records;      /* per gemeente group: its tuples in the count */
	struct udc_input_stats gst; /* the gemeente's input report (committed at Finish) */
	struct cbs_release rel;     /* the stored release, answered with every Seal */

	/* governance */
	uint8_t approval_sig[64]; /* our approval of the spec, sent to the gemeente */
	struct udc_transcript tx;
	int sealed;
	int releasing;            /* a thread runs disclosure control and writes the documents */
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
	struct cbs_chunks l_chunks;
	int l_done;
	struct udc_blist own;     /* ours: H(k)^b (combined); payload CLK; label category */
	int own_ready;
	struct udc_blist ownx;    /* combined: our keys raised to a and b, in our order */
	size_t own_chunk;
	uint32_t own_chunks;
	struct cbs_chunks x_chunks;
	int x_done;
	int link_started, linked;
	int link_busy;            /* a background thread reads the phase-1 lists */
	uint64_t *own_unlinked;   /* per category: our records left unlinked by phase 1 */
	uint64_t exact_links[UDC_MAX_KEYS];
	uint64_t fuzzy_links;
	uint64_t fuzzy_bands[4];
	uint32_t band_lo[5];      /* thousandths */
	struct udc_linkage_report lrep; /* the matcher and the estimated curve */
};

/* What the CBS node keeps per gemeente it serves (one per n->peers). */
struct cbs_peer {
	struct udc_history *history; /* its releases, per CBS input (differencing) */
	struct udc_ratelimit proposals; /* its signed proposals per minute (under refusal_mtx) */
	int max_sessions;         /* its rounds at once */
	char ledger[4200];        /* its privacy ledger: STATE/<prefix>privacy-ledger */
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
	struct cbs_peer *peers;   /* per gemeente served, in the order of n->peers */
	struct udc_guard *guard;  /* limits and watch on the peer connections */
	/* refused peer messages: an audit entry and a log line each, up to a
	 * burst and a rate; the rest are counted into one entry (ratelimit.h) */
	pthread_mutex_t refusal_mtx;
	struct udc_ratelimit refusals;
	struct udc_ratelimit proposals; /* signed proposals per minute, all gemeenten (under
	                                 * refusal_mtx) */
	/* several gemeenten: searches of every pinned key for the signer of a
	 * proposal its claimed gemeente's key does not verify (one
	 * verification per gemeente each), so that strangers cannot make the
	 * node verify without bound (under refusal_mtx) */
	struct udc_ratelimit key_searches;
};

/* Key searches let through at once, and per second after that. */
#define CBS_KEY_SEARCH_BURST 20
#define CBS_KEY_SEARCH_RATE 2.0

/* Refusal entries let through at once, and per second after that. */
#define CBS_REFUSAL_BURST 200
#define CBS_REFUSAL_RATE 1.0

/*
 * A reply under construction: the envelope and every body a handler may
 * answer with, plus what the reply borrows and dispatch frees after sending.
 */
struct cbs_reply {
	Udc__Envelope env;
	Udc__Error error;
	char reason[400];
	Udc__ProposeReply propose_reply;
	Udc__Ack ack;
	Udc__StatusReply status_reply;
	Udc__Chunk chunk;
	Udc__Seal seal;
	Udc__Counted counted;
	Udc__Release release;
	Udc__ReleaseChunk release_chunk;
	uint8_t reply_sig[64];    /* a refused proposal's signed answer points here: it
	                           * must live until dispatch packs the reply */
	uint8_t *buf;             /* bytes a chunk reply points into; freed by dispatch */
};

/* An empty reply echoing req's round and request ids (req may be NULL). */
void cbs_reply_init(struct cbs_reply *rp, const Udc__Envelope *req);
void cbs_reply_error(struct cbs_reply *rp, Udc__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cbs_reply_ack(struct cbs_reply *rp, uint32_t index, uint64_t total);

/*
 * The rule table (dispatch.c): one row per request a session can receive.
 * A request whose row does not allow the session's state or the round's
 * mode is refused with ERR_STATE before any handler runs; a body with no
 * row is not a request (ERR_MALFORMED).  Handlers run with s->mtx held and
 * check only what depends on the request itself (chunk order and shape,
 * whether the data it asks for is ready).
 */
typedef void (*cbs_handler)(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);

#define CBS_MODE_BIT(m) (1u << (m))
#define CBS_ALL_MODES (CBS_MODE_BIT(UDC_MODE_EXACT) | CBS_MODE_BIT(UDC_MODE_FUZZY) | \
    CBS_MODE_BIT(UDC_MODE_COMBINED))

struct cbs_rule {
	Udc__Envelope__BodyCase body;
	int phase;                /* Fetch only: 0 the count list, 1 phase-1 keys, 2 the release; -1 any */
	unsigned states;          /* SS_BIT of each state it is allowed in */
	unsigned modes;           /* CBS_MODE_BIT of each mode it is allowed in */
	cbs_handler fn;
	const char *what;         /* one line for the protocol documentation */
};

extern const struct cbs_rule cbs_rules[];
extern const size_t cbs_nrules;

/* The rule for a request, or NULL if the body is not a request (Propose is
 * handled before any session exists and has no row).  phase is the Fetch
 * phase, ignored otherwise. */
const struct cbs_rule *cbs_rule_find(Udc__Envelope__BodyCase body, uint32_t phase);
/* Whether a request may be handled in this state and mode: 0, or the
 * Error code it is refused with (reason in why). */
Udc__ErrorCode cbs_rule_check(const struct cbs_rule *r, enum sess_state st, int mode, char *why,
    size_t whylen);
const char *cbs_state_name(enum sess_state s);
/* The whole verdict on a request for session s before any handler runs:
 * its rule, or NULL with the Error in rp (the round failed, not a request,
 * no such fetch phase, not allowed in this state or mode). */
const struct cbs_rule *cbs_gate(const struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);

/* session.c */
struct session *sess_get(struct cbs *cb, const uint8_t rid[16]);
void sess_put(struct cbs *cb, struct session *s);
/* Adds s unless a session of its round id exists: then returns that one,
 * with a reference (sess_put), and s is still the caller's to free.  Also
 * refuses (NULL, *full = 1 for all gemeenten, 2 for s's own) when max_all
 * sessions, or max_mine of s's gemeente (if max_mine > 0), are running:
 * the count and the insertion under one lock, so proposals handled at once
 * by several service threads cannot together pass the limit. */
struct session *sess_add(struct cbs *cb, struct session *s, int max_all, int max_mine, int *full);
/* Sessions not yet finished, of all gemeenten (returned) and of np (*mine). */
int sess_live(struct cbs *cb, const struct udc_node_peer *np, int *mine);
void sess_free(struct session *s);
void sess_release_data(struct session *s);
/* The one place a session changes state; logs "from -> to" (caller holds s->mtx). */
void sess_enter(struct cbs *cb, struct session *s, enum sess_state to);
/* Marks the session failed with a reason (caller holds s->mtx). */
void sess_fail(struct cbs *cb, struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts fn(arg) on a detached thread that holds a reference to s. */
struct cbs_thread_arg {
	struct cbs *cb;
	struct session *s;
};
int sess_spawn(struct cbs *cb, struct session *s, void *(*fn)(void *));
/* Chunk bookkeeping (caller holds s->mtx).  cbs_chunk_claim: CHUNK_NEW
 * (the caller processes it; the index is marked busy), CHUNK_DONE (a
 * resend of a chunk already processed: acknowledge it again; one being
 * processed is waited for), or CHUNK_BAD with the reason (an index past
 * max_chunks or past the last chunk, a second last chunk). */
int cbs_chunk_claim(struct session *s, struct cbs_chunks *c, uint32_t index, int last,
    uint32_t max_chunks, char *why, size_t whylen);
/* The chunk is done, or on failure not seen (its n records no longer
 * counted in c->records, which counts the records of chunks claimed). */
void cbs_chunk_done(struct session *s, struct cbs_chunks *c, uint32_t index);
void cbs_chunk_abandon(struct session *s, struct cbs_chunks *c, uint32_t index, int last,
    uint64_t n);
/* count.c: the most chunks an upload of max_records can have. */
uint32_t cbs_max_chunks(uint64_t max_records);
/* count.c: shape, claim and record limit of an upload's chunk (see there). */
int cbs_claim_chunk(struct session *s, struct cbs_chunks *c, const Udc__Chunk *ch, size_t nkeys,
    size_t nlabels, uint64_t max_records, const char *what_max, struct cbs_reply *rp);
int cbs_chunks_complete(const struct cbs_chunks *c);
void cbs_chunks_free(struct cbs_chunks *c);
/* Work on the session's data without its lock (crypto on a chunk): the
 * data stays while busy (sess_fail defers releasing it).  Caller holds
 * s->mtx on entry and on return of both. */
void sess_unlock_busy(struct session *s);
void sess_relock_busy(struct session *s);

/* Wipes the scalar b once both its uses (raising the gemeente's tuples,
 * building our own list) are over. */
void sess_maybe_wipe_b(struct session *s);
/* Our records per category (*counts, the caller's), checked before the
 * round goes on: a category holding 1 .. min_cell-1 records is refused
 * (UDC_EREFUSED, details in our log only). */
int cbs_check_categories(struct cbs *cb, struct session *s, const struct udc_blist *own,
    uint64_t **counts, char *err, size_t errlen);
/* Audits our input file's digest (taken while it was read). */
void sess_own_digest(struct cbs *cb, struct session *s);
void cbs_reap(struct cbs *cb, int all);
double cbs_now(void);

/* Starts reading our own list (at the proposal, or when the operator
 * approved the round).  Caller holds s->mtx. */
void cbs_start_preparing(struct cbs *cb, struct session *s);

/* dispatch.c */
/* listener: the NNG listener id the message arrived on (0: not known);
 * a round's messages must arrive on its gemeente's listener. */
void cbs_handle(struct cbs *cb, int listener, const uint8_t *data, size_t len, nng_msg **reply);
/* The audit entry for refused messages not recorded one by one. */
void cbs_note_unrecorded_refusals(struct cbs *cb, uint64_t n);

/* propose.c */
void cbs_handle_propose(struct cbs *cb, int listener, const Udc__Envelope *req,
    struct cbs_reply *rp);
/* udcctl round approve / refuse (round_approval = operator). */
void cbs_round_decide(struct udc_node *n, const Udcctl__RoundDecision *req, uint64_t uid,
    Udcctl__Reply *rep, char *buf, size_t buflen);

/* link.c: fuzzy and combined phase 1 */
void *cbs_link_prepare_thread(void *arg);
void cbs_on_link_records(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_fetch_own(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_raised_keys(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);

/* count.c: the blinded count */
void *cbs_count_prepare_thread(void *arg);
/* groups.c: our list for a spec with groups (magest.h): read with each
 * record's attribute, every category split into its groups, the labels
 * set to category x group; *gsum and *gn (the caller frees them) get the
 * attribute's sum and values per category x group.  As
 * udc_blist_from_input, or UDC_EREFUSED when a category cannot be grouped
 * (err says which). */
int cbs_groups_read(const struct udc_spec *spec, struct udc_blist *c,
    const struct udc_input_opts *io, const uint8_t rid[16], const struct udc_scalar *b,
    struct udc_workq *wq, struct udc_input_stats *st, uint64_t **gsum, uint64_t **gn, char *err,
    size_t errlen);
void cbs_on_gemeente_tuples(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_status(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_fetch(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_returned_tuples(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_abort(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);

/* release.c */
void cbs_on_finish(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_fetch_release(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_delivered(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);
void cbs_on_seal(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp);

#endif
