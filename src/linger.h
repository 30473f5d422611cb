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
 * reply, or a transfer was cut short) is held here instead, in two steps:
 *
 *   - until the loop is about to sleep, the socket stays in epoll as it
 *     was (an event for it in the batch being handled closes it);
 *   - then one peek (recv with MSG_PEEK) says whether the scanner has
 *     closed its end: a read would return end of file (or an error, or
 *     bytes that would make our close a reset anyway).  If so, the close
 *     is now.  Rspamd closes right after writing its reply, so by the end
 *     of the loop's pass it mostly has.  If not, the socket leaves epoll
 *     and is closed when LINGER_MS are up.
 *
 * Why not wait in epoll for the FIN: a FIN that comes while the loop
 * sleeps wakes it for nothing else (measured at concurrency 4 and 8:
 * some 0.45 of the loop's 2.4 wakeups per message, and an epoll_wait per
 * message).  Those sockets stay open a little longer instead, which costs
 * a descriptor each for LINGER_MS (up to LINGER_SLACK_MS more).
 *
 * A transfer cut short while connecting or sending (timeout, refused,
 * cancelled) is held too; its peek mostly finds an error or nothing, and
 * it is closed now or after LINGER_MS, the close ours as before.  So are
 * unix sockets, which have no TIME_WAIT: they only stay open a little
 * longer.  At most LINGER_MAX sockets wait, and no more than a quarter
 * of the descriptor limit (waiting sockets must not starve the milter
 * connections and new scans of descriptors); past that, or for a
 * descriptor beyond the table, the close is at once, as before.
 *
 * Thread: the scan loop thread only (it owns curl and epoll).
 */
#ifndef SCANMILTER_LINGER_H
#define SCANMILTER_LINGER_H

#include <stdbool.h>

#define LINGER_MS	200	/* longest wait for the scanner's close */
#define LINGER_SLACK_MS	100	/* how late a due close may be, waiting for
				   a pass the loop makes anyway */
#define LINGER_MAX	1024	/* sockets waiting at once */

/*
 * linger_init - the table, for sockets in the epoll set ep (taken out of
 * it while they wait); false if out of memory (closes are then at once).
 * Sized by the descriptor limit; a later call takes a new ep and a new
 * limit's cap, and keeps the table.
 */
bool	linger_init(int ep);

/*
 * linger_hold - take fd (an open socket still in epoll) to close later;
 * now is the monotonic time in seconds.  Returns true if held (the caller
 * must not touch fd again), false if the caller must close it now.
 */
bool	linger_hold(int fd, double now);

/*
 * linger_settle - the loop is about to sleep: each socket held since the
 * last call is closed if the scanner has closed its end (or the socket
 * failed), else taken out of epoll to wait for its time.
 */
void	linger_settle(void);

/*
 * linger_event - an epoll event came for fd (in the batch during which it
 * was held).  If fd is held, returns true (the event is not curl's) and
 * closes it if the peek of linger_settle would (the event may only say
 * that fd was writable); false if fd is not held.
 */
bool	linger_event(int fd);

/*
 * linger_expire - close the held sockets whose time is up.  Returns how
 * many milliseconds the loop may sleep before it must call again: until
 * the next one is due plus LINGER_SLACK_MS, or -1 if none is held.  A
 * busy loop passes here far more often, so closes come with its passes
 * instead of waking it one by one (each socket has its own due time).
 */
int	linger_expire(double now);

/* linger_close_all - close every held socket (the loop is ending). */
void	linger_close_all(void);

/*
 * Counters: sockets held; of those, closed once the scanner had closed
 * its end (by linger_settle, by an event, or when their time was up and
 * a last peek found it closed), closed because the connection had failed
 * or held bytes nobody read (a close of ours whenever it came), and
 * closed when their time was up with the scanner's end still open; and
 * closes at once, not held: no room (see LINGER_MAX) or a descriptor
 * beyond the table.
 */
struct linger_stats {
	unsigned long	held, peer_closed, unclean, timed_out, full;
};
void	linger_stats(struct linger_stats *out);

#endif
