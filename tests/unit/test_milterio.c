/*
 * test_milterio - the read-ahead and write coalescing under libmilter's
 * socket calls.  This program is linked with the same --wrap options as
 * the daemon, so its own accept/poll/read/writev/close go through
 * milterio exactly as libmilter's do.  Each test makes a real connection
 * over a unix socket and reads as libmilter does: poll, then read.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "milterio.h"
#include "monotime.h"

static char sockpath[108];
static int lfd = -1;

/*
 * This program alone is also linked with --wrap=calloc (see the
 * Makefile), so that a test can make milterio's accept find no memory.
 */
void	*__real_calloc(size_t, size_t);
void	*__wrap_calloc(size_t, size_t);
static bool calloc_fails;

void *
__wrap_calloc(size_t n, size_t size)
{
	return calloc_fails ? NULL : __real_calloc(n, size);
}

static int
listener(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/test_milterio.XXXXXX";

	assert_int_equal(milterio_init(true, 1), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(sockpath, sizeof(sockpath), "%s/s", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	return 0;
}

static int
connect_client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	int c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(c >= 0);
	/* A test that goes wrong fails in 2 s instead of waiting. */
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static int
accept_server(void)
{
	int sv = accept(lfd, NULL, NULL);

	assert_true(sv >= 0);
	return sv;
}

/* pair - a client socket and the accepted server end (via milterio). */
static void
pair(int *client, int *server)
{
	*client = connect_client();
	*server = accept_server();
}

/* cmd - a milter command: 4 length bytes, the command, the data. */
static size_t
cmd(char *out, char c, const char *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(out, &n, 4);
	out[4] = c;
	memcpy(out + 5, data, len);
	return len + 5;
}

/* read_cmd - as libmilter reads one: poll, read 5, poll, read the rest. */
static char
read_cmd(int fd, char *data, size_t *len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char head[5];
	uint32_t n;
	size_t got = 0;

	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_true(p.revents & POLLIN);
	while (got < 5) {
		ssize_t r = read(fd, head + got, 5 - got);

		assert_true(r > 0);
		got += (size_t)r;
	}
	memcpy(&n, head, 4);
	*len = ntohl(n) - 1;
	for (got = 0; got < *len;) {
		ssize_t r;

		p.revents = 0;
		assert_int_equal(poll(&p, 1, 2000), 1);
		r = read(fd, data + got, *len - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	return head[4];
}

/* write_cmd - as libmilter writes one: poll for output, writev of two. */
static ssize_t
write_cmd(int fd, char c, const char *data, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint32_t n = htonl((uint32_t)len + 1);
	char head[5];
	struct iovec iov[2] = { { head, 5 }, { (void *)data, len } };

	memcpy(head, &n, 4);
	head[4] = c;
	assert_int_equal(poll(&p, 1, 2000), 1);
	return writev(fd, iov, len > 0 ? 2 : 1);
}

static void
test_read_ahead(void **state)
{
	struct milterio_stats s0, s1;
	char wire[4096], data[4096];
	size_t n = 0, len;
	int c, sv;

	pair(&c, &sv);
	n += cmd(wire + n, 'L', "Subject\0 hello", 15);
	n += cmd(wire + n, 'L', "From\0 <a@example.org>", 22);
	n += cmd(wire + n, 'N', "", 0);
	n += cmd(wire + n, 'E', "", 0);
	assert_int_equal(write(c, wire, n), (ssize_t)n);
	milterio_stats(&s0);
	assert_int_equal(read_cmd(sv, data, &len), 'L');
	assert_int_equal(len, 15);
	assert_memory_equal(data, "Subject\0 hello", 15);
	assert_int_equal(read_cmd(sv, data, &len), 'L');
	assert_memory_equal(data, "From\0 <a@example.org>", 22);
	assert_int_equal(read_cmd(sv, data, &len), 'N');
	assert_int_equal(len, 0);
	assert_int_equal(read_cmd(sv, data, &len), 'E');
	milterio_stats(&s1);
	/* One kernel read; the other five reads and polls from the buffer. */
	assert_true(s1.reads_served - s0.reads_served >= 5);
	assert_true(s1.polls_served - s0.polls_served >= 5);
	/* Buffer empty: a poll asks the kernel again, and times out. */
	{
		struct pollfd p = { .fd = sv, .events = POLLIN | POLLPRI };

		assert_int_equal(poll(&p, 1, 10), 0);
	}
	/* The peer leaves: end of file comes through. */
	close(c);
	{
		struct pollfd p = { .fd = sv, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 2000), 1);
		assert_int_equal(read(sv, data, 5), 0);
	}
	close(sv);
}

static void
test_large_and_split(void **state)
{
	size_t big = 3 * MILTERIO_BUF + 17, len;
	char *wire = malloc(big + 64), *data = malloc(big + 64);
	size_t n = 0;
	int c, sv;

	pair(&c, &sv);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + i % 26);
	n += cmd(wire + n, 'B', data, big);
	n += cmd(wire + n, 'E', "", 0);
	memset(data, 0, big);
	/* Sent in pieces that do not line up with commands. */
	for (size_t off = 0; off < n;) {
		size_t k = n - off < 1000 ? n - off : 1000;

		assert_int_equal(write(c, wire + off, k), (ssize_t)k);
		off += k;
		if (off == 5000)	/* once: a command split mid-way */
			usleep(1000);
	}
	assert_int_equal(read_cmd(sv, data, &len), 'B');
	assert_int_equal(len, big);
	for (size_t i = 0; i < big; i++)
		if (data[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	assert_int_equal(read_cmd(sv, data, &len), 'E');
	close(c);
	close(sv);
	free(wire);
	free(data);
}

/* A reused descriptor number starts clean: nothing of the old socket. */
static void
test_close_forgets(void **state)
{
	char wire[256], data[256];
	size_t n, len;
	int c1, s1, c2, s2;

	pair(&c1, &s1);
	n = cmd(wire, 'L', "A\0 1", 4);
	n += cmd(wire + n, 'L', "B\0 2", 4);
	assert_int_equal(write(c1, wire, n), (ssize_t)n);
	assert_int_equal(read_cmd(s1, data, &len), 'L');	/* B stays */
	close(c1);
	c2 = connect_client();
	close(s1);
	s2 = accept_server();
	assert_int_equal(s2, s1);	/* the lowest free number: s1's */
	{
		struct pollfd p = { .fd = s2, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 10), 0);	/* not B */
	}
	n = cmd(wire, 'L', "C\0 3", 4);
	assert_int_equal(write(c2, wire, n), (ssize_t)n);
	assert_int_equal(read_cmd(s2, data, &len), 'L');
	assert_memory_equal(data, "C\0 3", 4);
	close(s2);
	close(c2);
}

/* recv_all - whatever the peer has sent so far, without waiting. */
static ssize_t
recv_now(int fd, char *buf, size_t len)
{
	ssize_t r = recv(fd, buf, len, MSG_DONTWAIT);

	return r < 0 && errno == EAGAIN ? 0 : r;
}

static void
test_writes_held(void **state)
{
	char got[4096], want[4096];
	size_t n = 0;
	ssize_t r, total = 0;
	int c, sv;

	pair(&c, &sv);
	/* Modifications wait... */
	assert_int_equal(write_cmd(sv, 'h', "X-A\0 1", 7), 12);
	n += cmd(want + n, 'h', "X-A\0 1", 7);
	assert_int_equal(write_cmd(sv, 'm', "\0\0\0\1X-B\0 2", 11), 16);
	n += cmd(want + n, 'm', "\0\0\0\1X-B\0 2", 11);
	assert_int_equal(write_cmd(sv, 'q', "held", 5), 10);
	n += cmd(want + n, 'q', "held", 5);
	usleep(10000);
	assert_int_equal(recv_now(c, got, sizeof(got)), 0);
	/* ...a progress note goes at once, with them before it... */
	assert_int_equal(write_cmd(sv, 'p', "", 0), 5);
	n += cmd(want + n, 'p', "", 0);
	while (total < (ssize_t)n && (r = recv(c, got + total,
	    sizeof(got) - (size_t)total, 0)) > 0)
		total += r;
	assert_int_equal(total, (ssize_t)n);
	assert_memory_equal(got, want, n);
	/* ...and so does the reply, with what was held before it. */
	n = cmd(want, 'h', "X-C\0 3", 7);
	assert_int_equal(write_cmd(sv, 'h', "X-C\0 3", 7), 12);
	n += cmd(want + n, 'c', "", 0);
	assert_int_equal(write_cmd(sv, 'c', "", 0), 5);
	for (total = 0; total < (ssize_t)n && (r = recv(c, got + total,
	    sizeof(got) - (size_t)total, 0)) > 0;)
		total += r;
	assert_int_equal(total, (ssize_t)n);
	assert_memory_equal(got, want, n);
	/* A modification too big to hold goes at once, after the held. */
	{
		size_t big = MILTERIO_OUT + 100;
		char *body = calloc(1, big), *exp = malloc(big + 64);
		char *buf = malloc(big + 64);
		size_t m = cmd(exp, 'h', "X-D\0 4", 7);

		assert_int_equal(write_cmd(sv, 'h', "X-D\0 4", 7), 12);
		m += cmd(exp + m, 'b', body, big);
		assert_int_equal(write_cmd(sv, 'b', body, big),
		    (ssize_t)(big + 5));
		for (total = 0; total < (ssize_t)m && (r = recv(c,
		    buf + total, big + 64 - (size_t)total, 0)) > 0;)
			total += r;
		assert_int_equal(total, (ssize_t)m);
		assert_memory_equal(buf, exp, m);
		free(body);
		free(exp);
		free(buf);
	}
	close(c);
	close(sv);
}

/*
 * An answer noted at end of message is due until it has gone out (held
 * changes do not count) or the socket closes: the stop waits for it.
 */
static void
test_answers_due(void **state)
{
	char buf[64], data[64];
	size_t len;
	int c, sv;

	(void)state;
	assert_int_equal(milterio_answers_due(), 0);
	pair(&c, &sv);
	assert_int_equal(send(c, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sv, data, &len), 'E');
	milterio_note_message("Q1");
	milterio_note_message("Q1");	/* once per answer, however told */
	assert_int_equal(milterio_answers_due(), 1);
	assert_int_equal(write_cmd(sv, 'h', "X-A\0 1", 7), 12);
	assert_int_equal(milterio_answers_due(), 1);
	assert_int_equal(write_cmd(sv, 'a', "", 0), 5);
	assert_int_equal(milterio_answers_due(), 0);
	/* Noted, then the connection closes before the answer. */
	assert_int_equal(send(c, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sv, data, &len), 'E');
	milterio_note_message("Q2");
	assert_int_equal(milterio_answers_due(), 1);
	close(sv);
	assert_int_equal(milterio_answers_due(), 0);
	close(c);
}

/*
 * A thread that moves to another session (libmilter's pool) notes the
 * message on that session from its first read, polled or not: never on
 * the one it served before.
 */
static void
test_current_follows_reads(void **state)
{
	char buf[64], data[64];
	size_t len;
	int ca, sa, cb, sb;

	(void)state;
	pair(&ca, &sa);
	assert_int_equal(send(ca, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sa, data, &len), 'E');
	pair(&cb, &sb);
	assert_int_equal(send(cb, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read(sb, data, 5), 5);	/* before any poll */
	milterio_note_message("QB");
	assert_int_equal(milterio_answers_due(), 1);
	close(sb);	/* B's due answer goes with B, not with A */
	assert_int_equal(milterio_answers_due(), 0);
	close(sa);
	close(ca);
	close(cb);
}

/*
 * A session accepted with no memory for its state is served unbuffered;
 * a thread that moves to it from a buffered one must not go on noting
 * messages on the one it left.
 */
static void
test_unbuffered_is_current(void **state)
{
	char buf[64], data[64];
	size_t len;
	int ca, sa, cb, sb;

	(void)state;
	pair(&ca, &sa);
	assert_int_equal(send(ca, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sa, data, &len), 'E');
	cb = connect_client();
	calloc_fails = true;
	sb = accept_server();
	calloc_fails = false;
	assert_int_equal(send(cb, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sb, data, &len), 'E');
	milterio_note_message("QB");	/* B has no state to note it in */
	assert_int_equal(milterio_answers_due(), 0);
	/* B's bytes went straight through, and its close is the kernel's. */
	assert_int_equal(send(cb, buf, cmd(buf, 'E', "", 0), 0), 5);
	assert_int_equal(read_cmd(sb, data, &len), 'E');
	assert_int_equal(close(sb), 0);
	close(sa);
	close(ca);
	close(cb);
}

/* A peer that stops reading costs the milter timeout, not a thread. */
static void
test_write_timeout(void **state)
{
	size_t big = 60000;
	char *body = calloc(1, big);
	struct timespec t0, t1;
	ssize_t r;
	int c, sv, i;

	pair(&c, &sv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++)
		if ((r = write_cmd(sv, 'b', body, big)) < 0)
			break;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(i < 1000);
	assert_int_equal(errno, ETIMEDOUT);
	/* milterio_init gave 1 s. */
	assert_true(t1.tv_sec - t0.tv_sec >= 1);
	assert_true(t1.tv_sec - t0.tv_sec <= 5);
	free(body);
	close(c);
	close(sv);
}

/* Other descriptors, and a poll of several, behave as the kernel's. */
static void
test_mixed_poll(void **state)
{
	char wire[64], data[64];
	struct pollfd p[2];
	int c, sv, pp[2];
	size_t n;

	pair(&c, &sv);
	assert_int_equal(pipe(pp), 0);
	n = cmd(wire, 'L', "A\0 1", 4);
	n += cmd(wire + n, 'L', "B\0 2", 4);
	assert_int_equal(write(c, wire, n), (ssize_t)n);
	assert_int_equal(read_cmd(sv, data, &n), 'L');	/* B buffered */
	/* A poll of several descriptors is the kernel's alone (libmilter's
	 * worker pool polls idle sessions so; their buffers are empty). */
	p[0] = (struct pollfd){ .fd = pp[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sv, .events = POLLIN };
	assert_int_equal(poll(p, 2, 10), 0);
	/* Polled alone, the buffered command is seen at once. */
	assert_int_equal(poll(p + 1, 1, 2000), 1);
	assert_true(p[1].revents & POLLIN);
	/* The pipe is not a milter socket: plain reads and writes. */
	assert_int_equal(write(pp[1], "xy", 2), 2);
	assert_int_equal(read(pp[0], data, 1), 1);
	assert_int_equal(read(pp[0], data + 1, 1), 1);
	assert_memory_equal(data, "xy", 2);
	close(pp[0]);
	close(pp[1]);
	close(c);
	close(sv);
}

/* Switched off: an accepted socket is left alone. */
static void
test_off(void **state)
{
	struct milterio_stats s0, s1;
	char wire[64], data[64];
	size_t n;
	int c, sv;

	milterio_init(false, 1);
	pair(&c, &sv);
	n = cmd(wire, 'L', "A\0 1", 4);
	n += cmd(wire + n, 'L', "B\0 2", 4);
	assert_int_equal(write(c, wire, n), (ssize_t)n);
	milterio_stats(&s0);
	assert_int_equal(read_cmd(sv, data, &n), 'L');
	assert_int_equal(read_cmd(sv, data, &n), 'L');
	assert_int_equal(write_cmd(sv, 'h', "X\0 1", 5), 10);
	assert_int_equal(recv(c, data, sizeof(data), 0), 10);
	milterio_stats(&s1);
	assert_true(s1.reads_served == s0.reads_served);
	assert_true(s1.writes_held == s0.writes_held);
	close(c);
	close(sv);
	milterio_init(true, 1);
}

struct later {
	int	 fd;
	long	 ms;
	int	 close_it;	/* close instead of writing a command */
};

static void *
send_later(void *arg)
{
	struct later *l = arg;
	struct timespec t = { 0, l->ms * 1000000 };
	char wire[64];

	nanosleep(&t, NULL);
	if (l->close_it)
		close(l->fd);
	else
		assert_int_equal(write(l->fd, wire, cmd(wire, 'M', "<a@b>", 6)),
		    11);
	return NULL;
}

/* polled_pair - a pair whose server end libmilter has polled and read
 * from once, as it has every session that waits for its next command. */
static void
polled_pair(int *client, int *server)
{
	char wire[64], data[64];
	size_t len;

	pair(client, server);
	assert_int_equal(write(*client, wire, cmd(wire, 'H', "h", 2)), 7);
	assert_int_equal(read_cmd(*server, data, &len), 'H');
}

/*
 * libmilter's "more input?" check (POLLIN alone, 1 ms) on an empty buffer
 * waits for the MTA up to the milter timeout (1 s here) rather than 1 ms,
 * so that the session stays on its thread instead of going round the
 * worker pool's controller; the command that arrives is read ahead, and
 * libmilter's poll and read after the check come from the buffer.
 */
static void
test_idle_wait(void **state)
{
	struct milterio_stats s0, s1;
	struct pollfd p = { .events = POLLIN };
	struct timespec t0;
	struct later l;
	pthread_t th;
	char data[64];
	size_t len;
	double took;
	int c, sv;

	polled_pair(&c, &sv);

	/* The MTA speaks after 50 ms: the check waits for it. */
	l = (struct later){ c, 50, 0 };
	milterio_stats(&s0);
	assert_int_equal(pthread_create(&th, NULL, send_later, &l), 0);
	p.fd = sv;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(poll(&p, 1, 1), 1);
	took = ts_ms_since(&t0);
	pthread_join(th, NULL);
	assert_true(took >= 40 && took < 900);
	assert_int_equal(read_cmd(sv, data, &len), 'M');
	assert_int_equal(len, 6);
	assert_memory_equal(data, "<a@b>", 6);
	milterio_stats(&s1);
	assert_int_equal(s1.waits_kept - s0.waits_kept, 1);
	assert_true(s1.reads_served - s0.reads_served >= 2);

	/* Silence: the check gives up after the milter timeout, not 1 ms. */
	p.revents = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(poll(&p, 1, 1), 0);
	took = ts_ms_since(&t0);
	assert_true(took >= 900 && took < 1900);

	/*
	 * The MTA hangs up while we wait: libmilter's poll and read see the
	 * end, from what the wait kept, and go on seeing it.
	 */
	l = (struct later){ c, 50, 1 };
	assert_int_equal(pthread_create(&th, NULL, send_later, &l), 0);
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 1), 1);
	pthread_join(th, NULL);
	milterio_stats(&s0);
	p.events = POLLIN | POLLPRI;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_true(p.revents & POLLIN);
	assert_int_equal(read(sv, data, 5), 0);
	assert_int_equal(read(sv, data, 5), 0);
	milterio_stats(&s1);
	assert_int_equal(s1.polls_served - s0.polls_served, 1);
	assert_int_equal(s1.reads_served - s0.reads_served, 2);
	close(sv);
}

static void *
stop_later(void *arg)
{
	struct timespec t = { 0, 50 * 1000000 };

	(void)arg;
	nanosleep(&t, NULL);
	milterio_stop();
	return NULL;
}

/*
 * Once the daemon stops, a session waiting for the MTA between messages is
 * handed back at once (to libmilter's stopped pool) instead of taking a new
 * message, whether it was already waiting or starts to wait later; one in
 * the middle of a message waits on for the rest of it.  The stop is for
 * good, so this test runs last.
 */
static void
test_stop(void **state)
{
	struct pollfd p = { .events = POLLIN };
	struct timespec t0;
	struct later l;
	pthread_t th;
	char data[64];
	size_t len;
	double took;
	int c, sv;

	polled_pair(&c, &sv);
	p.fd = sv;

	/* Waiting between messages when the stop comes: handed back. */
	milterio_note_in_message(false);
	assert_int_equal(pthread_create(&th, NULL, stop_later, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(poll(&p, 1, 1), 0);
	took = ts_ms_since(&t0);
	pthread_join(th, NULL);
	assert_true(took >= 40 && took < 500);

	/* In the middle of a message: it waits for the rest. */
	milterio_note_in_message(true);
	l = (struct later){ c, 50, 0 };
	assert_int_equal(pthread_create(&th, NULL, send_later, &l), 0);
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 1), 1);
	pthread_join(th, NULL);
	assert_int_equal(read_cmd(sv, data, &len), 'M');

	/* Between messages again, after the stop: handed back at once. */
	milterio_note_in_message(false);
	l = (struct later){ c, 50, 0 };
	assert_int_equal(pthread_create(&th, NULL, send_later, &l), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 1), 0);
	assert_true(ts_ms_since(&t0) < 40);
	pthread_join(th, NULL);
	close(c);
	close(sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_ahead),
		cmocka_unit_test(test_large_and_split),
		cmocka_unit_test(test_close_forgets),
		cmocka_unit_test(test_writes_held),
		cmocka_unit_test(test_answers_due),
		cmocka_unit_test(test_current_follows_reads),
		cmocka_unit_test(test_unbuffered_is_current),
		cmocka_unit_test(test_write_timeout),
		cmocka_unit_test(test_mixed_poll),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_idle_wait),
		cmocka_unit_test(test_stop),	/* last: stopping is for good */
	};

	return cmocka_run_group_tests(tests, listener, NULL);
}
