/*
 * statepath.h - the layout of a node's state directory, spelled in one
 * place.  Paths are relative to STATE ([node] state_dir), as store.h's
 * functions take them.
 *
 *   approvals/HASH.spec          an approved spec, as the operator gave it
 *   approvals/HASH.sig           this node's signature over the spec hash
 *   approvals/HASH.schema.json   the CLK schema it names (fuzzy, combined)
 *   rounds/ID/status.json        the round register's entry (rounds.c)
 *   rounds/ID/result.csv, result.json, result.sig, signer.txt,
 *             transcript.json    a round's documents (each party's release.c)
 *   releases/INPUT.json          the CBS node's release history (history.h)
 *   privacy-ledger               the CBS node's privacy-budget ledger (disclosure.h)
 *
 *   peers/GID/approvals/...      at a CBS node that serves several gemeenten
 *   peers/GID/releases/...       ([gemeente GID] sections), each one's own
 *   peers/GID/privacy-ledger     approvals, release history and ledger
 *
 * HASH is the spec's SHA-256 and ID the round id, both lower-case hex; GID
 * a gemeente's name from cbsd.conf.  A PREFIX below is "" for a node's own
 * files, or peers/GID/ (udc_state_peer_prefix) for one gemeente's.
 */
#ifndef UDC_STATEPATH_H
#define UDC_STATEPATH_H

#include <stddef.h>

#define UDC_STATE_APPROVALS "approvals"
#define UDC_STATE_ROUNDS "rounds"
#define UDC_STATE_RELEASES "releases"
#define UDC_STATE_LEDGER "privacy-ledger"

enum udc_approval_file {
	UDC_APPROVAL_SPEC,   /* .spec */
	UDC_APPROVAL_SIG,    /* .sig */
	UDC_APPROVAL_SCHEMA, /* .schema.json */
};

/* approvals/HASH<ext> into out: 0, or UDC_ELIMIT if out is too small
 * (out then holds a truncated path that names no file of the node). */
int udc_state_approval(char *out, size_t outlen, const char *hash_hex, enum udc_approval_file f);
/* PREFIXapprovals/HASH<ext>: 0 or UDC_ELIMIT as above. */
int udc_state_approval_in(char *out, size_t outlen, const char *prefix, const char *hash_hex,
    enum udc_approval_file f);
/* rounds/ID/NAME into out: 0 or UDC_ELIMIT as above. */
int udc_state_round(char *out, size_t outlen, const char *idhex, const char *name);
/* STATE/SUB (one of UDC_STATE_*), an absolute or cwd-relative path. */
int udc_state_dir(char *out, size_t outlen, const char *state_dir, const char *sub);
/* STATE/PREFIXSUB, as udc_state_dir. */
int udc_state_dir_in(char *out, size_t outlen, const char *state_dir, const char *prefix,
    const char *sub);
/* PREFIXSUB relative to STATE, as store.h's functions take it. */
int udc_state_rel_in(char *out, size_t outlen, const char *prefix, const char *sub);
/* peers/GID/ into out, the prefix of one gemeente's files: 0 or UDC_ELIMIT. */
int udc_state_peer_prefix(char *out, size_t outlen, const char *gid);

#endif
