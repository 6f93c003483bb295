/*
 * sdaemon.h - running under systemd: structured logging to journald, the
 * readiness and stopping notifications (Type=notify) and the watchdog.
 * Outside systemd every call here does nothing.
 */
#ifndef UDC_SDAEMON_H
#define UDC_SDAEMON_H

#include <stdint.h>

/* 1 if stderr is connected to journald (JOURNAL_STREAM names it). */
int udc_sd_journal_stderr(void);
/* Routes the log (log.h) to journald with PRIORITY, SYSLOG_IDENTIFIER and,
 * for lines that name a round, UDC_ROUND=<id>.  Call when
 * udc_sd_journal_stderr() is 1 and the configuration asks for stderr. */
void udc_sd_log_to_journal(const char *ident);
/* READY=1 with a STATUS= line; STOPPING=1. */
void udc_sd_ready(const char *status);
void udc_sd_stopping(void);
/* The watchdog interval systemd asked for, in microseconds (0 = none). */
uint64_t udc_sd_watchdog_usec(void);
/* WATCHDOG=1. */
void udc_sd_watchdog_ping(void);

#endif
