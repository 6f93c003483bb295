/*
 * udc-clk.c - encode a CSV file as clkhash-compatible CLKs.
 *
 * Stand-alone so that an operator can check the encoder against clkhash /
 * anonlink, and prepare CLKs outside the daemons.  Subcommands come from one
 * table; today there is only "hash".  It takes clkhash's argument order too
 * (PII_CSV SECRET SCHEMA OUTPUT, told apart by which argument holds a JSON
 * schema), but always reads the secret from a file: a secret on the command
 * line is visible to every user of the machine.
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
#include "file.h"
#include "secmem.h"

#define SECRET_MAX (64 * 1024)

static const char *progname = "udc-clk";

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: %s hash [--json] [--fields] INPUT.csv SCHEMA.json SECRET_FILE OUTPUT\n"
	        "       %s hash [--json] [--fields] INPUT.csv SECRET_FILE SCHEMA.json OUTPUT\n"
	        "\n"
	        "Encodes every record of INPUT.csv (UTF-8, header row) with the clkhash\n"
	        "linkage-schema v3 in SCHEMA.json and the secret in SECRET_FILE, exactly as\n"
	        "clkhash 0.18 does (same bytes for the same schema, secret and values).\n"
	        "\n"
	        "The second form is clkhash's order (clkutil hash PII_CSV SECRET SCHEMA\n"
	        "CLK_JSON); udc-clk tells the two apart by which argument holds a JSON\n"
	        "schema.  One difference: clkhash takes the secret itself as an argument,\n"
	        "udc-clk only a file that holds it, since every user of the machine can\n"
	        "read a process's command line.\n"
	        "\n"
	        "  INPUT.csv    columns are matched to the schema's feature identifiers by\n"
	        "               name (surrounding blanks in the header are ignored; values are\n"
	        "               used as they are, like clkhash: no trimming or case folding).\n"
	        "               Columns of ignored features may be absent.\n"
	        "  SECRET_FILE  the secret's bytes (one trailing newline is dropped); the file\n"
	        "               must have mode 0600 or 0400, no access for group or others\n"
	        "               (chmod 600 SECRET_FILE).\n"
	        "  OUTPUT       a file name, or - for standard output.  The file is written\n"
	        "               under a temporary name and renamed when complete.\n"
	        "\n"
	        "Output, in input order, one encoding per record, standard base64 of the l-bit\n"
	        "filter (bit i in bit 7 - i %% 8 of byte i / 8):\n"
	        "  default      one base64 CLK per line;\n"
	        "  --json       a JSON object {\"clks\": [\"<base64>\", ...]}, the format of\n"
	        "               clkhash's \"clkutil hash\" / anonlink-client \"hash\" and what\n"
	        "               the anonlink entity service accepts;\n"
	        "  --fields     one filter of l bits per feature that is not ignored, in schema\n"
	        "               order, one after another: each the filter clkhash gives with\n"
	        "               every other feature ignored.  This is the encoding udclink's\n"
	        "               field scoring compares ([fuzzy] scoring = fields); l must be a\n"
	        "               multiple of 8.  With --json the object also lists the\n"
	        "               \"features\" and \"bits_per_feature\".\n"
	        "\n"
	        "A record clkhash would reject (not an integer, not a date, not in the enum,\n"
	        "wrong length or case, bad CSV) stops the run with its line number and the\n"
	        "field; values are never printed.\n",
	        progname, progname);
}

/* Reads the secret into locked memory; refuses a file others can read, or
 * a link.  *out is freed with udc_file_free(.., UDC_FILE_SECRET). */
static int
read_secret(const char *path, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	if ((rv = udc_file_read(path, SECRET_MAX, UDC_FILE_NOFOLLOW | UDC_FILE_PRIVATE |
	    UDC_FILE_SECRET, &buf, &len, err, errlen)) != 0) {
		if (rv == UDC_EPERM) {
			size_t used = strlen(err);

			snprintf(err + used, errlen > used ? errlen - used : 0,
			         " for a secret file (chmod 600 %s)", path);
		}
		return rv;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "%s: empty secret", path);
		udc_file_free(buf, UDC_FILE_SECRET);
		return UDC_EINVAL;
	}
	*out = (uint8_t *)buf;
	*outlen = len;
	return 0;
}

struct hash_run {
	const char *input, *schema_path, *secret_path, *output;
	int json;
	int fields; /* one filter per encoded feature */
	int clkhash_order; /* the secret came second */
};

/* A feature name as a JSON string (names come from the schema's JSON, so
 * any character may need escaping). */
static void
json_string_out(FILE *out, const char *sep, const char *s)
{
	fprintf(out, "%s\"", sep);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static int
hash_file(const struct hash_run *r, char *err, size_t errlen)
{
	struct udc_clk_schema *schema = NULL;
	struct udc_clk_encoder *enc = NULL;
	struct udc_csv *csv = NULL;
	uint8_t *secret = NULL, *clk = NULL;
	size_t secretlen = 0, nf, nb, fb, i, nrec = 0;
	int *col = NULL, rv, tofile = strcmp(r->output, "-") != 0;
	const char **vals = NULL;
	char *b64 = NULL;
	char **fields;
	FILE *out = NULL;
	struct udc_afile af;
	int afopen = 0;

	if ((rv = udc_clk_schema_load(&schema, r->schema_path, err, errlen)) != 0)
		goto out;
	if (r->clkhash_order && access(r->secret_path, F_OK) != 0) {
		/* most likely the secret itself, as clkhash takes it: never
		 * repeat it */
		snprintf(err, errlen, "the second argument names no file: in clkhash's order it is "
		         "the secret itself, but udc-clk takes a file that holds it, of mode 0600 "
		         "(the command line is visible to every user)");
		rv = UDC_EINVAL;
		goto out;
	}
	if ((rv = read_secret(r->secret_path, &secret, &secretlen, err, errlen)) != 0)
		goto out;
	rv = udc_clk_encoder_new(&enc, schema, secret, secretlen, err, errlen);
	udc_file_free((char *)secret, UDC_FILE_SECRET); /* the encoder holds what it needs */
	secret = NULL;
	if (rv != 0)
		goto out;
	if ((rv = udc_csv_open(&csv, r->input, ',', err, errlen)) != 0)
		goto out;

	nf = udc_clk_schema_nfields(schema);
	fb = udc_clk_schema_bytes(schema);
	nb = fb;
	if (r->fields) {
		/* features one after another, each a whole number of bytes */
		if (udc_clk_schema_bits(schema) % 8 != 0) {
			snprintf(err, errlen, "%s: --fields needs l (after folding) a multiple of 8, "
			         "not %zu",
			         r->schema_path, udc_clk_schema_bits(schema));
			rv = UDC_EINVAL;
			goto out;
		}
		nb = fb * udc_clk_schema_nencoded(schema);
	}
	if ((col = calloc(nf, sizeof(*col))) == NULL ||
	    (vals = calloc(nf, sizeof(*vals))) == NULL || (clk = malloc(nb ? nb : 1)) == NULL ||
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
		/* a whole output or none: written aside, renamed when complete;
		 * mode 0600, like the encodings' secret */
		if ((rv = udc_afile_begin(&af, AT_FDCWD, r->output, NULL, 0600, 0, err,
		    errlen)) != 0)
			goto out;
		afopen = 1;
		if ((out = udc_afile_stream(&af)) == NULL) {
			snprintf(err, errlen, "%s: %s", r->output, strerror(errno));
			rv = UDC_ENOMEM;
			goto out;
		}
	} else {
		out = stdout;
	}
	if (r->json && r->fields) {
		fputs("{\"features\": [", out);
		for (i = 0, nrec = 0; i < nf; i++)
			if (!udc_clk_schema_field_ignored(schema, i))
				json_string_out(out, nrec++ ? ", " : "", udc_clk_schema_field_name(schema, i));
		fprintf(out, "], \"bits_per_feature\": %zu, \"clks\": [", udc_clk_schema_bits(schema));
		nrec = 0;
	} else if (r->json) {
		fputs("{\"clks\": [", out);
	}

	while ((rv = udc_csv_next(csv, &fields)) == UDC_CSV_RECORD) {
		char verr[256];
		for (i = 0; i < nf; i++)
			vals[i] = col[i] >= 0 ? fields[col[i]] : NULL;
		if (r->fields) {
			size_t k = 0;

			rv = 0;
			for (i = 0; i < nf && rv == 0; i++)
				if (!udc_clk_schema_field_ignored(schema, i))
					rv = udc_clk_encode_feature(enc, vals, nf, i, clk + fb * k++, fb,
					                            NULL, verr, sizeof(verr));
		} else {
			rv = udc_clk_encode(enc, vals, nf, clk, nb, NULL, verr, sizeof(verr));
		}
		if (rv != 0) {
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
		out = NULL; /* the commit closes it */
		afopen = 0;
		if ((rv = udc_afile_commit(&af, err, errlen)) != 0)
			goto out;
	}
	rv = 0;
out:
	if (afopen)
		udc_afile_discard(&af); /* never leave half an output behind */
	if (clk != NULL)
		sodium_memzero(clk, nb);
	udc_file_free((char *)secret, UDC_FILE_SECRET);
	udc_csv_close(csv);
	udc_clk_encoder_free(enc);
	udc_clk_schema_free(schema);
	free(col);
	free(vals);
	free(clk);
	free(b64);
	return rv;
}

/* 1 if path is a regular file whose first non-blank byte opens a JSON
 * object: the schema.  Only that byte is looked at, and nothing of the file
 * is printed, so a secret file given here gives nothing away. */
static int
looks_like_schema(const char *path)
{
	struct stat st;
	int fd, c = 0, rv = 0;
	char buf[64];
	ssize_t n;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	while (!rv && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			c = (unsigned char)buf[i];
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			rv = c == '{' ? 1 : -1;
			break;
		}
	}
	close(fd);
	return rv == 1;
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
		} else if (strcmp(argv[i], "--fields") == 0) {
			r.fields = 1;
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
	/* udc-clk's order (SCHEMA SECRET_FILE) or clkhash's (SECRET SCHEMA) */
	{
		int s1 = looks_like_schema(pos[1]), s2 = looks_like_schema(pos[2]);

		if (s1 && !s2) {
			r.schema_path = pos[1];
			r.secret_path = pos[2];
		} else if (s2 && !s1) {
			r.schema_path = pos[2];
			r.secret_path = pos[1];
			r.clkhash_order = 1;
		} else if (!s1 && !s2) {
			fprintf(stderr,
			        "%s: neither %s nor %s is a JSON schema file; the arguments are "
			        "INPUT.csv SCHEMA.json SECRET_FILE OUTPUT (or clkhash's INPUT.csv "
			        "SECRET_FILE SCHEMA.json OUTPUT, with the secret in a file of mode "
			        "0600, never on the command line)\n",
			        progname, pos[1], pos[2]);
			return 2;
		} else {
			fprintf(stderr, "%s: both %s and %s look like JSON schemas; which holds the "
			        "secret?\n",
			        progname, pos[1], pos[2]);
			return 2;
		}
	}
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
