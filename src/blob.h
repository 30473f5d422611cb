/*
 * blob - one message as sent to a scanner: a header block in memory followed
 * by a body that lives in memory until it passes spill_size and in an
 * unlinked temporary file after that.
 *
 * Lifetime: blob_new() returns one reference.  The milter thread appends the
 * body, then sets the header block at end of message and stops writing; from
 * then on the blob is read-only and may be shared (the scan loop reads it for
 * each attempt and each mirror).  blob_ref/blob_unref are atomic, so any
 * thread may drop the last reference.  blob_read() uses pread() and is safe
 * from several threads at once on a read-only blob.
 */
#ifndef SCANMILTER_BLOB_H
#define SCANMILTER_BLOB_H

#include <stddef.h>
#include <sys/types.h>

struct blob;

struct blob	*blob_new(size_t spill_size, const char *tmpdir);
struct blob	*blob_ref(struct blob *);
/* blob_unref - drop a reference; frees memory and closes the file. NULL ok. */
void		 blob_unref(struct blob *);

/*
 * blob_body_append - add body bytes.  Returns 0, or -1 with errno set if the
 * spill file could not be created or written (a per-message error).
 */
int		 blob_body_append(struct blob *, const void *, size_t);
/* blob_set_head - the header block; the blob takes ownership of data. */
void		 blob_set_head(struct blob *, char *data, size_t len);

size_t		 blob_size(const struct blob *);
size_t		 blob_body_size(const struct blob *);
int		 blob_spilled(const struct blob *);
/*
 * blob_read - copy up to n bytes from offset off of head+body into dst.
 * Returns the count (0 at the end), or -1 with errno on a read error.
 */
ssize_t		 blob_read(const struct blob *, size_t off, void *dst, size_t n);

#endif
