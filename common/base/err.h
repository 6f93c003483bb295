/*
 * err.h - the one error enum of udclink.
 *
 * Every function that can fail returns 0 or a negative udc_err.  Callers
 * propagate the code; only main() turns it into an exit status.
 */
#ifndef UDC_ERR_H
#define UDC_ERR_H

enum udc_err {
	UDC_OK = 0,
	UDC_ENOMEM = -1,    /* allocation failed */
	UDC_EIO = -2,       /* file or socket I/O failed (see errno / log) */
	UDC_EINVAL = -3,    /* bad argument or value */
	UDC_EPARSE = -4,    /* malformed file contents */
	UDC_EPROTO = -5,    /* malformed or unexpected peer message */
	UDC_ECRYPTO = -6,   /* a cryptographic operation failed (bad point, ...) */
	UDC_ETIMEDOUT = -7, /* the peer did not answer in time */
	UDC_EPEER = -8,     /* the peer refused or reported an error */
	UDC_ENOTFOUND = -9, /* no such round, spec, file, column */
	UDC_EEXIST = -10,   /* already exists */
	UDC_ESTATE = -11,   /* not allowed in the current state */
	UDC_EREFUSED = -12, /* refused by policy (spec not approved, ...) */
	UDC_ELIMIT = -13,   /* a configured limit was exceeded */
	UDC_EPERM = -14,    /* permissions (key file mode, ...) */
	UDC_ECLOSED = -15,  /* shutting down */
};

/* Static text for an error code; never NULL. */
const char *udc_strerror(int err);

#endif
