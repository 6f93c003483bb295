/*
 * audit.h - the node's append-only, hash-chained, signed audit log.
 *
 * One file per node (STATE/audit.log), one JSON object per line:
 *
 *   {"fields":{...},"hash":"<hex>","prev":"<hex>","seq":N,
 *    "time":"YYYY-MM-DDTHH:MM:SSZ","type":"<type>"}
 *
 *   seq     1 for the first entry, then +1 per line, no gaps.
 *   time    UTC, ISO 8601, whole seconds (informative: clocks may step,
 *           so it is checked for form, not for order).
 *   type    [a-z][a-z0-9_]{0,31}; the UDC_AUDIT_* names below.
 *   fields  a flat object of at most UDC_AUDIT_FIELDS_MAX members; names
 *           [a-z][a-z0-9_]{0,31}; values strings of printable ASCII
 *           (0x20-0x7e) of at most UDC_AUDIT_VALUE_MAX bytes, or integers
 *           with |v| <= 2^53 - 1.  Never identifiers or keys: a value that
 *           is 8 or 9 digits passing the BSN eleven-test is refused.
 *   prev    lower-case hex SHA-256: the previous entry's hash; for seq 1
 *           the genesis value SHA-256("udclink/audit/genesis/v1").
 *   hash    lower-case hex SHA-256 of the canonical bytes of the entry
 *           without its "hash" member.
 *
 * Canonical bytes: the entry serialised by jansson with
 * JSON_SORT_KEYS | JSON_COMPACT (keys sorted bytewise at every level, no
 * whitespace, "," and ":" separators, integers in plain decimal, strings
 * with only '"' and '\\' escaped since values are printable ASCII).
 * Python's json.dumps(e, sort_keys=True, separators=(",", ":")) gives the
 * same bytes.  The line on disk is the canonical bytes of the whole entry
 * (hash included) followed by "\n"; a line in any other form is refused by
 * udc_audit_verify, so even a whitespace change is visible.
 *
 * Signed checkpoints: type "checkpoint", fields
 *   head_seq  seq of the entry before it       head  that entry's hash (= prev)
 *   key       fingerprint of the signing key    sig   base64 Ed25519 signature
 * where sig is an Ed25519 signature in domain UDC_SIGN_AUDIT_CHECKPOINT
 * over the 40 bytes  head_seq (8 bytes, big-endian) || head (32 bytes):
 * "entry head_seq of my log has hash head", which through the chain
 * commits to every entry up to it.  One is written after every checkpoint_every ordinary entries,
 * on demand (udc_audit_checkpoint), and by udc_audit_close when entries are
 * not yet covered by one.  The same signed head is what a node sends its
 * peer; the peer records it as type "peer_head", fields
 *   peer peer_key (base64 public key) peer_fpr peer_seq peer_head peer_sig
 * after checking the signature.
 *
 * Appends are one write(2) of the whole line on an O_APPEND descriptor,
 * followed by fsync, under a mutex (thread-safe within a process); an
 * exclusive flock keeps a second process from appending to the same log.
 */
#ifndef UDC_AUDIT_H
#define UDC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define UDC_AUDIT_VALUE_MAX 256
#define UDC_AUDIT_NAME_MAX 32
#define UDC_AUDIT_FIELDS_MAX 32
/* Longest line accepted (a full entry is well below it). */
#define UDC_AUDIT_LINE_MAX 16384

/* Entry types.  "checkpoint" and "peer_head" are written only by this
 * module (udc_audit_append refuses them). */
#define UDC_AUDIT_ROUND_PROPOSED "round_proposed"
#define UDC_AUDIT_SPEC_APPROVED "spec_approved"
#define UDC_AUDIT_ROUND_REFUSED "round_refused"
/* the CBS operator approved or refused a proposed round (udcctl round approve|refuse) */
#define UDC_AUDIT_ROUND_DECIDED "round_decided"
#define UDC_AUDIT_MESSAGE_REFUSED "message_refused"
#define UDC_AUDIT_MESSAGES_REFUSED_UNRECORDED "messages_refused_unrecorded"
#define UDC_AUDIT_INPUT_DIGEST "input_digest"
#define UDC_AUDIT_ROUND_DONE "round_done"
#define UDC_AUDIT_ROUND_FAILED "round_failed"
#define UDC_AUDIT_RESULT_RELEASED "result_released"
/* the gemeente stored the release (CBS: it said so with the signed hashes) */
#define UDC_AUDIT_RESULT_DELIVERED "result_delivered"
#define UDC_AUDIT_CHECKPOINT "checkpoint"
#define UDC_AUDIT_PEER_HEAD "peer_head"

enum udc_audit_kind { UDC_AUDIT_STR = 1, UDC_AUDIT_INT };

/* One field of an entry.  Build with UDC_AUDIT_S / UDC_AUDIT_I:
 *   struct udc_audit_field f[] = { UDC_AUDIT_S("round", id), UDC_AUDIT_I("rows", n) };
 *   udc_audit_append(log, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f)); */
struct udc_audit_field {
	const char *name;
	enum udc_audit_kind kind;
	const char *str;
	int64_t num;
};
#define UDC_AUDIT_S(n, v) ((struct udc_audit_field){(n), UDC_AUDIT_STR, (v), 0})
#define UDC_AUDIT_I(n, v) ((struct udc_audit_field){(n), UDC_AUDIT_INT, NULL, (int64_t)(v)})
#define UDC_AUDIT_NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* The head of a log: the last entry's seq and hash (seq 0 and the genesis
 * value for an empty log). */
struct udc_audit_head {
	uint64_t seq;
	uint8_t hash[32];
};

/* A head with its signature (UDC_SIGN_AUDIT_CHECKPOINT over
 * seq (8 bytes, big-endian) || hash): what the nodes exchange. */
struct udc_audit_signed_head {
	uint64_t seq;
	uint8_t hash[32];
	uint8_t sig[UDC_SIGN_BYTES];
};

struct udc_audit_opts {
	/* The operator key for checkpoints, or NULL (no checkpoints).  Not
	 * owned: it must outlive the log (udc_audit_close may sign). */
	const struct udc_sign_key *key;
	/* A checkpoint after this many ordinary entries; 0: only on demand
	 * and at close. */
	unsigned checkpoint_every;
};

struct udc_audit;

/* Opens (creating with mode 0600 if missing; a symlink is refused) the log
 * at path and resumes its chain: the last line is read and checked (form and
 * own hash; the whole file is checked only by udc_audit_verify).  Refuses a log whose
 * last line is incomplete (UDC_EPARSE) and a log another process holds
 * open (UDC_EEXIST).  opts may be NULL.  On success *log is the caller's,
 * released with udc_audit_close; on failure *log is NULL and err (may be
 * NULL) says why. */
int udc_audit_open(const char *path, const struct udc_audit_opts *opts, struct udc_audit **log,
                   char *err, size_t errlen);
/* Writes a final checkpoint if a key is set and entries are uncovered,
 * then closes.  NULL is fine. */
void udc_audit_close(struct udc_audit *log);

/* Appends one entry (and a checkpoint after it when one is due).  The
 * fields are copied; the caller keeps ownership.  UDC_EINVAL for a bad type,
 * name or value (UDC_ELIMIT for one too long or too many fields): nothing
 * is written.  UDC_EIO if the write failed: the log then refuses all
 * further appends (a partial line may be on disk) until reopened.  If the
 * entry was written but the checkpoint due after it failed, the checkpoint's
 * error is returned: the entry is in the log. */
int udc_audit_append(struct udc_audit *log, const char *type, const struct udc_audit_field *fields,
                     size_t nfields);

/* The current head. */
int udc_audit_get_head(struct udc_audit *log, struct udc_audit_head *head);

/* Appends a checkpoint now, signing the current head, and gives that signed
 * head in *out (may be NULL) to send to the peer.  UDC_ESTATE if the log has
 * no key. */
int udc_audit_checkpoint(struct udc_audit *log, struct udc_audit_signed_head *out);

/* 0 if h carries peer's valid signature, else UDC_ECRYPTO. */
int udc_audit_verify_signed_head(const struct udc_sign_pub *peer,
                                 const struct udc_audit_signed_head *h);

/* Records the peer's signed head.  peer_name is a short label (e.g.
 * "cbs").  A bad signature is refused (UDC_ECRYPTO, nothing written).  A head
 * that conflicts with the last one recorded from the same key in this
 * process (lower seq, or the same seq with another hash) is recorded, as
 * signed evidence, and UDC_EPEER returned.  The last head is kept per key
 * (up to 64 keys), so heads of several peers may alternate. */
int udc_audit_peer_head(struct udc_audit *log, const char *peer_name,
                        const struct udc_sign_pub *peer, const struct udc_audit_signed_head *h);

/* Result of udc_audit_verify. */
struct udc_audit_report {
	uint64_t entries;              /* lines checked and found good */
	uint64_t checkpoints;          /* checkpoint entries seen */
	uint64_t checkpoints_verified; /* ... whose signature was checked */
	uint64_t peer_heads;           /* peer_head entries (signatures checked) */
	uint64_t uncovered;            /* ordinary entries after the last checkpoint */
	char head[65];                 /* hex hash of the last good entry */
	size_t line;                   /* line of the first problem, 0 if none */
	char reason[256];              /* the problem, "" if none */
};

/* Walks the whole log at path: every line's form and hash, seq order, the
 * chain of prev values from genesis, a complete last line, checkpoint
 * fields, and (when pub is not NULL) every checkpoint's key and signature;
 * peer_head signatures against the key they record, and that the peer's
 * heads never go back or fork.  Returns 0 if the log is good; UDC_EPARSE
 * (or UDC_ECRYPTO for a signature problem) with rep->line and rep->reason
 * for the first problem, UDC_EPEER if the log is intact but records a peer
 * head that goes back or forks; UDC_EIO if the file cannot be read (reason
 * set, line 0).  Reasons hold no field values, only names, numbers, hashes
 * and fingerprints.  rep is filled in every case. */
int udc_audit_verify(const char *path, const struct udc_sign_pub *pub,
                     struct udc_audit_report *rep);

/* The genesis value, lower-case hex, 64 characters and a NUL. */
void udc_audit_genesis_hex(char out[65]);

#endif
