/*
 * linger - close a scanner connection after the scanner has closed its
 * end.  See linger.h for why.
 */
#include "linger.h"
#include "fdio.h"

#include <stdint.h>
#include <stdlib.h>
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
	uint32_t	 gen;
	struct held	 ring[LINGER_MAX];
	unsigned	 head, len;	/* ring[head .. head + len) */
	struct linger_stats st;
} L;

bool
linger_init(void)
{
	int n = fd_table_size(65536);

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

/* pop_head - the oldest entry is done with (closed or stale). */
static void
pop_head(void)
{
	L.head = (L.head + 1) % LINGER_MAX;
	L.len--;
}

/* drop_stale - entries whose socket was closed by an event go first. */
static void
drop_stale(void)
{
	while (L.len > 0 && !is_held(&L.ring[L.head]))
		pop_head();
}

bool
linger_hold(int fd, double now)
{
	struct held *h;

	if (L.gen_of == NULL || fd < 0 || fd >= L.nfd)
		return false;
	drop_stale();
	if (L.len == LINGER_MAX) {
		L.st.full++;
		return false;
	}
	/* Generation 0 means "not held": skip it when the counter wraps. */
	if (++L.gen == 0)
		L.gen = 1;
	h = &L.ring[(L.head + L.len) % LINGER_MAX];
	h->fd = fd;
	h->gen = L.gen;
	h->due = now + LINGER_MS / 1000.0;
	L.gen_of[fd] = L.gen;
	L.len++;
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

bool
linger_event(int fd)
{
	if (L.gen_of == NULL || fd < 0 || fd >= L.nfd || L.gen_of[fd] == 0)
		return false;
	release(fd);
	L.st.peer_closed++;
	return true;
}

int
linger_expire(double now)
{
	while (L.len > 0) {
		struct held *h = &L.ring[L.head];

		if (is_held(h)) {
			if (h->due > now)
				return (int)((h->due - now) * 1000.0) + 1;
			release(h->fd);
			L.st.timed_out++;
		}
		pop_head();
	}
	return -1;
}

void
linger_close_all(void)
{
	while (L.len > 0) {
		if (is_held(&L.ring[L.head]))
			release(L.ring[L.head].fd);
		pop_head();
	}
}

void
linger_stats(struct linger_stats *out)
{
	*out = L.st;
}
