/*
 * release.c - the end of a round at the CBS node.
 *
 *   Finish  the gemeente commits to its input (digest, number of tuples and
 *           input report, signed); we link key by key and count.  Nothing
 *           is released and nothing is recorded yet.
 *   Seal    both nodes sign the transcript hash and exchange signed audit
 *           heads; only then disclosure control runs, the release is
 *           recorded (history, privacy ledger, audit log), signed and
 *           handed over with our half of the seal.
 *
 * So a round nobody sealed releases nothing and spends nothing, and what
 * is released is bound to a transcript both keys signed.  Each step is
 * done once; a resent Finish or Seal gets the same answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "cbs.h"
#include "disclosure.h"
#include "err.h"
#include "history.h"
#include "link.h"
#include "log.h"
#include "result.h"
#include "roundsig.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "statepath.h"
#include "store.h"
#include "table.h"

/* The gemeente's commitment to its input: signed by its pinned key over
 * the round, the spec, its input's digest, the tuples it uploaded and its
 * input report, and consistent with what we received. */
static int
check_commit(struct cbs *cb, struct session *s, const Udc__Finish *fin, char *why, size_t whylen)
{
	uint8_t sd[UDC_COMMIT_SIGDATA_BYTES], rh[32], *packed;
	uint64_t received = s->fuzzy ? s->g_expected : s->g.n;
	size_t plen;

	if (fin->gemeente_input == NULL || fin->input_digest.len != 32 ||
	    fin->commit_sig.len != UDC_SIGN_BYTES) {
		snprintf(why, whylen, "finish without the gemeente's signed commitment to its input");
		return UDC_EPROTO;
	}
	plen = udc__input_report__get_packed_size(fin->gemeente_input);
	if ((packed = malloc(plen ? plen : 1)) == NULL)
		return UDC_ENOMEM;
	udc__input_report__pack(fin->gemeente_input, packed);
	crypto_hash_sha256(rh, packed, plen);
	free(packed);
	udc_commit_sigdata(s->rid, s->spec->hash, fin->input_digest.data, fin->g_records, rh, sd);
	if (udc_sign_verify(&s->np->pub, UDC_SIGN_COMMIT, sd, sizeof(sd),
	    fin->commit_sig.data) != 0) {
		snprintf(why, whylen, "the commitment to the gemeente's input is not signed by its "
		    "pinned key %s", s->np->fpr);
		return UDC_ECRYPTO;
	}
	if (fin->g_records != received) {
		snprintf(why, whylen, "the gemeente committed to %llu tuples but uploaded %llu",
		    (unsigned long long)fin->g_records, (unsigned long long)received);
		return UDC_EPROTO;
	}
	memcpy(s->g_digest, fin->input_digest.data, 32);
	return udc_report_from_proto(fin->gemeente_input, s->spec, &s->gst, why, whylen);
}

/* Links and counts (once): the true table stays in s->counted. */
static int
count(struct cbs *cb, struct session *s, char *why, size_t whylen)
{
	struct udc_table *t = NULL;
	uint64_t links[UDC_MAX_KEYS] = { 0 };
	int rv;

	(void)cb;
	if ((rv = udc_table_new(&t, s->spec->ncells[0], s->spec->ncells[1])) != 0)
		return rv;
	if ((rv = udc_link_count(&s->g, &s->r, s->dummies, t, links)) != 0) {
		snprintf(why, whylen, "linkage failed: %s", udc_strerror(rv));
		udc_table_free(t);
		return rv;
	}
	if (s->fuzzy) {
		/* The count ran on handles: links come from phase 1, and our
		 * records that phase 1 left unlinked are counted here. */
		for (size_t c = 0; c < t->ncats; c++)
			t->c_unlinked[c] += s->own_unlinked[c];
	} else {
		memcpy(s->exact_links, links, sizeof(links));
	}
	/* The gemeente's group sizes, as its labels said (we saw them anyway). */
	if ((s->grp_records = calloc(t->ngroups ? t->ngroups : 1, sizeof(*s->grp_records))) == NULL) {
		udc_table_free(t);
		return UDC_ENOMEM;
	}
	for (size_t i = 0; i < s->g.n; i++)
		s->grp_records[s->g.lab[i]]++;
	s->counted = t;
	return 0;
}

void
cbs_on_finish(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	char why[256] = "";
	int rv;

	if (s->state == SS_RETURN) {
		if (!s->r_done) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE,
			    "finish not allowed in state return before the last r_chunk");
			return;
		}
		if ((rv = check_commit(cb, s, req->finish, why, sizeof(why))) != 0) {
			sess_fail(cb, s, "%s", why);
			cbs_reply_error(rp, rv == UDC_ECRYPTO ? UDC__ERROR_CODE__ERR_CRYPTO :
			    UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "counting", 0, NULL);
		if (count(cb, s, why, sizeof(why)) != 0) {
			sess_fail(cb, s, "%s", why[0] ? why : "counting failed");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		/* The lists are not needed any more; the table is. */
		sess_release_data(s);
		sess_enter(cb, s, SS_COUNTED);
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "seal", 0, NULL);
	}
	udc__counted__init(&rp->counted);
	rp->counted.ready = 1;
	rp->env.body_case = UDC__ENVELOPE__BODY_COUNTED;
	rp->env.counted = &rp->counted;
}

/* Sensitive entries of a full-cross release (docs/protocol.md, "What a
 * dishonest party can learn"): entries that moved by less than min_cell
 * since an earlier release on this CBS input; zeros in the "CBS only"
 * margin of a category we hold records of (all of them linked: each is on
 * the gemeente's list); and every entry of a gemeente group of
 * 1..min_cell-1 records, whose zeros would name the category of its few
 * members (a gemeente can make such a group on purpose). */
static int
sensitive_entries(struct cbs *cb, struct session *s, uint8_t *sens, size_t *ndiff, size_t *nzero,
    char *why, size_t whylen)
{
	const struct udc_table *t = s->counted;
	size_t off = t->ngroups * t->ncats + t->ngroups, nent = off + t->ncats;
	uint64_t *truth = NULL;
	char **keys = NULL;
	int rv;

	*ndiff = *nzero = 0;
	if (s->spec->min_cell <= 1)
		return 0;
	if ((rv = udc_history_table_keys(s->spec, nent, &keys)) != 0 ||
	    (truth = malloc(nent * sizeof(*truth))) == NULL) {
		rv = rv ? rv : UDC_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < nent; k++)
		truth[k] = udc_table_entry(t, k, NULL);
	if ((rv = udc_history_differences(s->cp->history, s->input_digest, nent, keys, truth,
	    s->spec->min_cell, sens)) < 0) {
		snprintf(why, whylen, "the release history of this CBS input cannot be read: %s",
		    udc_strerror(rv));
		goto out;
	}
	*ndiff = (size_t)rv;
	rv = 0;
	for (size_t c = 0; c < t->ncats; c++) {
		if (t->c_unlinked[c] == 0 && s->cat_records[c] > 0 && !sens[off + c]) {
			sens[off + c] = 1;
			(*nzero)++;
		}
	}
	for (size_t g = 0; g < t->ngroups; g++) {
		if (s->grp_records[g] == 0 || s->grp_records[g] >= s->spec->min_cell)
			continue;
		for (size_t c = 0; c < t->ncats; c++)
			if (!sens[g * t->ncats + c] && t->cells[g * t->ncats + c] == 0) {
				sens[g * t->ncats + c] = 1;
				(*nzero)++;
			}
		if (!sens[t->ngroups * t->ncats + g] && t->g_unlinked[g] == 0) {
			sens[t->ngroups * t->ncats + g] = 1;
			(*nzero)++;
		}
	}
out:
	udc_history_keys_free(keys, nent);
	free(truth);
	return rv;
}

/* Padding hides the size of each CBS category from the gemeente while the
 * round runs; a released "CBS only" margin next to released cells would
 * give it back exactly.  So with pad_categories = max that margin is
 * released rounded at random to a multiple of min_cell (unless the spec
 * rounds everything anyway). */
static void
round_padded_margin(const struct udc_spec *spec, struct udc_table *t)
{
	struct udc_table m;

	if (spec->pad != UDC_PAD_MAX || spec->min_cell <= 1 || spec->round_base > 1)
		return;
	/* a one-row view of the margin, rounded by the same sampler */
	memset(&m, 0, sizeof(m));
	m.ngroups = 0;
	m.ncats = t->ncats;
	m.c_unlinked = t->c_unlinked;
	m.c_supp = t->c_supp;
	udc_disclose_round(&m, spec->min_cell);
}

static void
disclosure_params(struct cbs *cb, struct session *s, struct udc_disclosure_params *dp,
    char *ledger, size_t ledgerlen)
{
	const struct udc_spec *spec = s->spec;

	memset(dp, 0, sizeof(*dp));
	dp->min_cell = spec->min_cell;
	dp->round_base = spec->round_base;
	dp->eps_num = spec->eps_num;
	dp->eps_den = spec->eps_den ? spec->eps_den : 1;
	/* the gemeente's own ledger (STATE/privacy-ledger with one gemeente) */
	snprintf(ledger, ledgerlen, "%s", s->cp->ledger);
	dp->ledger_path = ledger;
	dp->budget.num = spec->budget_num;
	dp->budget.den = spec->budget_den;
	/* The budget protects CBS's microdata: it is charged per CBS input
	 * (and spec), so rounds with ever other gemeente lists against the
	 * same CBS data spend one budget. */
	memcpy(dp->population, s->input_digest, 32);
	memcpy(dp->spec_hash, spec->hash, 32);
}

/* A spec releases at most max_releases times per CBS input. */
static int
check_release_count(struct cbs *cb, struct session *s, char *why, size_t whylen)
{
	const struct udc_spec *spec = s->spec;
	unsigned done;
	int rv;

	if ((rv = udc_history_count(s->cp->history, s->input_digest, spec->hash, &done)) != 0) {
		snprintf(why, whylen, "the release history of this CBS input cannot be read: %s",
		    udc_strerror(rv));
		return rv;
	}
	if (done < spec->max_releases)
		return 0;
	snprintf(why, whylen, "differencing control: spec '%.80s' allows %u release%s per CBS "
	    "input and this CBS input had %u already; a further round needs a spec with a "
	    "higher [disclosure] max_releases, approved by both operators, or new CBS data",
	    spec->name, spec->max_releases, spec->max_releases == 1 ? "" : "s", done);
	return UDC_EREFUSED;
}

static const char *same_note = "the same spec on the same data was released before: the stored "
    "release is returned, no new computation is released";

/*
 * Disclosure control of the counted full cross, once the round is sealed:
 * the same question on the same data gets the stored release (never a
 * fresh noisy draw); a spec releases at most max_releases times per CBS
 * input; otherwise suppression (small counts and the sensitive entries
 * above, then secondary suppression), noise charged to the privacy budget,
 * and rounding.  *tp receives the table to release; the release is
 * recorded.
 */
static int
release_table(struct cbs *cb, struct session *s, struct udc_table **tp, char *note, size_t notelen,
    char *why, size_t whylen)
{
	const struct udc_spec *spec = s->spec;
	struct udc_disclosure_params dp;
	struct udc_disclosure_report rep;
	struct udc_table *t = NULL;
	uint8_t *sens = NULL, *flags = NULL;
	uint64_t *vals = NULL, *truth = NULL;
	char **keys = NULL;
	size_t nent = udc_table_entries(s->counted), n = 0, ndiff = 0, nzero = 0;
	char ledger[4200];
	int rv;

	if ((rv = udc_table_new(&t, s->counted->ngroups, s->counted->ncats)) != 0)
		return rv;
	if ((rv = udc_history_same(s->cp->history, s->input_digest, spec->hash, s->g_digest, &vals,
	    &flags, &n)) == 0) {
		if (n != nent) {
			snprintf(why, whylen, "the stored release of this spec has another shape");
			rv = UDC_EPARSE;
			goto out;
		}
		for (size_t k = 0; k < nent; k++)
			udc_table_set_entry(t, k, vals[k], flags[k] & 1);
		snprintf(note, notelen, "%s", same_note);
		goto done;
	}
	if (rv != UDC_ENOTFOUND || (rv = check_release_count(cb, s, why, whylen)) != 0)
		goto out;
	for (size_t k = 0; k < nent; k++)
		udc_table_set_entry(t, k, udc_table_entry(s->counted, k, NULL), 0);
	if ((sens = calloc(nent, 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = sensitive_entries(cb, s, sens, &ndiff, &nzero, why, whylen)) != 0)
		goto out;
	disclosure_params(cb, s, &dp, ledger, sizeof(ledger));
	dp.sensitive = sens;
	memset(&rep, 0, sizeof(rep));
	if ((rv = udc_disclose(t, &dp, &rep)) != 0) {
		const char *what = udc_strerror(rv);
		if (rv == UDC_EREFUSED)
			what = rep.budget_spent ?
			    "the privacy budget of this spec on this CBS data is spent" :
			    "a suppressed entry cannot be protected by further suppression";
		snprintf(why, whylen, "disclosure control refused the release: %s", what);
		goto out;
	}
	round_padded_margin(spec, t);
	if ((rv = udc_history_table_keys(spec, nent, &keys)) != 0 ||
	    (truth = malloc(nent * sizeof(*truth))) == NULL ||
	    (vals = malloc(nent * sizeof(*vals))) == NULL || (flags = malloc(nent)) == NULL) {
		rv = rv ? rv : UDC_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < nent; k++) {
		uint8_t sp;

		truth[k] = udc_table_entry(s->counted, k, NULL);
		vals[k] = udc_table_entry(t, k, &sp);
		flags[k] = sp;
	}
	{
		struct udc_history_release hr = { spec->hash, s->g_digest, s->idhex, nent, keys, truth,
			nent, vals, flags };
		if ((rv = udc_history_record(s->cp->history, s->input_digest, &hr)) != 0) {
			snprintf(why, whylen, "cannot record the release: %s", udc_strerror(rv));
			goto out;
		}
	}
	/* The details stay here: how many for which reason would tell the
	 * gemeente more than the protection allows for. */
	log_info("round %s: %zu under min_cell %u, %zu changed by less than min_cell since an earlier "
	    "release, %zu zeros that would name members, %zu complementary", s->idhex,
	    rep.primary - ndiff - nzero, spec->min_cell, ndiff, nzero, rep.secondary);
	snprintf(note, notelen, "%zu entries suppressed (counts under min_cell %u, entries that would "
	    "tell the gemeente about a few people, and entries that protect them)%s%s%s",
	    rep.primary + rep.secondary, spec->min_cell,
	    rep.zeros ? "; suppressed entries may be zero" : "",
	    spec->round_base ? "; counts rounded at random to a multiple of the base" :
	    spec->pad == UDC_PAD_MAX && spec->min_cell > 1 ?
	    "; the CBS-only margin rounded at random to a multiple of min_cell" : "",
	    spec->eps_num ? "; discrete Laplace noise charged to the privacy budget" : "");
done:
	*tp = t;
	t = NULL;
	rv = 0;
out:
	udc_history_keys_free(keys, nent);
	free(sens);
	free(vals);
	free(flags);
	free(truth);
	udc_table_free(t);
	return rv;
}

/*
 * The same for linked tables (docs/governance.md, "Linked tables"): the
 * stored decisions for the same question on the same data; otherwise the
 * history's differences and the zeros that would name a few people forced
 * into suppression, then udc_linked_disclose over all tables together.
 */
static int
release_linked(struct cbs *cb, struct session *s, struct udc_linked *l,
    struct udc_linked_report *rep, char *note, size_t notelen, char *why, size_t whylen)
{
	const struct udc_spec *spec = s->spec;
	struct udc_disclosure_params dp;
	size_t nd = udc_linked_ndistinct(l), n = 0, ndiff = 0;
	uint8_t *sens = NULL, *flags = NULL;
	uint64_t *vals = NULL, *truth = NULL;
	char **keys = NULL, key[1024], ledger[4200];
	int rv, nzero = 0;

	memset(rep, 0, sizeof(*rep));
	if ((rv = udc_history_same(s->cp->history, s->input_digest, spec->hash, s->g_digest, &vals,
	    &flags, &n)) == 0) {
		if ((rv = udc_linked_replay(l, vals, flags, n)) != 0)
			snprintf(why, whylen, "the stored release of this spec does not fit the tables");
		else
			snprintf(note, notelen, "%s", same_note);
		goto out;
	}
	if (rv != UDC_ENOTFOUND || (rv = check_release_count(cb, s, why, whylen)) != 0)
		goto out;
	if ((keys = calloc(nd ? nd : 1, sizeof(*keys))) == NULL ||
	    (truth = calloc(nd ? nd : 1, sizeof(*truth))) == NULL ||
	    (sens = calloc(nd ? nd : 1, 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t id = 0; id < nd; id++) {
		if ((rv = udc_linked_distinct(l, id, &truth[id], key, sizeof(key))) < 0)
			goto out;
		if (rv == 1 && (keys[id] = strdup(key)) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
	}
	rv = 0;
	if (spec->min_cell > 1) {
		if ((rv = udc_history_differences(s->cp->history, s->input_digest, nd, keys, truth,
		    spec->min_cell, sens)) < 0) {
			snprintf(why, whylen, "the release history of this CBS input cannot be read: %s",
			    udc_strerror(rv));
			goto out;
		}
		ndiff = (size_t)rv;
		for (size_t id = 0; id < nd; id++)
			if (sens[id] && (rv = udc_linked_force_distinct(l, id, UDC_REASON_DIFFERENCE)) != 0)
				goto out;
		if ((nzero = udc_linked_force_small_zeros(l, s->grp_records, s->cat_records,
		    spec->min_cell)) < 0) {
			rv = nzero;
			goto out;
		}
	}
	disclosure_params(cb, s, &dp, ledger, sizeof(ledger));
	if ((rv = udc_linked_disclose(l, &dp, rep, why, whylen)) != 0) {
		char inner[256];

		snprintf(inner, sizeof(inner), "%s", why[0] ? why : udc_strerror(rv));
		snprintf(why, whylen, "disclosure control refused the release: %s", inner);
		goto out;
	}
	if ((rv = udc_linked_export(l, &vals, &flags, &n)) != 0)
		goto out;
	{
		struct udc_history_release hr = { spec->hash, s->g_digest, s->idhex, nd, keys, truth,
			n, vals, flags };
		if ((rv = udc_history_record(s->cp->history, s->input_digest, &hr)) != 0) {
			snprintf(why, whylen, "cannot record the release: %s", udc_strerror(rv));
			goto out;
		}
	}
	log_info("round %s: %zu of %zu distinct cells suppressed by a primary rule (%zu changed by less "
	    "than min_cell since an earlier release, %d zeros that would name members), %zu "
	    "complementary", s->idhex, rep->primary, rep->distinct, ndiff, nzero, rep->secondary);
	snprintf(note, notelen, "%zu of %zu distinct cells suppressed (counts under min_cell %u, cells "
	    "that would tell the gemeente about a few people, and cells that protect them across all "
	    "tables)%s%s%s", rep->primary + rep->secondary, rep->distinct, spec->min_cell,
	    rep->lb == 0 ? "; suppressed cells may be zero" : "",
	    spec->round_base ? "; counts rounded at random to a multiple of the base" : "",
	    spec->eps_num ? "; discrete Laplace noise charged to the privacy budget" : "");
out:
	/* sums: group-mean estimates from the released counts (magest.h) */
	if (rv == 0 && udc_spec_grouped_attr(spec) >= 0) {
		size_t o = strlen(note);

		if ((rv = udc_linked_estimate(l, s->mag_sum, s->mag_n, why, whylen)) != 0 && !why[0])
			snprintf(why, whylen, "the estimates of the sums failed: %s", udc_strerror(rv));
		if (o < notelen)
			snprintf(note + o, notelen - o, "; sums and means are estimates from the released "
			    "counts per group of %s and the groups' means (docs/governance.md, Magnitudes)",
			    spec->attrs[udc_spec_grouped_attr(spec)].name);
	}
	udc_history_keys_free(keys, nd);
	free(sens);
	free(vals);
	free(flags);
	free(truth);
	return rv;
}

/* Writes one release document to rounds/<id>/name: fill() writes it to f.
 * Its size and SHA-256 come back; the file is in place only if all went
 * well. */
struct doc_arg {
	const struct udc_table *t;
	const struct udc_linked *l;
	const struct udc_linked_report *lrep;
	const struct udc_spec *spec;
	const struct udc_result_meta *meta; /* NULL: the CSV, else the JSON */
};

static int
doc_fill(const struct doc_arg *a, FILE *f)
{
	if (a->meta != NULL)
		return a->l ? udc_result_write_json_linked(a->meta, a->l, a->lrep, f)
		            : udc_result_write_json(a->meta, a->t, f);
	if (a->l != NULL)
		return udc_linked_write_long_csv(a->l, f);
	return udc_table_write_csv(a->t, a->spec, f);
}

static int
write_doc(struct cbs *cb, struct session *s, const char *name, const struct doc_arg *a,
    uint64_t *bytes, uint8_t sha[32])
{
	struct udc_store_writer w;
	char rel[96];
	FILE *f;
	int rv;

	udc_state_round(rel, sizeof(rel), s->idhex, name);
	if ((rv = udc_store_begin(cb->n->cfg->state_dir, rel, &w)) != 0)
		return rv;
	if ((f = udc_store_stream(&w)) == NULL) {
		udc_store_discard(&w);
		return UDC_ENOMEM;
	}
	rv = doc_fill(a, f);
	if (fclose(f) != 0 && rv == 0)
		rv = UDC_EIO;
	if (rv != 0) {
		udc_store_discard(&w);
		return rv;
	}
	*bytes = w.bytes;
	udc_store_digest(&w, sha);
	return udc_store_commit(&w);
}

/* The release: disclosure control, the documents, their signatures, the
 * audit entry.  What was stored is described in s->rel for every Seal. */
static int
release(struct cbs *cb, struct session *s, char *why, size_t whylen)
{
	struct udc_table *t = NULL;
	struct udc_linked *l = NULL;
	struct udc_linked_report lrep;
	struct udc_result_meta m;
	struct doc_arg da = { .spec = s->spec };
	struct cbs_release *rl = &s->rel;
	uint8_t sd[80];
	int rv;

	memset(&m, 0, sizeof(m));
	memcpy(m.links_per_key, s->exact_links, sizeof(m.links_per_key));
	if (s->fuzzy) {
		m.fuzzy_links = s->fuzzy_links;
		memcpy(m.fuzzy_bands, s->fuzzy_bands, sizeof(m.fuzzy_bands));
		memcpy(m.band_lo, s->band_lo, sizeof(m.band_lo));
		m.has_linkage = 1;
		m.linkage = s->lrep;
	}
	if (udc_spec_has_tables(s->spec)) {
		if ((rv = udc_linked_new(&l, s->spec, s->counted, NULL, why, whylen)) != 0 ||
		    (rv = release_linked(cb, s, l, &lrep, m.release_note, sizeof(m.release_note), why,
		    whylen)) != 0)
			goto out;
		m.suppressed = lrep.primary + lrep.secondary;
	} else {
		if ((rv = release_table(cb, s, &t, m.release_note, sizeof(m.release_note), why,
		    whylen)) != 0)
			goto out;
		m.suppressed = udc_table_suppressed(t);
	}
	snprintf(m.round_id, sizeof(m.round_id), "%s", s->idhex);
	snprintf(m.spec_hash, sizeof(m.spec_hash), "%s", s->spec_hex);
	snprintf(m.signer, sizeof(m.signer), "CBS key %s", cb->n->self_fpr);
	m.spec = s->spec;
	m.started = s->started;
	m.finished = udc_now();
	snprintf(m.gemeente_name, sizeof(m.gemeente_name), "%s", s->gname);
	snprintf(m.cbs_name, sizeof(m.cbs_name), "%s", cb->n->cfg->name);
	m.g = s->gst;
	m.c = s->cst;
	memset(rl, 0, sizeof(*rl));
	da.t = t;
	da.l = l;
	da.lrep = &lrep;
	if ((rv = write_doc(cb, s, "result.csv", &da, &rl->csv_bytes, rl->csv_sha)) == 0) {
		da.meta = &m;
		rv = write_doc(cb, s, "result.json", &da, &rl->json_bytes, rl->json_sha);
	}
	if (rv != 0) {
		snprintf(why, whylen, "cannot store the result: %s", udc_strerror(rv));
		goto out;
	}
	udc_result_sigdata_sha(s->rid, s->spec->hash, rl->csv_sha, sd);
	if ((rv = udc_sign(cb->n->sk, UDC_SIGN_RESULT, sd, sizeof(sd), rl->csv_sig)) == 0) {
		udc_result_sigdata_sha(s->rid, s->spec->hash, rl->json_sha, sd);
		rv = udc_sign(cb->n->sk, UDC_SIGN_RESULT_META, sd, sizeof(sd), rl->json_sig);
	}
	if (rv != 0) {
		snprintf(why, whylen, "cannot sign the result");
		goto out;
	}
	/* chunks of the stream csv || json, each within the peer's message size */
	rl->chunk = (uint32_t)udc_wire_chunk_bytes(cb->n->cfg->max_message, 1u << 20);
	{
		char line[160], hex[65], jhex[65], rel[96];
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("metadata_sha256", jhex),
			UDC_AUDIT_S("signer", cb->n->self_fpr),
			UDC_AUDIT_I("suppressed", (int64_t)m.suppressed),
			UDC_AUDIT_I("min_cell", s->spec->min_cell), UDC_AUDIT_S("gemeente", s->np->id) };
		udc_hex(rl->csv_sha, 32, hex);
		udc_hex(rl->json_sha, 32, jhex);
		snprintf(line, sizeof(line), "signed by this node (CBS), key %s\n", cb->n->self_fpr);
		udc_state_round(rel, sizeof(rel), s->idhex, "signer.txt");
		udc_store_write(cb->n->cfg->state_dir, rel, line, strlen(line));
		udc_result_sig_store(cb->n, s->idhex, rl->csv_sig);
		udc_node_audit(cb->n, UDC_AUDIT_RESULT_RELEASED, f,
		    UDC_AUDIT_NFIELDS(f) - (s->np->id[0] ? 0 : 1));
	}
	{
		unsigned long long links = m.fuzzy_links;
		for (size_t j = 0; j < s->spec->nkeys; j++)
			links += m.links_per_key[j];
		log_info("round %s: %llu links, %zu %s suppressed (min_cell %u)", s->idhex, links,
		    m.suppressed, l ? "distinct cells" : "entries", s->spec->min_cell);
	}
out:
	udc_table_free(t);
	udc_linked_free(l);
	return rv;
}

/* The gemeente's half of the seal: the transcript hash both nodes saw,
 * signed by its pinned key, and a signed head of its audit log. */
static int
check_seal(struct cbs *cb, struct session *s, const Udc__Seal *sl, const uint8_t th[32],
    const uint8_t sd[48], struct cbs_reply *rp)
{
	struct udc_node *n = cb->n;
	struct udc_audit_signed_head peer;
	char hex[65];
	int rv;

	if (sl->transcript_hash.len != 32 || memcmp(sl->transcript_hash.data, th, 32) != 0) {
		udc_hex(th, 32, hex);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
			UDC_AUDIT_S("transcript_sha256", hex), UDC_AUDIT_S("problem", "mismatch") };
		udc_node_audit(n, "transcript", f, UDC_AUDIT_NFIELDS(f));
		sess_fail(cb, s, "transcript mismatch: the gemeente saw other messages than this node");
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "transcript mismatch");
		return UDC_EPEER;
	}
	if (sl->transcript_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&s->np->pub, UDC_SIGN_TRANSCRIPT, sd, 48, sl->transcript_sig.data) != 0) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO,
		    "the transcript signature does not verify against the gemeente's key %s",
		    s->np->fpr);
		return UDC_ECRYPTO;
	}
	if (sl->audit_hash.len != 32 || sl->audit_sig.len != UDC_SIGN_BYTES) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "seal without a signed audit head");
		return UDC_EPROTO;
	}
	peer.seq = sl->audit_seq;
	memcpy(peer.hash, sl->audit_hash.data, 32);
	memcpy(peer.sig, sl->audit_sig.data, UDC_SIGN_BYTES);
	if ((rv = udc_audit_peer_head(n->audit, s->np->id[0] ? s->np->id : "gemeente", &s->np->pub,
	    &peer)) != 0) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "the gemeente's audit head is %s",
		    rv == UDC_EPEER ? "behind or forked from one it signed before"
		                    : "not validly signed");
		return rv;
	}
	return 0;
}

/* After the release: our half of the seal (the transcript signed, a signed
 * audit head), and the session hands the release over.  Caller holds
 * s->mtx. */
static int
seal_done(struct cbs *cb, struct session *s)
{
	struct udc_node *n = cb->n;
	uint8_t sd[48];
	char hex[65], json[512], rel[96];

	memcpy(sd, s->rid, 16);
	memcpy(sd + 16, s->seal_hash, 32);
	if (udc_sign(n->sk, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd), s->seal_sig) != 0 ||
	    udc_audit_checkpoint(n->audit, &s->seal_head) != 0) {
		sess_fail(cb, s, "cannot sign the transcript");
		return UDC_ECRYPTO;
	}
	s->sealed = 1;
	udc_table_free(s->counted);
	s->counted = NULL;
	sess_enter(cb, s, SS_DELIVER);
	udc_rounds_update(n->rounds, s->idhex, NULL, "deliver", 1000, NULL);
	/* The round is over: its scalar and encoding keys must be gone.
	 * (Counts all rounds; the tests run one at a time.) */
	log_info("round %s sealed: %ld secrets in locked memory after the round", s->idhex,
	    udc_secmem_live());
	udc_hex(s->seal_hash, 32, hex);
	snprintf(json, sizeof(json), "{\"transcript_sha256\": \"%s\", \"gemeente_key\": \"%s\", "
	    "\"cbs_key\": \"%s\", \"both_signed\": true}\n", hex, s->np->fpr, n->self_fpr);
	udc_state_round(rel, sizeof(rel), s->idhex, "transcript.json");
	udc_store_write(n->cfg->state_dir, rel, json, strlen(json));
	return 0;
}

/* Disclosure control and the documents take a while for large tables: a
 * thread of their own, while the gemeente asks again (Seal.pending). */
static void *
release_thread(void *p)
{
	struct cbs_thread_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	char why[400] = "";
	int rv;

	free(pa);
	rv = release(cb, s, why, sizeof(why));
	pthread_mutex_lock(&s->mtx);
	s->releasing = 0;
	if (s->state == SS_COUNTED) {
		if (rv != 0)
			sess_fail(cb, s, "%s", why[0] ? why : "the release failed");
		else
			seal_done(cb, s);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
	return NULL;
}

void
cbs_on_seal(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	const Udc__Seal *sl = req->seal;
	Udc__Seal *out = &rp->seal;
	Udc__Release *rl = &rp->release;
	uint8_t th[32], sd[48];

	if (s->state == SS_COUNTED && !s->releasing) {
		udc_transcript_hash(&s->tx, th);
		memcpy(sd, s->rid, 16);
		memcpy(sd + 16, th, 32);
		if (check_seal(cb, s, sl, th, sd, rp) != 0)
			return;
		memcpy(s->seal_hash, th, 32);
		s->releasing = 1;
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "release", 0, NULL);
		if (sess_spawn(cb, s, release_thread) != 0) {
			s->releasing = 0;
			sess_fail(cb, s, "cannot start the release");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "%s", s->error);
			return;
		}
	}
	udc__seal__init(out);
	rp->env.body_case = UDC__ENVELOPE__BODY_SEAL;
	rp->env.seal = out;
	if (s->state == SS_COUNTED) {
		/* still releasing: ask again */
		out->pending = 1;
		return;
	}
	udc__release__init(rl);
	rl->csv_bytes = s->rel.csv_bytes;
	rl->csv_sha256.data = s->rel.csv_sha;
	rl->csv_sha256.len = 32;
	rl->csv_sig.data = s->rel.csv_sig;
	rl->csv_sig.len = UDC_SIGN_BYTES;
	rl->json_bytes = s->rel.json_bytes;
	rl->json_sha256.data = s->rel.json_sha;
	rl->json_sha256.len = 32;
	rl->json_sig.data = s->rel.json_sig;
	rl->json_sig.len = UDC_SIGN_BYTES;
	rl->chunk_bytes = s->rel.chunk;
	out->transcript_hash.data = s->seal_hash;
	out->transcript_hash.len = 32;
	out->transcript_sig.data = s->seal_sig;
	out->transcript_sig.len = UDC_SIGN_BYTES;
	out->audit_seq = s->seal_head.seq;
	out->audit_hash.data = s->seal_head.hash;
	out->audit_hash.len = 32;
	out->audit_sig.data = s->seal_head.sig;
	out->audit_sig.len = UDC_SIGN_BYTES;
	out->release = rl;
}

/* Chunk `index` of the stream result.csv || result.json, read back from
 * the files the release wrote (the release is never held in memory). */
void
cbs_on_fetch_release(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const struct cbs_release *rl = &s->rel;
	uint64_t total = rl->csv_bytes + rl->json_bytes, off, end;
	uint32_t index = req->fetch->index;
	size_t len, got;
	char rel[96];
	int rv;

	if (rl->chunk == 0 || (uint64_t)index * rl->chunk >= total + (total == 0)) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED,
		    "release chunk %u: the release has %llu chunks", index,
		    (unsigned long long)((total + rl->chunk - 1) / (rl->chunk ? rl->chunk : 1)));
		return;
	}
	off = (uint64_t)index * rl->chunk;
	end = off + rl->chunk < total ? off + rl->chunk : total;
	len = (size_t)(end - off);
	if ((rp->buf = malloc(len ? len : 1)) == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "out of memory");
		return;
	}
	for (size_t done = 0; done < len; done += got) {
		uint64_t pos = off + done;
		int csv = pos < rl->csv_bytes;
		uint64_t doc_end = csv ? rl->csv_bytes : total;

		udc_state_round(rel, sizeof(rel), s->idhex, csv ? "result.csv" : "result.json");
		rv = udc_store_pread(cb->n->cfg->state_dir, rel, csv ? pos : pos - rl->csv_bytes,
		    rp->buf + done, (size_t)((end < doc_end ? end : doc_end) - pos), &got, NULL);
		if (rv != 0 || got == 0) {
			log_warnx("round %s: cannot read %s for the gemeente: %s", s->idhex, rel,
			    rv ? udc_strerror(rv) : "shorter than released");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL,
			    "the CBS node cannot read its stored release");
			return;
		}
	}
	udc__release_chunk__init(&rp->release_chunk);
	rp->release_chunk.index = index;
	rp->release_chunk.data.data = rp->buf;
	rp->release_chunk.data.len = len;
	rp->env.body_case = UDC__ENVELOPE__BODY_RELEASE_CHUNK;
	rp->env.release_chunk = &rp->release_chunk;
}

/* The gemeente stored both documents with the hashes we signed: the
 * round is done on both nodes. */
void
cbs_on_delivered(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__Delivered *d = req->delivered;

	if (d->csv_sha256.len != 32 || d->json_sha256.len != 32 ||
	    memcmp(d->csv_sha256.data, s->rel.csv_sha, 32) != 0 ||
	    memcmp(d->json_sha256.data, s->rel.json_sha, 32) != 0) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED,
		    "delivered: the hashes are not those of the release");
		return;
	}
	if (s->state == SS_DELIVER) {
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
			UDC_AUDIT_S("to", s->np->id[0] ? s->np->id : "gemeente") };
		s->rel.delivered = 1;
		sess_enter(cb, s, SS_DONE);
		udc_rounds_update(cb->n->rounds, s->idhex, "done", "done", 1000, NULL);
		udc_node_audit(cb->n, UDC_AUDIT_RESULT_DELIVERED, f, UDC_AUDIT_NFIELDS(f));
	}
	cbs_reply_ack(rp, 0, 0);
}
