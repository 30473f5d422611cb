/*
 * test_jscan.c - jscan_pick against jansson itself: whatever jscan accepts
 * jansson must accept, with the same values for the picked members, and
 * what jansson accepts jscan may refuse only for a reason jscan.h names.
 * jansson is the oracle here, so this test includes it (src/ keeps it in
 * verdict.c alone).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jscan.h"
#include "xorshift.h"

static const char *const keys[] = { "action", "score", "milter", NULL };

/*
 * pick - jscan_pick, then the picked members written out as one object
 * (key:value, as they stand in text) into a fresh buffer; *out is NULL on
 * -1.
 */
static long
pick(const char *text, size_t len, char **out)
{
	struct jmember m[64];
	long n = jscan_pick(text, len, keys, m, 64);
	char *o = malloc(len + 2);
	size_t w = 0;

	assert_non_null(o);
	if (n < 0) {
		free(o);
		*out = NULL;
		return -1;
	}
	o[w++] = '{';
	for (long i = 0; i < n; i++) {
		if (i > 0)
			o[w++] = ',';
		assert_true(m[i].key.p >= text && m[i].val.p + m[i].val.n <=
		    text + len);
		memcpy(o + w, m[i].key.p, m[i].key.n);
		w += m[i].key.n;
		o[w++] = ':';
		memcpy(o + w, m[i].val.p, m[i].val.n);
		w += m[i].val.n;
	}
	o[w++] = '}';
	assert_true(w <= len + 2);
	*out = o;
	return (long)w;
}

static void
test_picks(void **state)
{
	const char *in = " {\"is_skipped\" : false, \"score\":\t4.9 ,\n"
	    "\"symbols\": {\"A\": {\"name\": \"A\", \"options\": [\"}\\\"]\"]}},"
	    "\"action\": \"no action\", \"milter\": {\"add_headers\": "
	    "{\"X-A\": {\"value\": \"v\", \"order\": 1}}}, \"x\": [[], {}]}\r\n";
	const char *want = "{\"score\":4.9,\"action\":\"no action\","
	    "\"milter\":{\"add_headers\": {\"X-A\": {\"value\": \"v\", "
	    "\"order\": 1}}}}";
	char *o;
	long n = pick(in, strlen(in), &o);

	assert_int_equal(n, strlen(want));
	assert_memory_equal(o, want, n);
	free(o);
	n = pick("{}", 2, &o);
	assert_int_equal(n, 2);
	assert_memory_equal(o, "{}", 2);
	free(o);
	/* Nothing wanted: an empty object, still checked. */
	n = pick("{\"symbols\": {}}", 15, &o);
	assert_int_equal(n, 2);
	free(o);
	/* Duplicates stay, so the parser that follows still sees them. */
	n = pick("{\"score\":1,\"score\":2}", 21, &o);
	assert_int_equal(n, 21);
	free(o);
}

struct edge {
	const char	*text;
	size_t		 len;		/* 0: strlen */
	int		 ok;
};

static const struct edge edges[] = {
	{ "{\"a\":1}", 0, 1 },
	{ "", 0, 0 },
	{ "[]", 0, 0 },
	{ "{\"a\":1}x", 0, 0 },
	{ "{\"a\":1},", 0, 0 },
	{ "{\"a\":1", 0, 0 },
	{ "{\"a\"1}", 0, 0 },
	{ "{\"a\":}", 0, 0 },
	{ "{,}", 0, 0 },
	{ "{\"a\":1,}", 0, 0 },
	{ "{\"a\":[1,]}", 0, 0 },
	{ "{\"a\":[,1]}", 0, 0 },
	{ "{\"a\":01}", 0, 0 },
	{ "{\"a\":-0.5e+7}", 0, 1 },
	{ "{\"a\":1.}", 0, 0 },
	{ "{\"a\":.5}", 0, 0 },
	{ "{\"a\":1e}", 0, 0 },
	{ "{\"a\":-}", 0, 0 },
	{ "{\"a\":tru}", 0, 0 },
	{ "{\"a\":truex}", 0, 0 },
	{ "{\"a\":nul}", 0, 0 },
	{ "{\"a\":\"\\u00e9\\n\\/\"}", 0, 1 },
	{ "{\"a\":\"\\x\"}", 0, 0 },
	{ "{\"a\":\"\\u12\"}", 0, 0 },
	{ "{\"a\":\"\\u0000\"}", 0, 0 },
	{ "{\"a\":\"\\ud800\"}", 0, 0 },
	{ "{\"a\":\"\\udc00\"}", 0, 0 },
	{ "{\"a\":\"\\ud800\\udc00\"}", 0, 1 },
	{ "{\"a\":\"\\ud800\\u0041\"}", 0, 0 },
	{ "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", 0, 1 },
	{ "{\"a\":\"\xc0\xaf\"}", 0, 0 },		/* overlong */
	{ "{\"a\":\"\xe0\x80\xaf\"}", 0, 0 },		/* overlong */
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, 0 },		/* a surrogate */
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, 0 },	/* past U+10FFFF */
	{ "{\"a\":\"\xc3\"}", 0, 0 },			/* cut short */
	{ "{\"a\":\"\x80\"}", 0, 0 },
	{ "{\"a\":\"\x01\"}", 0, 0 },
	{ "{\"a\":\"x\0y\"}", 10, 0 },			/* a NUL byte */
	{ "{\"a\":1}\0", 8, 0 },
	{ "{\"a\":\"unterminated}", 0, 0 },
	{ "{\"\\u0061\":1}", 0, 0 },	/* an escaped key: jscan says no */
	{ "{\"b\":{\"\\u0061\":1}}", 0, 1 },	/* deeper: skipped, fine */
	{ "{\"a\" : [ true , false , null , { } , [ ] ] }", 0, 1 },
	{ "\xef\xbb\xbf{}", 0, 0 },	/* a byte order mark: jansson says no */
};

static void
test_edges(void **state)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++) {
		const struct edge *e = &edges[i];
		size_t len = e->len ? e->len : strlen(e->text);
		json_error_t jerr;
		json_t *j = json_loadb(e->text, len, 0, &jerr);
		char *o;
		long n = pick(e->text, len, &o);

		if ((n >= 0) != e->ok)
			fail_msg("case %zu (%s): jscan %ld, want %s", i,
			    e->text, n, e->ok ? "accept" : "refuse");
		/* The table agrees with jansson, escaped key aside. */
		if (strstr(e->text, "{\"\\u0061\"") != e->text)
			assert_int_equal(j != NULL && json_is_object(j),
			    e->ok);
		json_decref(j);
		free(o);
	}
}

/* nested - {"a": [[...[inner]...]]} with depth arrays. */
static char *
nested(size_t depth, const char *inner, size_t *len)
{
	char *s = malloc(2 * depth + strlen(inner) + 8), *p = s;

	assert_non_null(s);
	p += sprintf(p, "{\"a\":");
	memset(p, '[', depth);
	p += depth;
	p += sprintf(p, "%s", inner);
	memset(p, ']', depth);
	p += depth;
	*p++ = '}';
	*len = (size_t)(p - s);
	return s;
}

/* jansson counts a level for every value, a scalar innermost too. */
static void
test_depth(void **state)
{
	static const char *const inner[] = { "", "1", "\"s\"", "{}", "true" };

	for (size_t i = 0; i < sizeof(inner) / sizeof(*inner); i++)
	for (size_t d = JSCAN_MAX_DEPTH - 3; d <= JSCAN_MAX_DEPTH + 1; d++) {
		size_t len;
		char *s = nested(d, inner[i], &len), *o;
		json_error_t jerr;
		json_t *j = json_loadb(s, len, 0, &jerr);
		long n = pick(s, len, &o);

		if ((n >= 0) != (j != NULL))
			fail_msg("depth %zu around '%s': jscan %ld, jansson %s",
			    d, inner[i], n, j != NULL ? "accepts" : jerr.text);
		json_decref(j);
		free(o);
		free(s);
	}
}

/* A deterministic generator, so failures repeat. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned
rnd(unsigned n)
{
	return xorshift_below(&rng, n);
}

static const char *const gen_keys[] = {
	"action", "score", "milter", "symbols", "name", "a", "", "scor",
	"actions", "mil\\\"ter", "\\u0041"
};
static const char *const gen_bits[] = {
	"x", " ", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00",
	"\\t\\/\\b\\f\\r", "\\u0041\\u07ff\\uffff", "\xc3\xa9", "\xe2\x82\xac",
	"\xf0\x9f\x98\x80", "}", "]", ",", ":", "{", "["
};
static const char *const gen_nums[] = {
	"0", "-1", "4.9", "15.0", "-0.5e+7", "1E3", "123456", "0.000001"
};

static void gen_value(struct buf *, int);

static void
gen_string(struct buf *b)
{
	buf_puts(b, "\"");
	for (unsigned n = rnd(5); n > 0; n--)
		buf_puts(b, gen_bits[rnd(sizeof(gen_bits) / sizeof(*gen_bits))]);
	buf_puts(b, "\"");
}

static void
gen_object(struct buf *b, int depth, int top)
{
	unsigned n = rnd(top ? 7 : 4);

	buf_puts(b, rnd(4) == 0 ? " { " : "{");
	for (unsigned i = 0; i < n; i++) {
		const char *k = gen_keys[rnd(top ? 6 :
		    sizeof(gen_keys) / sizeof(*gen_keys))];

		buf_printf(b, "%s\"%s\"%s", i ? "," : "", k,
		    rnd(3) == 0 ? " : " : ":");
		gen_value(b, depth + 1);
	}
	buf_puts(b, "}");
}

static void
gen_value(struct buf *b, int depth)
{
	unsigned kind = rnd(depth > 4 ? 4 : 6);

	switch (kind) {
	case 0:
		gen_string(b);
		break;
	case 1:
		buf_puts(b, gen_nums[rnd(sizeof(gen_nums) /
		    sizeof(*gen_nums))]);
		break;
	case 2:
		buf_puts(b, (const char *[]){ "true", "false", "null" }[rnd(3)]);
		break;
	case 3:
		buf_puts(b, rnd(2) ? "[]" : "{}");
		break;
	case 4:
		gen_object(b, depth, 0);
		break;
	default:
		buf_puts(b, "[");
		for (unsigned n = rnd(4), i = 0; i < n; i++) {
			if (i)
				buf_puts(b, rnd(2) ? "," : " , ");
			gen_value(b, depth + 1);
		}
		buf_puts(b, "]");
	}
}

/* mutate - a few byte edits, biased to the bytes that matter to JSON. */
static size_t
mutate(char *s, size_t len, size_t cap)
{
	static const char pool[] = "\"\\{}[],: 0-.eu\x80\xc3\xed\x01";

	for (unsigned n = 1 + rnd(3); n > 0 && len > 0; n--) {
		size_t at = rnd((unsigned)len);
		char c = rnd(4) ? pool[rnd(sizeof(pool) - 1)] :
		    (char)rnd(256);

		switch (rnd(4)) {
		case 0:
			s[at] = c;
			break;
		case 1:
			memmove(s + at, s + at + 1, len - at - 1);
			len--;
			break;
		case 2:
			if (len + 1 < cap) {
				memmove(s + at + 1, s + at, len - at);
				s[at] = c;
				len++;
			}
			break;
		default:
			len = at;
		}
	}
	return len;
}

/* same_picks - the picked members as jansson reads them in both texts. */
static void
same_picks(json_t *full, const char *o, long n, const char *text)
{
	json_error_t jerr;
	json_t *p = json_loadb(o, (size_t)n, 0, &jerr);
	size_t kept = 0;

	if (p == NULL)
		fail_msg("picked text does not parse (%s): %.*s from %s",
		    jerr.text, (int)n, o, text);
	for (const char *const *k = keys; *k != NULL; k++) {
		json_t *a = json_object_get(full, *k);
		json_t *b = json_object_get(p, *k);

		if (a != NULL)
			kept++;
		if (!(a == NULL ? b == NULL : b != NULL && json_equal(a, b)))
			fail_msg("member %s differs: %.*s from %s", *k,
			    (int)n, o, text);
	}
	assert_int_equal(json_object_size(p), kept);
	json_decref(p);
}

static void
test_against_jansson(void **state)
{
	enum { CASES = 30000 };
	unsigned accepted = 0, refused_valid = 0, out_of_range = 0;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (unsigned i = 0; i < CASES; i++) {
		json_error_t jerr;
		json_t *j;
		size_t len;
		char *o;
		long n;

		buf_reset(&b);
		gen_object(&b, 0, 1);
		buf_puts(&b, rnd(3) == 0 ? "\r\n" : "");
		/* Room to grow by mutation. */
		buf_puts(&b, "        ");
		len = b.len - 8;
		if (rnd(2))
			len = mutate(b.data, len, b.len);
		b.data[len] = '\0';
		j = json_loadb(b.data, len, 0, &jerr);
		n = pick(b.data, len, &o);
		if (n >= 0 && j == NULL && (strstr(jerr.text, "overflow") ||
		    strstr(jerr.text, "too big"))) {
			/* A number out of range in a skipped member: jscan.h
			 * says it does not check that. */
			out_of_range++;
		} else if (n >= 0) {
			if (j == NULL || !json_is_object(j))
				fail_msg("case %u: jscan accepts what jansson "
				    "refuses (%s): %s", i, jerr.text, b.data);
			same_picks(j, o, n, b.data);
			accepted++;
		} else if (j != NULL && json_is_object(j)) {
			/*
			 * Only an escaped key at the top may cost a pick, or
			 * a NUL byte: jansson reads some texts with one as
			 * if they ended there, jscan refuses them all.  A
			 * refusal costs a whole parse, not a wrong answer.
			 */
			if (memchr(b.data, '\\', len) == NULL &&
			    memchr(b.data, '\0', len) == NULL)
				fail_msg("case %u: jscan refuses a valid "
				    "object: %s", i, b.data);
			refused_valid++;
		}
		json_decref(j);
		free(o);
	}
	buf_free(&b);
	/* The generator must reach both sides, or this proves little. */
	assert_true(accepted > CASES / 4);
	assert_true(accepted < CASES);
	print_message("jscan: %u of %u accepted, %u valid refused (an "
	    "escaped key or a NUL byte), %u with a number out of range\n", accepted, CASES,
	    refused_valid, out_of_range);
}

/* same_shape - a checked span and jansson's value have the same types,
 * sizes and strings all the way down. */
static void
same_shape(struct jspan v, json_t *j)
{
	static const json_type types[] = {
		[JT_OBJECT] = JSON_OBJECT, [JT_ARRAY] = JSON_ARRAY,
		[JT_STRING] = JSON_STRING, [JT_TRUE] = JSON_TRUE,
		[JT_FALSE] = JSON_FALSE, [JT_NULL] = JSON_NULL,
	};
	enum jtype t = jscan_type(v);
	struct jspan k, e;
	struct jiter it;
	size_t n = 0;
	char *s;

	if (t == JT_NUMBER) {
		assert_true(json_is_number(j));
		assert_int_equal(jscan_is_integer(v), json_is_integer(j));
		return;
	}
	assert_int_equal(types[t], json_typeof(j));
	if (t == JT_STRING) {
		s = malloc(v.n);
		assert_non_null(s);
		n = jscan_unescape(v, s);
		assert_int_equal(n, json_string_length(j));
		assert_memory_equal(s, json_string_value(j), n);
		assert_int_equal(s[n], '\0');
		free(s);
		return;
	}
	if (t != JT_OBJECT && t != JT_ARRAY)
		return;
	jscan_iter(v, &it);
	while (jscan_next(&it, &k, &e)) {
		if (t == JT_ARRAY) {
			same_shape(e, json_array_get(j, n));
		} else {
			/* test_read skipped texts with a repeated key. */
			s = malloc(k.n);
			assert_non_null(s);
			jscan_unescape(k, s);
			same_shape(e, json_object_get(j, s));
			free(s);
		}
		n++;
	}
	assert_int_equal(n, t == JT_ARRAY ? json_array_size(j) :
	    json_object_size(j));
}

/* test_read - what jscan_next and jscan_unescape read is what jansson
 * reads, on generated texts with every escape and UTF-8 length. */
static void
test_read(void **state)
{
	enum { CASES = 5000 };
	unsigned checked = 0;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (unsigned i = 0; i < CASES; i++) {
		struct jmember m[8];
		json_error_t jerr;
		json_t *j;
		long n;

		buf_reset(&b);
		buf_puts(&b, "{\"milter\":");
		gen_value(&b, 1);
		buf_puts(&b, "}");
		j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
		if (j == NULL)
			continue;	/* a repeated key, or a number range */
		n = jscan_pick(b.data, b.len, keys, m, 8);
		assert_int_equal(n, 1);
		same_shape(m[0].val, json_object_get(j, "milter"));
		json_decref(j);
		checked++;
	}
	buf_free(&b);
	assert_true(checked > CASES / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_picks),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_against_jansson),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
