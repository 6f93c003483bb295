/*
 * iniread.c - the line reader of the INI parsers (see iniread.h).
 */
#include "iniread.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int
udc_ini_fail(struct udc_ini_lines *l, const char *fmt, ...)
{
	va_list ap;

	if (l->err_line)
		return 0;
	l->err_line = l->lineno > 0 ? l->lineno : 1;
	va_start(ap, fmt);
	vsnprintf(l->reason, sizeof(l->reason), fmt, ap);
	va_end(ap);
	return 0;
}

int
udc_ini_oom(struct udc_ini_lines *l)
{
	l->nomem = 1;
	return udc_ini_fail(l, "out of memory");
}

/* A listed name that ends in a blank is a prefix: "table " admits
 * [table NAME] for any non-empty NAME. */
static int
known_section(const struct udc_ini_lines *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->nsections; i++) {
		size_t k = strlen(l->sections[i]);

		if (k > 0 && l->sections[i][k - 1] == ' ') {
			if (n > k && memcmp(l->sections[i], s, k) == 0)
				return 1;
		} else if (k == n && memcmp(l->sections[i], s, n) == 0) {
			return 1;
		}
	}
	return 0;
}

/*
 * fgets-style: inih calls it once per line with its buffer size; returning
 * NULL ends the parse, which we do at the first error so that error is the
 * one reported.
 */
char *
udc_ini_read_line(char *buf, int size, void *stream)
{
	struct udc_ini_lines *l = stream;
	const char *nl, *s;
	size_t n;

	if (l->err_line || l->p >= l->end)
		return NULL;
	l->lineno++;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	n = nl ? (size_t)(nl - l->p) + 1 : (size_t)(l->end - l->p);
	if (memchr(l->p, '\0', n) != NULL) {
		udc_ini_fail(l, "NUL byte in line");
		return NULL;
	}
	if (size < 3 || n + 1 > (size_t)size) {
		udc_ini_fail(l, "line longer than %d characters%s", size - 2,
		             l->long_hint ? l->long_hint : "");
		return NULL;
	}
	memcpy(buf, l->p, n);
	buf[n] = '\0';
	l->p += n;

	l->indented = isspace((unsigned char)buf[0]) && buf[0] != '\n';
	for (s = buf; isspace((unsigned char)*s); s++)
		;
	/* inih reads an indented line after a key as a continuation, even
	 * one that starts with '['; anything else starting with '[' is a
	 * section header. */
	if (*s == '[' && !(l->indented && l->key_in_section)) {
		const char *e = strchr(s, ']');
		if (e != NULL) {
			l->key_in_section = 0;
			l->section_line = l->lineno;
			if (e - s - 1 >= UDC_INI_MAX_SECTION) {
				/* inih would cut it short without a word */
				udc_ini_fail(l, "section name longer than %d characters",
				             UDC_INI_MAX_SECTION - 1);
				return NULL;
			}
			if (!known_section(l, s + 1, (size_t)(e - s - 1))) {
				udc_ini_fail(l, "unknown section [%.*s]", (int)(e - s - 1), s + 1);
				return NULL;
			}
		}
	}
	return buf;
}

int
udc_ini_parse(struct udc_ini_lines *l, ini_handler h, void *user, const char *name, char *err,
              size_t errlen)
{
	int line = ini_parse_stream(udc_ini_read_line, l, h, user);

	if (line > 0 && (l->err_line == 0 || line < l->err_line)) {
		/* inih found a line that is neither [section] nor key = value */
		snprintf(err, errlen, "%s:%d: syntax error: expected [section] or key = value", name,
		         line);
		return UDC_EPARSE;
	}
	if (l->err_line) {
		snprintf(err, errlen, "%s:%d: %s", name, l->err_line, l->reason);
		return l->nomem ? UDC_ENOMEM : UDC_EPARSE;
	}
	if (line < 0) {
		snprintf(err, errlen, "%s: %s", name, line == -2 ? "out of memory" : "read error");
		return line == -2 ? UDC_ENOMEM : UDC_EIO;
	}
	return 0;
}

char *
udc_ini_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
udc_ini_is_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}
