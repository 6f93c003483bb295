/*
 * config.h - the node configuration file (INI, parsed with inih).
 *
 * One table of keys with defaults and bounds drives parsing; a finish step
 * checks cross-field rules.  Every key is documented in docs/operations.md.
 */
#ifndef UDC_CONFIG_H
#define UDC_CONFIG_H

#include <stddef.h>
#include "fields.h"

enum udc_role { UDC_ROLE_GEMEENTE = 0, UDC_ROLE_CBS = 1 };

struct udc_label_map {
	char *dim;    /* spec dimension name, e.g. "wijk" */
	char *column; /* CSV column name, e.g. "wijkcode" */
};

struct udc_field_map {
	char *field;  /* identifier field: built-in, or declared by a spec */
	char *column; /* CSV column name */
	int line;     /* where it was set */
};

/*
 * [gemeente ID] (role cbs): one gemeente peer of a CBS node that serves
 * several (docs/operations.md, "Several gemeenten").  Without such sections
 * the CBS node has one implicit peer, [peer] public_key reading [input].
 * Strings are the config's (freed with it); NULL = not set.
 */
enum udc_peer_key { UDC_PK_NAME, UDC_PK_DISPLAY_NAME, UDC_PK_PUBLIC_KEY, UDC_PK_LISTEN,
	UDC_PK_CA_FILE, UDC_PK_MAX_CONNECTIONS, UDC_PK_INPUT, UDC_PK_DELIMITER, UDC_PK_FILTER_COLUMN,
	UDC_PK_FILTER_VALUE, UDC_PK_MAX_SESSIONS, UDC_PK_PROPOSALS_PER_MINUTE, UDC_PK_N };

struct udc_peer_conf {
	char *id;              /* the section's ID: [a-z0-9][a-z0-9_-]{0,31}; names its state */
	int line;              /* the line of its first [gemeente ID] header */
	int key_line[UDC_PK_N]; /* line of each key, 0 = not set */
	char *name;            /* name: what its gemeente node proposes under (its [node] name);
	                        * default the ID */
	char *display_name;    /* display_name: for people (udcctl, metrics); default name */
	char *public_key;      /* public_key: its Ed25519 key, pinned (required) */
	char *listen;          /* listen: a TLS listener of its own, or NULL: the shared [peer] listen */
	char *ca_file;         /* ca_file: the only CA (or self-signed certificate) trusted on that
	                        * listener; NULL: [tls] ca_file (needs listen) */
	int max_connections;   /* max_connections: connections at once on its listener */
	char *input_file;      /* input: a CBS input of its own, or NULL: [input] file */
	char delimiter;        /* delimiter of that input (default [input] delimiter) */
	char *filter_column;   /* filter_column, filter_value: only the rows of its input whose */
	char *filter_value;    /* column has this value (both or neither) */
	struct udc_field_map *fields; /* field.NAME = column: overrides [fields] */
	size_t nfields;
	struct udc_label_map *labels; /* label.DIM = column: overrides [labels] */
	size_t nlabels;
	int max_sessions;      /* max_sessions: its rounds at once (default: [peer] max_sessions
	                        * divided among the peers, at least 1) */
	int proposals_per_minute; /* the same for [peer] proposals_per_minute */
};

struct udc_config {
	char *path;            /* the file this came from */
	enum udc_role role;    /* [node] role = gemeente | cbs */
	char *name;            /* [node] name (for logs and results) */
	char *state_dir;       /* [node] state_dir */
	char *control_socket;  /* [node] control_socket: filesystem path of the ipc socket */
	char *control_group;   /* [node] control_group: operators' group; socket mode 0660 (else 0600) */
	int log_level;         /* [node] log_level (UDC_LOG_*) default info */
	int use_syslog;        /* [node] log_target = stderr | syslog */
	int workers;           /* [node] workers: crypto threads, 0 = all cores (default 0, max 256) */
	char *signing_key;     /* [node] signing_key: this node's Ed25519 key (udc-keygen), mode 0600 */
	char *audit_log;       /* [node] audit_log (default STATE/audit.log) */
	int audit_checkpoint;  /* [node] audit_checkpoint: signed checkpoint every N entries (default 32) */

	char *peer_listen;     /* [peer] listen  (cbs), e.g. tls+tcp://0.0.0.0:7440 */
	char *peer_connect;    /* [peer] connect (gemeente) */
	char *server_name;     /* [peer] server_name: the name the peer's certificate must carry (gemeente) */
	int peer_timeout_ms;   /* [peer] timeout (seconds in the file; default 30, 1..3600) */
	int resend_ms;         /* [peer] resend (seconds; default 10, 1..600) */
	size_t max_message;    /* [peer] max_message bytes (default 4 MiB, 64 KiB..64 MiB) */
	size_t chunk_records;  /* [peer] chunk_records (default 4096, 16..65536) */
	int session_idle_s;    /* [peer] session_idle (seconds; default 300): CBS drops idle rounds */
	char *peer_public_key; /* [peer] public_key: the peer node's Ed25519 public key, pinned */
	/* limits (docs/security.md, "Denial of service"); CBS unless noted */
	int max_sessions;      /* [peer] max_sessions: rounds at once (default 4) */
	int proposals_per_minute; /* [peer] proposals_per_minute: signed proposals (default 30) */
	int proposal_max_age_s; /* [peer] proposal_max_age: seconds a proposal stays valid (600) */
	int max_connections;   /* [peer] max_connections: TLS connections at once (default 32) */
	int connection_idle_s; /* [peer] connection_idle: close a silent connection after (120 s) */
	int handshake_timeout_s; /* [peer] handshake_timeout: a connection must be up within (10 s) */
	int send_timeout_ms;   /* [peer] send_timeout: a reply the peer does not read (30 s) */
	int consent_wait_s;    /* [peer] consent_wait (gemeente): wait for the CBS operator (1 day) */
	int round_approval;    /* [node] round_approval (CBS): 0 automatic, 1 operator approves each round */

	char *ca_file;         /* [tls] ca_file */
	char *cert_file;       /* [tls] cert_file */
	char *key_file;        /* [tls] key_file (must be mode 0600 or stricter) */

	char *input_file;      /* [input] file: the node's person list (CSV) */
	char delimiter;        /* [input] delimiter (default ',') */
	size_t max_records;    /* [input] max_records: own list, and (CBS) the peer's (default 10^8) */
	size_t max_input_size; /* [input] max_size: bytes of the input file (default 64 GiB) */
	int reject_limit;      /* [input] reject_limit: rejected rows above this share fail the round,
	                        * in hundredths of a percent (default 1%) */
	/* [input] max_invalid: share of the rows whose value of a field may
	 * fail the field's check before the round fails (default 0.05) */
	double max_invalid;
	char **allow_invalid;  /* [input] allow_invalid: fields exempt from max_invalid */
	size_t nallow_invalid;

	struct udc_field_map *fields; /* [fields] field = CSV column, in file order */
	size_t nfields;

	struct udc_label_map *labels; /* [labels] dim = CSV column, in file order */
	size_t nlabels;

	struct udc_peer_conf *peers; /* [gemeente ID] sections (cbs), in file order */
	size_t npeers;
};

/* Loads and validates.  On failure returns UDC_EPARSE (or UDC_EIO) and puts
 * "PATH:LINE: reason" (or "PATH: reason" for cross-field rules) into err.
 * *out is only set on success; free with udc_config_free. */
int udc_config_load(const char *path, struct udc_config **out, char *err, size_t errlen);
void udc_config_free(struct udc_config *cfg);
/* CSV column mapped to a spec dimension, or NULL. */
const char *udc_config_label_column(const struct udc_config *cfg, const char *dim);
/* CSV column mapped to an identifier field, or NULL. */
const char *udc_config_field_column(const struct udc_config *cfg, const char *field);
/* 1 if [input] allow_invalid names the field. */
int udc_config_invalid_allowed(const struct udc_config *cfg, const char *field);
/* The same for peer p: its field.NAME, else [fields]. */
const char *udc_config_peer_field_column(const struct udc_config *cfg,
    const struct udc_peer_conf *p, const char *field);
/* The same for peer p: its label.DIM, else [labels]. */
const char *udc_config_peer_label_column(const struct udc_config *cfg,
    const struct udc_peer_conf *p, const char *dim);
/* The peer with this ID, or NULL. */
const struct udc_peer_conf *udc_config_peer(const struct udc_config *cfg, const char *id);
/* The key name of a peer key ("public_key", ...). */
const char *udc_config_peer_key_name(enum udc_peer_key k);

#endif
