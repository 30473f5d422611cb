/*
 * mworkers - libmilter's session workers keep their threads.
 *
 * libmilter's worker pool (Debian builds it with _FFR_WORKERS_POOL) lets a
 * worker end as soon as more than two exist and more than one is idle
 * (MIN_WORKERS and MIN_IDLE, compiled in), and starts a thread for a new
 * session when none is idle.  Under load that is a thread started and
 * ended for nearly every MTA connection: clone, the stack's pages faulted
 * in again (glibc drops them when a thread ends), the thread's zstd
 * contexts (compress.c) made anew.  At 32 sessions at a time and a
 * connection per message, 541 to 601 threads started per 1000 messages.
 *
 * The daemon links libmilter statically, and the linker sends the calls
 * to pthread_create and pthread_detach made by code linked into the
 * binary here (-Wl,--wrap=...; see the Makefile).  A thread started
 * without attributes runs its function under a loop (run in mworkers.c):
 * if the function left the thread joinable, the thread ends with its
 * result, as it would have.  If it detached its own thread, as libmilter's
 * worker does first thing, nobody can join it, so instead of ending the
 * thread parks (up to MWORKERS_PARKED of them, each for MWORKERS_IDLE_S
 * at most), and the function is remembered: its next start is handed to
 * a parked thread instead of a new one.  To libmilter that is a new
 * thread like any other; its counts and session states stay its own.  On
 * a reused thread, already detached, the function's own detach answers 0.
 * Threads started with attributes pass straight through.
 *
 * Thread: the wrappers, any.  Parked threads hold no lock of libmilter's
 * or ours; the process may end with some parked.
 */
#ifndef SCANMILTER_MWORKERS_H
#define SCANMILTER_MWORKERS_H

#define MWORKERS_PARKED	32	/* threads kept waiting for a start */
#define MWORKERS_IDLE_S	30	/* how long one waits before it ends */

/* Counters (the stats line, tests). */
struct mworkers_stats {
	unsigned long	started;	/* threads started under run */
	unsigned long	reused;		/* starts handed to a parked thread */
	unsigned long	parked;		/* waiting now */
};
void	mworkers_stats(struct mworkers_stats *out);

#endif
