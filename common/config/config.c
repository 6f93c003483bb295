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

/* Every section; [fields] and [labels] take free-form keys; "gemeente "
 * admits [gemeente ID] (iniread.h). */
static const char *const cfg_sections[] = {"node", "peer", "tls", "input", "fields", "labels",
    "gemeente "};

#define POFF(f) offsetof(struct udc_peer_conf, f)

/* The keys of a [gemeente ID] section, in enum udc_peer_key's order; a
 * default of 0 means "derived from the node's keys" (cfg_finish_peers).
 * Besides these, field.NAME and label.DIM override [fields] and [labels]
 * for the peer's input. */
static const struct cfg_key peer_keys[UDC_PK_N] = {
    {"gemeente", "name", CT_STR, 0, 0, 0, POFF(name)},
    {"gemeente", "display_name", CT_STR, 0, 0, 0, POFF(display_name)},
    {"gemeente", "public_key", CT_PATH, 0, 0, 0, POFF(public_key)},
    {"gemeente", "listen", CT_URL, 0, 0, 0, POFF(listen)},
    {"gemeente", "ca_file", CT_PATH, 0, 0, 0, POFF(ca_file)},
    {"gemeente", "max_connections", CT_INT, 0, 2, 4096, POFF(max_connections)},
    {"gemeente", "input", CT_PATH, 0, 0, 0, POFF(input_file)},
    {"gemeente", "delimiter", CT_DELIM, 0, 0, 0, POFF(delimiter)},
    {"gemeente", "filter_column", CT_STR, 0, 0, 0, POFF(filter_column)},
    {"gemeente", "filter_value", CT_STR, 0, 0, 0, POFF(filter_value)},
    {"gemeente", "max_sessions", CT_INT, 0, 1, 64, POFF(max_sessions)},
    {"gemeente", "proposals_per_minute", CT_INT, 0, 1, 100000, POFF(proposals_per_minute)},
};

#define UDC_PEERS_MAX 256 /* [gemeente ID] sections in one file */

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
	return udc_ini_is_name(s, SIZE_MAX);
}

/* Sets key k of the struct at obj (a struct udc_config, or a struct
 * udc_peer_conf for peer_keys). */
static int
set_scalar(struct cfg_ctx *c, const struct cfg_key *k, void *obj, const char *value)
{
	char *base = (char *)obj + k->offset;
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
			char **a;

			if ((next = strchr(item, ',')) != NULL)
				*next++ = '\0';
			item = udc_ini_trim(item);
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
valid_peer_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static const char *
peer_label_column(const struct udc_peer_conf *p, const char *dim)
{
	for (size_t i = 0; i < p->nlabels; i++)
		if (strcmp(p->labels[i].dim, dim) == 0)
			return p->labels[i].column;
	return NULL;
}

/* A key of [gemeente ID]: the peer is made at its first key. */
static int
set_peer(struct cfg_ctx *c, const char *id, const char *key, const char *value)
{
	struct udc_config *cfg = c->cfg;
	struct udc_peer_conf *p = NULL;
	size_t i;

	if (!valid_peer_id(id))
		return fail(c, "[gemeente %s]: the ID must be 1 to 32 of a-z, 0-9, _ and -, starting "
		    "with a letter or digit (it names the gemeente's state directory and udcctl "
		    "--peer); its display_name may be anything", id);
	for (i = 0; i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].id, id) == 0)
			p = &cfg->peers[i];
	if (p == NULL) {
		if (cfg->npeers == UDC_PEERS_MAX)
			return fail(c, "more than %d [gemeente ID] sections", UDC_PEERS_MAX);
		if ((p = realloc(cfg->peers, (cfg->npeers + 1) * sizeof(*p))) == NULL)
			return oom(c);
		cfg->peers = p;
		p = &cfg->peers[cfg->npeers];
		memset(p, 0, sizeof(*p));
		cfg->npeers++; /* counted now so that free() sees it either way */
		p->line = c->ln.section_line ? c->ln.section_line : c->ln.lineno;
		if ((p->id = strdup(id)) == NULL)
			return oom(c);
	}
	if (strncmp(key, "field.", 6) == 0) {
		struct udc_field_map *m;
		if (!udc_field_name_valid(key + 6))
			return fail(c, "'%s' in %s of [gemeente %s] is not a field name (a-z first, then "
			    "a-z, 0-9 and _; built-in: bsn, given_names, surname_prefix, surname, "
			    "birth_date, sex, postcode, house_number; others are declared by a spec)",
			    key + 6, key, id);
		for (i = 0; i < p->nfields; i++)
			if (strcmp(p->fields[i].field, key + 6) == 0)
				return fail(c, "duplicate key '%s' in [gemeente %s] (first on line %d)", key,
				    id, p->fields[i].line);
		if ((m = realloc(p->fields, (p->nfields + 1) * sizeof(*m))) == NULL)
			return oom(c);
		p->fields = m;
		m = &p->fields[p->nfields];
		m->field = strdup(key + 6);
		m->column = strdup(value);
		m->line = c->ln.lineno;
		p->nfields++; /* counted now so that free() sees it either way */
		return m->field && m->column ? 1 : oom(c);
	}
	if (strncmp(key, "label.", 6) == 0) {
		struct udc_label_map *l;
		if (!valid_dim_name(key + 6))
			return fail(c, "label dimension '%s' must be made of a-z, 0-9 and _", key + 6);
		if (peer_label_column(p, key + 6) != NULL)
			return fail(c, "duplicate key '%s' in [gemeente %s]", key, id);
		if ((l = realloc(p->labels, (p->nlabels + 1) * sizeof(*l))) == NULL)
			return oom(c);
		p->labels = l;
		l = &p->labels[p->nlabels];
		l->dim = strdup(key + 6);
		l->column = strdup(value);
		p->nlabels++;
		return l->dim && l->column ? 1 : oom(c);
	}
	for (i = 0; i < UDC_PK_N; i++)
		if (strcmp(peer_keys[i].key, key) == 0)
			break;
	if (i == UDC_PK_N)
		return fail(c, "unknown key '%s' in [gemeente %s]", key, id);
	if (p->key_line[i])
		return fail(c, "duplicate key '%s' in [gemeente %s] (first on line %d)", key, id,
		    p->key_line[i]);
	p->key_line[i] = c->ln.lineno;
	return set_scalar(c, &peer_keys[i], p, value);
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
	if (strncmp(section, "gemeente ", 9) == 0)
		return set_peer(c, section + 9, key, value);
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
	return set_scalar(c, &cfg_keys[i], c->cfg, value);
}

/* The line a table key was set on, 0 if it was not. */
static int
seen_line(const struct cfg_ctx *c, const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0)
			return c->seen[i];
	return 0;
}

static int
is_set(const struct cfg_ctx *c, const char *section, const char *key)
{
	return seen_line(c, section, key) != 0;
}

static int
finish_fail(const struct udc_config *cfg, int line, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "PATH:LINE: reason" (or "PATH: reason" without a line); UDC_EPARSE. */
static int
finish_fail(const struct udc_config *cfg, int line, char *err, size_t errlen, const char *fmt, ...)
{
	char reason[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", cfg->path, line, reason);
	else
		snprintf(err, errlen, "%s: %s", cfg->path, reason);
	return UDC_EPARSE;
}

static const char *
peer_input(const struct udc_config *cfg, const struct udc_peer_conf *p)
{
	return p->input_file ? p->input_file : cfg->input_file;
}

/*
 * The rules of a CBS node with [gemeente ID] sections (docs/operations.md,
 * "Several gemeenten"), then the defaults derived from the node's keys.
 * Two gemeenten reading one file must each take a different value of one
 * filter column: their histories and privacy budgets are kept apart, which
 * is right only for CBS populations that do not overlap.
 */
static int
cfg_finish_peers(struct cfg_ctx *c, char *err, size_t errlen)
{
	struct udc_config *cfg = c->cfg;
	size_t nlisteners = 0;
	int shared = 0;

	if (is_set(c, "peer", "public_key"))
		return finish_fail(cfg, seen_line(c, "peer", "public_key"), err, errlen,
		    "[peer] public_key is for a CBS node that serves one gemeente; with [gemeente ID] "
		    "sections each gemeente's key is the public_key of its section");
	for (size_t i = 0; i < cfg->npeers; i++) {
		struct udc_peer_conf *p = &cfg->peers[i];
		int *kl = p->key_line;

		if (p->public_key == NULL)
			return finish_fail(cfg, p->line, err, errlen, "[gemeente %s] needs public_key "
			    "(the gemeente node's Ed25519 public key)", p->id);
		if (p->ca_file && !p->listen)
			return finish_fail(cfg, kl[UDC_PK_CA_FILE], err, errlen, "[gemeente %s] ca_file "
			    "needs a listen of its own: the shared [peer] listen trusts [tls] ca_file",
			    p->id);
		if (p->max_connections && !p->listen)
			return finish_fail(cfg, kl[UDC_PK_MAX_CONNECTIONS], err, errlen, "[gemeente %s] "
			    "max_connections needs a listen of its own", p->id);
		if (!p->filter_column != !p->filter_value)
			return finish_fail(cfg, kl[p->filter_column ? UDC_PK_FILTER_COLUMN :
			    UDC_PK_FILTER_VALUE], err, errlen, "[gemeente %s] needs both filter_column and "
			    "filter_value, or neither", p->id);
		if (peer_input(cfg, p) == NULL)
			return finish_fail(cfg, p->line, err, errlen, "[gemeente %s] has no input and "
			    "[input] file is not set: give it one of the two", p->id);
		if (p->listen && cfg->peer_listen && strcmp(p->listen, cfg->peer_listen) == 0)
			return finish_fail(cfg, kl[UDC_PK_LISTEN], err, errlen, "[gemeente %s] listen %s "
			    "is the shared [peer] listen: leave it out to use that one", p->id, p->listen);
		if (p->listen)
			nlisteners++;
		else
			shared = 1;
		if (p->name == NULL && (p->name = strdup(p->id)) == NULL)
			return finish_fail(cfg, 0, err, errlen, "out of memory");
		if (p->display_name == NULL && (p->display_name = strdup(p->name)) == NULL)
			return finish_fail(cfg, 0, err, errlen, "out of memory");
		for (size_t j = 0; j < i; j++) {
			const struct udc_peer_conf *q = &cfg->peers[j];
			if (strcmp(p->name, q->name) == 0)
				return finish_fail(cfg, kl[UDC_PK_NAME] ? kl[UDC_PK_NAME] : p->line, err,
				    errlen, "[gemeente %s] and [gemeente %s] both have the name '%s'", q->id,
				    p->id, p->name);
			if (p->listen && q->listen && strcmp(p->listen, q->listen) == 0)
				return finish_fail(cfg, kl[UDC_PK_LISTEN], err, errlen, "[gemeente %s] and "
				    "[gemeente %s] both listen on %s", q->id, p->id, p->listen);
			if (strcmp(peer_input(cfg, p), peer_input(cfg, q)) != 0)
				continue;
			if (!p->filter_column || !q->filter_column ||
			    strcmp(p->filter_column, q->filter_column) != 0 ||
			    strcmp(p->filter_value, q->filter_value) == 0)
				return finish_fail(cfg, p->line, err, errlen, "[gemeente %s] and [gemeente "
				    "%s] read the same CBS input %s: give each a filter_value of the same "
				    "filter_column, different from the other's, so that their CBS "
				    "populations do not overlap (each keeps its own release history and "
				    "privacy budget)", q->id, p->id, peer_input(cfg, p));
		}
	}
	if (shared && cfg->peer_listen == NULL) {
		for (size_t i = 0; i < cfg->npeers; i++)
			if (!cfg->peers[i].listen)
				return finish_fail(cfg, cfg->peers[i].line, err, errlen, "role cbs needs "
				    "[peer] listen: [gemeente %s] has no listen of its own",
				    cfg->peers[i].id);
	}
	nlisteners += shared;
	for (size_t i = 0; i < cfg->npeers; i++) {
		struct udc_peer_conf *p = &cfg->peers[i];
		int d;
		if (p->max_sessions == 0)
			p->max_sessions = (d = cfg->max_sessions / (int)cfg->npeers) > 0 ? d : 1;
		if (p->proposals_per_minute == 0)
			p->proposals_per_minute = (d = cfg->proposals_per_minute / (int)cfg->npeers) > 0 ?
			    d : 1;
		if (p->listen && p->max_connections == 0)
			p->max_connections = (d = cfg->max_connections / (int)nlisteners) > 2 ? d : 2;
	}
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
	int multi = cfg->role == UDC_ROLE_CBS && cfg->npeers > 0;
	int rv;

	if (!is_set(c, "node", "role")) {
		snprintf(err, errlen, "%s: [node] role is required (gemeente or cbs)", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role != UDC_ROLE_CBS && cfg->npeers > 0)
		return finish_fail(cfg, cfg->peers[0].line, err, errlen, "[gemeente %s]: gemeente "
		    "sections are for a CBS node (role cbs) that serves several gemeenten",
		    cfg->peers[0].id);
	if (cfg->role == UDC_ROLE_GEMEENTE && cfg->peer_connect == NULL) {
		snprintf(err, errlen, "%s: role gemeente needs [peer] connect", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role == UDC_ROLE_GEMEENTE && cfg->server_name == NULL) {
		snprintf(err, errlen, "%s: role gemeente needs [peer] server_name", cfg->path);
		return UDC_EPARSE;
	}
	if (cfg->role == UDC_ROLE_CBS && cfg->peer_listen == NULL && !multi) {
		snprintf(err, errlen, "%s: role cbs needs [peer] listen", cfg->path);
		return UDC_EPARSE;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		/* with [gemeente ID] sections the key and the input are theirs */
		if (multi && (strcmp(required[i].section, "peer") == 0 ||
		    strcmp(required[i].section, "input") == 0))
			continue;
		if (!is_set(c, required[i].section, required[i].key)) {
			snprintf(err, errlen, "%s: [%s] %s is required", cfg->path,
			         required[i].section, required[i].key);
			return UDC_EPARSE;
		}
	}
	if (cfg->npeers > 0 && (rv = cfg_finish_peers(c, err, errlen)) != 0)
		return rv;
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
	for (size_t i = 0; i < cfg->npeers; i++) {
		struct udc_peer_conf *p = &cfg->peers[i];
		free(p->id);
		free(p->name);
		free(p->display_name);
		free(p->public_key);
		free(p->listen);
		free(p->ca_file);
		free(p->input_file);
		free(p->filter_column);
		free(p->filter_value);
		for (size_t f = 0; f < p->nfields; f++) {
			free(p->fields[f].field);
			free(p->fields[f].column);
		}
		free(p->fields);
		for (size_t k = 0; k < p->nlabels; k++) {
			free(p->labels[k].dim);
			free(p->labels[k].column);
		}
		free(p->labels);
	}
	free(cfg->peers);
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

const char *
udc_config_peer_field_column(const struct udc_config *cfg, const struct udc_peer_conf *p,
    const char *field)
{
	for (size_t i = 0; p && i < p->nfields; i++)
		if (strcmp(p->fields[i].field, field) == 0)
			return p->fields[i].column;
	return udc_config_field_column(cfg, field);
}

const char *
udc_config_peer_label_column(const struct udc_config *cfg, const struct udc_peer_conf *p,
    const char *dim)
{
	const char *col = p ? peer_label_column(p, dim) : NULL;

	return col ? col : udc_config_label_column(cfg, dim);
}

const struct udc_peer_conf *
udc_config_peer(const struct udc_config *cfg, const char *id)
{
	for (size_t i = 0; id && i < cfg->npeers; i++)
		if (strcmp(cfg->peers[i].id, id) == 0)
			return &cfg->peers[i];
	return NULL;
}

const char *
udc_config_peer_key_name(enum udc_peer_key k)
{
	return (unsigned)k < UDC_PK_N ? peer_keys[k].key : "?";
}
