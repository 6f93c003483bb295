/*
 * udc-keygen.c - make an operator's Ed25519 key pair, or show a key's
 * fingerprint.
 *
 *   udc-keygen OUT_SECRET OUT_PUBLIC
 *   udc-keygen fingerprint PUBLIC
 *
 * Key files are described in common/governance/sign.h.  Neither file is ever
 * overwritten.  The secret key is printed nowhere; the fingerprint is what
 * operators read to each other when they pin each other's public keys.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "secmem.h"
#include "sign.h"

static const char *progname = "udc-keygen";

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: %s OUT_SECRET OUT_PUBLIC\n"
	        "       %s fingerprint PUBLIC\n"
	        "\n"
	        "The first form makes a new operator signing key pair (Ed25519): the secret\n"
	        "key in OUT_SECRET (mode 0600) and the public key in OUT_PUBLIC, and prints\n"
	        "the key's fingerprint.  Existing files are never overwritten.  (A secret key\n"
	        "file named \"fingerprint\" must be given as ./fingerprint.)\n"
	        "\n"
	        "The second form prints the fingerprint of a public key file: 16 hex digits,\n"
	        "the first 8 bytes of SHA-256 of the key.\n",
	        progname, progname);
}

static int
cmd_fingerprint(int argc, char **argv)
{
	struct udc_sign_pub pub;
	char fpr[UDC_SIGN_FPR_SIZE], err[512] = "";
	int rv;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if ((rv = udc_sign_pub_load(argv[1], &pub, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		return 1;
	}
	udc_sign_fingerprint(&pub, fpr);
	printf("%s\n", fpr);
	return 0;
}

static int
cmd_generate(int argc, char **argv)
{
	struct udc_sign_pub pub;
	char fpr[UDC_SIGN_FPR_SIZE], err[512] = "";
	int rv;

	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	if ((rv = udc_sign_keygen(argv[1], argv[2], err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		return 1;
	}
	/* Read back what was written, so the fingerprint is that of the file. */
	if ((rv = udc_sign_pub_load(argv[2], &pub, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		return 1;
	}
	udc_sign_fingerprint(&pub, fpr);
	printf("secret key: %s\npublic key: %s\nfingerprint: %s\n", argv[1], argv[2], fpr);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* Non-dumpable: the new secret key must not reach a core file. */
	if (udc_secmem_init() != 0) {
		fprintf(stderr, "%s: libsodium initialisation failed\n", progname);
		return 1;
	}
	if (strcmp(argv[1], "fingerprint") == 0)
		return cmd_fingerprint(argc - 1, argv + 1);
	return cmd_generate(argc, argv);
}
