/*
 * compare.c - result sets and the compare thread; see compare.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "compare.h"
#include "config.h"
#include "log.h"
#include "luabridge.h"
#include "verdict.h"
#include "xalloc.h"

struct slot {
	char	*name;
	char	*upstream;
	char	*json;		/* NULL: see error */
	size_t	 len;
	char	*error;
	double	 ms;
};

struct cmp_set {
	struct config		*cfg;
	char			*qid;
	char			*from;
	size_t			 size;
	struct slot		*slots;
	size_t			 nslots;
	atomic_size_t		 missing;	/* reports still to come */
	STAILQ_ENTRY(cmp_set)	 entry;
};

STAILQ_HEAD(set_queue, cmp_set);

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct set_queue queue;
	int		 queued;
	int		 running;
	int		 stopping;
	pthread_t	 thread;
	/* counters */
	atomic_ulong	 run, failed, dropped;
} C = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.queue = STAILQ_HEAD_INITIALIZER(C.queue),
};

struct cmp_set *
cmp_set_new(struct config *cfg, const char *qid, const char *from,
    size_t size, size_t nslots)
{
	struct cmp_set *s = xcalloc(1, sizeof(*s));

	s->cfg = config_acquire(cfg);
	s->qid = xstrdup(qid);
	s->from = xstrdup(from != NULL ? from : "");
	s->size = size;
	s->slots = xcalloc(nslots, sizeof(*s->slots));
	s->nslots = nslots;
	atomic_init(&s->missing, nslots);
	return s;
}

void
cmp_set_name(struct cmp_set *s, size_t i, const char *name)
{
	free(s->slots[i].name);
	s->slots[i].name = xstrdup(name);
}

/* set_free - everything the set holds. */
static void
set_free(struct cmp_set *s)
{
	for (size_t i = 0; i < s->nslots; i++) {
		free(s->slots[i].name);
		free(s->slots[i].upstream);
		free(s->slots[i].json);
		free(s->slots[i].error);
	}
	free(s->slots);
	free(s->qid);
	free(s->from);
	config_release(s->cfg);
	free(s);
}

/* set_queue - to the compare thread, or dropped if it is full or gone. */
static void
set_queue(struct cmp_set *s)
{
	pthread_mutex_lock(&C.lock);
	if (C.running && !C.stopping &&
	    C.queued < s->cfg->compare_max_queue) {
		STAILQ_INSERT_TAIL(&C.queue, s, entry);
		C.queued++;
		pthread_cond_signal(&C.cond);
		s = NULL;
	}
	pthread_mutex_unlock(&C.lock);
	if (s != NULL) {
		atomic_fetch_add(&C.dropped, 1);
		log_debug("%s: compare: queue full, results dropped", s->qid);
		set_free(s);
	}
}

void
cmp_set_report(struct cmp_set *s, size_t i, const char *upstream,
    const char *json, size_t len, const char *error, double ms)
{
	struct slot *sl = &s->slots[i];

	sl->upstream = upstream != NULL ? xstrdup(upstream) : NULL;
	if (json != NULL) {
		sl->json = xmalloc(len + 1);
		memcpy(sl->json, json, len);
		sl->json[len] = '\0';
		sl->len = len;
	} else {
		sl->error = xstrdup(error != NULL ? error : "no result");
	}
	sl->ms = ms;
	/* The release orders this slot's writes before the last reporter's
	 * reads; the last reporter owns the set. */
	if (atomic_fetch_sub_explicit(&s->missing, 1,
	    memory_order_acq_rel) == 1)
		set_queue(s);
}

/* ---- the compare thread -------------------------------------------- */

/*
 * box_for - the box of cfg's script, built when the config changed.  A
 * script that does not load is logged once per config; its sets are
 * counted as failed until a reload brings a config that loads.
 */
static struct lbox *
box_for(struct config *cfg, struct config **box_cfg, struct lbox **box)
{
	struct lbox_limits lim = {
		(unsigned long)cfg->compare_max_instructions,
		cfg->compare_timeout, cfg->compare_max_memory
	};
	char err[512];

	/* Same config: the same box, or the same failure (said once). */
	if (*box_cfg == cfg)
		return *box;
	lbox_free(*box);
	config_release(*box_cfg);
	*box_cfg = config_acquire(cfg);
	if ((*box = lbox_new(cfg->compare_script, &lim, err, sizeof(err))) ==
	    NULL)
		log_warnx("compare: script cannot be loaded: %s", err);
	return *box;
}

/* run_set - parse every result, call the script, log how it went. */
static void
run_set(struct cmp_set *s, struct lbox *b)
{
	struct cmp_result *r = xcalloc(s->nslots, sizeof(*r));
	struct vsummary *v = xcalloc(s->nslots, sizeof(*v));
	struct cmp_msg m = { s->qid, s->from, s->size };
	char err[512];

	for (size_t i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		char perr[256];

		r[i].name = sl->name;
		r[i].upstream = sl->upstream;
		r[i].ms = sl->ms;
		if (sl->json != NULL && verdict_summary(sl->json, sl->len,
		    &v[i], perr, sizeof(perr)) == 0) {
			r[i].v = &v[i];
			continue;
		}
		/* An unparsable reply is that scanner's error for the script. */
		if (sl->json != NULL) {
			free(sl->error);
			sl->error = xstrdup(perr);
		}
		r[i].error = sl->error;
	}
	atomic_fetch_add(&C.run, 1);
	if (lbox_compare(b, &m, r, s->nslots, err, sizeof(err)) == -1) {
		atomic_fetch_add(&C.failed, 1);
		log_warnx("%s: compare: script failed: %s", s->qid, err);
	}
	for (size_t i = 0; i < s->nslots; i++)
		vsummary_free(&v[i]);
	free(v);
	free(r);
}

static void *
compare_main(void *arg)
{
	struct config *box_cfg = NULL;
	struct lbox *box = NULL;
	struct cmp_set *s;

	pthread_setname_np(pthread_self(), "sm-compare");

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&C.lock);
		while (STAILQ_EMPTY(&C.queue) && !C.stopping)
			pthread_cond_wait(&C.cond, &C.lock);
		if (C.stopping) {
			pthread_mutex_unlock(&C.lock);
			break;
		}
		s = STAILQ_FIRST(&C.queue);
		STAILQ_REMOVE_HEAD(&C.queue, entry);
		C.queued--;
		pthread_mutex_unlock(&C.lock);
		if (box_for(s->cfg, &box_cfg, &box) != NULL)
			run_set(s, box);
		else
			atomic_fetch_add(&C.failed, 1);
		set_free(s);
	}
	lbox_free(box);
	config_release(box_cfg);
	return NULL;
}

int
compare_start(void)
{
	pthread_mutex_lock(&C.lock);
	C.stopping = 0;
	if (pthread_create(&C.thread, NULL, compare_main, NULL) != 0) {
		pthread_mutex_unlock(&C.lock);
		return -1;
	}
	C.running = 1;
	pthread_mutex_unlock(&C.lock);
	return 0;
}

void
compare_stop(void)
{
	struct cmp_set *s;
	int dropped = 0;

	pthread_mutex_lock(&C.lock);
	if (!C.running) {
		pthread_mutex_unlock(&C.lock);
		return;
	}
	C.stopping = 1;
	pthread_cond_signal(&C.cond);
	pthread_mutex_unlock(&C.lock);
	pthread_join(C.thread, NULL);
	pthread_mutex_lock(&C.lock);
	while ((s = STAILQ_FIRST(&C.queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&C.queue, entry);
		set_free(s);
		dropped++;
	}
	C.queued = 0;
	C.running = 0;
	pthread_mutex_unlock(&C.lock);
	if (dropped > 0)
		log_info("compare: %d result sets not compared at shutdown",
		    dropped);
}

void
compare_log_stats(void)
{
	log_info("compare: runs=%lu failed=%lu dropped=%lu",
	    atomic_load(&C.run), atomic_load(&C.failed),
	    atomic_load(&C.dropped));
}
