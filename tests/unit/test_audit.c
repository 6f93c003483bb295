/*
 * test_audit.c - the hash-chained, signed audit log (common/governance/audit.c).
 *
 * A clean log is written, then damaged one way at a time (edited, edited
 * and re-hashed, deleted, inserted, swapped, truncated, re-signed by another
 * key, fully re-chained by a forger), and each damage must be found at the
 * right line.  Also: reopening resumes the chain, four threads appending at
 * once keep it valid, field limits are enforced, peer heads are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "secmem.h"
#include "sign.h"

static char dir[64];
static struct udc_sign_key *key_a, *key_b;
static struct udc_sign_pub pub_a, pub_b;

#define N_ENTRIES 100
#define EVERY 10
/* Line of ordinary entry i (1-based) in the clean log: a checkpoint follows
 * every EVERY entries. */
#define LINE_OF(i) ((i) + ((i)-1) / EVERY)
#define CLEAN_LINES (N_ENTRIES + N_ENTRIES / EVERY)

static void
path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static int
group_setup(void **state)
{
	char s[128], p[128], err[256];

	if (udc_crypto_init() != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/udc-audit-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	path_in(s, sizeof(s), "a.key");
	path_in(p, sizeof(p), "a.pub");
	if (udc_sign_keygen(s, p, err, sizeof(err)) != 0 ||
	    udc_sign_key_load(s, &key_a, err, sizeof(err)) != 0 ||
	    udc_sign_pub_load(p, &pub_a, err, sizeof(err)) != 0)
		return -1;
	path_in(s, sizeof(s), "b.key");
	path_in(p, sizeof(p), "b.pub");
	if (udc_sign_keygen(s, p, err, sizeof(err)) != 0 ||
	    udc_sign_key_load(s, &key_b, err, sizeof(err)) != 0 ||
	    udc_sign_pub_load(p, &pub_b, err, sizeof(err)) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	udc_sign_key_free(key_a);
	udc_sign_key_free(key_b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes a fresh log of n ordinary entries signed with key (every: the
 * checkpoint interval). */
static void
write_log(const char *path, const struct udc_sign_key *key, int n, unsigned every)
{
	struct udc_audit_opts o = {key, every};
	struct udc_audit *log = NULL;
	char err[256], digest[65];
	uint8_t h[32];

	unlink(path);
	assert_int_equal(udc_audit_open(path, &o, &log, err, sizeof(err)), 0);
	for (int i = 1; i <= n; i++) {
		randombytes_buf(h, sizeof(h));
		sodium_bin2hex(digest, sizeof(digest), h, sizeof(h));
		struct udc_audit_field f[] = {
		    UDC_AUDIT_S("round", "00112233445566778899aabbccddeeff"),
		    UDC_AUDIT_S("digest", digest),
		    UDC_AUDIT_I("rows", i),
		    UDC_AUDIT_S("side", "gemeente"),
		};
		assert_int_equal(
		    udc_audit_append(log, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f)), 0);
	}
	udc_audit_close(log);
}

struct lines {
	char **v;
	size_t n;
};

/* Every line without its newline. */
static void
read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t r;

	assert_non_null(f);
	l->v = NULL;
	l->n = 0;
	while ((r = getline(&line, &cap, f)) > 0) {
		if (line[r - 1] == '\n')
			line[r - 1] = '\0';
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		assert_non_null(l->v);
		l->v[l->n++] = strdup(line);
	}
	free(line);
	fclose(f);
}

static void
write_lines(const char *path, const struct lines *l)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->v[i]);
	assert_int_equal(fclose(f), 0);
}

static void
free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
set_line(struct lines *l, size_t idx, char *s)
{
	free(l->v[idx]);
	l->v[idx] = s;
}

/* An entry's canonical line with its hash recomputed (and, with
 * fix_prev, prev set to prev_hex), as a forger without the key would do. */
static char *
rehash(const char *line, const char *prev_hex, const char *key_fpr)
{
	json_t *e = json_loads(line, 0, NULL);
	uint8_t h[32];
	char hex[65], *s;

	assert_non_null(e);
	if (prev_hex != NULL) {
		json_object_set_new(e, "prev", json_string(prev_hex));
		if (strcmp(json_string_value(json_object_get(e, "type")), "checkpoint") == 0)
			json_object_set_new(json_object_get(e, "fields"), "head",
			                    json_string(prev_hex));
	}
	if (key_fpr != NULL &&
	    strcmp(json_string_value(json_object_get(e, "type")), "checkpoint") == 0)
		json_object_set_new(json_object_get(e, "fields"), "key", json_string(key_fpr));
	json_object_del(e, "hash");
	s = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
	crypto_hash_sha256(h, (const uint8_t *)s, strlen(s));
	free(s);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	json_object_set_new(e, "hash", json_string(hex));
	s = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(e);
	return s;
}

static const char *
hash_of(const char *line, char out[65])
{
	json_t *e = json_loads(line, 0, NULL);

	assert_non_null(e);
	snprintf(out, 65, "%s", json_string_value(json_object_get(e, "hash")));
	json_decref(e);
	return out;
}

/* Re-chains every line from idx on (0-based), as a forger would. */
static void
rechain_from(struct lines *l, size_t idx, const char *key_fpr)
{
	char prev[65];

	for (size_t i = idx; i < l->n; i++) {
		if (i == 0)
			udc_audit_genesis_hex(prev);
		else
			hash_of(l->v[i - 1], prev);
		set_line(l, i, rehash(l->v[i], prev, key_fpr));
	}
}

/* Replaces the first occurrence of from by to (same length or not). */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	assert_non_null(p);
	out = malloc(strlen(s) - strlen(from) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, s, (size_t)(p - s));
	strcpy(out + (p - s), to);
	strcat(out, p + strlen(from));
	return out;
}

/* Verifies path and checks the outcome: rv, line, and a piece of the reason. */
static void
expect(const char *path, const struct udc_sign_pub *pub, int rv, size_t line, const char *why)
{
	struct udc_audit_report rep;
	int got = udc_audit_verify(path, pub, &rep);

	if (got != rv || rep.line != line || (why != NULL && strstr(rep.reason, why) == NULL))
		fail_msg("verify: rv %d line %zu reason '%s'; expected rv %d line %zu '%s'", got,
		         rep.line, rep.reason, rv, line, why ? why : "");
}

static void
clean_copy(const char *name, char *path, size_t n, struct lines *l)
{
	path_in(path, n, name);
	write_log(path, key_a, N_ENTRIES, EVERY);
	read_lines(path, l);
	assert_int_equal(l->n, CLEAN_LINES);
}

static void
test_clean_log(void **state)
{
	struct udc_audit_report rep;
	struct udc_audit_head head;
	struct udc_audit_opts o = {key_a, EVERY};
	struct udc_audit *log = NULL;
	char path[128], err[256], hex[65];
	struct lines l;

	path_in(path, sizeof(path), "clean.log");
	write_log(path, key_a, N_ENTRIES, EVERY);
	assert_int_equal(udc_audit_verify(path, &pub_a, &rep), 0);
	assert_int_equal(rep.entries, CLEAN_LINES);
	assert_int_equal(rep.checkpoints, N_ENTRIES / EVERY);
	assert_int_equal(rep.checkpoints_verified, N_ENTRIES / EVERY);
	assert_int_equal(rep.uncovered, 0);
	assert_int_equal(rep.line, 0);
	/* Without a key the chain is checked, the signatures are not. */
	assert_int_equal(udc_audit_verify(path, NULL, &rep), 0);
	assert_int_equal(rep.checkpoints_verified, 0);
	assert_int_equal(rep.checkpoints, N_ENTRIES / EVERY);

	/* The head the API reports is the last line's hash. */
	read_lines(path, &l);
	assert_int_equal(udc_audit_open(path, &o, &log, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_get_head(log, &head), 0);
	assert_int_equal(head.seq, CLEAN_LINES);
	sodium_bin2hex(hex, sizeof(hex), head.hash, 32);
	assert_string_equal(hex, rep.head);
	assert_non_null(strstr(l.v[l.n - 1], hex));
	udc_audit_close(log); /* nothing uncovered: no new checkpoint */
	assert_int_equal(udc_audit_verify(path, &pub_a, &rep), 0);
	assert_int_equal(rep.entries, CLEAN_LINES);
	free_lines(&l);
}

/* A line written by Python's json.dumps(sort_keys=True,
 * separators=(",", ":")) and hashlib: pins the canonical form and the
 * genesis value. */
static void
test_known_answer(void **state)
{
	static const char line[] =
	    "{\"fields\":{\"note\":\"a \\\"quoted\\\" \\\\ value\",\"round\":"
	    "\"00112233445566778899aabbccddeeff\",\"rows\":3},\"hash\":"
	    "\"a2aa57e22ed02550899917de05236b7d1341689e921d366cd09679fe815f7050\",\"prev\":"
	    "\"1729387cc21a8dd5b4d371047ed235042dd3e0b4cb9b1fa55415886233fc9e95\",\"seq\":1,"
	    "\"time\":\"2024-01-01T00:00:00Z\",\"type\":\"round_done\"}";
	struct udc_audit_report rep;
	struct lines l = {NULL, 0};
	char path[128], g[65], *one;

	udc_audit_genesis_hex(g);
	assert_string_equal(g, "1729387cc21a8dd5b4d371047ed235042dd3e0b4cb9b1fa55415886233fc9e95");
	path_in(path, sizeof(path), "kat.log");
	one = strdup(line);
	l.v = &one;
	l.n = 1;
	write_lines(path, &l);
	assert_int_equal(udc_audit_verify(path, NULL, &rep), 0);
	assert_int_equal(rep.entries, 1);
	assert_string_equal(rep.head,
	                    "a2aa57e22ed02550899917de05236b7d1341689e921d366cd09679fe815f7050");
	/* Whitespace that JSON readers ignore is still an edit. */
	free(one);
	one = replace(line, "\"rows\":3", "\"rows\": 3");
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, 1, "canonical");
	free(one);
}

static void
test_edited_entry(void **state)
{
	char path[128];
	struct lines l;
	size_t ln = LINE_OF(37);

	clean_copy("edit.log", path, sizeof(path), &l);
	set_line(&l, ln - 1, replace(l.v[ln - 1], "\"rows\":37", "\"rows\":38"));
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, ln, "hash does not match");
	expect(path, &pub_a, UDC_EPARSE, ln, "hash does not match");
	free_lines(&l);
}

static void
test_edited_and_rehashed(void **state)
{
	char path[128], *s;
	struct lines l;
	size_t ln = LINE_OF(37);

	clean_copy("rehash.log", path, sizeof(path), &l);
	s = replace(l.v[ln - 1], "\"rows\":37", "\"rows\":38");
	set_line(&l, ln - 1, rehash(s, NULL, NULL));
	free(s);
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, ln + 1, "chain broken");
	free_lines(&l);
}

/* A forger re-chains everything after the edit: the chain alone cannot
 * tell, the first signed checkpoint after the edit can. */
static void
test_rechained_caught_by_checkpoint(void **state)
{
	char path[128];
	struct lines l;
	size_t ln = LINE_OF(37);

	clean_copy("forged.log", path, sizeof(path), &l);
	set_line(&l, ln - 1, replace(l.v[ln - 1], "\"rows\":37", "\"rows\":38"));
	rechain_from(&l, ln - 1, NULL);
	write_lines(path, &l);
	expect(path, NULL, 0, 0, NULL);
	/* Entry 37 is followed by the checkpoint after entry 40. */
	expect(path, &pub_a, UDC_ECRYPTO, LINE_OF(40) + 1, "signature does not verify");
	free_lines(&l);
}

static void
test_deleted_entry(void **state)
{
	char path[128];
	struct lines l;
	size_t ln = LINE_OF(50);

	clean_copy("delete.log", path, sizeof(path), &l);
	free(l.v[ln - 1]);
	memmove(&l.v[ln - 1], &l.v[ln], (l.n - ln) * sizeof(*l.v));
	l.n--;
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, ln, "seq");
	free_lines(&l);

	/* The first line. */
	clean_copy("delete1.log", path, sizeof(path), &l);
	free(l.v[0]);
	memmove(&l.v[0], &l.v[1], (l.n - 1) * sizeof(*l.v));
	l.n--;
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, 1, "seq");
	free_lines(&l);
}

static void
test_inserted_entry(void **state)
{
	char path[128], prev[65], *s;
	struct lines l;
	size_t at = LINE_OF(60); /* 1-based line the new entry takes */

	/* A copy of an earlier line. */
	clean_copy("insert.log", path, sizeof(path), &l);
	l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
	memmove(&l.v[at], &l.v[at - 1], (l.n - at + 1) * sizeof(*l.v));
	l.v[at - 1] = strdup(l.v[20]);
	l.n++;
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, at, "seq");
	free_lines(&l);

	/* A well-made entry with the right seq, prev and hash: it fits, so the
	 * entry after it is the one that no longer does. */
	clean_copy("insert2.log", path, sizeof(path), &l);
	l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
	memmove(&l.v[at], &l.v[at - 1], (l.n - at + 1) * sizeof(*l.v));
	hash_of(l.v[at - 2], prev);
	s = replace(l.v[at], "\"rows\":60", "\"rows\":999");
	l.v[at - 1] = rehash(s, prev, NULL);
	free(s);
	l.n++;
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, at + 1, "seq");
	free_lines(&l);
}

static void
test_swapped_entries(void **state)
{
	char path[128], *t;
	struct lines l;
	size_t ln = LINE_OF(70);

	clean_copy("swap.log", path, sizeof(path), &l);
	t = l.v[ln - 1];
	l.v[ln - 1] = l.v[ln];
	l.v[ln] = t;
	write_lines(path, &l);
	expect(path, NULL, UDC_EPARSE, ln, "seq");
	free_lines(&l);
}

static void
test_truncated_tail(void **state)
{
	struct udc_audit *log = NULL;
	char path[128], err[256];
	struct stat st;
	struct lines l;

	clean_copy("trunc.log", path, sizeof(path), &l);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 10), 0);
	expect(path, NULL, UDC_EPARSE, CLEAN_LINES, "truncated");
	/* Only the newline gone: still a truncated line. */
	write_lines(path, &l);
	assert_int_equal(truncate(path, st.st_size - 1), 0);
	expect(path, NULL, UDC_EPARSE, CLEAN_LINES, "truncated");
	/* The writer refuses to resume after a partial line. */
	assert_int_equal(udc_audit_open(path, NULL, &log, err, sizeof(err)), UDC_EPARSE);
	assert_null(log);
	assert_non_null(strstr(err, "incomplete"));
	free_lines(&l);
}

static void
test_checkpoint_other_key(void **state)
{
	char path[128], fpr_a[UDC_SIGN_FPR_SIZE];
	struct lines l;

	/* Signed by B, checked against A: the checkpoint names B's key. */
	path_in(path, sizeof(path), "otherkey.log");
	write_log(path, key_b, N_ENTRIES, EVERY);
	expect(path, NULL, 0, 0, NULL);
	expect(path, &pub_b, 0, 0, NULL);
	expect(path, &pub_a, UDC_ECRYPTO, LINE_OF(EVERY) + 1, "names key");

	/* ... and with A's fingerprint written in (and the chain redone): the
	 * signature itself fails. */
	read_lines(path, &l);
	udc_sign_fingerprint(&pub_a, fpr_a);
	rechain_from(&l, 0, fpr_a);
	write_lines(path, &l);
	expect(path, NULL, 0, 0, NULL);
	expect(path, &pub_a, UDC_ECRYPTO, LINE_OF(EVERY) + 1, "signature does not verify");
	free_lines(&l);
}

static void
test_reopen_continues(void **state)
{
	struct udc_audit_opts o = {key_a, 0};
	struct udc_audit_report rep;
	struct udc_audit_head head;
	struct udc_audit *log = NULL, *log2 = NULL;
	char path[128], err[256];
	struct udc_audit_field f[] = {UDC_AUDIT_S("round", "abc"), UDC_AUDIT_I("n", 1)};

	path_in(path, sizeof(path), "reopen.log");
	write_log(path, key_a, 5, 0); /* 5 entries + a checkpoint at close */
	expect(path, &pub_a, 0, 0, NULL);

	assert_int_equal(udc_audit_open(path, &o, &log, err, sizeof(err)), 0);
	/* A second writer is refused while the first holds the log. */
	assert_int_equal(udc_audit_open(path, &o, &log2, err, sizeof(err)), UDC_EEXIST);
	assert_null(log2);
	assert_int_equal(udc_audit_get_head(log, &head), 0);
	assert_int_equal(head.seq, 6);
	for (int i = 0; i < 5; i++)
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, f, 2), 0);
	udc_audit_close(log);
	assert_int_equal(udc_audit_verify(path, &pub_a, &rep), 0);
	assert_int_equal(rep.entries, 12);
	assert_int_equal(rep.checkpoints_verified, 2);

	/* Without a key: appends continue, no checkpoints are written. */
	assert_int_equal(udc_audit_open(path, NULL, &log, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, f, 2), 0);
	assert_int_equal(udc_audit_checkpoint(log, NULL), UDC_ESTATE);
	udc_audit_close(log);
	assert_int_equal(udc_audit_verify(path, &pub_a, &rep), 0);
	assert_int_equal(rep.entries, 13);
	assert_int_equal(rep.uncovered, 1);

	/* A log whose last line was edited is not resumed. */
	{
		struct lines l;
		read_lines(path, &l);
		set_line(&l, l.n - 1, replace(l.v[l.n - 1], "\"abc\"", "\"abd\""));
		write_lines(path, &l);
		free_lines(&l);
		assert_int_equal(udc_audit_open(path, NULL, &log, err, sizeof(err)), UDC_EPARSE);
		assert_null(log);
	}
}

struct worker {
	struct udc_audit *log;
	int id;
	int rv;
};

#define THREADS 4
#define PER_THREAD 250

static void *
worker(void *arg)
{
	struct worker *w = arg;

	w->rv = 0;
	for (int i = 0; i < PER_THREAD && w->rv == 0; i++) {
		struct udc_audit_field f[] = {UDC_AUDIT_I("thread", w->id), UDC_AUDIT_I("i", i)};
		w->rv = udc_audit_append(w->log, UDC_AUDIT_MESSAGE_REFUSED, f, 2);
	}
	return NULL;
}

static void
test_concurrent_appends(void **state)
{
	struct udc_audit_opts o = {key_a, 16};
	struct udc_audit_report rep;
	struct udc_audit *log = NULL;
	pthread_t t[THREADS];
	struct worker w[THREADS];
	char path[128], err[256];

	path_in(path, sizeof(path), "threads.log");
	unlink(path);
	assert_int_equal(udc_audit_open(path, &o, &log, err, sizeof(err)), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i].log = log;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].rv, 0);
	}
	udc_audit_close(log);
	assert_int_equal(udc_audit_verify(path, &pub_a, &rep), 0);
	assert_int_equal(rep.entries - rep.checkpoints, THREADS * PER_THREAD);
	assert_int_equal(rep.checkpoints, (THREADS * PER_THREAD + 15) / 16);
	assert_int_equal(rep.checkpoints_verified, rep.checkpoints);
}

static void
test_field_limits(void **state)
{
	struct udc_audit *log = NULL;
	char path[128], err[256], v[UDC_AUDIT_VALUE_MAX + 2], name[64];
	struct udc_audit_field many[UDC_AUDIT_FIELDS_MAX + 1];
	char names[UDC_AUDIT_FIELDS_MAX + 1][8];
	struct udc_audit_report rep;
	struct stat st0, st1;

	path_in(path, sizeof(path), "limits.log");
	unlink(path);
	assert_int_equal(udc_audit_open(path, NULL, &log, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_PROPOSED, NULL, 0), 0);
	assert_int_equal(stat(path, &st0), 0);

	memset(v, 'x', sizeof(v));
	v[UDC_AUDIT_VALUE_MAX + 1] = '\0'; /* one too long */
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("reason", v)};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 1), UDC_ELIMIT);
	}
	/* Not printable ASCII; a NULL string; a bad and a duplicate name; a
	 * reserved type; a bad type; an integer beyond 2^53 - 1; too many. */
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("reason", "line\nbreak")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 1), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("reason", "caf\xc3\xa9")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 1), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("reason", NULL)};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 1), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("Reason", "x")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 1), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("a", "x"), UDC_AUDIT_I("a", 1)};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 2), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("head", "x")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_CHECKPOINT, f, 1), UDC_EINVAL);
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_PEER_HEAD, f, 1), UDC_EINVAL);
		assert_int_equal(udc_audit_append(log, "Round-Done", f, 1), UDC_EINVAL);
	}
	{
		struct udc_audit_field f[] = {UDC_AUDIT_I("rows", INT64_C(9007199254740992))};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, f, 1), UDC_ELIMIT);
	}
	/* A BSN (passes the eleven-test) is refused; 9 digits that fail it
	 * are not. */
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S("note", "123456782")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, f, 1), UDC_EINVAL);
	}
	for (size_t i = 0; i <= UDC_AUDIT_FIELDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "f%zu", i);
		many[i] = UDC_AUDIT_I(names[i], i);
	}
	assert_int_equal(
	    udc_audit_append(log, UDC_AUDIT_ROUND_DONE, many, UDC_AUDIT_FIELDS_MAX + 1),
	    UDC_ELIMIT);
	memset(name, 'n', sizeof(name));
	name[UDC_AUDIT_NAME_MAX + 1] = '\0';
	{
		struct udc_audit_field f[] = {UDC_AUDIT_S(name, "x")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, f, 1), UDC_EINVAL);
	}
	/* Nothing of the above reached the file. */
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st0.st_size, st1.st_size);

	/* At the limits: accepted. */
	v[UDC_AUDIT_VALUE_MAX] = '\0';
	name[UDC_AUDIT_NAME_MAX] = '\0';
	{
		struct udc_audit_field f[] = {
		    UDC_AUDIT_S(name, v), UDC_AUDIT_S("note", "123456789"),
		    UDC_AUDIT_I("max", INT64_C(9007199254740991)),
		    UDC_AUDIT_I("min", -INT64_C(9007199254740991)), UDC_AUDIT_S("empty", "")};
		assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_REFUSED, f, 5), 0);
	}
	assert_int_equal(udc_audit_append(log, UDC_AUDIT_ROUND_DONE, many, UDC_AUDIT_FIELDS_MAX),
	                 0);
	udc_audit_close(log);
	assert_int_equal(udc_audit_verify(path, NULL, &rep), 0);
	assert_int_equal(rep.entries, 3);
}

static void
test_peer_heads(void **state)
{
	struct udc_audit_opts oa = {key_a, 0}, ob = {key_b, 0};
	struct udc_audit_signed_head sh, early, bad;
	struct udc_audit_report rep;
	struct udc_audit *la = NULL, *lb = NULL;
	char pa[128], pb[128], err[256];
	struct udc_audit_field f[] = {UDC_AUDIT_S("round", "r1")};

	path_in(pa, sizeof(pa), "node-a.log");
	path_in(pb, sizeof(pb), "node-b.log");
	unlink(pa);
	unlink(pb);
	assert_int_equal(udc_audit_open(pa, &oa, &la, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_open(pb, &ob, &lb, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_append(la, UDC_AUDIT_ROUND_PROPOSED, f, 1), 0);
	assert_int_equal(udc_audit_checkpoint(la, &early), 0);
	assert_int_equal(early.seq, 1);
	assert_int_equal(udc_audit_append(la, UDC_AUDIT_ROUND_DONE, f, 1), 0);
	assert_int_equal(udc_audit_checkpoint(la, &sh), 0);
	assert_int_equal(sh.seq, 3);
	assert_int_equal(udc_audit_verify_signed_head(&pub_a, &sh), 0);
	assert_int_equal(udc_audit_verify_signed_head(&pub_b, &sh), UDC_ECRYPTO);

	/* B records A's head: only with A's key, only unaltered. */
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_b, &sh), UDC_ECRYPTO);
	bad = sh;
	bad.hash[0] ^= 1;
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &bad), UDC_ECRYPTO);
	/* The seq is signed too: a true hash with another seq is refused. */
	bad = sh;
	bad.seq = 7;
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &bad), UDC_ECRYPTO);
	bad = sh;
	bad.sig[10] ^= 0x20;
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &bad), UDC_ECRYPTO);
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &sh), 0);
	udc_audit_close(lb);
	lb = NULL;
	assert_int_equal(udc_audit_verify(pb, &pub_b, &rep), 0);
	assert_int_equal(rep.peer_heads, 1);
	assert_int_equal(rep.entries, 2); /* the peer head and the close checkpoint */

	/* A head older than one already recorded: recorded as evidence, and
	 * refused to the caller, and flagged by verify. */
	assert_int_equal(udc_audit_open(pb, &ob, &lb, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &sh), 0);
	assert_int_equal(udc_audit_peer_head(lb, "gemeente", &pub_a, &early), UDC_EPEER);
	udc_audit_close(lb);
	expect(pb, &pub_b, UDC_EPEER, 4, "went back");
	udc_audit_close(la);
	expect(pa, &pub_a, 0, 0, NULL);

	/* An edited peer signature in the log is found even without a key. */
	{
		struct lines l;
		char *s;
		read_lines(pb, &l);
		s = strstr(l.v[0], "\"peer_sig\":\"");
		assert_non_null(s);
		s += strlen("\"peer_sig\":\"");
		*s = *s == 'A' ? 'B' : 'A';
		set_line(&l, 0, rehash(l.v[0], NULL, NULL));
		rechain_from(&l, 1, NULL);
		write_lines(pb, &l);
		free_lines(&l);
		expect(pb, NULL, UDC_ECRYPTO, 1, "peer head signature");
	}
}

/* A CBS node records the heads of several gemeenten, alternating: a head of
 * one that goes back is caught though another's came in between. */
static void
test_peer_heads_alternating(void **state)
{
	struct udc_audit_opts oa = {key_a, 0}, ob = {key_b, 0};
	struct udc_audit_signed_head a_early, a_late, b_head;
	struct udc_audit *la = NULL, *lb = NULL, *lr = NULL;
	char pa[128], pb[128], pr[128], err[256];
	struct udc_audit_field f[] = {UDC_AUDIT_S("round", "r1")};

	(void)state;
	path_in(pa, sizeof(pa), "alt-a.log");
	path_in(pb, sizeof(pb), "alt-b.log");
	path_in(pr, sizeof(pr), "alt-recorder.log");
	unlink(pa);
	unlink(pb);
	unlink(pr);
	assert_int_equal(udc_audit_open(pa, &oa, &la, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_open(pb, &ob, &lb, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_open(pr, &ob, &lr, err, sizeof(err)), 0);
	assert_int_equal(udc_audit_append(la, UDC_AUDIT_ROUND_PROPOSED, f, 1), 0);
	assert_int_equal(udc_audit_checkpoint(la, &a_early), 0);
	assert_int_equal(udc_audit_append(la, UDC_AUDIT_ROUND_DONE, f, 1), 0);
	assert_int_equal(udc_audit_checkpoint(la, &a_late), 0);
	assert_int_equal(udc_audit_append(lb, UDC_AUDIT_ROUND_PROPOSED, f, 1), 0);
	assert_int_equal(udc_audit_checkpoint(lb, &b_head), 0);

	assert_int_equal(udc_audit_peer_head(lr, "gemeente-a", &pub_a, &a_late), 0);
	assert_int_equal(udc_audit_peer_head(lr, "gemeente-b", &pub_b, &b_head), 0);
	/* a's older head after b's: still a's rollback */
	assert_int_equal(udc_audit_peer_head(lr, "gemeente-a", &pub_a, &a_early), UDC_EPEER);
	/* and b's own head again is no conflict */
	assert_int_equal(udc_audit_peer_head(lr, "gemeente-b", &pub_b, &b_head), 0);
	/* a's newest head again is no conflict either: the older one did not replace it */
	assert_int_equal(udc_audit_peer_head(lr, "gemeente-a", &pub_a, &a_late), 0);
	udc_audit_close(la);
	udc_audit_close(lb);
	udc_audit_close(lr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_log),
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_edited_entry),
	    cmocka_unit_test(test_edited_and_rehashed),
	    cmocka_unit_test(test_rechained_caught_by_checkpoint),
	    cmocka_unit_test(test_deleted_entry),
	    cmocka_unit_test(test_inserted_entry),
	    cmocka_unit_test(test_swapped_entries),
	    cmocka_unit_test(test_truncated_tail),
	    cmocka_unit_test(test_checkpoint_other_key),
	    cmocka_unit_test(test_reopen_continues),
	    cmocka_unit_test(test_concurrent_appends),
	    cmocka_unit_test(test_field_limits),
	    cmocka_unit_test(test_peer_heads),
	    cmocka_unit_test(test_peer_heads_alternating),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
