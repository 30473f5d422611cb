/*
 * mworkers.c - libmilter's session workers keep their threads; see
 * mworkers.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "milterio.h"
#include "mworkers.h"

int	__real_pthread_create(pthread_t *, const pthread_attr_t *,
	    void *(*)(void *), void *);
int	__wrap_pthread_create(pthread_t *, const pthread_attr_t *,
	    void *(*)(void *), void *);
int	__real_pthread_detach(pthread_t);
int	__wrap_pthread_detach(pthread_t);

typedef void	*(*start_fn)(void *);

/* Start functions seen to detach their own thread: libmilter's worker
 * and pool controller; a few slots are plenty. */
#define LEARNED_MAX	4

/* A thread that runs start functions, again while they detach it. */
struct worker {
	pthread_t	 tid;
	pthread_cond_t	 cv;		/* work handed over, under W.mu */
	start_fn	 fn;
	void		*arg;
	bool		 has_work;
	struct worker	*next;		/* in W.idle */
};

static struct {
	pthread_mutex_t		 mu;
	struct worker		*idle;		/* parked, last parked first */
	int			 nidle;
	_Atomic(start_fn)	 learned[LEARNED_MAX];
	atomic_ulong		 started, reused;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* This thread detached itself (and so can never be joined). */
static _Thread_local bool self_detached;

/* learned - fn detached its thread before: a parked thread may run it. */
static bool
learned(start_fn fn)
{
	for (int i = 0; i < LEARNED_MAX; i++)
		if (atomic_load(&W.learned[i]) == fn)
			return true;
	return false;
}

/* learn - remember fn as one that detaches its thread. */
static void
learn(start_fn fn)
{
	for (int i = 0; i < LEARNED_MAX && !learned(fn); i++) {
		start_fn none = NULL;

		if (atomic_compare_exchange_strong(&W.learned[i], &none, fn))
			return;
	}
}

/*
 * park - after a detached thread's function returned: wait for the next
 * start handed over (true), or end the thread (false) when enough wait
 * already or none came within MWORKERS_IDLE_S.
 */
static bool
park(struct worker *w)
{
	struct timespec until;
	bool got;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += MWORKERS_IDLE_S;
	pthread_mutex_lock(&W.mu);
	if (W.nidle >= MWORKERS_PARKED) {
		pthread_mutex_unlock(&W.mu);
		return false;
	}
	w->has_work = false;
	w->next = W.idle;
	W.idle = w;
	W.nidle++;
	while (!w->has_work &&
	    pthread_cond_timedwait(&w->cv, &W.mu, &until) != ETIMEDOUT)
		;
	if (!(got = w->has_work)) {
		/* Timed out, still on the list: take it off. */
		struct worker **p = &W.idle;

		while (*p != w)
			p = &(*p)->next;
		*p = w->next;
		W.nidle--;
	}
	pthread_mutex_unlock(&W.mu);
	return got;
}

/* worker_free - w, once its thread is done with it. */
static void
worker_free(struct worker *w)
{
	pthread_cond_destroy(&w->cv);
	free(w);
}

/*
 * run - the thread.  A function that leaves its thread joinable returns
 * as it would have (its result to pthread_join); one that detached it
 * is followed by the next start handed over, until none comes.
 */
static void *
run(void *arg)
{
	struct worker *w = arg;
	void *r;

	w->tid = pthread_self();
	for (;;) {
		r = w->fn(w->arg);
		if (!self_detached)
			break;
		learn(w->fn);
		if (!park(w))
			break;
	}
	worker_free(w);
	return r;
}

/* hand - give fn(arg) to a parked thread; false if none waits. */
static bool
hand(pthread_t *t, start_fn fn, void *arg)
{
	struct worker *w;

	pthread_mutex_lock(&W.mu);
	if ((w = W.idle) != NULL) {
		W.idle = w->next;
		W.nidle--;
		w->fn = fn;
		w->arg = arg;
		w->has_work = true;
		*t = w->tid;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&W.mu);
	if (w != NULL)
		atomic_fetch_add_explicit(&W.reused, 1, memory_order_relaxed);
	return w != NULL;
}

/*
 * start - a new thread for fn(arg), under run.  Without memory for run's
 * state the thread starts plainly, as it would have without mworkers:
 * keeping threads must never cost a session its worker.
 */
static int
start(pthread_t *t, start_fn fn, void *arg)
{
	pthread_condattr_t ca;
	struct worker *w = calloc(1, sizeof(*w));
	bool cv = false;
	int rc;

	/* The monotonic clock: a change of the wall clock cannot stretch a
	 * parked thread's wait. */
	if (w != NULL && pthread_condattr_init(&ca) == 0) {
		(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		cv = pthread_cond_init(&w->cv, &ca) == 0;
		pthread_condattr_destroy(&ca);
	}
	if (!cv) {
		free(w);
		return __real_pthread_create(t, NULL, fn, arg);
	}
	w->fn = fn;
	w->arg = arg;
	if ((rc = __real_pthread_create(t, NULL, run, w)) != 0) {
		worker_free(w);
		return rc;
	}
	atomic_fetch_add_explicit(&W.started, 1, memory_order_relaxed);
	return 0;
}

int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
    start_fn fn, void *arg)
{
	milterio_thread_start(arg);
	/* Threads with attributes of their own are the caller's business. */
	if (attr != NULL)
		return __real_pthread_create(t, attr, fn, arg);
	if (learned(fn) && hand(t, fn, arg))
		return 0;
	return start(t, fn, arg);
}

/*
 * __wrap_pthread_detach - a thread that detaches itself is marked so
 * (run then keeps it); once it is detached, doing it again answers 0 (a
 * reused thread's next function detaches it first thing, as a new
 * thread's would).
 */
int
__wrap_pthread_detach(pthread_t t)
{
	int rc;

	if (!pthread_equal(t, pthread_self()))
		return __real_pthread_detach(t);
	if (self_detached)
		return 0;
	if ((rc = __real_pthread_detach(t)) == 0)
		self_detached = true;
	return rc;
}

void
mworkers_stats(struct mworkers_stats *out)
{
	out->started = atomic_load(&W.started);
	out->reused = atomic_load(&W.reused);
	pthread_mutex_lock(&W.mu);
	out->parked = (unsigned long)W.nidle;
	pthread_mutex_unlock(&W.mu);
}
