/*
 * spec.c - reads a round spec (INI, parsed with inih) and derives its
 * canonical text and SHA-256.
 *
 * The two nodes never compare spec files, only the hash of the canonical
 * form built here, so everything that does not change the meaning (white
 * space, comments, section order, line breaks inside a list) must not change
 * the canonical text, and everything that does must.  docs/operations.md
 * describes both formats; keep it in step with spec_canonical().
 *
 * As in config.c we give inih our own line reader (ini_parse_stream): it
 * tells the handler the line number, refuses lines that would not fit
 * inih's line buffer instead of letting inih split them, and lets the
 * handler tell an indented continuation line (how a long list goes on) from
 * a new key.
 */
#include "spec.h"
#include "clk.h"
#include "iniread.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "file.h"
#include "fuzzy.h"

#define SPEC_MAX_FILE (1024 * 1024)
#define SPEC_MAX_VALUES 1024      /* per dimension */
#define SPEC_MAX_SIDE_CELLS 65535 /* labels travel as uint16 */
#define SPEC_MAX_TABLE 4000000    /* groups x categories: the CBS node holds the table */
#define SPEC_MAX_MIN_CELL 1000000
#define SPEC_MAX_NAME 128
#define SPEC_MAX_DIM_NAME 64

static const char *const side_name[2] = {"gemeente", "cbs"};

#define SPEC_MAX_RELEASED 4000000 /* released cells over all tables, every total included */
#define SPEC_MAX_PROTECTION 1000000
#define SPEC_MAX_CONTRIBUTORS 1000
#define SPEC_MAX_TNAME 32 /* table and recode names: inih keeps 50 bytes of a section */

enum spec_cont { CONT_NONE, CONT_KEYS, CONT_DIM, CONT_LIST };

/*
 * [table], [recode] and [attributes] name dimensions that may be defined
 * further down the file, so they are kept as text with their line numbers
 * and resolved by spec_finish.
 */
struct raw_str {
	char *s;
	int line;
};

struct raw_list {
	struct raw_str *v;
	size_t n, cap;
};

struct raw_recode_val {
	char *name;
	int line;
	struct raw_list src;
};

struct raw_recode {
	char *name;
	int line; /* its first key */
	char *from;
	int from_line;
	struct raw_recode_val *vals;
	size_t nvals, cap;
};

struct raw_where {
	char *dim;
	int line;
	struct raw_list vals;
};

struct raw_table {
	char *name;
	int line;
	int pop_line, dims_line, sum_line, mean_line, zeros_line;
	enum udc_population pop;
	struct raw_list dims;
	struct raw_where where[UDC_MAX_WHERE];
	size_t nwhere;
	char *sum;
	int mean, zeros;
};

struct raw_attr {
	char *name;
	int line;
	unsigned groups; /* 0: not given */
	int groups_line;
};

struct spec_ctx {
	struct udc_spec *spec;
	const char *name; /* for messages */

	struct udc_ini_lines ln; /* line reader state and the first error */

	enum spec_cont cont; /* what an indented line would continue */
	int cont_side;
	size_t cont_dim;

	int name_line, mode_line, keys_line, min_cell_line, pad_line;
	int schema_line, threshold_line, balance_line, scoring_line, round_line, eps_line, budget_line;
	int max_releases_line;
	int target_line;
	int dim_line[2][UDC_MAX_DIMS];
	int protection_line, contrib_line, p_line;

	struct raw_list *cont_list; /* CONT_LIST: the list an indented line goes on */
	const char *cont_what;

	/* The section of the previous key: a [table] or [recode] section that
	 * comes back after another one is an error, not a merge. */
	char *prev_section;
	struct raw_table tables[UDC_MAX_TABLES];
	size_t ntables;
	struct raw_recode recodes[UDC_MAX_RECODES];
	size_t nrecodes;
	struct raw_attr attrs[UDC_MAX_ATTRS];
	size_t nattrs;
	/* match keys as written, resolved once every [fields] line is read */
	char *key_item[UDC_MAX_KEYS];
	int key_line[UDC_MAX_KEYS];
	size_t nkey_items;
	int field_line[UDC_MAX_FIELDS];
};

/* "table " and "recode " are prefixes: [table NAME], [recode NAME]. */
static const char *const spec_sections[] = {"spec",   "gemeente", "cbs",     "disclosure", "fuzzy",
                                            "table ", "recode ",  "attributes", "fields"};

/* Records the first error; returns 0 so it can be the handler's result. */
#define fail(c, ...) udc_ini_fail(&(c)->ln, __VA_ARGS__)
#define oom(c) udc_ini_oom(&(c)->ln)

/* Strict UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without control characters; 0 if s is acceptable. */
static int
check_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp, n, i;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return -1;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return -1;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return -1;
		p += n + 1;
	}
	return 0;
}

static int
valid_dim_name(const char *s)
{
	return udc_ini_is_name(s, SPEC_MAX_DIM_NAME);
}


/*
 * Calls fn for each comma-separated item of one line's value, trimmed.  A
 * comma may end the line, so that a list can be broken after a comma as well
 * as before one; any other empty item is an error.
 */
static int
for_each_item(struct spec_ctx *c, const char *value, const char *what,
              int (*fn)(struct spec_ctx *, char *, void *), void *arg)
{
	char *copy, *item, *next;
	int ok = 1, first = 1;

	if ((copy = strdup(value)) == NULL)
		return oom(c);
	for (item = copy; item != NULL && ok; item = next, first = 0) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item = udc_ini_trim(item);
		if (*item == '\0') {
			if (next == NULL && !first)
				break; /* "a, b," */
			ok = fail(c, "empty %s in list", what);
			break;
		}
		ok = fn(c, item, arg);
	}
	free(copy);
	return ok;
}

/* A match key as written; its fields are looked up once [fields] is read
 * (the section may come later in the file). */
static int
add_key(struct spec_ctx *c, char *item, void *arg)
{
	(void)arg;
	if (c->nkey_items == UDC_MAX_KEYS)
		return fail(c, "more than %d match keys", UDC_MAX_KEYS);
	if ((c->key_item[c->nkey_items] = strdup(item)) == NULL)
		return oom(c);
	c->key_line[c->nkey_items++] = c->ln.lineno;
	return 1;
}

/* The names of every field of the spec, for messages. */
static void
known_fields(const struct udc_spec *spec, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < spec->fields.n && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", spec->fields.f[i].name);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Turns match key i as written into field indices; "NAME:LINE: reason". */
static int
resolve_key(struct spec_ctx *c, size_t idx, char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;
	struct udc_matchkey *k = &spec->keys[spec->nkeys];
	uint32_t mask = 0;
	char *item = c->key_item[idx], *part, *next, known[800];
	size_t namelen = 0;
	int line = c->key_line[idx];

	memset(k, 0, sizeof(*k));
	for (part = item; part != NULL; part = next) {
		int f;

		if ((next = strchr(part, '+')) != NULL)
			*next++ = '\0';
		part = udc_ini_trim(part);
		if (*part == '\0') {
			snprintf(err, errlen, "%s:%d: empty field name in match key", c->name, line);
			return UDC_EPARSE;
		}
		if ((f = udc_fieldset_find(&spec->fields, part)) < 0) {
			known_fields(spec, known, sizeof(known));
			snprintf(err, errlen, "%s:%d: unknown field '%.64s' in match key (known: %s)",
			         c->name, line, part, known);
			return UDC_EPARSE;
		}
		if (mask & (1u << f)) {
			snprintf(err, errlen, "%s:%d: field '%.64s' appears twice in one match key",
			         c->name, line, part);
			return UDC_EPARSE;
		}
		if (k->nfields == UDC_MAX_KEY_FIELDS) {
			snprintf(err, errlen, "%s:%d: more than %d fields in one match key", c->name,
			         line, UDC_MAX_KEY_FIELDS);
			return UDC_EPARSE;
		}
		mask |= 1u << f;
		k->fields[k->nfields++] = f;
		namelen += strlen(part) + 1;
	}
	/* The same fields in another order link the same pairs: the later
	 * key could never link anything. */
	for (size_t i = 0; i < spec->nkeys; i++) {
		uint32_t m = 0;
		for (int j = 0; j < spec->keys[i].nfields; j++)
			m |= 1u << spec->keys[i].fields[j];
		if (m == mask) {
			snprintf(err, errlen, "%s:%d: match key repeats key %zu (%s)", c->name, line,
			         i + 1, spec->keys[i].name);
			return UDC_EPARSE;
		}
	}
	if ((k->name = malloc(namelen)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->name);
		return UDC_ENOMEM;
	}
	k->name[0] = '\0';
	for (int j = 0; j < k->nfields; j++) {
		if (j > 0)
			strcat(k->name, "+");
		strcat(k->name, spec->fields.f[k->fields[j]].name);
	}
	spec->key_fields |= mask;
	spec->nkeys++;
	return 0;
}

/* [fields]: NAME = TYPE [OPTION=VALUE ...] */
static int
field_key(struct spec_ctx *c, const char *key, const char *value)
{
	char why[256];
	int f = udc_fieldset_find(&c->spec->fields, key);
	int rv;

	if (f >= 0 && c->field_line[f])
		return fail(c, "duplicate key '%s' in [fields] (first on line %d)", key,
		            c->field_line[f]);
	if ((rv = udc_fieldset_declare(&c->spec->fields, key, value, why, sizeof(why))) != 0)
		return fail(c, "%s", why);
	c->field_line[udc_fieldset_find(&c->spec->fields, key)] = c->ln.lineno;
	return 1;
}

static int
add_value(struct spec_ctx *c, char *item, void *arg)
{
	struct udc_dim *d = arg;
	char **v;

	if (check_text(item) != 0)
		return fail(c, "value in %s is not UTF-8 text without control characters", d->name);
	if (udc_dim_lookup(d, item) >= 0)
		return fail(c, "duplicate value '%s' in %s", item, d->name);
	if (d->nvalues == SPEC_MAX_VALUES)
		return fail(c, "%s has more than %d values", d->name, SPEC_MAX_VALUES);
	/* grow in powers of two */
	if ((d->nvalues & (d->nvalues - 1)) == 0) {
		size_t cap = d->nvalues ? d->nvalues * 2 : 1;
		if ((v = realloc(d->values, cap * sizeof(*v))) == NULL)
			return oom(c);
		d->values = v;
	}
	if ((d->values[d->nvalues] = strdup(item)) == NULL)
		return oom(c);
	d->nvalues++;
	return 1;
}

static int
add_dim(struct spec_ctx *c, int side, const char *key, const char *value)
{
	struct udc_spec *spec = c->spec;
	struct udc_dim *d;

	if (!valid_dim_name(key))
		return fail(c,
		            "dimension name '%s' must be 1 to %d characters from a-z, 0-9 "
		            "and _",
		            key, SPEC_MAX_DIM_NAME);
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < spec->ndims[s]; i++)
			if (strcmp(spec->dims[s][i].name, key) == 0)
				return fail(c,
				            "dimension '%s' is already defined in [%s] on "
				            "line %d",
				            key, side_name[s], c->dim_line[s][i]);
	if (spec->ndims[side] == UDC_MAX_DIMS)
		return fail(c, "more than %d dimensions in [%s]", UDC_MAX_DIMS, side_name[side]);
	d = &spec->dims[side][spec->ndims[side]];
	if ((d->name = strdup(key)) == NULL)
		return oom(c);
	c->dim_line[side][spec->ndims[side]] = c->ln.lineno;
	c->cont = CONT_DIM;
	c->cont_side = side;
	c->cont_dim = spec->ndims[side];
	spec->ndims[side]++;
	if (*value == '\0')
		return fail(c, "dimension '%s' has no values", key);
	return for_each_item(c, value, "value", add_value, d);
}

/* Every key may appear once; *line remembers where. */
static int
once(struct spec_ctx *c, int *line, const char *section, const char *key)
{
	if (*line)
		return fail(c, "duplicate key '%s' in [%s] (first on line %d)", key, section,
		            *line);
	*line = c->ln.lineno;
	return 1;
}

static int
spec_key(struct spec_ctx *c, const char *key, const char *value)
{
	struct udc_spec *spec = c->spec;

	if (strcmp(key, "name") == 0) {
		if (!once(c, &c->name_line, "spec", key))
			return 0;
		if (*value == '\0' || strlen(value) > SPEC_MAX_NAME || check_text(value) != 0)
			return fail(c,
			            "name must be 1 to %d bytes of UTF-8 text without control "
			            "characters",
			            SPEC_MAX_NAME);
		if ((spec->name = strdup(value)) == NULL)
			return oom(c);
		return 1;
	}
	if (strcmp(key, "mode") == 0) {
		if (!once(c, &c->mode_line, "spec", key))
			return 0;
		if (strcmp(value, "exact") == 0)
			spec->mode = UDC_MODE_EXACT;
		else if (strcmp(value, "fuzzy") == 0)
			spec->mode = UDC_MODE_FUZZY;
		else if (strcmp(value, "combined") == 0)
			spec->mode = UDC_MODE_COMBINED;
		else
			return fail(c, "unknown mode '%s' (exact, fuzzy or combined)", value);
		return 1;
	}
	if (strcmp(key, "keys") == 0) {
		if (!once(c, &c->keys_line, "spec", key))
			return 0;
		c->cont = CONT_KEYS;
		if (*value == '\0')
			return fail(c, "keys names no match key");
		return for_each_item(c, value, "match key", add_key, NULL);
	}
	return fail(c, "unknown key '%s' in [spec]", key);
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* "3/4", "2" or "0.75" -> num/den in lowest terms, den > 0. */
static int
parse_rational(const char *v, uint64_t *num, uint64_t *den)
{
	uint64_t n = 0, d = 1;
	const char *p = v;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (n > UINT32_MAX)
			return -1;
		n = n * 10 + (uint64_t)(*p++ - '0');
		digits++;
	}
	if (!digits)
		return -1;
	if (*p == '/') {
		p++;
		d = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (d > UINT32_MAX)
				return -1;
			d = d * 10 + (uint64_t)(*p++ - '0');
			digits++;
		}
		if (!digits || d == 0)
			return -1;
	} else if (*p == '.') {
		p++;
		digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 6) {
			n = n * 10 + (uint64_t)(*p++ - '0');
			d *= 10;
			digits++;
		}
		if (!digits)
			return -1;
	}
	if (*p != '\0')
		return -1;
	uint64_t g = n ? gcd64(n, d) : d;
	*num = n / g;
	*den = d / g;
	return 0;
}

static int
disclosure_key(struct spec_ctx *c, const char *key, const char *value)
{
	struct udc_spec *spec = c->spec;

	if (strcmp(key, "min_cell") == 0) {
		unsigned long n = 0;
		const char *p;

		if (!once(c, &c->min_cell_line, "disclosure", key))
			return 0;
		if (*value == '\0')
			return fail(c, "min_cell: '' is not a number");
		for (p = value; *p; p++) {
			if (*p < '0' || *p > '9')
				return fail(c, "min_cell: '%s' is not a number", value);
			if (n <= SPEC_MAX_MIN_CELL)
				n = n * 10 + (unsigned long)(*p - '0');
		}
		if (n > SPEC_MAX_MIN_CELL)
			return fail(c, "min_cell: %s is out of range (0..%d)", value,
			            SPEC_MAX_MIN_CELL);
		spec->min_cell = (unsigned)n;
		return 1;
	}
	if (strcmp(key, "pad_categories") == 0) {
		if (!once(c, &c->pad_line, "disclosure", key))
			return 0;
		if (strcmp(value, "max") == 0)
			spec->pad = UDC_PAD_MAX;
		else if (strcmp(value, "none") == 0)
			spec->pad = UDC_PAD_NONE;
		else
			return fail(c, "pad_categories must be max or none, not '%s'", value);
		return 1;
	}
	if (strcmp(key, "round_base") == 0) {
		unsigned long v;
		char *end;
		if (!once(c, &c->round_line, "disclosure", key))
			return 0;
		v = strtoul(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' || v > 1000)
			return fail(c, "round_base must be a whole number from 0 to 1000, not '%s'", value);
		spec->round_base = v <= 1 ? 0 : (unsigned)v;
		return 1;
	}
	if (strcmp(key, "max_releases") == 0) {
		unsigned long v;
		char *end;
		if (!once(c, &c->max_releases_line, "disclosure", key))
			return 0;
		v = strtoul(value, &end, 10);
		if (*value < '1' || *value > '9' || *end != '\0' || v > 1000)
			return fail(c, "max_releases must be a whole number from 1 to 1000, not '%s'", value);
		spec->max_releases = (unsigned)v;
		return 1;
	}
	if (strcmp(key, "noise_epsilon") == 0 || strcmp(key, "noise_budget") == 0) {
		int eps = key[6] == 'e';
		uint64_t num, den;
		if (!once(c, eps ? &c->eps_line : &c->budget_line, "disclosure", key))
			return 0;
		if (parse_rational(value, &num, &den) != 0 || (eps && (num > UINT32_MAX || den > UINT32_MAX)))
			return fail(c, "%s must be a fraction like 1/2 or a decimal like 0.5, not '%s'", key,
			            value);
		if (eps) {
			spec->eps_num = (uint32_t)num;
			spec->eps_den = (uint32_t)den;
		} else {
			if (num == 0)
				return fail(c, "noise_budget must be more than 0");
			spec->budget_num = num;
			spec->budget_den = den;
		}
		return 1;
	}
	if (strcmp(key, "protection") == 0 || strcmp(key, "min_contributors") == 0 ||
	    strcmp(key, "p_percent") == 0) {
		int which = key[0] == 'p' ? (key[1] == 'r' ? 0 : 2) : 1;
		static const unsigned lo[] = {1, 1, 0};
		static const unsigned hi[] = {SPEC_MAX_PROTECTION, SPEC_MAX_CONTRIBUTORS, 100};
		int *line = which == 0 ? &c->protection_line
		            : which == 1 ? &c->contrib_line : &c->p_line;
		unsigned *dst = which == 0 ? &spec->protection
		                : which == 1 ? &spec->min_contributors : &spec->p_percent;
		unsigned long v;
		char *end;

		if (!once(c, line, "disclosure", key))
			return 0;
		errno = 0;
		v = strtoul(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' || errno != 0 || v < lo[which] ||
		    v > hi[which])
			return fail(c, "%s must be a whole number from %u to %u, not '%s'", key,
			            lo[which], hi[which], value);
		*dst = (unsigned)v;
		return 1;
	}
	return fail(c, "unknown key '%s' in [disclosure]", key);
}

/* [fuzzy]: the CLK schema, the Dice threshold, hardening. */
static int
fuzzy_key(struct spec_ctx *c, const char *key, const char *value)
{
	struct udc_spec *spec = c->spec;

	if (strcmp(key, "schema") == 0) {
		if (!once(c, &c->schema_line, "fuzzy", key))
			return 0;
		if (*value == '\0' || strlen(value) > 255 || check_text(value) != 0)
			return fail(c, "schema must name a file (1 to 255 bytes)");
		if ((spec->schema_name = strdup(value)) == NULL)
			return oom(c);
		return 1;
	}
	if (strcmp(key, "threshold") == 0) {
		/* A decimal with at most three digits after the point, kept in
		 * thousandths so that both nodes agree on it exactly. */
		unsigned v = 0, frac = 0, nfrac = 0;
		const char *p = value;

		if (!once(c, &c->threshold_line, "fuzzy", key))
			return 0;
		if (strcmp(value, "auto") == 0) {
			/* chosen by the round from its best-match scores */
			spec->threshold_auto = 1;
			return 1;
		}
		if (*p < '0' || *p > '1')
			goto bad;
		v = (unsigned)(*p++ - '0');
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9' && nfrac < 3) {
				frac = frac * 10 + (unsigned)(*p++ - '0');
				nfrac++;
			}
		}
		if (*p != '\0')
			goto bad;
		while (nfrac++ < 3)
			frac *= 10;
		v = v * 1000 + frac;
		if (v < 500 || v > 1000)
			goto bad;
		spec->threshold = v;
		return 1;
	bad:
		return fail(c, "threshold must be a decimal from 0.5 to 1.0 with at most three "
		               "decimals, not '%s'", value);
	}
	if (strcmp(key, "target_precision") == 0) {
		/* 0.5 to 0.999 in thousandths, like a threshold */
		unsigned v = 0, nfrac = 0;
		const char *p = value;

		if (!once(c, &c->target_line, "fuzzy", key))
			return 0;
		if (p[0] != '0' || p[1] != '.')
			goto tbad;
		for (p += 2; *p >= '0' && *p <= '9' && nfrac < 3; p++, nfrac++)
			v = v * 10 + (unsigned)(*p - '0');
		if (*p != '\0' || nfrac == 0)
			goto tbad;
		while (nfrac++ < 3)
			v *= 10;
		if (v < 500 || v > 999)
			goto tbad;
		spec->target_precision = v;
		return 1;
	tbad:
		return fail(c, "target_precision must be a decimal from 0.5 to 0.999 with at most "
		               "three decimals, not '%s'", value);
	}
	if (strcmp(key, "balance") == 0) {
		if (!once(c, &c->balance_line, "fuzzy", key))
			return 0;
		if (strcmp(value, "yes") == 0)
			spec->balance = 1;
		else if (strcmp(value, "no") == 0)
			spec->balance = 0;
		else
			return fail(c, "balance must be yes or no, not '%s'", value);
		return 1;
	}
	if (strcmp(key, "scoring") == 0) {
		if (!once(c, &c->scoring_line, "fuzzy", key))
			return 0;
		if (strcmp(value, "record") == 0)
			spec->scoring = UDC_SCORING_RECORD;
		else if (strcmp(value, "fields") == 0)
			spec->scoring = UDC_SCORING_FIELDS;
		else
			return fail(c, "scoring must be record or fields, not '%s'", value);
		return 1;
	}
	return fail(c, "unknown key '%s' in [fuzzy]", key);
}

/* [table], [recode] and [attributes]: kept as text (see struct raw_table). */

static int
push_item(struct spec_ctx *c, char *item, void *arg)
{
	struct raw_list *l = arg;

	if (check_text(item) != 0)
		return fail(c, "'%s' is not UTF-8 text without control characters", item);
	if (l->n == SPEC_MAX_VALUES)
		return fail(c, "more than %d items in one list", SPEC_MAX_VALUES);
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct raw_str *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return oom(c);
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n].s = strdup(item)) == NULL)
		return oom(c);
	l->v[l->n].line = c->ln.lineno;
	l->n++;
	return 1;
}

/* Starts a list that indented lines may continue. */
static int
list_start(struct spec_ctx *c, struct raw_list *l, const char *what, const char *value)
{
	c->cont = CONT_LIST;
	c->cont_list = l;
	c->cont_what = what;
	if (*value == '\0')
		return 1;
	return for_each_item(c, value, what, push_item, l);
}

static void
raw_list_free(struct raw_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].s);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
valid_table_name(const char *s)
{
	return strlen(s) <= SPEC_MAX_TNAME && valid_dim_name(s);
}

static int
table_key(struct spec_ctx *c, const char *name, const char *key, const char *value)
{
	struct raw_table *t = NULL;
	char sect[64];

	snprintf(sect, sizeof(sect), "table %s", name);
	for (size_t i = 0; i < c->ntables; i++)
		if (strcmp(c->tables[i].name, name) == 0)
			t = &c->tables[i];
	if (t == NULL) {
		if (!valid_table_name(name))
			return fail(c, "table name '%s' must be 1 to %d characters from a-z, 0-9 and _",
			            name, SPEC_MAX_TNAME);
		if (c->ntables == UDC_MAX_TABLES)
			return fail(c, "more than %d tables", UDC_MAX_TABLES);
		t = &c->tables[c->ntables++];
		memset(t, 0, sizeof(*t));
		if ((t->name = strdup(name)) == NULL)
			return oom(c);
		t->line = c->ln.lineno;
		t->pop = UDC_POP_LINKED;
	}
	if (strcmp(key, "population") == 0) {
		static const char *const pops[] = {"linked", "gemeente_only", "cbs_only", "gemeente",
		                                   "cbs"};

		if (!once(c, &t->pop_line, sect, key))
			return 0;
		for (size_t i = 0; i < sizeof(pops) / sizeof(pops[0]); i++)
			if (strcmp(value, pops[i]) == 0) {
				t->pop = (enum udc_population)i;
				return 1;
			}
		return fail(c,
		            "population must be linked, gemeente_only, cbs_only, gemeente or cbs, "
		            "not '%s'",
		            value);
	}
	if (strcmp(key, "dims") == 0) {
		if (!once(c, &t->dims_line, sect, key))
			return 0;
		return list_start(c, &t->dims, "dimension", value);
	}
	if (strncmp(key, "where.", 6) == 0) {
		struct raw_where *w;

		if (!valid_dim_name(key + 6))
			return fail(c, "'%s': where. must be followed by a dimension name", key);
		for (size_t i = 0; i < t->nwhere; i++)
			if (strcmp(t->where[i].dim, key + 6) == 0)
				return fail(c, "duplicate key '%s' in [table %s] (first on line %d)", key,
				            name, t->where[i].line);
		if (t->nwhere == UDC_MAX_WHERE)
			return fail(c, "more than %d where conditions in one table", UDC_MAX_WHERE);
		w = &t->where[t->nwhere++];
		memset(w, 0, sizeof(*w));
		w->line = c->ln.lineno;
		if ((w->dim = strdup(key + 6)) == NULL)
			return oom(c);
		if (*value == '\0')
			return fail(c, "%s keeps no value", key);
		return list_start(c, &w->vals, "value", value);
	}
	if (strcmp(key, "sum") == 0) {
		if (!once(c, &t->sum_line, sect, key))
			return 0;
		if (!valid_dim_name(value))
			return fail(c, "sum must name an attribute, not '%s'", value);
		if ((t->sum = strdup(value)) == NULL)
			return oom(c);
		return 1;
	}
	if (strcmp(key, "mean") == 0 || strcmp(key, "zeros") == 0) {
		int mean = key[0] == 'm';
		const char *yes = mean ? "yes" : "sensitive", *no = mean ? "no" : "released";

		if (!once(c, mean ? &t->mean_line : &t->zeros_line, sect, key))
			return 0;
		if (strcmp(value, yes) != 0 && strcmp(value, no) != 0)
			return fail(c, "%s must be %s or %s, not '%s'", key, yes, no, value);
		*(mean ? &t->mean : &t->zeros) = strcmp(value, yes) == 0;
		return 1;
	}
	return fail(c, "unknown key '%s' in [table %s]", key, name);
}

static int
recode_key(struct spec_ctx *c, const char *name, const char *key, const char *value)
{
	struct raw_recode *r = NULL;
	struct raw_recode_val *v;
	char sect[64];

	snprintf(sect, sizeof(sect), "recode %s", name);
	for (size_t i = 0; i < c->nrecodes; i++)
		if (strcmp(c->recodes[i].name, name) == 0)
			r = &c->recodes[i];
	if (r == NULL) {
		if (!valid_table_name(name))
			return fail(c,
			            "recode name '%s' must be 1 to %d characters from a-z, 0-9 and _",
			            name, SPEC_MAX_TNAME);
		if (c->nrecodes == UDC_MAX_RECODES)
			return fail(c, "more than %d recodes", UDC_MAX_RECODES);
		r = &c->recodes[c->nrecodes++];
		memset(r, 0, sizeof(*r));
		if ((r->name = strdup(name)) == NULL)
			return oom(c);
		r->line = c->ln.lineno;
	}
	if (strcmp(key, "from") == 0) {
		if (!once(c, &r->from_line, sect, key))
			return 0;
		if ((r->from = strdup(value)) == NULL)
			return oom(c);
		return 1;
	}
	/* Any other key is a new value, the list its source values. */
	if (check_text(key) != 0)
		return fail(c, "value in %s is not UTF-8 text without control characters", name);
	/* A value is a category of the recoded dimension: tables list it in
	 * comma-separated where lists, and the canonical form too. */
	if (strchr(key, ',') != NULL)
		return fail(c, "value '%s' of recode %s contains ','", key, name);
	for (size_t i = 0; i < r->nvals; i++)
		if (strcmp(r->vals[i].name, key) == 0)
			return fail(c, "duplicate value '%s' in recode %s (first on line %d)", key, name,
			            r->vals[i].line);
	if (r->nvals == SPEC_MAX_VALUES)
		return fail(c, "recode %s has more than %d values", name, SPEC_MAX_VALUES);
	if (r->nvals == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct raw_recode_val *nv = realloc(r->vals, cap * sizeof(*nv));

		if (nv == NULL)
			return oom(c);
		r->vals = nv;
		r->cap = cap;
	}
	v = &r->vals[r->nvals++];
	memset(v, 0, sizeof(*v));
	v->line = c->ln.lineno;
	if ((v->name = strdup(key)) == NULL)
		return oom(c);
	if (*value == '\0')
		return fail(c, "value '%s' of recode %s takes no source value", key, name);
	return list_start(c, &v->src, "value", value);
}

/* [attributes] NAME.groups = N: the quantile groups of NAME per CBS
 * category (docs/operations.md, "Tables"); NAME may come before or after. */
static int
attr_groups_key(struct spec_ctx *c, const char *key, size_t namelen, const char *value)
{
	struct raw_attr *a = NULL;
	char *end;
	unsigned long v;

	for (size_t i = 0; i < c->nattrs; i++)
		if (strlen(c->attrs[i].name) == namelen && strncmp(c->attrs[i].name, key, namelen) == 0)
			a = &c->attrs[i];
	if (a == NULL)
		return fail(c, "'%s': declare the attribute (%.*s = cbs) before its groups", key,
		            (int)namelen, key);
	if (a->groups_line)
		return fail(c, "duplicate key '%s' in [attributes] (first on line %d)", key,
		            a->groups_line);
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v < 1 ||
	    v > UDC_SPEC_MAX_GROUPS)
		return fail(c, "%s must be a whole number from 1 to %d, not '%s'", key,
		            UDC_SPEC_MAX_GROUPS, value);
	a->groups = (unsigned)v;
	a->groups_line = c->ln.lineno;
	return 1;
}

static int
attr_key(struct spec_ctx *c, const char *key, const char *value)
{
	size_t kl = strlen(key);

	if (kl > 7 && strcmp(key + kl - 7, ".groups") == 0)
		return attr_groups_key(c, key, kl - 7, value);
	if (!valid_dim_name(key))
		return fail(c, "attribute name '%s' must be 1 to %d characters from a-z, 0-9 and _",
		            key, SPEC_MAX_DIM_NAME);
	for (size_t i = 0; i < c->nattrs; i++)
		if (strcmp(c->attrs[i].name, key) == 0)
			return fail(c, "duplicate attribute '%s' (first on line %d)", key,
			            c->attrs[i].line);
	if (strcmp(value, "cbs") != 0)
		return fail(c,
		            "attribute %s: only a numeric column of the CBS input can be summed "
		            "(write %s = cbs), not '%s'",
		            key, key, value);
	if (c->nattrs == UDC_MAX_ATTRS)
		return fail(c, "more than %d attributes", UDC_MAX_ATTRS);
	if ((c->attrs[c->nattrs].name = strdup(key)) == NULL)
		return oom(c);
	c->attrs[c->nattrs++].line = c->ln.lineno;
	return 1;
}

/* A [table] or [recode] section must not come back after another section. */
static int
section_changed(struct spec_ctx *c, const char *section)
{
	int known = 0;

	if (c->prev_section != NULL && strcmp(c->prev_section, section) == 0)
		return 1;
	if (strncmp(section, "table ", 6) == 0) {
		for (size_t i = 0; i < c->ntables; i++)
			known |= strcmp(c->tables[i].name, section + 6) == 0;
	} else if (strncmp(section, "recode ", 7) == 0) {
		for (size_t i = 0; i < c->nrecodes; i++)
			known |= strcmp(c->recodes[i].name, section + 7) == 0;
	}
	if (known)
		return fail(c, "[%s] appears twice", section);
	free(c->prev_section);
	if ((c->prev_section = strdup(section)) == NULL)
		return oom(c);
	return 1;
}

static int
spec_handler(void *user, const char *section, const char *key, const char *value)
{
	struct spec_ctx *c = user;

	if (c->ln.err_line)
		return 0;
	if (c->ln.indented && c->ln.key_in_section) {
		/* inih passes a continuation line as the same key again.  An
		 * indented [section] would silently become a value. */
		if (*value == '[')
			return fail(c,
			            "indented line would continue the value of '%s'; write "
			            "a [section] line without leading white space",
			            key);
		if (c->cont == CONT_KEYS)
			return for_each_item(c, value, "match key", add_key, NULL);
		if (c->cont == CONT_DIM)
			return for_each_item(c, value, "value", add_value,
			                     &c->spec->dims[c->cont_side][c->cont_dim]);
		if (c->cont == CONT_LIST)
			return for_each_item(c, value, c->cont_what, push_item, c->cont_list);
		return fail(c,
		            "indented line would continue the value of '%s', which is not a "
		            "list; remove the leading white space",
		            key);
	}
	c->ln.key_in_section = 1;
	c->cont = CONT_NONE;
	if (!section_changed(c, section))
		return 0;
	if (strncmp(section, "table ", 6) == 0)
		return table_key(c, section + 6, key, value);
	if (strncmp(section, "recode ", 7) == 0)
		return recode_key(c, section + 7, key, value);
	if (strcmp(section, "attributes") == 0)
		return attr_key(c, key, value);
	if (strcmp(section, "spec") == 0)
		return spec_key(c, key, value);
	if (strcmp(section, "gemeente") == 0)
		return add_dim(c, UDC_SIDE_GEMEENTE, key, value);
	if (strcmp(section, "cbs") == 0)
		return add_dim(c, UDC_SIDE_CBS, key, value);
	if (strcmp(section, "disclosure") == 0)
		return disclosure_key(c, key, value);
	if (strcmp(section, "fuzzy") == 0)
		return fuzzy_key(c, key, value);
	if (strcmp(section, "fields") == 0)
		return field_key(c, key, value);
	if (*section == '\0')
		return fail(c, "key '%s' is outside any [section]", key);
	return fail(c, "unknown section [%s]", section);
}

struct strbuf {
	char *s;
	size_t len, cap;
	int nomem;
};

static void
sb_add(struct strbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->nomem = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* The lines of attributes, recodes and tables (docs/operations.md). */
static void
canonical_tables(struct strbuf *b, const struct udc_spec *spec)
{
	for (size_t i = 0; i < spec->nattrs; i++) {
		char num[32];

		sb_add(b, "attribute.");
		sb_add(b, spec->attrs[i].name);
		sb_add(b, "=cbs\n");
		sb_add(b, "attribute.");
		sb_add(b, spec->attrs[i].name);
		snprintf(num, sizeof(num), ".groups=%u\n", spec->attrs[i].groups);
		sb_add(b, num);
	}
	for (size_t i = 0; i < spec->nrecodes; i++) {
		const struct udc_recode *r = &spec->recodes[i];
		const struct udc_dim *d = &spec->dims[r->side][r->src];

		sb_add(b, "recode.");
		sb_add(b, r->name);
		sb_add(b, "=");
		sb_add(b, side_name[r->side]);
		sb_add(b, ".");
		sb_add(b, d->name);
		sb_add(b, "\n");
		for (size_t j = 0; j < r->nvalues; j++) {
			int first = 1;

			sb_add(b, "recode.");
			sb_add(b, r->name);
			sb_add(b, ".");
			sb_add(b, r->values[j]);
			sb_add(b, "=");
			/* the sources in their dimension's order: the order they
			 * were written in means nothing */
			for (size_t k = 0; k < d->nvalues; k++) {
				if (r->map[k] != j)
					continue;
				if (!first)
					sb_add(b, ",");
				sb_add(b, d->values[k]);
				first = 0;
			}
			sb_add(b, "\n");
		}
	}
	for (size_t i = 0; i < spec->ntables; i++) {
		const struct udc_tablespec *t = &spec->tables[i];

		/* generated from a sum table and the attribute's groups: both are
		 * in the canonical form already */
		if (t->generated_for)
			continue;
		sb_add(b, "table.");
		sb_add(b, t->name);
		sb_add(b, ".population=");
		sb_add(b, udc_population_name(t->pop));
		sb_add(b, "\ntable.");
		sb_add(b, t->name);
		sb_add(b, ".dims=");
		for (size_t j = 0; j < t->ndims; j++) {
			if (j > 0)
				sb_add(b, ",");
			sb_add(b, udc_dimref_name(spec, &t->dims[j].ref));
		}
		sb_add(b, "\n");
		for (size_t j = 0; j < t->nwhere; j++) {
			const struct udc_where *w = &t->where[j];
			size_t n = udc_dimref_nvalues(spec, &w->dim);
			int first = 1;

			sb_add(b, "table.");
			sb_add(b, t->name);
			sb_add(b, ".where.");
			sb_add(b, udc_dimref_name(spec, &w->dim));
			sb_add(b, "=");
			for (size_t k = 0; k < n; k++) {
				if (!w->allowed[k])
					continue;
				if (!first)
					sb_add(b, ",");
				sb_add(b, udc_dimref_value(spec, &w->dim, k));
				first = 0;
			}
			sb_add(b, "\n");
		}
		if (t->sum >= 0) {
			sb_add(b, "table.");
			sb_add(b, t->name);
			sb_add(b, ".sum=");
			sb_add(b, spec->attrs[t->sum].name);
			sb_add(b, "\n");
		}
		if (t->mean) {
			sb_add(b, "table.");
			sb_add(b, t->name);
			sb_add(b, ".mean=yes\n");
		}
		if (t->zeros_sensitive) {
			sb_add(b, "table.");
			sb_add(b, t->name);
			sb_add(b, ".zeros=sensitive\n");
		}
	}
}

/* The canonical text: the one thing both nodes hash.  Change it only with
 * the version on its first line, and in docs/operations.md too. */
static char *
spec_canonical(const struct udc_spec *spec)
{
	struct strbuf b = {0};
	char num[64];

	/* Version 2 is a spec with tables; one without keeps version 1 and its
	 * hash. */
	sb_add(&b, spec->ntables ? "udclink-spec 2\nname=" : "udclink-spec 1\nname=");
	sb_add(&b, spec->name);
	sb_add(&b, spec->mode == UDC_MODE_FUZZY ? "\nmode=fuzzy\n"
	         : spec->mode == UDC_MODE_COMBINED ? "\nmode=combined\n" : "\nmode=exact\n");
	/* Declared fields, by name; only those that differ from a built-in
	 * declaration, so that specs without [fields] keep their hash. */
	{
		const struct udc_fieldset *fs = &spec->fields;
		size_t order[UDC_MAX_FIELDS], n = 0;

		for (size_t i = 0; i < fs->n; i++)
			if ((fs->declared & (1u << i)) && !udc_fielddef_is_builtin(&fs->f[i]))
				order[n++] = i;
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(fs->f[order[j - 1]].name,
			                                   fs->f[order[j]].name) > 0; j--) {
				size_t t = order[j];
				order[j] = order[j - 1];
				order[j - 1] = t;
			}
		for (size_t i = 0; i < n; i++) {
			char decl[256];

			if (udc_fielddef_format(&fs->f[order[i]], decl, sizeof(decl)) != 0) {
				b.nomem = 1;
				break;
			}
			sb_add(&b, "field.");
			sb_add(&b, fs->f[order[i]].name);
			sb_add(&b, "=");
			sb_add(&b, decl);
			sb_add(&b, "\n");
		}
	}
	for (size_t i = 0; i < spec->nkeys; i++) {
		sb_add(&b, "key=");
		sb_add(&b, spec->keys[i].name);
		sb_add(&b, "\n");
	}
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < udc_spec_input_dims(spec, s); i++) {
			const struct udc_dim *d = &spec->dims[s][i];
			sb_add(&b, side_name[s]);
			sb_add(&b, ".");
			sb_add(&b, d->name);
			sb_add(&b, "=");
			for (size_t j = 0; j < d->nvalues; j++) {
				if (j > 0)
					sb_add(&b, ",");
				sb_add(&b, d->values[j]);
			}
			sb_add(&b, "\n");
		}
	}
	canonical_tables(&b, spec);
	snprintf(num, sizeof(num), "min_cell=%u\n", spec->min_cell);
	sb_add(&b, num);
	sb_add(&b, spec->pad == UDC_PAD_MAX ? "pad_categories=max\n" : "pad_categories=none\n");
	if (spec->ntables) {
		int sums = 0;

		snprintf(num, sizeof(num), "protection=%u\n", spec->protection);
		sb_add(&b, num);
		for (size_t i = 0; i < spec->ntables; i++)
			sums |= spec->tables[i].sum >= 0;
		if (sums) {
			snprintf(num, sizeof(num), "min_contributors=%u\np_percent=%u\n",
			         spec->min_contributors, spec->p_percent);
			sb_add(&b, num);
		}
	}
	/* Written only when used, so specs without them keep their hash. */
	if (spec->round_base) {
		snprintf(num, sizeof(num), "round_base=%u\n", spec->round_base);
		sb_add(&b, num);
	}
	if (spec->max_releases != UDC_SPEC_DEFAULT_MAX_RELEASES) {
		snprintf(num, sizeof(num), "max_releases=%u\n", spec->max_releases);
		sb_add(&b, num);
	}
	if (spec->eps_num) {
		snprintf(num, sizeof(num), "noise_epsilon=%u/%u\n", spec->eps_num, spec->eps_den);
		sb_add(&b, num);
		snprintf(num, sizeof(num), "noise_budget=%llu/%llu\n",
		         (unsigned long long)spec->budget_num, (unsigned long long)spec->budget_den);
		sb_add(&b, num);
	}
	if (udc_spec_fuzzy(spec)) {
		char hex[65];
		sb_add(&b, "fuzzy.schema=");
		sb_add(&b, spec->schema_name);
		sb_add(&b, "\nfuzzy.schema_sha256=");
		if (spec->schema_json) {
			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", spec->schema_hash[i]);
			sb_add(&b, hex);
		} else {
			sb_add(&b, "unattached");
		}
		if (spec->threshold_auto)
			snprintf(num, sizeof(num), "\nfuzzy.threshold=auto\nfuzzy.target_precision=0.%03u\n",
			         spec->target_precision);
		else
			snprintf(num, sizeof(num), "\nfuzzy.threshold=%u.%03u\n", spec->threshold / 1000,
			         spec->threshold % 1000);
		sb_add(&b, num);
		sb_add(&b, spec->balance ? "fuzzy.balance=yes\n" : "fuzzy.balance=no\n");
		/* absent for record scoring, so that specs written before field
		 * scoring existed keep their hash */
		if (spec->scoring == UDC_SCORING_FIELDS)
			sb_add(&b, "fuzzy.scoring=fields\n");
	}
	if (b.nomem) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* "NAME:LINE: reason" for a rule spec_finish checks on a table or recode. */
static int ferr(const struct spec_ctx *c, char *err, size_t errlen, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
ferr(const struct spec_ctx *c, char *err, size_t errlen, int line, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(err, errlen, "%s:%d: ", c->name, line);
	if (k >= 0 && (size_t)k < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return UDC_EPARSE;
}

static int
cmp_recode(const void *a, const void *b)
{
	return strcmp(((const struct raw_recode *)a)->name, ((const struct raw_recode *)b)->name);
}

static int
cmp_attr(const void *a, const void *b)
{
	return strcmp(((const struct raw_attr *)a)->name, ((const struct raw_attr *)b)->name);
}

static int
cmp_table(const void *a, const void *b)
{
	return strcmp(((const struct raw_table *)a)->name, ((const struct raw_table *)b)->name);
}

static int
cmp_where(const void *a, const void *b)
{
	return strcmp(((const struct raw_where *)a)->dim, ((const struct raw_where *)b)->dim);
}

/* A dimension name: a base dimension of either side, then a recode. */
static int
find_dim(const struct udc_spec *spec, const char *name, struct udc_dimref *r)
{
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < spec->ndims[s]; i++)
			if (strcmp(spec->dims[s][i].name, name) == 0) {
				r->side = s;
				r->recode = -1;
				r->index = i;
				return 0;
			}
	for (size_t i = 0; i < spec->nrecodes; i++)
		if (strcmp(spec->recodes[i].name, name) == 0) {
			r->side = spec->recodes[i].side;
			r->recode = (int)i;
			r->index = i;
			return 0;
		}
	return -1;
}

static int
dimref_lookup(const struct udc_spec *spec, const struct udc_dimref *r, const char *v)
{
	size_t n = udc_dimref_nvalues(spec, r);

	for (size_t i = 0; i < n; i++)
		if (strcmp(udc_dimref_value(spec, r, i), v) == 0)
			return (int)i;
	return -1;
}

static int
resolve_recodes(struct spec_ctx *c, char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;

	qsort(c->recodes, c->nrecodes, sizeof(c->recodes[0]), cmp_recode);
	for (size_t i = 0; i < c->nrecodes; i++) {
		struct raw_recode *rr = &c->recodes[i];
		struct udc_recode *r = &spec->recodes[i];
		struct udc_dimref src;
		const struct udc_dim *d;

		if ((r->name = strdup(rr->name)) == NULL)
			return UDC_ENOMEM;
		spec->nrecodes = i + 1;
		if (rr->from == NULL)
			return ferr(c, err, errlen, rr->line, "[recode %s] has no from = DIMENSION",
			            rr->name);
		if (find_dim(spec, rr->name, &src) == 0 && src.recode < 0)
			return ferr(c, err, errlen, rr->line,
			            "recode %s has the name of a dimension of [%s]", rr->name,
			            side_name[src.side]);
		if (find_dim(spec, rr->from, &src) != 0 || src.recode >= 0)
			return ferr(c, err, errlen, rr->from_line,
			            "recode %s: from = %s names no dimension of [gemeente] or [cbs]",
			            rr->name, rr->from);
		if (rr->nvals == 0)
			return ferr(c, err, errlen, rr->line, "recode %s defines no value", rr->name);
		r->side = src.side;
		r->src = src.index;
		d = &spec->dims[src.side][src.index];
		if ((r->values = calloc(rr->nvals, sizeof(*r->values))) == NULL ||
		    (r->map = malloc(d->nvalues * sizeof(*r->map))) == NULL)
			return UDC_ENOMEM;
		for (size_t k = 0; k < d->nvalues; k++)
			r->map[k] = UINT16_MAX;
		for (size_t j = 0; j < rr->nvals; j++) {
			struct raw_recode_val *v = &rr->vals[j];

			if ((r->values[j] = strdup(v->name)) == NULL)
				return UDC_ENOMEM;
			r->nvalues = j + 1;
			for (size_t k = 0; k < v->src.n; k++) {
				int bv = udc_dim_lookup(d, v->src.v[k].s);

				if (bv < 0)
					return ferr(c, err, errlen, v->src.v[k].line,
					            "recode %s: '%s' is not a value of %s", rr->name,
					            v->src.v[k].s, d->name);
				if (r->map[bv] != UINT16_MAX)
					return ferr(c, err, errlen, v->src.v[k].line,
					            "recode %s: %s value '%s' is mapped twice", rr->name,
					            d->name, v->src.v[k].s);
				r->map[bv] = (uint16_t)j;
			}
		}
		for (size_t k = 0; k < d->nvalues; k++)
			if (r->map[k] == UINT16_MAX)
				return ferr(c, err, errlen, rr->line,
				            "recode %s: %s value '%s' is not mapped (every value of "
				            "the source goes to exactly one new value)",
				            rr->name, d->name, d->values[k]);
	}
	return 0;
}

/* 1 if base value bv of base dimension (side, b) passes every condition of
 * table t on that dimension or a recode of it. */
static int
where_allows(const struct udc_spec *spec, const struct udc_tablespec *t, int side, size_t b,
             size_t bv)
{
	for (size_t i = 0; i < t->nwhere; i++) {
		const struct udc_dimref *r = &t->where[i].dim;

		if (r->side == side && udc_dimref_base(spec, r) == b &&
		    !t->where[i].allowed[udc_dimref_of_base(spec, r, bv)])
			return 0;
	}
	return 1;
}

static int
side_allowed(enum udc_population pop, int side)
{
	if (pop == UDC_POP_GEMEENTE_ONLY || pop == UDC_POP_GEMEENTE)
		return side == UDC_SIDE_GEMEENTE;
	if (pop == UDC_POP_CBS_ONLY || pop == UDC_POP_CBS)
		return side == UDC_SIDE_CBS;
	return 1;
}

static int
resolve_table(struct spec_ctx *c, struct raw_table *rt, struct udc_tablespec *t, uint8_t *used,
              char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;
	size_t cells = 1;

	if ((t->name = strdup(rt->name)) == NULL)
		return UDC_ENOMEM;
	t->pop = rt->pop;
	t->sum = -1;
	t->mean = rt->mean;
	t->zeros_sensitive = rt->zeros;
	qsort(rt->where, rt->nwhere, sizeof(rt->where[0]), cmp_where);
	for (size_t i = 0; i < rt->nwhere; i++) {
		struct raw_where *rw = &rt->where[i];
		struct udc_where *w = &t->where[i];
		size_t n;

		if (find_dim(spec, rw->dim, &w->dim) != 0)
			return ferr(c, err, errlen, rw->line, "table %s: where.%s names no dimension",
			            rt->name, rw->dim);
		if (!side_allowed(t->pop, w->dim.side))
			return ferr(c, err, errlen, rw->line,
			            "table %s: population %s has no %s dimension %s", rt->name,
			            udc_population_name(t->pop), side_name[w->dim.side], rw->dim);
		if (w->dim.recode >= 0)
			used[w->dim.recode] = 1;
		n = udc_dimref_nvalues(spec, &w->dim);
		if ((w->allowed = calloc(n, 1)) == NULL)
			return UDC_ENOMEM;
		t->nwhere = i + 1;
		for (size_t k = 0; k < rw->vals.n; k++) {
			int v = dimref_lookup(spec, &w->dim, rw->vals.v[k].s);

			if (v < 0)
				return ferr(c, err, errlen, rw->vals.v[k].line,
				            "table %s: '%s' is not a value of %s", rt->name,
				            rw->vals.v[k].s, rw->dim);
			if (w->allowed[v])
				return ferr(c, err, errlen, rw->vals.v[k].line,
				            "table %s: duplicate value '%s' in where.%s", rt->name,
				            rw->vals.v[k].s, rw->dim);
			w->allowed[v] = 1;
		}
	}
	/* Conditions on one base dimension (directly and through recodes) must
	 * leave some value, or the table would count nobody. */
	for (size_t i = 0; i < t->nwhere; i++) {
		const struct udc_dimref *r = &t->where[i].dim;
		size_t b = udc_dimref_base(spec, r), bv, n = spec->dims[r->side][b].nvalues;

		for (bv = 0; bv < n && !where_allows(spec, t, r->side, b, bv); bv++)
			;
		if (bv == n)
			return ferr(c, err, errlen, rt->where[i].line,
			            "table %s: the conditions on %s leave no value", rt->name,
			            spec->dims[r->side][b].name);
	}
	for (size_t i = 0; i < rt->dims.n; i++) {
		struct udc_tdim *d = &t->dims[i];
		const char *name = rt->dims.v[i].s;
		int line = rt->dims.v[i].line;
		size_t n, b;

		if (i == UDC_MAX_TABLE_DIMS)
			return ferr(c, err, errlen, line, "table %s has more than %d dimensions",
			            rt->name, UDC_MAX_TABLE_DIMS);
		if (find_dim(spec, name, &d->ref) != 0)
			return ferr(c, err, errlen, line, "table %s: '%s' names no dimension or recode",
			            rt->name, name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(rt->dims.v[j].s, name) == 0)
				return ferr(c, err, errlen, line, "table %s names %s twice", rt->name,
				            name);
		if (!side_allowed(t->pop, d->ref.side))
			return ferr(c, err, errlen, line,
			            "table %s: population %s has no %s dimension %s (only the "
			            "linked population has both sides' dimensions)",
			            rt->name, udc_population_name(t->pop), side_name[d->ref.side],
			            name);
		if (d->ref.recode >= 0)
			used[d->ref.recode] = 1;
		n = udc_dimref_nvalues(spec, &d->ref);
		b = udc_dimref_base(spec, &d->ref);
		if ((d->cats = calloc(n, sizeof(*d->cats))) == NULL)
			return UDC_ENOMEM;
		t->ndims = i + 1;
		/* A category is shown when a record of the table can have it. */
		for (size_t v = 0; v < n; v++) {
			size_t nb = spec->dims[d->ref.side][b].nvalues;

			for (size_t bv = 0; bv < nb; bv++)
				if (udc_dimref_of_base(spec, &d->ref, bv) == v &&
				    where_allows(spec, t, d->ref.side, b, bv)) {
					d->cats[d->ncats++] = (uint16_t)v;
					break;
				}
		}
		cells *= d->ncats + 1;
		if (cells > SPEC_MAX_RELEASED)
			return ferr(c, err, errlen, line,
			            "table %s has more than %d cells (every total included)",
			            rt->name, SPEC_MAX_RELEASED);
	}
	t->ncells = cells;
	if (rt->sum != NULL) {
		for (size_t i = 0; i < spec->nattrs; i++)
			if (strcmp(spec->attrs[i].name, rt->sum) == 0)
				t->sum = (int)i;
		if (t->sum < 0)
			return ferr(c, err, errlen, rt->sum_line,
			            "table %s: sum = %s names no attribute of [attributes]", rt->name,
			            rt->sum);
		if (t->pop == UDC_POP_GEMEENTE_ONLY || t->pop == UDC_POP_GEMEENTE)
			return ferr(c, err, errlen, rt->sum_line,
			            "table %s: population %s has no CBS record to sum %s over",
			            rt->name, udc_population_name(t->pop), rt->sum);
	}
	if (t->mean && t->sum < 0)
		return ferr(c, err, errlen, rt->mean_line, "table %s: mean = yes needs sum",
		            rt->name);
	return 0;
}

/* The hidden CBS dimension "<attr>_group" (values 1..groups, the last CBS
 * dimension, no input column) and, per table that sums the attribute, the
 * generated table "<table>_groups": the table's dimensions and conditions
 * with the group dimension last.  Its counts are what the sum table's
 * estimates are computed from, so it is protected with every other table
 * and released (docs/governance.md, "Magnitudes"). */
static int
add_group_dim(struct spec_ctx *c, size_t a, char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;
	struct udc_attr *at = &spec->attrs[a];
	struct udc_dim *d;
	struct udc_dimref r;
	char name[SPEC_MAX_DIM_NAME + 16];
	size_t nt = spec->ntables, gd, total = 0;

	snprintf(name, sizeof(name), "%s_group", at->name);
	if (find_dim(spec, name, &r) == 0)
		return ferr(c, err, errlen, c->attrs[a].line,
		            "attribute %s: its group dimension %s has the name of a dimension or "
		            "recode", at->name, name);
	if (spec->ndims[UDC_SIDE_CBS] == UDC_MAX_DIMS)
		return ferr(c, err, errlen, c->attrs[a].line,
		            "attribute %s: [cbs] has %d dimensions, and its groups need one more",
		            at->name, UDC_MAX_DIMS);
	if (spec->ncells[UDC_SIDE_CBS] * at->groups > SPEC_MAX_SIDE_CELLS ||
	    spec->ncells[0] * spec->ncells[UDC_SIDE_CBS] * at->groups > SPEC_MAX_TABLE)
		return ferr(c, err, errlen, c->attrs[a].line,
		            "attribute %s: %zu CBS categories x %u groups is more than the count "
		            "can hold", at->name, spec->ncells[UDC_SIDE_CBS], at->groups);
	gd = spec->ndims[UDC_SIDE_CBS];
	d = &spec->dims[UDC_SIDE_CBS][gd];
	memset(d, 0, sizeof(*d));
	spec->ndims[UDC_SIDE_CBS]++; /* udc_spec_free frees what follows */
	spec->nhidden++;
	if ((d->name = strdup(name)) == NULL ||
	    (d->values = calloc(at->groups, sizeof(*d->values))) == NULL)
		return UDC_ENOMEM;
	for (unsigned g = 0; g < at->groups; g++) {
		char v[16];

		snprintf(v, sizeof(v), "%u", g + 1);
		if ((d->values[g] = strdup(v)) == NULL)
			return UDC_ENOMEM;
		d->nvalues = g + 1;
	}
	at->gdim = (int)gd;
	spec->ncells[UDC_SIDE_CBS] *= at->groups;
	for (size_t i = 0; i < nt; i++) {
		struct udc_tablespec *t = &spec->tables[i], *f;

		total += t->ncells;
		if (t->sum != (int)a)
			continue;
		if (spec->ntables == UDC_MAX_TABLES)
			return ferr(c, err, errlen, c->tables[i].line,
			            "table %s: with the generated group tables, more than %d tables",
			            t->name, UDC_MAX_TABLES);
		if (t->ndims == UDC_MAX_TABLE_DIMS)
			return ferr(c, err, errlen, c->tables[i].line,
			            "table %s: its group table would have more than %d dimensions",
			            t->name, UDC_MAX_TABLE_DIMS);
		f = &spec->tables[spec->ntables];
		memset(f, 0, sizeof(*f));
		spec->ntables++;
		if ((f->name = malloc(strlen(t->name) + 8)) == NULL)
			return UDC_ENOMEM;
		sprintf(f->name, "%s_groups", t->name);
		for (size_t j = 0; j < nt; j++)
			if (strcmp(spec->tables[j].name, f->name) == 0)
				return ferr(c, err, errlen, c->tables[j].line,
				            "table %s has the name of the group table of %s", f->name,
				            t->name);
		f->pop = t->pop;
		f->sum = -1;
		f->zeros_sensitive = t->zeros_sensitive;
		f->generated_for = (int)i + 1;
		t->gtable = (int)(spec->ntables - 1) + 1;
		for (size_t j = 0; j < t->nwhere; j++) {
			size_t n = udc_dimref_nvalues(spec, &t->where[j].dim);

			f->where[j].dim = t->where[j].dim;
			if ((f->where[j].allowed = malloc(n)) == NULL)
				return UDC_ENOMEM;
			memcpy(f->where[j].allowed, t->where[j].allowed, n);
			f->nwhere = j + 1;
		}
		for (size_t j = 0; j <= t->ndims; j++) {
			struct udc_tdim *fd = &f->dims[j];

			if (j < t->ndims) {
				fd->ref = t->dims[j].ref;
				fd->ncats = t->dims[j].ncats;
			} else {
				fd->ref.side = UDC_SIDE_CBS;
				fd->ref.recode = -1;
				fd->ref.index = gd;
				fd->ncats = at->groups;
			}
			if ((fd->cats = calloc(fd->ncats, sizeof(*fd->cats))) == NULL)
				return UDC_ENOMEM;
			for (size_t k = 0; k < fd->ncats; k++)
				fd->cats[k] = j < t->ndims ? t->dims[j].cats[k] : (uint16_t)k;
			f->ndims = j + 1;
		}
		f->ncells = t->ncells * (at->groups + 1);
		total += f->ncells;
	}
	if (total > SPEC_MAX_RELEASED)
		return ferr(c, err, errlen, c->attrs[a].line,
		            "the tables with the group tables of %s have more than %d cells "
		            "together (every total included)", at->name, SPEC_MAX_RELEASED);
	return 0;
}

/* [table], [recode], [attributes] and the disclosure keys they bring. */
static int
resolve_tables(struct spec_ctx *c, char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;
	uint8_t used[UDC_MAX_RECODES] = {0}, aused[UDC_MAX_ATTRS] = {0};
	size_t total = 0;
	int rv, sums = 0;

	if (c->ntables == 0) {
		int line = c->nrecodes ? c->recodes[0].line : c->nattrs ? c->attrs[0].line
		           : c->protection_line ? c->protection_line
		           : c->contrib_line ? c->contrib_line : c->p_line;

		if (line == 0)
			return 0;
		return ferr(c, err, errlen, line,
		            "%s is for [table ...] sections, and the spec has none (without "
		            "tables it releases the full cross of both sides' dimensions)",
		            c->nrecodes ? "[recode]" : c->nattrs ? "[attributes]"
		            : c->protection_line ? "protection"
		            : c->contrib_line ? "min_contributors" : "p_percent");
	}
	qsort(c->attrs, c->nattrs, sizeof(c->attrs[0]), cmp_attr);
	for (size_t i = 0; i < c->nattrs; i++) {
		struct udc_dimref r;

		if (find_dim(spec, c->attrs[i].name, &r) == 0)
			return ferr(c, err, errlen, c->attrs[i].line,
			            "attribute %s has the name of a dimension of [%s]",
			            c->attrs[i].name, side_name[r.side]);
		spec->attrs[i].name = c->attrs[i].name;
		c->attrs[i].name = NULL;
		spec->attrs[i].side = UDC_SIDE_CBS;
		spec->attrs[i].groups = c->attrs[i].groups ? c->attrs[i].groups
		                                           : UDC_SPEC_DEFAULT_GROUPS;
		spec->attrs[i].gdim = -1;
		spec->nattrs = i + 1;
	}
	if ((rv = resolve_recodes(c, err, errlen)) != 0)
		return rv;
	for (size_t i = 0; i < spec->nrecodes; i++)
		for (size_t j = 0; j < spec->nattrs; j++)
			if (strcmp(spec->recodes[i].name, spec->attrs[j].name) == 0)
				return ferr(c, err, errlen, c->recodes[i].line,
				            "recode %s has the name of an attribute", spec->recodes[i].name);
	qsort(c->tables, c->ntables, sizeof(c->tables[0]), cmp_table);
	for (size_t i = 0; i < c->ntables; i++) {
		struct udc_tablespec *t = &spec->tables[i];

		spec->ntables = i + 1;
		if ((rv = resolve_table(c, &c->tables[i], t, used, err, errlen)) != 0)
			return rv;
		if (t->sum >= 0) {
			aused[t->sum] = 1;
			sums = 1;
		}
		total += t->ncells;
		if (total > SPEC_MAX_RELEASED)
			return ferr(c, err, errlen, c->tables[i].line,
			            "the tables have more than %d cells together (every total "
			            "included)",
			            SPEC_MAX_RELEASED);
	}
	for (size_t i = 0; i < spec->nrecodes; i++)
		if (!used[i])
			return ferr(c, err, errlen, c->recodes[i].line, "recode %s is used by no table",
			            spec->recodes[i].name);
	for (size_t i = 0; i < spec->nattrs; i++)
		if (!aused[i])
			return ferr(c, err, errlen, c->attrs[i].line,
			            "attribute %s is summed by no table", spec->attrs[i].name);
	if (!sums && (c->contrib_line || c->p_line))
		return ferr(c, err, errlen, c->contrib_line ? c->contrib_line : c->p_line,
		            "%s is for tables with sum, and the spec has none",
		            c->contrib_line ? "min_contributors" : "p_percent");
	if (spec->nattrs > 1)
		return ferr(c, err, errlen, c->attrs[1].line,
		            "more than one attribute is summed: each adds a hidden CBS dimension "
		            "(its quantile groups) to the count, so this version sums one");
	if (spec->nattrs == 1 && (rv = add_group_dim(c, 0, err, errlen)) != 0)
		return rv;
	return 0;
}

/* Frees what the parser kept as text. */
static void
ctx_free(struct spec_ctx *c)
{
	free(c->prev_section);
	for (size_t i = 0; i < c->ntables; i++) {
		struct raw_table *t = &c->tables[i];

		free(t->name);
		free(t->sum);
		raw_list_free(&t->dims);
		for (size_t j = 0; j < t->nwhere; j++) {
			free(t->where[j].dim);
			raw_list_free(&t->where[j].vals);
		}
	}
	for (size_t i = 0; i < c->nrecodes; i++) {
		struct raw_recode *r = &c->recodes[i];

		free(r->name);
		free(r->from);
		for (size_t j = 0; j < r->nvals; j++) {
			free(r->vals[j].name);
			raw_list_free(&r->vals[j].src);
		}
		free(r->vals);
	}
	for (size_t i = 0; i < c->nattrs; i++)
		free(c->attrs[i].name);
}

/* Rules about the whole spec; the first broken one is reported. */
static int
spec_finish(struct spec_ctx *c, char *err, size_t errlen)
{
	struct udc_spec *spec = c->spec;

	if (spec->name == NULL) {
		snprintf(err, errlen, "%s: [spec] name is missing", c->name);
		return UDC_EPARSE;
	}
	for (size_t i = 0; i < c->nkey_items; i++) {
		int rv = resolve_key(c, i, err, errlen);

		if (rv != 0)
			return rv;
	}
	if (spec->nkeys == 0 && spec->mode != UDC_MODE_FUZZY) {
		snprintf(err, errlen, "%s: [spec] keys is missing: name at least one match key",
		         c->name);
		return UDC_EPARSE;
	}
	if (spec->nkeys != 0 && spec->mode == UDC_MODE_FUZZY) {
		snprintf(err, errlen, "%s: mode fuzzy uses no exact keys: remove keys, or use "
		         "mode combined", c->name);
		return UDC_EPARSE;
	}
	if (c->target_line && !spec->threshold_auto) {
		snprintf(err, errlen, "%s:%d: [fuzzy] target_precision needs threshold = auto", c->name,
		         c->target_line);
		return UDC_EPARSE;
	}
	if (spec->threshold_auto && !c->target_line)
		spec->target_precision = UDC_FUZZY_DEFAULT_TARGET_PRECISION_MILLI;
	if (!c->threshold_line || spec->threshold_auto)
		spec->threshold = spec->scoring == UDC_SCORING_FIELDS
		                      ? UDC_FUZZY_DEFAULT_THRESHOLD_FIELDS_MILLI
		                      : UDC_FUZZY_DEFAULT_THRESHOLD_MILLI;
	if (spec->balance && spec->scoring == UDC_SCORING_FIELDS) {
		snprintf(err, errlen, "%s:%d: [fuzzy] balance = yes cannot be used with scoring = "
		         "fields: a balanced filter hides which fields are empty, and field scoring "
		         "leaves out the fields missing on either side (use xor folding to harden)",
		         c->name, c->balance_line);
		return UDC_EPARSE;
	}
	if (udc_spec_fuzzy(spec) && spec->schema_name == NULL) {
		snprintf(err, errlen, "%s: mode %s needs [fuzzy] schema", c->name,
		         spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined");
		return UDC_EPARSE;
	}
	if (!udc_spec_fuzzy(spec) &&
	    (c->schema_line || c->threshold_line || c->balance_line || c->scoring_line ||
	     c->target_line)) {
		snprintf(err, errlen, "%s: [fuzzy] settings need mode fuzzy or combined", c->name);
		return UDC_EPARSE;
	}
	for (int s = 0; s < 2; s++) {
		size_t cells = 1;

		if (spec->ndims[s] == 0) {
			snprintf(err, errlen, "%s: [%s] defines no dimension", c->name,
			         side_name[s]);
			return UDC_EPARSE;
		}
		/* stops before it can overflow: each factor is at most 1024 */
		for (size_t i = 0; i < spec->ndims[s] && cells <= SPEC_MAX_SIDE_CELLS; i++)
			cells *= spec->dims[s][i].nvalues;
		if (cells > SPEC_MAX_SIDE_CELLS) {
			snprintf(err, errlen,
			         "%s: the dimensions of [%s] give more than %d "
			         "combinations",
			         c->name, side_name[s], SPEC_MAX_SIDE_CELLS);
			return UDC_EPARSE;
		}
		spec->ncells[s] = cells;
	}
	if (spec->ncells[0] * spec->ncells[1] > SPEC_MAX_TABLE) {
		snprintf(err, errlen, "%s: %zu groups x %zu categories is more than %d cells",
		         c->name, spec->ncells[0], spec->ncells[1], SPEC_MAX_TABLE);
		return UDC_EPARSE;
	}
	{
		int rv = resolve_tables(c, err, errlen);

		if (rv == UDC_ENOMEM)
			snprintf(err, errlen, "%s: out of memory", c->name);
		if (rv != 0)
			return rv;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "%s: libsodium failed to initialise", c->name);
		return UDC_ECRYPTO;
	}
	if ((spec->canonical = spec_canonical(spec)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->name);
		return UDC_ENOMEM;
	}
	crypto_hash_sha256(spec->hash, (const unsigned char *)spec->canonical,
	                   strlen(spec->canonical));
	return 0;
}

int
udc_spec_parse(const char *text, size_t len, const char *name, struct udc_spec **out, char *err,
               size_t errlen)
{
	struct spec_ctx c;
	struct udc_spec *spec;
	int rv = 0;

	memset(&c, 0, sizeof(c));
	c.name = name ? name : "spec";
	if (errlen > 0)
		err[0] = '\0';
	if ((spec = calloc(1, sizeof(*spec))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", c.name);
		return UDC_ENOMEM;
	}
	spec->mode = UDC_MODE_EXACT;
	udc_fieldset_init(&spec->fields);
	spec->min_cell = 10;
	spec->pad = UDC_PAD_MAX;
	spec->budget_num = 1;
	spec->max_releases = UDC_SPEC_DEFAULT_MAX_RELEASES;
	spec->budget_den = 1;
	spec->protection = 1;
	spec->min_contributors = 3;
	spec->p_percent = 10;

	c.spec = spec;
	c.ln.p = text;
	c.ln.end = text + len;
	c.ln.sections = spec_sections;
	c.ln.nsections = sizeof(spec_sections) / sizeof(spec_sections[0]);
	c.ln.long_hint = "; continue a long list on an indented next line";
	if ((rv = udc_ini_parse(&c.ln, spec_handler, &c, c.name, err, errlen)) != 0)
		goto out;
	if ((rv = spec_finish(&c, err, errlen)) != 0)
		goto out;
	*out = spec;
	spec = NULL;
out:
	ctx_free(&c);
	for (size_t i = 0; i < c.nkey_items; i++)
		free(c.key_item[i]);
	udc_spec_free(spec);
	return rv;
}

int
udc_spec_load(const char *path, struct udc_spec **out, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL;
	size_t n;
	int rv;

	if (errlen > 0)
		err[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return UDC_EIO;
	}
	if ((buf = malloc(SPEC_MAX_FILE + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rv = UDC_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, SPEC_MAX_FILE + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (n > SPEC_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, SPEC_MAX_FILE);
		rv = UDC_EPARSE;
		goto out;
	}
	rv = udc_spec_parse(buf, n, path, out, err, errlen);
out:
	free(buf);
	fclose(fp);
	return rv;
}

void
udc_spec_free(struct udc_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->name);
	for (size_t i = 0; i < UDC_MAX_KEYS; i++)
		free(spec->keys[i].name);
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < spec->ndims[s]; i++) {
			struct udc_dim *d = &spec->dims[s][i];
			for (size_t j = 0; j < d->nvalues; j++)
				free(d->values[j]);
			free(d->values);
			free(d->name);
		}
	}
	for (size_t i = 0; i < spec->nrecodes; i++) {
		struct udc_recode *r = &spec->recodes[i];

		for (size_t j = 0; j < r->nvalues; j++)
			free(r->values[j]);
		free(r->values);
		free(r->map);
		free(r->name);
	}
	for (size_t i = 0; i < spec->nattrs; i++)
		free(spec->attrs[i].name);
	for (size_t i = 0; i < spec->ntables; i++) {
		struct udc_tablespec *t = &spec->tables[i];

		for (size_t j = 0; j < t->ndims; j++)
			free(t->dims[j].cats);
		for (size_t j = 0; j < t->nwhere; j++)
			free(t->where[j].allowed);
		free(t->name);
	}
	free(spec->canonical);
	free(spec->schema_name);
	free(spec->schema_json);
	free(spec);
}

void
udc_spec_hash_hex(const struct udc_spec *spec, char out[65])
{
	sodium_bin2hex(out, 65, spec->hash, sizeof(spec->hash));
}

int
udc_spec_fuzzy(const struct udc_spec *spec)
{
	return spec->mode == UDC_MODE_FUZZY || spec->mode == UDC_MODE_COMBINED;
}

int
udc_spec_attach_schema(struct udc_spec *spec, const char *json, size_t len, char *err,
                       size_t errlen)
{
	struct udc_clk_schema *schema = NULL;
	char *copy, *canon;
	int rv;

	if (!udc_spec_fuzzy(spec)) {
		snprintf(err, errlen, "%s: mode exact takes no CLK schema", spec->name);
		return UDC_EINVAL;
	}
	if ((rv = udc_clk_schema_parse(&schema, json, len, spec->schema_name, err, errlen)) != 0)
		return rv;
	{
		/* every encoded feature names a field of the spec */
		uint32_t used = 0;

		for (size_t i = 0; i < udc_clk_schema_nfields(schema); i++) {
			const char *fname = udc_clk_schema_field_name(schema, i);
			int f;

			if (udc_clk_schema_field_ignored(schema, i))
				continue;
			if ((f = udc_fieldset_find(&spec->fields, fname)) < 0) {
				char known[800];

				known_fields(spec, known, sizeof(known));
				snprintf(err, errlen, "%s: feature '%.64s' is not a field of the spec "
				         "(%s) and not ignored; declare it in the spec's [fields]",
				         spec->schema_name, fname, known);
				udc_clk_schema_free(schema);
				return UDC_EINVAL;
			}
			used |= 1u << f;
		}
		spec->schema_fields = used;
	}
	if (spec->scoring == UDC_SCORING_FIELDS && udc_clk_schema_bits(schema) % 64 != 0) {
		/* each feature's filter starts on a 64-bit word of the comparison */
		snprintf(err, errlen, "%s: scoring = fields needs l (after xor folding) to be a "
		         "multiple of 64, not %zu", spec->schema_name, udc_clk_schema_bits(schema));
		udc_clk_schema_free(schema);
		return UDC_EINVAL;
	}
	{
		/* the bits CBS compares per record: the matcher takes 65535 */
		size_t bits = udc_clk_schema_bits(schema);

		bits *= spec->scoring == UDC_SCORING_FIELDS ? udc_clk_schema_nencoded(schema)
		                                             : (spec->balance ? 2 : 1);
		if (bits > 65535) {
			snprintf(err, errlen, "%s: an encoding of %zu bits per record (l%s) is more "
			         "than the 65535 the matcher compares", spec->schema_name, bits,
			         spec->scoring == UDC_SCORING_FIELDS ? " x features, field scoring"
			         : spec->balance ? " x 2, balanced" : "");
			udc_clk_schema_free(schema);
			return UDC_EINVAL;
		}
	}
	udc_clk_schema_free(schema);
	if ((copy = malloc(len + 1)) == NULL)
		return UDC_ENOMEM;
	memcpy(copy, json, len);
	copy[len] = '\0';
	free(spec->schema_json);
	spec->schema_json = copy;
	spec->schema_len = len;
	crypto_hash_sha256(spec->schema_hash, (const unsigned char *)json, len);
	if ((canon = spec_canonical(spec)) == NULL)
		return UDC_ENOMEM;
	free(spec->canonical);
	spec->canonical = canon;
	crypto_hash_sha256(spec->hash, (const unsigned char *)canon, strlen(canon));
	return 0;
}

void
udc_spec_schema_path(const char *spec_path, const struct udc_spec *spec, char *out, size_t outlen)
{
	const char *slash = strrchr(spec_path, '/');

	if (spec->schema_name[0] == '/' || slash == NULL)
		snprintf(out, outlen, "%s", spec->schema_name);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - spec_path), spec_path, spec->schema_name);
}

int
udc_spec_load_with_schema(const char *path, struct udc_spec **out, char *err, size_t errlen)
{
	struct udc_spec *spec = NULL;
	char spath[4096], why[4200], *buf = NULL;
	size_t n;
	int rv;

	if ((rv = udc_spec_load(path, &spec, err, errlen)) != 0)
		return rv;
	if (!udc_spec_fuzzy(spec)) {
		*out = spec;
		return 0;
	}
	udc_spec_schema_path(path, spec, spath, sizeof(spath));
	if ((rv = udc_file_read(spath, SPEC_MAX_FILE, 0, &buf, &n, why, sizeof(why))) != 0) {
		snprintf(err, errlen, "%s: schema %s", path, why);
		goto out;
	}
	if ((rv = udc_spec_attach_schema(spec, buf, n, err, errlen)) != 0)
		goto out;
	*out = spec;
	spec = NULL;
out:
	free(buf);
	udc_spec_free(spec);
	return rv;
}
