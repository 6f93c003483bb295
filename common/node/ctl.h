/*
 * ctl.h - the local control channel between udcctl and a daemon: a Unix
 * stream socket carrying length-prefixed ctl.proto messages.
 *
 * Frame: 4-byte big-endian length, then that many bytes (a packed
 * Udcctl.Request from the client, a packed Udcctl.Reply from the daemon).
 * A connection may carry several requests, one after the other.
 *
 * Why not NNG: NNG 1.5.2 (Debian 12) stops accepting on a listener for good
 * when a client closes during the SP handshake (nanomsg/nng#1518, fixed in
 * 1.6), so one bare connect and close took the control channel down.  This
 * server polls every connection without blocking, drops a connection that
 * is idle, slow or malformed, and keeps accepting whatever a client does.
 */
#ifndef UDC_CTL_H
#define UDC_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UDC_CTL_REQUEST_MAX (4u * 1024 * 1024)   /* a spec and its schema, with room */
#define UDC_CTL_REPLY_MAX (32u * 1024 * 1024)    /* results come in pieces of 8 MiB */

/* Who sent a request: from the socket's peer credentials (SO_PEERCRED). */
struct udc_ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64]; /* the uid's user name, or the number if it has none */
};

/* Serves one request.  Sets *rep (malloc'd, the server frees it) and
 * *replen; *rep == NULL drops the connection. */
typedef void (*udc_ctl_fn)(void *arg, const uint8_t *req, size_t len, const struct udc_ctl_peer *who,
    uint8_t **rep, size_t *replen);

struct udc_ctl;

/* Binds PATH (replacing a stale socket, refusing one a live daemon
 * answers on), gives it mode 0600, or 0660 and group GROUP when GROUP is
 * not NULL, and starts the serving thread.  The thread calls fn for each
 * request, one at a time.  Returns 0 or a negative udc_err with err set. */
int udc_ctl_open(struct udc_ctl **out, const char *path, const char *group, udc_ctl_fn fn, void *arg,
    char *err, size_t errlen);
/* Stops the thread, closes every connection and removes the socket file.
 * NULL is a no-op. */
void udc_ctl_close(struct udc_ctl *c);
/* Connections served and dropped since start (for metrics). */
void udc_ctl_counts(const struct udc_ctl *c, uint64_t *requests, uint64_t *dropped);

/* Milliseconds since the serving thread last went round its loop (it does
 * at least every 250 ms): the watchdog's sign that it is not stuck. */
long long udc_ctl_stalled_ms(const struct udc_ctl *c);

/* Client side.  udc_ctl_connect: 0, UDC_ENOTFOUND (no socket there),
 * UDC_EREFUSED (nobody listening), UDC_EPERM (not in the socket's group) or
 * UDC_EIO, with err set.  udc_ctl_call sends one request and waits at most timeout_ms for
 * the whole reply: 0 with *rep malloc'd (caller frees), UDC_ETIMEDOUT,
 * UDC_EPROTO (oversized or cut reply) or UDC_EIO. */
int udc_ctl_connect(const char *path, int *fd, char *err, size_t errlen);
int udc_ctl_call(int fd, const void *req, size_t len, int timeout_ms, uint8_t **rep, size_t *replen);

#endif
