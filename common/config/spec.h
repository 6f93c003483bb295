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
	char *name;                          /* "surname+birth_date+postcode" */
	int nfields;
	int fields[UDC_MAX_KEY_FIELDS];      /* indices into the spec's fields, in the order written */
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

/*
 * Linked tables (docs/operations.md, "Tables").  A spec with [table ...]
 * sections releases those tables, all computed from the one linkage of the
 * round; a spec without them releases the full cross of every gemeente
 * dimension with every CBS dimension and its two margins, as before.
 */
#define UDC_MAX_TABLES 32
#define UDC_MAX_RECODES 16
#define UDC_MAX_ATTRS 4
#define UDC_MAX_TABLE_DIMS 8
#define UDC_MAX_WHERE 8

/* Which records a table counts.  The order is the canonical form's. */
enum udc_population {
	UDC_POP_LINKED = 0,        /* persons on both lists */
	UDC_POP_GEMEENTE_ONLY = 1, /* gemeente records not linked */
	UDC_POP_CBS_ONLY = 2,      /* CBS records not linked */
	UDC_POP_GEMEENTE = 3,      /* the whole gemeente list: linked + gemeente_only */
	UDC_POP_CBS = 4,           /* the whole CBS list: linked + cbs_only */
};

/* A coarser dimension derived from a base dimension of one side: every
 * source value maps to exactly one new value. */
struct udc_recode {
	char *name;      /* "low_income" */
	int side;        /* the side of its source */
	size_t src;      /* dims[side][src] */
	char **values;   /* new values, in the order written */
	size_t nvalues;
	uint16_t *map;   /* per source value: index into values */
};

/* A dimension as a table names it: a base dimension or a recode. */
struct udc_dimref {
	int side;
	int recode;   /* -1: dims[side][index]; else recodes[recode] */
	size_t index;
};

/* A restriction of a table to some values of one dimension. */
struct udc_where {
	struct udc_dimref dim;
	uint8_t *allowed; /* per value of dim: 1 if kept */
};

/* One dimension of a table and the categories it shows: the values of the
 * dimension that some record of the table can have (values excluded by the
 * table's conditions are left out). */
struct udc_tdim {
	struct udc_dimref ref;
	uint16_t *cats; /* value indices of ref, ascending */
	size_t ncats;
};

struct udc_tablespec {
	char *name;
	enum udc_population pop;
	struct udc_tdim dims[UDC_MAX_TABLE_DIMS]; /* in the order written */
	size_t ndims;
	struct udc_where where[UDC_MAX_WHERE];    /* by dimension name */
	size_t nwhere;
	int sum;             /* index into attrs: release sums of it; -1: counts only */
	int mean;            /* 1: release the mean (sum / count) too */
	int zeros_sensitive; /* 1: zero cells are suppressed like small ones */
	size_t ncells;       /* product over dims of (ncats + 1): every total */
	/* Sums are group-mean estimates (docs/governance.md, "Magnitudes"): a
	 * table with sum has a generated table of its dimensions and the
	 * attribute's group dimension, whose counts the estimates come from. */
	int gtable;          /* sum tables: 1 + the index of that generated table */
	int generated_for;   /* generated tables: 1 + the index of its sum table; else 0 */
};

/* A numeric attribute of one side's input (whole, nonnegative numbers). */
struct udc_attr {
	char *name;
	int side; /* UDC_SIDE_CBS: the only one supported */
	unsigned groups; /* [attributes] NAME.groups: quantile groups per CBS category */
	int gdim;        /* its hidden group dimension: dims[UDC_SIDE_CBS][gdim]; -1 if none */
};

/* Default and bounds of [attributes] NAME.groups. */
#define UDC_SPEC_DEFAULT_GROUPS 4
#define UDC_SPEC_MAX_GROUPS 16

struct udc_spec {
	char *name;
	enum udc_mode mode;
	/* [fields]: the built-in fields (indices 0..7, UDC_F_*) and those the
	 * spec declares; keys and CLK features name them */
	struct udc_fieldset fields;
	uint32_t key_fields;    /* bit f: a match key uses field f */
	uint32_t schema_fields; /* bit f: the attached CLK schema encodes field f */
	struct udc_matchkey keys[UDC_MAX_KEYS];
	size_t nkeys;
	struct udc_dim dims[2][UDC_MAX_DIMS]; /* [side][i] */
	size_t ndims[2];
	/* The last nhidden CBS dimensions are no input column: each is the
	 * quantile group of a summed attribute, computed by the CBS node. */
	size_t nhidden;
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
	int threshold_auto;    /* threshold = auto: the round chooses it (scoremodel.h) */
	unsigned target_precision; /* with auto: the estimated precision to reach, thousandths */
	int balance;           /* balanced filters (hardening), default 0 */
	enum udc_scoring scoring; /* record (one CLK, default) or fields (one filter per feature) */
	/* Linked tables; ntables 0: the legacy full cross (udc_table). */
	struct udc_recode recodes[UDC_MAX_RECODES];
	size_t nrecodes;
	struct udc_attr attrs[UDC_MAX_ATTRS];
	size_t nattrs;
	struct udc_tablespec tables[UDC_MAX_TABLES]; /* sorted by name */
	size_t ntables;
	unsigned protection;       /* [disclosure] minimum width of a suppressed count's interval */
	unsigned min_contributors; /* [disclosure] magnitude cells with fewer are suppressed */
	unsigned p_percent;        /* [disclosure] p of the p%-rule; 0 turns the rule off */
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

/* Dimensions of side read from input columns (the hidden group
 * dimensions of the CBS side excluded). */
size_t udc_spec_input_dims(const struct udc_spec *spec, int side);
/* The attribute a spec's CBS node groups its records by (the one summed
 * attribute), or -1. */
int udc_spec_grouped_attr(const struct udc_spec *spec);

/* 1 if the spec has [table ...] sections (the linked-table release). */
int udc_spec_has_tables(const struct udc_spec *spec);
/* The first table that sums an attribute, or NULL. */
const struct udc_tablespec *udc_spec_first_sum(const struct udc_spec *spec);
/* Why the nodes cannot run a fuzzy or combined spec that sums an attribute. */
#define UDC_SPEC_NO_SUMS "sums are estimated from quantile groups that the CBS node assigns " \
    "while it reads its list for the exact count; this version does that in mode exact only " \
    "(docs/governance.md, Magnitudes)"
/* Name, number of values and value text of a base dimension or recode. */
const char *udc_dimref_name(const struct udc_spec *spec, const struct udc_dimref *r);
size_t udc_dimref_nvalues(const struct udc_spec *spec, const struct udc_dimref *r);
const char *udc_dimref_value(const struct udc_spec *spec, const struct udc_dimref *r, size_t v);
/* The base dimension under r (its own index, or the recode's source). */
size_t udc_dimref_base(const struct udc_spec *spec, const struct udc_dimref *r);
/* The value of r for base value bv of r's base dimension (a recode maps it). */
size_t udc_dimref_of_base(const struct udc_spec *spec, const struct udc_dimref *r, size_t bv);
/* "linked", "gemeente_only", "cbs_only", "gemeente", "cbs". */
const char *udc_population_name(enum udc_population p);

#endif
