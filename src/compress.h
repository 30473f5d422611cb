/*
 * compress - zstd, the way Rspamd speaks it: a request body compressed as
 * one zstd frame (announced by "Compression: zstd"), and replies that come
 * back the same way.  Rspamd's own proxy compresses at level 1, which buys
 * most of the size for little CPU; so do we.
 *
 * Every output goes into a struct buf, whose limit bounds what a hostile
 * or broken peer can make us allocate (a small frame can claim gigabytes).
 *
 * This is the only file that includes <zstd.h>.
 *
 * Threads: any.  Each thread keeps its own zstd contexts (created on first
 * use, freed when the thread exits), so nothing is shared.
 */
#ifndef SCANMILTER_COMPRESS_H
#define SCANMILTER_COMPRESS_H

#include <stddef.h>

struct buf;

#define ZS_LEVEL	1

/*
 * zs_compress_begin, zs_compress_feed, zs_compress_end - one frame built
 * from pieces, appended to out.  -1 if out's limit is passed or zstd fails
 * (the frame in out is then unusable).  begin starts a new frame on this
 * thread's context; feed and end continue it.
 */
void	zs_compress_begin(void);
int	zs_compress_feed(const void *in, size_t n, struct buf *out);
int	zs_compress_end(struct buf *out);

/*
 * zs_decompress - every frame in in[0..n) appended to out.  -1 on corrupt
 * or truncated input or past out's limit.
 */
int	zs_decompress(const void *in, size_t n, struct buf *out);

#endif
