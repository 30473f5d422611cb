/*
 * milterfix - keeps libmilter's static mutexes and condition variables
 * alive past smfi_main's return, while its workers still finish the
 * sessions main drains (see milterfix.c for the race).  The work is done
 * by __wrap_pthread_mutex_destroy and __wrap_pthread_cond_destroy, which
 * the linker puts in place of the C library's for code in the binary.
 *
 * Thread: any.
 */
#ifndef SCANMILTER_MILTERFIX_H
#define SCANMILTER_MILTERFIX_H

#include <stdbool.h>

/* milterfix_is_static - does p point into the binary's own data (not the
 * heap, a stack or a shared library)?  The test a destroy is skipped by. */
bool	milterfix_is_static(const void *p);

#endif
