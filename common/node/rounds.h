/*
 * rounds.h - the node's register of rounds: in memory for udcctl, on disk
 * (STATE/rounds/<id>/status.json) so that it survives a restart.
 */
#ifndef UDC_ROUNDS_H
#define UDC_ROUNDS_H

#include <stddef.h>
#include <stdint.h>

struct udc_round {
	char id[33];
	char state[16];     /* queued, running, done, failed */
	char step[32];      /* where the protocol is */
	unsigned progress;  /* per mille within the step */
	char error[320];
	char spec_hash[65];
	int64_t started, finished; /* unix seconds; 0 = not yet */
	uint64_t records_done;     /* within the step, where it moves records; in memory only */
	uint64_t records_total;    /* 0 = not known for this step */
	char input[256];           /* what this node's input gave: rows read, used, rejected */
	char peer[40];             /* a CBS node serving several gemeenten: the gemeente's ID */
	int interrupted;           /* marked failed at open, the peer not yet told; in memory only */
};

struct udc_rounds;

/* Loads every round on disk.  A round still queued or running when the
 * daemon stopped is marked failed ("interrupted: ..."), since its scalars
 * died with the process. */
int udc_rounds_open(struct udc_rounds **out, const char *state_dir);
/* The rounds udc_rounds_open marked interrupted that the peer has not been
 * told of: up to max of them, copied to out (their flag cleared); returns
 * how many. */
size_t udc_rounds_take_interrupted(struct udc_rounds *r, struct udc_round *out, size_t max);
void udc_rounds_close(struct udc_rounds *r);
int udc_rounds_add(struct udc_rounds *r, const char *id, const char *spec_hash, const char *state);
/* The same for a round of gemeente peer (an ID of a [gemeente ID] section;
 * NULL or "" for none): kept with the round, shown by udcctl. */
int udc_rounds_add_peer(struct udc_rounds *r, const char *id, const char *spec_hash,
    const char *state, const char *peer);
/* NULL leaves a field as it is; the file is rewritten when state or step change. */
int udc_rounds_update(struct udc_rounds *r, const char *id, const char *state, const char *step,
    unsigned progress, const char *error);
/* What this node's input gave (udc_input_summary), kept with the round. */
int udc_rounds_input(struct udc_rounds *r, const char *id, const char *summary);
/* Records moved so far in step, of total (for udcctl round wait): sets the
 * step, its per mille (done of total) and the counts under one lock, so a
 * reader never sees the counts of one step with the percentage of another
 * (the gemeente uploads and downloads at once).  A change of step through
 * udc_rounds_update resets the counts to 0.  The step is persisted, the
 * counts are not. */
int udc_rounds_records(struct udc_rounds *r, const char *id, const char *step, uint64_t done,
    uint64_t total);
/* Copies one round; UDC_ENOTFOUND if unknown. */
int udc_rounds_get(struct udc_rounds *r, const char *id, struct udc_round *out);
/* Copies all rounds (oldest first); free *out. */
int udc_rounds_all(struct udc_rounds *r, struct udc_round **out, size_t *n);
/* Hex of 16 random bytes. */
void udc_round_id_hex(const uint8_t id[16], char out[33]);
/* Parses 32 hex digits; UDC_EINVAL otherwise. */
int udc_round_id_parse(const char *hex, uint8_t id[16]);

#endif
