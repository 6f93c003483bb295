/*
 * test_config.c - the node configuration: every key, the defaults, the
 * bounds, path resolution, each cross-field rule and the line each error
 * is reported on.
 */
#include <limits.h>
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

#include "config.h"
#include "err.h"
#include "log.h"

/* The smallest valid gemeente config: 19 lines. */
#define MIN_LINES 19
static const char min_gemeente[] = "[node]\n"
                                   "role = gemeente\n"
                                   "state_dir = /var/lib/udclink\n"
                                   "control_socket = /run/udclink/ctl.sock\n"
                                   "[peer]\n"
                                   "connect = tls+tcp://cbs.example:7440\n"
                                   "server_name = cbs.example\n"
                                   "[tls]\n"
                                   "ca_file = /etc/udclink/ca.pem\n"
                                   "cert_file = /etc/udclink/node.pem\n"
                                   "key_file = /etc/udclink/node.key\n"
                                   "[input]\n"
                                   "file = /srv/personen.csv\n"
                                   "[node]\n"
                                   "signing_key = /etc/udclink/node.sign\n"
                                   "[peer]\n"
                                   "public_key = /etc/udclink/peer.pub\n"
                                   "[fields]\n"
                                   "bsn = BSN\n";

static char tmpdir[PATH_MAX]; /* realpath of this test's directory */
static char cfgpath[PATH_MAX + 16];

static int
setup(void **state)
{
	char tmpl[] = "/tmp/test_config.XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, tmpdir) == NULL)
		return -1;
	snprintf(cfgpath, sizeof(cfgpath), "%s/node.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(cfgpath);
	rmdir(tmpdir);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int
load_text(const char *text, struct udc_config **cfg, char *err, size_t errlen)
{
	*cfg = NULL;
	write_file(cfgpath, text);
	return udc_config_load(cfgpath, cfg, err, errlen);
}

static struct udc_config *
load_ok(const char *text)
{
	struct udc_config *cfg;
	char err[512];
	int rv = load_text(text, &cfg, err, sizeof(err));

	if (rv != 0)
		fail_msg("unexpected error %d: %s", rv, err);
	assert_non_null(cfg);
	return cfg;
}

/* The error must be exactly cfgpath followed by want (":LINE: ..." or ": ...");
 * want may end in "..." to match a prefix. */
static void
expect_err(const char *text, const char *want)
{
	struct udc_config *cfg;
	char err[512], full[2 * PATH_MAX];
	size_t n;
	int rv = load_text(text, &cfg, err, sizeof(err));

	if (rv == 0)
		fail_msg("accepted, wanted \"%s\"", want);
	assert_int_equal(rv, UDC_EPARSE);
	assert_null(cfg);
	snprintf(full, sizeof(full), "%s%s", cfgpath, want);
	n = strlen(full);
	if (n > 3 && strcmp(full + n - 3, "...") == 0) {
		if (strncmp(err, full, n - 3) != 0)
			fail_msg("got \"%s\", wanted \"%s\"", err, full);
	} else if (strcmp(err, full) != 0) {
		fail_msg("got \"%s\", wanted \"%s\"", err, full);
	}
}

/* min_gemeente with the first occurrence of from replaced by to. */
static char *
edit(const char *base, const char *from, const char *to)
{
	const char *p = strstr(base, from);
	char *s;

	assert_non_null(p);
	s = malloc(strlen(base) + strlen(to) + 1);
	assert_non_null(s);
	memcpy(s, base, (size_t)(p - base));
	strcpy(s + (p - base), to);
	strcat(s, p + strlen(from));
	return s;
}

static char *
append(const char *base, const char *more)
{
	char *s = malloc(strlen(base) + strlen(more) + 1);

	assert_non_null(s);
	strcpy(s, base);
	strcat(s, more);
	return s;
}

static void
test_every_key_gemeente(void **state)
{
	struct udc_config *cfg = load_ok("[node]\n"
	                                 "role = gemeente\n"
	                                 "name = denhaag\n"
	                                 "state_dir = /var/lib/udclink\n"
	                                 "control_socket = /run/udclink/ctl.sock\n"
	                                 "log_level = debug\n"
	                                 "log_target = syslog\n"
	                                 "workers = 2\n"
	                                 "signing_key = /etc/udclink/node.sign\n"
	                                 "audit_log = /var/log/udclink/audit.log\n"
	                                 "audit_checkpoint = 10\n"
	                                 "[peer]\n"
	                                 "public_key = /etc/udclink/cbs.pub\n"
	                                 "connect = tls+tcp://cbs.example:7440\n"
	                                 "server_name = cbs.example\n"
	                                 "listen = tls+tcp4://0.0.0.0:7441\n"
	                                 "timeout = 60\n"
	                                 "resend = 5\n"
	                                 "max_message = 1048576\n"
	                                 "chunk_records = 1024\n"
	                                 "session_idle = 600\n"
	                                 "[tls]\n"
	                                 "ca_file = /etc/udclink/ca.pem\n"
	                                 "cert_file = /etc/udclink/node.pem\n"
	                                 "key_file = /etc/udclink/node.key\n"
	                                 "[input]\n"
	                                 "file = /srv/personen.csv\n"
	                                 "delimiter = semicolon\n"
	                                 "[fields]\n"
	                                 "bsn = BSN\n"
	                                 "given_names = voornamen\n"
	                                 "surname_prefix = voorvoegsel\n"
	                                 "surname = geslachtsnaam\n"
	                                 "birth_date = geboortedatum\n"
	                                 "sex = geslacht\n"
	                                 "postcode = postcode\n"
	                                 "house_number = huisnummer\n"
	                                 "[labels]\n"
	                                 "wijk = wijkcode\n"
	                                 "age_band = leeftijdsklasse\n"
	                                 "ooievaarspas = ooievaarspas\n");

	(void)state;
	assert_string_equal(cfg->path, cfgpath);
	assert_int_equal(cfg->role, UDC_ROLE_GEMEENTE);
	assert_string_equal(cfg->name, "denhaag");
	assert_string_equal(cfg->state_dir, "/var/lib/udclink");
	assert_string_equal(cfg->control_socket, "/run/udclink/ctl.sock");
	assert_int_equal(cfg->log_level, UDC_LOG_DEBUG);
	assert_int_equal(cfg->use_syslog, 1);
	assert_int_equal(cfg->workers, 2);
	assert_string_equal(cfg->peer_connect, "tls+tcp://cbs.example:7440");
	assert_string_equal(cfg->server_name, "cbs.example");
	assert_string_equal(cfg->peer_listen, "tls+tcp4://0.0.0.0:7441");
	assert_int_equal(cfg->peer_timeout_ms, 60000);
	assert_int_equal(cfg->resend_ms, 5000);
	assert_int_equal(cfg->max_message, 1048576);
	assert_int_equal(cfg->chunk_records, 1024);
	assert_int_equal(cfg->session_idle_s, 600);
	assert_string_equal(cfg->ca_file, "/etc/udclink/ca.pem");
	assert_string_equal(cfg->cert_file, "/etc/udclink/node.pem");
	assert_string_equal(cfg->key_file, "/etc/udclink/node.key");
	assert_string_equal(cfg->signing_key, "/etc/udclink/node.sign");
	assert_string_equal(cfg->audit_log, "/var/log/udclink/audit.log");
	assert_int_equal(cfg->audit_checkpoint, 10);
	assert_string_equal(cfg->peer_public_key, "/etc/udclink/cbs.pub");
	assert_string_equal(cfg->input_file, "/srv/personen.csv");
	assert_int_equal(cfg->delimiter, ';');
	assert_string_equal(udc_config_field_column(cfg, "bsn"), "BSN");
	assert_string_equal(udc_config_field_column(cfg, "given_names"), "voornamen");
	assert_string_equal(udc_config_field_column(cfg, "surname_prefix"), "voorvoegsel");
	assert_string_equal(udc_config_field_column(cfg, "surname"), "geslachtsnaam");
	assert_string_equal(udc_config_field_column(cfg, "birth_date"), "geboortedatum");
	assert_string_equal(udc_config_field_column(cfg, "sex"), "geslacht");
	assert_string_equal(udc_config_field_column(cfg, "postcode"), "postcode");
	assert_string_equal(udc_config_field_column(cfg, "house_number"), "huisnummer");
	assert_int_equal(cfg->nlabels, 3);
	assert_string_equal(cfg->labels[0].dim, "wijk");
	assert_string_equal(cfg->labels[1].dim, "age_band");
	assert_string_equal(cfg->labels[2].dim, "ooievaarspas");
	assert_string_equal(cfg->labels[1].column, "leeftijdsklasse");
	assert_string_equal(udc_config_label_column(cfg, "age_band"), "leeftijdsklasse");
	assert_null(udc_config_label_column(cfg, "income_band"));
	udc_config_free(cfg);
}

static void
test_cbs(void **state)
{
	struct udc_config *cfg = load_ok("[node]\n"
	                                 "role = cbs\n"
	                                 "state_dir = /var/lib/udclink\n"
	                                 "control_socket = /run/udclink/ctl.sock\n"
	                                 "log_level = warning\n"
	                                 "signing_key = /etc/udclink/cbs.sign\n"
	                                 "[peer]\n"
	                                 "public_key = /etc/udclink/gemeente.pub\n"
	                                 "listen = tls+tcp://0.0.0.0:7440\n"
	                                 "[tls]\n"
	                                 "ca_file = /etc/udclink/ca.pem\n"
	                                 "cert_file = /etc/udclink/node.pem\n"
	                                 "key_file = /etc/udclink/node.key\n"
	                                 "[input]\n"
	                                 "file = /srv/cbs.csv\n"
	                                 "delimiter = tab\n"
	                                 "[fields]\n"
	                                 "surname = naam\n"
	                                 "birth_date = gebdat\n"
	                                 "[labels]\n"
	                                 "income_band = ink\n");

	(void)state;
	assert_int_equal(cfg->role, UDC_ROLE_CBS);
	assert_string_equal(cfg->name, "cbs"); /* defaults to the role */
	assert_string_equal(cfg->peer_listen, "tls+tcp://0.0.0.0:7440");
	assert_null(cfg->peer_connect);
	assert_null(cfg->server_name);
	assert_int_equal(cfg->log_level, UDC_LOG_WARN);
	assert_int_equal(cfg->delimiter, '\t');
	assert_null(udc_config_field_column(cfg, "bsn"));
	assert_string_equal(udc_config_field_column(cfg, "surname"), "naam");
	assert_int_equal(cfg->nlabels, 1);
	udc_config_free(cfg);
}

static void
test_defaults(void **state)
{
	struct udc_config *cfg = load_ok(min_gemeente);

	(void)state;
	assert_string_equal(cfg->name, "gemeente");
	assert_int_equal(cfg->log_level, UDC_LOG_INFO);
	assert_int_equal(cfg->use_syslog, 0);
	assert_int_equal(cfg->workers, 0);
	assert_null(cfg->peer_listen);
	assert_int_equal(cfg->peer_timeout_ms, 30000);
	assert_int_equal(cfg->resend_ms, 10000);
	assert_int_equal(cfg->max_message, 4 * 1024 * 1024);
	assert_int_equal(cfg->chunk_records, 4096);
	assert_int_equal(cfg->session_idle_s, 300);
	assert_int_equal(cfg->delimiter, ',');
	assert_int_equal(cfg->nlabels, 0);
	assert_null(cfg->labels);
	for (int f = 1; f < UDC_NFIELDS; f++)
		assert_null(udc_config_field_column(cfg, udc_field_name((enum udc_field)f)));
	assert_int_equal(cfg->nfields, 1);
	assert_true(cfg->max_invalid == 0.05); /* [input] max_invalid default */
	assert_int_equal(cfg->nallow_invalid, 0);
	udc_config_free(cfg);
}

/* [input] max_invalid and allow_invalid; [fields] takes any field name. */
static void
test_field_checks(void **state)
{
	char *text = append(min_gemeente, "straat = Straatnaam\n[input]\nmax_invalid = 12.5%\n"
	                                  "allow_invalid = postcode , straat\n");
	struct udc_config *cfg = load_ok(text);

	(void)state;
	assert_true(cfg->max_invalid == 0.125);
	assert_int_equal(cfg->nallow_invalid, 2);
	assert_true(udc_config_invalid_allowed(cfg, "postcode"));
	assert_true(udc_config_invalid_allowed(cfg, "straat"));
	assert_false(udc_config_invalid_allowed(cfg, "bsn"));
	assert_string_equal(udc_config_field_column(cfg, "straat"), "Straatnaam");
	udc_config_free(cfg);
	free(text);
	text = append(min_gemeente, "[input]\nmax_invalid = 0.2\n");
	cfg = load_ok(text);
	assert_true(cfg->max_invalid == 0.2);
	udc_config_free(cfg);
	free(text);
}

struct bound {
	const char *section, *key;
	long long min, max;
};

static void
test_bounds(void **state)
{
	static const struct bound bounds[] = {
	    {"node", "workers", 0, 256},          {"peer", "timeout", 1, 3600},
	    {"peer", "resend", 1, 600},           {"peer", "max_message", 65536, 67108864},
	    {"peer", "chunk_records", 16, 65536}, {"peer", "session_idle", 10, 86400},
	};
	char more[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const struct bound *b = &bounds[i];
		/* keep resend < timeout whichever one is being tested */
		const char *other =
		    strcmp(b->key, "timeout") == 0 ? "resend = 1" : "timeout = 3600";
		long long ok[2] = {b->min, b->max}, bad[2] = {b->min - 1, b->max + 1};

		for (int j = 0; j < 2; j++) {
			struct udc_config *cfg;
			char *text, err[512];
			long long got;

			snprintf(more, sizeof(more), "[peer]\n%s\n[%s]\n%s = %lld\n", other,
			         b->section, b->key, ok[j]);
			text = append(min_gemeente, more);
			if (strcmp(b->key, "timeout") == 0 && ok[j] == 1) {
				/* accepted, then refused by the cross-field rule */
				expect_err(text, ": [peer] resend (1 s) must be shorter than "
				                 "timeout (1 s)");
				free(text);
				continue;
			}
			assert_int_equal(load_text(text, &cfg, err, sizeof(err)), 0);
			free(text);
			if (strcmp(b->key, "workers") == 0)
				got = cfg->workers;
			else if (strcmp(b->key, "timeout") == 0)
				got = cfg->peer_timeout_ms / 1000;
			else if (strcmp(b->key, "resend") == 0)
				got = cfg->resend_ms / 1000;
			else if (strcmp(b->key, "max_message") == 0)
				got = (long long)cfg->max_message;
			else if (strcmp(b->key, "chunk_records") == 0)
				got = (long long)cfg->chunk_records;
			else
				got = cfg->session_idle_s;
			assert_int_equal(got, ok[j]);
			udc_config_free(cfg);
		}
		for (int j = 0; j < 2; j++) {
			char *text;

			snprintf(more, sizeof(more), "[peer]\n%s\n[%s]\n%s = %lld\n", other,
			         b->section, b->key, bad[j]);
			text = append(min_gemeente, more);
			snprintf(want, sizeof(want), ":%d: %s: %lld is out of range (%lld..%lld)",
			         MIN_LINES + 4, b->key, bad[j], b->min, b->max);
			expect_err(text, want);
			free(text);
		}
		snprintf(more, sizeof(more), "[%s]\n%s = 12x\n", b->section, b->key);
		{
			char *text = append(min_gemeente, more);
			snprintf(want, sizeof(want), ":%d: %s: '12x' is not a number",
			         MIN_LINES + 2, b->key);
			expect_err(text, want);
			free(text);
		}
	}
	{
		char *text = append(min_gemeente, "[node]\nworkers = 99999999999999999999\n");
		expect_err(text, ":21: workers: 99999999999999999999 is out of range (0..256)");
		free(text);
		text = append(min_gemeente, "[node]\nworkers = \t+\n");
		expect_err(text, ":21: workers: '+' is not a number");
		free(text);
	}
}

static void
test_relative_paths(void **state)
{
	char sub[PATH_MAX + 8], path[PATH_MAX + 32], want[2 * PATH_MAX], cwd[PATH_MAX], err[512];
	struct udc_config *cfg = NULL;
	char *text;

	(void)state;
	text = edit(min_gemeente, "ca_file = /etc/udclink/ca.pem", "ca_file = certs/ca.pem");
	{
		char *t2 =
		    edit(text, "key_file = /etc/udclink/node.key", "key_file = ../keys/node.key");
		free(text);
		text = edit(t2, "/var/lib/udclink", "state");
		free(t2);
		t2 = edit(text, "file = /srv/personen.csv", "file = ./in.csv");
		free(text);
		text = t2;
	}
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/node.conf", sub);
	write_file(path, text);
	free(text);
	assert_non_null(getcwd(cwd, sizeof(cwd)));

	/* loaded by a relative name from somewhere else: still absolute */
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(udc_config_load("sub/node.conf", &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/certs/ca.pem", sub);
	assert_string_equal(cfg->ca_file, want);
	snprintf(want, sizeof(want), "%s/../keys/node.key", sub);
	assert_string_equal(cfg->key_file, want);
	snprintf(want, sizeof(want), "%s/state", sub);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/./in.csv", sub);
	assert_string_equal(cfg->input_file, want);
	assert_string_equal(cfg->cert_file, "/etc/udclink/node.pem"); /* absolute: as is */
	assert_string_equal(cfg->path, "sub/node.conf");
	udc_config_free(cfg);

	/* a bare file name in the working directory */
	assert_int_equal(chdir(sub), 0);
	assert_int_equal(udc_config_load("node.conf", &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/certs/ca.pem", sub);
	assert_string_equal(cfg->ca_file, want);
	udc_config_free(cfg);

	assert_int_equal(chdir(cwd), 0);
	unlink(path);
	rmdir(sub);
}

static void
test_cross_field(void **state)
{
	static const struct {
		const char *from, *to, *want;
	} rules[] = {
	    {"role = gemeente\n", "", ": [node] role is required (gemeente or cbs)"},
	    {"connect = tls+tcp://cbs.example:7440\n", "", ": role gemeente needs [peer] connect"},
	    {"server_name = cbs.example\n", "", ": role gemeente needs [peer] server_name"},
	    {"role = gemeente", "role = cbs", ": role cbs needs [peer] listen"},
	    {"state_dir = /var/lib/udclink\n", "", ": [node] state_dir is required"},
	    {"control_socket = /run/udclink/ctl.sock\n", "", ": [node] control_socket is required"},
	    {"ca_file = /etc/udclink/ca.pem\n", "", ": [tls] ca_file is required"},
	    {"cert_file = /etc/udclink/node.pem\n", "", ": [tls] cert_file is required"},
	    {"key_file = /etc/udclink/node.key\n", "", ": [tls] key_file is required"},
	    {"file = /srv/personen.csv\n", "", ": [input] file is required"},
	    {"bsn = BSN\n", "",
	     ": [fields] maps no identifier field; map at least one "
	     "(for example bsn = BSN)"},
	    {"server_name = cbs.example\n", "server_name = cbs.example\ntimeout = 10\n",
	     ": [peer] resend (10 s) must be shorter than timeout (10 s)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char *text = edit(min_gemeente, rules[i].from, rules[i].to);
		expect_err(text, rules[i].want);
		free(text);
	}
	/* the role's own peer key is enough; the other side's is not needed */
	{
		char *text = edit(min_gemeente, "role = gemeente", "role = cbs");
		char *t2 = edit(text, "[peer]\n", "[peer]\nlisten = tls+tcp6://[::]:7440\n");
		struct udc_config *cfg = load_ok(t2);
		assert_string_equal(cfg->peer_listen, "tls+tcp6://[::]:7440");
		udc_config_free(cfg);
		free(text);
		free(t2);
	}
}

/* A CBS node serving two gemeenten, line by line (line numbers matter). */
static const char multi_cbs[] = "[node]\n"                                  /* 1 */
                                "role = cbs\n"
                                "state_dir = /var/lib/udclink\n"
                                "control_socket = /run/udclink/ctl.sock\n"
                                "signing_key = /etc/udclink/cbs.sign\n"    /* 5 */
                                "[peer]\n"
                                "listen = tls+tcp://0.0.0.0:7440\n"
                                "max_sessions = 6\n"
                                "proposals_per_minute = 31\n"
                                "max_connections = 30\n"                   /* 10 */
                                "[tls]\n"
                                "ca_file = /etc/udclink/ca.pem\n"
                                "cert_file = /etc/udclink/cbs.pem\n"
                                "key_file = /etc/udclink/cbs.key\n"
                                "[input]\n"                                /* 15 */
                                "file = /srv/nationaal.csv\n"
                                "[fields]\n"
                                "bsn = bsn\n"
                                "[labels]\n"
                                "income_band = income_band\n"             /* 20 */
                                "[gemeente denhaag]\n"
                                "public_key = denhaag.pub\n"
                                "filter_column = gemeentecode\n"
                                "filter_value = 0518\n"
                                "display_name = Gemeente Den Haag\n"       /* 25 */
                                "[gemeente eindhoven]\n"
                                "name = Eindhoven\n"
                                "public_key = /etc/udclink/eindhoven.pub\n"
                                "listen = tls+tcp://0.0.0.0:7441\n"
                                "ca_file = eindhoven-ca.pem\n"             /* 30 */
                                "input = eindhoven.csv\n"
                                "delimiter = semicolon\n"
                                "field.bsn = BSN\n"
                                "label.income_band = inkomen\n"
                                "max_sessions = 3\n";                      /* 35 */

static void
test_peers(void **state)
{
	struct udc_config *cfg = load_ok(multi_cbs);
	const struct udc_peer_conf *dh, *eh;
	char want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(cfg->npeers, 2);
	dh = udc_config_peer(cfg, "denhaag");
	eh = udc_config_peer(cfg, "eindhoven");
	assert_non_null(dh);
	assert_non_null(eh);
	assert_null(udc_config_peer(cfg, "groningen"));
	assert_null(cfg->peer_public_key);
	/* the name defaults to the ID, the display name to the name */
	assert_string_equal(dh->name, "denhaag");
	assert_string_equal(dh->display_name, "Gemeente Den Haag");
	assert_string_equal(eh->name, "Eindhoven");
	assert_string_equal(eh->display_name, "Eindhoven");
	assert_int_equal(dh->line, 21);
	assert_int_equal(eh->line, 26);
	assert_int_equal(eh->key_line[UDC_PK_CA_FILE], 30);
	/* relative paths against the file's directory */
	snprintf(want, sizeof(want), "%s/denhaag.pub", tmpdir);
	assert_string_equal(dh->public_key, want);
	snprintf(want, sizeof(want), "%s/eindhoven-ca.pem", tmpdir);
	assert_string_equal(eh->ca_file, want);
	snprintf(want, sizeof(want), "%s/eindhoven.csv", tmpdir);
	assert_string_equal(eh->input_file, want);
	assert_null(dh->listen);
	assert_null(dh->input_file);
	assert_string_equal(eh->listen, "tls+tcp://0.0.0.0:7441");
	assert_string_equal(dh->filter_column, "gemeentecode");
	assert_string_equal(dh->filter_value, "0518");
	assert_int_equal(eh->delimiter, ';');
	assert_int_equal(dh->delimiter, 0); /* [input] delimiter */
	/* field.NAME overrides [fields] for its input; a declared field too */
	assert_string_equal(udc_config_peer_field_column(cfg, eh, "bsn"), "BSN");
	assert_string_equal(udc_config_peer_field_column(cfg, dh, "bsn"), "bsn");
	assert_int_equal(dh->nfields, 0);
	assert_string_equal(udc_config_peer_label_column(cfg, eh, "income_band"), "inkomen");
	assert_string_equal(udc_config_peer_label_column(cfg, dh, "income_band"), "income_band");
	/* limits: set, or the node's divided among the gemeenten */
	assert_int_equal(eh->max_sessions, 3);
	assert_int_equal(dh->max_sessions, 3);
	assert_int_equal(dh->proposals_per_minute, 15);
	assert_int_equal(eh->proposals_per_minute, 15);
	/* two listeners (the shared one and Eindhoven's) share 30 connections */
	assert_int_equal(eh->max_connections, 15);
	assert_int_equal(dh->max_connections, 0);
	assert_string_equal(udc_config_peer_key_name(UDC_PK_FILTER_VALUE), "filter_value");
	udc_config_free(cfg);
}

static void
test_peer_errors(void **state)
{
	static const struct {
		const char *from, *to, *want;
	} rules[] = {
	    /* keys and values of a section, on their line */
	    {"[gemeente denhaag]\n", "[gemeente Den Haag]\n",
	     ":22: [gemeente Den Haag]: the ID must be 1 to 32 of a-z, 0-9, _ and -, starting with a "
	     "letter or digit (it names the gemeente's state directory and udcctl --peer); its "
	     "display_name may be anything"},
	    {"display_name = Gemeente Den Haag\n", "server_name = x\n",
	     ":25: unknown key 'server_name' in [gemeente denhaag]"},
	    {"display_name = Gemeente Den Haag\n", "public_key = b.pub\n",
	     ":25: duplicate key 'public_key' in [gemeente denhaag] (first on line 22)"},
	    {"field.bsn = BSN\n", "field.Bsn = BSN\n", ":33: 'Bsn' in field.Bsn of [gemeente "
	     "eindhoven] is not a field name (a-z first, then a-z, 0-9 and _; built-in: bsn, "
	     "given_names, surname_prefix, surname, birth_date, sex, postcode, house_number; others "
	     "are declared by a spec)"},
	    {"field.bsn = BSN\n", "field.bsn = BSN\nfield.bsn = X\n",
	     ":34: duplicate key 'field.bsn' in [gemeente eindhoven] (first on line 33)"},
	    {"label.income_band = inkomen\n", "label.Inkomen = inkomen\n",
	     ":34: label dimension 'Inkomen' must be made of a-z, 0-9 and _"},
	    {"max_sessions = 3\n", "max_sessions = 65\n", ":35: max_sessions: 65 is out of range (1..64)"},
	    {"listen = tls+tcp://0.0.0.0:7441\n", "listen = tcp://0.0.0.0:7441\n",
	     ":29: listen must be a tls+tcp:// address, not 'tcp://0.0.0.0:7441'"},
	    /* rules over several keys, at the line they concern */
	    {"[peer]\n", "[peer]\npublic_key = gemeente.pub\n",
	     ":7: [peer] public_key is for a CBS node that serves one gemeente; with [gemeente ID] "
	     "sections each gemeente's key is the public_key of its section"},
	    {"public_key = denhaag.pub\n", "",
	     ":21: [gemeente denhaag] needs public_key (the gemeente node's Ed25519 public key)"},
	    {"listen = tls+tcp://0.0.0.0:7441\n", "",
	     ":29: [gemeente eindhoven] ca_file needs a listen of its own: the shared [peer] listen "
	     "trusts [tls] ca_file"},
	    {"filter_value = 0518\n", "",
	     ":23: [gemeente denhaag] needs both filter_column and filter_value, or neither"},
	    {"file = /srv/nationaal.csv\n", "",
	     ":20: [gemeente denhaag] has no input and [input] file is not set: give it one of the two"},
	    {"listen = tls+tcp://0.0.0.0:7441\n", "listen = tls+tcp://0.0.0.0:7440\n",
	     ":29: [gemeente eindhoven] listen tls+tcp://0.0.0.0:7440 is the shared [peer] listen: "
	     "leave it out to use that one"},
	    {"name = Eindhoven\n", "name = denhaag\n",
	     ":27: [gemeente denhaag] and [gemeente eindhoven] both have the name 'denhaag'"},
	    {"input = eindhoven.csv\n", "filter_column = gemeentecode\nfilter_value = 0518\n",
	     ":26: [gemeente denhaag] and [gemeente eindhoven] read the same CBS input "
	     "/srv/nationaal.csv: give each a filter_value of the same filter_column, different from "
	     "the other's, so that their CBS populations do not overlap (each keeps its own release "
	     "history and privacy budget)"},
	    {"input = eindhoven.csv\n", "filter_column = provincie\nfilter_value = NB\n",
	     ":26: [gemeente denhaag] and [gemeente eindhoven] read the same CBS input ..."},
	    {"input = eindhoven.csv\n", "", ":26: [gemeente denhaag] and [gemeente eindhoven] read the "
	     "same CBS input ..."},
	    {"listen = tls+tcp://0.0.0.0:7440\nmax_sessions = 6\n", "max_sessions = 6\n",
	     ":20: role cbs needs [peer] listen: [gemeente denhaag] has no listen of its own"},
	    {"role = cbs\n", "role = gemeente\n", ":21: [gemeente denhaag]: gemeente sections are for a "
	     "CBS node (role cbs) that serves several gemeenten"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char *text = edit(multi_cbs, rules[i].from, rules[i].to);
		expect_err(text, rules[i].want);
		free(text);
	}
	/* every gemeente on a listener of its own: no shared [peer] listen needed */
	{
		char *t1 = edit(multi_cbs, "listen = tls+tcp://0.0.0.0:7440\n", "");
		char *t2 = edit(t1, "display_name = Gemeente Den Haag\n",
		    "listen = tls+tcp://0.0.0.0:7442\nmax_connections = 9\n");
		struct udc_config *cfg = load_ok(t2);
		assert_null(cfg->peer_listen);
		assert_int_equal(udc_config_peer(cfg, "denhaag")->max_connections, 9);
		assert_int_equal(udc_config_peer(cfg, "eindhoven")->max_connections, 15);
		udc_config_free(cfg);
		free(t1);
		free(t2);
	}
	/* the same file with different values of one column is fine */
	{
		char *t1 = edit(multi_cbs, "input = eindhoven.csv\n",
		    "filter_column = gemeentecode\nfilter_value = 0772\n");
		struct udc_config *cfg = load_ok(t1);
		assert_string_equal(udc_config_peer(cfg, "eindhoven")->filter_value, "0772");
		udc_config_free(cfg);
		free(t1);
	}
	/* a single gemeente keeps the old form: [peer] public_key and [input] */
	{
		char *t1 = edit(min_gemeente, "role = gemeente", "role = cbs");
		char *t2 = edit(t1, "[peer]\n", "[peer]\nlisten = tls+tcp://0.0.0.0:7440\n");
		struct udc_config *cfg = load_ok(t2);
		assert_int_equal(cfg->npeers, 0);
		assert_non_null(cfg->peer_public_key);
		udc_config_free(cfg);
		free(t1);
		free(t2);
	}
}

static void
test_line_errors(void **state)
{
	char *text;

	(void)state;
	/* an unknown key on line 7 is reported on line 7 */
	text = edit(min_gemeente, "server_name = cbs.example\n", "server_nmae = cbs.example\n");
	expect_err(text, ":7: unknown key 'server_nmae' in [peer]");
	free(text);

	text = append(min_gemeente, "[nodes]\nrole = cbs\n");
	expect_err(text, ":20: unknown section [nodes]");
	free(text);
	text = append(min_gemeente, "[node]\nrole = cbs\n");
	expect_err(text, ":21: duplicate key 'role' in [node] (first on line 2)");
	free(text);
	text = append(min_gemeente, "postcode = pc\nbsn = bsn2\n");
	expect_err(text, ":21: duplicate key 'bsn' in [fields] (first on line 19)");
	free(text);
	/* any field name is accepted (a spec may declare it); a name that
	 * cannot be a field is not */
	text = append(min_gemeente, "Birth-date = geboortedatum\n");
	expect_err(text, ":20: 'Birth-date' in [fields] is not a field name...");
	free(text);
	text = append(min_gemeente, "[input]\nmax_invalid = 1.5\n");
	expect_err(text, ":21: max_invalid must be a share from 0 to 1 or a percentage, not '1.5'");
	free(text);
	text = append(min_gemeente, "[input]\nallow_invalid = postcode, 9x\n");
	expect_err(text, ":21: allow_invalid: '9x' is not a field name");
	free(text);
	text = append(min_gemeente, "[labels]\nwijk = a\nage = b\nwijk = c\n");
	expect_err(text, ":23: duplicate key 'wijk' in [labels]");
	free(text);
	text = append(min_gemeente, "[labels]\nWijk = a\n");
	expect_err(text, ":21: label dimension 'Wijk' must be made of a-z, 0-9 and _");
	free(text);
	text = edit(min_gemeente, "role = gemeente", "role = municipality");
	expect_err(text, ":2: role must be gemeente or cbs, not 'municipality'");
	free(text);
	text = edit(min_gemeente, "/var/lib/udclink\n", "/var/lib/udclink\nlog_level = loud\n");
	expect_err(text, ":4: log_level must be error, warning, info or debug, not 'loud'");
	free(text);
	text = edit(min_gemeente, "/var/lib/udclink\n", "/var/lib/udclink\nlog_target = file\n");
	expect_err(text, ":4: log_target must be stderr or syslog, not 'file'");
	free(text);
	text = edit(min_gemeente, "tls+tcp://cbs.example:7440", "tcp://cbs.example:7440");
	expect_err(text, ":6: connect must be a tls+tcp:// address, not 'tcp://cbs.example:7440'");
	free(text);
	text = edit(min_gemeente, "server_name = cbs.example", "server_name =");
	expect_err(text, ":7: empty value for 'server_name'");
	free(text);
	text = edit(min_gemeente, "server_name = cbs.example\n",
	            "server_name = cbs.example\n  cbs2.example\n");
	expect_err(text, ":8: indented line would continue the value of 'server_name'; remove "
	                 "the leading white space");
	free(text);
	text = append("role = cbs\n", min_gemeente);
	expect_err(text, ":1: key 'role' is outside any [section]");
	free(text);
	text = edit(min_gemeente, "[tls]\n", "[tls]\njust some words\n");
	expect_err(text, ":9: syntax error: expected [section] or key = value");
	free(text);
	text = edit(min_gemeente, "[tls]\n", "[tls\n");
	expect_err(text, ":8: syntax error: expected [section] or key = value");
	free(text);
	{
		char sock[256], line[300];
		memset(sock, 'x', 120);
		sock[120] = '\0';
		snprintf(line, sizeof(line), "control_socket = /%s\n", sock);
		text = edit(min_gemeente, "control_socket = /run/udclink/ctl.sock\n", line);
		expect_err(text, ":4: control_socket path is longer than 107 bytes once resolved");
		free(text);
	}
	{
		char line[400];
		memset(line, 'x', sizeof(line));
		memcpy(line, "name = ", 7);
		strcpy(line + 250, "\n");
		text = append("[node]\n", line);
		expect_err(text, ":2: line longer than...");
		free(text);
	}
}

static void
test_delimiters(void **state)
{
	static const struct {
		const char *value;
		char want;
	} ok[] = {{"comma", ','}, {"semicolon", ';'}, {"tab", '\t'}, {"pipe", '|'},
	          {"|", '|'},     {"=;", ';'},        {":", ':'}};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct udc_config *cfg;
		char *text;

		/* "delimiter =;" has no blank before ';', so it is not a comment */
		snprintf(line, sizeof(line), "[input]\ndelimiter %s%s\n",
		         ok[i].value[0] == '=' ? "" : "= ", ok[i].value);
		text = append(min_gemeente, line);
		cfg = load_ok(text);
		assert_int_equal(cfg->delimiter, ok[i].want);
		udc_config_free(cfg);
		free(text);
	}
	{
		char *text = append(min_gemeente, "[input]\ndelimiter = ab\n");
		expect_err(text, ":21: delimiter must be one character or comma, semicolon, tab "
		                 "or pipe, not 'ab'");
		free(text);
		/* ' ;' starts a comment, which leaves the value empty */
		text = append(min_gemeente, "[input]\ndelimiter = ;\n");
		expect_err(text, ":21: empty value for 'delimiter'");
		free(text);
	}
}

static void
test_comments_and_layout(void **state)
{
	struct udc_config *cfg = load_ok("; udclink node\r\n"
	                                 "# gemeente Den Haag\r\n"
	                                 "[node]\r\n"
	                                 "role=gemeente ; who we are\r\n"
	                                 "state_dir   =   /var/lib/udclink   \r\n"
	                                 "control_socket : /run/udclink/ctl.sock\r\n"
	                                 "signing_key = /etc/udclink/node.sign\r\n"
	                                 "[peer]\r\n"
	                                 "public_key = /etc/udclink/peer.pub\r\n"
	                                 "connect = tls+tcp://cbs.example:7440\r\n"
	                                 "server_name = cbs.example\r\n"
	                                 "[tls]\r\n"
	                                 "ca_file = /etc/udclink/ca.pem\r\n"
	                                 "cert_file = /etc/udclink/node.pem\r\n"
	                                 "key_file = /etc/udclink/node.key\r\n"
	                                 "[input]\r\n"
	                                 "file = /srv/personen.csv\r\n"
	                                 "[fields]\r\n"
	                                 "bsn = BSN nummer\r\n");

	(void)state;
	assert_string_equal(cfg->state_dir, "/var/lib/udclink");
	assert_string_equal(cfg->control_socket, "/run/udclink/ctl.sock");
	assert_string_equal(udc_config_field_column(cfg, "bsn"), "BSN nummer");
	udc_config_free(cfg);
}

static void
test_unreadable(void **state)
{
	struct udc_config *cfg = NULL;
	char err[512], want[2 * PATH_MAX], path[PATH_MAX + 16];
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	assert_int_equal(udc_config_load(path, &cfg, err, sizeof(err)), UDC_EIO);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);

	/* over 1 MiB is refused before parsing */
	fp = fopen(cfgpath, "w");
	assert_non_null(fp);
	fputs(min_gemeente, fp);
	for (int i = 0; i < 1024 * 1024 / 16; i++)
		fputs("; padding .....\n", fp);
	fclose(fp);
	assert_int_equal(udc_config_load(cfgpath, &cfg, err, sizeof(err)), UDC_EPARSE);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", cfgpath);
	assert_string_equal(err, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_key_gemeente),
	    cmocka_unit_test(test_cbs),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_field_checks),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_relative_paths),
	    cmocka_unit_test(test_cross_field),
	    cmocka_unit_test(test_peers),
	    cmocka_unit_test(test_peer_errors),
	    cmocka_unit_test(test_line_errors),
	    cmocka_unit_test(test_delimiters),
	    cmocka_unit_test(test_comments_and_layout),
	    cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
