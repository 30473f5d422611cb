/*
 * test_selfscan.c - the built-in rules on crafted messages, through the
 * whole in-process path (MIME, Lua rules, scoring, Rspamd-shaped reply),
 * plus allow/deny lists, failing rules, and rule files that do not load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "config.h"
#include "luabridge.h"
#include "selfscan.h"
#include "verdict.h"

static char dir[] = "/tmp/scanmilter-ss-XXXXXX";
static struct config *cfg;

/* write_file - dir/name with text. */
static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	char text[2048], err[512];

	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text), "%s/rules", dir);
	assert_int_equal(mkdir(text, 0700), 0);
	write_file("allow_ips", "# trusted relays\n192.0.2.0/24\n2001:db8::/32\n");
	write_file("deny_senders", "spam.example\nbad@ok.example\n");
	snprintf(text, sizeof(text),
	    "upstreams: { default: { self_scan = true; }; };\n"
	    "selfscan: { allow_ips = \"%s/allow_ips\";\n"
	    "  deny_senders = \"%s/deny_senders\"; };\n", dir, dir);
	cfg = config_load_string(text, "test", err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	config_release(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct facts {
	const char	*helo, *ip, *from;
	size_t		 nrcpts;
};

static const struct facts ok_facts = {
	"mx.example.net", "198.51.100.7", "<alice@example.org>", 1
};

/* scan - the message through selfscan_run; v gets the parsed reply. */
static void
scan_with(struct config *c, const char *msg, const struct facts *f,
    struct vsummary *v)
{
	struct blob *b = blob_new(1 << 20, "/tmp");
	char *rcpts[100], err[512], *json;
	struct rule_input in;
	size_t len;

	for (size_t i = 0; i < f->nrcpts && i < 100; i++)
		rcpts[i] = "<bob@example.net>";
	assert_int_equal(blob_body_append(b, msg, strlen(msg)), 0);
	memset(&in, 0, sizeof(in));
	in.qid = "TEST1";
	in.from = f->from;
	in.ip = f->ip;
	in.helo = f->helo;
	in.rcpts = rcpts;
	in.nrcpts = f->nrcpts;
	json = selfscan_run(c, &in, b, &len, err, sizeof(err));
	if (json == NULL)
		fail_msg("selfscan_run: %s", err);
	if (verdict_summary(json, len, v, err, sizeof(err)) != 0)
		fail_msg("reply %s: %s", json, err);
	free(json);
	blob_unref(b);
}

static void
scan(const char *msg, const struct facts *f, struct vsummary *v)
{
	scan_with(cfg, msg, f, v);
}

/* unlink_rule - remove dir/rules/name. */
static void
unlink_rule(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/rules/%s", dir, name);
	unlink(path);
}

/* has - the symbol's index, or -1. */
static int
has(const struct vsummary *v, const char *name)
{
	for (size_t i = 0; i < v->nsym; i++)
		if (strcmp(v->sym[i].name, name) == 0)
			return (int)i;
	return -1;
}

#define CLEAN_HEAD \
	"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n" \
	"Date: Wed, 25 Nov 2026 09:00:00 +0000\r\n" \
	"Message-ID: <c1@example.org>\r\n"

static void
test_clean(void **state)
{
	struct vsummary v;

	scan(CLEAN_HEAD "Subject: Lunch on Friday\r\n\r\nSee you.\r\n",
	    &ok_facts, &v);
	assert_int_equal(v.nsym, 0);
	assert_int_equal(v.action, RSPAMD_NO_ACTION);
	vsummary_free(&v);
}

/* GTUBE in a base64 part of a multipart: reject with Rspamd's text. */
static void
test_gtube(void **state)
{
	struct vsummary v;

	scan(CLEAN_HEAD "Subject: test\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=zz\r\n\r\n"
	    "--zz\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRF\r\n"
	    "U1QtRU1BSUwqQy4zNFg=\r\n--zz--\r\n", &ok_facts, &v);
	assert_true(has(&v, "GTUBE") >= 0);
	assert_int_equal(v.action, RSPAMD_REJECT);
	vsummary_free(&v);
}

static void
test_header_rules(void **state)
{
	struct vsummary v;

	scan("From: no address here\r\nSubject: hi\r\n\r\nbody\r\n", &ok_facts,
	    &v);
	assert_true(has(&v, "INVALID_FROM") >= 0);
	assert_true(has(&v, "MISSING_DATE") >= 0);
	assert_true(has(&v, "MISSING_MID") >= 0);
	assert_true(has(&v, "MISSING_FROM") < 0);
	vsummary_free(&v);
	scan("From: \"service@paypal.com\" <x@evil.example>\r\n"
	    "From: second@example.org\r\nDate: yesterday\r\n"
	    "Message-ID: no-brackets\r\nSubject: hi\r\n\r\nbody\r\n",
	    &ok_facts, &v);
	assert_true(has(&v, "FORGED_DISPLAY_NAME") >= 0);
	assert_string_equal(v.sym[has(&v, "FORGED_DISPLAY_NAME")].options[0],
	    "paypal.com");
	assert_true(has(&v, "MULTIPLE_FROM") >= 0);
	assert_true(has(&v, "INVALID_DATE") >= 0);
	assert_true(has(&v, "INVALID_MSGID") >= 0);
	vsummary_free(&v);
}

/* Subject rules see RFC 2047 decoded text. */
/*
 * A From made to make the header patterns backtrack: 200 KB of "a@"
 * would take minutes per rule uncapped (the budget cannot interrupt a C
 * call); rules see 2 KB of a value, so it is a quick INVALID_FROM.
 */
static void
test_hostile_header(void **state)
{
	size_t n = 200 * 1024;
	char *msg = malloc(n + 256), *p = msg;
	struct vsummary v;

	p += sprintf(p, "From: ");
	for (size_t i = 0; i < n / 2; i++, p += 2)
		memcpy(p, "a@", 2);
	p += sprintf(p, " x\r\nSubject: hi\r\n\r\nbody\r\n");
	scan(msg, &ok_facts, &v);
	assert_true(has(&v, "INVALID_FROM") >= 0);
	vsummary_free(&v);
	free(msg);
}

static void
test_subject(void **state)
{
	struct vsummary v;

	/* "FREE VIAGRA NOW!!!" in base64 */
	scan(CLEAN_HEAD "Subject: =?UTF-8?B?RlJFRSBWSUFHUkEgTk9XISEh?=\r\n"
	    "\r\nbody\r\n", &ok_facts, &v);
	assert_true(has(&v, "SUBJ_ALL_CAPS") >= 0);
	assert_true(has(&v, "SUBJ_EXCESS_PUNCT") >= 0);
	assert_true(has(&v, "SUBJ_SPAM_WORDS") >= 0);
	assert_string_equal(v.sym[has(&v, "SUBJ_SPAM_WORDS")].options[0],
	    "viagra");
	/* 3 + 1.5 + 2.5 = 7: add header */
	assert_int_equal(v.action, RSPAMD_ADD_HEADER);
	vsummary_free(&v);
}

/* With selfscan.rewrite_subject on, the subject is rewritten as Rspamd
 * does by default. */
static void
test_rewrite_subject(void **state)
{
	struct config *c;
	struct vsummary v;
	struct blob *b = blob_new(1 << 20, "/tmp");
	char err[512], *json, *rcpts[1] = { "<bob@example.net>" };
	struct rule_input in;
	size_t len;
	static const char msg[] = CLEAN_HEAD
	    "Subject: =?UTF-8?B?RlJFRSBWSUFHUkEgTk9XISEh?=\r\n\r\nbody\r\n";

	assert_non_null(c = config_load_string("upstreams: { default: { "
	    "self_scan = true; }; };\nselfscan: { rewrite_subject = 5; };\n",
	    "t", err, sizeof(err)));
	assert_int_equal(blob_body_append(b, msg, strlen(msg)), 0);
	memset(&in, 0, sizeof(in));
	in.qid = "RW1";
	in.from = "<a@example.org>";
	in.helo = "mx.example.net";
	in.rcpts = rcpts;
	in.nrcpts = 1;
	json = selfscan_run(c, &in, b, &len, err, sizeof(err));
	assert_non_null(json);
	assert_non_null(strstr(json, "\"subject\":\"***SPAM*** FREE VIAGRA NOW!!!\""));
	assert_int_equal(verdict_summary(json, len, &v, err, sizeof(err)), 0);
	assert_int_equal(v.action, RSPAMD_REWRITE_SUBJECT);
	vsummary_free(&v);
	free(json);
	blob_unref(b);
	/* A subject in Latin-1 (not UTF-8) still gets its mark. */
	b = blob_new(1 << 20, "/tmp");
	{
		static const char m2[] = CLEAN_HEAD
		    "Subject: =?iso-8859-1?Q?CAF=C9_LOTTERY_WINNER!!!?=\r\n"
		    "\r\nbody\r\n";

		assert_int_equal(blob_body_append(b, m2, strlen(m2)), 0);
	}
	json = selfscan_run(c, &in, b, &len, err, sizeof(err));
	assert_non_null(json);
	assert_non_null(strstr(json, "\"subject\":\"***SPAM*** CAF? LOTTERY "
	    "WINNER!!!\""));
	free(json);
	blob_unref(b);
	config_release(c);
}

static void
test_mime_rules(void **state)
{
	struct vsummary v;

	scan(CLEAN_HEAD "Subject: news\r\nContent-Type: text/html\r\n\r\n"
	    "<p>hi</p>\r\n", &ok_facts, &v);
	assert_true(has(&v, "MIME_HTML_ONLY") >= 0);
	vsummary_free(&v);
	scan(CLEAN_HEAD "Subject: invoice\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
	    "--b\r\nContent-Type: application/octet-stream;\r\n"
	    " name=\"invoice.pdf.exe\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
	    "--b--\r\n", &ok_facts, &v);
	assert_true(has(&v, "MIME_BAD_ATTACHMENT") >= 0);
	assert_true(has(&v, "MIME_DOUBLE_BAD_EXTENSION") >= 0);
	assert_true(has(&v, "MIME_HTML_ONLY") < 0);
	/* 9 + 6 = 15: reject by score */
	assert_int_equal(v.action, RSPAMD_REJECT);
	vsummary_free(&v);
}

static void
test_envelope_rules(void **state)
{
	struct facts f = { "localhost", "203.0.113.9", "<a@example.org>", 25 };
	struct vsummary v;
	const char *msg = CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n";

	scan(msg, &f, &v);
	assert_true(has(&v, "HELO_LOCALHOST") >= 0);
	assert_true(has(&v, "HELO_NOT_FQDN") >= 0);
	assert_true(has(&v, "RCPT_COUNT_MANY") >= 0);
	assert_true(v.sym[has(&v, "RCPT_COUNT_MANY")].score == 2.0);
	vsummary_free(&v);
	f.helo = "203.0.113.9";
	f.nrcpts = 60;
	scan(msg, &f, &v);
	assert_true(has(&v, "HELO_BAREIP") >= 0);
	assert_true(v.sym[has(&v, "RCPT_COUNT_MANY")].score == 4.0);
	vsummary_free(&v);
}

static void
test_lists(void **state)
{
	struct facts f = ok_facts;
	struct vsummary v;
	const char *msg = CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n";

	f.ip = "192.0.2.77";
	scan(msg, &f, &v);
	assert_true(has(&v, "ALLOWLIST_IP") >= 0);
	vsummary_free(&v);
	f.ip = "2001:db8:1::5";
	scan(msg, &f, &v);
	assert_true(has(&v, "ALLOWLIST_IP") >= 0);
	vsummary_free(&v);
	f.ip = "192.0.3.1";
	f.from = "<anyone@mail.spam.example>";
	scan(msg, &f, &v);
	assert_true(has(&v, "ALLOWLIST_IP") < 0);
	assert_true(has(&v, "DENYLIST_SENDER") >= 0);
	assert_int_equal(v.action, RSPAMD_REJECT);
	vsummary_free(&v);
	f.from = "<Bad@OK.example>";
	scan(msg, &f, &v);
	assert_true(has(&v, "DENYLIST_SENDER") >= 0);
	vsummary_free(&v);
	f.from = "<good@ok.example>";
	scan(msg, &f, &v);
	assert_true(has(&v, "DENYLIST_SENDER") < 0);
	vsummary_free(&v);
}

/*
 * List files: CRLF lines, case, inline comments and blanks.  And a list
 * replaced by a FIFO after its config was checked reads as empty at once
 * when a rules state is made (alarm: Lua's io.open, as before, waited for
 * a writer for ever).
 */
static void
test_list_files(void **state)
{
	char text[1024], err[512], path[300];
	struct facts f = ok_facts;
	struct config *c;
	struct vsummary v;
	const char *msg = CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n";

	write_file("deny2", "  # none\r\n\r\nSPAM.Example   # inline\r\n"
	    "x@Y.example\r\n");
	snprintf(text, sizeof(text), "upstreams: { default: { self_scan = "
	    "true; }; };\nselfscan: { deny_senders = \"%s/deny2\"; };\n", dir);
	assert_non_null(c = config_load_string(text, "t", err, sizeof(err)));
	f.from = "<a@mail.spam.example>";
	scan_with(c, msg, &f, &v);
	assert_true(has(&v, "DENYLIST_SENDER") >= 0);
	vsummary_free(&v);
	f.from = "<X@y.example>";
	scan_with(c, msg, &f, &v);
	assert_true(has(&v, "DENYLIST_SENDER") >= 0);
	vsummary_free(&v);
	config_release(c);

	assert_non_null(c = config_load_string(text, "t", err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/deny2", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(20);
	f.from = "<a@mail.spam.example>";
	scan_with(c, msg, &f, &v);
	alarm(0);
	assert_true(has(&v, "DENYLIST_SENDER") < 0);
	vsummary_free(&v);
	config_release(c);
	unlink(path);
}

/*
 * Site rules: one that fails and one that runs away are contained, the
 * others (and the built-in ones) still count.
 */
static void
test_site_rules(void **state)
{
	char text[1024], err[512];
	struct config *c;
	struct vsummary v;

	write_file("rules/a.lua", "rule { name = 'SITE_FAIL', score = 1, "
	    "check = function(t) error('broken rule') end }\n"
	    "rule { name = 'SITE_LOOP', score = 1, check = function(t) "
	    "while true do end end }\n"
	    "rule { name = 'SITE_OK', score = 0.5, check = function(t) "
	    "return t:header('subject') == 'hi', { t.qid } end }\n");
	snprintf(text, sizeof(text), "upstreams: { default: { self_scan = "
	    "true; }; };\nselfscan: { rules_dir = \"%s/rules\"; timeout = "
	    "0.1; };\n", dir);
	assert_non_null(c = config_load_string(text, "t", err, sizeof(err)));
	scan_with(c, CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n", &ok_facts, &v);
	assert_int_equal(v.nsym, 1);
	assert_string_equal(v.sym[0].name, "SITE_OK");
	assert_string_equal(v.sym[0].options[0], "TEST1");
	vsummary_free(&v);
	config_release(c);
	/*
	 * Scripts that go after the engine itself: the registered rules and
	 * the task's methods are out of their reach, so scanning goes on.
	 */
	write_file("rules/c.lua", "rule { name = 'SITE_MEDDLE', score = 1, "
	    "check = function(t) scanmilter._rules = 5; table.insert("
	    "scanmilter._rules, 5) end }\nlocal keep = scanmilter\n"
	    "rule { name = 'SITE_META', score = 1, check = function(t) "
	    "getmetatable(t).__index.header = function() end end }\n"
	    "rule { name = 'SITE_AFTER', score = 0.25, check = function(t) "
	    "return t:header('Subject') == 'hi' end }\nscanmilter = nil\n");
	assert_non_null(c = config_load_string(text, "t", err, sizeof(err)));
	scan_with(c, CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n", &ok_facts, &v);
	assert_true(has(&v, "SITE_OK") >= 0);
	assert_true(has(&v, "SITE_AFTER") >= 0);
	vsummary_free(&v);
	scan_with(c, CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n", &ok_facts, &v);
	assert_true(has(&v, "SITE_AFTER") >= 0);
	vsummary_free(&v);
	config_release(c);
	unlink_rule("c.lua");
	/* Every rule failing is no verdict, never a clean message. */
	write_file("rules/d.lua", "rule { name = 'ALL_FAIL', score = 1, "
	    "check = function(t) error('always') end }\n");
	{
		char t2[512], *json;
		struct blob *bl = blob_new(1 << 20, "/tmp");
		struct rule_input in = { .qid = "FAIL1" };
		size_t len;

		snprintf(t2, sizeof(t2), "upstreams: { default: { self_scan = "
		    "true; }; };\nselfscan: { builtin_rules = false; "
		    "rules_dir = \"%s/rules\"; };\n", dir);
		unlink_rule("a.lua");
		assert_non_null(c = config_load_string(t2, "t", err,
		    sizeof(err)));
		assert_int_equal(blob_body_append(bl, "Subject: x\r\n\r\nb",
		    15), 0);
		json = selfscan_run(c, &in, bl, &len, err, sizeof(err));
		assert_null(json);
		assert_string_equal(err, "every rule failed on this message");
		blob_unref(bl);
		config_release(c);
		unlink_rule("d.lua");
	}
	/* A rule file that does not load is a config error with its line. */
	write_file("rules/b.lua", "\nrule { name = 'X', check = 5 }\n");
	assert_null(config_load_string(text, "t", err, sizeof(err)));
	assert_non_null(strstr(err, "b.lua:2: rule X: check must be a "
	    "function"));
	snprintf(text, sizeof(text), "upstreams: { default: { self_scan = "
	    "true; }; };\nselfscan: { builtin_rules = false; rules_dir = "
	    "\"%s/none\"; };\n", dir);
	assert_null(config_load_string(text, "t", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open rules directory"));
}

/* A rule's scanmilter.log_warn line says it comes from the self-scan,
 * with the message's queue id. */
static void
test_rule_log(void **state)
{
	char text[1024], err[512], out[4096];
	struct config *c;
	struct vsummary v;
	FILE *tmp = tmpfile();
	int saved = dup(2);
	size_t n;

	unlink_rule("b.lua");	/* test_site_rules' broken file */
	write_file("rules/e.lua", "rule { name = 'SITE_SAYS', score = 0.5, "
	    "check = function(t) scanmilter.log_warn('a word from a rule') "
	    "return true end }\n");
	snprintf(text, sizeof(text), "upstreams: { default: { self_scan = "
	    "true; }; };\nselfscan: { builtin_rules = false; rules_dir = "
	    "\"%s/rules\"; };\n", dir);
	assert_non_null(c = config_load_string(text, "t", err, sizeof(err)));
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	scan_with(c, CLEAN_HEAD "Subject: hi\r\n\r\nbody\r\n", &ok_facts, &v);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	assert_true(has(&v, "SITE_SAYS") >= 0);
	vsummary_free(&v);
	config_release(c);
	unlink_rule("e.lua");
	if (strstr(out, "TEST1: self-scan: a word from a rule") == NULL)
		fail_msg("log: %s", out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_gtube),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_hostile_header),
		cmocka_unit_test(test_rewrite_subject),
		cmocka_unit_test(test_mime_rules),
		cmocka_unit_test(test_envelope_rules),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_list_files),
		cmocka_unit_test(test_site_rules),
		cmocka_unit_test(test_rule_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
