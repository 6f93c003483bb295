/*
 * spec.h - the round spec: the agreed statistics.
 *
 * A spec names the match keys in order, the gemeente's label dimensions and
 * the CBS's category dimensions with their allowed values, and the
 * disclosure rules.  Both nodes must hold the same spec; they compare the
 * SHA-256 of its canonical form (see docs/operations.md for both formats).
 */
#ifndef UDC_SPEC_H
#define UDC_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include "fields.h"

enum udc_mode {
	UDC_MODE_EXACT = 0,    /* blinded exact keys, labels with the tuples */
	UDC_MODE_FUZZY = 1,    /* CLK encodings matched at CBS, then a blinded count of handles */
	UDC_MODE_COMBINED = 2, /* exact keys first, then CLKs for the records still unlinked */
};
enum udc_side { UDC_SIDE_GEMEENTE = 0, UDC_SIDE_CBS = 1 };
enum udc_pad { UDC_PAD_NONE = 0, UDC_PAD_MAX = 1 };

/* A spec releases its table once per CBS input unless it says otherwise:
 * every further release on the same data is a chance to difference. */
#define UDC_SPEC_DEFAULT_MAX_RELEASES 1

struct udc_matchkey {
	char *name;                        /* "surname+birth_date+postcode" */
	int nfields;
	enum udc_field fields[UDC_NFIELDS]; /* in the order written */
};

/* How CBS scores a pair of encodings (docs/fuzzy.md, "Scoring"). */
enum udc_scoring {
	UDC_SCORING_RECORD = 0, /* Dice of the record's one CLK (clkhash, anonlink) */
	UDC_SCORING_FIELDS = 1, /* Dice over the features present in both records */
};

struct udc_dim {
	char *name;      /* "wijk" */
	char **values;   /* allowed values, in the order written */
	size_t nvalues;
};

struct udc_spec {
	char *name;
	enum udc_mode mode;
	struct udc_matchkey keys[UDC_MAX_KEYS];
	size_t nkeys;
	struct udc_dim dims[2][UDC_MAX_DIMS]; /* [side][i] */
	size_t ndims[2];
	size_t ncells[2];      /* product of nvalues per side: groups, categories */
	unsigned min_cell;     /* default 10; 0 disables suppression */
	enum udc_pad pad;      /* default UDC_PAD_MAX */
	unsigned round_base;   /* [disclosure] round_base: 0 = no rounding */
	unsigned max_releases; /* [disclosure] max_releases: releases of this spec per CBS input */
	uint32_t eps_num, eps_den; /* [disclosure] noise_epsilon per entry; eps_num 0 = no noise */
	uint64_t budget_num, budget_den; /* [disclosure] noise_budget per population (default 1) */
	/* [fuzzy] (modes fuzzy and combined) */
	char *schema_name;     /* the CLK schema file named by the spec */
	char *schema_json;     /* its contents, once attached (udc_spec_attach_schema) */
	size_t schema_len;
	uint8_t schema_hash[32];
	unsigned threshold;    /* in thousandths; default by scoring (fuzzy.h) */
	int balance;           /* balanced filters (hardening), default 0 */
	enum udc_scoring scoring; /* record (one CLK, default) or fields (one filter per feature) */
	char *canonical;       /* canonical text, NUL-terminated */
	uint8_t hash[32];      /* SHA-256 of canonical */
};

/* Parses spec text; name is used in error messages ("NAME:LINE: reason").
 * Returns 0, UDC_EPARSE or UDC_ENOMEM. */
int udc_spec_parse(const char *text, size_t len, const char *name,
    struct udc_spec **out, char *err, size_t errlen);
/* Reads and parses a file (UDC_EIO with "PATH: reason" if unreadable). */
int udc_spec_load(const char *path, struct udc_spec **out, char *err, size_t errlen);
void udc_spec_free(struct udc_spec *spec);
/* 1 if the mode uses CLK encodings. */
int udc_spec_fuzzy(const struct udc_spec *spec);
/* Attaches the CLK schema's contents (fuzzy and combined modes): its SHA-256
 * becomes part of the canonical form, so the spec hash covers the schema.
 * The contents are checked with the CLK schema parser.  Returns 0, or
 * UDC_EPARSE with "NAME: reason" in err. */
int udc_spec_attach_schema(struct udc_spec *spec, const char *json, size_t len, char *err,
    size_t errlen);
/* Where the schema a spec names lives: a relative name is taken from the
 * directory of the spec file at spec_path. */
void udc_spec_schema_path(const char *spec_path, const struct udc_spec *spec, char *out,
    size_t outlen);
/* Loads a spec file and, for fuzzy and combined modes, the schema it names
 * (a relative name is read from the spec file's directory). */
int udc_spec_load_with_schema(const char *path, struct udc_spec **out, char *err, size_t errlen);
/* Lower-case hex of hash, out has room for 65 bytes. */
void udc_spec_hash_hex(const struct udc_spec *spec, char out[65]);
/* Index of value in dim, or -1. */
int udc_dim_lookup(const struct udc_dim *dim, const char *value);
/* Mixed-radix index of a label tuple (idx[i] < dims[side][i].nvalues); the
 * first dimension varies slowest. */
size_t udc_spec_cell_index(const struct udc_spec *spec, int side, const size_t *idx);
/* Inverse of udc_spec_cell_index. */
void udc_spec_cell_split(const struct udc_spec *spec, int side, size_t cell, size_t *idx);

#endif
