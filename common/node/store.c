/*
 * store.c - atomic files in the node's state directory.
 */
#define _GNU_SOURCE /* fopencookie */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "statepath.h"

/* A directory of the node's state must be ours and closed to others: a
 * state directory another user can write lets that user plant files and
 * links the daemon would then write through. */
static int
dir_safe(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return UDC_EIO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return UDC_EPERM;
	}
	if (sb.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %lu, not by this daemon's user (uid %lu): "
		    "chown it, or run the daemon as its owner", path, (unsigned long)sb.st_uid,
		    (unsigned long)geteuid());
		return UDC_EPERM;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: mode %03o lets other users write in it: chmod go-w",
		    path, (unsigned)(sb.st_mode & 0777));
		return UDC_EPERM;
	}
	return 0;
}

/* Opens (creating it 0700 if asked) directory name under dirfd without
 * following a link, and checks it. */
static int
open_subdir(int dirfd, const char *name, int create, const char *shown, int *out, char *err,
    size_t errlen)
{
	int fd, rv;

	if (create && mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return UDC_EIO;
	}
	{
		struct stat lsb;
		if (fstatat(dirfd, name, &lsb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lsb.st_mode)) {
			snprintf(err, errlen, "%s: a symbolic link where a directory belongs", shown);
			return UDC_EPERM;
		}
	}
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", shown,
		    e == ELOOP || e == ENOTDIR ? "not a directory (or a link to one)" : strerror(e));
		return e == ENOENT ? UDC_ENOTFOUND : UDC_EIO;
	}
	if ((rv = dir_safe(fd, shown, err, errlen)) != 0) {
		close(fd);
		return rv;
	}
	*out = fd;
	return 0;
}

int
udc_store_init(const char *state_dir, char *err, size_t errlen)
{
	const char *sub[] = { UDC_STATE_APPROVALS, UDC_STATE_ROUNDS, UDC_STATE_RELEASES };
	char shown[4200];
	int root, fd, rv;

	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", state_dir, strerror(errno));
		return UDC_EIO;
	}
	if ((root = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", state_dir, strerror(errno));
		return UDC_EIO;
	}
	if ((rv = dir_safe(root, state_dir, err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(shown, sizeof(shown), "%s/%s", state_dir, sub[i]);
		if ((rv = open_subdir(root, sub[i], 1, shown, &fd, err, errlen)) != 0)
			goto out;
		close(fd);
	}
out:
	close(root);
	return rv;
}

/* Walks rel's directories from the state directory (each opened without
 * following links, checked, created 0700 when create is set) and leaves
 * the last directory's descriptor in *dirfd and the file name in *base. */
static int
walk(const char *state_dir, const char *rel, int create, int *dirfd, const char **base)
{
	char comp[256], err[512];
	const char *p = rel, *slash;
	int fd, next, rv;

	if ((fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? UDC_ENOTFOUND : UDC_EIO;
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);
		if (n == 0 || n >= sizeof(comp) || (n <= 2 && p[0] == '.' && (n == 1 || p[1] == '.'))) {
			close(fd);
			return UDC_EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		rv = open_subdir(fd, comp, create, comp, &next, err, sizeof(err));
		close(fd);
		if (rv != 0)
			return rv;
		fd = next;
		p = slash + 1;
	}
	if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
		close(fd);
		return UDC_EINVAL;
	}
	*dirfd = fd;
	*base = p;
	return 0;
}

int
udc_store_begin(const char *state_dir, const char *rel, struct udc_store_writer *w)
{
	const char *base;
	int dirfd, rv;

	memset(w, 0, sizeof(*w));
	w->af.fd = w->af.dirfd = -1;
	if ((rv = walk(state_dir, rel, 1, &dirfd, &base)) != 0)
		return rv;
	crypto_hash_sha256_init(&w->sha);
	rv = udc_afile_begin(&w->af, dirfd, base, rel, 0600, 0, NULL, 0);
	close(dirfd);
	return rv;
}

int
udc_store_append(struct udc_store_writer *w, const void *data, size_t len)
{
	if (w->af.fd < 0)
		return UDC_EINVAL;
	crypto_hash_sha256_update(&w->sha, data, len);
	w->bytes += len;
	return udc_afile_write(&w->af, data, len);
}

void
udc_store_digest(struct udc_store_writer *w, uint8_t sha[32])
{
	crypto_hash_sha256_final(&w->sha, sha);
}

static ssize_t
stream_write(void *cookie, const char *buf, size_t len)
{
	return udc_store_append(cookie, buf, len) == 0 ? (ssize_t)len : -1;
}

FILE *
udc_store_stream(struct udc_store_writer *w)
{
	cookie_io_functions_t io = { .write = stream_write };

	return fopencookie(w, "w", io);
}

int
udc_store_commit(struct udc_store_writer *w)
{
	return udc_afile_commit(&w->af, NULL, 0);
}

void
udc_store_discard(struct udc_store_writer *w)
{
	udc_afile_discard(&w->af);
}

int
udc_store_write(const char *state_dir, const char *rel, const void *data, size_t len)
{
	struct udc_store_writer w;
	int rv;

	if ((rv = udc_store_begin(state_dir, rel, &w)) != 0)
		return rv;
	if ((rv = udc_store_append(&w, data, len)) != 0) {
		udc_store_discard(&w);
		return rv;
	}
	return udc_store_commit(&w);
}

/* A regular file of the state directory, opened for reading without
 * following links. */
static int
open_regular(const char *state_dir, const char *rel, int *out, struct stat *sb)
{
	const char *base;
	int dfd, fd, rv;

	if ((rv = walk(state_dir, rel, 0, &dfd, &base)) != 0)
		return rv;
	fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return errno == ENOENT ? UDC_ENOTFOUND : UDC_EIO;
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return UDC_EIO;
	}
	*out = fd;
	return 0;
}

int
udc_store_pread(const char *state_dir, const char *rel, uint64_t off, void *buf, size_t len,
    size_t *got, uint64_t *size)
{
	struct stat sb;
	size_t n = 0;
	int fd, rv;

	*got = 0;
	if ((rv = open_regular(state_dir, rel, &fd, &sb)) != 0)
		return rv;
	if (size)
		*size = (uint64_t)sb.st_size;
	while (n < len) {
		ssize_t r = pread(fd, (char *)buf + n, len - n, (off_t)(off + n));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return UDC_EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*got = n;
	return 0;
}

int
udc_store_read(const char *state_dir, const char *rel, size_t max, char **data, size_t *len)
{
	const char *base;
	int dfd, rv;

	if ((rv = walk(state_dir, rel, 0, &dfd, &base)) != 0)
		return rv;
	rv = udc_file_readat(dfd, base, rel, max, UDC_FILE_NOFOLLOW, data, len, NULL, 0);
	close(dfd);
	/* A link or a non-file where a state file belongs reads as broken, as
	 * before: the state directory is the node's own. */
	return rv == UDC_EPERM ? UDC_EIO : rv;
}

int
udc_store_mkdirs(const char *state_dir, const char *rel, char *err, size_t errlen)
{
	char comp[256], shown[4400];
	const char *p = rel;
	int fd, next, rv;

	if ((fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", state_dir, strerror(errno));
		return UDC_EIO;
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n >= sizeof(comp) || (n <= 2 && p[0] == '.' && (n == 1 || p[1] == '.'))) {
			snprintf(err, errlen, "%s/%s: not a plain path", state_dir, rel);
			close(fd);
			return UDC_EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		snprintf(shown, sizeof(shown), "%s/%.*s", state_dir, (int)(p - rel + (ptrdiff_t)n), rel);
		rv = open_subdir(fd, comp, 1, shown, &next, err, errlen);
		close(fd);
		if (rv != 0)
			return rv;
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	close(fd);
	return 0;
}

int
udc_store_approve(const char *state_dir, const char *hash_hex, const void *text, size_t len)
{
	return udc_store_approve_in(state_dir, "", hash_hex, text, len);
}

int
udc_store_approve_in(const char *state_dir, const char *prefix, const char *hash_hex,
    const void *text, size_t len)
{
	char rel[192];
	int rv;

	if ((rv = udc_state_approval_in(rel, sizeof(rel), prefix, hash_hex, UDC_APPROVAL_SPEC)) != 0)
		return rv;
	return udc_store_write(state_dir, rel, text, len);
}

int
udc_store_is_approved(const char *state_dir, const char *hash_hex)
{
	return udc_store_is_approved_in(state_dir, "", hash_hex);
}

int
udc_store_is_approved_in(const char *state_dir, const char *prefix, const char *hash_hex)
{
	char path[4400], rel[192];
	struct stat st;

	if (udc_state_approval_in(rel, sizeof(rel), prefix, hash_hex, UDC_APPROVAL_SPEC) != 0 ||
	    udc_state_dir(path, sizeof(path), state_dir, rel) != 0)
		return 0;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
udc_store_rounds(const char *state_dir, char ***ids, size_t *n)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0, cap = 0;

	udc_state_dir(path, sizeof(path), state_dir, UDC_STATE_ROUNDS);
	if ((d = opendir(path)) == NULL)
		return UDC_EIO;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != 32 || strspn(e->d_name, "0123456789abcdef") != 32)
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			char **nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[cnt] = strdup(e->d_name)) == NULL)
			goto nomem;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*ids = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	udc_store_list_free(v, cnt);
	return UDC_ENOMEM;
}

void
udc_store_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
udc_file_sha256(const char *path, uint8_t out[32])
{
	crypto_hash_sha256_state st;
	uint8_t buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return UDC_EIO;
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		crypto_hash_sha256_update(&st, buf, n);
	if (ferror(f)) {
		fclose(f);
		return UDC_EIO;
	}
	fclose(f);
	crypto_hash_sha256_final(&st, out);
	return 0;
}

void
udc_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}
