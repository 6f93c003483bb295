/*
 * sign.c - operator signing keys (Ed25519) and domain-separated signatures.
 *
 * The file formats and the signed-message layout are described in sign.h.
 * Secret key bytes, and the base64 text they are read from or written as,
 * only ever live in sodium_malloc'd memory and are wiped when done.
 */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "file.h"
#include "secmem.h"

#define SK_B64_LEN 88 /* base64 of 64 bytes, padded */
#define PK_B64_LEN 44 /* base64 of 32 bytes, padded */
/* Large enough for either file with slack; anything longer is not ours. */
#define KEYFILE_MAX 256

struct udc_sign_key {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	struct udc_sign_pub pub;
};

static const char *const domain_tags[] = {
    [UDC_SIGN_APPROVAL] = "udclink/approval/v1",
    [UDC_SIGN_TRANSCRIPT] = "udclink/transcript/v1",
    [UDC_SIGN_RESULT] = "udclink/result/v1",
    [UDC_SIGN_AUDIT_CHECKPOINT] = "udclink/audit-checkpoint/v1",
    [UDC_SIGN_PROPOSAL] = "udclink/proposal/v1",
    [UDC_SIGN_PROPOSE_REPLY] = "udclink/propose-reply/v1",
    [UDC_SIGN_COMMIT] = "udclink/commit/v1",
    [UDC_SIGN_RESULT_META] = "udclink/result-metadata/v1",
};

static void
seterr(char *err, size_t errlen, const char *path, const char *reason)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, reason);
}

const char *
udc_sign_domain_tag(enum udc_sign_domain domain)
{
	if ((unsigned)domain >= sizeof(domain_tags) / sizeof(domain_tags[0]))
		return NULL;
	return domain_tags[domain];
}

/* Builds TAG || 0 || data into buf; returns its length or a negative udc_err. */
static int
build_message(enum udc_sign_domain domain, const void *data, size_t len, uint8_t *buf,
              size_t bufsize, size_t *outlen)
{
	const char *tag = udc_sign_domain_tag(domain);
	size_t tlen;

	if (tag == NULL || (data == NULL && len > 0) || len > UDC_SIGN_DATA_MAX)
		return UDC_EINVAL;
	tlen = strlen(tag) + 1; /* with its NUL, the separator */
	if (tlen + len > bufsize)
		return UDC_EINVAL;
	memcpy(buf, tag, tlen);
	if (len > 0)
		memcpy(buf + tlen, data, len);
	*outlen = tlen + len;
	return 0;
}

int
udc_sign(const struct udc_sign_key *key, enum udc_sign_domain domain, const void *data, size_t len,
         uint8_t sig[UDC_SIGN_BYTES])
{
	uint8_t msg[64 + UDC_SIGN_DATA_MAX];
	size_t mlen;
	int rv;

	if (key == NULL || sig == NULL)
		return UDC_EINVAL;
	if ((rv = build_message(domain, data, len, msg, sizeof(msg), &mlen)) != 0)
		goto out;
	if (crypto_sign_detached(sig, NULL, msg, mlen, key->sk) != 0) {
		rv = UDC_ECRYPTO;
		goto out;
	}
	rv = 0;
out:
	return rv;
}

int
udc_sign_verify(const struct udc_sign_pub *pub, enum udc_sign_domain domain, const void *data,
                size_t len, const uint8_t sig[UDC_SIGN_BYTES])
{
	uint8_t msg[64 + UDC_SIGN_DATA_MAX];
	size_t mlen;
	int rv;

	if (pub == NULL || sig == NULL)
		return UDC_EINVAL;
	if ((rv = build_message(domain, data, len, msg, sizeof(msg), &mlen)) != 0)
		goto out;
	/* libsodium rejects small-order keys and non-canonical signatures. */
	if (crypto_sign_verify_detached(sig, msg, mlen, pub->pk) != 0) {
		rv = UDC_ECRYPTO;
		goto out;
	}
	rv = 0;
out:
	return rv;
}

void
udc_sign_fingerprint(const struct udc_sign_pub *pub, char out[UDC_SIGN_FPR_SIZE])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pub->pk, sizeof(pub->pk));
	sodium_bin2hex(out, UDC_SIGN_FPR_SIZE, h, 8);
}

void
udc_sign_pub_to_base64(const struct udc_sign_pub *pub, char out[UDC_SIGN_PUB_B64_SIZE])
{
	sodium_bin2base64(out, UDC_SIGN_PUB_B64_SIZE, pub->pk, sizeof(pub->pk),
	                  sodium_base64_VARIANT_ORIGINAL);
}

/* Decodes exactly b64len characters of padded standard base64 into exactly
 * outlen bytes; anything else (other lengths, stray characters) fails. */
static int
b64_exact(const char *b64, size_t b64len, uint8_t *out, size_t outlen)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (sodium_base642bin(out, outlen, b64, b64len, NULL, &bin_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return UDC_EPARSE;
	if (bin_len != outlen || end != b64 + b64len)
		return UDC_EPARSE;
	return 0;
}

int
udc_sign_pub_from_base64(const char *b64, struct udc_sign_pub *pub)
{
	if (b64 == NULL || pub == NULL || strlen(b64) != PK_B64_LEN)
		return UDC_EPARSE;
	return b64_exact(b64, PK_B64_LEN, pub->pk, sizeof(pub->pk));
}

/* Splits "HEADER\nBODY[\n]" and checks the header; *body, *blen get the body. */
static int
split_keyfile(const char *text, size_t len, const char *header, const char **body, size_t *blen)
{
	size_t hlen = strlen(header);

	if (len < hlen + 1 || memcmp(text, header, hlen) != 0 || text[hlen] != '\n')
		return UDC_EPARSE;
	*body = text + hlen + 1;
	*blen = len - hlen - 1;
	if (*blen > 0 && (*body)[*blen - 1] == '\n')
		(*blen)--;
	return 0;
}

int
udc_sign_pub_parse(const char *text, size_t len, struct udc_sign_pub *pub)
{
	const char *body;
	size_t blen;
	int rv;

	if (text == NULL || pub == NULL)
		return UDC_EINVAL;
	if ((rv = split_keyfile(text, len, UDC_SIGN_PUBLIC_HEADER, &body, &blen)) != 0)
		return rv;
	if (blen != PK_B64_LEN)
		return UDC_EPARSE;
	return b64_exact(body, blen, pub->pk, sizeof(pub->pk));
}

int
udc_sign_pub_load(const char *path, struct udc_sign_pub *pub, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if ((rv = udc_file_read(path, KEYFILE_MAX, 0, &buf, &len, err, errlen)) != 0)
		return rv;
	if ((rv = udc_sign_pub_parse(buf, len, pub)) != 0)
		seterr(err, errlen, path, "not a udclink Ed25519 public key file");
	free(buf);
	return rv;
}

int
udc_sign_key_load(const char *path, struct udc_sign_key **keyp, char *err, size_t errlen)
{
	struct udc_sign_key *key = NULL;
	char *buf = NULL;
	uint8_t *chk = NULL;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	const char *body;
	size_t len = 0, blen;
	int rv;

	*keyp = NULL;
	/* A regular file of mode 0600 or stricter, never through a link,
	 * checked on the descriptor it is read from; read into locked memory. */
	if ((rv = udc_file_read(path, KEYFILE_MAX, UDC_FILE_NOFOLLOW | UDC_FILE_PRIVATE |
	    UDC_FILE_SECRET, &buf, &len, err, errlen)) != 0)
		goto out;
	key = udc_secmem_alloc(sizeof(*key));
	chk = udc_secmem_alloc(crypto_sign_SECRETKEYBYTES);
	if (key == NULL || chk == NULL) {
		seterr(err, errlen, path, "out of locked memory");
		rv = UDC_ENOMEM;
		goto out;
	}
	if (split_keyfile(buf, len, UDC_SIGN_SECRET_HEADER, &body, &blen) != 0 ||
	    blen != SK_B64_LEN || b64_exact(body, blen, key->sk, sizeof(key->sk)) != 0) {
		seterr(err, errlen, path, "not a udclink Ed25519 secret key file");
		rv = UDC_EPARSE;
		goto out;
	}
	/* The stored public half must be the one the seed gives. */
	if (crypto_sign_seed_keypair(pk, chk, key->sk) != 0 ||
	    sodium_memcmp(chk, key->sk, crypto_sign_SECRETKEYBYTES) != 0) {
		seterr(err, errlen, path, "secret key is inconsistent (corrupted file?)");
		rv = UDC_EPARSE;
		goto out;
	}
	memcpy(key->pub.pk, pk, sizeof(pk));
	sodium_mprotect_readonly(key);
	*keyp = key;
	key = NULL;
	rv = 0;
out:
	udc_file_free(buf, UDC_FILE_SECRET);
	udc_secmem_free(chk);
	udc_secmem_free(key);
	return rv;
}

void
udc_sign_key_free(struct udc_sign_key *key)
{
	/* sodium_free makes the pages writable, wipes and unmaps them. */
	udc_secmem_free(key);
}

void
udc_sign_key_public(const struct udc_sign_key *key, struct udc_sign_pub *pub)
{
	*pub = key->pub;
}

/* Writes a new file (never replacing one) of len bytes with the given mode:
 * written under a temporary name and linked into place when complete. */
static int
write_new_file(const char *path, mode_t mode, const char *data, size_t len, char *err,
               size_t errlen)
{
	struct udc_afile w;
	int rv;

	if ((rv = udc_afile_begin(&w, AT_FDCWD, path, NULL, mode, UDC_AFILE_NOREPLACE, err,
	    errlen)) != 0)
		return rv;
	if ((rv = udc_afile_write(&w, data, len)) != 0) {
		seterr(err, errlen, path, strerror(errno));
		udc_afile_discard(&w);
		return rv;
	}
	return udc_afile_commit(&w, err, errlen);
}

int
udc_sign_keygen(const char *secret_path, const char *public_path, char *err, size_t errlen)
{
	uint8_t *sk = NULL;
	char *text = NULL;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char pubtext[sizeof(UDC_SIGN_PUBLIC_HEADER) + PK_B64_LEN + 2];
	size_t hlen = strlen(UDC_SIGN_SECRET_HEADER);
	struct stat st;
	int rv;

	if (secret_path == NULL || public_path == NULL || strcmp(secret_path, public_path) == 0) {
		seterr(err, errlen, secret_path ? secret_path : "(null)",
		       "secret and public key need two different paths");
		rv = UDC_EINVAL;
		goto out;
	}
	/* Check both before creating either, so a refusal leaves nothing. */
	if (lstat(public_path, &st) == 0) {
		seterr(err, errlen, public_path, "exists, refusing to overwrite");
		rv = UDC_EEXIST;
		goto out;
	}
	sk = udc_secmem_alloc(crypto_sign_SECRETKEYBYTES);
	text = udc_secmem_alloc(hlen + 1 + SK_B64_LEN + 2);
	if (sk == NULL || text == NULL) {
		seterr(err, errlen, secret_path, "out of locked memory");
		rv = UDC_ENOMEM;
		goto out;
	}
	if (crypto_sign_keypair(pk, sk) != 0) {
		seterr(err, errlen, secret_path, "key generation failed");
		rv = UDC_ECRYPTO;
		goto out;
	}
	memcpy(text, UDC_SIGN_SECRET_HEADER "\n", hlen + 1);
	sodium_bin2base64(text + hlen + 1, SK_B64_LEN + 1, sk, crypto_sign_SECRETKEYBYTES,
	                  sodium_base64_VARIANT_ORIGINAL);
	text[hlen + 1 + SK_B64_LEN] = '\n';
	snprintf(pubtext, sizeof(pubtext), "%s\n", UDC_SIGN_PUBLIC_HEADER);
	sodium_bin2base64(pubtext + strlen(pubtext), PK_B64_LEN + 1, pk, sizeof(pk),
	                  sodium_base64_VARIANT_ORIGINAL);
	strcat(pubtext, "\n");

	if ((rv = write_new_file(secret_path, 0600, text, hlen + 1 + SK_B64_LEN + 1, err,
	                         errlen)) != 0)
		goto out;
	if ((rv = write_new_file(public_path, 0644, pubtext, strlen(pubtext), err, errlen)) != 0) {
		/* Ours: created with O_EXCL a moment ago. */
		unlink(secret_path);
		goto out;
	}
	rv = 0;
out:
	udc_secmem_free(sk);
	udc_secmem_free(text);
	return rv;
}
