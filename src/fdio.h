/*
 * fdio - whole writes to a file descriptor.
 *
 * write(2) may write less than asked (a pipe, a full disk) or be cut by a
 * signal; callers that need every byte out, or a clear failure, use this.
 *
 * Thread: any; no state.
 */
#ifndef SCANMILTER_FDIO_H
#define SCANMILTER_FDIO_H

#include <stddef.h>

/* fd_write_all - write all n bytes of p; -1 with errno if that fails. */
int	fd_write_all(int fd, const void *p, size_t n);

#endif
