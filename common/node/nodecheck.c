/*
 * nodecheck.c - the deep configuration check and the node probes
 * (nodecheck.h).  Only reads: nothing here changes a file.
 */
#include "nodecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csv.h"
#include "err.h"
#include "sign.h"

#define EXPIRY_WARN_DAYS 30

struct chk {
	FILE *out;
	int errors, warnings;
};

static void
finding(struct chk *c, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
finding(struct chk *c, int error, const char *fmt, ...)
{
	va_list ap;
	fprintf(c->out, "%s: ", error ? "error" : "warning");
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
	if (error)
		c->errors++;
	else
		c->warnings++;
}

static const char *
owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/* A file the node reads: it must exist, be a regular file and readable by
 * this user; a secret must be 0600 or stricter and owned by this user. */
static int
check_file(struct chk *c, const char *what, const char *path, int secret)
{
	struct stat st;
	char who[64], me[64];
	int fd;

	if (path == NULL)
		return -1;
	if (stat(path, &st) != 0) {
		finding(c, 1, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		finding(c, 1, "%s %s: not a regular file", what, path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		finding(c, 1, "%s %s: cannot read it as %s: %s (owner %s, mode %04o)", what, path,
		    owner_name(geteuid(), me, sizeof(me)), strerror(errno),
		    owner_name(st.st_uid, who, sizeof(who)), (unsigned)(st.st_mode & 07777));
		return -1;
	}
	close(fd);
	if (secret && (st.st_mode & 077) != 0)
		finding(c, 1, "%s %s: mode %04o lets others read a secret: chmod 600 %s", what, path,
		    (unsigned)(st.st_mode & 07777), path);
	if (secret && st.st_uid != geteuid())
		finding(c, 0, "%s %s: owned by %s, the node runs as %s here: chown %s %s", what, path,
		    owner_name(st.st_uid, who, sizeof(who)), owner_name(geteuid(), me, sizeof(me)),
		    owner_name(geteuid(), me, sizeof(me)), path);
	if (!secret && (st.st_mode & 002))
		finding(c, 1, "%s %s: world-writable (mode %04o): chmod o-w %s", what, path,
		    (unsigned)(st.st_mode & 07777), path);
	return 0;
}

/* A directory the node writes in.  One that does not exist yet is a
 * warning: under systemd the unit's StateDirectory= and RuntimeDirectory=
 * make it at start (after a --check-config run by hand, before the first
 * start); elsewhere the daemon makes the state directory if it can. */
static void
check_dir(struct chk *c, const char *what, const char *path)
{
	struct stat st;
	char who[64], me[64];

	if (stat(path, &st) != 0) {
		if (errno == ENOENT) {
			char *dup = strdup(path), *parent = dup ? dirname(dup) : NULL;
			/* The daemon makes it if it can; else say who will. */
			if (parent && access(parent, W_OK | X_OK) != 0)
				finding(c, 0, "%s %s: does not exist yet; its unit makes it at start "
				    "(StateDirectory=, RuntimeDirectory=), or create it owned by the daemon's "
				    "user", what, path);
			free(dup);
			return;
		}
		finding(c, 1, "%s %s: %s", what, path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		finding(c, 1, "%s %s: not a directory", what, path);
		return;
	}
	if (access(path, W_OK | X_OK) != 0)
		finding(c, 1, "%s %s: %s cannot write in it (owner %s, mode %04o)", what, path,
		    owner_name(geteuid(), me, sizeof(me)), owner_name(st.st_uid, who, sizeof(who)),
		    (unsigned)(st.st_mode & 07777));
	if (st.st_mode & 002)
		finding(c, 1, "%s %s: world-writable (mode %04o): chmod o-w %s", what, path,
		    (unsigned)(st.st_mode & 07777), path);
}

static int64_t
asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static X509 *
load_cert(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	if (f == NULL) {
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL && err)
		snprintf(err, errlen, "%s: no PEM certificate in it", path);
	return x;
}

int
udc_cert_info(const char *path, int64_t *not_after, int *is_ca, char *err, size_t errlen)
{
	X509 *x;
	if (path == NULL)
		return UDC_EINVAL;
	if ((x = load_cert(path, err, errlen)) == NULL)
		return UDC_EPARSE;
	*not_after = asn1_time_unix(X509_get0_notAfter(x));
	*is_ca = X509_check_ca(x) >= 1;
	X509_free(x);
	return 0;
}

static void
check_expiry(struct chk *c, const char *what, const char *path, X509 *x)
{
	int64_t na = asn1_time_unix(X509_get0_notAfter(x)), nb = asn1_time_unix(X509_get0_notBefore(x));
	int64_t now = (int64_t)time(NULL);
	char when[32];
	time_t t = (time_t)na;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	if (na <= now)
		finding(c, 1, "%s %s: expired on %s: issue a new one (docs/install.md, \"Rotating keys and "
		    "certificates\")", what, path, when);
	else if (na - now < EXPIRY_WARN_DAYS * 86400LL)
		finding(c, 0, "%s %s: expires on %s, in %lld days: plan its renewal", what, path, when,
		    (long long)((na - now) / 86400));
	if (nb > now)
		finding(c, 1, "%s %s: not valid before %lld (clock wrong?)", what, path, (long long)nb);
}

int
udc_tls_pair_check(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	FILE *f;
	int rv = 0;

	char why[4400];

	if ((cert = load_cert(cert_file, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "[tls] cert_file %s", why);
		return UDC_EPARSE;
	}
	if ((f = fopen(key_file, "r")) == NULL) {
		snprintf(err, errlen, "[tls] key_file %s: %s", key_file, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		snprintf(err, errlen, "[tls] key_file %s: no PEM private key in it (or it is encrypted)",
		    key_file);
		rv = UDC_EPARSE;
	} else if (X509_check_private_key(cert, key) != 1) {
		snprintf(err, errlen, "[tls] cert_file %s and key_file %s do not belong together: the "
		    "certificate was issued for another key", cert_file, key_file);
		rv = UDC_EINVAL;
	}
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(cert);
	return rv;
}

static void
check_tls(struct chk *c, const struct udc_config *cfg)
{
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	char err[512];
	FILE *f;

	if (check_file(c, "[tls] ca_file", cfg->ca_file, 0) == 0) {
		if ((ca = load_cert(cfg->ca_file, err, sizeof(err))) == NULL)
			finding(c, 1, "[tls] ca_file %s", err);
		else {
			if (X509_check_ca(ca) < 1)
				finding(c, 1, "[tls] ca_file %s: this certificate is not a CA (no basicConstraints "
				    "CA:TRUE): name the CA's certificate, not a node's", cfg->ca_file);
			check_expiry(c, "[tls] ca_file", cfg->ca_file, ca);
		}
	}
	if (check_file(c, "[tls] cert_file", cfg->cert_file, 0) == 0) {
		if ((cert = load_cert(cfg->cert_file, err, sizeof(err))) == NULL)
			finding(c, 1, "[tls] cert_file %s", err);
		else
			check_expiry(c, "[tls] cert_file", cfg->cert_file, cert);
	}
	if (check_file(c, "[tls] key_file", cfg->key_file, 1) == 0 &&
	    (f = fopen(cfg->key_file, "r")) != NULL) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (key == NULL)
			finding(c, 1, "[tls] key_file %s: no PEM private key in it (or it is encrypted)",
			    cfg->key_file);
	}
	/* The same check the daemons make at start-up, with its message. */
	if (cert && key && udc_tls_pair_check(cfg->cert_file, cfg->key_file, err, sizeof(err)) != 0)
		finding(c, 1, "%s", err);
	if (cert && ca) {
		if ((store = X509_STORE_new()) != NULL && X509_STORE_add_cert(store, ca) == 1 &&
		    (ctx = X509_STORE_CTX_new()) != NULL && X509_STORE_CTX_init(ctx, store, cert, NULL) == 1) {
			if (X509_verify_cert(ctx) != 1)
				finding(c, 1, "[tls] cert_file %s: not issued by the CA in %s: %s", cfg->cert_file,
				    cfg->ca_file, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		}
	}
	if (cert && cfg->role == UDC_ROLE_CBS) {
		/* The gemeente checks the CBS certificate's name; nothing to compare here. */
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(ca);
}

static void
check_keys(struct chk *c, const struct udc_config *cfg)
{
	struct udc_sign_key *sk = NULL;
	struct udc_sign_pub self, peer;
	char err[512];
	int have_self = 0;

	if (check_file(c, "[node] signing_key", cfg->signing_key, 1) == 0) {
		if (udc_sign_key_load(cfg->signing_key, &sk, err, sizeof(err)) != 0)
			finding(c, 1, "[node] signing_key: %s", err);
		else {
			udc_sign_key_public(sk, &self);
			have_self = 1;
			udc_sign_key_free(sk);
		}
	}
	if (check_file(c, "[peer] public_key", cfg->peer_public_key, 0) == 0) {
		if (udc_sign_pub_load(cfg->peer_public_key, &peer, err, sizeof(err)) != 0)
			finding(c, 1, "[peer] public_key: %s", err);
		else if (have_self && memcmp(&self, &peer, sizeof(self)) == 0)
			finding(c, 1, "[peer] public_key %s is this node's own key: pin the peer node's "
			    "public key (its operator sends it)", cfg->peer_public_key);
	}
	/* a CBS node serving several gemeenten: each one's key, CA and input */
	for (size_t i = 0; i < cfg->npeers; i++) {
		const struct udc_peer_conf *p = &cfg->peers[i];
		char what[96];

		snprintf(what, sizeof(what), "[gemeente %s] public_key", p->id);
		if (check_file(c, what, p->public_key, 0) == 0) {
			if (udc_sign_pub_load(p->public_key, &peer, err, sizeof(err)) != 0)
				finding(c, 1, "%s: %s", what, err);
			else if (have_self && memcmp(&self, &peer, sizeof(self)) == 0)
				finding(c, 1, "%s %s is this node's own key: pin the gemeente node's public "
				    "key (its operator sends it)", what, p->public_key);
		}
		snprintf(what, sizeof(what), "[gemeente %s] ca_file", p->id);
		check_file(c, what, p->ca_file, 0);
		snprintf(what, sizeof(what), "[gemeente %s] input", p->id);
		check_file(c, what, p->input_file, 0);
	}
}

/* The configured columns against the header the input file has. */
static void
check_input(struct chk *c, const struct udc_config *cfg)
{
	struct udc_csv *csv = NULL;
	char err[1024];
	size_t missing = 0;

	if (check_file(c, "[input] file", cfg->input_file, 0) != 0)
		return;
	if (udc_csv_open(&csv, cfg->input_file, cfg->delimiter, err, sizeof(err)) != 0) {
		finding(c, 1, "[input] %s", err);
		return;
	}
	for (size_t i = 0; i < cfg->nfields; i++)
		if (udc_csv_find_col(csv, cfg->fields[i].column) < 0) {
			finding(c, 1, "%s:%d: [fields] %s = %s: no column '%s' in %s", cfg->path,
			    cfg->fields[i].line, cfg->fields[i].field, cfg->fields[i].column,
			    cfg->fields[i].column, cfg->input_file);
			missing++;
		}
	for (size_t i = 0; i < cfg->nlabels; i++)
		if (udc_csv_find_col(csv, cfg->labels[i].column) < 0) {
			finding(c, 1, "[labels] %s = %s: no column '%s' in %s", cfg->labels[i].dim,
			    cfg->labels[i].column, cfg->labels[i].column, cfg->input_file);
			missing++;
		}
	if (missing) {
		char hint[1024];
		udc_csv_header_hint(csv, hint, sizeof(hint));
		fprintf(c->out, "  in %s %s\n", cfg->input_file, hint);
	}
	udc_csv_close(csv);
}

int
udc_config_check_deep(const struct udc_config *cfg, FILE *out)
{
	struct chk c = { .out = out };
	char *dup;

	check_keys(&c, cfg);
	check_tls(&c, cfg);
	check_input(&c, cfg);
	check_dir(&c, "[node] state_dir", cfg->state_dir);
	if ((dup = strdup(cfg->control_socket)) != NULL) {
		check_dir(&c, "the directory of [node] control_socket", dirname(dup));
		free(dup);
	}
	if ((dup = strdup(cfg->audit_log)) != NULL) {
		check_dir(&c, "the directory of [node] audit_log", dirname(dup));
		free(dup);
	}
	if (cfg->control_group && cfg->control_group[0]) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(cfg->control_group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
			finding(&c, 1, "[node] control_group %s: no such group: groupadd --system %s",
			    cfg->control_group, cfg->control_group);
	}
	if (c.errors)
		fprintf(out, "configuration has %d error%s (%d warning%s)\n", c.errors, c.errors == 1 ? "" : "s",
		    c.warnings, c.warnings == 1 ? "" : "s");
	else
		fprintf(out, "configuration OK%s\n", c.warnings ? " (with warnings)" : "");
	return c.errors;
}

/* --- peer probe ---------------------------------------------------------- */

int
udc_peer_probe(const char *url, int timeout_ms, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *p, *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	int rv = UDC_EIO, fd = -1, grv;

	err[0] = '\0';
	if (url == NULL || (p = strstr(url, "://")) == NULL) {
		snprintf(err, errlen, "no peer URL");
		return UDC_EINVAL;
	}
	p += 3;
	if (*p == '[') { /* [v6]:port */
		const char *e = strchr(p, ']');
		if (e == NULL || e[1] != ':' || (size_t)(e - p - 1) >= sizeof(host))
			goto bad;
		memcpy(host, p + 1, (size_t)(e - p - 1));
		host[e - p - 1] = '\0';
		colon = e + 1;
	} else {
		if ((colon = strrchr(p, ':')) == NULL || (size_t)(colon - p) >= sizeof(host))
			goto bad;
		memcpy(host, p, (size_t)(colon - p));
		host[colon - p] = '\0';
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	if ((grv = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(grv));
		return UDC_ENOTFOUND;
	}
	for (a = ai; a; a = a->ai_next) {
		struct pollfd pf;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
			snprintf(err, errlen, "%s:%s: %s", host, port, strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		pf.fd = fd;
		pf.events = POLLOUT;
		if (poll(&pf, 1, timeout_ms) != 1) {
			snprintf(err, errlen, "%s:%s: no answer within %d ms", host, port, timeout_ms);
			rv = UDC_ETIMEDOUT;
			close(fd);
			fd = -1;
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr != 0) {
			snprintf(err, errlen, "%s:%s: %s", host, port, strerror(soerr));
			close(fd);
			fd = -1;
			continue;
		}
		rv = 0;
		break;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		close(fd);
	return rv;
bad:
	snprintf(err, errlen, "cannot read host and port in %s", url);
	return UDC_EINVAL;
}
