/*
 * test_linger.c - held closes: before the loop sleeps when the peer has
 * closed, else out of epoll until the time limit; by an event; at the
 * table's limit and the descriptor limit's cap; room that sockets closed
 * early do not take; and a descriptor number that comes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

/* The loop's epoll set, as linger sees it. */
static int ep = -1;

/*
 * open_sock - a connected socket in ep, as curl leaves one it closes; its
 * peer (the scanner's end) in *peer.
 */
static int
open_sock(int *peer)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ev.data.fd = sv[0];
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	*peer = sv[1];
	return sv[0];
}

/* in_epoll - fd is still in ep (a change to it finds it there). */
static int
in_epoll(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 1;
	assert_int_equal(errno, ENOENT);
	return 0;
}

/* counted - since *before: so many held, closed after the peer, closed
 * unclean, timed out. */
static void
counted(const struct linger_stats *before, unsigned long held,
    unsigned long peer_closed, unsigned long unclean, unsigned long timed_out)
{
	struct linger_stats now;

	linger_stats(&now);
	assert_int_equal(now.held - before->held, held);
	assert_int_equal(now.peer_closed - before->peer_closed, peer_closed);
	assert_int_equal(now.unclean - before->unclean, unclean);
	assert_int_equal(now.timed_out - before->timed_out, timed_out);
}

/* The scanner closed first: the close is in the pass, no wait. */
static void
test_settle_peer_closed(void **state)
{
	struct linger_stats st;
	int peer, fd = open_sock(&peer);

	(void)state;
	linger_stats(&st);
	close(peer);
	assert_true(linger_hold(fd, 40.0));
	assert_true(is_open(fd));	/* nothing until the loop sleeps */
	linger_settle();
	assert_false(is_open(fd));
	assert_int_equal(linger_expire(40.0), -1);
	counted(&st, 1, 1, 0, 0);
}

/* Unread bytes: our close is a reset whenever it comes, so it comes now. */
static void
test_settle_unread(void **state)
{
	struct linger_stats st;
	int peer, fd = open_sock(&peer);

	(void)state;
	linger_stats(&st);
	assert_int_equal(write(peer, "x", 1), 1);
	assert_true(linger_hold(fd, 41.0));
	linger_settle();
	assert_false(is_open(fd));
	counted(&st, 1, 0, 1, 0);	/* not the scanner's close */
	close(peer);
}

/*
 * The scanner has not closed yet: the socket leaves epoll (its FIN must
 * not wake the loop) and is closed when its time is up; the last peek
 * says whether the scanner had closed by then.
 */
static void
test_settle_waits_out_of_epoll(void **state)
{
	struct linger_stats st;
	int pa, a = open_sock(&pa), pb, b = open_sock(&pb);

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(a, 50.0));
	assert_true(linger_hold(b, 50.0));
	linger_settle();
	assert_true(is_open(a) && is_open(b));
	assert_false(in_epoll(a));
	assert_false(in_epoll(b));
	close(pa);			/* a's scanner closes late */
	linger_settle();		/* settled already: not looked at again */
	assert_true(is_open(a));
	assert_true(linger_expire(50.0) > 0);
	assert_true(is_open(a) && is_open(b));
	assert_int_equal(linger_expire(50.0 + LINGER_MS / 1000.0 + 0.01), -1);
	assert_false(is_open(a));
	assert_false(is_open(b));
	counted(&st, 2, 1, 0, 1);	/* a after its scanner's close, b not */
	close(pb);
}

/* Only sockets held since the last settle are looked at and unwatched. */
static void
test_settle_only_new(void **state)
{
	int pa, a = open_sock(&pa), pb, b;

	(void)state;
	assert_true(linger_hold(a, 60.0));
	linger_settle();
	b = open_sock(&pb);
	close(pb);
	assert_true(linger_hold(b, 60.1));
	close(pa);
	linger_settle();
	assert_false(is_open(b));
	assert_true(is_open(a));	/* waits for its time */
	linger_expire(61.0);
	assert_false(is_open(a));
}

/* An event for a held socket whose scanner has closed: closed at once. */
static void
test_event_closes(void **state)
{
	struct linger_stats st;
	int peer, fd = open_sock(&peer);

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(fd, 100.0));
	assert_true(is_open(fd));
	close(peer);
	assert_false(linger_event(fd + 1000));	/* not held */
	assert_true(linger_event(fd));
	assert_false(is_open(fd));
	assert_false(linger_event(fd));		/* once only */
	/* Nothing else is due; its stale entry goes. */
	assert_int_equal(linger_expire(100.0), -1);
	counted(&st, 1, 1, 0, 0);
}

/*
 * An event that does not come from the scanner's close (a transfer cut
 * short while sending, its socket writable): the event is still not
 * curl's, but the socket waits like any other.
 */
static void
test_event_peer_open(void **state)
{
	struct linger_stats st;
	int peer, fd = open_sock(&peer);

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(fd, 110.0));
	assert_true(linger_event(fd));
	assert_true(is_open(fd));
	linger_settle();
	assert_true(is_open(fd));
	assert_false(in_epoll(fd));
	assert_int_equal(linger_expire(111.0), -1);
	assert_false(is_open(fd));
	counted(&st, 1, 0, 0, 1);
	close(peer);
}

/*
 * One socket waiting its time at the head, and behind it many more held
 * and closed in their pass: those must not use up the room (before, the
 * ring filled with their entries and the rest were closed at once).
 */
static void
test_closed_early_take_no_room(void **state)
{
	struct linger_stats st, now;
	int pa, a = open_sock(&pa);

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(a, 120.0));
	linger_settle();			/* a waits */
	for (int i = 0; i < 3 * LINGER_MAX; i++) {
		int peer, fd = open_sock(&peer);

		close(peer);
		assert_true(linger_hold(fd, 120.0));
		linger_settle();
		assert_false(is_open(fd));
	}
	assert_true(is_open(a));
	linger_stats(&now);
	assert_int_equal(now.full - st.full, 0);
	counted(&st, 1 + 3 * LINGER_MAX, 3 * LINGER_MAX, 0, 0);
	assert_int_equal(linger_expire(121.0), -1);
	assert_false(is_open(a));
	close(pa);
}

/*
 * A low descriptor limit: no more than a quarter of it waits, so that
 * waiting sockets do not take the descriptors milter connections and new
 * scans need.
 */
static void
test_cap_by_limit(void **state)
{
	enum { LIMIT = 64, CAP = LIMIT / 4 };
	int fds[CAP + 1], peers[CAP + 1];
	struct linger_stats st, now;
	struct rlimit rl, low;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = LIMIT;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_true(linger_init(ep));
	linger_stats(&st);
	for (int i = 0; i <= CAP; i++)
		fds[i] = open_sock(&peers[i]);
	for (int i = 0; i < CAP; i++)
		assert_true(linger_hold(fds[i], 130.0));
	assert_false(linger_hold(fds[CAP], 130.0));	/* the caller closes */
	linger_stats(&now);
	assert_int_equal(now.full - st.full, 1);
	linger_close_all();
	for (int i = 0; i <= CAP; i++) {
		assert_true(i == CAP ? is_open(fds[i]) : !is_open(fds[i]));
		close(peers[i]);
	}
	close(fds[CAP]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_true(linger_init(ep));
}

static void
test_expire(void **state)
{
	struct linger_stats st;
	int pa, a = open_sock(&pa), pb, b;
	int ms;

	(void)state;
	linger_stats(&st);
	assert_true(linger_hold(a, 10.0));
	b = open_sock(&pb);
	assert_true(linger_hold(b, 10.1));
	ms = linger_expire(10.0);
	/* a's time, with the slack for a pass the loop makes anyway */
	assert_true(ms > LINGER_SLACK_MS && ms <= LINGER_MS + LINGER_SLACK_MS + 1);
	assert_true(is_open(a) && is_open(b));
	/* a is due, b not yet: only a goes. */
	ms = linger_expire(10.0 + LINGER_MS / 1000.0 + 0.01);
	assert_false(is_open(a));
	assert_true(is_open(b));
	assert_true(ms > LINGER_SLACK_MS && ms <= 100 + LINGER_SLACK_MS);
	assert_int_equal(linger_expire(11.0), -1);
	assert_false(is_open(b));
	/* Neither scanner closed: both closes were ours, at the limit. */
	counted(&st, 2, 0, 0, 2);
	close(pa);
	close(pb);
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
		cmocka_unit_test(test_event_peer_open),
		cmocka_unit_test(test_closed_early_take_no_room),
		cmocka_unit_test(test_cap_by_limit),
		cmocka_unit_test(test_settle_peer_closed),
		cmocka_unit_test(test_settle_unread),
		cmocka_unit_test(test_settle_waits_out_of_epoll),
		cmocka_unit_test(test_settle_only_new),
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
	ep = epoll_create1(0);
	if (ep == -1 || !linger_init(ep))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
