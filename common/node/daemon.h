/*
 * daemon.h - what gemeented and cbsd share: start-up, the node context, the
 * control channel and its common commands, and orderly shutdown.
 *
 * The party programs supply only their protocol role through udc_party_ops.
 */
#ifndef UDC_DAEMON_H
#define UDC_DAEMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <nng/nng.h>

#include "config.h"
#include "ctl.pb-c.h"
#include "sign.h"
#include "audit.h"
#include "transcript.h"

struct udc_workq;
struct udc_rounds;
struct udc_spec;
struct udc_ctl;
struct udc_input_stats;

/* Audit entries counted by type since start, for "udcctl metrics". */
enum udc_node_count { UDC_NC_ROUND_DONE, UDC_NC_ROUND_FAILED, UDC_NC_ROUND_REFUSED,
	UDC_NC_MESSAGE_REFUSED, UDC_NC_RESULT_RELEASED, UDC_NC_SPEC_APPROVED, UDC_NC_MAX };

/*
 * A gemeente a CBS node serves (cbs only).  A node with [gemeente ID]
 * sections has one per section; one without has the implicit peer of
 * [peer] public_key (conf NULL, id "", its state where it always was).
 */
struct udc_node_peer {
	const struct udc_peer_conf *conf; /* NULL: the implicit peer */
	const char *id;                   /* the section's ID, "" for the implicit peer */
	const char *display;              /* for people: display_name, or "gemeente" */
	struct udc_sign_pub pub;          /* its pinned key */
	char fpr[UDC_SIGN_FPR_SIZE];
	int listener;                     /* the NNG listener its messages arrive on */
	char prefix[48];                  /* its state under STATE: "" or "peers/ID/" */
};

struct udc_node {
	struct udc_config *cfg;
	struct udc_workq *wq;
	struct udc_rounds *rounds;
	nng_socket peer;
	struct udc_ctl *ctl;            /* the control channel (ctl.h) */
	long long started;              /* unix seconds */
	atomic_ullong counts[UDC_NC_MAX];
	atomic_int stopping;
	void *party; /* the party's own state */
	struct udc_sign_key *sk;        /* this node's signing key (approvals, transcripts, results, audit) */
	struct udc_sign_pub self_pub;
	struct udc_sign_pub peer_pub;   /* the peer node's key, pinned in the configuration */
	char self_fpr[UDC_SIGN_FPR_SIZE], peer_fpr[UDC_SIGN_FPR_SIZE];
	struct udc_audit *audit;
	/* cbs: the gemeenten it serves (one, or one per [gemeente ID]) and its
	 * listeners (each peer's is among them) */
	struct udc_node_peer *peers;
	size_t npeers;
	int nlisteners;
	int multi;                      /* [gemeente ID] sections: approvals need --peer */
};

/* Audit entry; failures are logged, never fatal to the round. */
void udc_node_audit(struct udc_node *n, const char *type, const struct udc_audit_field *f, size_t nf);
/* Loads this node's signed approval of spec hash_hex and checks it against
 * its own key: 0, UDC_ENOTFOUND or UDC_ECRYPTO. */
int udc_approval_load(struct udc_node *n, const char *hash_hex, uint8_t sig[UDC_SIGN_BYTES]);
/* The same among the approvals for one gemeente (prefix of its state,
 * struct udc_node_peer). */
int udc_approval_load_in(struct udc_node *n, const char *prefix, const char *hash_hex,
    uint8_t sig[UDC_SIGN_BYTES]);
/* The peer with this ID, or NULL. */
const struct udc_node_peer *udc_node_peer_find(const struct udc_node *n, const char *id);
/* After this node read its input for round idhex: the summary goes with
 * the round (udcctl round status), and more rejected rows than [input]
 * reject_limit allows (unless accept) is UDC_EREFUSED with the reason in
 * why. */
int udc_node_input_read(struct udc_node *n, const char *idhex, const struct udc_input_stats *st,
    int accept, char *why, size_t whylen);
/* The message a result signature covers: round id, spec hash, SHA-256 of the
 * result CSV (80 bytes). */
void udc_result_sigdata(const uint8_t round_id[16], const uint8_t spec_hash[32], const char *csv,
    size_t csvlen, uint8_t out[80]);
/* The same from the document's SHA-256. */
void udc_result_sigdata_sha(const uint8_t round_id[16], const uint8_t spec_hash[32],
    const uint8_t sha[32], uint8_t out[80]);

struct udc_party_ops {
	enum udc_role role;
	const char *progname;
	/* After the peer socket is open, before control requests are served. */
	int (*start)(struct udc_node *n, char *err, size_t errlen);
	/* After the sockets are closed. */
	void (*stop)(struct udc_node *n);
	/* "round start": may be NULL (the node does not start rounds).  Sets
	 * rep->status / rep->error, or rep->round. */
	void (*round_start)(struct udc_node *n, const Udcctl__RoundStart *req, uint64_t uid,
	    Udcctl__Reply *rep, char *buf, size_t buflen);
	/* "round approve" / "round refuse": may be NULL (only the CBS node
	 * approves rounds one by one). */
	void (*round_decide)(struct udc_node *n, const Udcctl__RoundDecision *req, uint64_t uid,
	    Udcctl__Reply *rep, char *buf, size_t buflen);
	/* "node status": 1 if a connection to the peer is up now (TLS done),
	 * 0 if not; may be NULL (the node does not connect out). */
	int (*peer_connected)(struct udc_node *n);
};

/* Parses the command line, loads the configuration, runs until SIGTERM or
 * SIGINT.  Returns the process exit status. */
int udc_daemon_main(int argc, char **argv, const struct udc_party_ops *ops);

/* Parses spec text and, for fuzzy and combined modes, attaches the schema
 * text (required then, refused otherwise). */
int udc_spec_from_texts(const uint8_t *spec, size_t len, const uint8_t *schema, size_t slen,
    const char *name, struct udc_spec **out, char *err, size_t errlen);
/* Loads an approved spec (and its schema) from STATE/approvals by hash. */
int udc_spec_load_approved(const char *state_dir, const char *hash_hex, struct udc_spec **out,
    char *err, size_t errlen);
/* The same from STATE/<prefix>approvals (a gemeente's approvals at a CBS
 * node that serves several). */
int udc_spec_load_approved_in(const char *state_dir, const char *prefix, const char *hash_hex,
    struct udc_spec **out, char *err, size_t errlen);

/* The reading options of this node's list for a spec: file, delimiter,
 * field columns, and the label columns of its side.  Returns NULL, or the
 * name of the first dimension of that side the configuration maps no
 * column for. */
struct udc_input_opts;
const char *udc_node_input_opts(const struct udc_node *n, const struct udc_spec *spec, int side,
    struct udc_input_opts *io);
/* The CBS node's list for gemeente p (NULL: the node's own [input]): its
 * input or [input] file, its filter, its field and label columns. */
const char *udc_node_peer_input_opts(const struct udc_node *n, const struct udc_node_peer *p,
    const struct udc_spec *spec, struct udc_input_opts *io);

/* Helpers for party code. */
void udc_reply_error(Udcctl__Reply *rep, int status, char *buf, size_t buflen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Unix seconds. */
long long udc_now(void);
/* The refusal of a spec this node has not approved, with what to do: when
 * a spec of the same name is approved under another hash (the file was
 * edited after approval), both hashes. */
void udc_unapproved_message(const struct udc_node *n, const struct udc_spec *spec, char *buf,
    size_t buflen);
/* Stores the CBS node's signature over round ID's released table beside it
 * (STATE/rounds/ID/result.sig), for "udcctl round result --sig-out" and
 * "udcctl verify".  Logs a failure; the round goes on. */
void udc_result_sig_store(struct udc_node *n, const char *idhex, const uint8_t sig[64]);

#endif
