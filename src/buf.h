/*
 * buf - a growing byte buffer with a mandatory ceiling.
 *
 * Every buffer that input can grow is a struct buf with a limit, as libcurl's
 * dynbuf: an append that would pass the limit fails with -1 and leaves the
 * buffer as it was, so the caller turns "too big" into a per-message policy
 * decision instead of unbounded memory.  Contents are always NUL-terminated
 * (not counted in len) so text can be read in place.
 *
 * Thread: a buf belongs to whoever holds it; no locking.
 */
#ifndef SCANMILTER_BUF_H
#define SCANMILTER_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* NULL until first append */
	size_t	 len;
	size_t	 cap;
	size_t	 limit;		/* most bytes len may reach */
};

/* buf_init - empty buffer holding at most limit bytes. */
void	buf_init(struct buf *, size_t limit);
/* buf_reset - empty it, keep memory and limit. */
void	buf_reset(struct buf *);
/* buf_free - release memory; the buf may be buf_init'ed again. */
void	buf_free(struct buf *);
/* buf_append - add n bytes; -1 (nothing added) if over the limit. */
int	buf_append(struct buf *, const void *, size_t n);
int	buf_puts(struct buf *, const char *);
/*
 * buf_space - room for n more bytes at the end, for a writer that produces
 * in place (a decompressor); NULL past the limit.  buf_commit then counts
 * the bytes actually written (at most n).
 */
char	*buf_space(struct buf *, size_t n);
void	buf_commit(struct buf *, size_t n);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* buf_steal - hand the data to the caller (who frees it); buf is empty. */
char	*buf_steal(struct buf *, size_t *lenp);

#endif
