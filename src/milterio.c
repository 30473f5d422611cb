/*
 * milterio - read-ahead and write coalescing under libmilter's sockets.
 * See milterio.h for why, and for which calls come here.
 */
#include "milterio.h"
#include "fdio.h"
#include "log.h"
#include "monotime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The C library's functions, as the linker names them under --wrap. */
int	__real_accept(int, struct sockaddr *, socklen_t *);
int	__real_poll(struct pollfd *, nfds_t, int);
ssize_t	__real_read(int, void *, size_t);
ssize_t	__real_writev(int, const struct iovec *, int);
int	__real_close(int);

int	__wrap_accept(int, struct sockaddr *, socklen_t *);
int	__wrap_poll(struct pollfd *, nfds_t, int);
ssize_t	__wrap_read(int, void *, size_t);
ssize_t	__wrap_writev(int, const struct iovec *, int);
int	__wrap_close(int);

/* One accepted milter socket. */
struct mio {
	bool	 polled;		/* libmilter polls it: read-ahead is safe */
	size_t	 in_off, in_len;	/* unread bytes are in[in_off, in_len) */
	size_t	 out_len;		/* held-back bytes in out[] */
	bool	 in_message;		/* MAIL seen, no end or abort yet */
	bool	 eof;			/* the MTA closed; reads give 0 */
	bool	 due;		/* an end-of-message answer is to go out */
	char	 qid[64];		/* the message whose answer is due */
	char	 in[MILTERIO_BUF];
	char	 out[MILTERIO_OUT];
};

/*
 * Socket state by descriptor number.  A slot is set by the thread that
 * accepts and cleared, before the descriptor is released, by the thread
 * that closes; the kernel hands the number out again only after that, so
 * a slot never holds the state of two sockets.  Atomic pointers carry the
 * state from the accepting thread to the one that serves the connection.
 */
static struct {
	_Atomic(struct mio *)	*slot;
	int			 nslot;
	bool			 on;
	int			 timeout_ms;
	atomic_ulong		 reads_served, polls_served, writes_held;
	atomic_ulong		 waits_kept, accepts_held, claims_late;
	int			 stop_pipe[2];	/* readable once stopping */
	atomic_bool		 stopping;
	atomic_int		 answers_due;	/* sockets with m->due */
} M = { .stop_pipe = { -1, -1 } };

/* libmilter's "more input?" poll lasts 1 ms; 1 to 99 ms is taken for it. */
#define IDLE_CHECK_MS	100
/* How long a quiet session waits on its thread before the pool takes it. */
#define IDLE_WAIT_MS	10000
/* How long the listener waits for a worker to claim the last session. */
#define CLAIM_WAIT_MS	20

/*
 * The session accepted last, until a worker has started on it (see
 * claim_wait); NULL once one has.  Since the listener accepts again only
 * once it is NULL (or given up on), there is never more than one.  It is
 * set by the listener and cleared by the worker's first poll of the
 * socket, by the thread that closes the socket before that, by the
 * listener starting a new worker for it (__wrap_pthread_create), or by
 * the listener giving up; always under mu, and before the session is
 * freed, so the pointer is only ever compared, never followed.
 */
static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	_Atomic(struct mio *)	 pending;
	bool			 ready;		/* cv set to the monotonic clock */
} C = { .mu = PTHREAD_MUTEX_INITIALIZER };

/*
 * The session this thread last read a command from.  libmilter runs a
 * command's callback on the thread that just read it, so the milter's
 * notes about its message (milterio_note_*) land on the right connection,
 * even when the worker pool moves a session from thread to thread.
 */
static _Thread_local struct mio *current;

/* Milter command bytes that change the message and need no answer: */
static const char HELD[] = "+-2bemihq";

static void
count(atomic_ulong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/*
 * claim_init - the claim condition waits on the monotonic clock, so that
 * a change of the wall clock cannot stretch the listener's wait.
 */
static void
claim_init(void)
{
	pthread_condattr_t a;

	if (pthread_condattr_init(&a) != 0)
		return;
	if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&C.cv, &a) == 0)
		C.ready = true;
	pthread_condattr_destroy(&a);
}

/*
 * claim_wait - before the listener accepts the next connection, wait
 * (up to CLAIM_WAIT_MS) until a worker has started on the session it
 * accepted before.
 *
 * Why: libmilter's worker pool (mi_start_session) hands a new session to
 * an idle worker by marking it ready and signalling a condition variable
 * if its idle count is above zero; a worker lowers that count only once
 * it has woken up.  When connections arrive faster than a worker wakes,
 * the second sees the same stale count, its signal wakes nobody, and the
 * session sits marked ready until some worker finishes a session or its
 * 10 s condition wait runs out (seen: up to 10 s for the first reply on
 * a new connection).  Accepting only after the last session was claimed
 * keeps the count true when libmilter reads it, so it starts a new worker
 * when none is idle.  The cost is one thread wakeup per connection that
 * went to an idle worker, and only when connections come in bursts.
 *
 * A session still unclaimed after the wait (the pool's own controller
 * can strand one the same way) is not waited for again.
 */
static void
claim_wait(void)
{
	struct timespec now, until;
	bool held = false;

	if (!C.ready || atomic_load(&C.pending) == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	until = ts_add_ms(now, CLAIM_WAIT_MS);
	pthread_mutex_lock(&C.mu);
	while (atomic_load(&C.pending) != NULL) {
		held = true;
		if (pthread_cond_timedwait(&C.cv, &C.mu, &until) != 0 &&
		    atomic_load(&C.pending) != NULL) {
			atomic_store(&C.pending, NULL);
			count(&M.claims_late);
			log_debug("milterio: a session waits for a libmilter "
			    "worker for over %d ms; accepting on", CLAIM_WAIT_MS);
		}
	}
	pthread_mutex_unlock(&C.mu);
	if (held)
		count(&M.accepts_held);
}

/* claim_add - the listener accepted m's connection. */
static void
claim_add(struct mio *m)
{
	if (!C.ready)
		return;
	pthread_mutex_lock(&C.mu);
	atomic_store(&C.pending, m);
	pthread_mutex_unlock(&C.mu);
}

/*
 * claimed - m is started on (its first poll), or is about to be closed
 * and freed; m, or NULL for whatever is pending (a new worker started for
 * it).  The check without the lock spares every other poll and close.
 */
static void
claimed(struct mio *m)
{
	struct mio *p = atomic_load(&C.pending);

	if (!C.ready || p == NULL || (m != NULL && p != m))
		return;
	pthread_mutex_lock(&C.mu);
	if ((p = atomic_load(&C.pending)) != NULL && (m == NULL || p == m)) {
		atomic_store(&C.pending, NULL);
		pthread_cond_signal(&C.cv);
	}
	pthread_mutex_unlock(&C.mu);
}

/* The listener: the thread that accepts (milterio_thread_start asks). */
static _Thread_local bool listener;

/*
 * milterio_thread_start - libmilter's pool starts a new worker for a new
 * session when none is idle (mi_start_session, on the listener thread,
 * with the session as the argument).  That worker owns the session from
 * its first instruction, so the idle count stays true and the next accept
 * need not wait for it: the session counts as claimed now, before the
 * thread runs (so it is surely still open).  Any other start (not the
 * listener's, or without an argument) changes nothing.
 */
void
milterio_thread_start(const void *arg)
{
	if (listener && arg != NULL && !atomic_load(&M.stopping))
		claimed(NULL);
}

int
milterio_init(bool on, int timeout_s)
{
	int n;

	M.on = on;
	M.timeout_ms = timeout_s > 0 && timeout_s < INT32_MAX / 1000 ?
	    timeout_s * 1000 : 7200 * 1000;
	if (!on || M.slot != NULL)
		return 0;
	if (pipe2(M.stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		M.on = false;
		return -1;
	}
	/* A descriptor above the table's size simply is not buffered. */
	n = fd_table_size(65536);
	M.slot = calloc((size_t)n, sizeof(*M.slot));
	if (M.slot == NULL) {
		M.on = false;
		return -1;
	}
	M.nslot = n;
	claim_init();
	return 0;
}

void
milterio_stop(void)
{
	char c = 0;

	atomic_store(&M.stopping, true);
	/* Wakes the sessions waiting now; never read, so it stays readable. */
	if (M.stop_pipe[1] != -1 && write(M.stop_pipe[1], &c, 1) == -1)
		log_warn("milterio: cannot wake the waiting sessions");
}

void
milterio_stats(struct milterio_stats *out)
{
	out->reads_served = atomic_load_explicit(&M.reads_served,
	    memory_order_relaxed);
	out->polls_served = atomic_load_explicit(&M.polls_served,
	    memory_order_relaxed);
	out->writes_held = atomic_load_explicit(&M.writes_held,
	    memory_order_relaxed);
	out->waits_kept = atomic_load_explicit(&M.waits_kept,
	    memory_order_relaxed);
	out->accepts_held = atomic_load_explicit(&M.accepts_held,
	    memory_order_relaxed);
	out->claims_late = atomic_load_explicit(&M.claims_late,
	    memory_order_relaxed);
}

/*
 * The slot of a milter socket accepted with no memory for its state: it
 * is served unbuffered, straight through to the kernel.  Marking it (not
 * leaving it NULL) lets a read of it tell this thread that it serves no
 * session of ours now.  Only ever compared, never read or written.
 */
static struct mio unbuffered;
#define UNBUFFERED	(&unbuffered)

/* slot_of - fd's slot: its state, UNBUFFERED, or NULL (not a milter
 * socket of ours). */
static struct mio *
slot_of(int fd)
{
	if (fd < 0 || fd >= M.nslot)
		return NULL;
	return atomic_load_explicit(&M.slot[fd], memory_order_acquire);
}

/* mio_of - fd's state, or NULL if it has none (unbuffered, or not ours). */
static struct mio *
mio_of(int fd)
{
	struct mio *m = slot_of(fd);

	return m == UNBUFFERED ? NULL : m;
}

int
__wrap_accept(int lfd, struct sockaddr *sa, socklen_t *salen)
{
	struct mio *m;
	int fd;

	if (M.on) {
		listener = true;
		claim_wait();
	}
	fd = __real_accept(lfd, sa, salen);
	if (fd < 0 || !M.on || fd >= M.nslot)
		return fd;
	/* Out of memory: this connection is served unbuffered. */
	if ((m = calloc(1, sizeof(*m))) != NULL)
		claim_add(m);
	else {
		log_warnx("milter: no memory for a new connection's buffers; "
		    "it is served unbuffered");
		m = UNBUFFERED;
	}
	atomic_store_explicit(&M.slot[fd], m, memory_order_release);
	return fd;
}

/* answered - m's due answer went out, failed, or never will (close). */
static void
answered(struct mio *m)
{
	if (!m->due)
		return;
	m->due = false;
	atomic_fetch_sub(&M.answers_due, 1);
}

int
__wrap_close(int fd)
{
	struct mio *m = NULL;

	if (fd >= 0 && fd < M.nslot)
		m = atomic_exchange_explicit(&M.slot[fd], NULL,
		    memory_order_acq_rel);
	if (m == UNBUFFERED)
		m = NULL;
	/* Held-back modifications with no reply after them are moot: the
	 * MTA acts on none without the final reply.  Say so all the same. */
	if (m != NULL && m->out_len > 0)
		log_warnx("%s: milter: connection closed before the answer; "
		    "%zu bytes of header changes not sent", m->qid[0] ?
		    m->qid : "-", m->out_len);
	if (m != NULL) {
		answered(m);
		claimed(m);
	}
	if (current == m)
		current = NULL;
	free(m);
	return __real_close(fd);
}

/*
 * write_all - write iov[0..n) to fd, waiting for the socket at most the
 * milter timeout each time it is full, as libmilter's own loop does.
 * The socket is blocking: each send asks not to block, so that a stuck
 * MTA costs a timeout, not a thread.  Returns bytes written, or -1.
 */
static ssize_t
write_all(int fd, struct iovec *iov, int n)
{
	ssize_t total = 0;

	for (;;) {
		struct msghdr msg = { 0 };
		ssize_t w;

		while (n > 0 && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (n == 0)
			return total;
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		if (w < 0) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int r = __real_poll(&p, 1, M.timeout_ms);

			if (r == 0)
				errno = ETIMEDOUT;
			if (r <= 0 && errno != EINTR)
				return -1;
			continue;
		}
		total += w;
		for (; n > 0 && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

int
milterio_answers_due(void)
{
	return atomic_load(&M.answers_due);
}

void
milterio_note_in_message(bool in)
{
	if (current != NULL)
		current->in_message = in;
}

void
milterio_note_message(const char *qid)
{
	if (current == NULL)
		return;
	snprintf(current->qid, sizeof(current->qid), "%s", qid ? qid : "");
	if (!current->due) {
		current->due = true;
		atomic_fetch_add(&M.answers_due, 1);
	}
}

/*
 * write_failed - say so when an answer could not be sent.  Header changes
 * held back count as done for the caller (smfi_addheader succeeded), so
 * the summary line of the message may already be written; this line tells
 * the operator that the MTA did not get the answer (it then tempfails or
 * retries the message on its side).  errno is kept for libmilter.
 */
static void
write_failed(const struct mio *m, char cmd, bool held)
{
	/* log_warn adds strerror(errno) and keeps errno. */
	log_warn("%s: milter: cannot send the '%c' reply%s to the MTA",
	    m->qid[0] ? m->qid : "-", cmd ? cmd : '?',
	    held ? " and the held header changes" : "");
}

/*
 * flushed - the end of a write that carried the held bytes (held: there
 * were some) and a command: a failure is told, a success means a later
 * failure is not this message's; either way its due answer is settled.
 * Returns r, errno kept.
 */
static ssize_t
flushed(struct mio *m, ssize_t r, char cmd, bool held)
{
	if (r < 0)
		write_failed(m, cmd, held);
	else
		m->qid[0] = '\0';
	answered(m);
	return r;
}

/* command_of - the milter command byte a writev carries, or 0. */
static char
command_of(const struct iovec *iov, int n)
{
	/* libmilter writes 4 length bytes and the command, then the data. */
	if (n < 1 || iov[0].iov_len != 5)
		return 0;
	return ((const char *)iov[0].iov_base)[4];
}

ssize_t
__wrap_writev(int fd, const struct iovec *iov, int n)
{
	struct mio *m = mio_of(fd);
	struct iovec all[3];
	size_t len = 0;
	ssize_t r;
	char cmd;

	/* libmilter writes one command as two pieces: length and command
	 * byte, then the data. */
	if (m == NULL)
		return __real_writev(fd, iov, n);
	if (n < 1 || n > 2) {
		/* Not libmilter's shape: keep the order, hold nothing. */
		all[0].iov_base = m->out;
		all[0].iov_len = m->out_len;
		m->out_len = 0;
		r = write_all(fd, all, 1) < 0 ? -1 : __real_writev(fd, iov, n);
		return flushed(m, r, 0, all[0].iov_len > 0);
	}
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	cmd = command_of(iov, n);
	if (cmd != 0 && strchr(HELD, cmd) != NULL &&
	    len <= sizeof(m->out) - m->out_len) {
		for (int i = 0; i < n; i++) {
			memcpy(m->out + m->out_len, iov[i].iov_base,
			    iov[i].iov_len);
			m->out_len += iov[i].iov_len;
		}
		count(&M.writes_held);
		return (ssize_t)len;
	}
	/* Anything else goes now, after whatever was held back. */
	all[0].iov_base = m->out;
	all[0].iov_len = m->out_len;
	memcpy(all + 1, iov, (size_t)n * sizeof(*iov));
	m->out_len = 0;
	r = write_all(fd, all, n + 1) < 0 ? -1 : (ssize_t)len;
	return flushed(m, r, cmd, all[0].iov_len > 0);
}

ssize_t
__wrap_read(int fd, void *p, size_t len)
{
	struct mio *m = slot_of(fd);
	ssize_t r;

	/*
	 * The session this thread serves now, polled or not yet: a thread
	 * of libmilter's pool moves between sessions, and a callback must
	 * never reach the one it served before (freed, or another thread's).
	 * A session served unbuffered has no state to note anything in.
	 */
	if (m == UNBUFFERED)
		m = current = NULL;
	else if (m != NULL)
		current = m;
	if (m == NULL || !m->polled || len == 0)
		return __real_read(fd, p, len);
	if (m->in_off < m->in_len) {
		size_t k = m->in_len - m->in_off;

		if (k > len)
			k = len;
		memcpy(p, m->in + m->in_off, k);
		m->in_off += k;
		count(&M.reads_served);
		return (ssize_t)k;
	}
	if (m->eof) {		/* kept by idle_wait: the MTA has closed */
		count(&M.reads_served);
		return 0;
	}
	/* A large read (a body chunk) needs no buffer of ours. */
	if (len >= sizeof(m->in))
		return __real_read(fd, p, len);
	if ((r = __real_read(fd, m->in, sizeof(m->in))) <= 0)
		return r;
	m->in_len = (size_t)r;
	m->in_off = (size_t)r < len ? (size_t)r : len;
	memcpy(p, m->in, m->in_off);
	return (ssize_t)m->in_off;
}

/*
 * served - answer a poll of one milter socket from our side when it can
 * be: input waiting in its read-ahead buffer, or output (the write itself
 * waits for the socket).  Returns 1 if answered, 0 to ask the kernel.
 *
 * Only polls of a single descriptor are looked at.  libmilter polls a
 * session's socket alone whenever its buffer may hold bytes (before each
 * read, and in its 1 ms "more input?" check); its worker pool polls idle
 * sessions together, and those have empty buffers (a session is idle only
 * after that check found nothing) and may belong to other threads or be
 * closing, so they are left to the kernel untouched.
 */
static int
served(struct pollfd *p)
{
	struct mio *m = mio_of(p->fd);
	short in = p->events & (POLLIN | POLLRDNORM);
	short out = p->events & (POLLOUT | POLLWRNORM);

	if (m == NULL)
		return 0;
	if (!m->polled) {
		m->polled = true;
		claimed(m);
	}
	if (in != 0 && (m->in_off < m->in_len || m->eof))
		p->revents = in;
	else if (out != 0)
		p->revents = out;
	else
		return 0;
	count(&M.polls_served);
	return 1;
}

/*
 * idle_wait - libmilter's "more input?" check, which found the read-ahead
 * buffer empty.  Built with its worker pool (as Debian's is), libmilter
 * polls for 1 ms and, if the MTA has not spoken by then, hands the session
 * to its pool controller: the worker writes to the controller's pipe, the
 * controller polls every idle session and, when the MTA does speak, wakes
 * a worker through a condition variable.  That is two more thread switches
 * for every SMTP command that takes the MTA (or its client) more than a
 * millisecond, which is most of them in real traffic.
 *
 * Instead the session waits here, on its own thread, for up to 10 s (or
 * the milter timeout if that is shorter); when input comes it is read
 * ahead at once, so the poll and read that libmilter makes next are
 * answered from the buffer.  A session quiet for longer goes to the pool
 * as before, so long-idle connections hold no thread, and the pool closes
 * it after the milter timeout (10 s later than it would have).  Once the
 * daemon stops (milterio_stop), a waiting session is handed over at once
 * and takes no new message, as with the pool alone; one in the middle of
 * a message goes on waiting for the rest, which main's drain then answers.
 */
static int
idle_wait(struct mio *m, struct pollfd *p)
{
	struct pollfd two[2] = {
		{ .fd = p->fd, .events = p->events },
		{ .fd = M.stop_pipe[0], .events = POLLIN },
	};
	struct timespec t0;
	int wait = M.timeout_ms < IDLE_WAIT_MS ? M.timeout_ms : IDLE_WAIT_MS;
	bool stopping = atomic_load(&M.stopping);
	int r;
	ssize_t n;

	p->revents = 0;
	/* Stopping: only a session in the middle of a message waits on. */
	if (stopping && !m->in_message)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = __real_poll(two, stopping ? 1 : 2, wait);
	if (r > 0 && two[0].revents == 0) {
		/* The stop came while waiting (two[1]). */
		if (!m->in_message)
			return 0;
		r = __real_poll(two, 1, wait);
	}
	if (r <= 0)
		return r;
	p->revents = two[0].revents;
	if (!(p->revents & POLLIN))
		return 1;
	/* Count the waits the pool would have taken (past its 1 ms). */
	if (ts_ms_since(&t0) > 1.0)
		count(&M.waits_kept);
	/*
	 * The end of file is kept: libmilter's next poll and read are
	 * answered from it, two system calls fewer for every connection the
	 * MTA closes.  An error is left for libmilter's own read to find.
	 */
	n = recv(p->fd, m->in, sizeof(m->in), MSG_DONTWAIT);
	if (n > 0) {
		m->in_off = 0;
		m->in_len = (size_t)n;
	} else if (n == 0) {
		m->eof = true;
	}
	return 1;
}

int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct mio *m;

	if (nfds != 1)
		return __real_poll(fds, nfds, timeout);
	if (served(fds))
		return 1;
	/* Only the "more input?" check polls for POLLIN alone, briefly. */
	if ((m = mio_of(fds->fd)) != NULL && fds->events == POLLIN &&
	    timeout >= 1 && timeout < IDLE_CHECK_MS)
		return idle_wait(m, fds);
	return __real_poll(fds, nfds, timeout);
}
