/*
 * main.c - scanmilter: start-up, privileges, signals, orderly stop.
 *
 * Order matters (OpenDKIM's, plus libmilter's signal rules):
 *   1. parse arguments, load and check the config (errors name file:line);
 *   2. curl and the logger are initialised before any thread exists;
 *   3. the milter socket is opened while still root, then privileges drop;
 *   4. SIGHUP, SIGTERM, SIGINT (libmilter's), SIGUSR1 and SIGUSR2 are
 *      blocked and SIGPIPE ignored *before* our threads start, so that only
 *      libmilter's signal thread and our sig thread ever take them;
 *   5. the scan loop and the sig thread start, then smfi_main() runs until
 *      libmilter is told to stop (SIGTERM/SIGHUP/SIGINT);
 *   6. the scan loop finishes what is in flight and the process exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"
#include "config.h"
#include "httpcrypt.h"
#include "log.h"
#include "milter.h"
#include "milterio.h"
#include "monotime.h"
#include "scan.h"
#include "session.h"
#include "xalloc.h"

struct options {
	const char	*config_path;	/* NULL: embedded default */
	int		 check_only;
	int		 dump;
	int		 foreground;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: scanmilter [-dfhKtV] [-c config]\n"
	    "  -c FILE  configuration file (default: the embedded default)\n"
	    "  -t       check the configuration and exit\n"
	    "  -d       print the effective configuration and exit\n"
	    "  -f       stay in the foreground\n"
	    "  -K       list every option with type, default and doc\n"
	    "  -V       print the version and exit\n");
	exit(2);
}

static void	print_line(const char *);

static void
parse_args(int argc, char **argv, struct options *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "c:dfhKtV")) != -1) {
		switch (ch) {
		case 'c': o->config_path = optarg; break;
		case 'd': o->dump = 1; break;
		case 'f': o->foreground = 1; break;
		case 't': o->check_only = 1; break;
		case 'V':
			printf("scanmilter %s\n", SCANMILTER_VERSION);
			exit(0);
		case 'K':
			/* For the manual (packaging/man) and its drift test. */
			config_doc(print_line);
			exit(0);
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

/* load_config - the file given, or the embedded default. */
static struct config *
load_config(const char *path, char *err, size_t len)
{
	if (path != NULL)
		return config_load_file(path, err, len);
	return config_load_string(config_default_text, "(embedded default)",
	    err, len);
}

static void
print_line(const char *s)
{
	puts(s);
}

/* drop_privileges - become daemon.user / daemon.group, if set. */
static void
drop_privileges(const struct config *cfg)
{
	struct passwd *pw;
	gid_t gid;
	const char *path = milter_socket_path(cfg->socket);

	if (cfg->user[0] == '\0')
		return;
	if ((pw = getpwnam(cfg->user)) == NULL)
		fatalx("daemon.user: no such user '%s'", cfg->user);
	gid = pw->pw_gid;
	if (cfg->group[0] != '\0') {
		struct group *gr = getgrnam(cfg->group);

		if (gr == NULL)
			fatalx("daemon.group: no such group '%s'", cfg->group);
		gid = gr->gr_gid;
	}
	/* The socket was made as root: hand it to the daemon's user. */
	if (path != NULL && chown(path, pw->pw_uid, gid) == -1)
		log_warn("chown %s", path);
	if (getuid() != pw->pw_uid) {
		if (initgroups(pw->pw_name, gid) == -1 || setgid(gid) == -1 ||
		    setuid(pw->pw_uid) == -1)
			fatal("cannot drop privileges to %s", cfg->user);
	}
}

/*
 * batch_scheduling - daemon.batch_scheduling: this thread, and every thread
 * started after it (they inherit the policy), under SCHED_BATCH.  The
 * policy keeps the fair share of SCHED_OTHER and drops wakeup preemption:
 * a milter or loop thread woken by the MTA or a scanner does not push a
 * running scanner (or MTA) process off its CPU, so a busy host makes
 * fewer context switches.  Measured on 2 vCPUs with Rspamd on the same
 * host (tests/bench): 2-5% more messages a second at concurrency 8 and
 * 32, no change at 1.  The price is latency when other work keeps every
 * CPU busy (README).  Needs no privilege; a refusal is only logged.
 */
static void
batch_scheduling(const struct config *cfg)
{
	struct sched_param p = { .sched_priority = 0 };

	if (cfg->batch_sched && sched_setscheduler(0, SCHED_BATCH, &p) == -1)
		log_warn("daemon.batch_scheduling: SCHED_BATCH refused");
}

/*
 * heap_tuning - keep a message's worth of freed memory for the next one.
 *
 * glibc gives the top of a thread's heap back to the kernel as soon as
 * 128 KiB lie free there, so nearly every message faults fresh pages in
 * again (about 2 minor faults a message at 32 parallel sessions in
 * tests/bench, against under 0.4 with these values).  Blocks under 1 MiB
 * come from the heap and up to 2 MiB stay mapped at its top; bigger ones
 * (large bodies) are mapped and unmapped on their own, so a burst of big
 * mail does not pin memory.  An operator's GLIBC_TUNABLES wins.
 */
static void
heap_tuning(void)
{
	if (getenv("GLIBC_TUNABLES") != NULL)
		return;
	(void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
}

/*
 * thread_stacks - 1 MiB stacks for the threads that have no attributes of
 * their own: ours and libmilter's session workers.
 *
 * mworkers keeps up to 32 ended session threads for the next sessions;
 * past that, under load, threads still start and end.  glibc keeps 40 MiB
 * of ended threads' stacks for reuse: with the default 8 MiB that is
 * five, and every other start maps, faults in and later unmaps a fresh
 * stack (an unmap stops the process's other CPUs to flush them).  1 MiB
 * keeps forty, and is four times the deepest use we know of: jansson at its
 * parsing depth limit (2048) takes between 128 and 256 KiB; our largest
 * frames are 34 KiB (verdict_parse), Lua caps its C recursion at 200.
 */
static void
thread_stacks(void)
{
	pthread_attr_t a;

	if (pthread_attr_init(&a) != 0)
		return;
	if (pthread_attr_setstacksize(&a, 1024 * 1024) != 0 ||
	    pthread_setattr_default_np(&a) != 0)
		log_warn("daemon: cannot set the threads' stack size");
	pthread_attr_destroy(&a);
}

/* daemonize - detach from the terminal. */
static void
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1: fatal("fork");
	case 0: break;
	default: _exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static void
write_pidfile(const char *path)
{
	FILE *fp;

	if (path[0] == '\0')
		return;
	if ((fp = fopen(path, "w")) == NULL)
		fatal("cannot write pidfile %s", path);
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
}

/* reload - SIGUSR1: a new snapshot, or keep the old one on error. */
static void
reload(const char *path)
{
	char err[1024];
	struct config *cfg = load_config(path, err, sizeof(err));
	struct config *old;

	if (cfg == NULL) {
		log_err("reload refused, keeping the running config: %s", err);
		return;
	}
	old = config_current();
	if (old != NULL && (strcmp(old->socket, cfg->socket) != 0 ||
	    strcmp(old->user, cfg->user) != 0))
		log_warnx("reload: milter.socket and daemon.user take effect "
		    "only on restart");
	config_release(old);
	config_publish(cfg);
	log_info("configuration reloaded from %s", cfg->source);
}

/* sig_main - the sig thread: SIGUSR1 reloads, SIGUSR2 logs counters. */
static void *
sig_main(void *arg)
{
	const char *path = arg;
	sigset_t set;
	int sig;

	pthread_setname_np(pthread_self(), "sm-signals");

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			reload(path);
		else if (sig == SIGUSR2)
			scan_loop_dump();
	}
	return NULL;
}

/*
 * drain - libmilter has stopped accepting connections, but messages already
 * under way still run on their threads.  Each gets until its own scan
 * deadline (and DRAIN_GRACE_S) to be answered: a message at end of
 * message counts from when it got there, one still being received from the
 * stop, each with the scan timeout of the config its connection started
 * with (a reload may have changed it since).  The wait ends early when
 * every message has ended and libmilter has sent every answer (it sends
 * after the callback returns).  A message still open after that is logged
 * with its queue id, and the MTA applies its milter_default_action.
 */
#define DRAIN_GRACE_S	5.0

static void
drain(void)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct timespec since, until;
	int n = session_messages_in_progress();

	clock_gettime(CLOCK_MONOTONIC, &since);
	if (n > 0)
		log_info("stopping: waiting for %d message(s) in progress", n);
	for (;;) {
		if (session_messages_in_progress() == 0 &&
		    milterio_answers_due() == 0)
			return;
		until = session_stop_deadline(since, DRAIN_GRACE_S);
		if (ts_ms_until(&until) <= 0)
			break;
		nanosleep(&pause, NULL);
	}
	if ((n = session_cut_off()) > 0)
		log_warnx("stopping with %d message(s) unanswered: the MTA "
		    "applies its milter_default_action", n);
	/* A message whose owner claimed its line just before the cut-off
	 * gets it written before the process ends (bounded: 1 s). */
	for (int i = 0; i < 100 && session_lines_due() > 0; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if ((n = milterio_answers_due()) > 0)
		log_warnx("stopping with %d answer(s) still being sent to "
		    "the MTA", n);
}

/* absolute - path made absolute against the working directory (links
 * kept); NULL if that cannot be known. */
static char *
absolute(const char *path)
{
	char *cwd = getcwd(NULL, 0), *abs;

	if (cwd == NULL)
		return NULL;
	abs = xasprintf("%s/%s", cwd, path);
	free(cwd);
	return abs;
}

/* block_signals - before any thread: see the comment at the top. */
static void
block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config *cfg;
	char err[1024], *abs_path = NULL;
	pthread_t sig_thread;

	parse_args(argc, argv, &o);
	/* A reload reads the file again, from "/" once detached; -t and -D
	 * name it as given.  Links are not resolved: a reload reads what the
	 * name points to then, and @include resolves beside the name. */
	if (!o.check_only && !o.dump && o.config_path != NULL &&
	    o.config_path[0] != '/' && (abs_path = absolute(o.config_path)))
		o.config_path = abs_path;
	/* Before any config: loading one makes key pairs. */
	if (hc_init() == -1) {
		fprintf(stderr, "scanmilter: libsodium cannot start\n");
		return 1;
	}
	if ((cfg = load_config(o.config_path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scanmilter: %s\n", err);
		return 1;
	}
	/* The one-shot modes free what they loaded, so that a leak checker
	 * run on "scanmilter -t" reports only real leaks. */
	if (o.check_only) {
		printf("scanmilter: configuration %s is valid\n", cfg->source);
		config_release(cfg);
		return 0;
	}
	if (o.dump) {
		config_dump(cfg, print_line);
		config_release(cfg);
		return 0;
	}
	heap_tuning();
	if (log_init(cfg->log_syslog, cfg->log_facility, cfg->log_level) == -1)
		fatalx("log.facility: unknown");
	if (scan_global_init() == -1)
		fatalx("libcurl initialisation failed");
	if (milter_setup(cfg) == -1)
		return 1;
	if (!o.foreground)
		daemonize();
	write_pidfile(cfg->pidfile);
	drop_privileges(cfg);
	batch_scheduling(cfg);
	block_signals();
	thread_stacks();
	config_publish(config_acquire(cfg));
	if (scan_loop_start(cfg->max_queue) == -1)
		fatalx("cannot start the scan loop");
	if (compare_start() == -1)
		fatalx("cannot start the compare thread");
	if (pthread_create(&sig_thread, NULL, sig_main,
	    (void *)o.config_path) != 0)
		fatalx("cannot start the signal thread");
	log_info("scanmilter %s listening on %s (config %s)",
	    SCANMILTER_VERSION, cfg->socket, cfg->source);
	if (milter_run() == -1)
		log_err("milter main loop failed");
	drain();
	/* The loop first: its last mirror results may still fill sets. */
	scan_loop_stop();
	compare_stop();
	if (cfg->pidfile[0] != '\0')
		unlink(cfg->pidfile);
	config_release(cfg);
	log_info("stopped");
	return 0;
}
