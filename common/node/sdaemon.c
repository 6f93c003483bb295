/*
 * sdaemon.c - journald, sd_notify and the watchdog through libsystemd
 * (sdaemon.h).
 */
#include "sdaemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "log.h"

static char sd_ident[32] = "udclink";

int
udc_sd_journal_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* The first 32-hex-digit word after "round ", if the line has one. */
static int
round_of(const char *msg, char id[33])
{
	for (const char *p = strstr(msg, "round "); p; p = strstr(p + 1, "round ")) {
		const char *h = p + 6;
		int k = 0;
		while (k < 32 && ((h[k] >= '0' && h[k] <= '9') || (h[k] >= 'a' && h[k] <= 'f')))
			k++;
		if (k == 32 && !((h[32] >= '0' && h[32] <= '9') || (h[32] >= 'a' && h[32] <= 'f'))) {
			memcpy(id, h, 32);
			id[32] = '\0';
			return 1;
		}
	}
	return 0;
}

static void
journal_sink(int level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char id[33];

	if (level < 0 || level > UDC_LOG_DEBUG)
		level = UDC_LOG_ERR;
	if (round_of(msg, id))
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio[level], "SYSLOG_IDENTIFIER=%s", sd_ident,
		    "UDC_ROUND=%s", id, NULL);
	else
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio[level], "SYSLOG_IDENTIFIER=%s", sd_ident,
		    NULL);
}

void
udc_sd_log_to_journal(const char *ident)
{
	snprintf(sd_ident, sizeof(sd_ident), "%s", ident);
	log_set_sink(journal_sink);
}

void
udc_sd_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
udc_sd_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

uint64_t
udc_sd_watchdog_usec(void)
{
	uint64_t us = 0;
	if (sd_watchdog_enabled(0, &us) <= 0)
		return 0;
	return us;
}

void
udc_sd_watchdog_ping(void)
{
	sd_notify(0, "WATCHDOG=1");
}
