/*
 * iniread.h - the line reader both INI parsers (config.c, spec.c) give to
 * inih's ini_parse_stream.
 *
 * Debian's inih 55 neither passes line numbers to the handler nor refuses
 * over-long lines (it cuts them silently), so the reader counts lines,
 * refuses NUL bytes and long lines, remembers whether the current line is
 * indented (a continuation in inih's eyes), checks [section] names against
 * a list, and keeps the first error with its line.
 */
#ifndef UDC_INIREAD_H
#define UDC_INIREAD_H

#include <stddef.h>
#include <ini.h>

/* inih 55 keeps this many bytes of a [section] name, the NUL included. */
#define UDC_INI_MAX_SECTION 50

struct udc_ini_lines {
	const char *p, *end;            /* the text still to read */
	const char *const *sections;    /* allowed section names; "x " allows [x NAME] */
	size_t nsections;
	const char *long_hint;          /* appended to the long-line error, may be "" */
	int lineno;
	int indented;       /* the current line starts with white space */
	int key_in_section; /* a key was read since the last [section] line (the handler sets it) */
	int section_line;   /* the line of the last [section] header */
	int err_line;       /* first error: line and reason */
	int nomem;
	char reason[256];
};

/* Records the first error at the current line; returns 0 so it can be a
 * handler's result. */
int udc_ini_fail(struct udc_ini_lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records "out of memory" and sets nomem; returns 0. */
int udc_ini_oom(struct udc_ini_lines *l);
/* The reader for ini_parse_stream; stream is a struct udc_ini_lines. */
char *udc_ini_read_line(char *buf, int size, void *stream);
/* Runs inih over l (text, sections and hint set) with handler h and turns
 * the outcome into 0, or an error with "NAME:LINE: reason" in err: the first
 * of a line inih cannot parse and the first error the reader or the handler
 * recorded (UDC_EPARSE, UDC_ENOMEM if that was running out of memory), or
 * inih's own failure ("NAME: out of memory" UDC_ENOMEM, "read error"
 * UDC_EIO). */
int udc_ini_parse(struct udc_ini_lines *l, ini_handler h, void *user, const char *name, char *err,
                  size_t errlen);

/* The white space at both ends of s cut off (in place); returns the first
 * byte that is not white space. */
char *udc_ini_trim(char *s);
/* 1 if s is a name of the INI files (a dimension, table, attribute):
 * 1 .. max bytes of a-z, 0-9 and '_'; else 0. */
int udc_ini_is_name(const char *s, size_t max);

#endif
