/*
 * test_wire.c - HTTPCrypt and zstd framing against bytes from a real
 * Rspamd 3.4 (wire_vectors.h), and every way a reply can be refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "buf.h"
#include "compress.h"
#include "httpcrypt.h"
#include "wire.h"
#include "wire_vectors.h"

/* The test worker's key pair (tests/rspamd/rspamd.conf). */
static const char worker_sk_b32[] =
    "ouxp7e5koxdjthyqob5asu46ogfiioqcup5d9o7zz5kykyjex71y";
static const char worker_pk_b32[] =
    "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgyy";
static const char worker_id_b32[] =
    "fe7mbs1azojda833kchde89n4p6bq6yu1p8u7u3ei99uuc68txo918rs3jebsti5npg"
    "ewiyo86r9gnuzsb9zu17ir3wf14839m8nkon";

static uint8_t worker_sk[32], worker_pk[32], client_sk[32];

static int
setup(void **state)
{
	char err[200];

	assert_int_equal(hc_init(), 0);
	assert_int_equal(hc_b32_decode(worker_sk_b32, 52, worker_sk, 32), 32);
	assert_int_equal(hc_pubkey_parse(worker_pk_b32, worker_pk, err,
	    sizeof(err)), 0);
	for (int i = 0; i < 32; i++)
		client_sk[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

/* key_of - the public key in a Key header value "id=pk". */
static void
key_of(const char *hdr, uint8_t pk[32])
{
	const char *eq = strchr(hdr, '=');
	char err[200];

	assert_non_null(eq);
	assert_int_equal(hc_pubkey_parse(eq + 1, pk, err, sizeof(err)), 0);
}

/* Rspamd's base32 and key ids, as "rspamadm keypair" printed them. */
static void
test_keys(void **state)
{
	uint8_t id[HC_ID_BYTES], buf[64];
	char out[200], err[200];
	struct hc_peer *self;

	hc_key_id(worker_pk, id);
	assert_int_equal(hc_b32_encode(id, sizeof(id), out, sizeof(out)), 103);
	assert_string_equal(out, worker_id_b32);
	assert_int_equal(hc_b32_encode(worker_pk, 32, out, sizeof(out)), 52);
	assert_string_equal(out, worker_pk_b32);
	/* Our public key from the secret one, and the short id of the peer. */
	self = hc_peer_new(worker_pk, worker_sk);
	assert_non_null(self);
	snprintf(out, sizeof(out), "%.8s=%s", worker_id_b32, worker_pk_b32);
	assert_string_equal(hc_peer_key_header(self), out);
	hc_peer_free(self);
	/* Errors an operator can make. */
	assert_int_equal(hc_pubkey_parse("8anr6f3q", buf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "52 base32 characters"));
	snprintf(out, sizeof(out), "%s", worker_pk_b32);
	out[10] = 'l';		/* not in the alphabet, like 0, 2 and v */
	assert_int_equal(hc_pubkey_parse(out, buf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "character 11 ('l')"));
	assert_int_equal(hc_b32_encode(worker_pk, 32, out, 52), -1);
	assert_int_equal(hc_b32_decode(worker_pk_b32, 52, buf, 31), -1);
}

/* rspamc's own sealed request opens with the worker's secret key. */
static void
test_rspamc_request(void **state)
{
	size_t n = sizeof(rspamc_req);
	char *req = malloc(n + 1), *key, *eol, *body;
	uint8_t cpk[32], *p;
	struct hc_peer *srv;
	size_t blen;
	static const char inner[] = "POST /checkv2 HTTP/1.0\r\n"
	    "Content-Length: 44\r\n";

	memcpy(req, rspamc_req, n);
	req[n] = '\0';
	assert_memory_equal(req, "POST /post HTTP/1.0\r\n", 21);
	key = strstr(req, "\r\nKey: ") + 7;
	eol = strstr(key, "\r\n");
	*eol = '\0';
	assert_memory_equal(key, worker_id_b32, 8);
	key_of(key, cpk);
	body = strstr(eol + 1, "\r\n\r\n");
	assert_null(body);	/* the NUL above split it: find by offset */
	body = eol + 4;
	blen = n - (size_t)(body - req);
	p = (uint8_t *)body;
	srv = hc_peer_new(cpk, worker_sk);
	/* A flipped bit anywhere fails the tag and leaves the data alone. */
	p[HC_OVERHEAD + 3] ^= 1;
	assert_int_equal(hc_open(srv, p + HC_OVERHEAD, blen - HC_OVERHEAD, p,
	    p + HC_NONCE_BYTES), -1);
	p[HC_OVERHEAD + 3] ^= 1;
	assert_int_equal(hc_open(srv, p + HC_OVERHEAD, blen - HC_OVERHEAD, p,
	    p + HC_NONCE_BYTES), 0);
	assert_memory_equal(p + HC_OVERHEAD, inner, strlen(inner));
	assert_non_null(memmem(p + HC_OVERHEAD, blen - HC_OVERHEAD,
	    "\r\n\r\nFrom: a@example.org\r\nSubject: vec\r\n\r\nhello\r\n",
	    48));
	hc_peer_free(srv);
	free(req);
}

/* The worker's sealed replies open with our fixed client key. */
static void
test_worker_replies(void **state)
{
	struct wire_opts o = { hc_peer_new(worker_pk, client_sk), 0 };
	struct buf b;
	long code = 200;
	char err[200];

	buf_init(&b, 1 << 20);
	buf_append(&b, worker_ping_rep, sizeof(worker_ping_rep));
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), 0);
	assert_int_equal(code, 200);
	assert_string_equal(b.data, "pong\r\n");
	/* A compressed scan: sealed, then zstd inside. */
	buf_reset(&b);
	buf_append(&b, worker_check_rep, sizeof(worker_check_rep));
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), 0);
	assert_int_equal(code, 200);
	assert_true(b.len > sizeof(worker_check_rep));
	assert_int_equal(b.data[0], '{');
	assert_non_null(strstr(b.data, "\"message-id\":\"v1@example.org\""));
	assert_non_null(strstr(b.data, "\"action\":"));
	/* The same bytes with another client key are refused. */
	hc_peer_free(o.peer);
	o.peer = hc_peer_new(worker_pk, NULL);
	buf_reset(&b);
	buf_append(&b, worker_ping_rep, sizeof(worker_ping_rep));
	code = 200;
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "authentication"));
	hc_peer_free(o.peer);
	buf_free(&b);
}

/* msg_blob - a blob holding text. */
static struct blob *
msg_blob(const char *text)
{
	struct blob *b = blob_new(1 << 20, "/tmp");

	assert_int_equal(blob_body_append(b, text, strlen(text)), 0);
	return b;
}

static const char msg[] = "From: a@example.org\r\nSubject: t\r\n\r\nbody\r\n";

/*
 * open_request - as the worker would: the Key header names its key, the
 * body opens with its secret key; returns the inner request.
 */
static char *
open_request(const struct wire_req *r, size_t *len)
{
	uint8_t cpk[32];
	struct hc_peer *srv;
	char *p;
	char want[200];

	assert_string_equal(r->path, "/post");
	assert_int_equal(r->send_hdrs, 0);
	assert_int_equal(r->built, 1);
	assert_int_equal(r->extra.n, 2);
	snprintf(want, sizeof(want), "Key: %.8s=", worker_id_b32);
	assert_memory_equal(r->extra.v[0], want, strlen(want));
	assert_string_equal(r->extra.v[1],
	    "Content-Type: application/octet-stream");
	key_of(r->extra.v[0] + 5, cpk);
	srv = hc_peer_new(cpk, worker_sk);
	*len = r->body.len - HC_OVERHEAD;
	p = malloc(*len + 1);
	memcpy(p, r->body.data + HC_OVERHEAD, *len);
	p[*len] = '\0';
	assert_int_equal(hc_open(srv, (uint8_t *)p, *len,
	    (const uint8_t *)r->body.data,
	    (const uint8_t *)r->body.data + HC_NONCE_BYTES), 0);
	hc_peer_free(srv);
	return p;
}

static void
test_requests(void **state)
{
	struct wire_opts plain = { NULL, 0 }, z = { NULL, 1 };
	struct wire_opts enc = { hc_peer_new(worker_pk, client_sk), 0 };
	struct wire_opts both = { enc.peer, 1 };
	struct strlist h = { NULL, 0 };
	struct blob *b = msg_blob(msg);
	struct wire_req r;
	struct buf out;
	char err[200], want[300], *in;
	size_t n;

	strlist_addf(&h, "Queue-Id: Q1");
	strlist_addf(&h, "Rcpt: <b@example.org>");
	/* In the clear and small: the message in one piece, as it is. */
	assert_int_equal(wire_request(&plain, "/checkv2", &h, b, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.path, "/checkv2");
	assert_int_equal(r.send_hdrs, 1);
	assert_int_equal(r.built, 1);
	assert_int_equal(r.body.len, strlen(msg));
	assert_memory_equal(r.body.data, msg, strlen(msg));
	assert_int_equal(r.extra.n, 0);
	wire_req_free(&r);
	/* In the clear from 64 KB on: nothing copied, curl streams it. */
	{
		char *big = malloc(70000);
		struct blob *bb;

		memset(big, 'x', 69999);
		big[69999] = '\0';
		bb = msg_blob(big);
		assert_int_equal(wire_request(&plain, "/checkv2", &h, bb, &r,
		    err, sizeof(err)), 0);
		assert_int_equal(r.built, 0);
		assert_int_equal(r.body.len, 0);
		wire_req_free(&r);
		blob_unref(bb);
		free(big);
	}
	/* Compressed: one zstd frame of the message, and the header. */
	assert_int_equal(wire_request(&z, "/checkv2", &h, b, &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.built, 1);
	assert_int_equal(r.send_hdrs, 1);
	assert_string_equal(r.extra.v[0], "Compression: zstd");
	buf_init(&out, 1 << 20);
	assert_int_equal(zs_decompress(r.body.data, r.body.len, &out), 0);
	assert_string_equal(out.data, msg);
	wire_req_free(&r);
	/* Encrypted: the whole request, headers included, is inside. */
	assert_int_equal(wire_request(&enc, "/checkv2", &h, b, &r, err,
	    sizeof(err)), 0);
	in = open_request(&r, &n);
	snprintf(want, sizeof(want), "POST /checkv2 HTTP/1.0\r\n"
	    "Content-Length: %zu\r\nQueue-Id: Q1\r\nRcpt: <b@example.org>\r\n"
	    "\r\n%s", strlen(msg), msg);
	assert_string_equal(in, want);
	free(in);
	wire_req_free(&r);
	/* Both: compressed body, its header inside the sealed request. */
	assert_int_equal(wire_request(&both, "/checkv2", &h, b, &r, err,
	    sizeof(err)), 0);
	in = open_request(&r, &n);
	assert_non_null(strstr(in, "\r\nCompression: zstd\r\n\r\n"));
	buf_reset(&out);
	{
		char *body = strstr(in, "\r\n\r\n") + 4;
		size_t blen = n - (size_t)(body - in);

		assert_int_equal(zs_decompress(body, blen, &out), 0);
		assert_string_equal(out.data, msg);
		snprintf(want, sizeof(want), "Content-Length: %zu\r\n", blen);
		assert_non_null(strstr(in, want));
	}
	free(in);
	wire_req_free(&r);
	/* A ping: no body, GET inside. */
	assert_int_equal(wire_request(&enc, "/ping", NULL, NULL, &r, err,
	    sizeof(err)), 0);
	in = open_request(&r, &n);
	assert_string_equal(in, "GET /ping HTTP/1.0\r\n\r\n");
	free(in);
	wire_req_free(&r);
	buf_free(&out);
	blob_unref(b);
	strlist_free(&h);
	hc_peer_free(enc.peer);
}

/* seal_reply - a reply body as the worker would seal it to us. */
static void
seal_reply(struct buf *b, const char *inner, size_t len)
{
	struct hc_peer *us = hc_peer_new(worker_pk, client_sk), *srv;
	uint8_t cpk[32], *p;

	key_of(hc_peer_key_header(us), cpk);
	srv = hc_peer_new(cpk, worker_sk);
	buf_reset(b);
	p = (uint8_t *)buf_space(b, HC_OVERHEAD + len);
	memcpy(p + HC_OVERHEAD, inner, len);
	hc_seal(srv, p + HC_OVERHEAD, len, NULL, p, p + HC_NONCE_BYTES);
	buf_commit(b, HC_OVERHEAD + len);
	hc_peer_free(srv);
	hc_peer_free(us);
}

/* reply_err - wire_reply on a sealed inner response; its error or "". */
static int
reply_rc(struct buf *b, const char *inner, long *code, char *err)
{
	struct wire_opts o = { hc_peer_new(worker_pk, client_sk), 0 };
	int rc;

	seal_reply(b, inner, strlen(inner));
	*code = 200;
	err[0] = '\0';
	rc = wire_reply(&o, b, code, 0, err, 200);
	hc_peer_free(o.peer);
	return rc;
}

static void
test_reply_refusals(void **state)
{
	struct wire_opts o = { hc_peer_new(worker_pk, client_sk), 0 };
	struct wire_opts z = { NULL, 1 };
	struct buf b, big;
	long code;
	char err[200];
	char *zeros;

	buf_init(&b, 1 << 20);
	/* Good: the inner status and Content-Length rule. */
	assert_int_equal(reply_rc(&b, "HTTP/1.1 200 OK\r\nContent-Length: 2"
	    "\r\n\r\n{}trailing", &code, err), 0);
	assert_int_equal(code, 200);
	assert_string_equal(b.data, "{}");
	assert_int_equal(reply_rc(&b, "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Length: 0\r\n\r\n", &code, err), 0);
	assert_int_equal(code, 500);
	/* Refused: not HTTP, cut short, unknown compression. */
	assert_int_equal(reply_rc(&b, "{\"action\":\"no action\"}", &code,
	    err), -1);
	assert_non_null(strstr(err, "not an HTTP response"));
	assert_int_equal(reply_rc(&b, "HTTP/1.1 200 OK\r\nContent-Length: 99"
	    "\r\n\r\n{}", &code, err), -1);
	assert_non_null(strstr(err, "cut short"));
	assert_int_equal(reply_rc(&b, "HTTP/1.1 200 OK\r\nCompression: gzip"
	    "\r\n\r\n{}", &code, err), -1);
	assert_non_null(strstr(err, "'gzip'"));
	assert_int_equal(reply_rc(&b, "HTTP/1.1 200 OK\r\nCompression: zstd"
	    "\r\n\r\nnot zstd", &code, err), -1);
	assert_non_null(strstr(err, "does not decompress"));
	/* A plain answer where a sealed one is due: never a verdict. */
	buf_reset(&b);
	buf_puts(&b, "{\"action\":\"no action\",\"score\":0,\"padding\":"
	    "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
	code = 200;
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "authentication"));
	buf_reset(&b);
	buf_puts(&b, "{}");
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not sealed"));
	/* A non-200 outer status is the caller's to judge. */
	code = 400;
	assert_int_equal(wire_reply(&o, &b, &code, 0, err, sizeof(err)), 0);
	assert_int_equal(code, 400);
	/* Compression bomb: 8 MB of zeros against a 1 MB reply limit. */
	zeros = calloc(1, 8 << 20);
	buf_init(&big, 1 << 20);
	zs_compress_begin();
	assert_int_equal(zs_compress_feed(zeros, 8 << 20, &big), 0);
	assert_int_equal(zs_compress_end(&big), 0);
	assert_true(big.len < 4096);
	code = 200;
	assert_int_equal(wire_reply(&z, &big, &code, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over 1048576 bytes"));
	/* Cut short: the first half of a frame. */
	buf_reset(&big);
	zs_compress_begin();
	assert_int_equal(zs_compress_feed(msg, strlen(msg), &big), 0);
	assert_int_equal(zs_compress_end(&big), 0);
	big.len /= 2;
	assert_int_equal(wire_reply(&z, &big, &code, 1, err, sizeof(err)), -1);
	free(zeros);
	buf_free(&big);
	buf_free(&b);
	hc_peer_free(o.peer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rspamc_request),
		cmocka_unit_test(test_worker_replies),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_reply_refusals),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
