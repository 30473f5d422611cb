/*
 * fdio - whole writes to a file descriptor, and the size of a table kept
 * by descriptor number.
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

/*
 * fd_table_size - how many slots a table indexed by descriptor needs to
 * hold every descriptor this process may open (RLIMIT_NOFILE's soft
 * limit), but at most cap.  Descriptors past it are the caller's to pass
 * over.
 */
int	fd_table_size(int cap);

#endif
