/*
 * roundsig.h - what each node signs to bind a round to itself.
 *
 * Mutual TLS proves only "a holder of a certificate of our CA".  Who is
 * proposing, answering and committing is proved by the nodes' pinned
 * Ed25519 keys (sign.h) over these fixed layouts, each under a signature
 * domain of its own:
 *
 *   proposal (gemeente, UDC_SIGN_PROPOSAL), 172 bytes:
 *     round_id 16 || spec_hash 32 || cbs_key 32 || gemeente_key 32 ||
 *     kx_public 32 (zeros in exact mode) || created 8 (unix seconds, BE) ||
 *     max_records 8 (BE) || chunk_records 4 (BE) || has_kx 1 || 0 x 7
 *     (the spec hash fixes the mode, the keys, the labels and the rules)
 *   propose reply (CBS, UDC_SIGN_PROPOSE_REPLY), 100 bytes:
 *     SHA-256(proposal layout) 32 || cbs_key 32 || kx_public 32 (zeros if none) ||
 *     accepted 1 || awaiting_consent 1 || has_kx 1 || 0
 *   commit (gemeente, UDC_SIGN_COMMIT), 128 bytes:
 *     round_id 16 || spec_hash 32 || input_digest 32 || records 8 (BE) ||
 *     SHA-256(the packed InputReport) 32 || 0 x 8
 *
 * Naming both keys inside the proposal ties it to one pair of nodes; the
 * round id and creation time make a replay recognisable (CBS refuses a
 * round id it has seen and a proposal outside its time window); the reply
 * signs the hash of the proposal it answers, so a CBS answer cannot be
 * moved to another round, and its X25519 key cannot be swapped by anyone
 * who presents a certificate for the CBS name.
 */
#ifndef UDC_ROUNDSIG_H
#define UDC_ROUNDSIG_H

#include <stddef.h>
#include <stdint.h>

#define UDC_PROPOSAL_SIGDATA_BYTES 172
#define UDC_REPLY_SIGDATA_BYTES 100
#define UDC_COMMIT_SIGDATA_BYTES 128

struct udc_proposal {
	uint8_t round_id[16];
	uint8_t spec_hash[32];
	uint8_t cbs_key[32];       /* the CBS node's Ed25519 public key */
	uint8_t gemeente_key[32];  /* the gemeente's */
	uint8_t kx_public[32];     /* fuzzy and combined: the gemeente's X25519 key */
	int has_kx;
	int64_t created;           /* unix seconds */
	uint64_t max_records;      /* the gemeente uploads at most this many */
	uint32_t chunk_records;
};

void udc_proposal_sigdata(const struct udc_proposal *p, uint8_t out[UDC_PROPOSAL_SIGDATA_BYTES]);

/* kx_public may be NULL (none). */
void udc_propose_reply_sigdata(const uint8_t proposal_hash[32], const uint8_t cbs_key[32],
    const uint8_t *kx_public, int accepted, int awaiting_consent,
    uint8_t out[UDC_REPLY_SIGDATA_BYTES]);

void udc_commit_sigdata(const uint8_t round_id[16], const uint8_t spec_hash[32],
    const uint8_t input_digest[32], uint64_t records, const uint8_t report_hash[32],
    uint8_t out[UDC_COMMIT_SIGDATA_BYTES]);

#endif
