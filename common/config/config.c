/*
 * config.c - the node configuration file (INI, parsed with inih).
 *
 * One table of scalar keys (section, key, type, default, bounds, offset)
 * drives the parse, in the style of redis' static_configs[].  inih feeds
 * cfg_handler() one key at a time; cfg_finish() then checks the rules that
 * involve more than one key (wireguard-tools config.c).  The first error
 * wins and is reported as "PATH:LINE: reason" or "PATH: reason".
 *
 * We hand inih our own line reader (ini_parse_stream) instead of calling
 * ini_parse(): inih's handler is not told the line number in Debian's build
 * (INI_HANDLER_LINENO = 0), and the reader also lets us refuse lines that
 * would not fit inih's fixed line buffer (it would silently split them),
 * name an unknown section on its own line, and tell an indented continuation
 * line (inih's multi-line values) from a new key.
 */
#include "config.h"
#include "iniread.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "err.h"
#include "log.h"

#define CFG_MAX_FILE (1024 * 1024) /* a config is a page of text; refuse anything huge */

enum cfg_type {
	CT_ROLE,      /* gemeente | cbs */
	CT_STR,       /* free text */
	CT_PATH,      /* file name; relative to the config file's directory */
	CT_SOCKET,    /* like CT_PATH, and must fit in sockaddr_un.sun_path */
	CT_URL,       /* NNG TLS URL */
	CT_INT,       /* int within [min, max] */
	CT_SECONDS,   /* seconds in the file, milliseconds in the struct */
	CT_SIZE,      /* size_t within [min, max] */
	CT_LOGLEVEL,  /* error | warning | info | debug */
	CT_LOGTARGET, /* stderr | syslog */
	CT_DELIM,     /* one character, or comma | semicolon | tab | pipe */
	CT_PERCENT,   /* "1%" or "0.25%": hundredths of a percent in the struct (int) */
	CT_APPROVAL,  /* automatic | operator */
	CT_SHARE,     /* a share: decimal 0..1 or a percentage "5%" */
	CT_FIELDS,    /* comma-separated field names */
};

struct cfg_key {
	const char *section;
	const char *key;
	enum cfg_type type;
	long long def; /* numeric types only; strings default to NULL */
	long long min;
	long long max;
	size_t offset;
};

#define OFF(f) offsetof(struct udc_config, f)

/* Every scalar key.  docs/operations.md has the same table for people. */
static const struct cfg_key cfg_keys[] = {
    {"node", "role", CT_ROLE, 0, 0, 0, OFF(role)},
    {"node", "name", CT_STR, 0, 0, 0, OFF(name)},
    {"node", "state_dir", CT_PATH, 0, 0, 0, OFF(state_dir)},
    {"node", "control_socket", CT_SOCKET, 0, 0, 0, OFF(control_socket)},
    {"node", "control_group", CT_STR, 0, 0, 0, OFF(control_group)},
    {"node", "log_level", CT_LOGLEVEL, UDC_LOG_INFO, 0, 0, OFF(log_level)},
    {"node", "log_target", CT_LOGTARGET, 0, 0, 0, OFF(use_syslog)},
    {"node", "workers", CT_INT, 0, 0, 256, OFF(workers)},
    {"node", "signing_key", CT_PATH, 0, 0, 0, OFF(signing_key)},
    {"node", "audit_log", CT_PATH, 0, 0, 0, OFF(audit_log)},
    {"node", "audit_checkpoint", CT_INT, 32, 1, 100000, OFF(audit_checkpoint)},
    {"peer", "listen", CT_URL, 0, 0, 0, OFF(peer_listen)},
    {"peer", "connect", CT_URL, 0, 0, 0, OFF(peer_connect)},
    {"peer", "server_name", CT_STR, 0, 0, 0, OFF(server_name)},
    {"peer", "timeout", CT_SECONDS, 30, 1, 3600, OFF(peer_timeout_ms)},
    {"peer", "resend", CT_SECONDS, 10, 1, 600, OFF(resend_ms)},
    {"peer", "max_message", CT_SIZE, 4 << 20, 64 << 10, 64 << 20, OFF(max_message)},
    {"peer", "chunk_records", CT_SIZE, 4096, 16, 65536, OFF(chunk_records)},
    {"peer", "session_idle", CT_INT, 300, 10, 86400, OFF(session_idle_s)},
    {"peer", "public_key", CT_PATH, 0, 0, 0, OFF(peer_public_key)},
    {"peer", "max_sessions", CT_INT, 4, 1, 64, OFF(max_sessions)},
    {"peer", "proposals_per_minute", CT_INT, 30, 1, 100000, OFF(proposals_per_minute)},
    {"peer", "proposal_max_age", CT_INT, 600, 10, 86400, OFF(proposal_max_age_s)},
    {"peer", "max_connections", CT_INT, 32, 2, 4096, OFF(max_connections)},
    {"peer", "connection_idle", CT_INT, 120, 5, 86400, OFF(connection_idle_s)},
    {"peer", "handshake_timeout", CT_INT, 10, 1, 600, OFF(handshake_timeout_s)},
    {"peer", "send_timeout", CT_SECONDS, 30, 1, 3600, OFF(send_timeout_ms)},
    {"peer", "consent_wait", CT_INT, 86400, 10, 30 * 86400, OFF(consent_wait_s)},
    {"node", "round_approval", CT_APPROVAL, 0, 0, 0, OFF(round_approval)},
    {"tls", "ca_file", CT_PATH, 0, 0, 0, OFF(ca_file)},
    {"tls", "cert_file", CT_PATH, 0, 0, 0, OFF(cert_file)},
    {"tls", "key_file", CT_PATH, 0, 0, 0, OFF(key_file)},
    {"input", "file", CT_PATH, 0, 0, 0, OFF(input_file)},
    {"input", "delimiter", CT_DELIM, ',', 0, 0, OFF(delimiter)},
    {"input", "max_records", CT_SIZE, 100000000, 1, 1000000000, OFF(max_records)},
    {"input", "max_size", CT_SIZE, 64LL << 30, 1024, 1LL << 50, OFF(max_input_size)},
    {"input", "reject_limit", CT_PERCENT, 100, 0, 10000, OFF(reject_limit)},
    {"input", "max_invalid", CT_SHARE, 0, 0, 0, OFF(max_invalid)},
    {"input", "allow_invalid", CT_FIELDS, 0, 0, 0, OFF(allow_invalid)},
};

#define CFG_MAX_INVALID_DEFAULT 0.05

#define NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* Every section; [fields] and [labels] take free-form keys. */
static const char *const cfg_sections[] = {"node", "peer", "tls", "input", "fields", "labels"};

struct cfg_ctx {
	struct udc_config *cfg;
	const char *dir; /* absolute directory of the config file */

	struct udc_ini_lines ln; /* line reader state and the first error */

	int seen[NKEYS]; /* line of each table key, 0 = not set */
};

/* Records the first error; returns 0 so it can be the handler's result. */
#define fail(c, ...) udc_ini_fail(&(c)->ln, __VA_ARGS__)
#define oom(c) udc_ini_oom(&(c)->ln)

/* Strict base-10 integer: digits with an optional sign, nothing else. */
static int
parse_ll(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE)
		*out = *s == '-' ? LLONG_MIN : LLONG_MAX; /* reported as out of range */
	return 0;
}

static char *
resolve_path(const char *dir, const char *value)
{
	size_t n;
	char *p;

	if (value[0] == '/')
		return strdup(value);
	n = strlen(dir) + 1 + strlen(value) + 1;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, value);
	return p;
}

static int
valid_dim_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int
set_scalar(struct cfg_ctx *c, const struct cfg_key *k, const char *value)
{
	char *base = (char *)c->cfg + k->offset;
	long long v = 0;
	char *s;

	switch (k->type) {
	case CT_ROLE:
		if (strcmp(value, "gemeente") == 0)
			*(enum udc_role *)(void *)base = UDC_ROLE_GEMEENTE;
		else if (strcmp(value, "cbs") == 0)
			*(enum udc_role *)(void *)base = UDC_ROLE_CBS;
		else
			return fail(c, "role must be gemeente or cbs, not '%s'", value);
		return 1;
	case CT_LOGLEVEL:
		if ((*(int *)(void *)base = log_level_parse(value)) < 0)
			return fail(c, "log_level must be error, warning, info or debug, not '%s'",
			            value);
		return 1;
	case CT_LOGTARGET:
		if (strcmp(value, "stderr") == 0)
			*(int *)(void *)base = 0;
		else if (strcmp(value, "syslog") == 0)
			*(int *)(void *)base = 1;
		else
			return fail(c, "log_target must be stderr or syslog, not '%s'", value);
		return 1;
	case CT_DELIM:
		/* ';' after a blank starts an inline comment for inih and a
		 * tab is stripped as white space, so both need a name. */
		if (strcmp(value, "comma") == 0)
			*base = ',';
		else if (strcmp(value, "semicolon") == 0)
			*base = ';';
		else if (strcmp(value, "tab") == 0)
			*base = '\t';
		else if (strcmp(value, "pipe") == 0)
			*base = '|';
		else if (strlen(value) == 1 && isgraph((unsigned char)value[0]) && value[0] != '"')
			*base = value[0];
		else
			return fail(c,
			            "delimiter must be one character or comma, semicolon, "
			            "tab or pipe, not '%s'",
			            value);
		return 1;
	case CT_SHARE: {
		char *end;
		double d;

		errno = 0;
		d = strtod(value, &end);
		if (end == value || errno != 0 || !(d >= 0.0))
			goto share_bad;
		if (*end == '%' && end[1] == '\0')
			d /= 100.0;
		else if (*end != '\0')
			goto share_bad;
		if (d > 1.0)
			goto share_bad;
		*(double *)(void *)base = d;
		return 1;
	share_bad:
		return fail(c, "%s must be a share from 0 to 1 or a percentage, not '%s'", k->key,
		            value);
	}
	case CT_FIELDS: {
		char *copy = strdup(value), *item, *next;
		struct udc_config *cfg = c->cfg;

		if (copy == NULL)
			return oom(c);
		for (item = copy; item != NULL; item = next) {
			char *e, **a;

			if ((next = strchr(item, ',')) != NULL)
				*next++ = '\0';
			while (isspace((unsigned char)*item))
				item++;
			e = item + strlen(item);
			while (e > item && isspace((unsigned char)e[-1]))
				*--e = '\0';
			if (!udc_field_name_valid(item)) {
				int r = fail(c, "%s: '%s' is not a field name", k->key, item);
				free(copy);
				return r;
			}
			if ((a = realloc(cfg->allow_invalid,
			                 (cfg->nallow_invalid + 1) * sizeof(*a))) == NULL ||
			    (a[cfg->nallow_invalid] = strdup(item)) == NULL) {
				if (a != NULL)
					cfg->allow_invalid = a;
				free(copy);
				return oom(c);
			}
			cfg->allow_invalid = a;
			cfg->nallow_invalid++;
		}
		free(copy);
		return 1;
	}
	case CT_INT:
	case CT_SECONDS:
	case CT_SIZE:
		if (parse_ll(value, &v) != 0)
			return fail(c, "%s: '%s' is not a number", k->key, value);
		if (v < k->min || v > k->max)
			return fail(c, "%s: %s is out of range (%lld..%lld)", k->key, value, k->min,
			            k->max);
		if (k->type == CT_INT)
			*(int *)(void *)base = (int)v;
		else if (k->type == CT_SECONDS)
			*(int *)(void *)base = (int)v * 1000;
		else
			*(size_t *)(void *)base = (size_t)v;
		return 1;
	case CT_PERCENT: {
		/* digits, an optional fraction of up to two digits, and '%' */
		long long whole = 0, frac = 0;
		int nfrac = 0;
		const char *q = value;
		if (!isdigit((unsigned char)*q))
			goto bad_percent;
		for (; isdigit((unsigned char)*q) && whole <= 100; q++)
			whole = whole * 10 + (*q - '0');
		if (*q == '.')
			for (q++; isdigit((unsigned char)*q) && nfrac < 2; q++, nfrac++)
				frac = frac * 10 + (*q - '0');
		if (nfrac == 1)
			frac *= 10;
		if (strcmp(q, "%") != 0 || whole * 100 + frac > k->max)
			goto bad_percent;
		*(int *)(void *)base = (int)(whole * 100 + frac);
		return 1;
	bad_percent:
		return fail(c, "%s must be a percentage from 0%% to 100%% with at most two decimals "
		    "(for example 1%% or 0.5%%), not '%s'", k->key, value);
	}
	case CT_APPROVAL:
		if (strcmp(value, "automatic") == 0)
			*(int *)(void *)base = 0;
		else if (strcmp(value, "operator") == 0)
			*(int *)(void *)base = 1;
		else
			return fail(c, "%s must be automatic or operator, not '%s'", k->key, value);
		return 1;
	case CT_URL:
		if (strncmp(value, "tls+tcp://", 10) != 0 &&
		    strncmp(value, "tls+tcp4://", 11) != 0 &&
		    strncmp(value, "tls+tcp6://", 11) != 0)
			return fail(c, "%s must be a tls+tcp:// address, not '%s'", k->key, value);
		/* FALLTHROUGH */
	case CT_STR:
		s = strdup(value);
		break;
	case CT_PATH:
	case CT_SOCKET:
		s = resolve_path(c->dir, value);
		if (s != NULL && k->type == CT_SOCKET &&
		    strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			free(s);
			return fail(c, "control_socket path is longer than %zu bytes once resolved",
			            sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		}
		break;
	default:
		return fail(c, "internal error: key type %d", (int)k->type);
	}
	if (s == NULL)
		return oom(c);
	*(char **)(void *)base = s;
	return 1;
}

static int
set_field(struct cfg_ctx *c, const char *key, const char *value)
{
	struct udc_config *cfg = c->cfg;
	struct udc_field_map *m;

	for (size_t i = 0; i < cfg->nfields; i++)
		if (strcmp(cfg->fields[i].field, key) == 0)
			return fail(c, "duplicate key '%s' in [fields] (first on line %d)", key,
			            cfg->fields[i].line);
	if (!udc_field_name_valid(key))
		return fail(c,
		            "'%s' in [fields] is not a field name (a-z first, then a-z, 0-9 and _; "
		            "built-in: bsn, given_names, surname_prefix, surname, birth_date, sex, "
		            "postcode, house_number; others are declared by a spec)",
		            key);
	if ((m = realloc(cfg->fields, (cfg->nfields + 1) * sizeof(*m))) == NULL)
		return oom(c);
	cfg->fields = m;
	m = &cfg->fields[cfg->nfields];
	m->field = strdup(key);
	m->column = strdup(value);
	m->line = c->ln.lineno;
	cfg->nfields++; /* count it now so that free() sees it either way */
	if (m->field == NULL || m->column == NULL)
		return oom(c);
	return 1;
}

static int
set_label(struct cfg_ctx *c, const char *key, const char *value)
{
	struct udc_config *cfg = c->cfg;
	struct udc_label_map *l;

	if (!valid_dim_name(key))
		return fail(c, "label dimension '%s' must be made of a-z, 0-9 and _", key);
	if (udc_config_label_column(cfg, key) != NULL)
		return fail(c, "duplicate key '%s' in [labels]", key);
	l = realloc(cfg->labels, (cfg->nlabels + 1) * sizeof(*l));
	if (l == NULL)
		return oom(c);
	cfg->labels = l;
	l = &cfg->labels[cfg->nlabels];
	l->dim = strdup(key);
	l->column = strdup(value);
	cfg->nlabels++; /* count it now so that free() sees it either way */
	if (l->dim == NULL || l->column == NULL)
		return oom(c);
	return 1;
}

static int
cfg_handler(void *user, const char *section, const char *key, const char *value)
{
	struct cfg_ctx *c = user;
	size_t i;

	if (c->ln.err_line)
		return 0;
	if (c->ln.indented && c->ln.key_in_section)
		return fail(c,
		            "indented line would continue the value of '%s'; remove the "
		            "leading white space",
		            key);
	c->ln.key_in_section = 1;
	if (*section == '\0')
		return fail(c, "key '%s' is outside any [section]", key);
	if (*value == '\0')
		return fail(c, "empty value for '%s'", key);
	if (strcmp(section, "fields") == 0)
		return set_field(c, key, value);
	if (strcmp(section, "labels") == 0)
		return set_label(c, key, value);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0)
			break;
	if (i == NKEYS) {
		int known = 0;
		for (size_t k = 0; k < sizeof(cfg_sections) / sizeof(cfg_sections[0]); k++)
			known |= strcmp(cfg_sections[k], section) == 0;
		if (!known)
			return fail(c, "unknown section [%s]", section);
		return fail(c, "unknown key '%s' in [%s]", key, section);
	}
	if (c->seen[i])
		return fail(c, "duplicate key '%s' in [%s] (first on line %d)", key, section,
		            c->seen[i]);
	c->seen[i] = c->ln.lineno;
	return set_scalar(c, &cfg_keys[i], value);
}

static int
is_set(const struct cfg_ctx *c, const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0)
			return c->seen[i] != 0;
	return 0;
}

/* Rules that involve more than one key; the first broken one is reported. */
static int
cfg_finish(struct cfg_ctx *c, char *err, size_t errlen)
{
	struct udc_config *cfg = c->cfg;
	static const struct {
		const char *section, *key;
	} required[] = {
	    {"node", "state_dir"}, {"node", "control_socket"}, {"node", "signing_key"},
	    {"peer", "public_key"}, {"tls", "ca_file"},        {"tls", "cert_file"},
	    {"tls", "key_file"},   {"input", "file"},
	};
	if (!is_set(c, "node", "role")) {
		snprintf(err, errlen, "%s: [node] role is required (gemeente or cbs)", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role == UDC_ROLE_GEMEENTE && cfg->peer_connect == NULL) {
		snprintf(err, errlen, "%s: role gemeente needs [peer] connect", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role == UDC_ROLE_GEMEENTE && cfg->server_name == NULL) {
		snprintf(err, errlen, "%s: role gemeente needs [peer] server_name", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role == UDC_ROLE_CBS && cfg->peer_listen == NULL) {
		snprintf(err, errlen, "%s: role cbs needs [peer] listen", cfg->path);
		return UDC_EPARSE;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!is_set(c, required[i].section, required[i].key)) {
			snprintf(err, errlen, "%s: [%s] %s is required", cfg->path,
			         required[i].section, required[i].key);
			return UDC_EPARSE;
		}
	}
	if (cfg->nfields == 0) {
		snprintf(err, errlen,
		         "%s: [fields] maps no identifier field; map at least one "
		         "(for example bsn = BSN)",
		         cfg->path);
		return UDC_EPARSE;
	}
	/* A REQ socket resends only if the resend time runs out first. */
	if (cfg->resend_ms >= cfg->peer_timeout_ms) {
		snprintf(err, errlen,
		         "%s: [peer] resend (%d s) must be shorter than timeout (%d s)", cfg->path,
		         cfg->resend_ms / 1000, cfg->peer_timeout_ms / 1000);
		return UDC_EPARSE;
	}
	if (cfg->name == NULL &&
	    (cfg->name = strdup(cfg->role == UDC_ROLE_CBS ? "cbs" : "gemeente")) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		return UDC_ENOMEM;
	}
	if (cfg->audit_log == NULL) {
		size_t n = strlen(cfg->state_dir) + sizeof("/audit.log");
		if ((cfg->audit_log = malloc(n)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", cfg->path);
			return UDC_ENOMEM;
		}
		snprintf(cfg->audit_log, n, "%s/audit.log", cfg->state_dir);
	}
	return 0;
}

/* Reads the whole file; refuses anything over CFG_MAX_FILE. */
static int
read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	FILE *fp;
	char *b = NULL;
	size_t n;
	int rv = 0;

	*buf = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return UDC_EIO;
	}
	if ((b = malloc(CFG_MAX_FILE + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rv = UDC_ENOMEM;
		goto out;
	}
	n = fread(b, 1, CFG_MAX_FILE + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (n > CFG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CFG_MAX_FILE);
		rv = UDC_EPARSE;
		goto out;
	}
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
	fclose(fp);
	return rv;
}

int
udc_config_load(const char *path, struct udc_config **out, char *err, size_t errlen)
{
	struct cfg_ctx c;
	struct udc_config *cfg = NULL;
	char *text = NULL, *dir = NULL, *slash;
	char *absdir = NULL;
	size_t len = 0;
	int rv;

	memset(&c, 0, sizeof(c));
	if (errlen > 0)
		err[0] = '\0';
	if ((rv = read_file(path, &text, &len, err, errlen)) != 0)
		goto out;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->path = strdup(path)) == NULL ||
	    (dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rv = UDC_ENOMEM;
		goto out;
	}
	/* Resolve against the real directory so paths stay valid after the
	 * daemon changes its working directory. */
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((absdir = realpath(dir, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s: %s", path, dir, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		char *base = (char *)cfg + cfg_keys[i].offset;
		switch (cfg_keys[i].type) {
		case CT_INT:
		case CT_LOGLEVEL:
		case CT_LOGTARGET:
		case CT_PERCENT:
		case CT_APPROVAL:
			*(int *)(void *)base = (int)cfg_keys[i].def;
			break;
		case CT_SECONDS:
			*(int *)(void *)base = (int)cfg_keys[i].def * 1000;
			break;
		case CT_SIZE:
			*(size_t *)(void *)base = (size_t)cfg_keys[i].def;
			break;
		case CT_DELIM:
			*base = (char)cfg_keys[i].def;
			break;
		case CT_SHARE:
			*(double *)(void *)base = CFG_MAX_INVALID_DEFAULT;
			break;
		default:
			break; /* strings start NULL, role has no default */
		}
	}

	c.cfg = cfg;
	c.dir = absdir;
	c.ln.p = text;
	c.ln.end = text + len;
	c.ln.sections = cfg_sections;
	c.ln.nsections = sizeof(cfg_sections) / sizeof(cfg_sections[0]);
	c.ln.long_hint = "";
	if ((rv = udc_ini_parse(&c.ln, cfg_handler, &c, path, err, errlen)) != 0)
		goto out;
	if ((rv = cfg_finish(&c, err, errlen)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	udc_config_free(cfg);
	free(text);
	free(dir);
	free(absdir);
	return rv;
}

void
udc_config_free(struct udc_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->name);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->control_group);
	free(cfg->peer_listen);
	free(cfg->peer_connect);
	free(cfg->server_name);
	free(cfg->ca_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->input_file);
	free(cfg->signing_key);
	free(cfg->audit_log);
	free(cfg->peer_public_key);
	for (size_t i = 0; i < cfg->nfields; i++) {
		free(cfg->fields[i].field);
		free(cfg->fields[i].column);
	}
	free(cfg->fields);
	for (size_t i = 0; i < cfg->nallow_invalid; i++)
		free(cfg->allow_invalid[i]);
	free(cfg->allow_invalid);
	for (size_t i = 0; i < cfg->nlabels; i++) {
		free(cfg->labels[i].dim);
		free(cfg->labels[i].column);
	}
	free(cfg->labels);
	free(cfg);
}

const char *
udc_config_label_column(const struct udc_config *cfg, const char *dim)
{
	for (size_t i = 0; i < cfg->nlabels; i++)
		if (strcmp(cfg->labels[i].dim, dim) == 0)
			return cfg->labels[i].column;
	return NULL;
}

const char *
udc_config_field_column(const struct udc_config *cfg, const char *field)
{
	for (size_t i = 0; i < cfg->nfields; i++)
		if (strcmp(cfg->fields[i].field, field) == 0)
			return cfg->fields[i].column;
	return NULL;
}

int
udc_config_invalid_allowed(const struct udc_config *cfg, const char *field)
{
	for (size_t i = 0; i < cfg->nallow_invalid; i++)
		if (strcmp(cfg->allow_invalid[i], field) == 0)
			return 1;
	return 0;
}
