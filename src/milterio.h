/*
 * milterio - read-ahead and write coalescing under libmilter's sockets.
 *
 * libmilter reads each command from the MTA with a poll() and two read()s
 * (length and command byte, then the data), and polls once more before
 * the next command: some five system calls for every header line, about
 * 75 for an ordinary message.  Each modification it sends (add a header,
 * say) is a poll() and a writev() of its own.  On a busy filter these
 * system calls were half of scanmilter's CPU time.
 *
 * The daemon links libmilter statically, and the linker sends the calls
 * to accept, poll, read, writev and close made by code
 * linked into the binary (libmilter's and our own) to the __wrap_*
 * functions here (-Wl,--wrap=...; see the Makefile).  Shared libraries
 * (libcurl, Lua, the C library itself) call the real functions.  Only libmilter accepts
 * connections, so only its MTA sockets get buffers; every other descriptor
 * passes straight through.  For a socket libmilter accepted:
 *
 *   - read() takes up to MILTERIO_BUF bytes at once and serves later
 *     reads from that buffer; poll() for input answers at once while the
 *     buffer holds bytes, else it asks the kernel;
 *   - libmilter's 1 ms "more input?" poll, which in its worker-pool build
 *     hands a quiet session to a controller thread, waits instead on the
 *     session's own thread for up to 10 s (see idle_wait in milterio.c);
 *   - writev() of a modification (add/insert/change header, envelope
 *     changes, replace body, quarantine) is held back and goes out in one
 *     write together with the next reply the MTA waits for.  Progress
 *     notes and every reply are written at once.  poll() for output on
 *     such a socket answers at once; the write itself waits for the
 *     socket with the milter timeout, as libmilter's own loop would;
 *   - accept() waits (at most 20 ms) until a worker has taken the session
 *     accepted before, unless libmilter started a new thread for it
 *     (pthread_create on the listener: milterio_thread_start, which
 *     mworkers.c calls): libmilter's pool can otherwise
 *     lose the wakeup of a session that comes in a burst and leave it
 *     unserved for up to 10 s (see claim_wait in milterio.c).
 *
 * Held header changes count as done when libmilter hands them over; if
 * the reply after them cannot be sent, a warning says so (the message's
 * summary line may already be written; the MTA, without a reply, keeps
 * the message).  Every other descriptor goes straight to the C library.
 * Read-ahead
 * starts on a socket only once libmilter has polled it (a libmilter
 * built to use select() would never see buffered bytes, so it never gets
 * any).  Buffers are fixed in size, one per open milter connection, and
 * freed when libmilter closes the socket.
 *
 * Thread: milterio_init before libmilter starts (main thread).  Each
 * socket is used by one libmilter thread at a time, which is how
 * libmilter works; the per-socket state is handed over with the socket.
 */
#ifndef SCANMILTER_MILTERIO_H
#define SCANMILTER_MILTERIO_H

#include <stdbool.h>

#define MILTERIO_BUF	16384	/* read-ahead per connection */
#define MILTERIO_OUT	16384	/* held-back modifications per connection */

/*
 * milterio_init - enable (on = true) or disable the buffering for sockets
 * accepted from now on; timeout_s (the milter timeout) bounds a write and
 * a quiet session's wait on its thread.  Returns 0, or -1 if the
 * descriptor table or the stop pipe could not be made (then everything
 * goes straight through).
 */
int	milterio_init(bool on, int timeout_s);

/*
 * milterio_stop - the daemon is stopping (milter_run, after smfi_main
 * returns): sessions waiting for the MTA's next command are handed to
 * libmilter's stopped pool at once instead of taking new messages, unless
 * they are in the middle of one (milterio_note_in_message).
 */
void	milterio_stop(void);

/*
 * milterio_note_in_message - from a milter callback: a message is open
 * on the connection whose command this thread just read (MAIL seen, no
 * end of message or abort yet).  The flag belongs to the connection, not
 * the thread.  After a stop, such a session still waits for the rest of
 * its message, so that main's drain can answer it; any other waiting
 * session is handed back at once.
 */
void	milterio_note_in_message(bool in);

/*
 * milterio_note_message - from the end-of-message callback: the queue id
 * of the message whose answer libmilter sends next on this connection, so
 * that a failed send (or a close with header changes unsent) names it.
 * Kept with the connection until the answer has gone out.
 */
void	milterio_note_message(const char *qid);

/*
 * milterio_answers_due - end-of-message answers noted and not yet sent
 * (or failed): main, stopping, waits for them as for the messages, since
 * libmilter sends an answer only after the callback has returned.  Counts
 * buffered sockets only (milter.buffered_io).  Any thread.
 */
int	milterio_answers_due(void);

/*
 * milterio_thread_start - from the pthread_create wrapper (mworkers.c),
 * for every thread start: the listener's start of a new session's worker
 * (arg is the session) counts that session as claimed (see claim_wait).
 */
void	milterio_thread_start(const void *arg);

/* Counters (the stats line, tests): system calls saved. */
struct milterio_stats {
	unsigned long	reads_served;	/* reads answered from the buffer */
	unsigned long	polls_served;	/* polls answered without the kernel */
	unsigned long	writes_held;	/* modifications held back */
	unsigned long	waits_kept;	/* quiet sessions (over 1 ms) kept on
					   their thread, off the worker pool */
	unsigned long	accepts_held;	/* accepts that waited for a worker
					   to claim the session before */
	unsigned long	claims_late;	/* waits that gave up (CLAIM_WAIT_MS) */
};
void	milterio_stats(struct milterio_stats *out);

#endif
