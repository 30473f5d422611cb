/*
 * mirror.c - sampling and fire-and-forget copies; see mirror.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob.h"
#include "compare.h"
#include "config.h"
#include "log.h"
#include "mirror.h"
#include "scan.h"
#include "xalloc.h"

#define MAX_MIRRORS	64

/* Counters per mirror name; they outlive reloads. */
struct mstat {
	char		 name[64];
	atomic_int	 inflight;
	atomic_ulong	 fired, dropped, ok, failed, retried;
};

static struct mstat	 stats[MAX_MIRRORS];
static int		 nstats;
static pthread_mutex_t	 stats_lock = PTHREAD_MUTEX_INITIALIZER;

/* One copy in flight. */
struct mcopy {
	struct mstat	*st;
	struct cmp_set	*set;		/* may be NULL */
	size_t		 slot;
};

int
mirror_draw(double probability, double u)
{
	return u < probability;
}

/* uniform - [0, 1) from a per-thread xorshift64*: no lock, no libc state. */
static double
uniform(void)
{
	static _Thread_local uint64_t x;

	if (x == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)(uintptr_t)&x;
		if (x == 0)
			x = 0x9e3779b97f4a7c15ULL;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return ((x * 0x2545f4914f6cdd1dULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* stat_of - the counters of mirror name, made on first use. */
static struct mstat *
stat_of(const char *name)
{
	struct mstat *st = NULL;

	pthread_mutex_lock(&stats_lock);
	for (int i = 0; i < nstats && st == NULL; i++)
		if (strcmp(stats[i].name, name) == 0)
			st = &stats[i];
	if (st == NULL && nstats < MAX_MIRRORS) {
		st = &stats[nstats++];
		snprintf(st->name, sizeof(st->name), "%s", name);
	}
	pthread_mutex_unlock(&stats_lock);
	return st;
}

/* copy_done - a copy completed (loop thread, or the caller if refused). */
static void
copy_done(struct scan_job *j, void *arg)
{
	struct mcopy *m = arg;
	enum scan_status st = scan_job_status(j);
	const char *reply;
	size_t len;

	if (st == SCAN_OK)
		atomic_fetch_add(&m->st->ok, 1);
	else
		atomic_fetch_add(&m->st->failed, 1);
	/* A copy has no line of its own (the message has its one summary
	 * line): copies that needed a retry are counted instead. */
	if (scan_job_retries(j)[0] != '\0')
		atomic_fetch_add(&m->st->retried, 1);
	if (m->set != NULL) {
		reply = scan_job_reply(j, &len);
		cmp_set_report(m->set, m->slot, st == SCAN_OK ||
		    scan_job_attempts(j) > 0 ? scan_job_upstream(j) : NULL,
		    st == SCAN_OK ? reply : NULL, len,
		    st == SCAN_OK ? NULL : scan_job_error(j),
		    scan_job_elapsed_ms(j));
	}
	atomic_fetch_sub(&m->st->inflight, 1);
	free(m);
}

/* take_slot - reserve an in-flight place for mirror st; 0 if full. */
static int
take_slot(struct mstat *st, int max)
{
	if (atomic_fetch_add(&st->inflight, 1) >= max) {
		atomic_fetch_sub(&st->inflight, 1);
		return 0;
	}
	return 1;
}

struct cmp_set *
mirror_fire(struct config *cfg, const char *qid, const struct strlist *hdrs,
    struct blob *blob, const char *ip, const char *from)
{
	const struct group_conf *win[MAX_MIRRORS];
	struct mstat *st[MAX_MIRRORS];
	int dropped[MAX_MIRRORS];
	struct cmp_set *set = NULL;
	size_t n = 0;

	/* Draw first: the set needs to know how many results to expect. */
	for (size_t i = 0; i < cfg->nmirrors && n < MAX_MIRRORS; i++) {
		const struct group_conf *g = &cfg->mirrors[i];

		if (!mirror_draw(g->probability, uniform()) ||
		    (st[n] = stat_of(g->mirror_name)) == NULL)
			continue;
		atomic_fetch_add(&st[n]->fired, 1);
		dropped[n] = !take_slot(st[n], g->max_inflight);
		if (dropped[n])
			atomic_fetch_add(&st[n]->dropped, 1);
		win[n++] = g;
	}
	if (n == 0)
		return NULL;
	if (cfg->compare_script[0] != '\0') {
		set = cmp_set_new(cfg, qid, from, blob_size(blob), n + 1);
		cmp_set_name(set, 0, "main");
		for (size_t i = 0; i < n; i++)
			cmp_set_name(set, i + 1, win[i]->mirror_name);
	}
	for (size_t i = 0; i < n; i++) {
		struct strlist h = { NULL, 0 };
		struct mcopy *m;
		struct scan_job *j;
		char why[128];

		if (dropped[i]) {
			snprintf(why, sizeof(why), "not sent: %d copies already "
			    "in flight", win[i]->max_inflight);
			log_debug("%s: mirror %s: %s", qid, win[i]->mirror_name,
			    why);
			if (set != NULL)
				cmp_set_report(set, i + 1, NULL, NULL, 0, why, 0);
			continue;
		}
		m = xcalloc(1, sizeof(*m));
		m->st = st[i];
		m->set = set;
		m->slot = i + 1;
		strlist_copy(&h, hdrs);
		j = scan_job_new(qid, &h, blob, cfg, win[i],
		    group_hash_key(win[i], ip, from),
		    win[i]->timeout * (win[i]->max_retries + 1));
		scan_submit_detached(j, copy_done, m);
	}
	return set;
}

void
mirror_log_stats(void)
{
	pthread_mutex_lock(&stats_lock);
	for (int i = 0; i < nstats; i++)
		log_info("mirror %s: fired=%lu dropped=%lu ok=%lu failed=%lu "
		    "retried=%lu inflight=%d", stats[i].name,
		    atomic_load(&stats[i].fired),
		    atomic_load(&stats[i].dropped), atomic_load(&stats[i].ok),
		    atomic_load(&stats[i].failed),
		    atomic_load(&stats[i].retried),
		    atomic_load(&stats[i].inflight));
	pthread_mutex_unlock(&stats_lock);
}
