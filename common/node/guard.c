/*
 * guard.c - limits and watch on a node's peer connections (guard.h).
 *
 * NNG reports a refused TLS handshake only as a counter in its statistics,
 * never creates a pipe for a handshake that does not finish, and gives us
 * no handle on the TCP socket meanwhile.  So this file defines accept():
 * libnng calls libc's accept() for every TCP connection, and a definition
 * in the executable takes precedence over libc's (the dynamic linker
 * resolves libnng's reference to it; the real one is found with
 * dlsym(RTLD_NEXT)).  It notes each accepted TCP socket with its peer
 * address and inode.  Every second the guard matches them against its
 * pipes: one that is no pipe after handshake_timeout is shut down (its
 * descriptor is checked to be the same socket just before: NNG may have
 * closed it and the number been reused); one that closed without becoming
 * a pipe was refused or given up, and its address goes with NNG's failure
 * counters into the log.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "guard.h"

#include <dlfcn.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "ratelimit.h"

#define ADDR_MAX 64
#define LOG_BURST 20
#define LOG_RATE 0.2 /* log lines per second after the burst */

struct gpipe {
	uint32_t id;
	int listener;  /* the NNG listener it came through (server) */
	double added, last;
	char addr[ADDR_MAX];
};

/* TCP connections accepted by the process (accept() below), until the
 * guard has seen them become a pipe or close. */
#define ACCEPTED_MAX 4096
struct accepted {
	int fd;
	unsigned long inode;
	double first;
	char addr[ADDR_MAX];
	int shut;      /* we shut it down */
};
static pthread_mutex_t acc_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct accepted acc[ACCEPTED_MAX];
static size_t nacc;
static int acc_on; /* a server guard runs */

/* NNG's counters of failures, for one listener or dialer. */
enum { ST_AUTH, ST_PROTO, ST_OTHER, ST_TIMEOUT, ST_RCVMAX, ST_REFUSED, ST_N };
static const char *const stat_names[ST_N] = { "auth", "proto", "other", "timeout", "rcv_max",
	"refused" };

struct udc_guard {
	nng_socket s;
	const struct udc_config *cfg;
	int server;
	char url[256];
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	pthread_t thr;
	int running, stop;
	struct gpipe *pipes;
	size_t npipes, cappipes;
	uint64_t stats[ST_N];
	int have_stats;
	struct udc_ratelimit logs;
	char last_failure[512];
	char closed[512];          /* addresses of connections closed since the last scan */
	unsigned long failures;
	/* a listener's own cap ([gemeente ID] max_connections), besides the
	 * node's: one gemeente's connections never push out another's */
	struct { int listener, max; char what[48]; } limits[UDC_GUARD_LIMITS];
	size_t nlimits;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A warning within the rate limit (caller holds g->mtx). */
static void
gwarn(struct udc_guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
gwarn(struct udc_guard *g, const char *fmt, ...)
{
	uint64_t before = 0;
	char line[512];
	va_list ap;

	if (!udc_ratelimit_take(&g->logs, now_s(), &before))
		return;
	if (before)
		log_warnx("peer connections: %llu more events not logged (rate limit)",
		    (unsigned long long)before);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}

static void
format_addr(const nng_sockaddr *sa, char out[ADDR_MAX])
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->s_family == NNG_AF_INET) {
		inet_ntop(AF_INET, &sa->s_in.sa_addr, ip, sizeof(ip));
		snprintf(out, ADDR_MAX, "%s:%u", ip, ntohs(sa->s_in.sa_port));
	} else if (sa->s_family == NNG_AF_INET6) {
		inet_ntop(AF_INET6, sa->s_in6.sa_addr, ip, sizeof(ip));
		snprintf(out, ADDR_MAX, "[%s]:%u", ip, ntohs(sa->s_in6.sa_port));
	} else {
		snprintf(out, ADDR_MAX, "?");
	}
}

static struct gpipe *
find_pipe(struct udc_guard *g, uint32_t id)
{
	for (size_t i = 0; i < g->npipes; i++)
		if (g->pipes[i].id == id)
			return &g->pipes[i];
	return NULL;
}

static void
close_pipe_id(uint32_t id)
{
	nng_pipe p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	nng_pipe_close(p);
}

/* A new pipe on listener lid (caller holds g->mtx): if lid has a cap of
 * its own and that many of its pipes are open, the longest idle of them
 * makes room (its id in *close_id), else 1 (refuse the new one). */
static int
listener_room(struct udc_guard *g, int lid, double t, uint32_t *close_id)
{
	struct gpipe *victim = NULL;
	size_t n = 0, k;

	for (k = 0; k < g->nlimits && g->limits[k].listener != lid; k++)
		;
	if (k == g->nlimits)
		return 0;
	for (size_t i = 0; i < g->npipes; i++) {
		if (g->pipes[i].listener != lid)
			continue;
		n++;
		if (t - g->pipes[i].last >= 2.0 && (!victim || g->pipes[i].last < victim->last))
			victim = &g->pipes[i];
	}
	if (n < (size_t)g->limits[k].max)
		return 0;
	if (victim == NULL) {
		gwarn(g, "peer connections: %d open and busy on the listener of %s, the most allowed "
		    "(its max_connections): a new connection was closed", g->limits[k].max,
		    g->limits[k].what);
		return 1;
	}
	gwarn(g, "peer connections: %d open on the listener of %s, the most allowed (its "
	    "max_connections): closed the one idle longest (from %s) for a new one", g->limits[k].max,
	    g->limits[k].what, victim->addr);
	*close_id = victim->id;
	*victim = g->pipes[--g->npipes];
	return 0;
}

/* Pipes are closed after the lock is let go: NNG may call us back. */
static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct udc_guard *g = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p), close_id = 0;
	double t = now_s();
	int lid = nng_listener_id(nng_pipe_listener(p));

	pthread_mutex_lock(&g->mtx);
	if (ev == NNG_PIPE_EV_ADD_PRE) {
		if (listener_room(g, lid, t, &close_id) != 0) {
			close_id = id;
			goto out;
		}
		if (close_id == 0 && g->npipes >= (size_t)g->cfg->max_connections) {
			/* Full: make room by the longest idle connection, if it has
			 * been idle a while; a peer that holds every slot busy is
			 * refused instead. */
			struct gpipe *victim = NULL;
			for (size_t i = 0; i < g->npipes; i++)
				if (t - g->pipes[i].last >= 2.0 && (!victim || g->pipes[i].last < victim->last))
					victim = &g->pipes[i];
			if (victim) {
				close_id = victim->id;
				gwarn(g, "peer connections: %d open, the most allowed ([peer] max_connections): "
				    "closed the one idle longest (from %s, silent %.0f s) for a new one",
				    g->cfg->max_connections, victim->addr, t - victim->last);
				*victim = g->pipes[--g->npipes];
			} else {
				gwarn(g, "peer connections: %d open and busy, the most allowed ([peer] "
				    "max_connections): a new connection was closed",
				    g->cfg->max_connections);
				close_id = id;
				goto out;
			}
		}
		if (g->npipes == g->cappipes) {
			size_t nc = g->cappipes ? 2 * g->cappipes : 16;
			struct gpipe *np = realloc(g->pipes, nc * sizeof(*np));
			if (np == NULL) {
				close_id = id;
				goto out;
			}
			g->pipes = np;
			g->cappipes = nc;
		}
		memset(&g->pipes[g->npipes], 0, sizeof(g->pipes[0]));
		g->pipes[g->npipes].id = id;
		g->pipes[g->npipes].listener = lid;
		g->pipes[g->npipes].added = g->pipes[g->npipes].last = t;
		g->npipes++;
	} else if (ev == NNG_PIPE_EV_ADD_POST) {
		struct gpipe *gp = find_pipe(g, id);
		nng_sockaddr sa;
		if (gp && nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0)
			format_addr(&sa, gp->addr);
		if (gp)
			log_debug("peer connection from %s", gp->addr);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		struct gpipe *gp = find_pipe(g, id);
		if (gp) {
			size_t o = strlen(g->closed);
			if (o + strlen(gp->addr) + 3 < sizeof(g->closed))
				snprintf(g->closed + o, sizeof(g->closed) - o, "%s%s", o ? ", " : "", gp->addr);
			*gp = g->pipes[--g->npipes];
		}
	}
out:
	pthread_mutex_unlock(&g->mtx);
	if (close_id)
		close_pipe_id(close_id);
}

int
udc_guard_listener_limit(struct udc_guard *g, int listener, int max, const char *what)
{
	int rv = 0;

	pthread_mutex_lock(&g->mtx);
	if (g->nlimits == UDC_GUARD_LIMITS) {
		rv = UDC_ELIMIT;
	} else {
		g->limits[g->nlimits].listener = listener;
		g->limits[g->nlimits].max = max;
		snprintf(g->limits[g->nlimits].what, sizeof(g->limits[0].what), "%s", what);
		g->nlimits++;
	}
	pthread_mutex_unlock(&g->mtx);
	return rv;
}

void
udc_guard_touch(struct udc_guard *g, nng_pipe p)
{
	struct gpipe *gp;

	if (g == NULL)
		return;
	pthread_mutex_lock(&g->mtx);
	if ((gp = find_pipe(g, (uint32_t)nng_pipe_id(p))) != NULL)
		gp->last = now_s();
	pthread_mutex_unlock(&g->mtx);
}

/* Pipes silent for connection_idle, to close once the lock is let go
 * (caller holds g->mtx). */
static size_t
idle_pipes(struct udc_guard *g, double t, uint32_t *ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < g->npipes && n < max; i++) {
		if (t - g->pipes[i].last < g->cfg->connection_idle_s)
			continue;
		gwarn(g, "peer connections: closed a connection from %s, silent for %.0f s "
		    "([peer] connection_idle)", g->pipes[i].addr, t - g->pipes[i].last);
		g->pipes[i].last = t; /* once; REM_POST removes it */
		ids[n++] = g->pipes[i].id;
	}
	return n;
}

static void
sockaddr_text(const struct sockaddr *sa, char out[ADDR_MAX])
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, ADDR_MAX, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		if (strncmp(ip, "::ffff:", 7) == 0)
			snprintf(out, ADDR_MAX, "%s:%u", ip + 7, ntohs(in6->sin6_port));
		else
			snprintf(out, ADDR_MAX, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
}

/* libnng's accept() (see the top of this file). */
int
accept(int s, struct sockaddr *addr, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat sb;
	int fd;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "accept");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	fd = real(s, (struct sockaddr *)&ss, &sl);
	if (fd < 0)
		return fd;
	if (addr && len) {
		memcpy(addr, &ss, *len < sl ? *len : sl);
		*len = sl;
	}
	if ((ss.ss_family == AF_INET || ss.ss_family == AF_INET6) && fstat(fd, &sb) == 0) {
		pthread_mutex_lock(&acc_mtx);
		if (acc_on && nacc < ACCEPTED_MAX) {
			struct accepted *a = &acc[nacc++];
			memset(a, 0, sizeof(*a));
			a->fd = fd;
			a->inode = (unsigned long)sb.st_ino;
			a->first = now_s();
			sockaddr_text((struct sockaddr *)&ss, a->addr);
		} else if (acc_on) {
			/* more connections being set up than we can watch */
			shutdown(fd, SHUT_RDWR);
		}
		pthread_mutex_unlock(&acc_mtx);
	}
	return fd;
}

/* Still the socket we accepted? */
static int
same_socket(const struct accepted *a)
{
	struct stat sb;

	return fstat(a->fd, &sb) == 0 && S_ISSOCK(sb.st_mode) && (unsigned long)sb.st_ino == a->inode;
}

/* Shuts down connections that did not become pipes in time and forgets
 * those that did or that closed; vanished gets the addresses of those that
 * closed without becoming pipes (caller holds g->mtx). */
static void
sweep_pending(struct udc_guard *g, double t, char *vanished, size_t vlen)
{
	size_t o = 0, live = 0, limit = 4 * (size_t)g->cfg->max_connections;

	vanished[0] = '\0';
	pthread_mutex_lock(&acc_mtx);
	for (size_t i = 0; i < nacc;) {
		struct accepted *a = &acc[i];
		int ispipe = 0;

		for (size_t k = 0; k < g->npipes && !ispipe; k++)
			ispipe = strcmp(g->pipes[k].addr, a->addr) == 0;
		if (ispipe || !same_socket(a)) {
			if (!ispipe && !a->shut && o + strlen(a->addr) + 3 < vlen)
				o += (size_t)snprintf(vanished + o, vlen - o, "%s%s", o ? ", " : "", a->addr);
			acc[i] = acc[--nacc];
			continue;
		}
		live += !a->shut;
		i++;
	}
	/* Too many handshakes at once: the oldest go even before their time,
	 * so that they cannot use up the descriptors. */
	while (live > limit) {
		struct accepted *old = NULL;
		for (size_t i = 0; i < nacc; i++)
			if (!acc[i].shut && (!old || acc[i].first < old->first))
				old = &acc[i];
		if (old == NULL)
			break;
		shutdown(old->fd, SHUT_RDWR);
		old->shut = 1;
		live--;
		gwarn(g, "peer connections: shut down a connection from %s that had not completed the "
		    "TLS handshake (too many at once: 4 x [peer] max_connections)", old->addr);
	}
	for (size_t i = 0; i < nacc; i++) {
		struct accepted *a = &acc[i];
		if (a->shut || t - a->first < g->cfg->handshake_timeout_s)
			continue;
		shutdown(a->fd, SHUT_RDWR);
		a->shut = 1;
		gwarn(g, "peer connections: shut down a connection from %s that did not complete the "
		    "TLS handshake within %d s ([peer] handshake_timeout)", a->addr,
		    g->cfg->handshake_timeout_s);
	}
	pthread_mutex_unlock(&acc_mtx);
}

/* NNG's failure counters for our listener or dialer. */
static int
read_stats(struct udc_guard *g, uint64_t out[ST_N])
{
	nng_stat *root = NULL, *c;
	int found = 0;

	if (nng_stats_get(&root) != 0)
		return 0;
	for (c = nng_stat_child(root); c; c = nng_stat_next(c)) {
		nng_stat *sock;
		if (strcmp(nng_stat_name(c), g->server ? "listener" : "dialer") != 0)
			continue;
		if ((sock = nng_stat_find(c, "socket")) == NULL ||
		    (int)nng_stat_value(sock) != nng_socket_id(g->s))
			continue;
		for (int k = 0; k < ST_N; k++) {
			nng_stat *v = nng_stat_find(c, stat_names[k]);
			out[k] += v ? nng_stat_value(v) : 0;
		}
		found = 1;
	}
	nng_stats_free(root);
	return found;
}

static void
watch_stats(struct udc_guard *g, const char *vanished)
{
	uint64_t cur[ST_N] = { 0 }, d[ST_N];
	const char *from = vanished && vanished[0] ? vanished : NULL;

	if (!read_stats(g, cur))
		return;
	if (!g->have_stats) {
		memcpy(g->stats, cur, sizeof(cur));
		g->have_stats = 1;
		return;
	}
	for (int k = 0; k < ST_N; k++) {
		d[k] = cur[k] >= g->stats[k] ? cur[k] - g->stats[k] : 0;
		g->stats[k] = cur[k];
	}
	if (d[ST_AUTH]) {
		snprintf(g->last_failure, sizeof(g->last_failure), "%s: TLS handshake refused: %s",
		    g->url, g->server ? "the peer's certificate is not from our CA (or it sent none)" :
		    "a certificate was refused (ours by the CBS node, or the CBS node's is not from "
		    "our CA or not for server_name)");
		g->failures += d[ST_AUTH];
		gwarn(g, "peer connections: %llu TLS handshake%s on %s refused: %s%s%s",
		    (unsigned long long)d[ST_AUTH], d[ST_AUTH] == 1 ? "" : "s", g->url,
		    g->server ? "a certificate not from our CA, or none" :
		    "a certificate refused on either side (CA, server_name)",
		    from ? "; from " : "", from ? from : "");
	}
	if (d[ST_PROTO] || d[ST_OTHER] || d[ST_TIMEOUT]) {
		snprintf(g->last_failure, sizeof(g->last_failure), "%s: connection failed (%s)", g->url,
		    d[ST_PROTO] ? "not the udclink protocol, or a TLS error" : d[ST_TIMEOUT] ?
		    "timed out" : "an error during the TLS handshake or on the connection");
		g->failures += d[ST_PROTO] + d[ST_OTHER] + d[ST_TIMEOUT];
		/* NNG 1.5.2 counts a message larger than RECVMAXSZ (the
		 * connection is dropped) with the other errors */
		gwarn(g, "peer connections: %llu connection%s on %s ended in an error (a message "
		    "larger than [peer] max_message (%zu bytes), a protocol or TLS error, a handshake "
		    "cut short%s)%s%s", (unsigned long long)(d[ST_PROTO] + d[ST_OTHER] + d[ST_TIMEOUT]),
		    d[ST_PROTO] + d[ST_OTHER] + d[ST_TIMEOUT] == 1 ? "" : "s", g->url, g->cfg->max_message,
		    d[ST_TIMEOUT] ? ", or a timeout" : "", from ? "; from " : "", from ? from : "");
	}
	if (!g->server && d[ST_REFUSED]) {
		snprintf(g->last_failure, sizeof(g->last_failure), "%s: connection refused (no CBS "
		    "node listening there)", g->url);
		g->failures += d[ST_REFUSED];
		gwarn(g, "peer connections: %llu connection%s to %s refused: no CBS node listening",
		    (unsigned long long)d[ST_REFUSED], d[ST_REFUSED] == 1 ? "" : "s", g->url);
	}
	if (d[ST_RCVMAX])
		gwarn(g, "peer connections: %llu message%s larger than [peer] max_message (%zu bytes) "
		    "dropped on %s, with their connection", (unsigned long long)d[ST_RCVMAX],
		    d[ST_RCVMAX] == 1 ? "" : "s", g->cfg->max_message, g->url);
}

static void *
guard_thread(void *arg)
{
	struct udc_guard *g = arg;
	char vanished[512];

	pthread_mutex_lock(&g->mtx);
	while (!g->stop) {
		struct timespec ts;
		double t = now_s();
		uint32_t idle[64];
		size_t nidle = 0;

		vanished[0] = '\0';
		if (g->server) {
			nidle = idle_pipes(g, t, idle, sizeof(idle) / sizeof(idle[0]));
			sweep_pending(g, t, vanished, sizeof(vanished));
		}
		if (nidle) {
			pthread_mutex_unlock(&g->mtx);
			for (size_t i = 0; i < nidle; i++)
				close_pipe_id(idle[i]);
			pthread_mutex_lock(&g->mtx);
		}
		/* connections that ended since the last scan, with those that
		 * never became one */
		{
			size_t o = strlen(vanished);
			if (g->closed[0] && o + strlen(g->closed) + 3 < sizeof(vanished))
				snprintf(vanished + o, sizeof(vanished) - o, "%s%s", o ? ", " : "", g->closed);
			g->closed[0] = '\0';
		}
		watch_stats(g, vanished);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&g->cv, &g->mtx, &ts);
	}
	pthread_mutex_unlock(&g->mtx);
	return NULL;
}

int
udc_guard_start(struct udc_guard **out, nng_socket s, const struct udc_config *cfg)
{
	struct udc_guard *g = calloc(1, sizeof(*g));
	const char *url;

	*out = NULL;
	if (g == NULL)
		return UDC_ENOMEM;
	g->s = s;
	g->cfg = cfg;
	g->server = cfg->role == UDC_ROLE_CBS;
	url = g->server ? cfg->peer_listen : cfg->peer_connect;
	snprintf(g->url, sizeof(g->url), "%s", url ? url : "?");
	pthread_mutex_init(&g->mtx, NULL);
	pthread_cond_init(&g->cv, NULL);
	udc_ratelimit_init(&g->logs, LOG_BURST, LOG_RATE, now_s());
	if (g->server && (nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, pipe_cb, g) != 0 ||
	    nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, pipe_cb, g) != 0 ||
	    nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, pipe_cb, g) != 0)) {
		udc_guard_stop(g);
		return UDC_EIO;
	}
	if (pthread_create(&g->thr, NULL, guard_thread, g) != 0) {
		udc_guard_stop(g);
		return UDC_ENOMEM;
	}
	g->running = 1;
	if (g->server) {
		pthread_mutex_lock(&acc_mtx);
		acc_on = 1;
		pthread_mutex_unlock(&acc_mtx);
	}
	*out = g;
	return 0;
}

void
udc_guard_stop(struct udc_guard *g)
{
	if (g == NULL)
		return;
	if (g->server) {
		pthread_mutex_lock(&acc_mtx);
		acc_on = 0;
		nacc = 0;
		pthread_mutex_unlock(&acc_mtx);
		nng_pipe_notify(g->s, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
		nng_pipe_notify(g->s, NNG_PIPE_EV_ADD_POST, NULL, NULL);
		nng_pipe_notify(g->s, NNG_PIPE_EV_REM_POST, NULL, NULL);
	}
	if (g->running) {
		pthread_mutex_lock(&g->mtx);
		g->stop = 1;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mtx);
		pthread_join(g->thr, NULL);
	}
	pthread_mutex_destroy(&g->mtx);
	pthread_cond_destroy(&g->cv);
	free(g->pipes);
	free(g);
}

unsigned long
udc_guard_last_failure(struct udc_guard *g, char *buf, size_t len)
{
	unsigned long n;

	if (g == NULL) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	pthread_mutex_lock(&g->mtx);
	snprintf(buf, len, "%s", g->last_failure);
	n = g->failures;
	pthread_mutex_unlock(&g->mtx);
	return n;
}

void
udc_guard_counts(struct udc_guard *g, size_t *pipes, size_t *pending)
{
	pthread_mutex_lock(&g->mtx);
	*pipes = g->npipes;
	pthread_mutex_unlock(&g->mtx);
	pthread_mutex_lock(&acc_mtx);
	*pending = 0;
	for (size_t i = 0; i < nacc; i++)
		*pending += !acc[i].shut;
	pthread_mutex_unlock(&acc_mtx);
}
