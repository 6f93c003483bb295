/*
 * udc-audit.c - check a node's audit log.
 *
 *   udc-audit verify LOG [PUBLIC_KEY]
 *
 * Walks the whole log (common/governance/audit.h): hashes, the chain, and with the
 * node operator's public key every checkpoint signature.  Prints one line,
 * "audit log OK: ..." or the first problem with its line, and exits 0 or 1
 * (2 for a usage error).  Reads the file only; it needs no lock, so on a
 * live log an append racing the read can show as a truncated last line:
 * run it again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "err.h"
#include "secmem.h"
#include "sign.h"

static const char *progname = "udc-audit";

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: %s verify LOG [PUBLIC_KEY]\n"
	        "\n"
	        "Checks every entry of the audit log LOG: its hash, its place in the chain\n"
	        "(nothing edited, deleted, inserted or reordered), a complete last line,\n"
	        "and the signatures on recorded peer heads.  With PUBLIC_KEY (the node\n"
	        "operator's public key file) every checkpoint's signature is checked too;\n"
	        "without it, checkpoints are checked for form only.\n"
	        "Exit status: 0 the log is good, 1 a problem was found, 2 usage.\n",
	        progname);
}

static int
cmd_verify(int argc, char **argv)
{
	struct udc_audit_report rep;
	struct udc_sign_pub pub;
	char err[512] = "";
	int rv;

	if (argc != 2 && argc != 3) {
		usage(stderr);
		return 2;
	}
	if (argc == 3 && (rv = udc_sign_pub_load(argv[2], &pub, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		return 1;
	}
	rv = udc_audit_verify(argv[1], argc == 3 ? &pub : NULL, &rep);
	if (rv != 0) {
		if (rep.line > 0)
			printf("audit log BAD: %s:%zu: %s\n", argv[1], rep.line, rep.reason);
		else
			printf("audit log BAD: %s: %s\n", argv[1],
			       rep.reason[0] ? rep.reason : udc_strerror(rv));
		return 1;
	}
	printf("audit log OK: %" PRIu64 " entries, head %s, %" PRIu64 " checkpoints verified\n",
	       rep.entries, rep.head, rep.checkpoints_verified);
	if (argc == 2 && rep.checkpoints > 0)
		printf("note: %" PRIu64 " checkpoint signatures not checked (no public key "
		       "given)\n",
		       rep.checkpoints);
	else if (rep.uncovered > 0)
		printf("note: the last %" PRIu64 " entries follow the last checkpoint and are "
		       "not covered by a signature\n",
		       rep.uncovered);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"verify", cmd_verify},
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (udc_crypto_init() != 0) {
		fprintf(stderr, "%s: libsodium initialisation failed\n", progname);
		return 1;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", progname, argv[1]);
	usage(stderr);
	return 2;
}
