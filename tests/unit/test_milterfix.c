/*
 * test_milterfix.c - a destroy of a mutex or condition variable in static
 * storage (as libmilter's are) is skipped, so the object stays usable for
 * the workers still running; one on the heap is destroyed as asked (glibc
 * then refuses to lock it, which is how the race shows).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "milterfix.h"

static pthread_mutex_t static_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t static_cv = PTHREAD_COND_INITIALIZER;
static int static_int;

static void
test_static_or_not(void **state)
{
	int local = 0;
	int *heap = malloc(sizeof(*heap));

	(void)state;
	assert_true(milterfix_is_static(&static_mu));
	assert_true(milterfix_is_static(&static_int));
	assert_false(milterfix_is_static(&local));
	assert_false(milterfix_is_static(heap));
	assert_false(milterfix_is_static(&errno));	/* thread-local, libc */
	free(heap);
}

static void
test_static_survives(void **state)
{
	struct timespec soon;

	(void)state;
	/* The linker sends these to the wrappers (--wrap). */
	assert_int_equal(pthread_mutex_destroy(&static_mu), 0);
	assert_int_equal(pthread_cond_destroy(&static_cv), 0);
	/* ...and both still work, as libmilter's workers need. */
	assert_int_equal(pthread_mutex_lock(&static_mu), 0);
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 1000000;
	if (soon.tv_nsec >= 1000000000L) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000L;
	}
	assert_int_equal(pthread_cond_timedwait(&static_cv, &static_mu,
	    &soon), ETIMEDOUT);
	assert_int_equal(pthread_mutex_unlock(&static_mu), 0);
}

static void
test_heap_destroyed(void **state)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	(void)state;
	assert_int_equal(pthread_mutex_init(m, NULL), 0);
	assert_int_equal(pthread_mutex_destroy(m), 0);
	/* glibc marks a destroyed mutex invalid: the lock is refused. */
	assert_int_equal(pthread_mutex_lock(m), EINVAL);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_or_not),
		cmocka_unit_test(test_static_survives),
		cmocka_unit_test(test_heap_destroyed),
	};

	return cmocka_run_group_tests_name("milterfix", tests, NULL, NULL);
}
