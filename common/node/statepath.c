/*
 * statepath.c - the state directory's file names (statepath.h).
 */
#include "statepath.h"

#include <stdio.h>

#include "err.h"

static const char *const approval_ext[] = {
	[UDC_APPROVAL_SPEC] = ".spec",
	[UDC_APPROVAL_SIG] = ".sig",
	[UDC_APPROVAL_SCHEMA] = ".schema.json",
};

static int
fits(int n, size_t outlen)
{
	return n >= 0 && (size_t)n < outlen ? 0 : UDC_ELIMIT;
}

int
udc_state_approval_in(char *out, size_t outlen, const char *prefix, const char *hash_hex,
    enum udc_approval_file f)
{
	return fits(snprintf(out, outlen, "%s" UDC_STATE_APPROVALS "/%s%s", prefix, hash_hex,
	    approval_ext[f]), outlen);
}

int
udc_state_approval(char *out, size_t outlen, const char *hash_hex, enum udc_approval_file f)
{
	return udc_state_approval_in(out, outlen, "", hash_hex, f);
}

int
udc_state_round(char *out, size_t outlen, const char *idhex, const char *name)
{
	return fits(snprintf(out, outlen, UDC_STATE_ROUNDS "/%s/%s", idhex, name), outlen);
}

int
udc_state_dir_in(char *out, size_t outlen, const char *state_dir, const char *prefix,
    const char *sub)
{
	return fits(snprintf(out, outlen, "%s/%s%s", state_dir, prefix, sub), outlen);
}

int
udc_state_dir(char *out, size_t outlen, const char *state_dir, const char *sub)
{
	return udc_state_dir_in(out, outlen, state_dir, "", sub);
}

int
udc_state_rel_in(char *out, size_t outlen, const char *prefix, const char *sub)
{
	return fits(snprintf(out, outlen, "%s%s", prefix, sub), outlen);
}

int
udc_state_peer_prefix(char *out, size_t outlen, const char *gid)
{
	return fits(snprintf(out, outlen, "peers/%s/", gid), outlen);
}
