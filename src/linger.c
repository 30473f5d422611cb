/*
 * linger - close a scanner connection after the scanner has closed its
 * end.  See linger.h for why.
 */
#include "linger.h"
#include "fdio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* One held socket, in the order they were held (so also by due time). */
struct held {
	int		 fd;
	uint32_t	 gen;	/* == L.gen_of[fd] while still held */
	double		 due;
};

static struct {
	uint32_t	*gen_of;	/* by descriptor; 0: not held */
	int		 nfd;
	int		 ep;		/* the loop's epoll set */
	uint32_t	 gen;
	struct held	 ring[LINGER_MAX];
	unsigned	 head, len;	/* ring[head .. head + len) */
	unsigned	 fresh;		/* the last so many: not yet settled */
	unsigned	 cap;		/* most entries at once (linger.h) */
	struct linger_stats st;
} L;

bool
linger_init(int ep)
{
	int n = fd_table_size(65536);

	L.ep = ep;
	/* The limit may have changed since a first call: the cap follows
	 * it, the table (by descriptor) stays as it was made. */
	L.cap = (unsigned)n / 4 < LINGER_MAX ? (unsigned)n / 4 : LINGER_MAX;
	if (L.gen_of != NULL)
		return true;
	if ((L.gen_of = calloc((size_t)n, sizeof(*L.gen_of))) == NULL)
		return false;
	L.nfd = n;
	return true;
}

static bool
is_held(const struct held *h)
{
	return L.gen_of[h->fd] == h->gen;
}

/* entry - the i-th held entry, oldest first. */
static struct held *
entry(unsigned i)
{
	return &L.ring[(L.head + i) % LINGER_MAX];
}

/* pop_head - the oldest entry is done with (closed or stale). */
static void
pop_head(void)
{
	L.head = (L.head + 1) % LINGER_MAX;
	L.len--;
	if (L.fresh > L.len)
		L.fresh = L.len;
}

/*
 * compact - drop the entries of sockets closed early (most are, in the
 * pass that held them), keeping the order: behind one socket that waits
 * its time they would otherwise fill the ring while few sockets wait.
 * Runs when the ring is full; each run makes room for as many holds as
 * it dropped entries, so its cost is one step per entry dropped, except
 * when nearly cap sockets really wait (then holds fail for want of room).
 */
static void
compact(void)
{
	unsigned kept = 0, fresh = 0;

	for (unsigned i = 0; i < L.len; i++) {
		struct held h = *entry(i);

		if (!is_held(&h))
			continue;
		if (i >= L.len - L.fresh)
			fresh++;
		*entry(kept++) = h;	/* kept <= i: read already */
	}
	L.len = kept;
	L.fresh = fresh;
}

/* What one peek at a held socket says. */
enum peer {
	PEER_OPEN,	/* nothing yet: the scanner may still close first */
	PEER_CLOSED,	/* end of file: the scanner's FIN is in */
	PEER_UNCLEAN	/* an error, or bytes nobody read: any close of
			   ours is a reset, now or later */
};

static enum peer
peek(int fd)
{
	char c;
	ssize_t n;

	while ((n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT)) == -1 &&
	    errno == EINTR)
		;
	if (n == 0)
		return PEER_CLOSED;
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return PEER_OPEN;
	return PEER_UNCLEAN;
}

bool
linger_hold(int fd, double now)
{
	struct held *h;

	if (L.gen_of == NULL || fd < 0)
		return false;
	if (L.len >= L.cap)
		compact();
	if (L.len >= L.cap || fd >= L.nfd) {
		L.st.full++;
		return false;
	}
	/* Generation 0 means "not held": skip it when the counter wraps. */
	if (++L.gen == 0)
		L.gen = 1;
	h = entry(L.len);
	h->fd = fd;
	h->gen = L.gen;
	h->due = now + LINGER_MS / 1000.0;
	L.gen_of[fd] = L.gen;
	L.len++;
	L.fresh++;
	L.st.held++;
	return true;
}

/* release - close a held socket; its ring entry goes stale. */
static void
release(int fd)
{
	L.gen_of[fd] = 0;
	close(fd);
}

/* close_if_done - close a held socket unless its peek says to wait;
 * true if closed. */
static bool
close_if_done(int fd)
{
	switch (peek(fd)) {
	case PEER_OPEN:
		return false;
	case PEER_CLOSED:
		L.st.peer_closed++;
		break;
	case PEER_UNCLEAN:
		L.st.unclean++;
		break;
	}
	release(fd);
	return true;
}

void
linger_settle(void)
{
	for (unsigned i = L.len - L.fresh; i < L.len; i++) {
		struct held *h = entry(i);

		/* Still open: no wakeup for its FIN, it waits its time. */
		if (is_held(h) && !close_if_done(h->fd))
			epoll_ctl(L.ep, EPOLL_CTL_DEL, h->fd, NULL);
	}
	L.fresh = 0;
}

bool
linger_event(int fd)
{
	if (L.gen_of == NULL || fd < 0 || fd >= L.nfd || L.gen_of[fd] == 0)
		return false;
	/* Still open (the event said writable, say): it is fresh, so
	 * linger_settle looks again before the loop sleeps. */
	close_if_done(fd);
	return true;
}

int
linger_expire(double now)
{
	while (L.len > 0) {
		struct held *h = entry(0);

		if (is_held(h)) {
			if (h->due > now)
				return (int)((h->due - now) * 1000.0) + 1 +
				    LINGER_SLACK_MS;
			if (!close_if_done(h->fd)) {
				L.st.timed_out++;
				release(h->fd);
			}
		}
		pop_head();
	}
	return -1;
}

void
linger_close_all(void)
{
	while (L.len > 0) {
		if (is_held(entry(0)))
			release(entry(0)->fd);
		pop_head();
	}
}

void
linger_stats(struct linger_stats *out)
{
	*out = L.st;
}
