/*
 * sign.h - operator signing keys (Ed25519) and domain-separated signatures.
 *
 * Each node's operator holds one Ed25519 key pair.  It signs spec approvals,
 * round transcripts, released results and audit-log heads.  Every signature
 * covers a domain tag first, so that a signature made for one purpose can
 * never be replayed as another:
 *
 *   signed message = TAG || 0x00 || data
 *
 *   UDC_SIGN_APPROVAL          "udclink/approval/v1"          data: spec hash
 *   UDC_SIGN_TRANSCRIPT        "udclink/transcript/v1"        data: transcript hash
 *   UDC_SIGN_RESULT            "udclink/result/v1"            data: result hash
 *   UDC_SIGN_AUDIT_CHECKPOINT  "udclink/audit-checkpoint/v1"  data: audit head
 *                              (seq, 8 bytes big-endian || entry hash; audit.h)
 *   UDC_SIGN_PROPOSAL          "udclink/proposal/v1"          data: a round proposal
 *   UDC_SIGN_PROPOSE_REPLY     "udclink/propose-reply/v1"     data: CBS's answer to one
 *   UDC_SIGN_COMMIT            "udclink/commit/v1"            data: the gemeente's input
 *                              (the three layouts: roundsig.h)
 *   UDC_SIGN_RESULT_META       "udclink/result-metadata/v1"   data: as RESULT, over the
 *                              release's result.json
 *
 * No tag contains a NUL byte, so the NUL ends the tag unambiguously and no
 * (tag, data) pair can be read as another.  Data is at most
 * UDC_SIGN_DATA_MAX bytes (callers sign hashes, not documents).
 *
 * Key files (text, ASCII, each line ends in "\n"):
 *
 *   secret key:  "udclink-ed25519-secret-v1\n" base64(sk) "\n"
 *                sk is libsodium's 64-byte secret key (32-byte seed followed
 *                by the 32-byte public key); standard base64 with padding,
 *                88 characters.  Mode 0600; loading refuses a file that
 *                group or others may read or write.
 *   public key:  "udclink-ed25519-public-v1\n" base64(pk) "\n"
 *                pk is the 32-byte Ed25519 public key, 44 characters.
 *
 * Nothing else may appear in either file (no comments, no blank lines); the
 * final newline may be missing.  A loaded secret key is checked against its
 * seed, so a corrupted file is refused rather than producing bad signatures.
 *
 * Fingerprint: lower-case hex of the first 8 bytes of SHA-256(pk), 16
 * characters.  It names a key in messages and in the audit log; it is not
 * enough to verify anything with, so a pinned peer key is the whole pk.
 */
#ifndef UDC_SIGN_H
#define UDC_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define UDC_SIGN_PUBLICKEYBYTES 32
#define UDC_SIGN_BYTES 64
#define UDC_SIGN_DATA_MAX 1024
/* Fingerprint text with its NUL. */
#define UDC_SIGN_FPR_SIZE 17
/* base64 of a public key / signature, with its NUL. */
#define UDC_SIGN_PUB_B64_SIZE 45
#define UDC_SIGN_SIG_B64_SIZE 89

#define UDC_SIGN_SECRET_HEADER "udclink-ed25519-secret-v1"
#define UDC_SIGN_PUBLIC_HEADER "udclink-ed25519-public-v1"

enum udc_sign_domain {
	UDC_SIGN_APPROVAL = 1,
	UDC_SIGN_TRANSCRIPT,
	UDC_SIGN_RESULT,
	UDC_SIGN_AUDIT_CHECKPOINT,
	UDC_SIGN_PROPOSAL,
	UDC_SIGN_PROPOSE_REPLY,
	UDC_SIGN_COMMIT,
	UDC_SIGN_RESULT_META,
	UDC_SIGN_NDOMAINS
};

/* A public key is not secret and has a fixed size: callers embed it (a
 * node's context holds its peer's pinned key). */
struct udc_sign_pub {
	uint8_t pk[UDC_SIGN_PUBLICKEYBYTES];
};

/* A secret key: opaque, in sodium_malloc'd memory (guarded, locked,
 * read-only after load, wiped on free). */
struct udc_sign_key;

/* The tag of a domain (without the NUL), or NULL for an unknown domain. */
const char *udc_sign_domain_tag(enum udc_sign_domain domain);

/* Creates a new key pair: the secret key file with mode 0600 and the public
 * key file with mode 0644 (less the umask), both with O_EXCL: an existing
 * file is never overwritten (UDC_EEXIST).  If the public file cannot be
 * written the secret file just created is removed again.  err (may be NULL)
 * gets "PATH: reason" on failure; it never holds key material. */
int udc_sign_keygen(const char *secret_path, const char *public_path, char *err, size_t errlen);

/* Loads a secret key file.  Refuses (UDC_EPERM) a file that is not regular
 * or whose mode grants any access to group or others (udc_keyfile_check,
 * checked again on the open descriptor).  On success *key is the caller's,
 * to be released with udc_sign_key_free; on failure *key is NULL. */
int udc_sign_key_load(const char *path, struct udc_sign_key **key, char *err, size_t errlen);
/* Wipes and frees; NULL is fine. */
void udc_sign_key_free(struct udc_sign_key *key);
/* The public half of a loaded secret key. */
void udc_sign_key_public(const struct udc_sign_key *key, struct udc_sign_pub *pub);

/* Loads a public key file (no permission requirement). */
int udc_sign_pub_load(const char *path, struct udc_sign_pub *pub, char *err, size_t errlen);
/* Parses the contents of a public key file (len bytes, need not be
 * NUL-terminated). */
int udc_sign_pub_parse(const char *text, size_t len, struct udc_sign_pub *pub);
/* The bare base64 form (44 characters), as a config file or the audit log
 * carries it; and back. */
int udc_sign_pub_from_base64(const char *b64, struct udc_sign_pub *pub);
void udc_sign_pub_to_base64(const struct udc_sign_pub *pub, char out[UDC_SIGN_PUB_B64_SIZE]);

/* The key's fingerprint: 16 lower-case hex characters and a NUL. */
void udc_sign_fingerprint(const struct udc_sign_pub *pub, char out[UDC_SIGN_FPR_SIZE]);

/* Signs TAG(domain) || 0x00 || data.  UDC_EINVAL for an unknown domain or
 * len > UDC_SIGN_DATA_MAX. */
int udc_sign(const struct udc_sign_key *key, enum udc_sign_domain domain, const void *data,
             size_t len, uint8_t sig[UDC_SIGN_BYTES]);
/* 0 if sig is pub's signature of TAG(domain) || 0x00 || data, otherwise
 * UDC_ECRYPTO (UDC_EINVAL for an unknown domain or oversized data). */
int udc_sign_verify(const struct udc_sign_pub *pub, enum udc_sign_domain domain, const void *data,
                    size_t len, const uint8_t sig[UDC_SIGN_BYTES]);

#endif
