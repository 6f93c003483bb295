/*
 * store.c - atomic files in the node's state directory.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"

static int
mkdir_p1(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int
udc_store_init(const char *state_dir, char *err, size_t errlen)
{
	char p[4096];
	const char *sub[] = { "", "/approvals", "/rounds" };

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", state_dir, sub[i]);
		if (mkdir_p1(p) != 0) {
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			return UDC_EIO;
		}
	}
	return 0;
}

int
udc_store_write(const char *state_dir, const char *rel, const void *data, size_t len)
{
	char path[4096], tmp[4200], dir[4096];
	const char *slash;
	size_t off = 0;
	int fd, rv = UDC_EIO;

	snprintf(path, sizeof(path), "%s/%s", state_dir, rel);
	if ((slash = strrchr(rel, '/')) != NULL) {
		snprintf(dir, sizeof(dir), "%s/%.*s", state_dir, (int)(slash - rel), rel);
		if (mkdir_p1(dir) != 0)
			return UDC_EIO;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return UDC_EIO;
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	rv = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rv != 0)
		unlink(tmp);
	return rv;
}

int
udc_store_read(const char *state_dir, const char *rel, size_t max, char **data, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", state_dir, rel);
	if ((f = fopen(path, "rb")) == NULL)
		return errno == ENOENT ? UDC_ENOTFOUND : UDC_EIO;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		return UDC_ENOMEM;
	}
	n = fread(buf, 1, max, f);
	if (ferror(f) || (n == max && fgetc(f) != EOF)) {
		fclose(f);
		free(buf);
		return n == max ? UDC_ELIMIT : UDC_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = n;
	return 0;
}

int
udc_store_approve(const char *state_dir, const char *hash_hex, const void *text, size_t len)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "approvals/%s.spec", hash_hex);
	return udc_store_write(state_dir, rel, text, len);
}

int
udc_store_is_approved(const char *state_dir, const char *hash_hex)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/approvals/%s.spec", state_dir, hash_hex);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
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

	snprintf(path, sizeof(path), "%s/rounds", state_dir);
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
