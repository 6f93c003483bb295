/*
 * transport.h - NNG sockets: the peer link over mutual TLS and a
 * synchronous request helper.  (The local control channel is ctl.h.)
 *
 * Every socket gets NNG_OPT_RECVMAXSZ before it starts, so a peer cannot make
 * NNG allocate what a length prefix claims.  TLS: auth mode REQUIRED on both
 * ends, only the configured CA trusted, the CBS certificate's name checked
 * by the gemeente.  The private key is read into locked memory and wiped
 * once NNG has parsed it.
 */
#ifndef UDC_TRANSPORT_H
#define UDC_TRANSPORT_H

#include <stddef.h>
#include <nng/nng.h>

struct udc_config;

/* Peer socket: rep0 listening (CBS) or req0 dialing (gemeente). */
int udc_peer_open(nng_socket *out, const struct udc_config *cfg, char *err, size_t errlen);
/* The same, with a pipe callback for NNG_PIPE_EV_ADD_POST and REM_POST
 * registered before the socket connects, so no event is missed. */
int udc_peer_open_notify(nng_socket *out, const struct udc_config *cfg, nng_pipe_cb cb, void *arg,
    char *err, size_t errlen);
/* The CBS node's rep0 socket with every listener of cfg: the shared [peer]
 * listen (trusting [tls] ca_file) and each [gemeente ID] listen (trusting
 * its ca_file).  listeners (cfg->npeers + 1 entries) receives their NNG
 * listener ids: [0] the shared one, [1 + i] peer i's own; 0 = none. */
int udc_peer_open_cbs(nng_socket *out, const struct udc_config *cfg, int *listeners, char *err,
    size_t errlen);
/* Sends len bytes on a req0 socket and waits for the reply (socket timeouts
 * apply).  *reply is owned by the caller (nng_msg_free).  Returns 0,
 * UDC_ETIMEDOUT, UDC_ECLOSED or UDC_EIO. */
int udc_req_call(nng_socket s, const void *buf, size_t len, nng_msg **reply);
/* The same on a context of its own, so that several requests may be in
 * flight on one socket (one per calling thread): resend after resend_ms,
 * give up after timeout_ms.  *reply is the caller's.  The benchmark's
 * UDC_BENCH_PEER_DELAY_MS=D (environment) adds D ms before the send and D ms
 * after the reply, a simulated WAN latency (transport.c). */
int udc_req_call_ctx(nng_socket s, int timeout_ms, int resend_ms, const void *buf, size_t len,
    nng_msg **reply);
/* Maps an NNG error to a udc_err. */
int udc_nng_err(int nngrv);

#endif
