/*
 * xorshift.h - a small deterministic generator for the tests that make
 * their own inputs, so that a failure repeats with the same case number.
 * Each test keeps its own state (seed) and so its own sequence.
 */
#ifndef SCANMILTER_TEST_XORSHIFT_H
#define SCANMILTER_TEST_XORSHIFT_H

#include <stdint.h>

/* xorshift_below - the next number of *state's sequence, below n. */
static inline unsigned
xorshift_below(uint64_t *state, unsigned n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (unsigned)(*state % n);
}

#endif
