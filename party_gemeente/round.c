/*
 * round.c - the gemeente's side of a round, step by step.
 *
 *   propose (propose.c) and wait for the CBS operator's consent, then
 *   exact:   read + blind own list (H(k)^a), shuffle
 *   fuzzy, combined: phase 1 (link.c) -> count list H(handle)^a
 *   then (count.c): wait until the CBS list is ready, then upload while a
 *            second thread fetches the CBS list and raises it to a
 *            (H(k)^ba) -> shuffle, return
 *   then (release.c): finish -> seal -> fetch and store the release
 *
 * On any failure the CBS node is told (Abort) and the round is marked failed
 * with the reason; the daemon carries on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blind.h"
#include "blist.h"
#include "clkctx.h"
#include "roundkey.h"
#include "secmem.h"
#include "err.h"
#include "round.h"
#include "log.h"
#include "result.h"
#include "rounds.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "wire.h"


/* Reads our list: hashed, blinded (and encoded), its digest taken while
 * it is read; the CBS session is kept alive meanwhile. */
static int
read_list(struct gem_round *r, struct udc_input_opts *io, struct udc_blist *ours,
    const struct udc_scalar *a, struct udc_input_stats *in_stats)
{
	int rv;

	io->digest = r->input_digest;
	io->progress = gem_read_progress;
	io->progress_arg = r;
	gem_step(r, "reading", 0);
	if ((rv = udc_blist_from_input(ours, io, r->job->round_id, a, r->n->wq, in_stats, r->err,
	    sizeof(r->err))) != 0)
		return rv;
	if (r->err[0])
		return UDC_EPEER; /* the keepalive lost the CBS node while we read */
	log_info("round %s: %s: %llu rows, %llu used, %zu blinded", r->job->idhex, io->path,
	    (unsigned long long)in_stats->rows, (unsigned long long)in_stats->accepted, ours->n);
	return 0;
}

/* Too many rows rejected (a file in another encoding, the wrong columns)
 * fails the round rather than linking what is left, unless the operator
 * said otherwise for this round. */
int
gem_check_rejects(struct gem_round *r, const struct udc_input_stats *in_stats)
{
	char why[400];

	if (udc_node_input_read(r->n, r->job->idhex, in_stats, r->job->accept_rejects, why,
	    sizeof(why)) == 0)
		return 0;
	gem_fail(r, "%s: %s; fix the file, raise [input] reject_limit, or start the round with "
	    "udcctl round start --accept-rejects", r->n->cfg->input_file, why);
	return UDC_EREFUSED;
}

/* The CBS list, fetched and raised to a on a thread of its own next to the
 * upload. */
struct fetch_arg {
	struct gem_round *r;
	struct udc_blist *cbs_list;
	const struct udc_scalar *a;
	uint64_t c_records;
	uint32_t c_chunks;
	int rv;
};

static void *
fetch_cbs_list(void *p)
{
	struct fetch_arg *fa = p;

	fa->rv = gem_download(fa->r, fa->cbs_list, fa->a, fa->c_records, fa->c_chunks);
	return NULL;
}

void
gem_run_round(struct udc_node *n, struct gem_job *job)
{
	struct gem_round r = { .n = n, .job = job };
	struct udc_scalar *a = NULL;
	struct udc_kx *kx = NULL;
	struct udc_blist ours, cbs_list;
	struct udc_input_stats in_stats;
	struct udc_input_opts io;
	Udc__Envelope *res = NULL;
	uint8_t peer_kx[UDC_KX_PUBLIC_BYTES];
	uint64_t uploaded;
	int rv;

	gem_round_open(&r);
	memset(&in_stats, 0, sizeof(in_stats));
	udc_blist_init(&ours, 1, 0);
	udc_blist_init(&cbs_list, 1, 0);
	if ((rv = udc_spec_from_texts(job->spec_text, job->spec_len, job->schema_text, job->schema_len,
	    "spec", &r.spec, r.err, sizeof(r.err))) != 0)
		goto done;
	udc_spec_hash_hex(r.spec, r.spec_hex);
	r.count_nkeys = udc_spec_fuzzy(r.spec) ? 1 : r.spec->nkeys;
	udc_blist_init(&ours, r.spec->nkeys, n->cfg->max_records);
	udc_blist_init(&cbs_list, r.count_nkeys, 0);
	log_info("round %s: started (spec '%s')", job->idhex, r.spec->name);
	{
		const char *dim = udc_node_input_opts(n, r.spec, UDC_SIDE_GEMEENTE, &io);
		if (dim != NULL) {
			gem_fail(&r, "%s: no column mapped for the spec's gemeente label '%s' ([labels] section)",
			    n->cfg->path, dim);
			goto done;
		}
	}
	if ((rv = udc_scalar_new(&a)) != 0 ||
	    (udc_spec_fuzzy(r.spec) && (rv = udc_kx_new(&kx)) != 0)) {
		gem_fail(&r, "cannot create the round's secrets");
		goto done;
	}
	/* Propose first: the CBS node prepares its list while we read ours,
	 * and a refusal or a wrong peer is known before any work is done. */
	gem_step(&r, "propose", 0);
	if ((rv = gem_propose(&r, kx ? udc_kx_public(kx) : NULL, peer_kx)) != 0 ||
	    (rv = gem_wait_consent(&r)) != 0)
		goto done;
	if (udc_spec_fuzzy(r.spec)) {
		io.digest = r.input_digest;
		io.progress = gem_read_progress;
		io.progress_arg = &r;
		gem_step(&r, "reading", 0);
		if ((rv = gem_linkage_phase(&r, a, &io, kx, peer_kx, &ours, &in_stats)) != 0)
			goto done;
		udc_kx_free(kx);
		kx = NULL;
	} else {
		if ((rv = read_list(&r, &io, &ours, a, &in_stats)) != 0)
			goto done;
		if ((rv = gem_check_rejects(&r, &in_stats)) != 0)
			goto done;
		if (ours.n == 0) {
			gem_fail(&r, "%s: no usable records (%llu rows read)", io.path,
			    (unsigned long long)in_stats.rows);
			goto done;
		}
		udc_blist_shuffle(&ours);
	}
	uploaded = ours.n;
	/* Wait for the CBS list before uploading ours: the CBS node's own list
	 * is what we wait for, and raising our tuples would take the CBS node's
	 * cores from it; once it is ready both nodes compute at once, the CBS
	 * node raising our tuples to b while we fetch and raise its list to a.
	 * (Uploading at once made a slower CBS node prepare and raise in turn
	 * while we waited, then wait while we raised: docs/benchmarks.md.) */
	{
		struct fetch_arg fa = { .r = &r, .cbs_list = &cbs_list, .a = a };
		pthread_t t;
		int threaded;

		if ((rv = gem_wait_cbs(&r, &fa.c_records, &fa.c_chunks)) != 0)
			goto done;
		threaded = pthread_create(&t, NULL, fetch_cbs_list, &fa) == 0;
		if (!threaded)
			fa.rv = gem_download(&r, &cbs_list, a, fa.c_records, fa.c_chunks);
		rv = gem_upload(&r, &ours, UDC__ENVELOPE__BODY_G_CHUNK, "upload");
		if (threaded)
			pthread_join(t, NULL);
		if (rv == 0)
			rv = fa.rv;
		if (rv != 0)
			goto done;
	}
	udc_blist_free(&ours);
	/* a is no longer needed: wipe it before the long tail of the round. */
	udc_scalar_free(a);
	a = NULL;
	/* A fresh shuffle: CBS must not tell which of its records came back where. */
	udc_blist_shuffle(&cbs_list);
	if ((rv = gem_upload(&r, &cbs_list, UDC__ENVELOPE__BODY_R_CHUNK, "return")) != 0)
		goto done;
	udc_blist_free(&cbs_list);
	gem_step(&r, "counting", 0);
	if ((rv = gem_finish(&r, &in_stats, uploaded)) != 0)
		goto done;
	gem_step(&r, "seal", 0);
	if ((rv = gem_seal(&r, &res)) != 0)
		goto done;
	gem_step(&r, "release", 0);
	rv = gem_receive_release(&r, res->seal->release);
done:
	udc_wire_free(res);
	udc_scalar_free(a);
	udc_kx_free(kx);
	udc_blist_free(&ours);
	udc_blist_free(&cbs_list);
	if (in_stats.rows) {
		char hex[65];
		udc_hex(r.input_digest, 32, hex);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("file_sha256", hex), UDC_AUDIT_I("rows", in_stats.rows),
			UDC_AUDIT_I("used", in_stats.accepted) };
		udc_node_audit(n, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f));
	}
	if (r.err[0] || rv != 0) {
		if (!r.err[0])
			gem_fail(&r, "%s", udc_strerror(rv));
		if (r.spec && !r.peer_aborted && rv != UDC_ETIMEDOUT)
			gem_abort_peer(&r);
		log_warnx("round %s failed: %s", job->idhex, r.err);
		udc_rounds_update(n->rounds, job->idhex, "failed", NULL, 0, r.err);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("reason", r.err) };
		udc_node_audit(n, UDC_AUDIT_ROUND_FAILED, f, UDC_AUDIT_NFIELDS(f));
	} else {
		log_info("round %s: done", job->idhex);
		udc_rounds_update(n->rounds, job->idhex, "done", "done", 1000, NULL);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("spec_hash", r.spec_hex) };
		udc_node_audit(n, UDC_AUDIT_ROUND_DONE, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_spec_free(r.spec);
	gem_round_close(&r);
}