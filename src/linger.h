/*
 * linger - close a scanner connection only after the scanner has closed
 * its end, or after a short while.
 *
 * Why: Rspamd's normal worker answers every scan with "Connection: close"
 * and closes its end right after the reply.  curl, done reading, closes
 * at once, often before the scanner's FIN has arrived (seen: 101 of 200
 * scans in one run, 258 of 300 in another), and whichever end closes
 * first keeps the connection in TIME_WAIT for 60 s.  On the client that
 * pins the local port: toward one
 * scanner address at most some 28,000 ports (Linux's default ephemeral
 * range) can be in TIME_WAIT, about 470 new connections a second, above
 * which connect() fails with EADDRNOTAVAIL (Linux reuses TIME_WAIT ports
 * only for loopback by default).  A server in TIME_WAIT costs nothing of
 * the kind: its side of each connection differs by the client's port.
 *
 * So curl's close of a socket that is still in epoll (it was reading a
 * reply, or a transfer was cut short) is held here instead: the socket
 * stays in epoll as it was, and the first event on it (the scanner's FIN
 * makes it readable) closes it.  Holding it costs no system call; a
 * scanner that does not close within LINGER_MS gets the close then.  A
 * transfer cut short while connecting or sending (timeout, refused,
 * cancelled) is held too: its socket's next event comes at once, or the
 * time runs out, and the close is ours as before.  So are unix sockets,
 * which have no TIME_WAIT: they only stay open a little longer.  At most
 * LINGER_MAX sockets wait; past that, or for a descriptor beyond the
 * table, the close is at once, as before.
 *
 * Thread: the scan loop thread only (it owns curl and epoll).
 */
#ifndef SCANMILTER_LINGER_H
#define SCANMILTER_LINGER_H

#include <stdbool.h>

#define LINGER_MS	200	/* longest wait for the scanner's close */
#define LINGER_MAX	1024	/* sockets waiting at once */

/* linger_init - the table; false if out of memory (closes are then at once). */
bool	linger_init(void);

/*
 * linger_hold - take fd (an open socket still in epoll) to close later;
 * now is the monotonic time in seconds.  Returns true if held (the caller
 * must not touch fd again), false if the caller must close it now.
 */
bool	linger_hold(int fd, double now);

/*
 * linger_event - an epoll event came for fd: if it is held, close it and
 * return true (the event is not curl's); false if fd is not held.
 */
bool	linger_event(int fd);

/*
 * linger_expire - close the held sockets whose time is up.  Returns the
 * milliseconds until the next one is due, or -1 if none is held.
 */
int	linger_expire(double now);

/* linger_close_all - close every held socket (the loop is ending). */
void	linger_close_all(void);

/* Counters: sockets held, closed after the scanner's close, at the limit. */
struct linger_stats {
	unsigned long	held, peer_closed, timed_out, full;
};
void	linger_stats(struct linger_stats *out);

#endif
