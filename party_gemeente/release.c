/*
 * release.c - the end of a round at the gemeente: ask for the result,
 * check its signature and store it, then sign the transcript with the CBS
 * node and exchange signed audit heads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blind.h"
#include "clkctx.h"
#include "err.h"
#include "log.h"
#include "result.h"
#include "roundkey.h"
#include "round.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "roundsig.h"
#include <sodium.h>


/* All CBS tuples are back: commit to our input (its digest and the number
 * of tuples we uploaded, signed) and wait until CBS has linked and counted.
 * The table itself comes with the seal. */
int
gem_finish(struct gem_round *r, const struct udc_input_stats *gst, uint64_t records)
{
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__InputReport rep = UDC__INPUT_REPORT__INIT;
	uint8_t sd[UDC_COMMIT_SIGDATA_BYTES], sig[UDC_SIGN_BYTES], rh[32], *packed = NULL;
	size_t plen;
	int rv;

	if ((rv = udc_report_to_proto(gst, r->spec->nkeys, &rep)) != 0)
		return rv;
	plen = udc__input_report__get_packed_size(&rep);
	if ((packed = malloc(plen ? plen : 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	udc__input_report__pack(&rep, packed);
	crypto_hash_sha256(rh, packed, plen);
	udc_commit_sigdata(r->job->round_id, r->spec->hash, r->input_digest, records, rh, sd);
	if ((rv = udc_sign(r->n->sk, UDC_SIGN_COMMIT, sd, sizeof(sd), sig)) != 0) {
		gem_fail(r, "cannot sign the commitment to our input: %s", udc_strerror(rv));
		goto out;
	}
	fin.gemeente_input = &rep;
	fin.input_digest.data = r->input_digest;
	fin.input_digest.len = 32;
	fin.g_records = records;
	fin.commit_sig.data = sig;
	fin.commit_sig.len = sizeof(sig);
	for (;;) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *reply = NULL;
		int ready;

		req.body_case = UDC__ENVELOPE__BODY_FINISH;
		req.finish = &fin;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_COUNTED, &reply)) != 0)
			break;
		ready = reply->counted->ready;
		udc_wire_free(reply);
		if (ready)
			break;
		usleep(100 * 1000);
	}
out:
	free(packed);
	udc_report_proto_free(&rep);
	return rv;
}

int
gem_store_result(struct gem_round *r, const Udc__Result *res, const struct udc_input_stats *gst,
    int64_t started)
{
	struct udc_result_meta m;
	struct udc_table *t = NULL;
	char *json = NULL, *csv = NULL, rel[96], why[256];
	size_t csvlen;
	int rv;

	if ((rv = udc_table_from_result(res, r->spec, &t, why, sizeof(why))) != 0) {
		gem_fail(r, "bad result from the CBS node: %s", why);
		return rv;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.round_id, sizeof(m.round_id), "%s", r->job->idhex);
	snprintf(m.spec_hash, sizeof(m.spec_hash), "%s", r->spec_hex);
	m.spec = r->spec;
	m.started = started;
	m.finished = (int64_t)time(NULL);
	snprintf(m.gemeente_name, sizeof(m.gemeente_name), "%s", r->n->cfg->name);
	snprintf(m.cbs_name, sizeof(m.cbs_name), "%s", "cbs");
	m.g = *gst;
	snprintf(m.release_note, sizeof(m.release_note), "%s", res->release_note ? res->release_note : "");
	if ((rv = udc_report_from_proto(res->cbs_input, r->spec->nkeys, &m.c, why, sizeof(why))) != 0) {
		gem_fail(r, "bad result from the CBS node: %s", why);
		goto out;
	}
	if (res->n_links_per_key != r->spec->nkeys) {
		gem_fail(r, "bad result from the CBS node: %zu link counts for %zu keys", res->n_links_per_key,
		    r->spec->nkeys);
		rv = UDC_EPROTO;
		goto out;
	}
	for (size_t j = 0; j < r->spec->nkeys; j++)
		m.links_per_key[j] = res->links_per_key[j];
	if (udc_spec_fuzzy(r->spec)) {
		if (res->n_fuzzy_bands != 4 || res->n_fuzzy_band_lo != 5) {
			gem_fail(r, "bad result from the CBS node: no linkage report");
			rv = UDC_EPROTO;
			goto out;
		}
		m.fuzzy_links = res->fuzzy_links;
		memcpy(m.fuzzy_bands, res->fuzzy_bands, sizeof(m.fuzzy_bands));
		memcpy(m.band_lo, res->fuzzy_band_lo, sizeof(m.band_lo));
	}
	m.suppressed = udc_table_suppressed(t);
	if ((json = udc_result_json(&m, t)) == NULL || (rv = udc_result_csv(t, r->spec, &csv, &csvlen)) != 0) {
		gem_fail(r, "cannot format the result");
		rv = UDC_ENOMEM;
		goto out;
	}
	/* The CBS node signed the table it released: check before storing. */
	{
		uint8_t sd[80];
		char line[160], hex[65];
		udc_result_sigdata(r->job->round_id, r->spec->hash, csv, csvlen, sd);
		if (res->result_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_RESULT, sd, sizeof(sd),
		    res->result_sig.data) != 0) {
			gem_fail(r, "the released table is not signed by the CBS node's pinned key %s",
			    r->n->peer_fpr);
			rv = UDC_ECRYPTO;
			goto out;
		}
		snprintf(line, sizeof(line), "signed by the CBS node's key %s (verified)\n",
		    r->n->peer_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/signer.txt", r->job->idhex);
		if ((rv = udc_store_write(r->n->cfg->state_dir, rel, line, strlen(line))) != 0)
			goto io;
		udc_result_sig_store(r->n, r->job->idhex, res->result_sig.data);
		udc_hex(sd + 48, 32, hex);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", r->job->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("signer", r->n->peer_fpr) };
		udc_node_audit(r->n, UDC_AUDIT_RESULT_RELEASED, f, UDC_AUDIT_NFIELDS(f));
	}
	snprintf(rel, sizeof(rel), "rounds/%s/result.csv", r->job->idhex);
	if ((rv = udc_store_write(r->n->cfg->state_dir, rel, csv, csvlen)) != 0)
		goto io;
	snprintf(rel, sizeof(rel), "rounds/%s/result.json", r->job->idhex);
	if ((rv = udc_store_write(r->n->cfg->state_dir, rel, json, strlen(json))) != 0)
		goto io;
	goto out;
io:
	gem_fail(r, "cannot store the result in %s: %s", r->n->cfg->state_dir, udc_strerror(rv));
out:
	free(json);
	free(csv);
	udc_table_free(t);
	return rv;
}

/* Both nodes sign the transcript hash and exchange signed audit heads;
 * CBS hands over the released table with its half (*out, the caller frees). */
int
gem_seal(struct gem_round *r, Udc__Envelope **out)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Seal sl = UDC__SEAL__INIT;
	struct udc_audit_signed_head head, peer;
	uint8_t th[32], sd[48], sig[UDC_SIGN_BYTES];
	char hex[65], json[512], rel[96];
	int rv;

	*out = NULL;
	udc_transcript_hash(&r->tx, th);
	memcpy(sd, r->job->round_id, 16);
	memcpy(sd + 16, th, 32);
	if ((rv = udc_sign(r->n->sk, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd), sig)) != 0 ||
	    (rv = udc_audit_checkpoint(r->n->audit, &head)) != 0) {
		gem_fail(r, "cannot sign the transcript: %s", udc_strerror(rv));
		return rv;
	}
	sl.transcript_hash.data = th;
	sl.transcript_hash.len = 32;
	sl.transcript_sig.data = sig;
	sl.transcript_sig.len = sizeof(sig);
	sl.audit_seq = head.seq;
	sl.audit_hash.data = head.hash;
	sl.audit_hash.len = 32;
	sl.audit_sig.data = head.sig;
	sl.audit_sig.len = sizeof(head.sig);
	req.body_case = UDC__ENVELOPE__BODY_SEAL;
	req.seal = &sl;
	if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_SEAL, &rep)) != 0)
		return rv;
	const Udc__Seal *ps = rep->seal;
	if (ps->transcript_hash.len != 32 || memcmp(ps->transcript_hash.data, th, 32) != 0) {
		gem_fail(r, "transcript mismatch: the CBS node saw other messages than this node");
		rv = UDC_EPEER;
		goto out;
	}
	if (ps->transcript_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd),
	    ps->transcript_sig.data) != 0) {
		gem_fail(r, "the CBS node's transcript signature does not verify against key %s",
		    r->n->peer_fpr);
		rv = UDC_ECRYPTO;
		goto out;
	}
	if (ps->audit_hash.len != 32 || ps->audit_sig.len != UDC_SIGN_BYTES) {
		gem_fail(r, "the CBS node sent no signed audit head");
		rv = UDC_EPROTO;
		goto out;
	}
	if (ps->result == NULL) {
		gem_fail(r, "the CBS node sealed the round without the released table");
		rv = UDC_EPROTO;
		goto out;
	}
	peer.seq = ps->audit_seq;
	memcpy(peer.hash, ps->audit_hash.data, 32);
	memcpy(peer.sig, ps->audit_sig.data, UDC_SIGN_BYTES);
	if ((rv = udc_audit_peer_head(r->n->audit, "cbs", &r->n->peer_pub, &peer)) != 0) {
		gem_fail(r, "the CBS node's audit head is %s",
		    rv == UDC_EPEER ? "behind or forked from the one it signed before" : "not validly signed");
		goto out;
	}
	udc_hex(th, 32, hex);
	snprintf(json, sizeof(json), "{\"transcript_sha256\": \"%s\", \"gemeente_key\": \"%s\", "
	    "\"cbs_key\": \"%s\", \"both_signed\": true}\n", hex, r->n->self_fpr, r->n->peer_fpr);
	snprintf(rel, sizeof(rel), "rounds/%s/transcript.json", r->job->idhex);
	if ((rv = udc_store_write(r->n->cfg->state_dir, rel, json, strlen(json))) != 0) {
		gem_fail(r, "cannot store the transcript in %s: %s", r->n->cfg->state_dir,
		    udc_strerror(rv));
		goto out;
	}
	*out = rep;
	return 0;
out:
	udc_wire_free(rep);
	return rv;
}
