/*
 * monotime - small helpers on CLOCK_MONOTONIC times (struct timespec):
 * deadlines, elapsed time.  Pure but for reading the clock; thread: any.
 */
#ifndef SCANMILTER_MONOTIME_H
#define SCANMILTER_MONOTIME_H

#include <stdbool.h>
#include <time.h>

/* ts_ms_until - milliseconds from now to t (negative once t has passed). */
double		ts_ms_until(const struct timespec *t);
/* ts_ms_since - milliseconds from t to now. */
double		ts_ms_since(const struct timespec *t);
/* ts_add_ms - t + ms (ms may be negative). */
struct timespec	ts_add_ms(struct timespec t, double ms);
/* ts_later - is a after b. */
bool		ts_later(struct timespec a, struct timespec b);

#endif
