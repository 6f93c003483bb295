/*
 * release.c - the end of a round at the gemeente.
 *
 *   Finish  commit to our input (digest, tuples uploaded, input report),
 *           signed; the CBS node links and counts.
 *   Seal    sign the transcript hash with the CBS node and exchange signed
 *           audit heads; the CBS node answers, once its disclosure control
 *           has run, with a description of the release (sizes, hashes,
 *           signatures).
 *   then    fetch the release in pieces, check its hashes and the CBS
 *           node's signatures, and store result.csv and result.json.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
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
#include "statepath.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "roundsig.h"
#include <sodium.h>


/* All CBS tuples are back: commit to our input (its digest and the number
 * of tuples we uploaded, signed) and wait until CBS has linked and counted.
 * The table itself comes with the seal. */
int
gem_finish(struct gem_round *r, const struct udc_input_stats *in_stats, uint64_t records)
{
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__InputReport rep = UDC__INPUT_REPORT__INIT;
	uint8_t sd[UDC_COMMIT_SIGDATA_BYTES], sig[UDC_SIGN_BYTES], rh[32], *packed = NULL;
	size_t plen;
	int rv;

	if ((rv = udc_report_to_proto(in_stats, r->spec, &rep)) != 0)
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
	struct udc_backoff b = UDC_BACKOFF_INIT(2, 100);
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
		udc_backoff_wait(&b);
	}
out:
	free(packed);
	udc_report_proto_free(&rep);
	return rv;
}

/* The release's bytes, chunk by chunk, into result.csv and result.json as
 * they arrive (never whole in memory); nothing is in place until both
 * hashes match what the CBS node signed. */
static int
fetch_release(struct gem_round *r, const Udc__Release *rl, struct udc_store_writer w[2])
{
	uint64_t total = rl->csv_bytes + rl->json_bytes, got = 0;
	uint32_t nchunks = (uint32_t)((total + rl->chunk_bytes - 1) / rl->chunk_bytes);
	int rv = 0;

	for (uint32_t i = 0; i < nchunks && rv == 0; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Fetch f = UDC__FETCH__INIT;
		uint64_t want = total - got < rl->chunk_bytes ? total - got : rl->chunk_bytes;
		const ProtobufCBinaryData *d;

		f.index = i;
		f.phase = 2;
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_RELEASE_CHUNK, &rep)) != 0)
			break;
		d = &rep->release_chunk->data;
		if (rep->release_chunk->index != i || d->len != want) {
			gem_fail(r, "the CBS node sent release chunk %u with %zu bytes for chunk %u of %llu "
			    "bytes", rep->release_chunk->index, d->len, i, (unsigned long long)want);
			rv = UDC_EPROTO;
		} else {
			/* split at the end of result.csv */
			size_t in_csv = got >= rl->csv_bytes ? 0
			    : (size_t)(rl->csv_bytes - got < d->len ? rl->csv_bytes - got : d->len);
			if ((in_csv && (rv = udc_store_append(&w[0], d->data, in_csv)) != 0) ||
			    (d->len > in_csv &&
			    (rv = udc_store_append(&w[1], d->data + in_csv, d->len - in_csv)) != 0))
				gem_fail(r, "cannot store the release in %s: %s", r->n->cfg->state_dir,
				    udc_strerror(rv));
			got += d->len;
			gem_step(r, "release", (unsigned)(1000 * got / (total ? total : 1)));
		}
		udc_wire_free(rep);
	}
	return rv;
}

/* What the CBS node says it released: sizes within bounds, chunks that fit
 * our messages, and both signatures valid for the hashes it announced. */
static int
check_release(struct gem_round *r, const Udc__Release *rl)
{
	uint8_t sd[80];

	char why[256];
	int rv;

	if ((rv = udc_release_check(rl, r->n->cfg->max_message, why, sizeof(why))) != 0) {
		gem_fail(r, "the CBS node's release: %s", why);
		return rv;
	}
	udc_result_sigdata_sha(r->job->round_id, r->spec->hash, rl->csv_sha256.data, sd);
	if (udc_sign_verify(&r->n->peer_pub, UDC_SIGN_RESULT, sd, sizeof(sd), rl->csv_sig.data) != 0) {
		gem_fail(r, "the released tables are not signed by the CBS node's pinned key %s",
		    r->n->peer_fpr);
		return UDC_ECRYPTO;
	}
	udc_result_sigdata_sha(r->job->round_id, r->spec->hash, rl->json_sha256.data, sd);
	if (udc_sign_verify(&r->n->peer_pub, UDC_SIGN_RESULT_META, sd, sizeof(sd),
	    rl->json_sig.data) != 0) {
		gem_fail(r, "the release's metadata is not signed by the CBS node's pinned key %s",
		    r->n->peer_fpr);
		return UDC_ECRYPTO;
	}
	return 0;
}

int
gem_receive_release(struct gem_round *r, const Udc__Release *rl)
{
	struct udc_store_writer w[2];
	uint8_t sha[2][32];
	char rel[96], line[160], hex[65];
	const char *state = r->n->cfg->state_dir;
	int rv, open = 0;

	if ((rv = check_release(r, rl)) != 0)
		return rv;
	udc_state_round(rel, sizeof(rel), r->job->idhex, "result.csv");
	if ((rv = udc_store_begin(state, rel, &w[0])) == 0) {
		open = 1;
		udc_state_round(rel, sizeof(rel), r->job->idhex, "result.json");
		if ((rv = udc_store_begin(state, rel, &w[1])) == 0)
			open = 2;
	}
	if (rv != 0) {
		gem_fail(r, "cannot store the release in %s: %s", state, udc_strerror(rv));
		goto out;
	}
	if ((rv = fetch_release(r, rl, w)) != 0)
		goto out;
	udc_store_digest(&w[0], sha[0]);
	udc_store_digest(&w[1], sha[1]);
	if (w[0].bytes != rl->csv_bytes || w[1].bytes != rl->json_bytes ||
	    memcmp(sha[0], rl->csv_sha256.data, 32) != 0 || memcmp(sha[1], rl->json_sha256.data, 32) != 0) {
		gem_fail(r, "the release the CBS node sent is not the one it signed (SHA-256 differs)");
		rv = UDC_ECRYPTO;
		goto out;
	}
	rv = udc_store_commit(&w[0]);
	if ((rv = rv ? rv : udc_store_commit(&w[1])) != 0) {
		/* w[1] may still be open: the discard below removes it */
		gem_fail(r, "cannot store the release in %s: %s", state, udc_strerror(rv));
		goto out;
	}
	open = 0;
	udc_result_sig_store(r->n, r->job->idhex, rl->csv_sig.data);
	snprintf(line, sizeof(line), "signed by the CBS node's key %s (verified)\n", r->n->peer_fpr);
	udc_state_round(rel, sizeof(rel), r->job->idhex, "signer.txt");
	if ((rv = udc_store_write(state, rel, line, strlen(line))) != 0) {
		gem_fail(r, "cannot store the release in %s: %s", state, udc_strerror(rv));
		goto out;
	}
	udc_hex(sha[0], 32, hex);
	if (udc_spec_fuzzy(r->spec)) {
		/* the CBS node's matcher line, from the metadata it signed */
		char *js = NULL, mline[512];
		size_t jl = 0;

		udc_state_round(rel, sizeof(rel), r->job->idhex, "result.json");
		if (udc_store_read(state, rel, 1u << 24, &js, &jl) == 0 &&
		    udc_linkage_log_line_json(js, jl, mline, sizeof(mline)) == 0)
			log_info("round %s: CBS %s", r->job->idhex, mline);
		free(js);
	}
	{
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", r->job->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("signer", r->n->peer_fpr) };
		udc_node_audit(r->n, UDC_AUDIT_RESULT_RELEASED, f, UDC_AUDIT_NFIELDS(f));
	}
	/* Stored: say so, so that both nodes record the round as done. */
	{
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Delivered d = UDC__DELIVERED__INIT;

		d.csv_sha256.data = sha[0];
		d.csv_sha256.len = 32;
		d.json_sha256.data = sha[1];
		d.json_sha256.len = 32;
		req.body_case = UDC__ENVELOPE__BODY_DELIVERED;
		req.delivered = &d;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep)) == 0)
			udc_wire_free(rep);
	}
out:
	if (open >= 1)
		udc_store_discard(&w[0]);
	if (open >= 2)
		udc_store_discard(&w[1]);
	return rv;
}

/* Both nodes sign the transcript hash and exchange signed audit heads;
 * CBS says what it released with its half (*out, the caller frees). */
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
	/* Disclosure control of large tables takes a while: the CBS node says
	 * so (pending) and we ask again, soon at first (a small table takes
	 * milliseconds). */
	struct udc_backoff b = UDC_BACKOFF_INIT(2, 200);
	for (;;) {
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_SEAL, &rep)) != 0)
			return rv;
		if (!rep->seal->pending)
			break;
		udc_wire_free(rep);
		rep = NULL;
		udc_backoff_wait(&b);
	}
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
	if (ps->release == NULL) {
		gem_fail(r, "the CBS node sealed the round without the release");
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
	udc_state_round(rel, sizeof(rel), r->job->idhex, "transcript.json");
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
