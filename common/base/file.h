/*
 * file.h - whole files in and out: one bounded reader, one atomic writer.
 *
 * Every file udclink reads whole (certificates and keys, specs' CLK schemas,
 * released documents, map geometry, the state directory's files) goes
 * through udc_file_read, and every file it replaces (the state directory's
 * files, operator keys, reports, CLK outputs) through udc_afile.
 *
 * The reader refuses anything but a regular file: a FIFO or a device named
 * where a file belongs would block the reader or never end.  It reads at most
 * max bytes and says so when the file is longer, instead of cutting it.
 *
 * The writer writes to a fresh temporary name beside the target (created
 * exclusively, never through a link), fsyncs it and renames it into place,
 * then fsyncs the directory: after a crash the target is the old file or the
 * new one, never half of one.
 *
 * Error texts are "PATH: reason" (for a file under a directory descriptor,
 * the shown name the caller passes).
 */
#ifndef UDC_FILE_H
#define UDC_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum {
	UDC_FILE_NOFOLLOW = 1, /* refuse a symbolic link as the last component */
	UDC_FILE_SECRET = 2,   /* read into locked memory (udc_secmem_alloc): free
	                        * with udc_file_free(data, UDC_FILE_SECRET) */
	UDC_FILE_PRIVATE = 4,  /* refuse a file that group or others may access */
};

/* Reads the regular file path (at most max bytes) into a new buffer with a
 * NUL after the contents; *len (if not NULL) gets the length.  Returns 0,
 * UDC_EPERM (not a regular file, a link with UDC_FILE_NOFOLLOW, too open
 * with UDC_FILE_PRIVATE), UDC_ELIMIT (over max bytes), UDC_ENOMEM or
 * UDC_EIO (cannot open it, a missing file included, or read it); err (may
 * be NULL) gets "PATH: reason". */
int udc_file_read(const char *path, size_t max, unsigned flags, char **data, size_t *len,
    char *err, size_t errlen);
/* The same for name under the directory dirfd (AT_FDCWD: the working
 * directory); shown is the name used in err (NULL: name).  A missing name
 * is UDC_ENOTFOUND here (the state directory asks whether a file exists). */
int udc_file_readat(int dirfd, const char *name, const char *shown, size_t max, unsigned flags,
    char **data, size_t *len, char *err, size_t errlen);
/* Frees what udc_file_read returned (wiped first for UDC_FILE_SECRET). */
void udc_file_free(char *data, unsigned flags);

enum {
	UDC_AFILE_NOREPLACE = 1, /* the commit fails with UDC_EEXIST if the target
	                          * exists (for keys: never overwrite one) */
};

/* A file being written under a temporary name. */
struct udc_afile {
	int dirfd, fd;
	unsigned flags;
	FILE *stream;
	char name[4096]; /* the target, relative to dirfd */
	char tmp[4200];  /* the temporary name, in the target's directory */
	char shown[4096];
};

/* Starts writing name (relative to dirfd; AT_FDCWD for a plain path) with
 * the given mode (less the umask, which can only make it stricter).  The
 * directory descriptor is duplicated: the caller keeps its own.  shown
 * (NULL: name) is used in error texts. */
int udc_afile_begin(struct udc_afile *w, int dirfd, const char *name, const char *shown,
    mode_t mode, unsigned flags, char *err, size_t errlen);
/* Appends len bytes. */
int udc_afile_write(struct udc_afile *w, const void *data, size_t len);
/* A stdio stream on the file (buffered; flushed by commit).  Do not fclose
 * it: commit and discard do. */
FILE *udc_afile_stream(struct udc_afile *w);
/* Flushes, fsyncs, renames into place (or links, with NOREPLACE) and fsyncs
 * the directory.  On failure the target is untouched and the temporary file
 * removed.  Either way w is finished. */
int udc_afile_commit(struct udc_afile *w, char *err, size_t errlen);
/* Abandons the file: the temporary name is removed, the target untouched.
 * Safe after commit and after a failed begin (does nothing then). */
void udc_afile_discard(struct udc_afile *w);

#endif
