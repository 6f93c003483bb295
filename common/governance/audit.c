/*
 * audit.c - the node's append-only, hash-chained, signed audit log.
 *
 * The format is defined in audit.h.  One routine (parse_line) decides
 * whether a line is a well-formed entry whose hash matches its contents; the
 * reopen path and udc_audit_verify both use it, so the writer never resumes
 * from a line the verifier would reject.  Entries are built and checked with
 * the same field rules, so whatever append accepts, verify accepts.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "err.h"
#include "sign.h"

#define GENESIS_TAG "udclink/audit/genesis/v1"
#define CANON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)
/* Largest integer every JSON reader represents exactly (2^53 - 1). */
#define INT_LIMIT INT64_C(9007199254740991)
#define SIG_B64_LEN 88
#define PUB_B64_LEN 44
/* Peers whose heads one verification tracks; a node has one peer. */
#define PEERS_MAX 8

#define AUDIT_PEERS 64

struct udc_audit {
	pthread_mutex_t mu;
	int fd;
	uint64_t seq;
	uint8_t head[32];
	const struct udc_sign_key *key;
	char key_fpr[UDC_SIGN_FPR_SIZE];
	unsigned every;
	uint64_t uncovered; /* ordinary entries since the last checkpoint */
	int broken;         /* a write failed: the tail of the file is unknown */
	/* The last head recorded from each peer key in this process (a CBS
	 * node may serve several gemeenten; beyond AUDIT_PEERS keys the
	 * oldest slot is reused). */
	struct peer_mem {
		struct udc_sign_pub pub;
		uint64_t seq;
		uint8_t hash[32];
	} peers[AUDIT_PEERS];
	size_t npeers, next_peer;
};

/* A parsed, self-consistent entry. */
struct entry {
	json_t *root; /* without its "hash" member */
	json_t *fields;
	uint64_t seq;
	const char *type;
	uint8_t prev[32];
	uint8_t hash[32];
};

static void
genesis(uint8_t out[32])
{
	crypto_hash_sha256(out, (const uint8_t *)GENESIS_TAG, strlen(GENESIS_TAG));
}

void
udc_audit_genesis_hex(char out[65])
{
	uint8_t g[32];

	genesis(g);
	sodium_bin2hex(out, 65, g, sizeof(g));
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Exactly 2 * n lower-case hex digits: the only spelling we write, so the
 * only one we accept. */
static int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return sodium_hex2bin(out, n, s, 2 * n, NULL, NULL, NULL) == 0 ? 0 : -1;
}

static int
b64_decode(const char *s, size_t b64len, uint8_t *out, size_t n)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (strlen(s) != b64len)
		return -1;
	if (sodium_base642bin(out, n, s, b64len, NULL, &bin_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return bin_len == n && end == s + b64len ? 0 : -1;
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > UDC_AUDIT_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* A BSN is 9 digits (8 when a leading zero was lost) with
 * 9*d1 + 8*d2 + ... + 2*d8 - d9 divisible by 11.  Only a value that is
 * nothing but such digits is refused: hashes and ids are longer. */
static int
looks_like_bsn(const char *s, size_t n)
{
	char d[9];
	long sum = 0;

	if (n != 8 && n != 9)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	d[0] = '0';
	memcpy(d + (9 - n), s, n);
	for (int i = 0; i < 8; i++)
		sum += (long)(d[i] - '0') * (9 - i);
	sum -= d[8] - '0';
	return sum % 11 == 0;
}

/* 0, UDC_ELIMIT (too long) or UDC_EINVAL. */
static int
str_value_check(const char *s)
{
	size_t n = strlen(s);

	if (n > UDC_AUDIT_VALUE_MAX)
		return UDC_ELIMIT;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return UDC_EINVAL;
	if (looks_like_bsn(s, n))
		return UDC_EINVAL;
	return 0;
}

static int
int_value_check(int64_t v)
{
	return v >= -INT_LIMIT && v <= INT_LIMIT ? 0 : UDC_ELIMIT;
}

/* The same rules for a fields object read back from disk. */
static int
fields_json_check(json_t *obj, char *reason, size_t rlen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj)) {
		seterr(reason, rlen, "fields is not an object");
		return UDC_EPARSE;
	}
	if (json_object_size(obj) > UDC_AUDIT_FIELDS_MAX) {
		seterr(reason, rlen, "more than %d fields", UDC_AUDIT_FIELDS_MAX);
		return UDC_EPARSE;
	}
	json_object_foreach(obj, k, v)
	{
		if (!name_ok(k)) {
			seterr(reason, rlen, "bad field name");
			return UDC_EPARSE;
		}
		if (json_is_string(v)) {
			if (str_value_check(json_string_value(v)) != 0) {
				seterr(reason, rlen, "field %s: value not allowed", k);
				return UDC_EPARSE;
			}
		} else if (json_is_integer(v)) {
			if (int_value_check(json_integer_value(v)) != 0) {
				seterr(reason, rlen, "field %s: integer out of range", k);
				return UDC_EPARSE;
			}
		} else {
			seterr(reason, rlen, "field %s: neither string nor integer", k);
			return UDC_EPARSE;
		}
	}
	return 0;
}

/* Builds the fields object from the caller's array, refusing what verify
 * would refuse. */
static int
fields_build(const struct udc_audit_field *f, size_t n, json_t **out)
{
	json_t *obj = NULL, *v;
	int rv;

	*out = NULL;
	if (n > UDC_AUDIT_FIELDS_MAX)
		return UDC_ELIMIT;
	if (n > 0 && f == NULL)
		return UDC_EINVAL;
	if ((obj = json_object()) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (f[i].name == NULL || !name_ok(f[i].name)) {
			rv = UDC_EINVAL;
			goto out;
		}
		if (json_object_get(obj, f[i].name) != NULL) {
			rv = UDC_EINVAL; /* a duplicate name */
			goto out;
		}
		if (f[i].kind == UDC_AUDIT_STR) {
			if (f[i].str == NULL) {
				rv = UDC_EINVAL;
				goto out;
			}
			if ((rv = str_value_check(f[i].str)) != 0)
				goto out;
			v = json_string(f[i].str);
		} else if (f[i].kind == UDC_AUDIT_INT) {
			if ((rv = int_value_check(f[i].num)) != 0)
				goto out;
			v = json_integer((json_int_t)f[i].num);
		} else {
			rv = UDC_EINVAL;
			goto out;
		}
		if (v == NULL || json_object_set_new(obj, f[i].name, v) != 0) {
			rv = UDC_ENOMEM;
			goto out;
		}
	}
	*out = obj;
	obj = NULL;
	rv = 0;
out:
	json_decref(obj);
	return rv;
}

static int
time_ok(const char *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(t) != sizeof(pat) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pat[i])
			return 0;
	}
	return 1;
}

static void
now_utc(char out[21])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Hash of the canonical bytes of root (which must not hold "hash"). */
static int
canon_hash(json_t *root, uint8_t out[32])
{
	char *s = json_dumps(root, CANON_FLAGS);

	if (s == NULL)
		return UDC_ENOMEM;
	crypto_hash_sha256(out, (const uint8_t *)s, strlen(s));
	free(s);
	return 0;
}

/* What a signed head signs: seq (8 bytes, big-endian) || hash.  The hash
 * alone would commit to the seq too, but only for someone holding the log;
 * signing the seq makes the statement "my entry N has hash H" checkable on
 * its own, so a peer cannot send a true hash with a made-up seq. */
static void
head_message(uint64_t seq, const uint8_t hash[32], uint8_t out[40])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(out + 8, hash, 32);
}

static int
head_sign(const struct udc_sign_key *key, uint64_t seq, const uint8_t hash[32],
          uint8_t sig[UDC_SIGN_BYTES])
{
	uint8_t m[40];

	head_message(seq, hash, m);
	return udc_sign(key, UDC_SIGN_AUDIT_CHECKPOINT, m, sizeof(m), sig);
}

static int
head_verify(const struct udc_sign_pub *pub, uint64_t seq, const uint8_t hash[32],
            const uint8_t sig[UDC_SIGN_BYTES])
{
	uint8_t m[40];

	head_message(seq, hash, m);
	return udc_sign_verify(pub, UDC_SIGN_AUDIT_CHECKPOINT, m, sizeof(m), sig) == 0
	           ? 0
	           : UDC_ECRYPTO;
}

static void
entry_free(struct entry *e)
{
	json_decref(e->root);
	memset(e, 0, sizeof(*e));
}

/* The structure of the two entry types this module writes itself; and the
 * peer's signature on a peer_head, which needs no key of ours. */
static int
check_special(struct entry *e, char *reason, size_t rlen)
{
	const char *names_cp[] = {"head", "head_seq", "key", "sig"};
	const char *names_ph[] = {"peer",     "peer_fpr", "peer_head",
	                          "peer_key", "peer_seq", "peer_sig"};
	uint8_t h[32], sig[UDC_SIGN_BYTES];
	struct udc_sign_pub pub;
	struct udc_audit_signed_head sh;
	char fpr[UDC_SIGN_FPR_SIZE];
	json_t *v;

	if (strcmp(e->type, UDC_AUDIT_CHECKPOINT) == 0) {
		if (json_object_size(e->fields) != 4)
			goto badcp;
		for (size_t i = 0; i < 4; i++)
			if (json_object_get(e->fields, names_cp[i]) == NULL)
				goto badcp;
		v = json_object_get(e->fields, "head_seq");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) != e->seq - 1)
			goto badcp;
		v = json_object_get(e->fields, "head");
		if (!json_is_string(v) || hex_decode(json_string_value(v), h, 32) != 0 ||
		    memcmp(h, e->prev, 32) != 0)
			goto badcp;
		v = json_object_get(e->fields, "key");
		if (!json_is_string(v) || hex_decode(json_string_value(v), h, 8) != 0)
			goto badcp;
		v = json_object_get(e->fields, "sig");
		if (!json_is_string(v) ||
		    b64_decode(json_string_value(v), SIG_B64_LEN, sig, sizeof(sig)) != 0)
			goto badcp;
		return 0;
	badcp:
		seterr(reason, rlen, "malformed checkpoint");
		return UDC_EPARSE;
	}
	if (strcmp(e->type, UDC_AUDIT_PEER_HEAD) == 0) {
		if (json_object_size(e->fields) != 6)
			goto badph;
		for (size_t i = 0; i < 6; i++)
			if (json_object_get(e->fields, names_ph[i]) == NULL)
				goto badph;
		if (!json_is_string(json_object_get(e->fields, "peer")))
			goto badph;
		v = json_object_get(e->fields, "peer_key");
		if (!json_is_string(v) || udc_sign_pub_from_base64(json_string_value(v), &pub) != 0)
			goto badph;
		v = json_object_get(e->fields, "peer_fpr");
		udc_sign_fingerprint(&pub, fpr);
		if (!json_is_string(v) || strcmp(json_string_value(v), fpr) != 0)
			goto badph;
		v = json_object_get(e->fields, "peer_seq");
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			goto badph;
		sh.seq = (uint64_t)json_integer_value(v);
		v = json_object_get(e->fields, "peer_head");
		if (!json_is_string(v) || hex_decode(json_string_value(v), sh.hash, 32) != 0)
			goto badph;
		v = json_object_get(e->fields, "peer_sig");
		if (!json_is_string(v) ||
		    b64_decode(json_string_value(v), SIG_B64_LEN, sh.sig, sizeof(sh.sig)) != 0)
			goto badph;
		if (udc_audit_verify_signed_head(&pub, &sh) != 0) {
			seterr(reason, rlen, "peer head signature does not verify (peer key %s)",
			       fpr);
			return UDC_ECRYPTO;
		}
		return 0;
	badph:
		seterr(reason, rlen, "malformed peer_head");
		return UDC_EPARSE;
	}
	return 0;
}

/* Parses one line (without its newline) and checks that it is a canonical,
 * well-formed entry whose hash matches its contents.  On success e is the
 * caller's, released with entry_free. */
static int
parse_line(const char *line, size_t len, struct entry *e, char *reason, size_t rlen)
{
	json_error_t jerr;
	json_t *root = NULL, *v;
	char *canon = NULL;
	uint8_t h[32];
	int rv = UDC_EPARSE;

	memset(e, 0, sizeof(*e));
	if (len == 0) {
		seterr(reason, rlen, "empty line");
		goto out;
	}
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		seterr(reason, rlen, "not JSON (column %d)", jerr.column);
		goto out;
	}
	if (!json_is_object(root) || json_object_size(root) != 6) {
		seterr(reason, rlen, "not an entry object");
		goto out;
	}
	/* Any difference from our own serialisation is an edit. */
	if ((canon = json_dumps(root, CANON_FLAGS)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if (strlen(canon) != len || memcmp(canon, line, len) != 0) {
		seterr(reason, rlen, "entry is not in canonical form");
		goto out;
	}
	v = json_object_get(root, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		seterr(reason, rlen, "bad seq");
		goto out;
	}
	e->seq = (uint64_t)json_integer_value(v);
	v = json_object_get(root, "time");
	if (!json_is_string(v) || !time_ok(json_string_value(v))) {
		seterr(reason, rlen, "bad time");
		goto out;
	}
	v = json_object_get(root, "type");
	if (!json_is_string(v) || !name_ok(json_string_value(v))) {
		seterr(reason, rlen, "bad type");
		goto out;
	}
	e->type = json_string_value(v);
	e->fields = json_object_get(root, "fields");
	if ((rv = fields_json_check(e->fields, reason, rlen)) != 0)
		goto out;
	rv = UDC_EPARSE;
	v = json_object_get(root, "prev");
	if (!json_is_string(v) || hex_decode(json_string_value(v), e->prev, 32) != 0) {
		seterr(reason, rlen, "bad prev");
		goto out;
	}
	v = json_object_get(root, "hash");
	if (!json_is_string(v) || hex_decode(json_string_value(v), e->hash, 32) != 0) {
		seterr(reason, rlen, "bad hash");
		goto out;
	}
	json_object_del(root, "hash");
	if ((rv = canon_hash(root, h)) != 0)
		goto out;
	if (sodium_memcmp(h, e->hash, 32) != 0) {
		seterr(reason, rlen, "entry hash does not match its contents (entry edited)");
		rv = UDC_EPARSE;
		goto out;
	}
	e->root = root;
	root = NULL;
	if ((rv = check_special(e, reason, rlen)) != 0)
		goto out;
	rv = 0;
out:
	free(canon);
	json_decref(root);
	if (rv != 0)
		entry_free(e);
	return rv;
}

/* Writes all of buf; the caller holds the mutex and the flock. */
static int
write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return UDC_EIO;
		}
		off += (size_t)w;
	}
	return fsync(fd) == 0 ? 0 : UDC_EIO;
}

/* Appends an entry of type with fields (a reference is taken).  Holds the
 * mutex. */
static int
append_locked(struct udc_audit *log, const char *type, json_t *fields)
{
	json_t *root = NULL;
	char *line = NULL;
	char tbuf[21], prev[65], hhex[65];
	uint8_t h[32];
	size_t n;
	int rv;

	if (log->broken)
		return UDC_EIO;
	now_utc(tbuf);
	sodium_bin2hex(prev, sizeof(prev), log->head, 32);
	root = json_pack("{s:I, s:s, s:s, s:O, s:s}", "seq", (json_int_t)(log->seq + 1), "time",
	                 tbuf, "type", type, "fields", fields, "prev", prev);
	if (root == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = canon_hash(root, h)) != 0)
		goto out;
	sodium_bin2hex(hhex, sizeof(hhex), h, 32);
	if (json_object_set_new(root, "hash", json_string(hhex)) != 0) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((line = json_dumps(root, CANON_FLAGS)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	n = strlen(line);
	if (n + 1 > UDC_AUDIT_LINE_MAX) {
		rv = UDC_ELIMIT;
		goto out;
	}
	/* json_dumps leaves no room for the newline: the line goes out in one
	 * write, so build it with its newline. */
	{
		char *l2 = realloc(line, n + 2);
		if (l2 == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		line = l2;
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	if ((rv = write_all(log->fd, line, n + 1)) != 0) {
		log->broken = 1;
		goto out;
	}
	log->seq++;
	memcpy(log->head, h, 32);
	rv = 0;
out:
	free(line);
	json_decref(root);
	return rv;
}

static int
checkpoint_locked(struct udc_audit *log, struct udc_audit_signed_head *out)
{
	struct udc_audit_signed_head sh;
	char head[65], sig[UDC_SIGN_SIG_B64_SIZE];
	json_t *fields = NULL;
	int rv;

	if (log->key == NULL)
		return UDC_ESTATE;
	sh.seq = log->seq;
	memcpy(sh.hash, log->head, 32);
	if ((rv = head_sign(log->key, sh.seq, sh.hash, sh.sig)) != 0)
		goto out;
	sodium_bin2hex(head, sizeof(head), sh.hash, 32);
	sodium_bin2base64(sig, sizeof(sig), sh.sig, sizeof(sh.sig), sodium_base64_VARIANT_ORIGINAL);
	fields = json_pack("{s:I, s:s, s:s, s:s}", "head_seq", (json_int_t)sh.seq, "head", head,
	                   "key", log->key_fpr, "sig", sig);
	if (fields == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = append_locked(log, UDC_AUDIT_CHECKPOINT, fields)) != 0)
		goto out;
	log->uncovered = 0;
	if (out != NULL)
		*out = sh;
	rv = 0;
out:
	json_decref(fields);
	return rv;
}

/* Ordinary entry + the periodic checkpoint.  Holds the mutex. */
static int
append_ordinary_locked(struct udc_audit *log, const char *type, json_t *fields)
{
	int rv;

	if ((rv = append_locked(log, type, fields)) != 0)
		return rv;
	log->uncovered++;
	if (log->key != NULL && log->every > 0 && log->uncovered >= log->every)
		return checkpoint_locked(log, NULL);
	return 0;
}

int
udc_audit_append(struct udc_audit *log, const char *type, const struct udc_audit_field *fields,
                 size_t nfields)
{
	json_t *obj = NULL;
	int rv;

	if (log == NULL || type == NULL || !name_ok(type))
		return UDC_EINVAL;
	/* Only this module may write these: their fields carry signatures. */
	if (strcmp(type, UDC_AUDIT_CHECKPOINT) == 0 || strcmp(type, UDC_AUDIT_PEER_HEAD) == 0)
		return UDC_EINVAL;
	if ((rv = fields_build(fields, nfields, &obj)) != 0)
		return rv;
	pthread_mutex_lock(&log->mu);
	rv = append_ordinary_locked(log, type, obj);
	pthread_mutex_unlock(&log->mu);
	json_decref(obj);
	return rv;
}

int
udc_audit_get_head(struct udc_audit *log, struct udc_audit_head *head)
{
	if (log == NULL || head == NULL)
		return UDC_EINVAL;
	pthread_mutex_lock(&log->mu);
	head->seq = log->seq;
	memcpy(head->hash, log->head, 32);
	pthread_mutex_unlock(&log->mu);
	return 0;
}

int
udc_audit_checkpoint(struct udc_audit *log, struct udc_audit_signed_head *out)
{
	int rv;

	if (log == NULL)
		return UDC_EINVAL;
	pthread_mutex_lock(&log->mu);
	rv = checkpoint_locked(log, out);
	pthread_mutex_unlock(&log->mu);
	return rv;
}

int
udc_audit_verify_signed_head(const struct udc_sign_pub *peer, const struct udc_audit_signed_head *h)
{
	if (peer == NULL || h == NULL)
		return UDC_EINVAL;
	return head_verify(peer, h->seq, h->hash, h->sig);
}

int
udc_audit_peer_head(struct udc_audit *log, const char *peer_name, const struct udc_sign_pub *peer,
                    const struct udc_audit_signed_head *h)
{
	char key[UDC_SIGN_PUB_B64_SIZE], fpr[UDC_SIGN_FPR_SIZE], head[65];
	char sig[UDC_SIGN_SIG_B64_SIZE];
	json_t *fields = NULL;
	int conflict = 0, rv;
	size_t i;

	if (log == NULL || peer_name == NULL || peer == NULL || h == NULL || peer_name[0] == '\0')
		return UDC_EINVAL;
	if ((rv = str_value_check(peer_name)) != 0)
		return rv;
	if (h->seq > (uint64_t)INT_LIMIT)
		return UDC_ELIMIT;
	if ((rv = udc_audit_verify_signed_head(peer, h)) != 0)
		return rv;
	udc_sign_pub_to_base64(peer, key);
	udc_sign_fingerprint(peer, fpr);
	sodium_bin2hex(head, sizeof(head), h->hash, 32);
	sodium_bin2base64(sig, sizeof(sig), h->sig, sizeof(h->sig), sodium_base64_VARIANT_ORIGINAL);
	fields = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "peer", peer_name, "peer_key", key,
	                   "peer_fpr", fpr, "peer_seq", (json_int_t)h->seq, "peer_head", head,
	                   "peer_sig", sig);
	if (fields == NULL)
		return UDC_ENOMEM;
	pthread_mutex_lock(&log->mu);
	for (i = 0; i < log->npeers; i++)
		if (memcmp(log->peers[i].pub.pk, peer->pk, sizeof(peer->pk)) == 0)
			break;
	if (i < log->npeers && (h->seq < log->peers[i].seq ||
	    (h->seq == log->peers[i].seq && memcmp(h->hash, log->peers[i].hash, 32) != 0)))
		conflict = 1;
	/* Recorded even when it conflicts: it is the peer's signed evidence. */
	if ((rv = append_ordinary_locked(log, UDC_AUDIT_PEER_HEAD, fields)) == 0) {
		struct peer_mem *pm;

		if (i < log->npeers) {
			pm = &log->peers[i];
		} else if (log->npeers < AUDIT_PEERS) {
			pm = &log->peers[log->npeers++];
		} else {
			pm = &log->peers[log->next_peer];
			log->next_peer = (log->next_peer + 1) % AUDIT_PEERS;
		}
		/* a conflicting (older) head does not replace the newest seen */
		if (!conflict) {
			pm->pub = *peer;
			pm->seq = h->seq;
			memcpy(pm->hash, h->hash, 32);
		}
	}
	pthread_mutex_unlock(&log->mu);
	json_decref(fields);
	if (rv == 0 && conflict)
		rv = UDC_EPEER;
	return rv;
}

/* Reads the last line of a non-empty log and resumes from it. */
static int
resume(struct udc_audit *log, const char *path, off_t size, char *err, size_t errlen)
{
	size_t want = size > UDC_AUDIT_LINE_MAX + 1 ? UDC_AUDIT_LINE_MAX + 1 : (size_t)size;
	char reason[256];
	struct entry e;
	char *buf = NULL;
	size_t start, got = 0;
	int rv;

	if ((buf = malloc(want)) == NULL)
		return UDC_ENOMEM;
	while (got < want) {
		ssize_t r = pread(log->fd, buf + got, want - got, size - (off_t)want + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			seterr(err, errlen, "%s: %s", path, r < 0 ? strerror(errno) : "short read");
			rv = UDC_EIO;
			goto out;
		}
		got += (size_t)r;
	}
	if (buf[want - 1] != '\n') {
		seterr(err, errlen,
		       "%s: ends in an incomplete line (interrupted write?); check it with "
		       "udc-audit verify",
		       path);
		rv = UDC_EPARSE;
		goto out;
	}
	for (start = want - 1; start > 0 && buf[start - 1] != '\n'; start--)
		;
	if (start == 0 && want < (size_t)size) {
		seterr(err, errlen, "%s: last line is too long", path);
		rv = UDC_EPARSE;
		goto out;
	}
	if ((rv = parse_line(buf + start, want - 1 - start, &e, reason, sizeof(reason))) != 0) {
		seterr(err, errlen, "%s: last line: %s", path, reason);
		goto out;
	}
	log->seq = e.seq;
	memcpy(log->head, e.hash, 32);
	/* Unknown how many entries precede the last checkpoint: assume one is
	 * uncovered unless the last entry is itself a checkpoint. */
	log->uncovered = strcmp(e.type, UDC_AUDIT_CHECKPOINT) == 0 ? 0 : 1;
	entry_free(&e);
	rv = 0;
out:
	free(buf);
	return rv;
}

/* fsync the directory holding path, so that a new log's name is durable. */
static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int dfd;

	if (copy == NULL)
		return;
	if ((dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
}

int
udc_audit_open(const char *path, const struct udc_audit_opts *opts, struct udc_audit **logp,
               char *err, size_t errlen)
{
	struct udc_audit *log = NULL;
	struct udc_sign_pub pub;
	struct stat st;
	int created = 0, rv;

	if (logp == NULL)
		return UDC_EINVAL;
	*logp = NULL;
	if (path == NULL) {
		rv = UDC_EINVAL;
		goto out;
	}
	if ((log = calloc(1, sizeof(*log))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	log->fd = -1;
	if (pthread_mutex_init(&log->mu, NULL) != 0) {
		free(log);
		log = NULL;
		rv = UDC_ENOMEM;
		goto out;
	}
	if (opts != NULL) {
		log->key = opts->key;
		log->every = opts->checkpoint_every;
	}
	if (log->key != NULL) {
		udc_sign_key_public(log->key, &pub);
		udc_sign_fingerprint(&pub, log->key_fpr);
	}
	log->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (log->fd < 0 && errno == ENOENT) {
		log->fd =
		    open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		created = 1;
	}
	if (log->fd < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	/* Two writers would fork the chain. */
	if (flock(log->fd, LOCK_EX | LOCK_NB) != 0) {
		seterr(err, errlen, "%s: %s", path,
		       errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
		rv = errno == EWOULDBLOCK ? UDC_EEXIST : UDC_EIO;
		goto out;
	}
	if (created)
		sync_dir(path);
	if (fstat(log->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		rv = UDC_EIO;
		goto out;
	}
	genesis(log->head);
	if (st.st_size > 0 && (rv = resume(log, path, st.st_size, err, errlen)) != 0)
		goto out;
	*logp = log;
	log = NULL;
	rv = 0;
out:
	if (log != NULL) {
		if (log->fd >= 0)
			close(log->fd);
		pthread_mutex_destroy(&log->mu);
		free(log);
	}
	return rv;
}

void
udc_audit_close(struct udc_audit *log)
{
	if (log == NULL)
		return;
	pthread_mutex_lock(&log->mu);
	if (log->key != NULL && log->uncovered > 0 && !log->broken)
		(void)checkpoint_locked(log, NULL); /* best effort: nowhere to report */
	pthread_mutex_unlock(&log->mu);
	close(log->fd);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

/* Per-peer state of one verification: the last head seen from each key. */
struct peer_seen {
	uint8_t pk[32];
	uint64_t seq;
	uint8_t hash[32];
	size_t line;
};

static int
check_peer(struct entry *e, struct peer_seen *peers, size_t *npeers, size_t line, char *reason,
           size_t rlen)
{
	struct udc_sign_pub pub;
	uint8_t h[32];
	uint64_t seq;
	size_t i;

	/* Already well-formed (check_special). */
	udc_sign_pub_from_base64(json_string_value(json_object_get(e->fields, "peer_key")), &pub);
	seq = (uint64_t)json_integer_value(json_object_get(e->fields, "peer_seq"));
	hex_decode(json_string_value(json_object_get(e->fields, "peer_head")), h, 32);
	for (i = 0; i < *npeers; i++)
		if (memcmp(peers[i].pk, pub.pk, 32) == 0)
			break;
	if (i < *npeers) {
		if (seq < peers[i].seq) {
			seterr(reason, rlen,
			       "peer %s went back from seq %" PRIu64 " (line %zu) to seq %" PRIu64,
			       json_string_value(json_object_get(e->fields, "peer_fpr")),
			       peers[i].seq, peers[i].line, seq);
			return UDC_EPEER;
		}
		if (seq == peers[i].seq && memcmp(h, peers[i].hash, 32) != 0) {
			seterr(reason, rlen,
			       "peer %s signed two different heads for seq %" PRIu64 " (line %zu)",
			       json_string_value(json_object_get(e->fields, "peer_fpr")), seq,
			       peers[i].line);
			return UDC_EPEER;
		}
	} else if (*npeers < PEERS_MAX) {
		(*npeers)++;
		memcpy(peers[i].pk, pub.pk, 32);
	} else {
		return 0; /* more keys than any deployment has: stop tracking */
	}
	peers[i].seq = seq;
	memcpy(peers[i].hash, h, 32);
	peers[i].line = line;
	return 0;
}

int
udc_audit_verify(const char *path, const struct udc_sign_pub *pub, struct udc_audit_report *rep)
{
	struct peer_seen peers[PEERS_MAX];
	size_t npeers = 0, lineno = 0, cap = 0;
	char pubfpr[UDC_SIGN_FPR_SIZE] = "";
	uint8_t prev[32], sig[UDC_SIGN_BYTES];
	char *line = NULL;
	struct entry e;
	ssize_t n;
	FILE *fp = NULL;
	int rv;

	memset(rep, 0, sizeof(*rep));
	memset(&e, 0, sizeof(e));
	genesis(prev);
	sodium_bin2hex(rep->head, sizeof(rep->head), prev, 32);
	if (pub != NULL)
		udc_sign_fingerprint(pub, pubfpr);
	if ((fp = fopen(path, "re")) == NULL) {
		seterr(rep->reason, sizeof(rep->reason), "%s", strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		rep->line = lineno;
		if ((size_t)n > UDC_AUDIT_LINE_MAX) {
			seterr(rep->reason, sizeof(rep->reason), "line longer than %d bytes",
			       UDC_AUDIT_LINE_MAX);
			rv = UDC_EPARSE;
			goto out;
		}
		if (line[n - 1] != '\n') {
			seterr(rep->reason, sizeof(rep->reason),
			       "truncated last line (no newline at the end of the file)");
			rv = UDC_EPARSE;
			goto out;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			seterr(rep->reason, sizeof(rep->reason), "NUL byte in line");
			rv = UDC_EPARSE;
			goto out;
		}
		if ((rv = parse_line(line, (size_t)n - 1, &e, rep->reason, sizeof(rep->reason))) !=
		    0)
			goto out;
		if (e.seq != lineno) {
			seterr(rep->reason, sizeof(rep->reason),
			       "seq %" PRIu64 " where %zu was expected (entry deleted, inserted or "
			       "moved)",
			       e.seq, lineno);
			rv = UDC_EPARSE;
			goto out;
		}
		if (memcmp(e.prev, prev, 32) != 0) {
			if (lineno == 1)
				seterr(rep->reason, sizeof(rep->reason),
				       "prev is not the genesis value");
			else
				seterr(rep->reason, sizeof(rep->reason),
				       "prev does not match the hash of line %zu (chain broken)",
				       lineno - 1);
			rv = UDC_EPARSE;
			goto out;
		}
		if (strcmp(e.type, UDC_AUDIT_CHECKPOINT) == 0) {
			rep->checkpoints++;
			if (pub != NULL) {
				const char *kf =
				    json_string_value(json_object_get(e.fields, "key"));
				if (strcmp(kf, pubfpr) != 0) {
					seterr(rep->reason, sizeof(rep->reason),
					       "checkpoint names key %s, expected %s", kf, pubfpr);
					rv = UDC_ECRYPTO;
					goto out;
				}
				b64_decode(json_string_value(json_object_get(e.fields, "sig")),
				           SIG_B64_LEN, sig, sizeof(sig));
				if (head_verify(pub, e.seq - 1, e.prev, sig) != 0) {
					seterr(rep->reason, sizeof(rep->reason),
					       "checkpoint signature does not verify with key %s",
					       pubfpr);
					rv = UDC_ECRYPTO;
					goto out;
				}
				rep->checkpoints_verified++;
			}
			rep->uncovered = 0;
		} else {
			rep->uncovered++;
		}
		if (strcmp(e.type, UDC_AUDIT_PEER_HEAD) == 0) {
			rep->peer_heads++;
			if ((rv = check_peer(&e, peers, &npeers, lineno, rep->reason,
			                     sizeof(rep->reason))) != 0)
				goto out;
		}
		memcpy(prev, e.hash, 32);
		sodium_bin2hex(rep->head, sizeof(rep->head), prev, 32);
		rep->entries++;
		entry_free(&e);
	}
	if (ferror(fp)) {
		seterr(rep->reason, sizeof(rep->reason), "read error: %s", strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	rep->line = 0;
	rv = 0;
out:
	entry_free(&e);
	free(line);
	if (fp != NULL)
		fclose(fp);
	return rv;
}
