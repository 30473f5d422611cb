/*
 * upstream - the balancer: which scanner gets the next attempt, and what
 * the outcome of each attempt says about that scanner's health.
 *
 * Two kinds of object:
 *   struct upstream  one scanner ("127.0.0.1:11333", "/run/rspamd.sock"),
 *                    with its health and counters.  Shared by every group
 *                    that lists it, found by label, and kept across
 *                    reloads so that a reload forgets no dead host.
 *   struct ups_group one configured group: its members with weights, the
 *                    strategy and the strategy's cursor.
 *
 * Health (as Rspamd's upstream library, minus "revive all when all are
 * dead"):
 *   1. a failed attempt (connect error, timeout, 5xx, broken reply) or a
 *      failed ping counts as an error; errors older than error_time are
 *      forgotten;
 *   2. max_errors errors within error_time mark the upstream dead for
 *      revive_time;
 *   3. after revive_time it is alive again and gets traffic; an answered
 *      ping revives it at once;
 *   4. when every member of a group is dead, upstream_select returns NULL
 *      and the message gets the failure policy without any waiting.
 * upstream_ok clears the error count.
 *
 * Strategies (the hosts prefix in the config):
 *   round-robin  smooth weighted round robin: over any window each live
 *                member gets its weight's share, interleaved;
 *   master-slave the first live member in list order;
 *   random       weighted random;
 *   hash         rendezvous hashing of a key (client IP or sender) with
 *                weights: a key always lands on the same live member, and
 *                when a member dies only its keys move;
 *   sequential   each message goes to the next member in list order,
 *                weights ignored.
 * Retries never go to a member already tried for the same message while an
 * untried live one remains.
 *
 * Thread: the scan loop only.  Nothing here locks.  Time is passed in
 * (seconds, CLOCK_MONOTONIC) and randomness comes from the rng given to
 * upstream_set_rng, so tests drive both.
 */
#ifndef SCANMILTER_UPSTREAM_H
#define SCANMILTER_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "hostlist.h"

struct upstream;
struct ups_group;

/* Health parameters of a group (from its config). */
struct ups_params {
	int	 max_errors;
	double	 error_time;
	double	 revive_time;
};

/* Counters, as published in logs. */
struct ups_stats {
	unsigned long	 requests;	/* attempts started */
	unsigned long	 ok;
	unsigned long	 errors;
	unsigned long	 pings;
	unsigned long	 ping_errors;
	double		 latency_sum_ms;	/* over ok attempts */
	double		 latency_max_ms;
	int		 inflight;
};

/* upstream_set_rng - the random source, a uniform value in [0, 1). */
void		 upstream_set_rng(double (*rng)(void));

/*
 * ups_group_new - a group from a parsed host list; members are found or
 * created in the registry by label.
 */
struct ups_group *ups_group_new(const struct hostlist *,
		    const struct ups_params *);
void		 ups_group_free(struct ups_group *);
size_t		 ups_group_size(const struct ups_group *);
struct upstream	*ups_group_member(const struct ups_group *, size_t i);

/*
 * upstream_select - the upstream for the next attempt of a message, or NULL
 * if every member is dead (or tried).  tried[] lists the members already
 * tried for this message (ntried of them); key is the hash key (may be
 * NULL: then the hash strategy behaves as random).
 */
struct upstream	*upstream_select(struct ups_group *, double now,
		    struct upstream *const *tried, size_t ntried,
		    const char *key);

/*
 * Scan attempts: upstream_started when one is handed to curl, then exactly
 * one of upstream_ok (it answered, latency in ms) or upstream_fail (it did
 * not; returns 1 if this error made it dead).  The loop never abandons an
 * attempt: every started one ends in a transfer result.
 */
void		 upstream_started(struct upstream *, double now);
void		 upstream_ok(struct upstream *, double now, double latency_ms);
int		 upstream_fail(struct upstream *, double now);

/* Active checks: an answered ping revives; a failed one is an error. */
void		 upstream_ping_ok(struct upstream *, double now);
int		 upstream_ping_fail(struct upstream *, double now);

int		 upstream_alive(const struct upstream *, double now);
const char	*upstream_label(const struct upstream *);
const struct host *upstream_host(const struct upstream *);
const struct ups_stats *upstream_stats(const struct upstream *);
/* upstream_state_text - "alive", "dead 42s", "alive, 2 errors" for logs. */
void		 upstream_state_text(const struct upstream *, double now,
		    char *buf, size_t len);

/*
 * upstream_registry_clear - free every upstream (at loop exit, when no
 * group is left).
 */
void		 upstream_registry_clear(void);

#endif
