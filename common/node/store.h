/*
 * store.h - the node's state directory.
 *
 *   STATE/approvals/<spec-hash>.spec   specs approved by this node's operator
 *   STATE/rounds/<round-id>/status.json, result.csv, result.json
 *   STATE/peers/<id>/approvals, releases, privacy-ledger
 *                                      a CBS node's per-gemeente state when it
 *                                      serves several ([gemeente ID] sections)
 *
 * Every file is written to a temporary name, fsync'ed and renamed, so a crash
 * leaves either the old or the new version, never half of one.
 */
#ifndef UDC_STORE_H
#define UDC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sodium.h>

#include "file.h"

/* Creates STATE, STATE/approvals and STATE/rounds (mode 0700) if missing. */
int udc_store_init(const char *state_dir, char *err, size_t errlen);
/* Writes data atomically to STATE/<rel> (rel may contain one directory level,
 * which is created). */
int udc_store_write(const char *state_dir, const char *rel, const void *data, size_t len);
/* The same, written piece by piece: begin creates a fresh temporary file,
 * append adds to it, commit syncs it and renames it into place; discard
 * (also after a failed append) removes it.  Nothing is visible at rel
 * before the commit. */
struct udc_store_writer {
	struct udc_afile af;
	uint64_t bytes;                 /* appended so far */
	crypto_hash_sha256_state sha;   /* of what was appended */
};
int udc_store_begin(const char *state_dir, const char *rel, struct udc_store_writer *w);
int udc_store_append(struct udc_store_writer *w, const void *data, size_t len);
/* The SHA-256 of everything appended, into sha (call once, before commit). */
void udc_store_digest(struct udc_store_writer *w, uint8_t sha[32]);
/* A stdio stream that appends to w (fclose it before the commit). */
FILE *udc_store_stream(struct udc_store_writer *w);
int udc_store_commit(struct udc_store_writer *w);
void udc_store_discard(struct udc_store_writer *w);
/* Up to len bytes of STATE/<rel> from offset off into buf (*got fewer at
 * the end of the file); *size, if not NULL, the file's size. */
int udc_store_pread(const char *state_dir, const char *rel, uint64_t off, void *buf, size_t len,
    size_t *got, uint64_t *size);
/* Reads STATE/<rel> (at most max bytes) into a malloc'd NUL-terminated buffer. */
int udc_store_read(const char *state_dir, const char *rel, size_t max, char **data, size_t *len);
/* Creates STATE/<rel> and every directory on the way (mode 0700), each
 * opened without following a link and checked like the state directory. */
int udc_store_mkdirs(const char *state_dir, const char *rel, char *err, size_t errlen);
/* Records an approval of spec text with the given hash (hex). */
int udc_store_approve(const char *state_dir, const char *hash_hex, const void *text, size_t len);
/* 1 if approved, 0 if not. */
int udc_store_is_approved(const char *state_dir, const char *hash_hex);
/* The same under prefix ("" or "peers/ID/", with its slash): a CBS node
 * keeps each gemeente's approvals apart. */
int udc_store_approve_in(const char *state_dir, const char *prefix, const char *hash_hex,
    const void *text, size_t len);
int udc_store_is_approved_in(const char *state_dir, const char *prefix, const char *hash_hex);
/* Round ids (directory names under STATE/rounds), sorted; free with
 * udc_store_list_free. */
int udc_store_rounds(const char *state_dir, char ***ids, size_t *n);
void udc_store_list_free(char **ids, size_t n);
/* SHA-256 of a file's contents (streamed). */
int udc_file_sha256(const char *path, uint8_t out[32]);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void udc_hex(const uint8_t *in, size_t n, char *out);

#endif
