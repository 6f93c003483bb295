/*
 * geomap.c - GeoJSON area boundaries (geomap.h).
 */
#include "geomap.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "file.h"

struct gctx {
	const char *file;
	char *err;
	size_t errlen;
	size_t points;
};

static int
gfail(struct gctx *g, size_t f, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
gfail(struct gctx *g, size_t f, const char *what, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(g->err, g->errlen, "%s: features[%zu]%s: %s", g->file, f, what, why);
	return UDC_EPARSE;
}

static int
oom(struct gctx *g)
{
	snprintf(g->err, g->errlen, "%s: out of memory", g->file);
	return UDC_ENOMEM;
}

/* A property that must be a short printable string. */
static int
prop(struct gctx *g, size_t f, json_t *props, const char *key, char **out)
{
	json_t *v = json_object_get(props, key);
	const char *s;

	if (!json_is_string(v))
		return gfail(g, f, ".properties", "'%s' is missing or not a string", key);
	s = json_string_value(v);
	if (strlen(s) == 0 || strlen(s) > 200 || strlen(s) != json_string_length(v))
		return gfail(g, f, ".properties", "'%s' must be 1 to 200 characters", key);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return gfail(g, f, ".properties", "'%s' holds a control character", key);
	if ((*out = strdup(s)) == NULL)
		return oom(g);
	return 0;
}

/* One polygon (an array of rings) appended to a. */
static int
polygon(struct gctx *g, size_t f, json_t *poly, struct udc_geo_area *a, size_t *cap)
{
	if (!json_is_array(poly) || json_array_size(poly) == 0)
		return gfail(g, f, ".geometry", "a polygon must be an array of rings");
	for (size_t r = 0; r < json_array_size(poly); r++) {
		json_t *ring = json_array_get(poly, r);
		size_t n, *rl, have = 0;

		if (!json_is_array(ring) || (n = json_array_size(ring)) < 4)
			return gfail(g, f, ".geometry", "a ring needs at least 4 positions");
		if (n > UDC_GEO_MAX_POINTS || g->points + n > UDC_GEO_MAX_POINTS) {
			snprintf(g->err, g->errlen, "%s: more than %d points", g->file,
			         UDC_GEO_MAX_POINTS);
			return UDC_ELIMIT;
		}
		for (size_t k = 0; k < a->nrings; k++)
			have += a->ring_len[k];
		if ((rl = realloc(a->ring_len, (a->nrings + 1) * sizeof(size_t))) == NULL)
			return oom(g);
		a->ring_len = rl;
		if (have + n > *cap) {
			size_t nc = (have + n) * 2;
			double *p = realloc(a->lonlat, nc * 2 * sizeof(double));

			if (p == NULL)
				return oom(g);
			a->lonlat = p;
			*cap = nc;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *pos = json_array_get(ring, i);
			json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
			double lon, lat;

			if (!json_is_array(pos) || json_array_size(pos) < 2 || !json_is_number(x) ||
			    !json_is_number(y))
				return gfail(g, f, ".geometry", "a position must be [longitude, latitude]");
			lon = json_number_value(x);
			lat = json_number_value(y);
			if (!(lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0))
				return gfail(g, f, ".geometry", "a position outside longitude -180..180 "
				             "or latitude -90..90");
			a->lonlat[2 * (have + i)] = lon;
			a->lonlat[2 * (have + i) + 1] = lat;
		}
		if (a->lonlat[2 * have] != a->lonlat[2 * (have + n - 1)] ||
		    a->lonlat[2 * have + 1] != a->lonlat[2 * (have + n - 1) + 1])
			return gfail(g, f, ".geometry", "a ring that is not closed (its first and last "
			             "positions differ)");
		a->ring_len[a->nrings++] = n;
		g->points += n;
	}
	return 0;
}

static int
feature(struct gctx *g, size_t f, json_t *ft, const char *code_prop, const char *name_prop,
        struct udc_geo_area *a)
{
	json_t *geom, *coords, *props;
	const char *type;
	size_t cap = 0;
	int rv;

	if (!json_is_object(ft) || !json_is_string(json_object_get(ft, "type")) ||
	    strcmp(json_string_value(json_object_get(ft, "type")), "Feature") != 0)
		return gfail(g, f, "", "not a Feature");
	props = json_object_get(ft, "properties");
	if (!json_is_object(props))
		return gfail(g, f, ".properties", "missing or not an object");
	if ((rv = prop(g, f, props, code_prop, &a->code)) != 0 ||
	    (rv = prop(g, f, props, name_prop, &a->name)) != 0)
		return rv;
	geom = json_object_get(ft, "geometry");
	if (!json_is_object(geom) || !json_is_string(json_object_get(geom, "type")))
		return gfail(g, f, ".geometry", "missing or without a type");
	type = json_string_value(json_object_get(geom, "type"));
	coords = json_object_get(geom, "coordinates");
	if (strcmp(type, "Polygon") == 0)
		return polygon(g, f, coords, a, &cap);
	if (strcmp(type, "MultiPolygon") != 0)
		return gfail(g, f, ".geometry", "type must be Polygon or MultiPolygon");
	if (!json_is_array(coords) || json_array_size(coords) == 0)
		return gfail(g, f, ".geometry", "a MultiPolygon needs an array of polygons");
	for (size_t p = 0; p < json_array_size(coords); p++)
		if ((rv = polygon(g, f, json_array_get(coords, p), a, &cap)) != 0)
			return rv;
	return 0;
}

int
udc_geomap_read(struct udc_geomap **out, const char *path, const char *code_prop,
                const char *name_prop, char *err, size_t errlen)
{
	struct gctx g = {path, err, errlen, 0};
	struct udc_geomap *m = NULL;
	json_error_t je;
	json_t *root = NULL, *feats;
	char *buf = NULL;
	size_t n;
	int rv;

	*out = NULL;
	if ((rv = udc_file_read(path, UDC_GEO_MAX_FILE, 0, &buf, &n, err, errlen)) != 0)
		return rv;
	if ((root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line > 0 ? je.line : 1, je.text);
		rv = UDC_EPARSE;
		goto out;
	}
	feats = json_object_get(root, "features");
	if (!json_is_object(root) || !json_is_string(json_object_get(root, "type")) ||
	    strcmp(json_string_value(json_object_get(root, "type")), "FeatureCollection") != 0 ||
	    !json_is_array(feats) || json_array_size(feats) == 0 ||
	    json_array_size(feats) > 100000) {
		snprintf(err, errlen, "%s: not a GeoJSON FeatureCollection with 1 to 100000 features",
		         path);
		rv = UDC_EPARSE;
		goto out;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->areas = calloc(json_array_size(feats), sizeof(*m->areas))) == NULL) {
		rv = oom(&g);
		goto out;
	}
	m->lon_min = m->lat_min = INFINITY;
	m->lon_max = m->lat_max = -INFINITY;
	for (size_t f = 0; f < json_array_size(feats); f++) {
		struct udc_geo_area *a = &m->areas[f];
		size_t np = 0;

		m->nareas++;
		if ((rv = feature(&g, f, json_array_get(feats, f), code_prop, name_prop, a)) != 0)
			goto out;
		for (size_t k = 0; k < f; k++)
			if (strcmp(m->areas[k].code, a->code) == 0) {
				rv = gfail(&g, f, ".properties", "code %s also in features[%zu]", a->code,
				           k);
				goto out;
			}
		for (size_t r = 0; r < a->nrings; r++)
			np += a->ring_len[r];
		for (size_t i = 0; i < np; i++) {
			m->lon_min = fmin(m->lon_min, a->lonlat[2 * i]);
			m->lon_max = fmax(m->lon_max, a->lonlat[2 * i]);
			m->lat_min = fmin(m->lat_min, a->lonlat[2 * i + 1]);
			m->lat_max = fmax(m->lat_max, a->lonlat[2 * i + 1]);
		}
	}
	if (!(m->lon_max > m->lon_min && m->lat_max > m->lat_min)) {
		snprintf(err, errlen, "%s: the areas cover no extent", path);
		rv = UDC_EPARSE;
		goto out;
	}
	*out = m;
	m = NULL;
	rv = 0;
out:
	udc_geomap_free(m);
	json_decref(root);
	free(buf);
	return rv;
}

void
udc_geomap_free(struct udc_geomap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nareas; i++) {
		free(m->areas[i].code);
		free(m->areas[i].name);
		free(m->areas[i].ring_len);
		free(m->areas[i].lonlat);
	}
	free(m->areas);
	free(m);
}

const struct udc_geo_area *
udc_geomap_find(const struct udc_geomap *m, const char *code)
{
	for (size_t i = 0; m != NULL && i < m->nareas; i++)
		if (strcmp(m->areas[i].code, code) == 0)
			return &m->areas[i];
	return NULL;
}

static double
coslat(const struct udc_geomap *m)
{
	return cos((m->lat_min + m->lat_max) / 2.0 * M_PI / 180.0);
}

void
udc_geomap_size(const struct udc_geomap *m, double width, double *height)
{
	double w = (m->lon_max - m->lon_min) * coslat(m), h = m->lat_max - m->lat_min;

	*height = width * h / w;
}

void
udc_geomap_project(const struct udc_geomap *m, double width, double lon, double lat, double *x,
                   double *y)
{
	double k = coslat(m), s = width / ((m->lon_max - m->lon_min) * k);

	*x = (lon - m->lon_min) * k * s;
	*y = (m->lat_max - lat) * s;
}
