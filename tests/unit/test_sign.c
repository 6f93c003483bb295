/*
 * test_sign.c - operator keys and domain-separated signatures (common/governance/sign.c).
 *
 * Each test removes one protection in thought and checks that something
 * fails: a signature moved to another domain, a flipped bit, a key file
 * others can read, an overwritten key, a corrupted key file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "err.h"
#include "secmem.h"
#include "sign.h"

static char dir[64];
static char secpath[128], pubpath[128];

static void
path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
read_text(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got;

	assert_non_null(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	return got;
}

static int
group_setup(void **state)
{
	char err[256];

	if (udc_crypto_init() != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/udc-sign-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	path_in(secpath, sizeof(secpath), "op.key");
	path_in(pubpath, sizeof(pubpath), "op.pub");
	return udc_sign_keygen(secpath, pubpath, err, sizeof(err)) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_keygen_files(void **state)
{
	struct stat st;
	char buf[512];
	size_t n;

	assert_int_equal(stat(secpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	n = read_text(secpath, buf, sizeof(buf));
	assert_int_equal(n, strlen(UDC_SIGN_SECRET_HEADER) + 1 + 88 + 1);
	assert_memory_equal(buf, UDC_SIGN_SECRET_HEADER "\n", strlen(UDC_SIGN_SECRET_HEADER) + 1);
	n = read_text(pubpath, buf, sizeof(buf));
	assert_int_equal(n, strlen(UDC_SIGN_PUBLIC_HEADER) + 1 + 44 + 1);
	assert_memory_equal(buf, UDC_SIGN_PUBLIC_HEADER "\n", strlen(UDC_SIGN_PUBLIC_HEADER) + 1);
}

static void
test_round_trip(void **state)
{
	struct udc_sign_key *key = NULL;
	struct udc_sign_pub pub, pub2;
	uint8_t sig[UDC_SIGN_BYTES], h[32];
	char err[256];
	enum udc_sign_domain d;

	assert_int_equal(udc_sign_key_load(secpath, &key, err, sizeof(err)), 0);
	assert_int_equal(udc_sign_pub_load(pubpath, &pub, err, sizeof(err)), 0);
	udc_sign_key_public(key, &pub2);
	assert_memory_equal(pub.pk, pub2.pk, sizeof(pub.pk));
	randombytes_buf(h, sizeof(h));
	for (d = UDC_SIGN_APPROVAL; d < UDC_SIGN_NDOMAINS; d++) {
		assert_int_equal(udc_sign(key, d, h, sizeof(h), sig), 0);
		assert_int_equal(udc_sign_verify(&pub, d, h, sizeof(h), sig), 0);
	}
	/* Empty data is a valid message too (the tag alone). */
	assert_int_equal(udc_sign(key, UDC_SIGN_RESULT, NULL, 0, sig), 0);
	assert_int_equal(udc_sign_verify(&pub, UDC_SIGN_RESULT, NULL, 0, sig), 0);
	udc_sign_key_free(key);
}

/* The signed bytes are exactly TAG || 0x00 || data: checked with libsodium
 * directly, so a change of layout (and a break with the other node) fails. */
static void
test_message_layout(void **state)
{
	struct udc_sign_key *key = NULL;
	struct udc_sign_pub pub;
	uint8_t sig[UDC_SIGN_BYTES], h[32], msg[128];
	const char *tag = "udclink/approval/v1";
	char err[256];

	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_APPROVAL), "udclink/approval/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_TRANSCRIPT), "udclink/transcript/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_RESULT), "udclink/result/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_AUDIT_CHECKPOINT),
	                    "udclink/audit-checkpoint/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_PROPOSAL), "udclink/proposal/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_PROPOSE_REPLY), "udclink/propose-reply/v1");
	assert_string_equal(udc_sign_domain_tag(UDC_SIGN_COMMIT), "udclink/commit/v1");
	assert_null(udc_sign_domain_tag((enum udc_sign_domain)0));
	assert_null(udc_sign_domain_tag((enum udc_sign_domain)99));

	assert_int_equal(udc_sign_key_load(secpath, &key, err, sizeof(err)), 0);
	udc_sign_key_public(key, &pub);
	memset(h, 0xab, sizeof(h));
	assert_int_equal(udc_sign(key, UDC_SIGN_APPROVAL, h, sizeof(h), sig), 0);
	memcpy(msg, tag, strlen(tag) + 1);
	memcpy(msg + strlen(tag) + 1, h, sizeof(h));
	assert_int_equal(crypto_sign_verify_detached(sig, msg, strlen(tag) + 1 + sizeof(h), pub.pk),
	                 0);
	/* ... and not the bare hash. */
	assert_int_not_equal(crypto_sign_verify_detached(sig, h, sizeof(h), pub.pk), 0);
	udc_sign_key_free(key);
}

static void
test_domain_separation(void **state)
{
	struct udc_sign_key *key = NULL;
	struct udc_sign_pub pub;
	uint8_t sig[UDC_SIGN_BYTES], h[32];
	char err[256];
	enum udc_sign_domain d, o;

	assert_int_equal(udc_sign_key_load(secpath, &key, err, sizeof(err)), 0);
	udc_sign_key_public(key, &pub);
	randombytes_buf(h, sizeof(h));
	for (d = UDC_SIGN_APPROVAL; d < UDC_SIGN_NDOMAINS; d++) {
		assert_int_equal(udc_sign(key, d, h, sizeof(h), sig), 0);
		for (o = UDC_SIGN_APPROVAL; o <= UDC_SIGN_AUDIT_CHECKPOINT; o++)
			assert_int_equal(udc_sign_verify(&pub, o, h, sizeof(h), sig),
			                 o == d ? 0 : UDC_ECRYPTO);
	}
	/* Unknown domain, oversized data. */
	assert_int_equal(udc_sign(key, (enum udc_sign_domain)42, h, sizeof(h), sig), UDC_EINVAL);
	{
		static uint8_t big[UDC_SIGN_DATA_MAX + 1];
		assert_int_equal(udc_sign(key, UDC_SIGN_RESULT, big, sizeof(big), sig), UDC_EINVAL);
		assert_int_equal(udc_sign(key, UDC_SIGN_RESULT, big, UDC_SIGN_DATA_MAX, sig), 0);
		assert_int_equal(
		    udc_sign_verify(&pub, UDC_SIGN_RESULT, big, UDC_SIGN_DATA_MAX, sig), 0);
	}
	udc_sign_key_free(key);
}

static void
test_flipped_bits(void **state)
{
	struct udc_sign_key *key = NULL;
	struct udc_sign_pub pub, other;
	uint8_t sig[UDC_SIGN_BYTES], h[32], sk2[64];
	char err[256];

	assert_int_equal(udc_sign_key_load(secpath, &key, err, sizeof(err)), 0);
	udc_sign_key_public(key, &pub);
	randombytes_buf(h, sizeof(h));
	assert_int_equal(udc_sign(key, UDC_SIGN_TRANSCRIPT, h, sizeof(h), sig), 0);
	for (size_t bit = 0; bit < sizeof(sig) * 8; bit += 7) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(udc_sign_verify(&pub, UDC_SIGN_TRANSCRIPT, h, sizeof(h), sig),
		                 UDC_ECRYPTO);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < sizeof(h) * 8; bit++) {
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(udc_sign_verify(&pub, UDC_SIGN_TRANSCRIPT, h, sizeof(h), sig),
		                 UDC_ECRYPTO);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Another key. */
	crypto_sign_keypair(other.pk, sk2);
	sodium_memzero(sk2, sizeof(sk2));
	assert_int_equal(udc_sign_verify(&other, UDC_SIGN_TRANSCRIPT, h, sizeof(h), sig),
	                 UDC_ECRYPTO);
	assert_int_equal(udc_sign_verify(&pub, UDC_SIGN_TRANSCRIPT, h, sizeof(h), sig), 0);
	udc_sign_key_free(key);
}

static void
test_keyfile_mode_refused(void **state)
{
	struct udc_sign_key *key = (struct udc_sign_key *)1;
	char err[256] = "", copy[128], text[512];
	const mode_t bad[] = {0644, 0640, 0604, 0660, 0602};

	path_in(copy, sizeof(copy), "copy.key");
	read_text(secpath, text, sizeof(text));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(copy, text, bad[i]);
		assert_int_equal(udc_sign_key_load(copy, &key, err, sizeof(err)), UDC_EPERM);
		assert_null(key);
		assert_non_null(strstr(err, "too open"));
		key = (struct udc_sign_key *)1;
	}
	write_text(copy, text, 0400);
	assert_int_equal(udc_sign_key_load(copy, &key, err, sizeof(err)), 0);
	udc_sign_key_free(key);
	unlink(copy);
}

static void
test_keyfile_symlink_refused(void **state)
{
	struct udc_sign_key *key = NULL;
	char err[256], link[128];

	path_in(link, sizeof(link), "link.key");
	assert_int_equal(symlink(secpath, link), 0);
	assert_int_not_equal(udc_sign_key_load(link, &key, err, sizeof(err)), 0);
	assert_null(key);
	unlink(link);
}

static void
test_keygen_refuses_overwrite(void **state)
{
	char err[256], before[512], after[512], s2[128], p2[128];
	struct stat st;

	read_text(secpath, before, sizeof(before));
	/* Both exist. */
	assert_int_equal(udc_sign_keygen(secpath, pubpath, err, sizeof(err)), UDC_EEXIST);
	read_text(secpath, after, sizeof(after));
	assert_string_equal(before, after);
	/* Only the secret exists: refused, and the public file not created. */
	path_in(p2, sizeof(p2), "new.pub");
	assert_int_equal(udc_sign_keygen(secpath, p2, err, sizeof(err)), UDC_EEXIST);
	assert_int_not_equal(stat(p2, &st), 0);
	read_text(secpath, after, sizeof(after));
	assert_string_equal(before, after);
	/* Only the public exists: refused, and the secret not left behind. */
	path_in(s2, sizeof(s2), "new.key");
	assert_int_equal(udc_sign_keygen(s2, pubpath, err, sizeof(err)), UDC_EEXIST);
	assert_int_not_equal(stat(s2, &st), 0);
	/* The same path twice. */
	assert_int_equal(udc_sign_keygen(s2, s2, err, sizeof(err)), UDC_EINVAL);
	assert_int_not_equal(stat(s2, &st), 0);
	/* Two fresh keys differ. */
	assert_int_equal(udc_sign_keygen(s2, p2, err, sizeof(err)), 0);
	read_text(s2, after, sizeof(after));
	assert_string_not_equal(before, after);
	unlink(s2);
	unlink(p2);
}

/* A secret key file whose public half does not belong to its seed. */
static void
test_corrupt_secret_refused(void **state)
{
	struct udc_sign_key *key = NULL;
	uint8_t pk[32], sk[64], pk2[32], sk2[64];
	char b64[89], text[256], err[256], path[128];

	path_in(path, sizeof(path), "corrupt.key");
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	memcpy(sk + 32, pk2, 32);
	sodium_bin2base64(b64, sizeof(b64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "%s\n%s\n", UDC_SIGN_SECRET_HEADER, b64);
	write_text(path, text, 0600);
	assert_int_equal(udc_sign_key_load(path, &key, err, sizeof(err)), UDC_EPARSE);
	assert_null(key);
	/* The good one loads, without its final newline too. */
	memcpy(sk + 32, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "%s\n%s", UDC_SIGN_SECRET_HEADER, b64);
	write_text(path, text, 0600);
	assert_int_equal(udc_sign_key_load(path, &key, err, sizeof(err)), 0);
	udc_sign_key_free(key);
	/* A public key file is not a secret key file. */
	read_text(pubpath, text, sizeof(text));
	write_text(path, text, 0600);
	assert_int_equal(udc_sign_key_load(path, &key, err, sizeof(err)), UDC_EPARSE);
	/* Error text never carries key material. */
	assert_null(strstr(err, b64));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk2, sizeof(sk2));
	unlink(path);
}

static void
test_pub_parse(void **state)
{
	struct udc_sign_pub pub, pub2;
	char text[256], b64[UDC_SIGN_PUB_B64_SIZE], bad[256];
	size_t n;

	n = read_text(pubpath, text, sizeof(text));
	assert_int_equal(udc_sign_pub_parse(text, n, &pub), 0);
	assert_int_equal(udc_sign_pub_parse(text, n - 1, &pub2), 0); /* no final newline */
	assert_memory_equal(pub.pk, pub2.pk, 32);
	udc_sign_pub_to_base64(&pub, b64);
	assert_int_equal(strlen(b64), 44);
	assert_int_equal(udc_sign_pub_from_base64(b64, &pub2), 0);
	assert_memory_equal(pub.pk, pub2.pk, 32);

	/* Wrong header, trailing garbage, extra blank line, truncated body,
	 * secret header. */
	snprintf(bad, sizeof(bad), "udclink-ed25519-public-v2\n%s\n", b64);
	assert_int_equal(udc_sign_pub_parse(bad, strlen(bad), &pub2), UDC_EPARSE);
	snprintf(bad, sizeof(bad), "%s\n%s\nx\n", UDC_SIGN_PUBLIC_HEADER, b64);
	assert_int_equal(udc_sign_pub_parse(bad, strlen(bad), &pub2), UDC_EPARSE);
	snprintf(bad, sizeof(bad), "%s\n%s\n\n", UDC_SIGN_PUBLIC_HEADER, b64);
	assert_int_equal(udc_sign_pub_parse(bad, strlen(bad), &pub2), UDC_EPARSE);
	snprintf(bad, sizeof(bad), "%s\n%.40s\n", UDC_SIGN_PUBLIC_HEADER, b64);
	assert_int_equal(udc_sign_pub_parse(bad, strlen(bad), &pub2), UDC_EPARSE);
	snprintf(bad, sizeof(bad), "%s\n%s\n", UDC_SIGN_SECRET_HEADER, b64);
	assert_int_equal(udc_sign_pub_parse(bad, strlen(bad), &pub2), UDC_EPARSE);
	assert_int_equal(
	    udc_sign_pub_from_base64("not base64 at all, not even the length!!!!!", &pub2),
	    UDC_EPARSE);
}

/* Known answer: the fingerprint of the all-zero key is the first 8 bytes of
 * SHA-256 of 32 zero bytes. */
static void
test_fingerprint(void **state)
{
	struct udc_sign_pub pub;
	char fpr[UDC_SIGN_FPR_SIZE];

	memset(&pub, 0, sizeof(pub));
	udc_sign_fingerprint(&pub, fpr);
	assert_string_equal(fpr, "66687aadf862bd77");
	pub.pk[31] = 1;
	udc_sign_fingerprint(&pub, fpr);
	assert_string_not_equal(fpr, "66687aadf862bd77");
	assert_int_equal(strlen(fpr), 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keygen_files),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_message_layout),
	    cmocka_unit_test(test_domain_separation),
	    cmocka_unit_test(test_flipped_bits),
	    cmocka_unit_test(test_keyfile_mode_refused),
	    cmocka_unit_test(test_keyfile_symlink_refused),
	    cmocka_unit_test(test_keygen_refuses_overwrite),
	    cmocka_unit_test(test_corrupt_secret_refused),
	    cmocka_unit_test(test_pub_parse),
	    cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
