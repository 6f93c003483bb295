/*
 * csv.h - streaming RFC 4180 CSV reader (UTF-8, header row).
 *
 * Reads one record at a time with bounded memory: quoted fields, "" escapes,
 * embedded newlines, CRLF or LF, an optional UTF-8 BOM.  A malformed record is
 * reported with its line number and the reader carries on with the next one.
 */
#ifndef UDC_CSV_H
#define UDC_CSV_H

#include <stddef.h>
#include <stdint.h>

#define UDC_CSV_MAX_RECORD (64 * 1024) /* bytes per record, longer is an error */

struct udc_csv;

enum udc_csv_status {
	UDC_CSV_RECORD = 1, /* a record was read */
	UDC_CSV_EOF = 0,
	UDC_CSV_BAD = -100, /* malformed record, skipped; see udc_csv_error() */
};

/* Opens path and reads the header.  Returns 0, UDC_EIO ("PATH: strerror") or
 * UDC_EPARSE ("PATH:1: reason", e.g. empty file, duplicate column). */
int udc_csv_open(struct udc_csv **out, const char *path, char delim, char *err, size_t errlen);
void udc_csv_close(struct udc_csv *csv);

size_t udc_csv_ncols(const struct udc_csv *csv);
const char *udc_csv_colname(const struct udc_csv *csv, size_t i);
/* Column index of name, or -1. */
int udc_csv_find_col(const struct udc_csv *csv, const char *name);

/* Next record: UDC_CSV_RECORD with *fields (ncols NUL-terminated strings,
 * valid until the next call), UDC_CSV_EOF, UDC_CSV_BAD (record skipped: wrong
 * field count, unterminated quote, stray quote, invalid UTF-8, too long),
 * or UDC_EIO on a read error. */
int udc_csv_next(struct udc_csv *csv, char ***fields);
/* Physical line on which the last record (or bad record) started (header = 1). */
unsigned long udc_csv_line(const struct udc_csv *csv);
/* Reason for the last UDC_CSV_BAD, e.g. "expected 9 fields, found 7". */
const char *udc_csv_error(const struct udc_csv *csv);
/* Kind of the last UDC_CSV_BAD: 0 = structure, 1 = invalid UTF-8. */
int udc_csv_error_kind(const struct udc_csv *csv);
const char *udc_csv_path(const struct udc_csv *csv);
/* SHA-256 of every byte read so far: of the whole file once udc_csv_next
 * returned UDC_CSV_EOF.  The file is read once, so this is the digest of
 * exactly what was parsed. */
void udc_csv_digest(const struct udc_csv *csv, uint8_t out[32]);
/* Bytes read so far, and the file's size when it was opened. */
uint64_t udc_csv_bytes_read(const struct udc_csv *csv);
uint64_t udc_csv_size(const struct udc_csv *csv);
/* For a message about a column not found: "the header found is: a, b, c"
 * and, when the header looks separated by another character than the
 * reader's, which [input] delimiter to set.  Always NUL-terminates out. */
void udc_csv_header_hint(const struct udc_csv *csv, char *out, size_t outlen);

#endif
