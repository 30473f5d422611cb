/*
 * test_mworkers - threads whose function detached them are kept and run
 * the next start of that function; joinable ones end as they would have
 * (mworkers.h).  This binary is linked with the daemon's --wrap flags, so
 * its own pthread_create and pthread_detach calls go through mworkers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "mworkers.h"

/* What the detached functions report, under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;
static pthread_t ran_on[16];
static int detach_rc[16];

/* detached - like libmilter's worker: detach first, then work. */
static void *
detached(void *arg)
{
	int i = (int)(intptr_t)arg;
	int rc = pthread_detach(pthread_self());

	pthread_mutex_lock(&mu);
	ran_on[i] = pthread_self();
	detach_rc[i] = rc;
	done++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* wait_done - until n detached runs have reported (5 s at most). */
static void
wait_done(int n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&mu);
	while (done < n)
		if (pthread_cond_timedwait(&cv, &mu, &until) != 0)
			break;
	pthread_mutex_unlock(&mu);
	assert_int_equal(done, n);
}

/* wait_parked - until n threads are parked (5 s at most). */
static void
wait_parked(unsigned long n)
{
	struct mworkers_stats st;

	for (int i = 0; i < 500; i++) {
		mworkers_stats(&st);
		if (st.parked >= n)
			return;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	fail_msg("%lu threads parked, want %lu", st.parked, n);
}

static void *
joinable(void *arg)
{
	return (void *)((intptr_t)arg * 2);
}

/* A joinable thread ends with its result; it is never parked. */
static void
test_joinable(void **state)
{
	struct mworkers_stats before, after;
	pthread_t t;
	void *r;

	(void)state;
	mworkers_stats(&before);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(pthread_create(&t, NULL, joinable,
		    (void *)(intptr_t)i), 0);
		assert_int_equal(pthread_join(t, &r), 0);
		assert_int_equal((intptr_t)r, i * 2);
	}
	mworkers_stats(&after);
	assert_int_equal(after.started - before.started, 3);
	assert_int_equal(after.reused, before.reused);
	assert_int_equal(after.parked, before.parked);
}

/*
 * A thread its function detached parks when the function returns, and
 * the next start of that function runs on it; the function's own detach
 * answers 0 there too.
 */
static void
test_reuse(void **state)
{
	struct mworkers_stats before, after;
	pthread_t t;

	(void)state;
	done = 0;
	mworkers_stats(&before);
	assert_int_equal(pthread_create(&t, NULL, detached, (void *)0), 0);
	wait_done(1);
	wait_parked(before.parked + 1);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(pthread_create(&t, NULL, detached,
		    (void *)(intptr_t)i), 0);
		wait_done(i + 1);
		wait_parked(before.parked + 1);
		assert_true(pthread_equal(ran_on[i], ran_on[0]));
		assert_int_equal(detach_rc[i], 0);
	}
	mworkers_stats(&after);
	assert_int_equal(after.started - before.started, 1);
	assert_int_equal(after.reused - before.reused, 3);
}

/* Starts that come together get threads of their own, and all run. */
static void
test_together(void **state)
{
	pthread_t t;

	(void)state;
	done = 0;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t, NULL, detached,
		    (void *)(intptr_t)i), 0);
	wait_done(8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(detach_rc[i], 0);
}

/* A start with attributes of its own is left alone. */
static void
test_attr(void **state)
{
	struct mworkers_stats before, after;
	pthread_attr_t a;
	pthread_t t;
	void *r;

	(void)state;
	mworkers_stats(&before);
	assert_int_equal(pthread_attr_init(&a), 0);
	assert_int_equal(pthread_create(&t, &a, joinable, (void *)5), 0);
	pthread_attr_destroy(&a);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_int_equal((intptr_t)r, 10);
	mworkers_stats(&after);
	assert_int_equal(after.started, before.started);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joinable),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_together),
		cmocka_unit_test(test_attr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
