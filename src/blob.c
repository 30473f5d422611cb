/*
 * blob.c - message bytes in memory or spilled to a temporary file; see blob.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "fdio.h"
#include "xalloc.h"

struct blob {
	atomic_int	 refs;
	char		*head;
	size_t		 head_len;
	char		*mem;		/* body while in memory */
	size_t		 mem_len;
	size_t		 mem_cap;
	int		 fd;		/* body once spilled, else -1 */
	size_t		 body_len;
	size_t		 spill_size;
	char		*tmpdir;
};

struct blob *
blob_new(size_t spill_size, const char *tmpdir)
{
	struct blob *b = xcalloc(1, sizeof(*b));

	atomic_init(&b->refs, 1);
	b->fd = -1;
	b->spill_size = spill_size;
	b->tmpdir = xstrdup(tmpdir != NULL ? tmpdir : "/tmp");
	return b;
}

struct blob *
blob_ref(struct blob *b)
{
	atomic_fetch_add(&b->refs, 1);
	return b;
}

void
blob_unref(struct blob *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	if (b->fd != -1)
		close(b->fd);
	free(b->head);
	free(b->mem);
	free(b->tmpdir);
	free(b);
}

/* blob_spill - move the in-memory body to a fresh unlinked file. */
static int
blob_spill(struct blob *b)
{
	char *path = xasprintf("%s/scanmilter.XXXXXX", b->tmpdir);
	int fd = mkstemp(path);

	if (fd == -1) {
		free(path);
		return -1;
	}
	/* Unlinked at once: a crash can leave no message copy behind. */
	unlink(path);
	free(path);
	if (fd_write_all(fd, b->mem, b->mem_len) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	free(b->mem);
	b->mem = NULL;
	b->mem_len = b->mem_cap = 0;
	b->fd = fd;
	return 0;
}

int
blob_body_append(struct blob *b, const void *p, size_t n)
{
	if (b->fd == -1 && b->mem_len + n > b->spill_size &&
	    blob_spill(b) == -1)
		return -1;
	if (b->fd != -1) {
		if (fd_write_all(b->fd, p, n) == -1)
			return -1;
	} else {
		if (b->mem_len + n > b->mem_cap) {
			size_t cap = b->mem_cap ? b->mem_cap : 4096;

			while (cap < b->mem_len + n)
				cap *= 2;
			if (cap > b->spill_size)
				cap = b->spill_size;
			b->mem = xrealloc(b->mem, cap);
			b->mem_cap = cap;
		}
		memcpy(b->mem + b->mem_len, p, n);
		b->mem_len += n;
	}
	b->body_len += n;
	return 0;
}

void
blob_set_head(struct blob *b, char *data, size_t len)
{
	free(b->head);
	b->head = data;
	b->head_len = len;
}

size_t
blob_size(const struct blob *b)
{
	return b->head_len + b->body_len;
}

size_t
blob_body_size(const struct blob *b)
{
	return b->body_len;
}

int
blob_spilled(const struct blob *b)
{
	return b->fd != -1;
}

ssize_t
blob_read(const struct blob *b, size_t off, void *dst, size_t n)
{
	size_t done = 0;

	if (off < b->head_len) {
		size_t k = b->head_len - off < n ? b->head_len - off : n;

		memcpy(dst, b->head + off, k);
		done = k;
		off += k;
	}
	if (done == n || off >= b->head_len + b->body_len)
		return (ssize_t)done;
	off -= b->head_len;
	n -= done;
	if (n > b->body_len - off)
		n = b->body_len - off;
	if (b->fd == -1) {
		memcpy((char *)dst + done, b->mem + off, n);
		return (ssize_t)(done + n);
	}
	for (;;) {
		ssize_t r = pread(b->fd, (char *)dst + done, n, (off_t)off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return done > 0 ? (ssize_t)done : -1;
		return (ssize_t)(done + (size_t)r);
	}
}
