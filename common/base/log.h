/*
 * log.h - levelled logging to stderr or syslog, OpenBSD log.c shape.
 *
 * Never pass an identifier (BSN, name, date, postcode) or a secret to these
 * functions.  Log counts, round ids, file names, line numbers and reasons.
 */
#ifndef UDC_LOG_H
#define UDC_LOG_H

#include <stdarg.h>

enum udc_log_level { UDC_LOG_ERR = 0, UDC_LOG_WARN, UDC_LOG_INFO, UDC_LOG_DEBUG };

/* ident: program name; use_syslog: 0 = stderr. Safe to call again. */
void log_init(const char *ident, int level, int use_syslog);
void log_setlevel(int level);
int log_getlevel(void);
/* Parses "error", "warning", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);

/* Sends every line at or above the level to fn instead of stderr or syslog
 * (the daemon's journald writer, common/node/sdaemon.c); NULL restores the
 * default.  fn gets the UDC_LOG_* level and the formatted line. */
void log_set_sink(void (*fn)(int level, const char *msg));

void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* error, goes on */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* + strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
