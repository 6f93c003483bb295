/*
 * geomap.h - area boundaries for the report's maps: a GeoJSON
 * FeatureCollection (RFC 7946, WGS84 longitude/latitude) of Polygon and
 * MultiPolygon features, each with a code and a name property.
 *
 * The projection is equirectangular, scaled by the cosine of the mean
 * latitude so that a city's shapes are not stretched:
 *
 *	x = (lon - lon_min) * cos(lat0),   y = lat_max - lat
 *	lat0 = (lat_min + lat_max) / 2     (the map's extent)
 *
 * then scaled uniformly to the drawing's width.  At the scale of a city
 * that is within a fraction of a percent of a conformal projection.
 */
#ifndef UDC_GEOMAP_H
#define UDC_GEOMAP_H

#include <stddef.h>

#define UDC_GEO_MAX_FILE (64u << 20)
#define UDC_GEO_MAX_POINTS 2000000

struct udc_geo_area {
	char *code, *name;
	size_t nrings;
	size_t *ring_len;        /* points per ring (the closing point included) */
	double *lonlat;          /* every ring's points, lon then lat */
};

struct udc_geomap {
	size_t nareas;
	struct udc_geo_area *areas;
	double lon_min, lon_max, lat_min, lat_max;
};

/*
 * Reads path; code_prop and name_prop name the properties with each
 * area's code and name (strings; a code must not appear twice).  *out is
 * the caller's, freed with udc_geomap_free.  Returns 0, UDC_EIO,
 * UDC_EPARSE (err: "PATH:LINE: reason" for a syntax error, "PATH:
 * features[3].geometry: reason" otherwise), UDC_ELIMIT, UDC_ENOMEM.
 */
int udc_geomap_read(struct udc_geomap **out, const char *path, const char *code_prop,
                    const char *name_prop, char *err, size_t errlen);
void udc_geomap_free(struct udc_geomap *m);

/* The area with this code, or NULL. */
const struct udc_geo_area *udc_geomap_find(const struct udc_geomap *m, const char *code);

/* The drawing's size for a width in pixels: *height keeps the aspect. */
void udc_geomap_size(const struct udc_geomap *m, double width, double *height);
/* A point projected into a drawing of this width (y down). */
void udc_geomap_project(const struct udc_geomap *m, double width, double lon, double lat,
                        double *x, double *y);

#endif
