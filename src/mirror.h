/*
 * mirror - copies of a share of the traffic to test clusters.
 *
 * After a milter thread has submitted a message's main scan, mirror_fire
 * draws, for each configured mirror, against its probability; each winner
 * gets a copy of the request built with the mirror's own wire options (key,
 * compression) and sent as a detached scan job (scan.h): the loop sends it
 * like any scan, on the mirror's own upstreams and health, and nobody waits
 * for it.  A mirror that already has max_inflight copies in flight gets no
 * more (the copy is dropped and counted), so a dead or slow mirror costs a
 * bounded number of sockets and never a queue.  Nothing here changes or
 * delays the answer to the MTA.
 *
 * When the config has a compare script, the copies and the main result
 * meet in a compare set (compare.h): mirror_fire returns it, the caller
 * reports the main result into slot 0, the loop reports each mirror's.
 *
 * Threads: mirror_fire from milter threads; the completion callback runs
 * in the loop; mirror_log_stats from any thread.
 */
#ifndef SCANMILTER_MIRROR_H
#define SCANMILTER_MIRROR_H

#include <stddef.h>

#include "rspamd.h"

struct blob;
struct config;
struct cmp_set;

/*
 * mirror_draw - the pure sampling rule: u is uniform in [0, 1).  A
 * probability of 1 always copies, 0 never.
 */
int		 mirror_draw(double probability, double u);

/*
 * mirror_fire - copy the message to the mirrors that draw it.  hdrs are the
 * main request's header lines (copied); ip and from (either may be NULL)
 * are what each mirror's hash strategy keys on, as its hash_key says.  Returns the compare set whose
 * slot 0 the caller must report (cmp_set_report) once the main result is
 * known, or NULL when there is nothing to compare.
 */
struct cmp_set	*mirror_fire(struct config *, const char *qid,
		    const struct strlist *hdrs, struct blob *blob,
		    const char *ip, const char *from);

/* mirror_log_stats - one line per mirror: fired, dropped, ok, failed. */
void		 mirror_log_stats(void);

#endif
