/*
 * ctl.c - the control channel's server (one thread, poll(2) over every
 * connection, nothing blocks) and its client calls.  See ctl.h.
 *
 * Limits that keep one client from holding the channel: at most CTL_CONNS
 * connections (more are accepted and closed at once), a request must arrive
 * whole within CTL_REQUEST_MS of its first byte, a connection idle for
 * CTL_IDLE_MS is closed, and a reply the client does not read within
 * CTL_REPLY_MS is dropped with its connection.
 */
#define _GNU_SOURCE
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define CTL_CONNS 32
#define CTL_REQUEST_MS 10000
#define CTL_IDLE_MS 60000
#define CTL_REPLY_MS 30000
/* An idle loop still comes round this often, so that its beat is never
 * older than this when it is alive: the watchdog pings only a beat younger
 * than half of WatchdogSec (daemon.c), and a test runs with 2 s. */
#define CTL_TICK_MS 250

struct conn {
	int fd;
	struct udc_ctl_peer who;
	uint8_t hdr[4];
	size_t hgot;         /* header bytes received */
	uint8_t *in;         /* request body */
	size_t inlen, ingot;
	uint8_t *out;        /* reply frame being written */
	size_t outlen, outdone;
	long long deadline;  /* ms (monotonic) by which the current phase must end */
};

struct udc_ctl {
	int lfd;
	int wake[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	udc_ctl_fn fn;
	void *arg;
	pthread_t thr;
	struct conn conns[CTL_CONNS];
	atomic_ullong requests, dropped;
	atomic_llong beat; /* now_ms() at the top of the last loop */
};

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
sun_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static void
conn_drop(struct udc_ctl *c, struct conn *k, const char *why)
{
	if (why)
		log_debug("control: connection of uid %u (pid %d) closed: %s", (unsigned)k->who.uid,
		    (int)k->who.pid, why);
	close(k->fd);
	free(k->in);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	if (why)
		atomic_fetch_add(&c->dropped, 1);
}

static void
peer_of(int fd, struct udc_ctl_peer *w)
{
	struct ucred cr;
	socklen_t sl = sizeof(cr);
	struct passwd pw, *res = NULL;
	char buf[1024];

	memset(w, 0, sizeof(*w));
	w->uid = (uid_t)-1;
	w->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) == 0) {
		w->uid = cr.uid;
		w->gid = cr.gid;
		w->pid = cr.pid;
	}
	if (w->uid != (uid_t)-1 && getpwuid_r(w->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(w->user, sizeof(w->user), "%s", pw.pw_name);
	else
		snprintf(w->user, sizeof(w->user), "%u", (unsigned)w->uid);
}

static void
do_accept(struct udc_ctl *c)
{
	for (;;) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *k = NULL;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("control: accept");
			return;
		}
		for (int i = 0; i < CTL_CONNS; i++)
			if (c->conns[i].fd < 0) {
				k = &c->conns[i];
				break;
			}
		if (k == NULL) {
			log_debug("control: %d connections open, one more refused", CTL_CONNS);
			atomic_fetch_add(&c->dropped, 1);
			close(fd);
			continue;
		}
		k->fd = fd;
		peer_of(fd, &k->who);
		k->deadline = now_ms() + CTL_IDLE_MS;
	}
}

/* Reads what is there; serves a request once it is whole. */
static void
do_read(struct udc_ctl *c, struct conn *k)
{
	for (;;) {
		ssize_t n;
		if (k->hgot < 4) {
			n = read(k->fd, k->hdr + k->hgot, 4 - k->hgot);
		} else {
			n = read(k->fd, k->in + k->ingot, k->inlen - k->ingot);
		}
		if (n == 0) {
			conn_drop(c, k, k->hgot ? "closed in the middle of a request" : NULL);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			conn_drop(c, k, strerror(errno));
			return;
		}
		if (k->hgot < 4) {
			if (k->hgot == 0)
				k->deadline = now_ms() + CTL_REQUEST_MS;
			k->hgot += (size_t)n;
			if (k->hgot < 4)
				continue;
			k->inlen = (size_t)k->hdr[0] << 24 | (size_t)k->hdr[1] << 16 |
			    (size_t)k->hdr[2] << 8 | k->hdr[3];
			if (k->inlen > UDC_CTL_REQUEST_MAX) {
				conn_drop(c, k, "request too large");
				return;
			}
			if ((k->in = malloc(k->inlen ? k->inlen : 1)) == NULL) {
				conn_drop(c, k, "out of memory");
				return;
			}
			k->ingot = 0;
		} else {
			k->ingot += (size_t)n;
		}
		if (k->hgot == 4 && k->ingot == k->inlen)
			break;
	}
	/* A whole request: serve it, queue the reply. */
	uint8_t *rep = NULL;
	size_t replen = 0;
	c->fn(c->arg, k->in, k->inlen, &k->who, &rep, &replen);
	atomic_fetch_add(&c->requests, 1);
	free(k->in);
	k->in = NULL;
	k->hgot = k->ingot = k->inlen = 0;
	if (rep == NULL || replen > UDC_CTL_REPLY_MAX) {
		free(rep);
		conn_drop(c, k, "no reply");
		return;
	}
	if ((k->out = malloc(replen + 4)) == NULL) {
		free(rep);
		conn_drop(c, k, "out of memory");
		return;
	}
	k->out[0] = (uint8_t)(replen >> 24);
	k->out[1] = (uint8_t)(replen >> 16);
	k->out[2] = (uint8_t)(replen >> 8);
	k->out[3] = (uint8_t)replen;
	memcpy(k->out + 4, rep, replen);
	free(rep);
	k->outlen = replen + 4;
	k->outdone = 0;
	k->deadline = now_ms() + CTL_REPLY_MS;
}

static void
do_write(struct udc_ctl *c, struct conn *k)
{
	while (k->outdone < k->outlen) {
		ssize_t n = send(k->fd, k->out + k->outdone, k->outlen - k->outdone, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			conn_drop(c, k, errno == EPIPE ? "client left before its reply" : strerror(errno));
			return;
		}
		k->outdone += (size_t)n;
	}
	free(k->out);
	k->out = NULL;
	k->outlen = k->outdone = 0;
	k->deadline = now_ms() + CTL_IDLE_MS;
}

static void *
ctl_thread(void *p)
{
	struct udc_ctl *c = p;
	struct pollfd pf[CTL_CONNS + 2];
	int map[CTL_CONNS + 2];

	for (;;) {
		int np = 0, timeout = CTL_TICK_MS;
		long long t = now_ms();

		atomic_store(&c->beat, t);
		pf[np].fd = c->wake[0];
		pf[np].events = POLLIN;
		map[np++] = -1;
		pf[np].fd = c->lfd;
		pf[np].events = POLLIN;
		map[np++] = -1;
		for (int i = 0; i < CTL_CONNS; i++) {
			struct conn *k = &c->conns[i];
			if (k->fd < 0)
				continue;
			if (t >= k->deadline) {
				conn_drop(c, k, k->out ? "reply not read in time" :
				    k->hgot ? "request not sent in time" : NULL);
				continue;
			}
			if (k->deadline - t < timeout)
				timeout = (int)(k->deadline - t);
			pf[np].fd = k->fd;
			pf[np].events = k->out ? POLLOUT : POLLIN;
			map[np++] = i;
		}
		if (poll(pf, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("control: poll");
			usleep(100 * 1000);
			continue;
		}
		if (pf[0].revents)
			break;
		for (int j = 2; j < np; j++) {
			struct conn *k = &c->conns[map[j]];
			if (pf[j].revents == 0 || k->fd != pf[j].fd)
				continue;
			if (k->out)
				do_write(c, k);
			else
				do_read(c, k);
		}
		if (pf[1].revents & POLLIN)
			do_accept(c);
	}
	return NULL;
}

/* Another process answering on PATH, or only a stale file? */
static int
socket_alive(const char *path)
{
	struct sockaddr_un sa;
	int fd, alive;

	if (sun_fill(&sa, path) != 0 || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

int
udc_ctl_open(struct udc_ctl **out, const char *path, const char *group, udc_ctl_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct udc_ctl *c = NULL;
	struct sockaddr_un sa;
	struct stat st;
	gid_t gid = (gid_t)-1;
	int rv = UDC_EIO;

	if (sun_fill(&sa, path) != 0) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return UDC_EINVAL;
	}
	if (group && group[0]) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
			snprintf(err, errlen, "control socket %s: no group '%s' (control_group): create it "
			    "and add the operators to it", path, group);
			return UDC_ENOTFOUND;
		}
		gid = gr.gr_gid;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and is not a socket", path);
			return UDC_EEXIST;
		}
		if (socket_alive(path)) {
			snprintf(err, errlen, "control socket %s: another daemon is serving it", path);
			return UDC_EEXIST;
		}
		unlink(path); /* stale: left by a daemon that was killed */
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return UDC_ENOMEM;
	c->lfd = c->wake[0] = c->wake[1] = -1;
	for (int i = 0; i < CTL_CONNS; i++)
		c->conns[i].fd = -1;
	c->fn = fn;
	c->arg = arg;
	snprintf(c->path, sizeof(c->path), "%s", path);
	if ((c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    pipe2(c->wake, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Bound but not listening yet: nobody connects before the mode and
	 * group are right. */
	if (bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		goto fail;
	}
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) {
		snprintf(err, errlen, "control socket %s: cannot give it to group '%s' (control_group): %s; "
		    "the daemon must be a member (SupplementaryGroups= in its unit)", path, group,
		    strerror(errno));
		rv = UDC_EPERM;
		goto fail_unlink;
	}
	if (chmod(path, gid != (gid_t)-1 ? 0660 : 0600) != 0) {
		snprintf(err, errlen, "control socket %s: chmod: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if (listen(c->lfd, 64) != 0) {
		snprintf(err, errlen, "control socket %s: listen: %s", path, strerror(errno));
		goto fail_unlink;
	}
	atomic_store(&c->beat, now_ms());
	if (pthread_create(&c->thr, NULL, ctl_thread, c) != 0) {
		snprintf(err, errlen, "control socket %s: cannot start its thread", path);
		rv = UDC_ENOMEM;
		goto fail_unlink;
	}
	*out = c;
	return 0;
fail_unlink:
	unlink(path);
fail:
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	free(c);
	return rv;
}

void
udc_ctl_close(struct udc_ctl *c)
{
	if (c == NULL)
		return;
	if (write(c->wake[1], "x", 1) != 1)
		log_warn("control: cannot wake the control thread");
	pthread_join(c->thr, NULL);
	for (int i = 0; i < CTL_CONNS; i++)
		if (c->conns[i].fd >= 0)
			conn_drop(c, &c->conns[i], NULL);
	close(c->lfd);
	close(c->wake[0]);
	close(c->wake[1]);
	unlink(c->path);
	free(c);
}

long long
udc_ctl_stalled_ms(const struct udc_ctl *c)
{
	return c ? now_ms() - atomic_load(&c->beat) : 0;
}

void
udc_ctl_counts(const struct udc_ctl *c, uint64_t *requests, uint64_t *dropped)
{
	*requests = c ? atomic_load(&c->requests) : 0;
	*dropped = c ? atomic_load(&c->dropped) : 0;
}

/* --- client ------------------------------------------------------------ */

int
udc_ctl_connect(const char *path, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, e;

	if (sun_fill(&sa, path) != 0) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return UDC_EINVAL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return UDC_EIO;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		*out = fd;
		return 0;
	}
	e = errno;
	close(fd);
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		snprintf(err, errlen, "cannot reach the daemon: no control socket at %s (is it running?)", path);
		return UDC_ENOTFOUND;
	case ECONNREFUSED:
		snprintf(err, errlen, "cannot reach the daemon at %s: nobody is listening (stopped?)", path);
		return UDC_EREFUSED;
	case EACCES:
	case EPERM:
		snprintf(err, errlen, "cannot reach the daemon at %s: permission denied (operators must be "
		    "in the socket's group, control_group; log in again after being added)", path);
		return UDC_EPERM;
	default:
		snprintf(err, errlen, "cannot reach the daemon at %s: %s", path, strerror(e));
		return UDC_EIO;
	}
}

/* Waits until fd is ready for events or the deadline passes. */
static int
wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int n;
		if (left <= 0)
			return UDC_ETIMEDOUT;
		n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return UDC_EIO;
	}
}

static int
io_all(int fd, int wr, uint8_t *buf, size_t len, long long deadline)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n;
		int rv;
		if ((rv = wait_fd(fd, wr ? POLLOUT : POLLIN, deadline)) != 0)
			return rv;
		n = wr ? send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT) :
		    recv(fd, buf + done, len - done, MSG_DONTWAIT);
		if (n == 0 && !wr)
			return UDC_EPROTO;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return errno == ECONNRESET || errno == EPIPE ? UDC_EPROTO : UDC_EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

int
udc_ctl_call(int fd, const void *req, size_t len, int timeout_ms, uint8_t **rep, size_t *replen)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	size_t n;
	uint8_t *buf;
	int rv;

	if (len > UDC_CTL_REQUEST_MAX)
		return UDC_ELIMIT;
	if ((rv = io_all(fd, 1, hdr, 4, deadline)) != 0 ||
	    (rv = io_all(fd, 1, (uint8_t *)(uintptr_t)req, len, deadline)) != 0 ||
	    (rv = io_all(fd, 0, hdr, 4, deadline)) != 0)
		return rv;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (n > UDC_CTL_REPLY_MAX)
		return UDC_EPROTO;
	if ((buf = malloc(n ? n : 1)) == NULL)
		return UDC_ENOMEM;
	if ((rv = io_all(fd, 0, buf, n, deadline)) != 0) {
		free(buf);
		return rv;
	}
	*rep = buf;
	*replen = n;
	return 0;
}
