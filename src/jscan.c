/*
 * jscan.c - keep only some members of a JSON object; see jscan.h.
 *
 * One pass over the text with an explicit stack of open containers (a bit
 * each: object or array), so that deep nesting costs 256 bytes of stack,
 * not a recursion.
 */
#include <stdint.h>
#include <string.h>

#include "jscan.h"

struct scanner {
	const unsigned char	*p;
	const unsigned char	*end;
};

/*
 * plain_byte - a byte that stands for itself inside a string: printable
 * ASCII but the quote and the backslash.  Control bytes end the scan (they
 * are refused) and so do bytes from 0x80 (UTF-8, checked apart).
 */
static const unsigned char plain_byte[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* a0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* b0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* c0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* d0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* e0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* f0 */
};

/*
 * plain_run - past the whole 8-byte words from p that hold only plain
 * bytes.  Each test below is the usual "has a byte that is zero / less
 * than n" word trick: it may see a special byte that is not there (a
 * borrow), never miss one, and a false alarm only ends the run early.
 */
static const unsigned char *
plain_run(const unsigned char *p, const unsigned char *end)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones * 0x80;

	while (end - p >= 8) {
		uint64_t x, q, b;

		memcpy(&x, p, 8);
		q = x ^ ones * '"';
		b = x ^ ones * '\\';
		if (((x & high) | ((x - ones * 0x20) & ~x & high) |
		    ((q - ones) & ~q & high) | ((b - ones) & ~b & high)) != 0)
			break;
		p += 8;
	}
	return p;
}

/* blanks - past JSON's blanks from p, stopping at end. */
static const unsigned char *
blanks(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

static void
skip_blanks(struct scanner *s)
{
	s->p = blanks(s->p, s->end);
}

/* take - the next byte after blanks is c: consume it. */
static int
take(struct scanner *s, unsigned char c)
{
	skip_blanks(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return 1;
	}
	return 0;
}

/* utf8_seq - length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0xc2 || c > 0xf4)	/* a continuation, or overlong lead */
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if ((size_t)(end - p) < n)
		return 0;
	cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* hex4 - the value of 4 hex digits at p, or -1. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* escape - after a backslash: one escape; a surrogate must be a pair. */
static int
escape(struct scanner *s)
{
	long u, lo;

	if (s->p >= s->end)
		return -1;
	if (strchr("\"\\/bfnrt", *s->p) != NULL && *s->p != '\0') {
		s->p++;
		return 0;
	}
	if (*s->p != 'u' || (u = hex4(s->p + 1, s->end)) < 0)
		return -1;
	s->p += 5;
	if (u == 0 || (u >= 0xdc00 && u <= 0xdfff))
		return -1;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u' ||
		    (lo = hex4(s->p + 2, s->end)) < 0xdc00 || lo > 0xdfff)
			return -1;
		s->p += 6;
	}
	return 0;
}

/*
 * string - at the opening quote: skip the string.  *plain is cleared if
 * it holds an escape (its bytes are then not its value).
 */
static int
string(struct scanner *s, int *plain)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	s->p++;
	while (s->p < s->end) {
		unsigned char c;
		size_t n;

		/* Most of a reply is plain ASCII text: eight bytes a step,
		 * then one lookup a byte up to the one that is not. */
		s->p = plain_run(s->p, s->end);
		while (s->p < s->end && plain_byte[*s->p])
			s->p++;
		if (s->p >= s->end)
			break;
		c = *s->p;

		if (c == '"') {
			s->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			s->p++;
			*plain = 0;
			if (escape(s) == -1)
				return -1;
		} else if (c < 0x80) {
			s->p++;
		} else if ((n = utf8_seq(s->p, s->end)) == 0) {
			return -1;
		} else {
			s->p += n;
		}
	}
	return -1;
}

static int
is_digit(const struct scanner *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* number - -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number(struct scanner *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (!is_digit(s))
		return -1;
	if (*s->p++ != '0')
		while (is_digit(s))
			s->p++;
	else if (is_digit(s))
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	return 0;
}

static int
literal(struct scanner *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* key - a member's key and its colon; its span goes to *k, *kn. */
static int
key(struct scanner *s, const unsigned char **k, size_t *kn, int *plain)
{
	skip_blanks(s);
	*k = s->p;
	if (string(s, plain) == -1)
		return -1;
	*kn = (size_t)(s->p - *k);
	return take(s, ':') ? 0 : -1;
}

/* scalar - a string, number or literal at s->p. */
static int
scalar(struct scanner *s)
{
	int plain = 1;

	switch (*s->p) {
	case '"':
		return string(s, &plain);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		return number(s);
	}
}

/*
 * value - skip one whole value.  open holds a bit per open container (1:
 * object), the innermost at bit depth - 1.
 */
static int
value(struct scanner *s)
{
	uint8_t open[JSCAN_MAX_DEPTH / 8];
	size_t depth = 0;
	const unsigned char *k;
	size_t kn;
	int plain = 1;

	for (;;) {
		/*
		 * A value starts here.  jansson counts a level for every
		 * value, scalars too, and the reply object itself is level
		 * 1, so this one is at level depth + 2.
		 */
		skip_blanks(s);
		if (s->p >= s->end || depth + 2 > JSCAN_MAX_DEPTH)
			return -1;
		if (*s->p == '{' || *s->p == '[') {
			int obj = *s->p++ == '{';

			if (obj)
				open[depth / 8] |= (uint8_t)(1u << depth % 8);
			else
				open[depth / 8] &= (uint8_t)~(1u << depth % 8);
			depth++;
			if (!take(s, obj ? '}' : ']')) {
				if (obj && key(s, &k, &kn, &plain) == -1)
					return -1;
				continue;
			}
			depth--;
		} else if (scalar(s) == -1) {
			return -1;
		}
		/* A value ended: close what it ends, then the next one. */
		for (;;) {
			int obj;

			if (depth == 0)
				return 0;
			obj = open[(depth - 1) / 8] >> (depth - 1) % 8 & 1;
			if (take(s, ',')) {
				if (obj && key(s, &k, &kn, &plain) == -1)
					return -1;
				break;
			}
			if (!take(s, obj ? '}' : ']'))
				return -1;
			depth--;
		}
	}
}

/* wanted - whether the raw key k (quotes included) is one of keys. */
static int
wanted(const unsigned char *k, size_t kn, const char *const *keys)
{
	/* No strlen per key and member: a key of kn - 2 bytes that match
	 * and then end matches. */
	for (; *keys != NULL; keys++)
		if (strncmp((const char *)k + 1, *keys, kn - 2) == 0 &&
		    (*keys)[kn - 2] == '\0')
			return 1;
	return 0;
}

long
jscan_pick(const char *text, size_t len, const char *const *keys,
    struct jmember *out, size_t max)
{
	struct scanner s = { (const unsigned char *)text,
	    (const unsigned char *)text + len };
	size_t n = 0;

	if (!take(&s, '{'))
		return -1;
	if (!take(&s, '}')) {
		do {
			const unsigned char *k, *v;
			size_t kn;
			int plain = 1;

			if (key(&s, &k, &kn, &plain) == -1 || !plain)
				return -1;
			skip_blanks(&s);
			v = s.p;
			if (value(&s) == -1)
				return -1;
			if (wanted(k, kn, keys)) {
				if (n == max)
					return -1;
				out[n].key.p = (const char *)k;
				out[n].key.n = kn;
				out[n].val.p = (const char *)v;
				out[n].val.n = (size_t)(s.p - v);
				n++;
			}
		} while (take(&s, ','));
		if (!take(&s, '}'))
			return -1;
	}
	skip_blanks(&s);
	return s.p == s.end ? (long)n : -1;
}

/*
 * Reading a checked text.  Nothing below checks again: the spans come from
 * a text jscan_pick accepted, so strings end, escapes are whole and
 * containers close.
 */

enum jtype
jscan_type(struct jspan v)
{
	switch (v.p[0]) {
	case '{':
		return JT_OBJECT;
	case '[':
		return JT_ARRAY;
	case '"':
		return JT_STRING;
	case 't':
		return JT_TRUE;
	case 'f':
		return JT_FALSE;
	case 'n':
		return JT_NULL;
	default:
		return JT_NUMBER;
	}
}

/* structural - the bytes that open or close a string or a container. */
static const unsigned char structural[256] = {
	['"'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1
};

/* string_end - past the closing quote of the string whose text starts at
 * p (after its opening quote); a quote after an odd run of backslashes is
 * escaped. */
static const char *
string_end(const char *p, const char *end)
{
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		const char *b = q;

		while (b > p && b[-1] == '\\')
			b--;
		if ((q - b) % 2 == 0)
			return q + 1;
		p = q + 1;
	}
}

/* skip_checked - past the value at p of a checked text ending by end. */
static const char *
skip_checked(const char *p, const char *end)
{
	long depth = 0;

	if (*p != '"' && *p != '{' && *p != '[') {
		/* A number or a literal: up to what follows it. */
		while (strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	do {
		while (!structural[(unsigned char)*p])
			p++;
		if (*p == '"') {
			p = string_end(p + 1, end);
		} else {
			depth += *p == '{' || *p == '[' ? 1 : -1;
			p++;
		}
	} while (depth > 0);
	return p;
}

void
jscan_iter(struct jspan c, struct jiter *it)
{
	it->obj = c.p[0] == '{';
	it->p = c.p + 1;		/* past the bracket */
	it->end = c.p + c.n - 1;	/* at the closing one */
}

/* span_blanks - blanks() for a checked span's plain chars. */
static const char *
span_blanks(const char *p, const char *end)
{
	return (const char *)blanks((const unsigned char *)p,
	    (const unsigned char *)end);
}

int
jscan_next(struct jiter *it, struct jspan *k, struct jspan *v)
{
	const char *p = span_blanks(it->p, it->end);

	if (p < it->end && *p == ',')
		p = span_blanks(p + 1, it->end);
	if (p >= it->end)
		return 0;
	if (it->obj) {
		k->p = p;
		p = string_end(p + 1, it->end);
		k->n = (size_t)(p - k->p);
		/* past the colon */
		p = span_blanks(span_blanks(p, it->end) + 1, it->end);
	}
	v->p = p;
	p = skip_checked(p, it->end);
	v->n = (size_t)(p - v->p);
	it->p = p;
	return 1;
}

/* put_utf8 - code point cp as UTF-8 at o; returns the bytes written. */
static size_t
put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * An escape never takes more room than it writes: \uXXXX (6 bytes) is at
 * most 3 bytes of UTF-8, a pair (12) is 4, and the quotes give the NUL its
 * room.
 */
size_t
jscan_unescape(struct jspan s, char *out)
{
	const unsigned char *p = (const unsigned char *)s.p + 1;
	const unsigned char *end = (const unsigned char *)s.p + s.n - 1;
	size_t o = 0;

	while (p < end) {
		const unsigned char *q = p;
		unsigned long cp;

		while (q < end && *q != '\\')
			q++;
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		if ((p = q) >= end)
			break;
		switch (p[1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			cp = (unsigned long)hex4(p + 2, end);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    ((unsigned long)hex4(p + 8, end) - 0xdc00);
				p += 6;
			}
			o += put_utf8(out + o, cp);
			p += 4;
			break;
		default:	/* " \ / */
			out[o++] = (char)p[1];
		}
		p += 2;
	}
	out[o] = '\0';
	return o;
}

int
jscan_is_integer(struct jspan v)
{
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == '.' || v.p[i] == 'e' || v.p[i] == 'E')
			return 0;
	return 1;
}
