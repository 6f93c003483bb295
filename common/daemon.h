/*
 * daemon.h - what gemeented and cbsd share: start-up, the node context, the
 * control channel and its common commands, and orderly shutdown.
 *
 * The party programs supply only their protocol role through udc_party_ops.
 */
#ifndef UDC_DAEMON_H
#define UDC_DAEMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <nng/nng.h>

#include "config.h"
#include "ctl.pb-c.h"

struct udc_workq;
struct udc_rounds;
struct udc_spec;

struct udc_node {
	struct udc_config *cfg;
	struct udc_workq *wq;
	struct udc_rounds *rounds;
	nng_socket peer;
	nng_socket ctl;
	atomic_int stopping;
	void *party; /* the party's own state */
};

struct udc_party_ops {
	enum udc_role role;
	const char *progname;
	/* After the peer socket is open, before control requests are served. */
	int (*start)(struct udc_node *n, char *err, size_t errlen);
	/* After the sockets are closed. */
	void (*stop)(struct udc_node *n);
	/* "round start": may be NULL (the node does not start rounds).  Sets
	 * rep->status / rep->error, or rep->round. */
	void (*round_start)(struct udc_node *n, const Udcctl__RoundStart *req, Udcctl__Reply *rep,
	    char *buf, size_t buflen);
};

/* Parses the command line, loads the configuration, runs until SIGTERM or
 * SIGINT.  Returns the process exit status. */
int udc_daemon_main(int argc, char **argv, const struct udc_party_ops *ops);

/* Parses spec text and, for fuzzy and combined modes, attaches the schema
 * text (required then, refused otherwise). */
int udc_spec_from_texts(const uint8_t *spec, size_t len, const uint8_t *schema, size_t slen,
    const char *name, struct udc_spec **out, char *err, size_t errlen);
/* Loads an approved spec (and its schema) from STATE/approvals by hash. */
int udc_spec_load_approved(const char *state_dir, const char *hash_hex, struct udc_spec **out,
    char *err, size_t errlen);

/* Helpers for party code. */
void udc_reply_error(Udcctl__Reply *rep, int status, char *buf, size_t buflen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Unix seconds. */
long long udc_now(void);

#endif
