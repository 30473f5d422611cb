/*
 * compare - a mirrored message's results, gathered from the main scan and
 * from each mirror, and the thread that runs the compare script on them.
 *
 * A set has one slot per result: slot 0 is the main scan, 1..n the
 * mirrors fired for the message.  Each slot is reported exactly once
 * (cmp_set_report) by whoever has the result: the milter thread for the
 * main scan, the loop for a mirror.  The last report hands the set to the
 * compare thread through a bounded queue (compare.max_queue; a set that
 * finds it full is dropped and counted); a set whose config has no script
 * is freed instead.  The compare thread parses each reply (verdict.c),
 * calls the script (luabridge.c) in a box it keeps per config, logs a
 * failing or runaway script, and frees the set.  None of this is on the
 * path of the answer to the MTA.
 *
 * Threads: cmp_set_* from any thread.  compare_start/compare_stop: main.
 * The compare thread is private to compare.c.
 */
#ifndef SCANMILTER_COMPARE_H
#define SCANMILTER_COMPARE_H

#include <stddef.h>

struct config;
struct cmp_set;

/*
 * cmp_set_new - a set for nslots results of message qid (from and size
 * are for the script).  Holds a reference to cfg.
 */
struct cmp_set	*cmp_set_new(struct config *cfg, const char *qid,
		    const char *from, size_t size, size_t nslots);
/* cmp_set_name - the name the script sees for slot i (copied). */
void		 cmp_set_name(struct cmp_set *, size_t i, const char *name);
/*
 * cmp_set_report - slot i's outcome: the reply JSON (copied) or an error
 * text, the upstream that answered (may be NULL), and the time taken.
 */
void		 cmp_set_report(struct cmp_set *, size_t i,
		    const char *upstream, const char *json, size_t len,
		    const char *error, double ms);

/* compare_start - start the compare thread; -1 if it cannot be. */
int		 compare_start(void);
/* compare_stop - drop what is queued, join the thread. */
void		 compare_stop(void);
/* compare_log_stats - one line of counters (any thread). */
void		 compare_log_stats(void);

#endif
