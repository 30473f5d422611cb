/*
 * milterfix - libmilter's locks must outlive its stop.
 *
 * When smfi_main returns, libmilter's worker-pool controller destroys the
 * pool's mutex and condition variable (its static task manager), and the
 * listener destroys its own mutex, while worker threads still run the
 * sessions of messages in progress: the very messages main's drain lets
 * finish.  Each such worker, done with its session, then locks the
 * destroyed mutex (glibc answers EINVAL and libmilter goes on without the
 * lock) and takes the session off the pool's list; two workers finishing
 * together edit that list with no lock at all.  ThreadSanitizer reports it
 * on every stop in the test suite ("use of an invalid mutex" in mi_worker).
 *
 * libmilter keeps these objects in static storage.  The linker sends the
 * destroy calls made by code linked into the binary (libmilter's and ours)
 * here (-Wl,--wrap=pthread_mutex_destroy,--wrap=pthread_cond_destroy; see
 * the Makefile), and a destroy of an object in the binary's own data is
 * skipped: it lives until the process ends and stays usable until then.
 * Objects elsewhere (the heap) are destroyed as asked.  scanmilter's own
 * static locks are never destroyed, so nothing of ours changes.
 *
 * Thread: any.  No state.
 */
#include <pthread.h>
#include <stdbool.h>

#include "milterfix.h"

/* From the linker (end(3)): the end of the text, and of all data. */
extern char etext, end;

int	__real_pthread_mutex_destroy(pthread_mutex_t *);
int	__real_pthread_cond_destroy(pthread_cond_t *);
int	__wrap_pthread_mutex_destroy(pthread_mutex_t *);
int	__wrap_pthread_cond_destroy(pthread_cond_t *);

bool
milterfix_is_static(const void *p)
{
	const char *c = p;

	return c >= &etext && c < &end;
}

int
__wrap_pthread_mutex_destroy(pthread_mutex_t *m)
{
	if (milterfix_is_static(m))
		return 0;
	return __real_pthread_mutex_destroy(m);
}

int
__wrap_pthread_cond_destroy(pthread_cond_t *c)
{
	if (milterfix_is_static(c))
		return 0;
	return __real_pthread_cond_destroy(c);
}
