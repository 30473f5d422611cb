/*
 * compress.c - zstd streaming into bounded buffers; see compress.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

#include "buf.h"
#include "compress.h"

/* Per-thread contexts: a context is a few hundred KB; make one per thread,
 * not one per message. */
struct zs_ctx {
	ZSTD_CCtx	*c;
	ZSTD_DCtx	*d;
};

static pthread_key_t	zs_key;
static pthread_once_t	zs_once = PTHREAD_ONCE_INIT;

static void
zs_ctx_free(void *arg)
{
	struct zs_ctx *z = arg;

	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

static void
zs_key_init(void)
{
	(void)pthread_key_create(&zs_key, zs_ctx_free);
}

/* zs_ctx - this thread's contexts; NULL if out of memory. */
static struct zs_ctx *
zs_ctx(void)
{
	struct zs_ctx *z;

	pthread_once(&zs_once, zs_key_init);
	if ((z = pthread_getspecific(zs_key)) != NULL)
		return z;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	if (z->c == NULL || z->d == NULL ||
	    pthread_setspecific(zs_key, z) != 0) {
		zs_ctx_free(z);
		return NULL;
	}
	return z;
}

void
zs_compress_begin(void)
{
	struct zs_ctx *z = zs_ctx();

	if (z == NULL)
		return;
	ZSTD_CCtx_reset(z->c, ZSTD_reset_session_only);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, ZS_LEVEL);
	/* Rspamd reads the size from the frame header to size its buffer. */
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1);
}

/*
 * out_space - up to want bytes of room at the end of out, less near its
 * limit; NULL (and *got 0) when it is full.
 */
static char *
out_space(struct buf *out, size_t want, size_t *got)
{
	size_t left = out->limit - out->len;

	*got = want < left ? want : left;
	return *got > 0 ? buf_space(out, *got) : NULL;
}

/* zs_run - drive the compressor over in with mode until it is done. */
static int
zs_run(const void *in, size_t n, ZSTD_EndDirective mode, struct buf *out)
{
	struct zs_ctx *z = zs_ctx();
	ZSTD_inBuffer zin = { in, n, 0 };
	size_t left;

	if (z == NULL)
		return -1;
	do {
		size_t room;
		char *dst = out_space(out, ZSTD_CStreamOutSize(), &room);
		ZSTD_outBuffer zout = { dst, room, 0 };

		if (dst == NULL)
			return -1;
		left = ZSTD_compressStream2(z->c, &zout, &zin, mode);
		if (ZSTD_isError(left))
			return -1;
		buf_commit(out, zout.pos);
	} while (mode == ZSTD_e_end ? left != 0 : zin.pos < zin.size);
	return 0;
}

int
zs_compress_feed(const void *in, size_t n, struct buf *out)
{
	return zs_run(in, n, ZSTD_e_continue, out);
}

int
zs_compress_end(struct buf *out)
{
	return zs_run(NULL, 0, ZSTD_e_end, out);
}

int
zs_decompress(const void *in, size_t n, struct buf *out)
{
	struct zs_ctx *z = zs_ctx();
	ZSTD_inBuffer zin = { in, n, 0 };
	size_t r;

	if (z == NULL)
		return -1;
	ZSTD_DCtx_reset(z->d, ZSTD_reset_session_only);
	for (;;) {
		size_t room;
		char *dst = out_space(out, ZSTD_DStreamOutSize(), &room);
		ZSTD_outBuffer zout = { dst, room, 0 };

		if (dst == NULL)
			return -1;
		r = ZSTD_decompressStream(z->d, &zout, &zin);
		if (ZSTD_isError(r))
			return -1;
		buf_commit(out, zout.pos);
		/* Room to spare with all input read: nothing more to come. */
		if (zin.pos == zin.size && zout.pos < zout.size)
			break;
	}
	/* r != 0: the last frame is incomplete (cut short). */
	return r == 0 ? 0 : -1;
}
