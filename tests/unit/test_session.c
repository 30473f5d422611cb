/*
 * test_session.c - the message as the scanner will see it: header bytes
 * exactly as received, CRLF line ends, body spilled to disk past the spill
 * size, limits that stop collecting; and the Rspamd request headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "rspamd.h"
#include "session.h"

static struct config *
cfg_with(const char *limits)
{
	char text[1024], err[512];
	struct config *c;

	snprintf(text, sizeof(text), "limits: { %s };\nupstreams: { default:"
	    " { hosts = \"127.0.0.1\"; }; };\n", limits);
	c = config_load_string(text, "t", err, sizeof(err));
	if (c == NULL)
		printf("config: %s\n", err);
	assert_non_null(c);
	return c;
}

/* whole - the blob's bytes as a string. */
static char *
whole(const struct blob *b)
{
	size_t n = blob_size(b), off = 0;
	char *p = malloc(n + 1);

	while (off < n) {
		ssize_t r = blob_read(b, off, p + off, 7); /* odd chunks */

		assert_true(r > 0);
		off += (size_t)r;
	}
	assert_int_equal(blob_read(b, off, p, 10), 0);
	p[n] = '\0';
	return p;
}

static void
test_head_bytes_leadspc(void **state)
{
	struct conn *c = session_conn_new(cfg_with("spill_size = 4096;"));
	char *got;

	c->leadspc = 1;
	session_msg_begin(c, "<a@example.org>");
	/* Values as the MTA hands them with SMFIP_HDR_LEADSPC: blanks kept,
	 * folded lines joined by bare LF. */
	session_add_header(c, "Subject", " hello\n\tworld");
	session_add_header(c, "X-Tight", "novalue-space");
	session_add_header(c, "X-Tabs", "\t two  spaces ");
	session_add_body(c, (const unsigned char *)"line1\r\nline2\r\n", 14);
	assert_int_equal(session_finish_head(c), 0);
	got = whole(c->msg->blob);
	assert_string_equal(got, "Subject: hello\r\n\tworld\r\n"
	    "X-Tight:novalue-space\r\nX-Tabs:\t two  spaces \r\n\r\n"
	    "line1\r\nline2\r\n");
	free(got);
	session_conn_free(c);
}

static void
test_head_without_leadspc(void **state)
{
	struct conn *c = session_conn_new(cfg_with("spill_size = 4096;"));
	char *got;

	session_msg_begin(c, "<>");
	session_add_header(c, "From", "a@b");
	assert_int_equal(session_finish_head(c), 0);
	got = whole(c->msg->blob);
	assert_string_equal(got, "From: a@b\r\n\r\n");
	free(got);
	session_conn_free(c);
}

static void
test_spill_and_nul(void **state)
{
	struct conn *c = session_conn_new(cfg_with("spill_size = 4096;"));
	unsigned char chunk[1000];
	char *got;

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)(i % 251);	/* NUL bytes too */
	session_msg_begin(c, "<a@b>");
	session_add_header(c, "H", " v");
	for (int i = 0; i < 10; i++)
		session_add_body(c, chunk, sizeof(chunk));
	assert_true(blob_spilled(c->msg->blob));
	c->leadspc = 1;
	assert_int_equal(session_finish_head(c), 0);
	/* "H: v" CRLF, the empty line that ends the head, then the body. */
	assert_int_equal(blob_size(c->msg->blob), 8 + 10000);
	got = whole(c->msg->blob);
	assert_memory_equal(got, "H: v\r\n\r\n", 8);
	for (int i = 0; i < 10; i++)
		assert_memory_equal(got + 8 + i * 1000, chunk, 1000);
	free(got);
	session_conn_free(c);
}

static void
test_limits(void **state)
{
	struct conn *c = session_conn_new(cfg_with(
	    "max_size = 2048; spill_size = 4096; max_header_size = 1024;"
	    " max_rcpts = 2;"));
	unsigned char big[1500] = { 0 };
	char value[600];

	session_msg_begin(c, "<a@b>");
	for (int i = 0; i < 5; i++)
		session_add_rcpt(c, "<r@b>");
	assert_int_equal(c->msg->nrcpts, 2);
	assert_int_equal(c->msg->nrcpts_seen, 5);
	session_add_body(c, big, sizeof(big));
	assert_int_equal(c->msg->state, MSG_OK);
	session_add_body(c, big, sizeof(big));
	assert_int_equal(c->msg->state, MSG_OVERSIZE);
	assert_null(c->msg->blob);
	assert_int_equal(session_finish_head(c), -1);

	/* A new message starts clean; headers have their own limit. */
	session_msg_begin(c, "<a@b>");
	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	session_add_header(c, "A", value);
	assert_int_equal(c->msg->state, MSG_OK);
	session_add_header(c, "B", value);
	assert_int_equal(c->msg->state, MSG_OVERSIZE);
	assert_string_equal(c->msg->why, "header size limit");
	session_conn_free(c);
}

static void
test_header_count(void **state)
{
	struct conn *c = session_conn_new(cfg_with("spill_size = 4096;"));

	session_msg_begin(c, "<a@b>");
	session_add_header(c, "X-Spam", " a");
	session_add_header(c, "x-spam", " b");
	session_add_header(c, "X-Other", " c");
	assert_int_equal(session_header_count(c->msg, "X-SPAM"), 2);
	assert_int_equal(session_header_count(c->msg, "none"), 0);
	assert_int_equal(session_header_count(c->msg, NULL), 3);
	session_conn_free(c);
}

static void
test_request_headers(void **state)
{
	struct conn *c = session_conn_new(cfg_with("max_rcpts = 5;"));
	struct strlist l = { NULL, 0 };
	struct buf got;

	c->addr = strdup("127.0.0.2");
	c->hostname = strdup("mx.example.org");
	c->helo = strdup("helo\r\nInjected: x");
	kv_set(&c->macros, "{daemon_name}", "mta-in");
	kv_set(&c->macros, "j", "ignored.because.daemon_name");
	kv_set(&c->macros, "{tls_version}", "TLSv1.3");
	kv_set(&c->macros, "{cipher}", "TLS_AES_256_GCM_SHA384");
	session_msg_begin(c, "<s@example.org>");
	session_add_rcpt(c, "<r1@example.net>");
	session_add_rcpt(c, "<r2@example.net>");
	kv_set(&c->msg->macros, "i", "4ABC123");
	kv_set(&c->msg->macros, "{auth_authen}", "alice");
	rspamd_request_headers(c, &l);
	buf_init(&got, 1 << 16);
	for (size_t i = 0; i < l.n; i++)
		buf_printf(&got, "%s|", l.v[i]);
	assert_string_equal(got.data,
	    "IP: 127.0.0.2|Hostname: mx.example.org|Helo: helo??Injected: x|"
	    "From: <s@example.org>|Rcpt: <r1@example.net>|"
	    "Rcpt: <r2@example.net>|Queue-Id: 4ABC123|MTA-Name: mta-in|"
	    "User: alice|TLS-Version: TLSv1.3|"
	    "TLS-Cipher: TLS_AES_256_GCM_SHA384|Milter: Yes|");
	buf_free(&got);
	strlist_free(&l);

	/* "[addr]" and "unknown" are "no name": no Hostname header... */
	for (int k = 0; k < 2; k++) {
		free(c->hostname);
		c->hostname = strdup(k == 0 ? "[127.0.0.2]" : "unknown");
		rspamd_request_headers(c, &l);
		for (size_t i = 0; i < l.n; i++)
			assert_null(strstr(l.v[i], "Hostname"));
		strlist_free(&l);
	}
	/* ... unless a macro knows better; IP from {client_addr} too. */
	kv_set(&c->macros, "{client_name}", "relay.example.org");
	kv_set(&c->macros, "{client_addr}", "192.0.2.7");
	free(c->addr);
	c->addr = NULL;
	rspamd_request_headers(c, &l);
	assert_string_equal(l.v[0], "IP: 192.0.2.7");
	assert_string_equal(l.v[1], "Hostname: relay.example.org");
	strlist_free(&l);
	/* A value is capped: a HELO of 5000 bytes sends its first 2048. */
	free(c->helo);
	c->helo = malloc(5001);
	memset(c->helo, 'h', 5000);
	c->helo[5000] = '\0';
	rspamd_request_headers(c, &l);
	assert_int_equal(strlen(l.v[2]), strlen("Helo: ") + 2048);
	assert_int_equal(strncmp(l.v[2], "Helo: hhh", 9), 0);
	strlist_free(&l);
	session_conn_free(c);
}

static void
test_policy(void **state)
{
	static const struct {
		int fb;
		const char *msg;
		const char *want;
	} cases[] = {
		{ FALLBACK_TEMPFAIL, "451 4.7.1 Scanner away", "tempfail 451 4.7.1 Scanner away" },
		{ FALLBACK_TEMPFAIL, "Scanner away", "tempfail 451 4.7.1 Scanner away" },
		{ FALLBACK_TEMPFAIL, "554 5.7.1 wrong class", "tempfail 451 4.7.1 wrong class" },
		{ FALLBACK_TEMPFAIL, "421 later", "tempfail 421 4.7.1 later" },
		{ FALLBACK_REJECT, "552 5.3.4 Too big", "reject 552 5.3.4 Too big" },
		{ FALLBACK_REJECT, "451 4.3.0 x", "reject 554 5.7.1 x" },
		{ FALLBACK_REJECT, "", "reject 554 5.7.1 Message not scanned" },
		{ FALLBACK_ACCEPT, "451 x", "accept" },
		{ FALLBACK_DISCARD, "451 x", "discard" },
		{ FALLBACK_QUARANTINE, "451 4.7.1 held", "accept +quarantine held" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct plan p;
		char got[300];

		policy_plan(cases[i].fb, cases[i].msg, "x", &p);
		if (p.rcode[0])
			snprintf(got, sizeof(got), "%s %s %s %s",
			    plan_final_name(p.final), p.rcode, p.xcode, p.text);
		else if (p.nmods)
			snprintf(got, sizeof(got), "%s +quarantine %s",
			    plan_final_name(p.final), p.mods[0].value);
		else
			snprintf(got, sizeof(got), "%s",
			    plan_final_name(p.final));
		if (strcmp(got, cases[i].want) != 0)
			printf("case %zu: got '%s', want '%s'\n", i, got,
			    cases[i].want);
		assert_string_equal(got, cases[i].want);
		plan_free(&p);
	}
}

/* secs - t as seconds. */
static double
secs(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * The stop's view of messages in progress: the deadline follows each
 * message's own config (a reload may have raised the scan timeout) and
 * when it reached end of message; a message cut off by the stop is not
 * logged twice, and one whose summary was claimed is not cut off.
 */
static void
test_stop_register(void **state)
{
	struct config *c1 = cfg_with("max_rcpts = 5;");
	struct config *c2;
	struct conn *a, *b;
	struct timespec since, d;
	char text[512], err[256];

	(void)state;
	snprintf(text, sizeof(text), "scan: { timeout = 40; };\nupstreams: "
	    "{ default: { hosts = \"127.0.0.1\"; }; };\n");
	c2 = config_load_string(text, "t2", err, sizeof(err));
	assert_non_null(c2);
	a = session_conn_new(c1);	/* scan.timeout 20 s, the default */
	b = session_conn_new(c2);	/* 40 s */
	clock_gettime(CLOCK_MONOTONIC, &since);
	assert_int_equal(session_messages_in_progress(), 0);
	d = session_stop_deadline(since, 5);
	assert_true(secs(d) - secs(since) > 4.9 && secs(d) - secs(since) < 5.1);

	session_msg_begin(a, "<a@x>");
	session_set_qid(a, "QA");
	session_set_qid(a, "QA2");	/* the first one stays */
	assert_string_equal(session_qid(a), "QA");
	assert_int_equal(session_messages_in_progress(), 1);
	d = session_stop_deadline(since, 5);
	assert_true(secs(d) - secs(since) > 24.9 && secs(d) - secs(since) < 25.1);

	session_msg_begin(b, "<b@x>");
	session_set_qid(b, "QB");
	assert_int_equal(session_messages_in_progress(), 2);
	d = session_stop_deadline(since, 5);
	assert_true(secs(d) - secs(since) > 44.9 && secs(d) - secs(since) < 45.1);
	/* At end of message, the deadline counts from then. */
	session_note_eom(b);
	d = session_stop_deadline(since, 5);
	assert_true(secs(d) - secs(since) >= 45 && secs(d) - secs(since) < 46);

	/* b's thread has applied its verdict and writes its line; a is cut
	 * off, once. */
	assert_true(session_claim_summary(b));
	assert_true(session_claim_summary(b));
	assert_int_equal(session_lines_due(), 0);
	assert_true(session_claim_logged(b));
	assert_int_equal(session_lines_due(), 1);
	assert_int_equal(session_cut_off(), 1);
	assert_false(session_claim_summary(a));
	assert_int_equal(session_cut_off(), 0);
	session_conn_free(a);
	assert_int_equal(session_messages_in_progress(), 1);
	session_msg_end(b);
	assert_int_equal(session_lines_due(), 0);
	assert_int_equal(session_messages_in_progress(), 0);
	/* A new message on b starts open again. */
	session_msg_begin(b, "<c@x>");
	assert_true(session_claim_summary(b));
	assert_true(session_claim_logged(b));
	session_conn_free(b);
	assert_int_equal(session_messages_in_progress(), 0);
}

/* logged - run fn with stderr in a file; return what was written. */
static char *
logged(void (*fn)(struct conn *), struct conn *c)
{
	static char out[4096];
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fn(c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static void
do_abort(struct conn *c)
{
	session_msg_drop(c, "the MTA aborted it");
}

static void
do_new_mail(struct conn *c)
{
	session_msg_begin(c, "<again@x>");
}

static void
do_close(struct conn *c)
{
	session_conn_free(c);
}

static void
do_end(struct conn *c)
{
	session_msg_end(c);
}

static void
do_cut_off(struct conn *c)
{
	(void)c;
	assert_int_equal(session_cut_off(), 1);
}

/*
 * The stop's deadline passes while an owner thread is telling the MTA the
 * changes of its verdict (between its two claims): main writes the line,
 * naming that, and the owner then writes none and answers tempfail.
 */
static void
test_cut_off_mid_apply(void **state)
{
	struct config *cfg = cfg_with("max_rcpts = 5;");
	struct conn *c = session_conn_new(cfg);
	char *out;

	(void)state;
	assert_int_equal(log_init(0, NULL, LOG_LEVEL_INFO), 0);
	session_msg_begin(c, "<a@x>");
	session_set_qid(c, "QMID1");
	session_note_eom(c);
	assert_true(session_claim_summary(c));
	out = logged(do_cut_off, c);
	assert_non_null(strstr(out, "QMID1: unanswered (stopping): the verdict "
	    "was still being passed to the MTA"));
	assert_false(session_claim_logged(c));
	assert_false(session_claim_summary(c));
	assert_int_equal(session_cut_off(), 0);
	/* Nor does the close that follows log it again. */
	assert_string_equal(logged(do_close, c), "");
	config_release(cfg);
}

/*
 * A message that ends before its end of message (abort, a new MAIL FROM,
 * the connection closing) gets one line with its queue id; one already
 * given a line by the stop, or summarised, gets none; no message, none.
 */
static void
test_drop_logs_once(void **state)
{
	struct config *cfg = cfg_with("max_rcpts = 5;");
	struct conn *c = session_conn_new(cfg);
	char *out;

	(void)state;
	assert_int_equal(log_init(0, NULL, LOG_LEVEL_INFO), 0);
	session_msg_begin(c, "<a@x>");
	session_set_qid(c, "QDROP1");
	out = logged(do_abort, c);
	assert_non_null(strstr(out, "QDROP1: dropped before its end: the MTA "
	    "aborted it"));
	assert_null(c->msg);
	assert_string_equal(logged(do_abort, c), "");	/* nothing open */

	session_msg_begin(c, "<b@x>");
	session_set_qid(c, "QDROP2");
	out = logged(do_new_mail, c);
	assert_non_null(strstr(out, "QDROP2: dropped before its end: a new "
	    "MAIL FROM came"));
	assert_non_null(c->msg);
	session_set_qid(c, "QDROP3");
	/* Summarised at end of message: its line is the owner's. */
	assert_true(session_claim_summary(c));
	assert_string_equal(logged(do_end, c), "");

	session_msg_begin(c, "<c@x>");
	session_set_qid(c, "QDROP4");
	out = logged(do_close, c);
	assert_non_null(strstr(out, "QDROP4: dropped before its end: the "
	    "connection closed"));
	assert_null(strstr(out, "QDROP3"));
	config_release(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_bytes_leadspc),
		cmocka_unit_test(test_head_without_leadspc),
		cmocka_unit_test(test_spill_and_nul),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_header_count),
		cmocka_unit_test(test_request_headers),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_stop_register),
		cmocka_unit_test(test_drop_logs_once),
		cmocka_unit_test(test_cut_off_mid_apply),
	};

	return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
