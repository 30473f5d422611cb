/*
 * test_linger.c - held closes: by the peer's event, by the time limit,
 * at the table's limit, and a descriptor number that comes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "linger.h"

/* open_fd - a fresh descriptor (one end of a pipe; the other is closed). */
static int
open_fd(void)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	close(p[1]);
	return p[0];
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
test_event_closes(void **state)
{
	struct linger_stats st;
	int fd = open_fd();

	(void)state;
	assert_true(linger_init());
	linger_stats(&st);
	assert_true(linger_hold(fd, 100.0));
	assert_true(is_open(fd));
	assert_false(linger_event(fd + 1000));	/* not held */
	assert_true(linger_event(fd));
	assert_false(is_open(fd));
	assert_false(linger_event(fd));		/* once only */
	/* Nothing else is due; its stale entry goes. */
	assert_int_equal(linger_expire(100.0), -1);
	{
		struct linger_stats now;

		linger_stats(&now);
		assert_int_equal(now.held - st.held, 1);
		assert_int_equal(now.peer_closed - st.peer_closed, 1);
		assert_int_equal(now.timed_out - st.timed_out, 0);
	}
}

static void
test_expire(void **state)
{
	struct linger_stats st, now;
	int a = open_fd(), b;
	int ms;

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(a, 10.0));
	b = open_fd();
	assert_true(linger_hold(b, 10.1));
	ms = linger_expire(10.0);
	assert_true(ms > 0 && ms <= LINGER_MS + 1);
	assert_true(is_open(a) && is_open(b));
	/* a is due, b not yet: only a goes. */
	ms = linger_expire(10.0 + LINGER_MS / 1000.0 + 0.01);
	assert_false(is_open(a));
	assert_true(is_open(b));
	assert_true(ms > 0 && ms <= 100);
	assert_int_equal(linger_expire(11.0), -1);
	assert_false(is_open(b));
	linger_stats(&now);
	assert_int_equal(now.timed_out - st.timed_out, 2);
}

/* A number closed by an event and handed out again is held anew; the old
 * entry's time must not close the new socket early. */
static void
test_reused_number(void **state)
{
	int a = open_fd(), b;

	(void)state;
	assert_true(linger_hold(a, 20.0));
	assert_true(linger_event(a));
	b = open_fd();
	assert_int_equal(b, a);		/* the lowest free number */
	assert_true(linger_hold(b, 20.15));
	linger_expire(20.0 + LINGER_MS / 1000.0 + 0.01);
	assert_true(is_open(b));	/* the old entry was stale */
	linger_expire(21.0);
	assert_false(is_open(b));
}

static void
test_full_and_close_all(void **state)
{
	static int fds[LINGER_MAX + 1];
	struct linger_stats st, now;
	struct rlimit rl;

	(void)state;
	/* main raised the limit if it could; a hard limit below it is the
	 * machine's, not a failure here. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < LINGER_MAX + 64) {
		print_message("descriptor limit too low to fill the table\n");
		skip();
	}
	linger_stats(&st);
	for (int i = 0; i < LINGER_MAX; i++) {
		fds[i] = open_fd();
		assert_true(linger_hold(fds[i], 30.0));
	}
	fds[LINGER_MAX] = open_fd();
	assert_false(linger_hold(fds[LINGER_MAX], 30.0));
	close(fds[LINGER_MAX]);		/* the caller's to close */
	linger_stats(&now);
	assert_int_equal(now.full - st.full, 1);
	assert_false(linger_hold(-1, 30.0));
	linger_close_all();
	for (int i = 0; i < LINGER_MAX; i++)
		assert_false(is_open(fds[i]));
	assert_int_equal(linger_expire(30.0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_closes),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_reused_number),
		cmocka_unit_test(test_full_and_close_all),
	};
	struct rlimit rl;

	/* The full table takes LINGER_MAX descriptors at once; linger_init
	 * sizes its table by the limit, so raise it first. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
	    rl.rlim_max >= 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
