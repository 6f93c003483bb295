/*
 * nodecheck.h - checks of a node's surroundings: the deep --check-config
 * (every file the configuration names, modes and owners, the TLS
 * certificate against its key and CA, expiry, the input's header), and the
 * probes "udcctl node status" and the metrics use.
 */
#ifndef UDC_NODECHECK_H
#define UDC_NODECHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct udc_config;

/* Runs every check, printing one line per finding to out ("error: ..." or
 * "warning: ...", each naming the file and saying what to do) and a last
 * line "configuration OK" or "configuration has N errors".  Returns the
 * number of errors (warnings do not count). */
int udc_config_check_deep(const struct udc_config *cfg, FILE *out);

/* Whether [tls] cert_file was issued for [tls] key_file: 0, or UDC_EINVAL
 * with the reason in err (UDC_EIO / UDC_EPARSE when a file cannot be read
 * or holds no PEM certificate or key).  Daemons run it at start-up: NNG
 * 1.5 (mbedTLS) accepts a certificate with another certificate's key and
 * only fails each handshake later. */
int udc_tls_pair_check(const char *cert_file, const char *key_file, char *err, size_t errlen);

/* Expiry (unix seconds) of the first certificate in a PEM file, and
 * whether it is a CA.  0, or UDC_EIO / UDC_EPARSE with err set (err may be
 * NULL). */
int udc_cert_info(const char *path, int64_t *not_after, int *is_ca, char *err, size_t errlen);

/* TCP connect to the host and port of a tls+tcp:// URL within timeout_ms,
 * then close: 0 if it connected; otherwise a negative udc_err with the
 * reason in err.  (cbsd's TLS listener keeps accepting after such a bare
 * connection; tests/integration/test_ops.py checks it.) */
int udc_peer_probe(const char *url, int timeout_ms, char *err, size_t errlen);

#endif
