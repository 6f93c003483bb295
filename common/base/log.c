/* log.c - levelled logging to stderr, syslog or a sink (journald); thread safe (one write per line). */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

static int log_level = UDC_LOG_INFO;
static int log_syslog;
static char log_ident[32] = "udclink";
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;
static void (*log_sink)(int level, const char *msg);

void
log_set_sink(void (*fn)(int level, const char *msg))
{
	log_sink = fn;
}

void
log_init(const char *ident, int level, int use_syslog)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident ? ident : "udclink");
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(int level) { log_level = level; }
int log_getlevel(void) { return log_level; }

int
log_level_parse(const char *s)
{
	if (!strcasecmp(s, "error")) return UDC_LOG_ERR;
	if (!strcasecmp(s, "warning") || !strcasecmp(s, "warn")) return UDC_LOG_WARN;
	if (!strcasecmp(s, "info")) return UDC_LOG_INFO;
	if (!strcasecmp(s, "debug")) return UDC_LOG_DEBUG;
	return -1;
}

static void
vlog(int level, const char *errtxt, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= 0 && errtxt && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", errtxt);
	if (log_sink) {
		log_sink(level, msg);
		return;
	}
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char tbuf[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mtx);
	fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", tbuf, ts.tv_nsec / 1000000L,
	    log_ident, (int)getpid(), names[level], msg);
	pthread_mutex_unlock(&log_mtx);
}

#define LOGFN(name, level, witherr)                     \
	void name(const char *fmt, ...)                 \
	{                                               \
		int saved = errno;                      \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		vlog(level, witherr ? strerror(saved) : NULL, fmt, ap); \
		va_end(ap);                             \
		errno = saved;                          \
	}

LOGFN(log_errorx, UDC_LOG_ERR, 0)
LOGFN(log_warn, UDC_LOG_WARN, 1)
LOGFN(log_warnx, UDC_LOG_WARN, 0)
LOGFN(log_info, UDC_LOG_INFO, 0)
LOGFN(log_debug, UDC_LOG_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(UDC_LOG_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(UDC_LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
