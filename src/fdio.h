/*
 * fdio - whole writes to a file descriptor, the size of a table kept by
 * descriptor number, and opening a file that must be a regular one.
 *
 * write(2) may write less than asked (a pipe, a full disk) or be cut by a
 * signal; callers that need every byte out, or a clear failure, use this.
 *
 * Thread: any; no state.
 */
#ifndef SCANMILTER_FDIO_H
#define SCANMILTER_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* fd_write_all - write all n bytes of p; -1 with errno if that fails. */
int	fd_write_all(int fd, const void *p, size_t n);

/*
 * fd_table_size - how many slots a table indexed by descriptor needs to
 * hold every descriptor this process may open (RLIMIT_NOFILE's soft
 * limit), but at most cap.  Descriptors past it are the caller's to pass
 * over.
 */
int	fd_table_size(int cap);

/*
 * fd_open_regular - open path read-only, for a regular file only, its size
 * in *size (if not NULL); -1 with the reason in why ("not a regular file",
 * or strerror's).  It opens without blocking and looks before anyone
 * reads: a plain open of a FIFO would wait for a writer for ever (in -t,
 * or the signal thread on a reload).  The descriptor is close-on-exec;
 * reads of a regular file do not mind O_NONBLOCK.
 */
int	fd_open_regular(const char *path, size_t *size, char *why,
	    size_t whylen);

/*
 * fd_read_full - read up to n bytes into p, until n or the end of the
 * file (a file that grew since its size was taken is read as far as it
 * was); the count, or -1 with errno.
 */
ssize_t	fd_read_full(int fd, void *p, size_t n);

#endif
