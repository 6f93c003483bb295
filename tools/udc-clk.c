/*
 * udc-clk.c - encode a CSV file as clkhash-compatible CLKs.
 *
 * Stand-alone so that an operator can check the encoder against clkhash /
 * anonlink, and prepare CLKs outside the daemons.  Subcommands come from one
 * table; today there is only "hash".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clk.h"
#include "csv.h"
#include "err.h"
#include "secmem.h"

#define SECRET_MAX (64 * 1024)

static const char *progname = "udc-clk";

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: %s hash [--json] INPUT.csv SCHEMA.json SECRET_FILE OUTPUT\n"
	        "\n"
	        "Encodes every record of INPUT.csv (UTF-8, header row) with the clkhash\n"
	        "linkage-schema v3 in SCHEMA.json and the secret in SECRET_FILE, exactly as\n"
	        "clkhash 0.18 does (same bytes for the same schema, secret and values).\n"
	        "\n"
	        "  INPUT.csv    columns are matched to the schema's feature identifiers by\n"
	        "               name (surrounding blanks in the header are ignored; values are\n"
	        "               used as they are, like clkhash: no trimming or case folding).\n"
	        "               Columns of ignored features may be absent.\n"
	        "  SECRET_FILE  the secret's bytes (one trailing newline is dropped); the file\n"
	        "               must not be readable or writable by group or others.\n"
	        "  OUTPUT       a file name, or - for standard output.  The file is written\n"
	        "               under a temporary name and renamed when complete.\n"
	        "\n"
	        "Output, in input order, one CLK per record, standard base64 of the l-bit\n"
	        "filter (bit i in bit 7 - i %% 8 of byte i / 8):\n"
	        "  default      one base64 CLK per line;\n"
	        "  --json       a JSON object {\"clks\": [\"<base64>\", ...]}, the format of\n"
	        "               clkhash's \"clkutil hash\" / anonlink-client \"hash\" and what\n"
	        "               the anonlink entity service accepts.\n"
	        "\n"
	        "A record clkhash would reject (not an integer, not a date, not in the enum,\n"
	        "wrong length or case, bad CSV) stops the run with its line number and the\n"
	        "field; values are never printed.\n",
	        progname);
}

/* Reads the secret into locked memory; refuses a file others can read. */
static int
read_secret(const char *path, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rv;

	*out = NULL;
	if ((rv = udc_keyfile_check(path, err, errlen)) != 0)
		return rv;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return UDC_EIO;
	}
	/* the file we read is the file we checked (no swap in between) */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: not a private regular file", path);
		rv = UDC_EPERM;
		goto out;
	}
	if ((buf = sodium_malloc(SECRET_MAX + 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf + len, SECRET_MAX + 1 - len)) > 0)
		if ((len += (size_t)n) > SECRET_MAX)
			break;
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (len > SECRET_MAX) {
		snprintf(err, errlen, "%s: secret longer than %d bytes", path, SECRET_MAX);
		rv = UDC_ELIMIT;
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "%s: empty secret", path);
		rv = UDC_EINVAL;
		goto out;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
	rv = 0;
out:
	sodium_free(buf);
	close(fd);
	return rv;
}

struct hash_run {
	const char *input, *schema_path, *secret_path, *output;
	int json;
};

static int
hash_file(const struct hash_run *r, char *err, size_t errlen)
{
	struct udc_clk_schema *schema = NULL;
	struct udc_clk_encoder *enc = NULL;
	struct udc_csv *csv = NULL;
	uint8_t *secret = NULL, *clk = NULL;
	size_t secretlen = 0, nf, nb, i, nrec = 0;
	int *col = NULL, rv, tofile = strcmp(r->output, "-") != 0;
	const char **vals = NULL;
	char *b64 = NULL, *tmp = NULL;
	char **fields;
	FILE *out = NULL;

	if ((rv = udc_clk_schema_load(&schema, r->schema_path, err, errlen)) != 0)
		goto out;
	if ((rv = read_secret(r->secret_path, &secret, &secretlen, err, errlen)) != 0)
		goto out;
	rv = udc_clk_encoder_new(&enc, schema, secret, secretlen, err, errlen);
	sodium_free(secret); /* the encoder holds what it needs */
	secret = NULL;
	if (rv != 0)
		goto out;
	if ((rv = udc_csv_open(&csv, r->input, ',', err, errlen)) != 0)
		goto out;

	nf = udc_clk_schema_nfields(schema);
	nb = udc_clk_schema_bytes(schema);
	if ((col = calloc(nf, sizeof(*col))) == NULL ||
	    (vals = calloc(nf, sizeof(*vals))) == NULL || (clk = malloc(nb)) == NULL ||
	    (b64 = malloc(udc_clk_base64_len(nb))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < nf; i++) {
		const char *name = udc_clk_schema_field_name(schema, i);
		col[i] = udc_csv_find_col(csv, name);
		if (col[i] < 0 && !udc_clk_schema_field_ignored(schema, i)) {
			snprintf(err, errlen, "%s: no column '%s' for the schema's feature",
			         r->input, name);
			rv = UDC_ENOTFOUND;
			goto out;
		}
	}

	if (tofile) {
		size_t tl = strlen(r->output) + 16;
		int fd;
		if ((tmp = malloc(tl)) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		snprintf(tmp, tl, "%s.tmpXXXXXX", r->output);
		if ((fd = mkstemp(tmp)) < 0 || (out = fdopen(fd, "w")) == NULL) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(tmp);
			tmp = NULL;
			rv = UDC_EIO;
			goto out;
		}
	} else {
		out = stdout;
	}
	if (r->json)
		fputs("{\"clks\": [", out);

	while ((rv = udc_csv_next(csv, &fields)) == UDC_CSV_RECORD) {
		char verr[256];
		for (i = 0; i < nf; i++)
			vals[i] = col[i] >= 0 ? fields[col[i]] : NULL;
		if ((rv = udc_clk_encode(enc, vals, nf, clk, nb, NULL, verr, sizeof(verr))) != 0) {
			snprintf(err, errlen, "%s:%lu: %s", r->input, udc_csv_line(csv), verr);
			goto out;
		}
		udc_clk_base64(b64, clk, nb);
		if (r->json)
			fprintf(out, "%s\n  \"%s\"", nrec ? "," : "", b64);
		else
			fprintf(out, "%s\n", b64);
		nrec++;
	}
	if (rv == UDC_CSV_BAD) {
		snprintf(err, errlen, "%s:%lu: %s", r->input, udc_csv_line(csv),
		         udc_csv_error(csv));
		rv = UDC_EPARSE;
		goto out;
	}
	if (rv != UDC_CSV_EOF) {
		snprintf(err, errlen, "%s: read error", r->input);
		goto out;
	}
	if (r->json)
		fputs("\n]}\n", out);
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "%s: %s", r->output, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (tofile) {
		FILE *o = out;
		out = NULL;
		if (fsync(fileno(o)) != 0 || fclose(o) != 0 || rename(tmp, r->output) != 0) {
			snprintf(err, errlen, "%s: %s", r->output, strerror(errno));
			rv = UDC_EIO;
			goto out;
		}
		free(tmp);
		tmp = NULL;
	}
	rv = 0;
out:
	if (out != NULL && out != stdout)
		fclose(out);
	if (tmp != NULL) {
		unlink(tmp); /* never leave half an output behind */
		free(tmp);
	}
	if (clk != NULL)
		sodium_memzero(clk, nb);
	sodium_free(secret);
	udc_csv_close(csv);
	udc_clk_encoder_free(enc);
	udc_clk_schema_free(schema);
	free(col);
	free(vals);
	free(clk);
	free(b64);
	return rv;
}

static int
cmd_hash(int argc, char **argv)
{
	struct hash_run r = {0};
	char err[1024] = "";
	int i, npos = 0, rv;
	const char *pos[4];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			r.json = 1;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "%s: unknown option %s\n", progname, argv[i]);
			usage(stderr);
			return 2;
		} else if (npos < 4) {
			pos[npos++] = argv[i];
		} else {
			npos++;
		}
	}
	if (npos != 4) {
		usage(stderr);
		return 2;
	}
	r.input = pos[0];
	r.schema_path = pos[1];
	r.secret_path = pos[2];
	r.output = pos[3];
	if ((rv = hash_file(&r, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err[0] ? err : udc_strerror(rv));
		return 1;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"hash", cmd_hash},
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
