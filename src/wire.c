/*
 * wire.c - request and reply framing for compression and HTTPCrypt; see
 * wire.h for the shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blob.h"
#include "compress.h"
#include "httpcrypt.h"
#include "wire.h"
#include "xalloc.h"

#define CHUNK		65536
#define ONE_SEND_MAX	65536	/* below this, a plain body goes in one piece */
#define INNER_HEAD_MAX	65536	/* status line + headers of a sealed reply */

static const char hdr_compression[] = "Compression";
static const char zstd_name[] = "zstd";

/*
 * copy_plain - the blob's bytes appended to out, read straight into place
 * (no staging chunk: that was a 64 KB allocation and a second copy of
 * every message).
 */
static int
copy_plain(const struct blob *b, struct buf *out, char *err, size_t errlen)
{
	size_t size = blob_size(b), off = 0;
	char *dst;

	if (size == 0)
		return 0;
	if ((dst = buf_space(out, size)) == NULL) {
		snprintf(err, errlen, "cannot copy the message");
		return -1;
	}
	while (off < size) {
		ssize_t n = blob_read(b, off, dst + off, size - off);

		if (n <= 0) {
			snprintf(err, errlen, "cannot read the message back");
			return -1;
		}
		off += (size_t)n;
	}
	buf_commit(out, size);
	return 0;
}

/* copy_blob - the blob's bytes appended to out, compressed or not. */
static int
copy_blob(const struct blob *b, int compress, struct buf *out, char *err,
    size_t errlen)
{
	char *chunk;
	size_t off = 0;
	ssize_t n;
	int rc = 0;

	if (!compress)
		return copy_plain(b, out, err, errlen);
	chunk = xmalloc(CHUNK);
	zs_compress_begin();
	while (rc == 0 && (n = blob_read(b, off, chunk, CHUNK)) != 0) {
		if (n < 0) {
			snprintf(err, errlen, "cannot read the message back");
			rc = -1;
			break;
		}
		off += (size_t)n;
		if (zs_compress_feed(chunk, n, out) == -1) {
			snprintf(err, errlen, "cannot compress the message");
			rc = -1;
		}
	}
	if (rc == 0 && zs_compress_end(out) == -1) {
		snprintf(err, errlen, "cannot compress the message");
		rc = -1;
	}
	free(chunk);
	return rc;
}

/* lines_size - bytes of the lines with their CRLFs. */
static size_t
lines_size(const struct strlist *l)
{
	size_t n = 0;

	for (size_t i = 0; l != NULL && i < l->n; i++)
		n += strlen(l->v[i]) + 2;
	return n;
}

/* add_lines - each line with its CRLF. */
static void
add_lines(struct buf *b, const struct strlist *l)
{
	for (size_t i = 0; l != NULL && i < l->n; i++) {
		buf_puts(b, l->v[i]);
		buf_append(b, "\r\n", 2);
	}
}

/*
 * seal - out->body becomes nonce, tag and the sealed inner request; the
 * headers sent in the clear are only what HTTPCrypt itself needs.
 */
static int
seal(const struct wire_opts *o, const char *path, const struct strlist *hdrs,
    const struct blob *blob, struct buf *payload, struct wire_req *out,
    char *err, size_t errlen)
{
	size_t bodylen = o->compress && blob != NULL ? payload->len :
	    blob != NULL ? blob_size(blob) : 0;
	struct buf *b = &out->body;
	uint8_t *p;

	buf_init(b, HC_OVERHEAD + strlen(path) + 64 + lines_size(hdrs) +
	    lines_size(&out->extra) + bodylen);
	p = (uint8_t *)buf_space(b, HC_OVERHEAD);
	memset(p, 0, HC_OVERHEAD);
	buf_commit(b, HC_OVERHEAD);
	buf_printf(b, "%s %s HTTP/1.0\r\n", blob != NULL ? "POST" : "GET",
	    path);
	if (blob != NULL)
		buf_printf(b, "Content-Length: %zu\r\n", bodylen);
	add_lines(b, hdrs);
	add_lines(b, &out->extra);
	buf_append(b, "\r\n", 2);
	if (o->compress && blob != NULL)
		buf_append(b, payload->data, payload->len);
	else if (blob != NULL && copy_blob(blob, 0, b, err, errlen) == -1)
		return -1;
	p = (uint8_t *)b->data;
	hc_seal(o->peer, p + HC_OVERHEAD, b->len - HC_OVERHEAD, NULL, p,
	    p + HC_NONCE_BYTES);
	strlist_free(&out->extra);
	strlist_addf(&out->extra, "Key: %s", hc_peer_key_header(o->peer));
	strlist_addf(&out->extra, "Content-Type: application/octet-stream");
	out->path = "/post";
	out->send_hdrs = 0;
	out->built = 1;
	return 0;
}

int
wire_request(const struct wire_opts *o, const char *path,
    const struct strlist *hdrs, const struct blob *blob,
    struct wire_req *out, char *err, size_t errlen)
{
	struct buf payload;
	size_t size = blob != NULL ? blob_size(blob) : 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->path = path;
	out->send_hdrs = 1;
	buf_init(&out->body, 0);
	/* zstd's worst case is a little over the input. */
	buf_init(&payload, size + size / 64 + CHUNK);
	if (o->compress && blob != NULL) {
		if (copy_blob(blob, 1, &payload, err, errlen) == -1) {
			buf_free(&payload);
			return -1;
		}
		strlist_addf(&out->extra, "%s: %s", hdr_compression,
		    zstd_name);
	}
	if (o->peer != NULL) {
		rc = seal(o, path, hdrs, blob, &payload, out, err, errlen);
		buf_free(&payload);
	} else if (o->compress && blob != NULL) {
		out->body = payload;
		out->built = 1;
	} else {
		buf_free(&payload);
		/*
		 * A small plain body in one piece: curl then writes it in
		 * the same send as the request line and headers, and the
		 * scanner gets the request in one segment instead of two.
		 */
		if (blob != NULL && size < ONE_SEND_MAX) {
			buf_init(&out->body, size + 1);
			rc = copy_blob(blob, 0, &out->body, err, errlen);
			out->built = rc == 0;
		}
	}
	if (rc == -1)
		wire_req_free(out);
	return rc;
}

void
wire_req_free(struct wire_req *r)
{
	strlist_free(&r->extra);
	buf_free(&r->body);
	r->built = 0;
}

/* header_is - does the line "Name: value" have that name. */
static int
header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* header_value - the value of "Name: value" without blanks around it. */
static void
header_value(const char *line, size_t len, size_t namelen, const char **v,
    size_t *vlen)
{
	const char *p = line + namelen + 1, *end = line + len;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*v = p;
	*vlen = end - p;
}

int
wire_header_compressed(const char *line, size_t len)
{
	const char *v;
	size_t vlen;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (!header_is(line, len, hdr_compression))
		return 0;
	header_value(line, len, strlen(hdr_compression), &v, &vlen);
	return vlen == 4 && strncasecmp(v, zstd_name, 4) == 0 ? 1 : -1;
}

/*
 * parse_inner - a decrypted HTTP response: status, where its body is, and
 * whether it is compressed.  -1 with err if it is not one.
 */
static int
parse_inner(const char *p, size_t n, long *code, size_t *body_off,
    size_t *body_len, int *compressed, char *err, size_t errlen)
{
	const char *eoh = memmem(p, n < INNER_HEAD_MAX ? n : INNER_HEAD_MAX,
	    "\r\n\r\n", 4);
	const char *line, *next;
	long clen = -1;

	if (eoh == NULL || n < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
	    p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9') {
		snprintf(err, errlen, "sealed reply is not an HTTP response");
		return -1;
	}
	*code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	*compressed = 0;
	line = memchr(p, '\n', eoh + 2 - p) + 1;
	for (; line < eoh + 2; line = next + 1) {
		const char *v;
		size_t len, vlen;
		int c;

		next = memchr(line, '\n', eoh + 2 - line);
		len = next - line - (next > line && next[-1] == '\r');
		if (header_is(line, len, "Content-Length")) {
			header_value(line, len, 14, &v, &vlen);
			clen = strtol(v, NULL, 10);
		} else if ((c = wire_header_compressed(line, len)) == 1) {
			*compressed = 1;
		} else if (c == -1) {
			header_value(line, len, strlen(hdr_compression), &v,
			    &vlen);
			snprintf(err, errlen, "reply compressed with '%.*s'",
			    (int)(vlen > 32 ? 32 : vlen), v);
			return -1;
		}
	}
	*body_off = eoh + 4 - p;
	*body_len = n - *body_off;
	if (clen >= 0) {
		if ((size_t)clen > *body_len) {
			snprintf(err, errlen, "sealed reply cut short: %zu of "
			    "%ld bytes", *body_len, clen);
			return -1;
		}
		*body_len = (size_t)clen;
	}
	return 0;
}

/* unseal - reply becomes the body inside the sealed response. */
static int
unseal(const struct wire_opts *o, struct buf *reply, long *code,
    int *compressed, char *err, size_t errlen)
{
	uint8_t *p = (uint8_t *)reply->data;
	size_t off, len;

	if (reply->len < HC_OVERHEAD) {
		snprintf(err, errlen, "reply of %zu bytes is not sealed "
		    "(encryption refused?)", reply->len);
		return -1;
	}
	if (hc_open(o->peer, p + HC_OVERHEAD, reply->len - HC_OVERHEAD, p,
	    p + HC_NONCE_BYTES) == -1) {
		snprintf(err, errlen, "reply fails authentication (wrong key, "
		    "or not encrypted)");
		return -1;
	}
	if (parse_inner(reply->data + HC_OVERHEAD, reply->len - HC_OVERHEAD,
	    code, &off, &len, compressed, err, errlen) == -1)
		return -1;
	memmove(reply->data, reply->data + HC_OVERHEAD + off, len);
	reply->len = len;
	reply->data[len] = '\0';
	return 0;
}

int
wire_reply(const struct wire_opts *o, struct buf *reply, long *code,
    int compressed, char *err, size_t errlen)
{
	struct buf plain;

	if (o->peer != NULL) {
		if (*code != 200)
			return 0;
		if (unseal(o, reply, code, &compressed, err, errlen) == -1)
			return -1;
	}
	if (compressed == -1) {
		snprintf(err, errlen, "reply compressed with a method other "
		    "than zstd");
		return -1;
	}
	if (!compressed)
		return 0;
	buf_init(&plain, reply->limit);
	if (zs_decompress(reply->data, reply->len, &plain) == -1) {
		snprintf(err, errlen, "reply of %zu bytes does not decompress "
		    "(corrupt, cut short, or over %zu bytes)", reply->len,
		    reply->limit);
		buf_free(&plain);
		return -1;
	}
	buf_free(reply);
	*reply = plain;
	return 0;
}
