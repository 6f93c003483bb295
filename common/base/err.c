/* err.c - text for the udc_err codes. */
#include "err.h"

const char *
udc_strerror(int err)
{
	switch (err) {
	case UDC_OK: return "success";
	case UDC_ENOMEM: return "out of memory";
	case UDC_EIO: return "input/output error";
	case UDC_EINVAL: return "invalid value";
	case UDC_EPARSE: return "parse error";
	case UDC_EPROTO: return "protocol error";
	case UDC_ECRYPTO: return "cryptographic failure";
	case UDC_ETIMEDOUT: return "peer timed out";
	case UDC_EPEER: return "peer reported an error";
	case UDC_ENOTFOUND: return "not found";
	case UDC_EEXIST: return "already exists";
	case UDC_ESTATE: return "not allowed in this state";
	case UDC_EREFUSED: return "refused";
	case UDC_ELIMIT: return "limit exceeded";
	case UDC_EPERM: return "permission denied";
	case UDC_ECLOSED: return "shutting down";
	}
	return "unknown error";
}
