/*
 * scan.c - the job's milter-thread side: build, submit, wait, free.
 * See scan.h for the ownership rules.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blob.h"
#include "config.h"
#include "monotime.h"
#include "scan_internal.h"
#include "xalloc.h"

#define WAIT_SLICE_MS	5000	/* how often the MTA hears we are alive */
#define WAIT_GRACE_MS	3000	/* after the deadline, before giving up */

static const char *const status_names[] = {
	[SCAN_OK] = "ok",
	[SCAN_ERR_CONNECT] = "connect failed",
	[SCAN_ERR_NO_UPSTREAM] = "no live upstream",
	[SCAN_ERR_TIMEOUT] = "timeout",
	[SCAN_ERR_HTTP] = "HTTP error",
	[SCAN_ERR_BAD_REPLY] = "malformed reply",
	[SCAN_ERR_TRANSFER] = "transfer failed",
	[SCAN_ERR_TOO_BIG] = "reply too big",
	[SCAN_ERR_OVERLOAD] = "overloaded",
	[SCAN_ERR_SHUTDOWN] = "shutting down",
	[SCAN_ERR_INTERNAL] = "internal error",
};

const char *
scan_status_name(enum scan_status s)
{
	return status_names[s];
}

struct scan_job *
scan_job_new(const char *qid, struct strlist *hdrs, struct blob *blob,
    struct config *cfg, const struct group_conf *g, const char *hash_key,
    double timeout)
{
	struct scan_job *j = xcalloc(1, sizeof(*j));

	j->qid = xstrdup(qid);
	j->hdrs = *hdrs;
	memset(hdrs, 0, sizeof(*hdrs));
	j->blob = blob_ref(blob);
	j->cfg = config_acquire(cfg);
	j->group = g;
	j->hash_key = hash_key != NULL ? xstrdup(hash_key) : NULL;
	/*
	 * Compress and seal here, in the milter thread: the work is spread
	 * over the connections' threads instead of all landing on the loop,
	 * and every retry in the group resends the same bytes.
	 */
	j->wire_failed = wire_request(&g->wire, RSPAMD_PATH_CHECK, &j->hdrs,
	    blob, &j->wire, j->error, sizeof(j->error)) == -1;
	clock_gettime(CLOCK_MONOTONIC, &j->submitted);
	j->deadline = ts_add_ms(j->submitted, timeout * 1000.0);
	buf_init(&j->reply, SCAN_REPLY_MAX);
	atomic_init(&j->state, JOB_PENDING);
	atomic_init(&j->refs, 1);
	return j;
}

/* job_unref - drop a reference; the last one frees the job. */
static void
job_unref(struct scan_job *j)
{
	if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1)
		scan_job_destroy(j);
}

int
scan_submit(struct scan_job *j)
{
	enum scan_status why;

	if (j->wire_failed) {
		j->status = SCAN_ERR_INTERNAL;
		atomic_store(&j->state, JOB_DONE);
		return -1;
	}
	/* Waiter and loop; the loop may complete it at once.  A detached
	 * job is the loop's alone (scan_complete frees it outright): its
	 * count stays unused. */
	if (j->done == NULL)
		atomic_store(&j->refs, 2);
	if (loop_enqueue(j, &why) == 0)
		return 0;
	/* Refused: complete it here, no waiting; the loop never had it. */
	if (j->done == NULL)
		atomic_store(&j->refs, 1);
	j->status = why;
	atomic_store(&j->state, JOB_DONE);
	snprintf(j->error, sizeof(j->error), "%s", scan_status_name(why));
	return -1;
}

void
scan_submit_detached(struct scan_job *j,
    void (*done)(struct scan_job *, void *), void *arg)
{
	/* Set before the loop can see it: it may complete at once. */
	j->done = done;
	j->done_arg = arg;
	if (scan_submit(j) == 0)
		return;
	/* Refused: scan_submit set status and error; nobody waits. */
	done(j, arg);
	scan_job_destroy(j);
}

/*
 * The hand-back from the loop to the waiting milter thread is a bare futex
 * on the job's state word rather than a mutex and condition variable:
 * glibc's pair costs three futex calls per message (the wait, the signal,
 * and a wake on the mutex, which a condition wait leaves marked as
 * contended), and the waiter woke into a lock the loop could still hold.
 * Here the loop stores JOB_DONE and makes one wake call, and only if the
 * waiter said it was going to sleep; the waiter makes one wait call, and
 * none if the answer came first.  Linux only, like the loop's epoll.
 */
_Static_assert(sizeof(atomic_uint) == sizeof(uint32_t), "futex word size");

/* futex_wait - sleep while *word == val, until the CLOCK_MONOTONIC time. */
static void
futex_wait(atomic_uint *word, unsigned val, const struct timespec *until)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET_PRIVATE, val,
	    until, NULL, FUTEX_BITSET_MATCH_ANY);
}

static void
futex_wake(atomic_uint *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL,
	    NULL, 0);
}

enum scan_status
scan_wait(struct scan_job **jp, void (*progress)(void *), void *arg)
{
	struct scan_job *j = *jp;
	struct timespec hard = ts_add_ms(j->deadline, WAIT_GRACE_MS);
	struct timespec now, until;
	unsigned s;

	while ((s = atomic_load_explicit(&j->state, memory_order_acquire)) !=
	    JOB_DONE) {
		double left = ts_ms_until(&hard);

		if (left <= 0) {
			/* The loop is late: it frees the job when done. */
			*jp = NULL;
			job_unref(j);
			return SCAN_ERR_TIMEOUT;
		}
		/* Say we sleep; if the answer came meanwhile, s shows it. */
		if (s == JOB_PENDING && !atomic_compare_exchange_strong(
		    &j->state, &s, JOB_SLEEPING))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		until = ts_add_ms(now, left < WAIT_SLICE_MS ? left :
		    WAIT_SLICE_MS);
		futex_wait(&j->state, JOB_SLEEPING, &until);
		/* Woken, interrupted or timed out: the loop test decides. */
		if (atomic_load_explicit(&j->state, memory_order_acquire) !=
		    JOB_DONE && ts_ms_until(&until) <= 0 && progress != NULL)
			progress(arg);
	}
	return j->status;
}

void
scan_complete(struct scan_job *j, enum scan_status st)
{
	j->elapsed_ms = ts_ms_since(&j->submitted);
	if (j->done != NULL) {
		/* Nobody waits: the loop thread is the only owner. */
		j->status = st;
		j->done(j, j->done_arg);
		scan_job_destroy(j);
		return;
	}
	j->status = st;
	/* Release: the waiter that sees JOB_DONE sees the output too.  Our
	 * reference keeps the word alive until after the wake. */
	if (atomic_exchange_explicit(&j->state, JOB_DONE,
	    memory_order_acq_rel) == JOB_SLEEPING)
		futex_wake(&j->state);
	job_unref(j);
}

void
scan_job_destroy(struct scan_job *j)
{
	free(j->qid);
	free(j->hash_key);
	strlist_free(&j->hdrs);
	wire_req_free(&j->wire);
	blob_unref(j->blob);
	config_release(j->cfg);
	buf_free(&j->reply);
	free(j);
}

void
scan_job_free(struct scan_job *j)
{
	if (j != NULL)
		job_unref(j);
}

const struct strlist *
scan_job_hdrs(const struct scan_job *j)
{
	return &j->hdrs;
}

const char *
scan_job_reply(const struct scan_job *j, size_t *len)
{
	*len = j->reply.len;
	return j->reply.data ? j->reply.data : "";
}

enum scan_status
scan_job_status(const struct scan_job *j)
{
	return j->status;
}

const char *
scan_job_upstream(const struct scan_job *j)
{
	return j->upstream[0] ? j->upstream : "-";
}

const char *
scan_job_error(const struct scan_job *j)
{
	return j->error;
}

const char *
scan_job_retries(const struct scan_job *j)
{
	return j->retries;
}

int
scan_job_attempts(const struct scan_job *j)
{
	return (int)j->ntried;	/* one attempt per upstream tried */
}

double
scan_job_elapsed_ms(const struct scan_job *j)
{
	return j->elapsed_ms;
}
