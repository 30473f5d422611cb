/*
 * test_scan - the hand-back of a scan job from the loop thread to the milter
 * thread that waits for it (scan.c: a futex on the job's state word).  A
 * second thread plays the loop's part with scan_complete, exactly as
 * loop.c does after a transfer: the test takes the loop's reference the
 * way scan_submit would, without a loop or a socket.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "blob.h"
#include "config.h"
#include "monotime.h"
#include "scan_internal.h"

static struct config *cfg;

static int
setup(void **state)
{
	char err[256];

	(void)state;
	cfg = config_load_string("upstreams: { default: { hosts = "
	    "\"127.0.0.1:9\"; }; };", "t", err, sizeof(err));
	return cfg == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	config_release(cfg);
	return 0;
}

/* job - a job as scan_submit leaves it: queued, waiter and loop hold it. */
static struct scan_job *
job(double timeout)
{
	struct strlist hdrs = { 0 };
	struct blob *b = blob_new(1 << 20, "/tmp");
	struct scan_job *j;

	assert_non_null(b);
	j = scan_job_new("Q1", &hdrs, b, cfg, config_group(cfg, "default"),
	    NULL, timeout);
	blob_unref(b);
	assert_int_equal(j->wire_failed, 0);
	atomic_store(&j->refs, 2);
	return j;
}

struct late {
	struct scan_job	*j;
	long		 after_ms;
	enum scan_status st;
};

static void *
complete_later(void *arg)
{
	struct late *l = arg;
	struct timespec t = { l->after_ms / 1000, (l->after_ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
	buf_append(&l->j->reply, "{}", 2);
	scan_complete(l->j, l->st);
	return NULL;
}

static int progress_calls;

static void
progress(void *arg)
{
	(void)arg;
	progress_calls++;
}

/* Done before the wait starts: no sleep, the status and reply are there. */
static void
test_done_first(void **state)
{
	struct scan_job *j = job(10);

	(void)state;
	scan_complete(j, SCAN_ERR_HTTP);
	assert_int_equal(scan_wait(&j, progress, NULL), SCAN_ERR_HTTP);
	assert_non_null(j);
	scan_job_free(j);
}

/*
 * Done while the waiter sleeps: it wakes at once, not when its 5 s slice
 * ends (a lost wake-up would show as a wait of 5 s and a progress call),
 * and it sees what the loop wrote before completing.
 */
static void
test_wakes_sleeper(void **state)
{
	struct late l = { job(10), 200, SCAN_OK };
	struct timespec t0;
	pthread_t th;
	size_t len;
	double took;

	(void)state;
	progress_calls = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, complete_later, &l), 0);
	assert_int_equal(scan_wait(&l.j, progress, NULL), SCAN_OK);
	took = ts_ms_since(&t0);
	pthread_join(th, NULL);
	assert_true(took >= 150 && took < 2000);
	assert_int_equal(progress_calls, 0);
	assert_string_equal(scan_job_reply(l.j, &len), "{}");
	scan_job_free(l.j);
}

/* Many hand-backs in a row, with the completion racing the wait. */
static void
test_many(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		struct late l = { job(10), i % 3, SCAN_OK };
		pthread_t th;

		assert_int_equal(pthread_create(&th, NULL, complete_later,
		    &l), 0);
		assert_int_equal(scan_wait(&l.j, NULL, NULL), SCAN_OK);
		pthread_join(th, NULL);
		scan_job_free(l.j);
	}
}

/*
 * The loop never answers in time: the waiter gives up after the job's
 * deadline and its grace (3 s), and the job stays the loop's to finish.
 */
static void
test_gives_up(void **state)
{
	struct late l = { job(0.05), 3600, SCAN_OK };
	struct scan_job *mine = l.j;	/* the waiter's pointer */
	struct timespec t0;
	pthread_t th;
	double took;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, complete_later, &l), 0);
	assert_int_equal(scan_wait(&mine, progress, NULL), SCAN_ERR_TIMEOUT);
	took = ts_ms_since(&t0);
	assert_null(mine);
	assert_true(took >= 2900 && took < 3500);
	/* The waiter let go of its reference; the loop's is the last. */
	assert_int_equal(atomic_load(&l.j->refs), 1);
	/* The late completion frees the job: no leak or invalid access
	 * under valgrind or SANITIZER=address, when run that way by hand. */
	pthread_join(th, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_done_first),
		cmocka_unit_test(test_wakes_sleeper),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_gives_up),
	};

	return cmocka_run_group_tests_name("scan", tests, setup, teardown);
}
