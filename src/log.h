/*
 * log - the daemon's one way to say something.
 *
 * Vocabulary (OpenSMTPD's): log_warn appends strerror(errno) and keeps errno;
 * log_warnx does not; fatal/fatalx log and exit(1) and are for start-up and
 * environment failures only.  Per-message problems never exit: they are
 * logged with the queue id first ("QUEUEID: ...", Postfix style) and handed
 * to the failure policy.
 *
 * Output goes to stderr until log_init() says otherwise.  log_init() is called
 * by main before any thread starts; the rest may be called from any thread.
 */
#ifndef SCANMILTER_LOG_H
#define SCANMILTER_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/*
 * log_init - choose the sink: syslog with the given facility name ("mail",
 * "local0" ...) when use_syslog, else stderr; and the most verbose level
 * written.  Returns -1 for an unknown facility name.
 */
int	log_init(int use_syslog, const char *facility, enum log_level level);
int	log_facility_known(const char *);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
