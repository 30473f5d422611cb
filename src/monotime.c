/*
 * monotime.c - CLOCK_MONOTONIC helpers; see monotime.h.
 */
#include "monotime.h"

double
ts_ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000.0 +
	    (t->tv_nsec - now.tv_nsec) / 1e6;
}

double
ts_ms_since(const struct timespec *t)
{
	return -ts_ms_until(t);
}

struct timespec
ts_add_ms(struct timespec t, double ms)
{
	long long ns = t.tv_nsec + (long long)(ms * 1e6);

	t.tv_sec += ns / 1000000000LL;
	t.tv_nsec = ns % 1000000000LL;
	if (t.tv_nsec < 0) {
		t.tv_nsec += 1000000000LL;
		t.tv_sec--;
	}
	return t;
}

bool
ts_later(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec &&
	    a.tv_nsec > b.tv_nsec);
}
