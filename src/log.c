/*
 * log.c - stderr or syslog sink; see log.h.
 *
 * The sink is chosen once, before threads start, so the globals below are
 * read-only afterwards and need no lock.  Each line is written with a single
 * call (syslog, or one write(2) of a formatted line) so lines from different
 * milter threads do not interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"

static int log_syslog;
static enum log_level log_max = LOG_LEVEL_INFO;

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const char *level_names[] = { "error", "warning", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* facility_lookup - facility number for a name, -1 if unknown. */
static int
facility_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}

int
log_facility_known(const char *name)
{
	return facility_lookup(name) != -1;
}

int
log_init(int use_syslog, const char *facility, enum log_level level)
{
	int fac = LOG_MAIL;

	if (facility != NULL && (fac = facility_lookup(facility)) == -1)
		return -1;
	log_max = level;
	if (log_syslog)
		closelog();
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("scanmilter", LOG_PID | LOG_NDELAY, fac);
	return 0;
}

/* stamp - the local time of now to the second, formatted once a second. */
static const char *
stamp(const struct timespec *ts)
{
	static _Thread_local time_t last = -1;
	static _Thread_local char text[32];
	struct tm tm;

	if (ts->tv_sec != last) {
		localtime_r(&ts->tv_sec, &tm);
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
		last = ts->tv_sec;
	}
	return text;
}

/*
 * log_vwrite - one line to the sink; errnum >= 0 appends its text.
 *
 * A stderr line is formatted once, stamp and all, into one buffer and
 * leaves with one write(2).  Not fprintf: that holds stderr's stdio lock
 * across the write, and milter threads that finish messages together
 * queued on it (strace showed the lock's futex under every busy log
 * line).  A line too long is cut, keeping its end of line.
 */
static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[4096];
	size_t n = 0;
	int m;

	if (level > log_max)
		return;
	if (!log_syslog) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		n = (size_t)snprintf(line, sizeof(line), "%s.%03ld "
		    "scanmilter[%s]: ", stamp(&ts), ts.tv_nsec / 1000000L,
		    level_names[level]);
	}
	if ((m = vsnprintf(line + n, sizeof(line) - n, fmt, ap)) < 0)
		return;
	n += (size_t)m;
	if (errnum >= 0 && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;	/* cut, with room for the newline */
	if (log_syslog) {
		line[n] = '\0';
		syslog(level_prio[level], "%s", line);
	} else {
		line[n++] = '\n';
		(void)fd_write_all(STDERR_FILENO, line, n);
	}
}

#define LOG_BODY(level, errnum) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vwrite((level), (errnum), fmt, ap);		\
	va_end(ap);					\
} while (0)

void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_DEBUG, -1); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_INFO, -1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_WARN, -1); }
void log_err(const char *fmt, ...) { LOG_BODY(LOG_LEVEL_ERR, -1); }

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_WARN, saved);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_ERR, saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERR, -1);
	exit(1);
}
