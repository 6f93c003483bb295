/*
 * csv.c - streaming RFC 4180 reader.
 *
 * The file is read through a fixed buffer and one record at a time is
 * assembled in a buffer of UDC_CSV_MAX_RECORD bytes, so memory does not grow
 * with the file.  A record with a structural error (stray quote, text after a
 * closing quote) is skipped up to the end of its physical line: that is the
 * only point where a new record is likely to start.  Over-long records and
 * NUL bytes keep the quote tracking going, so a long but well-formed record
 * does not throw the reader off.  Error texts never quote field contents:
 * they reach the logs and the fields hold identifiers.
 *
 * Only a regular file can be an input (a device or FIFO would never end),
 * and every byte read is hashed on the way, so the digest a node reports
 * is the digest of exactly what it parsed: the file is read once.
 */
#include "csv.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>
#include <utf8proc.h>

#define CSV_BUFSZ (64 * 1024)
#define CSV_GET_EOF (-1)
#define CSV_GET_ERR (-2)

enum csv_state { ST_START, ST_PLAIN, ST_QUOTED, ST_QUOTE };

struct udc_csv {
	int fd;
	char *path;
	char delim;
	int eof;
	unsigned char buf[CSV_BUFSZ];
	size_t pos, len;
	unsigned long line;     /* physical line of the next byte */
	unsigned long rec_line; /* line on which the last record started */

	char *rec; /* fields of the current record, NUL-terminated */
	size_t reclen;
	size_t *offs; /* start of each field in rec */
	size_t nfields, capoffs;

	char **colnames;
	char **fields; /* ncols pointers into rec */
	size_t ncols;

	char errmsg[96];
	int errkind;

	crypto_hash_sha256_state hash; /* every byte read so far */
	uint64_t nread, size;          /* bytes read; size when opened */
};

static int
csv_fill(struct udc_csv *c)
{
	ssize_t n;

	if (c->eof)
		return CSV_GET_EOF;
	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CSV_GET_ERR;
	if (n == 0) {
		c->eof = 1;
		return CSV_GET_EOF;
	}
	crypto_hash_sha256_update(&c->hash, c->buf + c->len, (unsigned long long)n);
	c->nread += (uint64_t)n;
	c->len += (size_t)n;
	return 0;
}

static int
csv_getc(struct udc_csv *c)
{
	if (c->pos == c->len) {
		int r;

		c->pos = c->len = 0;
		if ((r = csv_fill(c)) != 0)
			return r;
	}
	return c->buf[c->pos++];
}

/* Only valid straight after a csv_getc() that returned a byte. */
static void
csv_ungetc(struct udc_csv *c)
{
	c->pos--;
}

static void
csv_set_error(struct udc_csv *c, int kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	c->errkind = kind;
}

/* Starts field number c->nfields at the current end of rec. */
static int
csv_begin_field(struct udc_csv *c)
{
	if (c->nfields == c->capoffs) {
		size_t ncap = c->capoffs ? c->capoffs * 2 : 16;
		size_t *n = realloc(c->offs, ncap * sizeof(*n));

		if (n == NULL)
			return UDC_ENOMEM;
		c->offs = n;
		c->capoffs = ncap;
	}
	c->offs[c->nfields] = c->reclen;
	return 0;
}

static void
csv_end_field(struct udc_csv *c, int store)
{
	if (store)
		c->rec[c->reclen++] = '\0';
	c->nfields++;
}

static int
csv_skip_line(struct udc_csv *c)
{
	for (;;) {
		int ch = csv_getc(c);

		if (ch == CSV_GET_ERR)
			return UDC_EIO;
		if (ch == CSV_GET_EOF)
			return 0;
		if (ch == '\n') {
			c->line++;
			return 0;
		}
	}
}

/*
 * Reads one record into rec/offs.  Returns UDC_CSV_RECORD, UDC_CSV_EOF,
 * UDC_CSV_BAD (structure only: the field count and UTF-8 are checked by the
 * caller), UDC_EIO or UDC_ENOMEM.  Blank lines are skipped: a trailing empty
 * line is common and never meant as a record.
 */
static int
csv_read(struct udc_csv *c)
{
	enum csv_state st;
	size_t raw;
	int ch, rv, too_long, has_nul, store;

again:
	c->rec_line = c->line;
	c->reclen = 0;
	c->nfields = 0;
	c->errmsg[0] = '\0';
	c->errkind = 0;
	raw = 0;
	too_long = has_nul = 0;
	st = ST_START;
	if ((rv = csv_begin_field(c)) != 0)
		return rv;

	for (;;) {
		ch = csv_getc(c);
		if (ch == CSV_GET_ERR)
			return UDC_EIO;
		if (ch == CSV_GET_EOF) {
			if (raw == 0)
				return UDC_CSV_EOF;
			if (st == ST_QUOTED) {
				csv_set_error(c, 0, "unterminated quoted field");
				return UDC_CSV_BAD;
			}
			break;
		}
		if (ch == '\r' && st != ST_QUOTED) {
			/* CRLF ends a record; a lone CR is data. */
			int next = csv_getc(c);

			if (next == CSV_GET_ERR)
				return UDC_EIO;
			if (next == '\n' || next == CSV_GET_EOF) {
				if (next == '\n')
					c->line++;
				if (raw == 0)
					goto again;
				break;
			}
			csv_ungetc(c);
		} else if (ch == '\n') {
			c->line++;
			if (st != ST_QUOTED) {
				if (raw == 0)
					goto again;
				break;
			}
		}

		if (++raw > UDC_CSV_MAX_RECORD)
			too_long = 1;
		if (ch == '\0')
			has_nul = 1;
		store = !too_long;

		switch (st) {
		case ST_START:
		case ST_PLAIN:
			if (ch == c->delim) {
				csv_end_field(c, store);
				if ((rv = csv_begin_field(c)) != 0)
					return rv;
				st = ST_START;
			} else if (ch == '"') {
				if (st == ST_PLAIN) {
					csv_set_error(c, 0, "quote inside an unquoted field %zu",
					              c->nfields + 1);
					goto skip;
				}
				st = ST_QUOTED;
			} else {
				if (store)
					c->rec[c->reclen++] = (char)ch;
				st = ST_PLAIN;
			}
			break;
		case ST_QUOTED:
			if (ch == '"')
				st = ST_QUOTE;
			else if (store)
				c->rec[c->reclen++] = (char)ch;
			break;
		case ST_QUOTE:
			if (ch == '"') {
				if (store)
					c->rec[c->reclen++] = '"';
				st = ST_QUOTED;
			} else if (ch == c->delim) {
				csv_end_field(c, store);
				if ((rv = csv_begin_field(c)) != 0)
					return rv;
				st = ST_START;
			} else {
				csv_set_error(c, 0, "text after the closing quote of field %zu",
				              c->nfields + 1);
				goto skip;
			}
			break;
		}
	}
	csv_end_field(c, !too_long);
	if (too_long) {
		csv_set_error(c, 0, "record longer than %d bytes", UDC_CSV_MAX_RECORD);
		return UDC_CSV_BAD;
	}
	if (has_nul) {
		csv_set_error(c, 0, "NUL byte in record");
		return UDC_CSV_BAD;
	}
	return UDC_CSV_RECORD;

skip:
	if ((rv = csv_skip_line(c)) != 0)
		return rv;
	return UDC_CSV_BAD;
}

static int
csv_utf8_valid(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	size_t len = strlen(s);

	while (len > 0) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;

		if (*p < 0x80) {
			p++;
			len--;
			continue;
		}
		/* utf8proc_iterate rejects overlong forms, surrogates and
		 * code points above U+10FFFF. */
		n = utf8proc_iterate(p, (utf8proc_ssize_t)len, &cp);
		if (n <= 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static char *
csv_trim_dup(const char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return strndup(s, len);
}

static int
csv_read_header(struct udc_csv *c, char *err, size_t errlen)
{
	int rv;

	/* Skip a UTF-8 byte order mark; Excel writes one. */
	while (c->len < 3 && (rv = csv_fill(c)) != CSV_GET_EOF) {
		if (rv == CSV_GET_ERR) {
			snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
			return UDC_EIO;
		}
	}
	if (c->len >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
		c->pos = 3;
	else if (c->len >= 2 && (memcmp(c->buf, "\xff\xfe", 2) == 0 || memcmp(c->buf, "\xfe\xff", 2) == 0)) {
		snprintf(err, errlen, "%s:1: the file is UTF-16 (it starts with a UTF-16 byte order mark): "
		    "save it as UTF-8 (\"CSV UTF-8\" in Excel)", c->path);
		return UDC_EPARSE;
	}

	rv = csv_read(c);
	if (rv == UDC_EIO) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		return UDC_EIO;
	}
	if (rv == UDC_ENOMEM) {
		snprintf(err, errlen, "%s: %s", c->path, udc_strerror(rv));
		return rv;
	}
	if (rv == UDC_CSV_EOF) {
		snprintf(err, errlen, "%s:1: empty file, expected a header row", c->path);
		return UDC_EPARSE;
	}
	if (rv == UDC_CSV_BAD) {
		snprintf(err, errlen, "%s:%lu: header: %s", c->path, c->rec_line, c->errmsg);
		return UDC_EPARSE;
	}

	c->ncols = c->nfields;
	if ((c->colnames = calloc(c->ncols, sizeof(char *))) == NULL ||
	    (c->fields = calloc(c->ncols, sizeof(char *))) == NULL) {
		snprintf(err, errlen, "%s: %s", c->path, udc_strerror(UDC_ENOMEM));
		return UDC_ENOMEM;
	}
	for (size_t i = 0; i < c->ncols; i++) {
		const char *name = c->rec + c->offs[i];

		if (!csv_utf8_valid(name)) {
			snprintf(err, errlen, "%s:%lu: header: invalid UTF-8 in column %zu",
			         c->path, c->rec_line, i + 1);
			return UDC_EPARSE;
		}
		if ((c->colnames[i] = csv_trim_dup(name)) == NULL) {
			snprintf(err, errlen, "%s: %s", c->path, udc_strerror(UDC_ENOMEM));
			return UDC_ENOMEM;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(c->colnames[j], c->colnames[i]) == 0) {
				snprintf(err, errlen, "%s:%lu: duplicate column '%s'", c->path,
				         c->rec_line, c->colnames[i]);
				return UDC_EPARSE;
			}
		}
	}
	return 0;
}

int
udc_csv_open(struct udc_csv **out, const char *path, char delim, char *err, size_t errlen)
{
	struct udc_csv *c;
	int rv;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0') {
		snprintf(err, errlen, "%s: invalid delimiter", path);
		return UDC_EINVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, udc_strerror(UDC_ENOMEM));
		return UDC_ENOMEM;
	}
	c->fd = -1;
	c->delim = delim;
	c->line = 1;
	if ((c->path = strdup(path)) == NULL || (c->rec = malloc(UDC_CSV_MAX_RECORD + 2)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, udc_strerror(UDC_ENOMEM));
		rv = UDC_ENOMEM;
		goto out;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	{
		struct stat sb;
		if (fstat(c->fd, &sb) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rv = UDC_EIO;
			goto out;
		}
		if (!S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file (a device, FIFO, socket or "
			    "directory cannot be an input)", path);
			rv = UDC_EIO;
			goto out;
		}
		c->size = (uint64_t)sb.st_size;
		/* back to blocking reads for a regular file */
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
	}
	crypto_hash_sha256_init(&c->hash);
	if ((rv = csv_read_header(c, err, errlen)) != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	udc_csv_close(c);
	return rv;
}

void
udc_csv_close(struct udc_csv *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->colnames != NULL)
		for (size_t i = 0; i < c->ncols; i++)
			free(c->colnames[i]);
	free(c->colnames);
	free(c->fields);
	free(c->offs);
	free(c->rec);
	free(c->path);
	free(c);
}

size_t
udc_csv_ncols(const struct udc_csv *c)
{
	return c->ncols;
}

const char *
udc_csv_colname(const struct udc_csv *c, size_t i)
{
	return i < c->ncols ? c->colnames[i] : NULL;
}

int
udc_csv_find_col(const struct udc_csv *c, const char *name)
{
	for (size_t i = 0; i < c->ncols; i++)
		if (strcmp(c->colnames[i], name) == 0)
			return (int)i;
	return -1;
}

int
udc_csv_next(struct udc_csv *c, char ***fields)
{
	int rv;

	*fields = NULL;
	if ((rv = csv_read(c)) != UDC_CSV_RECORD)
		return rv;
	if (c->nfields != c->ncols) {
		csv_set_error(c, 0, "expected %zu fields, found %zu", c->ncols, c->nfields);
		return UDC_CSV_BAD;
	}
	for (size_t i = 0; i < c->ncols; i++) {
		c->fields[i] = c->rec + c->offs[i];
		if (!csv_utf8_valid(c->fields[i])) {
			csv_set_error(c, 1, "invalid UTF-8 in field %zu", i + 1);
			return UDC_CSV_BAD;
		}
	}
	*fields = c->fields;
	return UDC_CSV_RECORD;
}

unsigned long
udc_csv_line(const struct udc_csv *c)
{
	return c->rec_line;
}

const char *
udc_csv_error(const struct udc_csv *c)
{
	return c->errmsg;
}

int
udc_csv_error_kind(const struct udc_csv *c)
{
	return c->errkind;
}

const char *
udc_csv_path(const struct udc_csv *c)
{
	return c->path;
}

void
udc_csv_digest(const struct udc_csv *c, uint8_t out[32])
{
	crypto_hash_sha256_state copy = c->hash;

	crypto_hash_sha256_final(&copy, out);
	sodium_memzero(&copy, sizeof(copy));
}

uint64_t
udc_csv_bytes_read(const struct udc_csv *c)
{
	return c->nread;
}

uint64_t
udc_csv_size(const struct udc_csv *c)
{
	return c->size;
}

static const char *
delim_option(char d)
{
	switch (d) {
	case ';': return "semicolon";
	case '\t': return "tab";
	case '|': return "pipe";
	case ',': return "comma";
	default: return NULL;
	}
}

void
udc_csv_header_hint(const struct udc_csv *c, char *out, size_t outlen)
{
	static const char cands[] = { ';', '\t', '|', ',' };
	size_t n = 0;
	int w;

	if (outlen == 0)
		return;
	out[0] = '\0';
	/* One column holding another separator: the file uses that one.  The
	 * advice comes first, so a shortened message still carries it. */
	if (c->ncols <= 2) {
		for (size_t k = 0; k < sizeof(cands); k++) {
			if (cands[k] == c->delim || strchr(c->colnames[0], cands[k]) == NULL)
				continue;
			w = snprintf(out, outlen, "the file looks separated by '%s', not '%c': set delimiter = %s "
			    "in [input]; ", cands[k] == '\t' ? "\\t" : (char[]){ cands[k], 0 },
			    c->delim, delim_option(cands[k]));
			n = w > 0 ? (size_t)w : 0;
			break;
		}
	}
	if (n >= outlen)
		return;
	w = snprintf(out + n, outlen - n, "the header found is: ");
	n += w > 0 ? (size_t)w : 0;
	for (size_t i = 0; i < c->ncols && n < outlen; i++) {
		w = snprintf(out + n, outlen - n, "%s%s", i ? ", " : "", c->colnames[i]);
		n += w > 0 ? (size_t)w : 0;
	}
}
