/*
 * release.c - the end of a round at the CBS node: link key by key, count,
 * apply disclosure control, store and sign the release (Finish); then both
 * nodes sign the transcript and exchange signed audit heads (Seal).
 *
 * The result is computed once and kept packed, so a resent Finish gets the
 * same table and nothing is released twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "cbs.h"
#include "disclosure.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "result.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"
#include "table.h"

/* Disclosure control of the counted table, in place: the same question on
 * the same data gets the stored release (never a fresh noisy draw); a
 * population within min_cell persons of an earlier release of this spec is
 * refused (differencing); otherwise suppression (primary and secondary),
 * noise charged to the privacy budget, and rounding, and the release is
 * remembered. */
static int
release_control(struct cbs *cb, struct session *s, struct udc_table **tp, char *note, size_t notelen,
    char *why, size_t whylen)
{
	const struct udc_spec *spec = s->spec;
	struct udc_disclosure_params dp;
	struct udc_disclosure_report rep;
	struct udc_table *stored = NULL;
	crypto_hash_sha256_state st;
	uint8_t pop[32];
	uint64_t size = s->g_expected + s->cst.accepted;
	char ledger[4096], reason[256];
	int rv;

	/* The population: both input files, by digest. */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, s->g_digest, 32);
	crypto_hash_sha256_update(&st, s->input_digest, 32);
	crypto_hash_sha256_final(&st, pop);
	if (udc_releases_lookup(cb->releases, spec->hash, pop, &stored) == 0) {
		if (stored->ngroups != (*tp)->ngroups || stored->ncats != (*tp)->ncats) {
			udc_table_free(stored);
			snprintf(why, whylen, "the stored release of this spec has another shape");
			return UDC_EPARSE;
		}
		udc_table_free(*tp);
		*tp = stored;
		snprintf(note, notelen, "the same spec on the same data was released before: the stored "
		    "release is returned, no new computation is released");
		return 0;
	}
	if ((rv = udc_releases_check(cb->releases, spec->hash, pop, size, UDC_SYMDIFF_UNKNOWN,
	    spec->min_cell, reason, sizeof(reason))) != 0) {
		snprintf(why, whylen, "differencing control: %.200s", reason);
		return rv;
	}
	memset(&dp, 0, sizeof(dp));
	dp.min_cell = spec->min_cell;
	dp.round_base = spec->round_base;
	dp.eps_num = spec->eps_num;
	dp.eps_den = spec->eps_den ? spec->eps_den : 1;
	snprintf(ledger, sizeof(ledger), "%s/privacy-ledger", cb->n->cfg->state_dir);
	dp.ledger_path = ledger;
	dp.budget.num = spec->budget_num;
	dp.budget.den = spec->budget_den;
	/* The budget protects CBS's microdata: it is charged per CBS input
	 * (and spec), so rounds with ever other gemeente lists against the
	 * same CBS data spend one budget.  The release store, above, keys on
	 * both inputs: the same question on the same data is answered from it. */
	memcpy(dp.population, s->input_digest, 32);
	memcpy(dp.spec_hash, spec->hash, 32);
	if ((rv = udc_disclose(*tp, &dp, &rep)) != 0) {
		const char *what = udc_strerror(rv);
		struct udc_ledger *lg = NULL;
		if (rv == UDC_EREFUSED) {
			what = "a suppressed entry cannot be protected by further suppression";
			if (spec->eps_num && udc_ledger_open(&lg, ledger) == 0) {
				struct udc_rational spent;
				udc_ledger_spent(lg, s->input_digest, spec->hash, &spent);
				/* spent + 2 eps > budget, in integers */
				unsigned __int128 lhs = (unsigned __int128)spent.num * dp.eps_den * dp.budget.den +
				    (unsigned __int128)2 * dp.eps_num * spent.den * dp.budget.den;
				unsigned __int128 rhs = (unsigned __int128)dp.budget.num * spent.den * dp.eps_den;
				if (lhs > rhs)
					what = "the privacy budget of this spec on this CBS data is spent";
				udc_ledger_close(lg);
			}
		}
		snprintf(why, whylen, "disclosure control refused the release: %s", what);
		return rv;
	}
	if ((rv = udc_releases_record(cb->releases, spec->hash, pop, size, *tp)) != 0) {
		snprintf(why, whylen, "cannot record the release: %s", udc_strerror(rv));
		return rv;
	}
	snprintf(note, notelen, "%zu suppressed under min_cell %u, %zu more to protect them%s%s",
	    rep.primary, spec->min_cell, rep.secondary,
	    spec->round_base ? ", counts rounded at random to a multiple of the base" : "",
	    spec->eps_num ? ", discrete Laplace noise charged to the privacy budget" : "");
	return 0;
}

/* Links, counts, applies disclosure control, stores the release.  The
 * result is kept packed so that a resent Finish gets the same table. */
static int
compute_result(struct cbs *cb, struct session *s, const Udc__Finish *fin, char *why, size_t whylen)
{
	struct udc_table *t = NULL;
	struct udc_result_meta m;
	Udc__Result res = UDC__RESULT__INIT;
	Udc__InputReport crep = UDC__INPUT_REPORT__INIT;
	char *json = NULL, *csv = NULL, rel[96];
	size_t csvlen;
	int rv;

	memset(&m, 0, sizeof(m));
	if ((rv = udc_report_from_proto(fin->gemeente_input, s->spec->nkeys, &m.g, why, whylen)) != 0)
		return rv;
	if ((rv = udc_table_new(&t, s->spec->ncells[0], s->spec->ncells[1])) != 0)
		goto out;
	if ((rv = udc_link_count(&s->g, &s->r, s->dummies, t, m.links_per_key)) != 0) {
		snprintf(why, whylen, "linkage failed: %s", udc_strerror(rv));
		goto out;
	}
	if (s->fuzzy) {
		/* The count ran on handles: links come from phase 1, and our
		 * records that phase 1 left unlinked are counted here. */
		for (size_t c = 0; c < t->ncats; c++)
			t->c_unlinked[c] += s->own_unlinked[c];
		memcpy(m.links_per_key, s->exact_links, sizeof(m.links_per_key));
		m.fuzzy_links = s->fuzzy_links;
		memcpy(m.fuzzy_bands, s->fuzzy_bands, sizeof(m.fuzzy_bands));
		memcpy(m.band_lo, s->band_lo, sizeof(m.band_lo));
	}
	if ((rv = release_control(cb, s, &t, m.release_note, sizeof(m.release_note), why, whylen)) != 0)
		goto out;
	m.suppressed = udc_table_suppressed(t);
	snprintf(m.round_id, sizeof(m.round_id), "%s", s->idhex);
	snprintf(m.spec_hash, sizeof(m.spec_hash), "%s", s->spec_hex);
	m.spec = s->spec;
	m.started = s->started;
	m.finished = udc_now();
	snprintf(m.gemeente_name, sizeof(m.gemeente_name), "%s", s->gname);
	snprintf(m.cbs_name, sizeof(m.cbs_name), "%s", cb->n->cfg->name);
	m.c = s->cst;
	if ((json = udc_result_json(&m, t)) == NULL || udc_result_csv(t, s->spec, &csv, &csvlen) != 0) {
		rv = UDC_ENOMEM;
		snprintf(why, whylen, "cannot format the result");
		goto out;
	}
	snprintf(rel, sizeof(rel), "rounds/%s/result.csv", s->idhex);
	if ((rv = udc_store_write(cb->n->cfg->state_dir, rel, csv, csvlen)) == 0) {
		snprintf(rel, sizeof(rel), "rounds/%s/result.json", s->idhex);
		rv = udc_store_write(cb->n->cfg->state_dir, rel, json, strlen(json));
	}
	if (rv != 0) {
		snprintf(why, whylen, "cannot store the result: %s", udc_strerror(rv));
		goto out;
	}
	{
		uint8_t sd[80];
		char line[160], hex[65];
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("signer", cb->n->self_fpr),
			UDC_AUDIT_I("suppressed", (int64_t)m.suppressed),
			UDC_AUDIT_I("min_cell", s->spec->min_cell) };
		udc_result_sigdata(s->rid, s->spec->hash, csv, csvlen, sd);
		if ((rv = udc_sign(cb->n->sk, UDC_SIGN_RESULT, sd, sizeof(sd), s->result_sig)) != 0) {
			snprintf(why, whylen, "cannot sign the result");
			goto out;
		}
		udc_hex(sd + 48, 32, hex);
		snprintf(line, sizeof(line), "signed by this node (CBS), key %s\n", cb->n->self_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/signer.txt", s->idhex);
		udc_store_write(cb->n->cfg->state_dir, rel, line, strlen(line));
		udc_node_audit(cb->n, UDC_AUDIT_RESULT_RELEASED, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_table_to_result(t, &res);
	res.result_sig.data = s->result_sig;
	res.result_sig.len = sizeof(s->result_sig);
	res.release_note = m.release_note;
	res.min_cell = s->spec->min_cell;
	res.n_links_per_key = s->spec->nkeys;
	res.links_per_key = m.links_per_key;
	res.fuzzy_links = m.fuzzy_links;
	if (s->fuzzy) {
		res.n_fuzzy_bands = 4;
		res.fuzzy_bands = m.fuzzy_bands;
		res.n_fuzzy_band_lo = 5;
		res.fuzzy_band_lo = m.band_lo;
	}
	if ((rv = udc_report_to_proto(&s->cst, s->spec->nkeys, &crep)) != 0)
		goto out;
	res.cbs_input = &crep;
	s->result_len = udc__result__get_packed_size(&res);
	if ((s->result = malloc(s->result_len ? s->result_len : 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	udc__result__pack(&res, s->result);
	{
		unsigned long long links = 0;
		for (size_t j = 0; j < s->spec->nkeys; j++)
			links += m.links_per_key[j];
		log_info("round %s: %llu links, %zu entries suppressed (min_cell %u)", s->idhex, links,
		    m.suppressed, s->spec->min_cell);
	}
out:
	udc_report_proto_free(&crep);
	free(json);
	free(csv);
	udc_table_free(t);
	return rv;
}

void
cbs_on_finish(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	const Udc__Finish *fin = req->finish;
	Udc__Result **resp = &rp->result;
	char why[256] = "";

	if (s->state == SS_RETURN && s->r_done && s->result == NULL) {
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "counting", 0, NULL);
		if (compute_result(cb, s, fin, why, sizeof(why)) != 0) {
			sess_fail(cb, s, "%s", why[0] ? why : "counting failed");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		sess_enter(cb, s, SS_DONE);
		sess_release_data(s);
		udc_rounds_update(cb->n->rounds, s->idhex, "done", "done", 1000, NULL);
	}
	if (s->state != SS_DONE || s->result == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "finish not allowed in state %s",
		    cbs_state_name(s->state));
		return;
	}
	*resp = udc__result__unpack(NULL, s->result_len, s->result);
	if (*resp == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "stored result unreadable");
		return;
	}
	rp->env.body_case = UDC__ENVELOPE__BODY_RESULT;
	rp->env.result = *resp;
}

/* Both nodes sign the transcript hash; each records the other's signed
 * audit head.  A resent Seal gets the same answer. */
void
cbs_on_seal(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	const Udc__Seal *sl = req->seal;
	Udc__Seal *out = &rp->seal;
	struct udc_node *n = cb->n;
	struct udc_audit_signed_head peer;
	uint8_t th[32], sd[48];
	char hex[65], json[512], rel[96];
	int rv;

	if (!s->sealed) {
		udc_transcript_hash(&s->tx, th);
		memcpy(sd, s->rid, 16);
		memcpy(sd + 16, th, 32);
		udc_hex(th, 32, hex);
		if (sl->transcript_hash.len != 32 || memcmp(sl->transcript_hash.data, th, 32) != 0) {
			struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
				UDC_AUDIT_S("transcript_sha256", hex), UDC_AUDIT_S("problem", "mismatch") };
			udc_node_audit(n, "transcript", f, UDC_AUDIT_NFIELDS(f));
			udc_rounds_update(n->rounds, s->idhex, NULL, NULL, 1000,
			    "transcript mismatch: the gemeente saw other messages than this node");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "transcript mismatch");
			return;
		}
		if (sl->transcript_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&n->peer_pub, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd),
		    sl->transcript_sig.data) != 0) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO,
			    "the transcript signature does not verify against the gemeente's key %s",
			    n->peer_fpr);
			return;
		}
		if (sl->audit_hash.len != 32 || sl->audit_sig.len != UDC_SIGN_BYTES) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "seal without a signed audit head");
			return;
		}
		peer.seq = sl->audit_seq;
		memcpy(peer.hash, sl->audit_hash.data, 32);
		memcpy(peer.sig, sl->audit_sig.data, UDC_SIGN_BYTES);
		if ((rv = udc_audit_peer_head(n->audit, "gemeente", &n->peer_pub, &peer)) != 0) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "the gemeente's audit head is %s",
			    rv == UDC_EPEER ? "behind or forked from one it signed before"
			                    : "not validly signed");
			return;
		}
		if (udc_sign(n->sk, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd), s->seal_sig) != 0 ||
		    udc_audit_checkpoint(n->audit, &s->seal_head) != 0) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "cannot sign the transcript");
			return;
		}
		memcpy(s->seal_hash, th, 32);
		s->sealed = 1;
		/* The round is over: its scalar and encoding keys must be gone.
		 * (Counts all rounds; the tests run one at a time.) */
		log_info("round %s sealed: %ld secrets in locked memory after the round", s->idhex,
		    udc_secmem_live());
		snprintf(json, sizeof(json), "{\"transcript_sha256\": \"%s\", \"gemeente_key\": \"%s\", "
		    "\"cbs_key\": \"%s\", \"both_signed\": true}\n", hex, n->peer_fpr, n->self_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/transcript.json", s->idhex);
		udc_store_write(n->cfg->state_dir, rel, json, strlen(json));
	}
	udc__seal__init(out);
	out->transcript_hash.data = s->seal_hash;
	out->transcript_hash.len = 32;
	out->transcript_sig.data = s->seal_sig;
	out->transcript_sig.len = UDC_SIGN_BYTES;
	out->audit_seq = s->seal_head.seq;
	out->audit_hash.data = s->seal_head.hash;
	out->audit_hash.len = 32;
	out->audit_sig.data = s->seal_head.sig;
	out->audit_sig.len = UDC_SIGN_BYTES;
	rp->env.body_case = UDC__ENVELOPE__BODY_SEAL;
	rp->env.seal = out;
}

