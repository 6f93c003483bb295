/*
 * groups.c - the CBS node's own list for a spec that sums an attribute:
 * each record's value rides along while the list is read, then every CBS
 * category is split into its quantile groups (magest.h) and the group
 * becomes the hidden last CBS dimension of the record's label.  The values
 * are dropped before the list is padded: only the labels leave this step,
 * and only the per-group sums and counts stay (for the group means).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blist.h"
#include "cbs.h"
#include "err.h"
#include "magest.h"

static int
fill_attr(void *arg, const struct udc_inrec *rec, uint8_t *ext)
{
	(void)arg;
	memcpy(ext, &rec->attr, sizeof(rec->attr));
	return 0;
}

int
cbs_groups_read(const struct udc_spec *spec, struct udc_blist *c,
    const struct udc_input_opts *io, const uint8_t rid[16], const struct udc_scalar *b,
    struct udc_workq *wq, struct udc_input_stats *st, uint64_t **gsum, uint64_t **gn, char *err,
    size_t errlen)
{
	size_t ncells = spec->ncells[UDC_SIDE_CBS];
	uint64_t *vals = NULL;
	int rv;

	*gsum = *gn = NULL;
	udc_blist_set_extra(c, sizeof(uint64_t));
	if ((rv = udc_blist_from_input_ext(c, io, rid, b, wq, fill_attr, NULL, st, err,
	    errlen)) != 0)
		goto out;
	if ((vals = malloc((c->n ? c->n : 1) * sizeof(*vals))) == NULL ||
	    (*gsum = calloc(ncells, sizeof(**gsum))) == NULL ||
	    (*gn = calloc(ncells, sizeof(**gn))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n; i++)
		memcpy(&vals[i], udc_blist_ext(c, i), sizeof(vals[i]));
	if ((rv = udc_mag_regroup(spec, c->lab, vals, c->n, *gsum, *gn, err, errlen)) != 0) {
		if (rv == UDC_EINVAL)
			snprintf(err, errlen, "%s: a label does not fit the spec's groups", io->path);
		goto out;
	}
	/* the values stay here: the list that travels holds labels only */
	memset(c->ext, 0, c->n * c->extra);
	free(c->ext);
	c->ext = NULL;
	c->extra = 0;
out:
	free(vals);
	if (rv != 0) {
		free(*gsum);
		free(*gn);
		*gsum = *gn = NULL;
	}
	return rv;
}
