/*
 * link.c - fuzzy and combined modes, phase 1 at the gemeente: agree the
 * round secret, encode the records as CLKs with random handles, upload
 * them (combined: with H(k)^a), raise the CBS records' keys (combined) and
 * wait for the CBS node to link; then build the count list H(handle)^a
 * with the group labels.
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
#include "linkage.h"
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

/* Sends the linkage records: handle, CLK and (combined) H(k)^a, no labels. */
static int
upload_link(struct gem_round *r, const struct udc_blist *l, size_t clk_bytes)
{
	size_t per_rec = 32 + clk_bytes + l->nkeys * 32;
	size_t chunk = udc_wire_chunk_records(r->n->cfg->chunk_records, r->n->cfg->max_message,
	    per_rec);
	size_t nchunks;
	uint8_t *handles = NULL, *clks = NULL;
	int rv = 0;

	nchunks = (l->n + chunk - 1) / chunk;
	handles = malloc(chunk * 32);
	clks = malloc(chunk * clk_bytes + 1);
	if (!handles || !clks) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nchunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__LinkChunk lc = UDC__LINK_CHUNK__INIT;
		size_t from = i * chunk, n = l->n - from < chunk ? l->n - from : chunk;

		for (size_t k = 0; k < n; k++) {
			memcpy(handles + 32 * k, udc_blist_ext(l, from + k), 32);
			memcpy(clks + clk_bytes * k, udc_blist_ext(l, from + k) + 32, clk_bytes);
		}
		lc.index = (uint32_t)i;
		lc.last = i + 1 == nchunks;
		lc.n = (uint32_t)n;
		lc.nkeys = (uint32_t)l->nkeys;
		lc.clk_bytes = (uint32_t)clk_bytes;
		lc.handles.data = handles;
		lc.handles.len = 32 * n;
		lc.clks.data = clks;
		lc.clks.len = clk_bytes * n;
		lc.points.data = l->nkeys ? udc_blist_pt(l, from, 0) : handles;
		lc.points.len = n * l->nkeys * 32;
		req.body_case = UDC__ENVELOPE__BODY_L_CHUNK;
		req.l_chunk = &lc;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep)) != 0)
			goto out;
		udc_wire_free(rep);
		udc_rounds_records(r->n->rounds, r->job->idhex, "link-upload", from + n, l->n);
	}
out:
	free(handles);
	free(clks);
	return rv;
}

/* Combined mode: raise the CBS records' exact keys to a and send them back
 * in the CBS node's order (they carry no labels; CBS needs to know its own). */
static int
return_cbs_keys(struct gem_round *r, const struct udc_scalar *a, uint32_t cbs_chunks, uint64_t cbs_records)
{
	uint64_t seen = 0;
	char why[256];
	int rv;

	for (uint32_t i = 0; i < cbs_chunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL, *ack = NULL;
		Udc__Fetch f = UDC__FETCH__INIT;
		Udc__Chunk *ch;

		f.index = i;
		f.phase = 1;
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_C_CHUNK, &rep)) != 0)
			return rv;
		ch = rep->c_chunk;
		if ((rv = udc_wire_check_chunk(ch, r->spec->nkeys, UDC_MAX_CHUNK_RECORDS, 1, why,
		    sizeof(why))) != 0 || ch->index != i || seen + ch->n > cbs_records) {
			gem_fail(r, "bad chunk from the CBS node: %s", rv ? why : "index or count mismatch");
			udc_wire_free(rep);
			return UDC_EPROTO;
		}
		if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, a, r->n->wq)) != 0) {
			gem_fail(r, "the CBS node sent an invalid group element in chunk %u", i);
			udc_wire_free(rep);
			return rv;
		}
		seen += ch->n;
		Udc__Envelope back = UDC__ENVELOPE__INIT;
		back.body_case = UDC__ENVELOPE__BODY_X_CHUNK;
		back.x_chunk = ch;
		rv = gem_call(r, &back, UDC__ENVELOPE__BODY_ACK, &ack);
		udc_wire_free(rep);
		udc_wire_free(ack);
		if (rv != 0)
			return rv;
		udc_rounds_records(r->n->rounds, r->job->idhex, "link-return", seen, cbs_records);
	}
	if (seen != cbs_records) {
		gem_fail(r, "the CBS node sent %llu records, announced %llu", (unsigned long long)seen,
		    (unsigned long long)cbs_records);
		return UDC_EPROTO;
	}
	return 0;
}

/* Fuzzy and combined modes, phase 1: derive the round secret agreed at the
 * proposal, encode and upload the records with random handles, help CBS
 * raise its exact keys, and wait for CBS to link.  Leaves in *count the
 * list for the blinded count: H(handle)^a with the gemeente's group labels,
 * shuffled again (CBS must not match a count tuple to a phase-1 record by
 * its place in the list). */
int
gem_linkage_phase(struct gem_round *r, const struct udc_scalar *a, const struct udc_input_opts *io,
    struct udc_kx *kx, const uint8_t peer[32], struct udc_blist *count,
    struct udc_input_stats *in_stats)
{
	struct udc_clkctx *clk = NULL;
	struct udc_blist linkrecs;
	uint8_t *secret = NULL;
	size_t clk_bytes;
	int rv;

	udc_blist_init(&linkrecs, r->spec->nkeys, 0);
	if ((secret = udc_secmem_alloc(UDC_CLK_SECRET_BYTES)) == NULL) {
		gem_fail(r, "cannot set up the round secret");
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = udc_kx_secret(kx, 1, peer, r->job->round_id, r->spec->hash, secret)) != 0) {
		gem_fail(r, "the CBS node's key for the round secret is invalid");
		goto out;
	}
	rv = udc_clkctx_new(&clk, r->spec, secret, 1, r->err, sizeof(r->err));
	udc_secmem_free(secret);
	secret = NULL;
	if (rv != 0)
		goto out;
	clk_bytes = udc_clkctx_bytes(clk);
	udc_blist_set_extra(&linkrecs, udc_clkctx_ext_bytes(clk));
	gem_step(r, "reading", 0);
	if ((rv = udc_blist_from_input_ext(&linkrecs, io, r->job->round_id, a, r->n->wq, udc_clkctx_fill, clk,
	    in_stats, r->err, sizeof(r->err))) != 0)
		goto out;
	if (r->err[0]) { /* the keepalive lost the CBS node while we read */
		rv = UDC_EPEER;
		goto out;
	}
	if ((rv = gem_check_rejects(r, in_stats)) != 0)
		goto out;
	udc_clkctx_free(clk);
	clk = NULL;
	log_info("round %s: %s: %llu rows, %llu encoded", r->job->idhex, io->path,
	    (unsigned long long)in_stats->rows, (unsigned long long)linkrecs.n);
	if (linkrecs.n == 0) {
		gem_fail(r, "%s: no usable records (%llu rows read)", io->path, (unsigned long long)in_stats->rows);
		rv = UDC_EINVAL;
		goto out;
	}
	udc_blist_shuffle(&linkrecs);
	if ((rv = upload_link(r, &linkrecs, clk_bytes)) != 0)
		goto out;
	/* CBS links from here on, while this node builds its count list below:
	 * charged to the link upload, those seconds made the benchmark report
	 * an upload of 12.8 MB that took 0.26 s as taking 0.8-1.0 s */
	gem_step(r, "linking", 0);
	/* Wait for CBS: its own list (combined), then its linkage.  The count
	 * list does not depend on the links: it is built while CBS links (in
	 * combined mode once CBS has its keys back, which it waits for). */
	struct udc_backoff b = UDC_BACKOFF_INIT(5, 100);
	for (int returned = r->spec->mode != UDC_MODE_COMBINED, counted = 0;;) {
		Udc__Envelope *rep = NULL;
		if ((rv = gem_status(r, &rep)) != 0)
			goto out;
		Udc__StatusReply *sr = rep->status_reply;
		if (!returned && sr->link_ready) {
			uint32_t nchunks = sr->own_chunks;
			uint64_t nrecords = sr->own_records;
			udc_wire_free(rep);
			if ((rv = return_cbs_keys(r, a, nchunks, nrecords)) != 0)
				goto out;
			returned = 1;
			continue;
		}
		int linked = sr->linked;
		udc_wire_free(rep);
		if (returned && !counted) {
			/* The count list: H(handle)^a with the group label, nothing
			 * else; hashed and blinded on the pool. */
			udc_blist_init(count, 1, 0);
			if ((rv = udc_linkage_count_points(count, udc_blist_ext(&linkrecs, 0),
			    linkrecs.extra, NULL, linkrecs.n, a, r->job->round_id, r->n->wq)) != 0) {
				gem_fail(r, "cannot blind the handles");
				goto out;
			}
			memcpy(count->lab, linkrecs.lab, linkrecs.n * sizeof(*count->lab));
			counted = 1;
			continue; /* that took a while: ask again at once */
		}
		if (linked && returned)
			break;
		gem_step(r, "linking", 0);
		udc_backoff_wait(&b);
	}
	/* Record i of the count list is record i of the phase-1 list until
	 * this shuffle: without it CBS, which knows which of its records each
	 * phase-1 record linked to, would read every group label off by
	 * position (tests/attacks, attack_count_order). */
	udc_blist_shuffle(count);
out:
	udc_secmem_free(secret);
	udc_clkctx_free(clk);
	udc_blist_free(&linkrecs);
	return rv;
}
