/*
 * wire - a scan or ping request as it goes on the wire to one upstream
 * group, and its reply as it comes back: in the clear, zstd compressed,
 * HTTPCrypt encrypted, or compressed then encrypted, as Rspamd's own
 * client and proxy send them.
 *
 *   compressed:  POST /checkv2, the usual headers plus "Compression: zstd",
 *                the body one zstd frame.  Rspamd then compresses its reply
 *                and says so with the same header.
 *   encrypted:   POST /post, "Key: <server key id>=<our key>", body =
 *                nonce, tag, and the sealed inner request
 *                "POST /checkv2 HTTP/1.0\r\nContent-Length: N\r\n<headers>
 *                \r\n<body>".  Every header, envelope included, is inside.
 *                The reply is sealed the same way with a fresh nonce and
 *                holds a whole HTTP response; its own status is the real one.
 *
 * Pure functions over buffers: no I/O, no shared state, so every shape is
 * unit tested (tests/unit/test_wire.c) with vectors from a real Rspamd.
 *
 * Threads: any.  Ownership: the caller owns struct wire_req and frees it
 * with wire_req_free; opts (and its peer) must outlive the call.
 */
#ifndef SCANMILTER_WIRE_H
#define SCANMILTER_WIRE_H

#include <stddef.h>

#include "buf.h"
#include "rspamd.h"

struct blob;
struct hc_peer;

/* How one group (or mirror) talks to its upstreams. */
struct wire_opts {
	struct hc_peer	*peer;		/* server key given: encrypt */
	int		 compress;	/* zstd request bodies */
};

struct wire_req {
	const char	*path;		/* URL path to ask for */
	int		 send_hdrs;	/* 1: send the caller's headers too */
	struct strlist	 extra;		/* header lines of our own */
	int		 built;		/* 1: body holds it; 0: send the blob */
	struct buf	 body;
};

/*
 * wire_request - the request for path with header lines hdrs and the
 * message in blob (NULL: no body, as for /ping).  A plain request under
 * 64 KB is copied into body in one piece (curl then sends it with the
 * headers, in one write); a larger one is not copied (built = 0: send the
 * blob as it is).  -1 with err if the blob cannot be read or compression
 * fails.
 */
int	wire_request(const struct wire_opts *, const char *path,
	    const struct strlist *hdrs, const struct blob *blob,
	    struct wire_req *out, char *err, size_t errlen);
void	wire_req_free(struct wire_req *);

/*
 * wire_header_compressed - one reply header line (its CRLF may be there):
 * 1 for "Compression: zstd", -1 for a Compression header naming anything
 * else, 0 for any other header.  The one place that reads that header.
 */
int	wire_header_compressed(const char *line, size_t len);

/*
 * wire_reply - reply holds the body as received, *code the HTTP status,
 * compressed what wire_header_compressed said of its headers (-1 is an
 * error: a compression we cannot undo).  On return
 * reply holds the scanner's plain answer and *code its own status (for an
 * encrypted reply, the status sealed inside).  -1 with err if the reply
 * fails authentication, is not a sealed HTTP response when one is due,
 * cannot be decompressed, or would pass reply's limit: never a verdict.
 * A non-200 outer status is left alone for the caller to judge.
 */
int	wire_reply(const struct wire_opts *, struct buf *reply, long *code,
	    int compressed, char *err, size_t errlen);

#endif
