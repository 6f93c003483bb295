/*
 * input.c - read a node's person list into normalised match-key records.
 *
 * One pass over the CSV: each row is normalised field by field into stack
 * buffers, checked against the spec's label values, and its match keys are
 * built; accepted rows are copied into a chunk whose record array and string
 * storage are allocated once and reused, so memory does not depend on the
 * size of the file (two of each: the callback works on one chunk on a thread
 * of its own while the next is read into the other, so parsing overlaps the
 * hashing and blinding of the chunk before).  Rows that cannot be used are
 * counted by reason; the
 * first few are described by file and line only, because these messages go
 * to the logs and a field's content is an identifier.
 */
#include "input.h"
#include "csv.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_DEFAULT_CHUNK 4096
#define INPUT_MAX_CHUNK (1024 * 1024)
#define INPUT_KEY_SEP '\x1f'
/* String bytes budgeted per record; a chunk is handed over early rather than
 * grow when its records are unusually long. */
#define INPUT_AVG_RECORD 384

static const char *const reject_names[UDC_REJ_MAX] = {
    [UDC_REJ_CSV] = "malformed_csv",       [UDC_REJ_UTF8] = "invalid_utf8",
    [UDC_REJ_LABEL] = "label_not_allowed", [UDC_REJ_NO_KEY] = "no_match_key", [UDC_REJ_ENCODE] = "clk_encoding",
    [UDC_REJ_DUPLICATE] = "duplicate", [UDC_REJ_ATTR] = "attribute_invalid",
};

/* The largest attribute value taken (whole euros): sums of millions of
 * them stay far inside 64 bits. */
#define INPUT_MAX_ATTR 1000000000000ULL

static struct udc_fieldset builtin_set;

static void
builtin_init(void)
{
	udc_fieldset_init(&builtin_set);
}

const char *
udc_reject_name(int reason)
{
	if (reason < 0 || reason >= UDC_REJ_MAX)
		return "unknown";
	return reject_names[reason];
}

struct input_ctx {
	const struct udc_input_opts *opts;
	struct udc_csv *csv;
	struct udc_input_stats *st;
	const struct udc_fieldset *fs;
	size_t nf;              /* fields in the set */
	uint32_t use;           /* fields the round reads */
	int pair;               /* the built-in surname and surname_prefix, read together */
	int col[UDC_MAX_FIELDS]; /* CSV column per field, -1 if unmapped or unused */
	int lcol[UDC_MAX_DIMS]; /* CSV column per label dimension */
	size_t ndims;
	int fcol;               /* the filter's column, -1 if none */
	int acol;               /* the attribute's column, -1 if none */

	struct udc_inrec *recs; /* the chunk */
	size_t nrecs, chunk;
	char *pool; /* string storage of the chunk */
	size_t used, cap;
	struct udc_inrec *recs2; /* the other chunk, with the callback */
	char *pool2;
	struct handoff *ho;     /* the callback's thread; NULL: called in line */
};

/* The callback's thread: takes one chunk at a time from the reader. */
struct handoff {
	pthread_t t;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int pending, quit, rv;  /* a chunk handed over; stop; the first error */
	const struct udc_inrec *recs;
	size_t n;
	udc_input_cb cb;
	void *ctx;
};

static void *
handoff_main(void *arg)
{
	struct handoff *h = arg;

	pthread_mutex_lock(&h->m);
	for (;;) {
		while (!h->pending && !h->quit)
			pthread_cond_wait(&h->cv, &h->m);
		if (!h->pending)
			break;
		pthread_mutex_unlock(&h->m);
		int rv = h->rv ? 0 : h->cb(h->ctx, h->recs, h->n); /* nothing after an error */
		pthread_mutex_lock(&h->m);
		if (rv != 0 && h->rv == 0)
			h->rv = rv;
		h->pending = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->m);
	return NULL;
}

/* Waits until the callback has finished the chunk it has; its first error. */
static int
handoff_wait(struct handoff *h)
{
	int rv;

	pthread_mutex_lock(&h->m);
	while (h->pending)
		pthread_cond_wait(&h->cv, &h->m);
	rv = h->rv;
	pthread_mutex_unlock(&h->m);
	return rv;
}

/* A thread for the callback, or NULL (then it is called in line). */
static struct handoff *
handoff_start(udc_input_cb cb, void *ctx)
{
	struct handoff *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->cb = cb;
	h->ctx = ctx;
	pthread_mutex_init(&h->m, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pthread_create(&h->t, NULL, handoff_main, h) != 0) {
		pthread_mutex_destroy(&h->m);
		pthread_cond_destroy(&h->cv);
		free(h);
		return NULL;
	}
	return h;
}

/* Lets the chunk in hand finish, then ends the thread. */
static void
handoff_stop(struct handoff *h)
{
	if (h == NULL)
		return;
	handoff_wait(h);
	pthread_mutex_lock(&h->m);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->m);
	pthread_join(h->t, NULL);
	pthread_mutex_destroy(&h->m);
	pthread_cond_destroy(&h->cv);
	free(h);
}

/* Records a rejected row: counted always, described for the first few. */
static void
input_reject(struct input_ctx *ic, int reason, const char *fmt, ...)
{
	struct udc_input_stats *st = ic->st;
	char why[128];
	va_list ap;

	st->rejected[reason]++;
	if (st->nexamples >= UDC_INPUT_EXAMPLES)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(st->examples[st->nexamples], sizeof(st->examples[0]), "%s:%lu: %s",
	         udc_csv_path(ic->csv), udc_csv_line(ic->csv), why);
	log_warnx("%s", st->examples[st->nexamples]);
	st->nexamples++;
}

static int
input_map_columns(struct input_ctx *ic, char *err, size_t errlen)
{
	const struct udc_input_opts *o = ic->opts;
	const struct udc_spec *spec = o->spec;
	const char *path = udc_csv_path(ic->csv);

	for (size_t f = 0; f < ic->nf; f++) {
		ic->col[f] = -1;
		if (o->columns[f] == NULL || !(ic->use & (1u << f)))
			continue;
		if ((ic->col[f] = udc_csv_find_col(ic->csv, o->columns[f])) < 0) {
			char hint[768];
			udc_csv_header_hint(ic->csv, hint, sizeof(hint));
			snprintf(err, errlen, "%s: column '%s' (field %s, [fields] in the node's configuration) "
			         "not in header; %s", path, o->columns[f], ic->fs->f[f].name, hint);
			return UDC_EPARSE;
		}
	}
	for (size_t i = 0; i < ic->ndims; i++) {
		const char *dim = spec->dims[o->side][i].name;

		if (o->label_columns[i] == NULL) {
			snprintf(err, errlen, "%s: no column mapped for label '%s'", path, dim);
			return UDC_EINVAL;
		}
		if ((ic->lcol[i] = udc_csv_find_col(ic->csv, o->label_columns[i])) < 0) {
			char hint[768];
			udc_csv_header_hint(ic->csv, hint, sizeof(hint));
			snprintf(err, errlen, "%s: column '%s' (label %s, [labels] in the node's configuration) "
			         "not in header; %s", path, o->label_columns[i], dim, hint);
			return UDC_EPARSE;
		}
	}
	ic->acol = -1;
	if (o->attr_column != NULL && (ic->acol = udc_csv_find_col(ic->csv, o->attr_column)) < 0) {
		char hint[768];
		udc_csv_header_hint(ic->csv, hint, sizeof(hint));
		snprintf(err, errlen, "%s: column '%s' (the summed attribute, [labels] in the node's "
		         "configuration) not in header; %s", path, o->attr_column, hint);
		return UDC_EPARSE;
	}
	ic->fcol = -1;
	if (o->filter_column != NULL &&
	    (ic->fcol = udc_csv_find_col(ic->csv, o->filter_column)) < 0) {
		char hint[768];
		udc_csv_header_hint(ic->csv, hint, sizeof(hint));
		snprintf(err, errlen, "%s: column '%s' (filter_column in the node's configuration) not "
		         "in header; %s", path, o->filter_column, hint);
		return UDC_EPARSE;
	}
	/* A key over a field nobody mapped is never formed; say so once. */
	for (size_t j = 0; j < spec->nkeys; j++) {
		for (int k = 0; k < spec->keys[j].nfields; k++) {
			int f = spec->keys[j].fields[k];
			int derived = f == UDC_F_PREFIX && ic->pair && ic->col[UDC_F_SURNAME] >= 0;

			if (ic->col[f] < 0 && !derived) {
				log_warnx("%s: key '%s' uses unmapped field %s; it is missing for "
				          "every record",
				          path, spec->keys[j].name ? spec->keys[j].name : "?",
				          ic->fs->f[f].name);
				break;
			}
		}
	}
	/* The same for a field only the CLK schema encodes. */
	for (size_t f = 0; f < ic->nf; f++) {
		int derived = f == UDC_F_PREFIX && ic->pair && ic->col[UDC_F_SURNAME] >= 0;

		if ((spec->schema_fields & (1u << f)) && !(spec->key_fields & (1u << f)) &&
		    ic->col[f] < 0 && !derived)
			log_warnx("%s: the CLK schema encodes field %s, which is not mapped in "
			          "[fields]; it is empty for every record",
			          path, ic->fs->f[f].name);
	}
	return 0;
}

/* Counts a value that failed its field's check. */
static void
note_invalid(struct input_ctx *ic, size_t f, int r, uint32_t *bad)
{
	*bad |= 1u << f;
	ic->st->invalid[f]++;
	ic->st->invalid_why[f][r >= 0 && r < UDC_NORM_NREASONS ? r : UDC_NORM_BAD_TEXT]++;
}

/* Normalises the used, mapped fields of a row into norm[]; NULL in val[] =
 * missing. */
static void
input_normalise(struct input_ctx *ic, char **row, char norm[][UDC_NORM_MAX], const char **val,
                uint32_t *bad)
{
	const int *col = ic->col;
	int r;

	*bad = 0;
	for (size_t f = 0; f < ic->nf; f++)
		val[f] = NULL;

	for (size_t f = 0; f < ic->nf; f++) {
		if (col[f] < 0 || (ic->pair && (f == UDC_F_PREFIX || f == UDC_F_SURNAME)))
			continue;
		r = udc_field_normalise(&ic->fs->f[f], row[col[f]], norm[f], UDC_NORM_MAX);
		if (r == UDC_NORM_OK)
			val[f] = norm[f];
		else if (r != UDC_NORM_MISSING)
			note_invalid(ic, f, r, bad);
	}
	if (!ic->pair)
		return;

	/* Prefix and surname together: the prefix may sit in either column.
	 * With a surname present, "no prefix" is the value "" rather than
	 * missing, so keys over surname_prefix still form for most people. */
	if (col[UDC_F_SURNAME] >= 0) {
		const char *pre = col[UDC_F_PREFIX] >= 0 ? row[col[UDC_F_PREFIX]] : NULL;

		r = udc_norm_surname(pre, row[col[UDC_F_SURNAME]], norm[UDC_F_SURNAME],
		                     UDC_NORM_MAX, norm[UDC_F_PREFIX], UDC_NORM_MAX);
		if (r == UDC_NORM_OK) {
			val[UDC_F_SURNAME] = norm[UDC_F_SURNAME];
			val[UDC_F_PREFIX] = norm[UDC_F_PREFIX];
		} else if (r != UDC_NORM_MISSING) {
			note_invalid(ic, UDC_F_SURNAME, r, bad);
		}
	} else if (col[UDC_F_PREFIX] >= 0) {
		r = udc_norm_name(row[col[UDC_F_PREFIX]], norm[UDC_F_PREFIX], UDC_NORM_MAX);
		if (r == UDC_NORM_OK)
			val[UDC_F_PREFIX] = norm[UDC_F_PREFIX];
		else if (r != UDC_NORM_MISSING)
			note_invalid(ic, UDC_F_PREFIX, r, bad);
	}
}

/* Looks the row's labels up; returns 0 and the cell, or -1 (rejected). */
static int
input_labels(struct input_ctx *ic, char **row, uint32_t *cell)
{
	const struct udc_spec *spec = ic->opts->spec;
	int side = ic->opts->side;
	size_t idx[UDC_MAX_DIMS] = {0}; /* a hidden group dimension stays at 0 */
	char buf[UDC_NORM_MAX];
	const char *first_dim = NULL;
	int first_empty = 0;

	for (size_t i = 0; i < ic->ndims; i++) {
		const struct udc_dim *dim = &spec->dims[side][i];
		int r = udc_norm_label(row[ic->lcol[i]], buf, sizeof(buf));
		int k = r == UDC_NORM_OK ? udc_dim_lookup(dim, buf) : -1;

		if (k < 0) {
			ic->st->label_rejected[i]++;
			if (first_dim == NULL) {
				first_dim = dim->name ? dim->name : "?";
				first_empty = r == UDC_NORM_MISSING;
			}
			continue;
		}
		idx[i] = (size_t)k;
	}
	if (first_dim != NULL) {
		input_reject(ic, UDC_REJ_LABEL,
		             first_empty ? "label '%s' is empty"
		                         : "label '%s' has a value outside the spec's allowed set",
		             first_dim);
		return -1;
	}
	*cell = (uint32_t)udc_spec_cell_index(spec, side, idx);
	return 0;
}

/* A whole number of euros, 0 .. INPUT_MAX_ATTR, blanks around it allowed:
 * 0 and the value, or -1. */
static int
input_attr(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > INPUT_MAX_ATTR)
			return -1;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (n == 0 || *s != '\0')
		return -1;
	*out = v;
	return 0;
}

/* 1 if the record has a value of a field its CLK encodes (any used field
 * while no schema is attached). */
static int
input_encodable(const struct input_ctx *ic, const char **val)
{
	const struct udc_spec *spec = ic->opts->spec;
	uint32_t enc = spec->schema_json != NULL ? spec->schema_fields : ic->use;

	for (size_t f = 0; f < ic->nf; f++)
		if ((enc & (1u << f)) && val[f] != NULL)
			return 1;
	return 0;
}

/* Bytes a record needs in the pool: its fields and its keys. */
static size_t
input_need(const struct udc_spec *spec, size_t nf, const char **val, size_t *len,
           int keyok[UDC_MAX_KEYS], size_t *nkeys_ok)
{
	size_t need = 0;

	*nkeys_ok = 0;
	for (size_t f = 0; f < nf; f++)
		if (val[f] != NULL)
			need += (len[f] = strlen(val[f])) + 1;
	for (size_t j = 0; j < spec->nkeys; j++) {
		const struct udc_matchkey *k = &spec->keys[j];
		size_t klen = 0;

		keyok[j] = k->nfields > 0;
		for (int i = 0; i < k->nfields && keyok[j]; i++) {
			if (val[k->fields[i]] == NULL)
				keyok[j] = 0;
			else
				klen += len[k->fields[i]] + 1;
		}
		if (keyok[j]) {
			need += klen;
			(*nkeys_ok)++;
		}
	}
	return need;
}

static char *
pool_copy(struct input_ctx *ic, const char *s, size_t len)
{
	char *p = ic->pool + ic->used;

	memcpy(p, s, len);
	p[len] = '\0';
	ic->used += len + 1;
	return p;
}

static void
input_add(struct input_ctx *ic, uint32_t cell, const char **val, const size_t *len,
          const int keyok[UDC_MAX_KEYS])
{
	const struct udc_spec *spec = ic->opts->spec;
	struct udc_inrec *rec = &ic->recs[ic->nrecs++];

	memset(rec, 0, sizeof(*rec));
	rec->label = cell;
	for (size_t f = 0; f < ic->nf; f++)
		if (val[f] != NULL)
			rec->field[f] = pool_copy(ic, val[f], len[f]);
	for (size_t j = 0; j < spec->nkeys; j++) {
		const struct udc_matchkey *k = &spec->keys[j];
		char *p;

		if (!keyok[j]) {
			ic->st->key_missing[j]++;
			continue;
		}
		p = rec->key[j] = ic->pool + ic->used;
		for (int i = 0; i < k->nfields; i++) {
			int f = k->fields[i];

			if (i > 0)
				*p++ = INPUT_KEY_SEP;
			memcpy(p, val[f], len[f]);
			p += len[f];
		}
		*p++ = '\0';
		ic->used = (size_t)(p - ic->pool);
	}
	ic->st->accepted++;
}

/* Hands the chunk to the callback: to its thread, once it has finished the
 * chunk before (whose buffers this one then takes over), or in line. */
static int
input_flush(struct input_ctx *ic, udc_input_cb cb, void *ctx)
{
	struct handoff *h = ic->ho;
	int rv = 0;

	if (ic->nrecs > 0 && h == NULL)
		rv = cb(ctx, ic->recs, ic->nrecs);
	else if (ic->nrecs > 0 && (rv = handoff_wait(h)) == 0) {
		struct udc_inrec *r = ic->recs;
		char *p = ic->pool;

		pthread_mutex_lock(&h->m);
		h->recs = r;
		h->n = ic->nrecs;
		h->pending = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->m);
		ic->recs = ic->recs2;
		ic->pool = ic->pool2;
		ic->recs2 = r;
		ic->pool2 = p;
	}
	ic->nrecs = 0;
	ic->used = 0;
	return rv;
}

/* Lists the fields in mask as "bsn, birth_date" (names, never values). */
static void
field_list(const struct udc_fieldset *fs, uint32_t mask, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t f = 0; f < fs->n && o < len; f++)
		if (mask & (1u << f)) {
			int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", fs->f[f].name);
			if (n < 0)
				break;
			o += (size_t)n;
		}
}

const struct udc_fieldset *
udc_input_fieldset(const struct udc_spec *spec)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (spec->fields.n >= UDC_NFIELDS)
		return &spec->fields;
	pthread_once(&once, builtin_init);
	return &builtin_set;
}

uint32_t
udc_input_fields_used(const struct udc_spec *spec)
{
	const struct udc_fieldset *fs = udc_input_fieldset(spec);
	uint32_t use = spec->schema_fields;

	if ((spec->mode == UDC_MODE_FUZZY || spec->mode == UDC_MODE_COMBINED) &&
	    spec->schema_json == NULL)
		return fs->n >= 32 ? 0xffffffffu : (1u << fs->n) - 1;
	for (size_t j = 0; j < spec->nkeys; j++)
		for (int k = 0; k < spec->keys[j].nfields; k++)
			use |= 1u << spec->keys[j].fields[k];
	return use;
}

/*
 * After the read: each used field whose values failed their check is
 * logged as counts by reason (never a value), and one that failed for more
 * than max_invalid of the rows fails the read, unless it is exempt.
 */
static int
input_check_fields(struct input_ctx *ic, char *err, size_t errlen)
{
	const struct udc_input_opts *o = ic->opts;
	struct udc_input_stats *st = ic->st;
	const char *path = udc_csv_path(ic->csv);
	int rv = 0;

	for (size_t f = 0; f < ic->nf; f++) {
		char why[256];
		size_t w = 0;
		double share;

		if (st->invalid[f] == 0)
			continue;
		why[0] = '\0';
		for (int r = 0; r < UDC_NORM_NREASONS && w < sizeof(why); r++) {
			int n;

			if (st->invalid_why[f][r] == 0)
				continue;
			n = snprintf(why + w, sizeof(why) - w, "%s%s %llu", w ? ", " : "",
			             udc_norm_reason(r), (unsigned long long)st->invalid_why[f][r]);
			if (n < 0)
				break;
			w += (size_t)n;
		}
		share = st->rows ? (double)st->invalid[f] / (double)st->rows : 0.0;
		log_warnx("%s: field %s: %llu of %llu rows (%.2f%%) fail its check (%s)", path,
		          ic->fs->f[f].name, (unsigned long long)st->invalid[f],
		          (unsigned long long)st->rows, 100.0 * share, why);
		if (!o->check_invalid || share <= o->max_invalid)
			continue;
		if (o->allow_invalid & (1u << f)) {
			st->over_limit |= 1u << f;
			log_warnx("%s: field %s fails its check in more than %.2f%% of the rows; "
			          "allowed by [input] allow_invalid",
			          path, ic->fs->f[f].name, 100.0 * o->max_invalid);
			continue;
		}
		if (rv == 0) {
			snprintf(err, errlen,
			         "%s: field %s: %llu of %llu rows (%.1f%%) fail its check (%s), more "
			         "than [input] max_invalid (%.1f%%); check the column mapped to it and "
			         "the spec's declaration of the field, or list it in [input] "
			         "allow_invalid",
			         path, ic->fs->f[f].name, (unsigned long long)st->invalid[f],
			         (unsigned long long)st->rows, 100.0 * share, why,
			         100.0 * o->max_invalid);
			rv = UDC_EINVAL;
		}
	}
	return rv;
}

/* A row's filter column against the value, blanks around it ignored. */
static int
input_filter_match(const char *cell, const char *want)
{
	size_t n;

	if (cell == NULL || want == NULL)
		return 0;
	while (*cell == ' ' || *cell == '\t')
		cell++;
	n = strlen(cell);
	while (n > 0 && (cell[n - 1] == ' ' || cell[n - 1] == '\t'))
		n--;
	return strlen(want) == n && memcmp(cell, want, n) == 0;
}

int
udc_input_read(const struct udc_input_opts *opts, udc_input_cb cb, void *ctx,
               struct udc_input_stats *st, char *err, size_t errlen)
{
	struct input_ctx ic;
	char norm[UDC_MAX_FIELDS][UDC_NORM_MAX];
	const char *val[UDC_MAX_FIELDS];
	size_t len[UDC_MAX_FIELDS];
	int keyok[UDC_MAX_KEYS];
	char **row;
	int rv, fuzzy;

	memset(&ic, 0, sizeof(ic));
	memset(st, 0, sizeof(*st));
	if (errlen > 0)
		err[0] = '\0';
	if (opts == NULL || opts->path == NULL || opts->spec == NULL || cb == NULL ||
	    opts->chunk > INPUT_MAX_CHUNK || opts->spec->nkeys > UDC_MAX_KEYS ||
	    (opts->side != UDC_SIDE_GEMEENTE && opts->side != UDC_SIDE_CBS) ||
	    opts->spec->ndims[opts->side] > UDC_MAX_DIMS) {
		snprintf(err, errlen, "%s: invalid input options",
		         opts && opts->path ? opts->path : "input");
		return UDC_EINVAL;
	}
	ic.opts = opts;
	ic.st = st;
	fuzzy = opts->spec->mode == UDC_MODE_FUZZY || opts->spec->mode == UDC_MODE_COMBINED;
	ic.fs = udc_input_fieldset(opts->spec);
	ic.nf = ic.fs->n;
	ic.use = udc_input_fields_used(opts->spec);
	/* the built-in surname and prefix are read as a pair */
	ic.pair = udc_fielddef_is_builtin(&ic.fs->f[UDC_F_SURNAME]) &&
	          udc_fielddef_is_builtin(&ic.fs->f[UDC_F_PREFIX]);
	if (ic.pair && (ic.use & ((1u << UDC_F_SURNAME) | (1u << UDC_F_PREFIX))))
		ic.use |= (1u << UDC_F_SURNAME) | (1u << UDC_F_PREFIX);
	ic.ndims = udc_spec_input_dims(opts->spec, opts->side);
	ic.chunk = opts->chunk ? opts->chunk : INPUT_DEFAULT_CHUNK;

	if ((rv = udc_csv_open(&ic.csv, opts->path, opts->delimiter ? opts->delimiter : ',', err,
	                       errlen)) != 0)
		goto out;
	if (opts->max_bytes && udc_csv_size(ic.csv) > opts->max_bytes) {
		snprintf(err, errlen, "%s: %llu bytes, more than the %llu allowed ([input] max_size)",
		         opts->path, (unsigned long long)udc_csv_size(ic.csv),
		         (unsigned long long)opts->max_bytes);
		rv = UDC_ELIMIT;
		goto out;
	}
	if ((rv = input_map_columns(&ic, err, errlen)) != 0)
		goto out;

	/* Room for the average record times the chunk, and always for one
	 * record of the largest possible size. */
	ic.cap = ic.chunk * INPUT_AVG_RECORD + ic.nf * UDC_NORM_MAX * (1 + opts->spec->nkeys);
	if ((ic.recs = calloc(ic.chunk, sizeof(*ic.recs))) == NULL ||
	    (ic.pool = malloc(ic.cap)) == NULL) {
		snprintf(err, errlen, "%s: %s", opts->path, udc_strerror(UDC_ENOMEM));
		rv = UDC_ENOMEM;
		goto out;
	}
	/* Without the second chunk or the thread the callback runs in line. */
	if ((ic.recs2 = calloc(ic.chunk, sizeof(*ic.recs2))) != NULL &&
	    (ic.pool2 = malloc(ic.cap)) != NULL)
		ic.ho = handoff_start(cb, ctx);

	for (;;) {
		uint32_t bad;
		uint32_t cell = 0;
		uint64_t attr = 0;
		size_t need, nkeys_ok;

		rv = udc_csv_next(ic.csv, &row);
		if (rv == UDC_CSV_EOF)
			break;
		/* the file may grow while it is read */
		if (opts->max_bytes && udc_csv_bytes_read(ic.csv) > opts->max_bytes) {
			snprintf(err, errlen, "%s: grew beyond the %llu bytes allowed while it was read",
			         opts->path, (unsigned long long)opts->max_bytes);
			rv = UDC_ELIMIT;
			goto out;
		}
		if (rv == UDC_EIO || rv == UDC_ENOMEM) {
			snprintf(err, errlen, "%s:%lu: %s", opts->path, udc_csv_line(ic.csv),
			         rv == UDC_EIO ? strerror(errno) : udc_strerror(rv));
			goto out;
		}
		if (ic.fcol >= 0) {
			/* a row we cannot split cannot be attributed to a population */
			if (rv == UDC_CSV_BAD) {
				st->unattributed++;
				continue;
			}
			if (!input_filter_match(row[ic.fcol], opts->filter_value)) {
				st->filtered_out++;
				continue;
			}
		}
		st->rows++;
		if (rv == UDC_CSV_BAD) {
			input_reject(&ic,
			             udc_csv_error_kind(ic.csv) == 1 ? UDC_REJ_UTF8 : UDC_REJ_CSV,
			             "%s", udc_csv_error(ic.csv));
			continue;
		}

		input_normalise(&ic, row, norm, val, &bad);
		if (input_labels(&ic, row, &cell) != 0)
			continue;
		if (ic.acol >= 0 && input_attr(row[ic.acol], &attr) != 0) {
			input_reject(&ic, UDC_REJ_ATTR, "attribute '%s' is not a whole number of euros "
			             ">= 0", opts->attr_column);
			continue;
		}
		need = input_need(opts->spec, ic.nf, val, len, keyok, &nkeys_ok);
		/* In fuzzy and combined modes a record without an exact key still
		 * goes to the Dice step if it has a field to encode: those are the
		 * records the exact keys cannot find.  Only a record with neither
		 * is of no use. */
		if (nkeys_ok == 0 && !(fuzzy && input_encodable(&ic, val))) {
			char list[96];

			field_list(ic.fs, bad, list, sizeof(list));
			if (bad)
				input_reject(&ic, UDC_REJ_NO_KEY, "%s (invalid: %s)",
				             fuzzy ? "no match key and no field to encode"
				                   : "no match key could be formed",
				             list);
			else
				input_reject(&ic, UDC_REJ_NO_KEY, "%s",
				             fuzzy ? "no match key and no field to encode"
				                   : "no match key could be formed");
			continue;
		}
		if (ic.nrecs == ic.chunk || ic.used + need > ic.cap) {
			if ((rv = input_flush(&ic, cb, ctx)) != 0)
				goto out;
			if (opts->progress)
				opts->progress(opts->progress_arg, udc_csv_bytes_read(ic.csv),
				               udc_csv_size(ic.csv));
		}
		input_add(&ic, cell, val, len, keyok);
		ic.recs[ic.nrecs - 1].attr = attr;
	}
	if ((rv = input_flush(&ic, cb, ctx)) != 0 || (ic.ho && (rv = handoff_wait(ic.ho)) != 0))
		goto out;
	if (opts->digest)
		udc_csv_digest(ic.csv, opts->digest);
	if (opts->progress)
		opts->progress(opts->progress_arg, udc_csv_bytes_read(ic.csv), udc_csv_size(ic.csv));
	rv = input_check_fields(&ic, err, errlen);
out:
	handoff_stop(ic.ho); /* before the buffers it may still read go */
	free(ic.pool);
	free(ic.recs);
	free(ic.pool2);
	free(ic.recs2);
	udc_csv_close(ic.csv);
	return rv;
}

/* " (duplicate 26, no_match_key 10)" after buf[*o], or nothing. */
static void
reject_list(const struct udc_input_stats *st, char *buf, size_t len, size_t *o, const char *open,
    const char *close)
{
	int n, first = 1;

	for (int i = 0; i < UDC_REJ_MAX && *o < len; i++) {
		if (st->rejected[i] == 0)
			continue;
		n = snprintf(buf + *o, len - *o, "%s%s %llu", first ? open : ", ", udc_reject_name(i),
		    (unsigned long long)st->rejected[i]);
		if (n < 0)
			return;
		*o += (size_t)n < len - *o ? (size_t)n : len - *o;
		first = 0;
	}
	if (!first && *o < len) {
		n = snprintf(buf + *o, len - *o, "%s", close);
		*o += n > 0 && (size_t)n < len - *o ? (size_t)n : len - *o;
	}
}

void
udc_input_summary(const struct udc_input_stats *st, char *buf, size_t len)
{
	uint64_t rej = 0;
	size_t o;
	int n;

	if (len == 0)
		return;
	for (int i = 0; i < UDC_REJ_MAX; i++)
		rej += st->rejected[i];
	n = snprintf(buf, len, "%llu rows read, %llu used, %llu rejected", (unsigned long long)st->rows,
	    (unsigned long long)st->accepted, (unsigned long long)rej);
	o = n > 0 && (size_t)n < len ? (size_t)n : len;
	reject_list(st, buf, len, &o, " (", ")");
	if ((st->filtered_out || st->unattributed) && o < len)
		snprintf(buf + o, len - o, "; %llu rows of other populations skipped, %llu malformed rows "
		    "not attributable", (unsigned long long)st->filtered_out,
		    (unsigned long long)st->unattributed);
}

int
udc_input_check_rejects(const struct udc_input_stats *st, int limit, char *why, size_t whylen)
{
	uint64_t rej = 0;
	size_t o;
	int n;

	for (int i = 0; i < UDC_REJ_MAX; i++)
		rej += st->rejected[i];
	/* rej / rows > limit / 10000, in integers */
	if (st->rows == 0 || (unsigned __int128)rej * 10000 <= (unsigned __int128)limit * st->rows)
		return 0;
	n = snprintf(why, whylen, "rejected %llu of %llu rows (%.2f%%), more than the %d.%02d%% allowed:",
	    (unsigned long long)rej, (unsigned long long)st->rows, 100.0 * (double)rej / (double)st->rows,
	    limit / 100, limit % 100);
	o = n > 0 && (size_t)n < whylen ? (size_t)n : whylen;
	reject_list(st, why, whylen, &o, " ", "");
	return UDC_EREFUSED;
}
