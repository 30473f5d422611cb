/*
 * xalloc - allocation that never returns NULL.
 *
 * Out of memory is treated as an environment failure: the process logs the
 * size it wanted and exits (systemd restarts it; the MTA's
 * milter_default_action answers the messages in flight).  No size that input
 * controls may reach these functions unbounded: every input-driven buffer has
 * its own ceiling (see buf.h), so running out here means the machine is out,
 * not that a message was hostile.
 *
 * Thread: any.
 */
#ifndef SCANMILTER_XALLOC_H
#define SCANMILTER_XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
/*
 * xgrow - array p of n elements, each size bytes, with room for one more:
 * it grows to 4, 8, 16 ... elements, so n appends cost about log n
 * reallocations, not n.  The room is implied by n, so an array must grow
 * only through xgrow (and may shrink by lowering n).
 */
void	*xgrow(void *p, size_t n, size_t size);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/*
 * xstrndup_printable - xstrndup with every control byte (below 0x20, and
 * DEL) replaced by repl: for text that goes into one header or reply line.
 */
char	*xstrndup_printable(const char *, size_t, char repl);
/*
 * copy_printable - the n bytes of src into dst, control bytes as repl, and
 * a NUL after them (dst has room for n + 1): xstrndup_printable's rule
 * for a caller that owns the buffer.
 */
void	 copy_printable(char *dst, const char *src, size_t n, char repl);
/* xasprintf - formatted string in fresh memory; caller frees. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
