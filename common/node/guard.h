/*
 * guard.h - what NNG 1.5.2 does not do for a node facing anyone with a
 * certificate of the CA (or none): limit and watch its peer connections.
 *
 * On the CBS node (server):
 *   - at most [peer] max_connections TLS connections: a new one beyond the
 *     cap replaces the longest idle one, or is closed if none is idle;
 *   - a connection silent for [peer] connection_idle seconds is closed;
 *   - a TCP connection that has not become a connection within [peer]
 *     handshake_timeout seconds (a TLS handshake that never ends; NNG 1.5.2
 *     keeps such a socket open forever) is shut down; at most four times
 *     max_connections may be in the handshake at once (guard.c defines
 *     accept() for this: the one libnng calls);
 *   - refused TLS handshakes, protocol errors and oversized frames, which
 *     NNG only counts, are logged (rate-limited) with the peer addresses
 *     of the connections that vanished without becoming one.
 * On the gemeente node (client): failed handshakes and connects are logged
 * (rate-limited) with the CBS node's address, and the last one is kept so
 * that a round that cannot reach the CBS node says why.
 *
 * Each guard runs one thread that wakes every second.
 */
#ifndef UDC_GUARD_H
#define UDC_GUARD_H

#include <stddef.h>
#include <nng/nng.h>

struct udc_config;
struct udc_guard;

/* Starts guarding socket s (already listening or dialing per cfg->role).
 * *out is the caller's, stopped and freed with udc_guard_stop. */
int udc_guard_start(struct udc_guard **out, nng_socket s, const struct udc_config *cfg);
void udc_guard_stop(struct udc_guard *g);
/* Server: listener (an NNG listener id) takes at most max connections of
 * its own, besides the node's cap; what names it in log lines ("gemeente
 * ID").  At most UDC_GUARD_LIMITS listeners; UDC_ELIMIT beyond. */
#define UDC_GUARD_LIMITS 256 /* UDC_PEERS_MAX of config.c */
int udc_guard_listener_limit(struct udc_guard *g, int listener, int max, const char *what);
/* A message arrived on pipe p (server): it is not idle. */
void udc_guard_touch(struct udc_guard *g, nng_pipe p);
/* The last connection failure seen (client), "" if none: for a round's
 * failure reason.  Returns its count so far. */
unsigned long udc_guard_last_failure(struct udc_guard *g, char *buf, size_t len);
/* Connections now open: TLS connections and sockets still in the handshake. */
void udc_guard_counts(struct udc_guard *g, size_t *pipes, size_t *pending);

#endif
