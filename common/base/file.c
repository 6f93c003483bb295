/*
 * file.c - one bounded reader and one atomic writer for whole files.
 */
#define _GNU_SOURCE /* fopencookie */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "secmem.h"

static void
seterr(char *err, size_t errlen, const char *shown, const char *reason)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", shown, reason);
}

void
udc_file_free(char *data, unsigned flags)
{
	if (flags & UDC_FILE_SECRET)
		udc_secmem_free(data);
	else
		free(data);
}

int
udc_file_readat(int dirfd, const char *name, const char *shown, size_t max, unsigned flags,
    char **data, size_t *len, char *err, size_t errlen)
{
	char why[96];
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rv;

	*data = NULL;
	if (shown == NULL)
		shown = name;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat
	 * below then refuses it. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    ((flags & UDC_FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && (flags & UDC_FILE_NOFOLLOW)) {
			seterr(err, errlen, shown, "a symbolic link, refused for this file");
			return UDC_EPERM;
		}
		seterr(err, errlen, shown, strerror(e));
		return e == ENOENT ? UDC_ENOTFOUND : UDC_EIO;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, shown, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, shown, "not a regular file");
		rv = UDC_EPERM;
		goto out;
	}
	/* Checked on the descriptor: the file read is the file checked. */
	if ((flags & UDC_FILE_PRIVATE) && (st.st_mode & 077) != 0) {
		snprintf(why, sizeof(why), "mode %04o is too open, need 0600 or stricter",
		    (unsigned)(st.st_mode & 07777));
		seterr(err, errlen, shown, why);
		rv = UDC_EPERM;
		goto out;
	}
	if ((uint64_t)st.st_size > max)
		goto too_large;
	/* The size may change while we read: read up to max + 1 and refuse
	 * what outgrew the limit. */
	buf = (flags & UDC_FILE_SECRET) ? udc_secmem_alloc(max + 1) : malloc(max + 1);
	if (buf == NULL) {
		seterr(err, errlen, shown, (flags & UDC_FILE_SECRET) ? "out of locked memory"
		    : "out of memory");
		rv = UDC_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, shown, strerror(errno));
			rv = UDC_EIO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			goto too_large;
	}
	buf[n] = '\0';
	*data = buf;
	buf = NULL;
	if (len != NULL)
		*len = n;
	rv = 0;
	goto out;
too_large:
	snprintf(why, sizeof(why), "larger than %zu bytes", max);
	seterr(err, errlen, shown, why);
	rv = UDC_ELIMIT;
out:
	if (buf != NULL)
		udc_file_free(buf, flags);
	close(fd);
	return rv;
}

int
udc_file_read(const char *path, size_t max, unsigned flags, char **data, size_t *len, char *err,
    size_t errlen)
{
	int rv = udc_file_readat(AT_FDCWD, path, path, max, flags, data, len, err, errlen);

	/* A named file that cannot be opened, missing or not, is an I/O error
	 * to the callers of a path (err says which). */
	return rv == UDC_ENOTFOUND ? UDC_EIO : rv;
}

/* The directory part of name ("." for none) into dir. */
static int
dir_of(const char *name, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(name, '/');

	if (slash == NULL) {
		*base = name;
		return snprintf(dir, dirlen, ".") >= (int)dirlen ? -1 : 0;
	}
	*base = slash + 1;
	if (slash == name)
		return snprintf(dir, dirlen, "/") >= (int)dirlen ? -1 : 0;
	if ((size_t)(slash - name) >= dirlen)
		return -1;
	memcpy(dir, name, (size_t)(slash - name));
	dir[slash - name] = '\0';
	return 0;
}

int
udc_afile_begin(struct udc_afile *w, int dirfd, const char *name, const char *shown, mode_t mode,
    unsigned flags, char *err, size_t errlen)
{
	char dir[4096];
	const char *base;
	uint8_t rnd[8];
	int n;

	memset(w, 0, sizeof(*w));
	w->fd = w->dirfd = -1;
	w->flags = flags;
	snprintf(w->shown, sizeof(w->shown), "%s", shown ? shown : name);
	if (strlen(name) >= sizeof(w->name) || dir_of(name, dir, sizeof(dir), &base) != 0 ||
	    *base == '\0' || strlen(base) > 255) {
		seterr(err, errlen, w->shown, "path too long or not a file name");
		return UDC_EINVAL;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	randombytes_buf(rnd, sizeof(rnd));
	/* A fresh name beside the target, created exclusively and never
	 * through a link: nothing planted in the directory can redirect the
	 * write, and the rename stays within one file system. */
	n = snprintf(w->tmp, sizeof(w->tmp), "%.*s.%.200s.tmp.%ld.%02x%02x%02x%02x%02x%02x%02x%02x",
	    (int)(base - name), name, base, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
	    rnd[5], rnd[6], rnd[7]);
	if (n < 0 || (size_t)n >= sizeof(w->tmp)) {
		seterr(err, errlen, w->shown, "path too long");
		return UDC_EINVAL;
	}
	if (dirfd == AT_FDCWD)
		w->dirfd = AT_FDCWD;
	else if ((w->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		seterr(err, errlen, w->shown, strerror(errno));
		return UDC_EIO;
	}
	if ((w->fd = openat(w->dirfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode)) < 0) {
		seterr(err, errlen, w->shown, strerror(errno));
		udc_afile_discard(w);
		return UDC_EIO;
	}
	return 0;
}

/* Writes all len bytes to fd; -1 (errno set) on failure. */
static int
write_all(int fd, const void *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

int
udc_afile_write(struct udc_afile *w, const void *data, size_t len)
{
	if (w->fd < 0)
		return UDC_EINVAL;
	if (w->stream != NULL && fflush(w->stream) != 0)
		return UDC_EIO;
	return write_all(w->fd, data, len) == 0 ? 0 : UDC_EIO;
}

static ssize_t
stream_write(void *cookie, const char *buf, size_t len)
{
	struct udc_afile *w = cookie;

	return write_all(w->fd, buf, len) == 0 ? (ssize_t)len : -1;
}

FILE *
udc_afile_stream(struct udc_afile *w)
{
	cookie_io_functions_t io = { .write = stream_write };

	if (w->fd < 0)
		return NULL;
	if (w->stream == NULL)
		w->stream = fopencookie(w, "w", io);
	return w->stream;
}

/* fsync the directory that holds the target, so the new name is durable. */
static void
sync_dir(struct udc_afile *w)
{
	char dir[4096];
	const char *base;
	int fd;

	if (dir_of(w->name, dir, sizeof(dir), &base) != 0)
		return;
	if (w->dirfd != AT_FDCWD && strcmp(dir, ".") == 0) {
		fsync(w->dirfd);
		return;
	}
	if ((fd = openat(w->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

int
udc_afile_commit(struct udc_afile *w, char *err, size_t errlen)
{
	int rv = UDC_EIO, e = 0;

	if (w->fd < 0) {
		seterr(err, errlen, w->shown, "not open for writing");
		return UDC_EINVAL;
	}
	if (w->stream != NULL) {
		int bad = fflush(w->stream) != 0 || ferror(w->stream);
		e = errno;
		fclose(w->stream);
		w->stream = NULL;
		if (bad) {
			seterr(err, errlen, w->shown, strerror(e ? e : EIO));
			goto out;
		}
	}
	if (fsync(w->fd) != 0 || close(w->fd) != 0) {
		e = errno;
		w->fd = -1;
		seterr(err, errlen, w->shown, strerror(e));
		goto out;
	}
	w->fd = -1;
	if (w->flags & UDC_AFILE_NOREPLACE) {
		/* link() fails if the target exists, and never follows one. */
		if (linkat(w->dirfd, w->tmp, w->dirfd, w->name, 0) != 0) {
			e = errno;
			seterr(err, errlen, w->shown, e == EEXIST ? "exists, refusing to overwrite"
			    : strerror(e));
			rv = e == EEXIST ? UDC_EEXIST : UDC_EIO;
			goto out;
		}
	} else if (renameat(w->dirfd, w->tmp, w->dirfd, w->name) != 0) {
		/* renameat replaces whatever is at the target, a link included,
		 * and never writes through it. */
		seterr(err, errlen, w->shown, strerror(errno));
		goto out;
	}
	sync_dir(w);
	rv = 0;
out:
	udc_afile_discard(w);
	return rv;
}

void
udc_afile_discard(struct udc_afile *w)
{
	if (w->stream != NULL) {
		fclose(w->stream);
		w->stream = NULL;
	}
	if (w->fd >= 0)
		close(w->fd);
	/* After a rename the temporary name is gone: this removes nothing;
	 * after a link it removes the second name. */
	if (w->tmp[0] != '\0' && (w->dirfd >= 0 || w->dirfd == AT_FDCWD))
		unlinkat(w->dirfd, w->tmp, 0);
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->fd = -1;
	w->dirfd = -1;
	w->tmp[0] = '\0';
}
