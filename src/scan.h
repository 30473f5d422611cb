/*
 * scan - hand a message from a milter thread to the scan loop and wait for
 * the answer.  No curl types here: loop.c could change its I/O model without
 * touching any caller.
 *
 * The job (curl's THRDPOOL rules):
 *   - built by a milter thread (scan_job_new), which then calls scan_submit;
 *     from then on the loop owns the job's input and writes its output;
 *   - the loop always completes a submitted job exactly once, by its
 *     deadline (curl timeouts) or at shutdown;
 *   - the milter thread waits in scan_wait (calling progress every few
 *     seconds so the MTA keeps waiting), then reads the output and frees.
 *   - if the loop were ever late past deadline + grace, scan_wait gives up
 *     with SCAN_ERR_TIMEOUT and lets go of the job.
 * A submitted job has two references, the waiter's and the loop's; the
 * last one dropped frees it.  So the loop can publish the answer and wake
 * the waiter (a futex on the job's state word, scan.c) without a lock,
 * and a job given up on stays valid for the loop.
 * The job holds its own references to the blob and the config.
 *
 * Threads: scan_job_*, scan_submit, scan_wait: milter threads.
 * scan_loop_start/stop: main thread.  The loop itself: loop.c.
 */
#ifndef SCANMILTER_SCAN_H
#define SCANMILTER_SCAN_H

#include <stddef.h>
#include <time.h>

#include "rspamd.h"

struct blob;
struct config;
struct group_conf;
struct scan_job;

enum scan_status {
	SCAN_OK,		/* HTTP 200 with a body */
	SCAN_ERR_CONNECT,	/* could not connect to any upstream */
	SCAN_ERR_NO_UPSTREAM,	/* every upstream of the group is dead */
	SCAN_ERR_TIMEOUT,	/* deadline passed */
	SCAN_ERR_HTTP,		/* non-200 status */
	SCAN_ERR_BAD_REPLY,	/* 200, but not a JSON object */
	SCAN_ERR_TRANSFER,	/* connection broke, bad HTTP */
	SCAN_ERR_TOO_BIG,	/* reply over the reply size limit */
	SCAN_ERR_OVERLOAD,	/* too many jobs waiting */
	SCAN_ERR_SHUTDOWN,	/* daemon is stopping */
	SCAN_ERR_INTERNAL	/* out of curl handles, read error ... */
};

const char	*scan_status_name(enum scan_status);

/*
 * scan_job_new - a job for group g of cfg.  Takes the header lines (hdrs is
 * left empty) and a new reference to blob and to cfg.  hash_key (copied,
 * may be NULL) is what the hash strategy keys on.  timeout: seconds from
 * now to the overall deadline.
 */
struct scan_job	*scan_job_new(const char *qid, struct strlist *hdrs,
		    struct blob *blob, struct config *cfg,
		    const struct group_conf *g, const char *hash_key,
		    double timeout);
/* scan_submit - queue the job; -1 (job completed with status) if refused. */
int		 scan_submit(struct scan_job *);
/*
 * scan_submit_detached - queue a job nobody waits for (a mirror copy):
 * done(job, arg) is called once in the loop thread when it completes (or
 * at once, in the caller, if it is refused), and the job is freed right
 * after.  Detached jobs do not count against max_queue; their sender
 * bounds them.
 */
void		 scan_submit_detached(struct scan_job *,
		    void (*done)(struct scan_job *, void *), void *arg);
/*
 * scan_wait - block until completion; progress(arg) every few seconds.  If
 * the loop is late past the deadline, the job is abandoned to it: *jp is set
 * to NULL and SCAN_ERR_TIMEOUT returned; the caller must not touch it again.
 */
enum scan_status scan_wait(struct scan_job **jp, void (*progress)(void *),
		    void *arg);
/* scan_job_free - after scan_wait (or a refused submit); NULL is fine. */
void		 scan_job_free(struct scan_job *);

/*
 * scan_job_hdrs - the job's request header lines.  They are immutable once
 * the job exists, so the submitting thread may read them until it frees
 * the job (the mirror copies do).
 */
const struct strlist *scan_job_hdrs(const struct scan_job *);

/* Output, valid after scan_wait returned. */
const char	*scan_job_reply(const struct scan_job *, size_t *len);
enum scan_status scan_job_status(const struct scan_job *);
const char	*scan_job_upstream(const struct scan_job *);
const char	*scan_job_error(const struct scan_job *);
int		 scan_job_attempts(const struct scan_job *);
/* What failed before the last attempt ("" if it was the first), for the
 * message's summary line: "upstream: why; upstream: why", shortened. */
const char	*scan_job_retries(const struct scan_job *);
double		 scan_job_elapsed_ms(const struct scan_job *);

/* scan_global_init - once, in main, before any thread starts. */
int		 scan_global_init(void);
/* scan_loop_start - start the loop thread; -1 on failure. */
int		 scan_loop_start(int max_queue);
/* scan_loop_stop - finish queued jobs with SCAN_ERR_SHUTDOWN, let
 * in-flight ones finish by their deadlines, join the thread. */
void		 scan_loop_stop(void);
/* scan_loop_dump - ask the loop to log every upstream's counters (any
 * thread; the sig thread on SIGUSR2). */
void		 scan_loop_dump(void);

#endif
