/*
 * scan_internal.h - the job's layout, shared by scan.c (milter side) and
 * loop.c (loop side) only.  Nobody else includes this.
 */
#ifndef SCANMILTER_SCAN_INTERNAL_H
#define SCANMILTER_SCAN_INTERNAL_H

#include <stdatomic.h>
#include <sys/queue.h>
#include <time.h>

#include "buf.h"
#include "scan.h"
#include "wire.h"

#define SCAN_REPLY_MAX	(16u * 1024 * 1024)	/* largest reply accepted */

/*
 * The job's state word, which is also the futex the waiter sleeps on (see
 * scan_wait).  A detached job (done != NULL) has no waiter; its state is
 * unused.
 */
enum job_state {
	JOB_PENDING = 0,	/* submitted, not yet done */
	JOB_SLEEPING = 1,	/* the same, and the waiter may be asleep */
	JOB_DONE = 2		/* status and reply are final */
};

struct upstream;

#define SCAN_MAX_TRIES	101	/* max_retries is at most 100 */

struct scan_job {
	/* input: immutable once submitted */
	char			*qid;
	struct strlist		 hdrs;
	struct blob		*blob;
	struct config		*cfg;
	const struct group_conf	*group;
	char			*hash_key;	/* client IP or sender; may be NULL */
	struct wire_req		 wire;		/* the request as sent */
	int			 wire_failed;	/* could not build it: error says */
	/* detached (scan_submit_detached): called at completion */
	void			(*done)(struct scan_job *, void *);
	void			*done_arg;
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	struct timespec		 submitted;
	/* output: written by the loop before completion */
	enum scan_status	 status;
	struct buf		 reply;
	char			 upstream[128];
	char			 error[256];
	char			 retries[400];	/* failed attempts before the last */
	int			 retries_full;	/* retries ends in "...": no more */
	double			 elapsed_ms;
	/* loop only: upstreams tried so far, for the balancer */
	struct upstream		*tried[SCAN_MAX_TRIES];
	size_t			 ntried;
	/* sync */
	atomic_int		 refs;		/* waiter + loop while submitted */
	atomic_uint		 state;		/* enum job_state; a futex word */
	STAILQ_ENTRY(scan_job)	 entry;		/* submission queue */
};

STAILQ_HEAD(scan_queue, scan_job);

/* scan_complete - loop side: publish output, wake the waiter, let go. */
void	scan_complete(struct scan_job *, enum scan_status);
/* scan_job_destroy - free everything; only via the rules above. */
void	scan_job_destroy(struct scan_job *);

/* loop.c: queue the job for the loop; -1 if overloaded or stopping. */
int	loop_enqueue(struct scan_job *, enum scan_status *why);

#endif
