/*
 * test_verdict.c - Rspamd reply JSON -> plan, as a table.  Each case gives
 * the reply, the options that differ from the defaults, the header counts of
 * the message, and the plan written as text:
 *   "FINAL [RCODE XCODE TEXT]; MOD; MOD ..."
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "verdict.h"
#include "xorshift.h"

struct count { const char *name; size_t n; };

struct vcase {
	const char	*name;
	const char	*json;
	int		 discard, quarantine, no_leadspc;
	struct count	 counts[3];	/* name "*": every header */
	const char	*want;
	int		 greylist_tempfail;
};

static size_t
count_fn(void *arg, const char *name)
{
	const struct count *c = arg;

	if (name == NULL)
		name = "*";
	for (; c->name != NULL; c++)
		if (strcasecmp(c->name, name) == 0)
			return c->n;
	return 0;
}

static const char *mod_names[] = {
	"ADDHDR", "INSHDR", "CHGHDR", "CHGFROM", "ADDRCPT", "DELRCPT",
	"QUARANTINE"
};

/* plan_text - the plan as one comparable line. */
static void
plan_text(const struct plan *p, struct buf *b)
{
	buf_printf(b, "%s", plan_final_name(p->final));
	if (p->rcode[0])
		buf_printf(b, " %s %s %s", p->rcode, p->xcode, p->text);
	for (size_t i = 0; i < p->nmods; i++) {
		const struct mod *m = &p->mods[i];

		buf_printf(b, "; %s", mod_names[m->type]);
		if (m->type == MOD_INSHDR || m->type == MOD_CHGHDR)
			buf_printf(b, " %d", m->idx);
		if (m->name)
			buf_printf(b, " %s", m->name);
		buf_printf(b, " [%s]", m->value ? m->value : "NULL");
	}
}

static const struct vcase cases[] = {
	{ "clean with milter headers",
	  "{\"action\":\"no action\",\"score\":1.5,\"required_score\":15,"
	  "\"milter\":{\"add_headers\":{\"X-Spamd-Result\":\"default: False\"}}}",
	  0, 0, 0, {{0}},
	  "accept; ADDHDR X-Spamd-Result [ default: False]", 0 },
	{ "reject default text",
	  "{\"action\":\"reject\",\"score\":20}", 0, 0, 0, {{0}},
	  "reject 554 5.7.1 Spam message rejected", 0 },
	{ "reject with smtp_message",
	  "{\"action\":\"reject\",\"messages\":{\"smtp_message\":\"Gtube\\r\\nmatch\"}}",
	  0, 0, 0, {{0}}, "reject 554 5.7.1 Gtube  match", 0 },
	{ "discard_on_reject", "{\"action\":\"reject\"}", 1, 0, 0, {{0}},
	  "discard", 0 },
	{ "quarantine_on_reject",
	  "{\"action\":\"reject\",\"milter\":{\"add_headers\":{\"X-A\":\"1\"}}}",
	  0, 1, 0, {{0}},
	  "accept; ADDHDR X-A [ 1]; QUARANTINE [Spam message rejected]", 0 },
	{ "milter reject discard", "{\"action\":\"reject\",\"milter\":"
	  "{\"reject\":\"discard\"}}", 0, 0, 0, {{0}}, "discard", 0 },
	{ "soft reject", "{\"action\":\"soft reject\"}", 0, 0, 0, {{0}},
	  "tempfail 451 4.7.1 Try again later", 0 },
	{ "greylist is a score band: accepted, milter changes applied",
	  "{\"action\":\"greylist\",\"milter\":{\"add_headers\":"
	  "{\"X-A\":\"1\"}}}", 0, 0, 0, {{0}}, "accept; ADDHDR X-A [ 1]", 0 },
	{ "greylist with on_greylist = tempfail",
	  "{\"action\":\"greylist\",\"messages\":"
	  "{\"smtp_message\":\"Greylisted, come back\"}}", 0, 0, 0, {{0}},
	  "tempfail 451 4.7.1 Greylisted, come back", 1 },
	{ "greylist tempfail, default text", "{\"action\":\"greylist\"}",
	  0, 0, 0, {{0}}, "tempfail 451 4.7.1 Try again later", 1 },
	{ "add header replaces every existing spam header",
	  "{\"action\":\"add header\"}", 0, 0, 0, {{ "X-Spam", 3 }},
	  "accept; CHGHDR 3 X-Spam [NULL]; CHGHDR 2 X-Spam [NULL]; "
	  "CHGHDR 1 X-Spam [ Yes]", 0 },
	{ "milter.spam_header string is the value",
	  "{\"action\":\"add header\",\"milter\":{\"spam_header\":"
	  "\"yes, 12.5\"}}", 0, 0, 0, {{0}}, "accept; CHGHDR 1 X-Spam [ yes, 12.5]", 0 },
	{ "milter.spam_header object sets several",
	  "{\"action\":\"add header\",\"milter\":{\"spam_header\":"
	  "{\"X-J1\":\"a\",\"X-J2\":\"b\"}}}", 0, 0, 0, {{ "X-J2", 2 }},
	  "accept; CHGHDR 1 X-J1 [ a]; CHGHDR 2 X-J2 [NULL]; CHGHDR 1 X-J2 [ b]", 0 },
	{ "milter.spam_header ignored without add header",
	  "{\"action\":\"no action\",\"milter\":{\"spam_header\":\"x\"}}",
	  0, 0, 0, {{0}}, "accept", 0 },
	{ "negative order counts from the end, index alias",
	  "{\"action\":\"no action\",\"milter\":{\"add_headers\":{"
	  "\"X-Last\":{\"value\":\"l\",\"order\":-1},"
	  "\"X-Before-Last\":{\"value\":\"b\",\"order\":-2},"
	  "\"X-Far\":{\"value\":\"f\",\"order\":-99},"
	  "\"X-Idx\":{\"value\":\"i\",\"index\":2}}}}", 0, 0, 0,
	  {{ "*", 5 }},
	  "accept; INSHDR 5 X-Last [ l]; INSHDR 4 X-Before-Last [ b]; "
	  "INSHDR 0 X-Far [ f]; INSHDR 2 X-Idx [ i]", 0 },
	{ "dkim signatures keep their order",
	  "{\"action\":\"no action\",\"dkim-signature\":[\"v=1; d=a\","
	  "\"v=1; d=b\"]}", 0, 0, 0, {{0}},
	  "accept; INSHDR 1 DKIM-Signature [ v=1; d=a]; "
	  "INSHDR 2 DKIM-Signature [ v=1; d=b]", 0 },
	{ "add header", "{\"action\":\"add header\"}", 0, 0, 0, {{0}},
	  "accept; CHGHDR 1 X-Spam [ Yes]", 0 },
	{ "add header underscore spelling", "{\"action\":\"add_header\"}",
	  0, 0, 1, {{0}}, "accept; CHGHDR 1 X-Spam [Yes]", 0 },
	{ "spam_header override", "{\"action\":\"add header\",\"milter\":"
	  "{\"spam_header\":{\"X-Junk\":\"yes\"}}}", 0, 0, 0, {{0}},
	  "accept; CHGHDR 1 X-Junk [ yes]", 0 },
	{ "rewrite subject", "{\"action\":\"rewrite subject\",\"subject\":"
	  "\"***SPAM*** hi\"}", 0, 0, 0, {{0}},
	  "accept; CHGHDR 1 Subject [ ***SPAM*** hi]", 0 },
	{ "remove all occurrences, highest first",
	  "{\"action\":\"no action\",\"milter\":{\"remove_headers\":"
	  "{\"X-Spam\":0}}}", 0, 0, 0, {{ "x-spam", 3 }},
	  "accept; CHGHDR 3 X-Spam [NULL]; CHGHDR 2 X-Spam [NULL]; "
	  "CHGHDR 1 X-Spam [NULL]", 0 },
	{ "repeated removals of one name mark, never overrun",
	  "{\"action\":\"no action\",\"milter\":{\"remove_headers\":"
	  "{\"Received\":[0,0,1,-1],\"received\":0,\"RECEIVED\":[0,2]}}}",
	  0, 0, 0, {{ "Received", 5 }},
	  "accept; CHGHDR 5 Received [NULL]; CHGHDR 4 Received [NULL]; "
	  "CHGHDR 3 Received [NULL]; CHGHDR 2 Received [NULL]; "
	  "CHGHDR 1 Received [NULL]", 0 },
	{ "remove last and first",
	  "{\"action\":\"no action\",\"milter\":{\"remove_headers\":"
	  "{\"X-S\":[1,-1]}}}", 0, 0, 0, {{ "X-S", 3 }},
	  "accept; CHGHDR 3 X-S [NULL]; CHGHDR 1 X-S [NULL]", 0 },
	{ "remove past the count does nothing",
	  "{\"action\":\"no action\",\"milter\":{\"remove_headers\":"
	  "{\"X-S\":5,\"X-T\":-2}}}", 0, 0, 0, {{ "X-S", 1 }, { "X-T", 1 }},
	  "accept", 0 },
	{ "remove then add, order kept",
	  "{\"action\":\"no action\",\"milter\":{\"add_headers\":{\"X-Spamd-Bar\":"
	  "{\"value\":\"+++\",\"order\":0},\"X-B\":[\"1\",{\"value\":\"2\"}]},"
	  "\"remove_headers\":{\"X-Spamd-Bar\":1}}}", 0, 0, 0,
	  {{ "X-Spamd-Bar", 1 }},
	  "accept; CHGHDR 1 X-Spamd-Bar [NULL]; INSHDR 0 X-Spamd-Bar [ +++]; "
	  "ADDHDR X-B [ 1]; ADDHDR X-B [ 2]", 0 },
	{ "folded value: CRLF becomes LF",
	  "{\"action\":\"no action\",\"milter\":{\"add_headers\":{\"X-F\":"
	  "\"a\\r\\n\\tb\"}}}", 0, 0, 0, {{0}},
	  "accept; ADDHDR X-F [ a\n\tb]", 0 },
	{ "no_action overrides reject",
	  "{\"action\":\"reject\",\"milter\":{\"no_action\":true,"
	  "\"add_headers\":{\"X-A\":\"1\"}}}", 0, 0, 0, {{0}},
	  "accept; ADDHDR X-A [ 1]; ADDHDR X-Rspamd-Action [ reject]", 0 },
	{ "dkim signature and envelope changes",
	  "{\"action\":\"no action\",\"dkim-signature\":\"v=1; a=rsa\","
	  "\"milter\":{\"change_from\":\"<b@x>\",\"add_rcpt\":[\"<c@x>\"],"
	  "\"del_rcpt\":\"<d@x>\"}}", 0, 0, 0, {{0}},
	  "accept; INSHDR 1 DKIM-Signature [ v=1; a=rsa]; CHGFROM [<b@x>]; "
	  "DELRCPT [<d@x>]; ADDRCPT [<c@x>]", 0 },
	{ "unusable entries are skipped",
	  "{\"action\":\"no action\",\"milter\":{\"add_headers\":"
	  "{\"Bad Name\":\"1\",\"X-N\":5,\"X-Ok\":\"y\"}}}", 0, 0, 0, {{0}},
	  "accept; ADDHDR X-Ok [ y]", 0 },
	{ "rspamd discard action", "{\"action\":\"discard\"}", 0, 0, 0,
	  {{0}}, "discard", 0 },
	{ "rspamd quarantine action", "{\"action\":\"quarantine\"}", 0, 0, 0,
	  {{0}}, "accept; QUARANTINE [quarantined by scanner]", 0 },
};

static void
test_plan_table(void **state)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct vcase *c = &cases[i];
		struct verdict v;
		struct plan p;
		struct buf got;
		char err[256];
		struct plan_opts o = {
			.reject_message = "Spam message rejected",
			.tempfail_message = "Try again later",
			.spam_header = "X-Spam",
			.spam_header_value = "Yes",
			.discard_on_reject = c->discard,
			.quarantine_on_reject = c->quarantine,
			.greylist_tempfail = c->greylist_tempfail,
			.leadspc = !c->no_leadspc,
			.count = count_fn,
			.count_arg = (void *)c->counts,
		};

		if (verdict_parse(c->json, strlen(c->json), &v, err,
		    sizeof(err)) == -1) {
			printf("%s: parse failed: %s\n", c->name, err);
			failed++;
			continue;
		}
		verdict_plan(&v, &o, &p);
		buf_init(&got, 1 << 16);
		plan_text(&p, &got);
		if (strcmp(got.data, c->want) != 0) {
			printf("%s:\n  got  %s\n  want %s\n", c->name, got.data,
			    c->want);
			failed++;
		}
		buf_free(&got);
		plan_free(&p);
		verdict_free(&v);
	}
	assert_int_equal(failed, 0);
}

/*
 * Many removals of one name on a message with many such headers: each
 * occurrence is removed once, highest first.  The plan once kept a list
 * sized for one "0" entry; eight of them on 64 headers wrote some 1.7 KB
 * past it, which the C library's heap checks catch even without ASan.
 */
static void
test_remove_many(void **state)
{
	const char *json = "{\"action\":\"no action\",\"milter\":{"
	    "\"remove_headers\":{\"Received\":[0,0,0,0,0,0,0,0]}}}";
	struct count counts[] = { { "Received", 64 }, { NULL, 0 } };
	struct plan_opts o = { .spam_header = "X-Spam", .leadspc = 1,
	    .count = count_fn, .count_arg = counts };
	struct verdict v;
	struct plan p;
	struct buf got, want;
	char err[256];

	(void)state;
	assert_int_equal(verdict_parse(json, strlen(json), &v, err,
	    sizeof(err)), 0);
	verdict_plan(&v, &o, &p);
	buf_init(&got, 1 << 16);
	buf_init(&want, 1 << 16);
	plan_text(&p, &got);
	buf_printf(&want, "accept");
	for (int i = 64; i > 0; i--)
		buf_printf(&want, "; CHGHDR %d Received [NULL]", i);
	assert_string_equal(got.data, want.data);
	buf_free(&got);
	buf_free(&want);
	plan_free(&p);
	verdict_free(&v);
}

static void
test_malformed(void **state)
{
	static const char *bad[] = {
		"", "not json", "[]", "{\"score\":1}", "{\"action\":5}",
		"{\"action\":\"explode\"}", "{\"action\":\"reject\"", 
		"{\"action\":\"reject\",\"action\":\"no action\"}",
		"{\"action\":\"no action\\u0000\"}",
		/* Broken where the verdict does not look (verdict.c skips
		 * those members): still refused. */
		"{\"action\":\"reject\",\"symbols\":{\"A\":[1,]}}",
		"{\"action\":\"reject\",\"symbols\":\"\xff\"}",
		"{\"action\":\"reject\",\"symbols\":\"\\ud800\"}",
		"{\"action\":\"reject\"} x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct verdict v;
		char err[256] = "";

		if (verdict_parse(bad[i], strlen(bad[i]), &v, err,
		    sizeof(err)) != -1) {
			printf("accepted malformed reply: %s\n", bad[i]);
			verdict_free(&v);
			fail();
		}
		assert_true(err[0] != '\0');
	}
}

static void
test_score_fields(void **state)
{
	const char *j = "{\"action\":\"add header\",\"score\":7.25,"
	    "\"required_score\":15,\"is_skipped\":false}";
	struct verdict v;
	char err[64];

	assert_int_equal(verdict_parse(j, strlen(j), &v, err, sizeof(err)), 0);
	assert_true(v.score == 7.25);
	assert_true(v.required_score == 15);
	assert_int_equal(v.action, RSPAMD_ADD_HEADER);
	verdict_free(&v);
}

/*
 * verdict.c hands jansson only the members it reads (jscan).  When jscan
 * cannot vouch for a reply, or the picked members fail, the whole reply is
 * parsed as received: an escaped key still counts, and an error names the
 * place in the reply itself.
 */
static void
test_pick_fallback(void **state)
{
	const char *esc = "{\"symbols\":{},\"\\u0061ction\":\"reject\","
	    "\"score\":3}";
	const char *range = "{\"symbols\":{\"A\":{}},\"action\":\"reject\","
	    "\"score\":1e999}";
	const char *deep = "{\"symbols\":{\"A\":[1,]},\"action\":\"reject\"}";
	struct verdict v;
	char err[256];

	assert_int_equal(verdict_parse(esc, strlen(esc), &v, err,
	    sizeof(err)), 0);
	assert_int_equal(v.action, RSPAMD_REJECT);
	assert_true(v.score == 3);
	verdict_free(&v);
	assert_int_equal(verdict_parse(range, strlen(range), &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad JSON at 1:"));
	/* The column counts in the reply received, past the symbols. */
	assert_true(atoi(err + strlen("bad JSON at 1:")) > 40);
	assert_int_equal(verdict_parse(deep, strlen(deep), &v, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad JSON at 1:"));
}

/*
 * The fast path (jscan picks, verdict.c builds) against json_loadb of the
 * whole reply: a reply that starts with a member whose key is escaped
 * ("\u0078") always takes the second way (jscan.h), and means the same.
 * So every generated reply is parsed both ways and the two verdicts must
 * agree to the byte, failures included.
 */
static uint64_t vrng = 0x2545f4914f6cdd1dull;

static unsigned
vrnd(unsigned n)
{
	return xorshift_below(&vrng, n);
}

#define PICK(a)	((a)[vrnd(sizeof(a) / sizeof(*(a)))])

static const char *const g_actions[] = {
	"\"no action\"", "\"reject\"", "\"add header\"", "\"add_header\"",
	"\"rewrite subject\"", "\"soft reject\"", "\"greylist\"",
	"\"REJECT\"", "\"discard\"", "\"quarantine\"", "\"bogus\"", "5",
	"\"re\\u006aect\"", "null"
};
static const char *const g_nums[] = {
	"0", "-0", "4.9", "15", "15.0", "-2.5e1", "1E2", "1e999", "-1e999",
	"1e-400", "9223372036854775807", "9223372036854775808", "100000",
	"100001", "-100000", "-3", "2", "0.1", "\"7\"", "true", "[]"
};
static const char *const g_strs[] = {
	"\"\"", "\"Spam here\"", "\"a\\r\\nb\\rc\\n\"", "\"\\u00e9t\\u00e9\"",
	"\"\\ud83d\\ude00 \xc3\xa9\"", "\"tab\\there\\/x\"", "\"q\\\"q\\\\\"",
	"\"<a@b.example>\"", "17", "null", "{}", "[\"x\"]"
};
static const char *const g_names[] = {
	"X-Spamd-Result", "X-Spam", "Subject", "X-A", "Bad Name", "X:y", "",
	"X-\\u0041", "X-\xc3\xa9"
};

static void
g_value_list(struct buf *b, const char *const *pool, size_t n)
{
	unsigned k = vrnd(4);

	if (vrnd(2)) {
		buf_puts(b, pool[vrnd((unsigned)n)]);
		return;
	}
	buf_puts(b, "[");
	for (unsigned i = 0; i < k; i++)
		buf_printf(b, "%s%s", i ? "," : "", pool[vrnd((unsigned)n)]);
	buf_puts(b, "]");
}

static void
g_header_entry(struct buf *b)
{
	switch (vrnd(4)) {
	case 0:
		buf_puts(b, PICK(g_strs));
		break;
	case 1:
		buf_printf(b, "{\"value\":%s,\"order\":%s}", PICK(g_strs),
		    PICK(g_nums));
		break;
	case 2:
		buf_printf(b, "{\"index\":%s,\"value\":%s}", PICK(g_nums),
		    PICK(g_strs));
		break;
	default:
		buf_printf(b, "{\"value\":%s}", PICK(g_strs));
	}
}

/* g_object_of - {name: entry, ...}, now and then with a repeated name. */
static void
g_object_of(struct buf *b, void (*entry)(struct buf *))
{
	unsigned n = vrnd(4);
	const char *last = NULL;

	buf_puts(b, "{");
	for (unsigned i = 0; i < n; i++) {
		const char *name = last != NULL && vrnd(8) == 0 ? last :
		    PICK(g_names);

		buf_printf(b, "%s\"%s\":", i ? "," : "", name);
		if (vrnd(3) == 0) {
			buf_puts(b, "[");
			entry(b);
			buf_puts(b, ",");
			entry(b);
			buf_puts(b, "]");
		} else {
			entry(b);
		}
		last = name;
	}
	buf_puts(b, "}");
}

static void
g_num(struct buf *b)
{
	buf_puts(b, PICK(g_nums));
}

static void
g_str(struct buf *b)
{
	buf_puts(b, PICK(g_strs));
}

static void
g_milter(struct buf *b)
{
	static const char *const keys[] = {
		"remove_headers", "add_headers", "add_rcpt", "del_rcpt",
		"change_from", "no_action", "spam_header", "reject"
	};
	unsigned n = vrnd(6);

	buf_puts(b, "{");
	for (unsigned i = 0; i < n; i++) {
		const char *k = PICK(keys);

		buf_printf(b, "%s\"%s\":", i ? "," : "", k);
		if (strcmp(k, "remove_headers") == 0)
			g_object_of(b, g_num);
		else if (strcmp(k, "add_headers") == 0)
			g_object_of(b, g_header_entry);
		else if (strcmp(k, "spam_header") == 0 && vrnd(2))
			g_object_of(b, g_str);
		else if (strcmp(k, "no_action") == 0)
			buf_puts(b, vrnd(2) ? "true" : "false");
		else if (strcmp(k, "reject") == 0)
			buf_puts(b, vrnd(2) ? "\"discard\"" : "\"quarantine\"");
		else
			g_value_list(b, g_strs, sizeof(g_strs) /
			    sizeof(*g_strs));
	}
	buf_puts(b, "}");
}

static void
g_member(struct buf *b, const char *k)
{
	if (strcmp(k, "action") == 0)
		buf_puts(b, PICK(g_actions));
	else if (strstr(k, "score") != NULL)
		g_num(b);
	else if (strcmp(k, "is_skipped") == 0)
		buf_puts(b, vrnd(2) ? "true" : "1");
	else if (strcmp(k, "messages") == 0)
		buf_printf(b, "{\"smtp_message\":%s}", PICK(g_strs));
	else if (strcmp(k, "milter") == 0)
		g_milter(b);
	else if (strcmp(k, "symbols") == 0)
		buf_puts(b, "{\"R_A\":{\"name\":\"R_A\",\"score\":1.5,"
		    "\"options\":[\"\\u00e9\",\"}\"]}}");
	else
		g_value_list(b, g_strs, sizeof(g_strs) / sizeof(*g_strs));
}

/*
 * g_reply - a reply: members in any order, each once, but now and then a
 * verdict member twice (which both ways must refuse).  Members verdict.c
 * skips never repeat, and their numbers stay in range: jscan.h leaves
 * those two checks to whoever reads a member, and nobody reads these.
 */
static void
g_reply(struct buf *b)
{
	static const char *const keys[] = {
		"action", "milter", "score", "required_score", "is_skipped",
		"messages", "subject", "dkim-signature", "symbols", "urls"
	};
	enum { NKEYS = sizeof(keys) / sizeof(*keys) };
	unsigned used = 0, out = 0;

	buf_puts(b, "{");
	for (unsigned i = 0; i < 2 * NKEYS; i++) {
		/* Action and milter first, most of the time. */
		unsigned k = i < 2 ? i : vrnd(NKEYS);

		if ((i < 2 && vrnd(5) == 0) || (i >= 2 && vrnd(3) != 0))
			continue;
		if ((used & 1u << k) && (k >= 8 || vrnd(10) != 0))
			continue;
		used |= 1u << k;
		buf_printf(b, "%s\"%s\" : ", out++ ? ", " : "", keys[k]);
		g_member(b, keys[k]);
	}
	buf_puts(b, "}");
}

static int
str_eq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static int
strs_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return 0;
	return 1;
}

static int
hdrs_eq(const struct vheader *a, size_t na, const struct vheader *b,
    size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i].name, b[i].name) ||
		    !str_eq(a[i].value, b[i].value) ||
		    a[i].has_order != b[i].has_order ||
		    a[i].order != b[i].order)
			return 0;
	return 1;
}

static int
verdict_eq(const struct verdict *a, const struct verdict *b)
{
	if (a->nrm != b->nrm)
		return 0;
	for (size_t i = 0; i < a->nrm; i++)
		if (!str_eq(a->rm[i].name, b->rm[i].name) ||
		    a->rm[i].pos != b->rm[i].pos)
			return 0;
	return a->action == b->action &&
	    memcmp(&a->score, &b->score, sizeof(a->score)) == 0 &&
	    memcmp(&a->required_score, &b->required_score,
	    sizeof(a->score)) == 0 &&
	    a->is_skipped == b->is_skipped &&
	    str_eq(a->smtp_message, b->smtp_message) &&
	    str_eq(a->subject, b->subject) &&
	    hdrs_eq(a->add, a->nadd, b->add, b->nadd) &&
	    str_eq(a->change_from, b->change_from) &&
	    strs_eq(a->add_rcpt, a->nadd_rcpt, b->add_rcpt, b->nadd_rcpt) &&
	    strs_eq(a->del_rcpt, a->ndel_rcpt, b->del_rcpt, b->ndel_rcpt) &&
	    strs_eq(a->dkim, a->ndkim, b->dkim, b->ndkim) &&
	    a->no_action == b->no_action &&
	    hdrs_eq(a->spam, a->nspam, b->spam, b->nspam) &&
	    str_eq(a->milter_reject, b->milter_reject) &&
	    a->skipped == b->skipped;
}

static void
test_fast_path_agrees(void **state)
{
	enum { CASES = 20000 };
	unsigned ok = 0, refused = 0, mods = 0;
	struct buf b, slow;

	buf_init(&b, 1 << 20);
	buf_init(&slow, 1 << 20);
	for (unsigned i = 0; i < CASES; i++) {
		struct verdict v1, v2;
		char e1[256], e2[256];
		int r1, r2;

		buf_reset(&b);
		buf_reset(&slow);
		g_reply(&b);
		buf_printf(&slow, "{\"\\u0078\":0,%s", b.data + 1);
		r1 = verdict_parse(b.data, b.len, &v1, e1, sizeof(e1));
		r2 = verdict_parse(slow.data, slow.len, &v2, e2, sizeof(e2));
		if (r1 != r2)
			fail_msg("case %u: fast %d (%s), whole %d (%s): %s", i,
			    r1, r1 ? e1 : "", r2, r2 ? e2 : "", b.data);
		if (r1 == 0) {
			if (!verdict_eq(&v1, &v2))
				fail_msg("case %u: verdicts differ: %s", i,
				    b.data);
			mods += v1.nadd + v1.nrm + v1.nspam + v1.ndkim > 0;
			verdict_free(&v1);
			verdict_free(&v2);
			ok++;
		} else {
			refused++;
		}
	}
	buf_free(&b);
	buf_free(&slow);
	/* Both outcomes, and header work among the agreed, or this shows
	 * little. */
	assert_true(ok > CASES / 10 && refused > CASES / 10);
	print_message("verdicts: %u agreed (%u with header changes), %u "
	    "refused both ways\n", ok, mods, refused);
	assert_true(mods > ok / 4);
}

/*
 * A reply parses from an arena on the stack while it is small, and spills
 * to malloc once it is not (verdict.c).  A reply of some 160 KB, with 2000
 * symbols and 600 header values, has most of its tree outside the arena:
 * every value must still come out right, the spilled pieces must be freed
 * (not the arena's), and parsing again on the same thread starts clean.
 */
static void
test_big_reply(void **state)
{
	struct buf b;
	struct verdict v;
	struct vsummary sum;
	char err[128];

	(void)state;
	buf_init(&b, 1 << 20);
	buf_printf(&b, "{\"action\":\"add header\",\"score\":6.5,"
	    "\"required_score\":15,\"symbols\":{");
	for (int i = 0; i < 2000; i++)
		buf_printf(&b, "%s\"SYM_%d\":{\"name\":\"SYM_%d\","
		    "\"score\":%d.5,\"options\":[\"opt%d\",\"x\"]}",
		    i ? "," : "", i, i, i % 7, i);
	buf_printf(&b, "},\"milter\":{\"add_headers\":{\"X-Big\":[");
	for (int i = 0; i < 600; i++)
		buf_printf(&b, "%s{\"value\":\"value %d\",\"order\":0}",
		    i ? "," : "", i);
	buf_printf(&b, "]}}}");
	assert_true(b.len > 100000);

	for (int round = 0; round < 3; round++) {
		assert_int_equal(verdict_parse(b.data, b.len, &v, err,
		    sizeof(err)), 0);
		assert_int_equal(v.action, RSPAMD_ADD_HEADER);
		assert_true(v.score == 6.5);
		assert_int_equal(v.nadd, 600);
		assert_string_equal(v.add[0].value, "value 0");
		assert_string_equal(v.add[599].value, "value 599");
		verdict_free(&v);

		assert_int_equal(verdict_summary(b.data, b.len, &sum, err,
		    sizeof(err)), 0);
		assert_int_equal(sum.nsym, 2000);
		for (size_t i = 0; i < sum.nsym; i++) {
			char name[32];

			snprintf(name, sizeof(name), "SYM_%zu", i);
			assert_string_equal(sum.sym[i].name, name);
			assert_true(sum.sym[i].score == (double)(i % 7) + 0.5);
			assert_int_equal(sum.sym[i].noptions, 2);
		}
		vsummary_free(&sum);
	}
	/* And a small one afterwards, wholly in a fresh arena. */
	assert_int_equal(verdict_parse("{\"action\":\"reject\"}", 19, &v,
	    err, sizeof(err)), 0);
	assert_int_equal(v.action, RSPAMD_REJECT);
	verdict_free(&v);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_remove_many),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_score_fields),
		cmocka_unit_test(test_pick_fallback),
		cmocka_unit_test(test_fast_path_agrees),
		cmocka_unit_test(test_big_reply),
	};

	return cmocka_run_group_tests_name("verdict", tests, NULL, NULL);
}
