/*
 * upstream.c - balancer and health; see upstream.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "upstream.h"
#include "xalloc.h"

struct upstream {
	char			*label;
	struct host		 host;		/* own copy of the strings */
	struct ups_params	 params;	/* of the last group that set it */
	int			 errors;	/* within the window */
	double			 first_error;	/* start of the window */
	int			 dead;
	double			 dead_until;
	struct ups_stats	 stats;
	LIST_ENTRY(upstream)	 entry;
};

struct member {
	struct upstream	*u;
	int		 weight;
	long		 current;	/* smooth weighted round robin */
};

struct ups_group {
	enum hostlist_strategy	 strategy;
	struct member		*members;
	int			*ok;		/* upstream_select's scratch */
	size_t			 n;
	size_t			 cursor;	/* sequential */
};

static LIST_HEAD(, upstream) registry = LIST_HEAD_INITIALIZER(registry);

/* default_rng - drand48; the loop thread is its only user. */
static double
default_rng(void)
{
	return drand48();
}

static double (*rng)(void) = default_rng;

void
upstream_set_rng(double (*fn)(void))
{
	rng = fn != NULL ? fn : default_rng;
}

/* registry_get - the upstream with this host's label, made if new. */
static struct upstream *
registry_get(const struct host *h, const struct ups_params *p)
{
	struct upstream *u;

	LIST_FOREACH(u, &registry, entry)
		if (strcmp(u->label, h->label) == 0)
			break;
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->label = xstrdup(h->label);
		u->host = *h;
		u->host.name = xstrdup(h->name);
		u->host.label = u->label;
		LIST_INSERT_HEAD(&registry, u, entry);
	}
	u->params = *p;
	return u;
}

void
upstream_registry_clear(void)
{
	struct upstream *u;

	while ((u = LIST_FIRST(&registry)) != NULL) {
		LIST_REMOVE(u, entry);
		free(u->host.name);
		free(u->label);
		free(u);
	}
}

struct ups_group *
ups_group_new(const struct hostlist *hl, const struct ups_params *p)
{
	struct ups_group *g = xcalloc(1, sizeof(*g));

	g->strategy = hl->strategy;
	g->n = hl->nhosts;
	g->members = xcalloc(g->n, sizeof(*g->members));
	/* Made once here: a pick is per message, the group per reload. */
	g->ok = xcalloc(g->n, sizeof(*g->ok));
	for (size_t i = 0; i < g->n; i++) {
		g->members[i].u = registry_get(&hl->hosts[i], p);
		g->members[i].weight = hl->hosts[i].weight;
	}
	return g;
}

void
ups_group_free(struct ups_group *g)
{
	if (g == NULL)
		return;
	free(g->members);
	free(g->ok);
	free(g);
}

size_t
ups_group_size(const struct ups_group *g)
{
	return g->n;
}

struct upstream *
ups_group_member(const struct ups_group *g, size_t i)
{
	return i < g->n ? g->members[i].u : NULL;
}

int
upstream_alive(const struct upstream *u, double now)
{
	return !u->dead || now >= u->dead_until;
}

/* refresh - end a death whose time is up, forget old errors. */
static void
refresh(struct upstream *u, double now)
{
	if (u->dead && now >= u->dead_until) {
		u->dead = 0;
		u->errors = 0;
	}
	if (u->errors > 0 && now - u->first_error > u->params.error_time)
		u->errors = 0;
}

/* usable - alive and not yet tried for this message. */
static int
usable(struct upstream *u, double now, struct upstream *const *tried,
    size_t ntried)
{
	refresh(u, now);
	if (!upstream_alive(u, now))
		return 0;
	for (size_t i = 0; i < ntried; i++)
		if (tried[i] == u)
			return 0;
	return 1;
}

/* pick_rr - smooth weighted round robin over the usable members. */
static struct member *
pick_rr(struct ups_group *g, const int *ok)
{
	struct member *best = NULL;
	long total = 0;

	for (size_t i = 0; i < g->n; i++) {
		if (!ok[i])
			continue;
		g->members[i].current += g->members[i].weight;
		total += g->members[i].weight;
		if (best == NULL || g->members[i].current > best->current)
			best = &g->members[i];
	}
	if (best != NULL)
		best->current -= total;
	return best;
}

/* pick_random - weighted random over the usable members. */
static struct member *
pick_random(struct ups_group *g, const int *ok)
{
	long total = 0;
	double r;

	for (size_t i = 0; i < g->n; i++)
		if (ok[i])
			total += g->members[i].weight;
	if (total == 0)
		return NULL;
	r = rng() * (double)total;
	for (size_t i = 0; i < g->n; i++) {
		if (!ok[i])
			continue;
		r -= g->members[i].weight;
		if (r < 0)
			return &g->members[i];
	}
	for (size_t i = g->n; i-- > 0;)
		if (ok[i])
			return &g->members[i];
	return NULL;
}

/* fnv1a - 64-bit FNV-1a of a string, then of a second one. */
static uint64_t
fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	/* Final mix (splitmix64) so that close keys spread. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/*
 * pick_hash - weighted rendezvous hashing: each member scores
 * -weight / ln(u) with u uniform from hash(key, member); the highest wins.
 */
static struct member *
pick_hash(struct ups_group *g, const int *ok, const char *key)
{
	struct member *best = NULL;
	double best_score = 0;

	for (size_t i = 0; i < g->n; i++) {
		uint64_t h;
		double u, score;

		if (!ok[i] || g->members[i].weight == 0)
			continue;
		h = fnv1a(key, g->members[i].u->label);
		u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
		score = -(double)g->members[i].weight / log(u);
		if (best == NULL || score > best_score) {
			best = &g->members[i];
			best_score = score;
		}
	}
	return best;
}

/* pick_ordered - the first usable member at or after start, in order. */
static struct member *
pick_ordered(struct ups_group *g, const int *ok, size_t start)
{
	for (size_t k = 0; k < g->n; k++) {
		size_t i = (start + k) % g->n;

		if (ok[i])
			return &g->members[i];
	}
	return NULL;
}

struct upstream *
upstream_select(struct ups_group *g, double now,
    struct upstream *const *tried, size_t ntried, const char *key)
{
	int *ok = g->ok;
	struct member *m = NULL;
	size_t nok = 0;

	for (size_t i = 0; i < g->n; i++)
		nok += ok[i] = usable(g->members[i].u, now, tried, ntried);
	if (nok > 0) {
		switch (g->strategy) {
		case HOSTLIST_MASTER_SLAVE:
			m = pick_ordered(g, ok, 0);
			break;
		case HOSTLIST_SEQUENTIAL:
			/* The next message, or a retry, takes the next one. */
			m = pick_ordered(g, ok, g->cursor);
			if (m != NULL)
				g->cursor = (size_t)(m - g->members) + 1;
			break;
		case HOSTLIST_RANDOM:
			m = pick_random(g, ok);
			break;
		case HOSTLIST_HASH:
			m = key != NULL && *key != '\0' ?
			    pick_hash(g, ok, key) : pick_random(g, ok);
			break;
		default:
			m = pick_rr(g, ok);
		}
		/* Weight 0 everywhere still means "usable". */
		if (m == NULL)
			m = pick_ordered(g, ok, 0);
	}
	if (g->cursor >= g->n && g->n > 0)
		g->cursor %= g->n;
	return m != NULL ? m->u : NULL;
}

void
upstream_started(struct upstream *u, double now)
{
	(void)now;
	u->stats.requests++;
	u->stats.inflight++;
}

void
upstream_ok(struct upstream *u, double now, double latency_ms)
{
	(void)now;
	u->stats.inflight--;
	u->stats.ok++;
	u->stats.latency_sum_ms += latency_ms;
	if (latency_ms > u->stats.latency_max_ms)
		u->stats.latency_max_ms = latency_ms;
	u->errors = 0;
}

/* count_error - steps 1 and 2 of the health rules; 1 if now dead. */
static int
count_error(struct upstream *u, double now)
{
	refresh(u, now);
	if (u->dead)
		return 0;
	if (u->errors == 0)
		u->first_error = now;
	if (++u->errors < u->params.max_errors)
		return 0;
	u->dead = 1;
	u->dead_until = now + u->params.revive_time;
	u->errors = 0;
	return 1;
}

int
upstream_fail(struct upstream *u, double now)
{
	u->stats.inflight--;
	u->stats.errors++;
	return count_error(u, now);
}

void
upstream_ping_ok(struct upstream *u, double now)
{
	(void)now;
	u->stats.pings++;
	u->dead = 0;
	u->errors = 0;
}

int
upstream_ping_fail(struct upstream *u, double now)
{
	u->stats.pings++;
	u->stats.ping_errors++;
	return count_error(u, now);
}

const char *
upstream_label(const struct upstream *u)
{
	return u->label;
}

const struct host *
upstream_host(const struct upstream *u)
{
	return &u->host;
}

const struct ups_stats *
upstream_stats(const struct upstream *u)
{
	return &u->stats;
}

void
upstream_state_text(const struct upstream *u, double now, char *buf,
    size_t len)
{
	if (!upstream_alive(u, now))
		snprintf(buf, len, "dead %.0fs", u->dead_until - now);
	else if (u->errors > 0 && now - u->first_error <= u->params.error_time)
		snprintf(buf, len, "alive, %d errors", u->errors);
	else
		snprintf(buf, len, "alive");
}
