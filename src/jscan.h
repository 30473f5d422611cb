/*
 * jscan - check a JSON object and find some of its members, without
 * building it.
 *
 * Why: a scan reply is about 2.5 KB, and most of it is "symbols" (every
 * rule with its description and options), which the verdict does not use.
 * jansson's json_loadb costs about 140 instructions a byte; it was half of
 * the daemon's instructions per message (callgrind, concurrency 4).
 * jscan_pick walks the text once, checks it, and returns where the members
 * the caller names are; verdict.c builds jansson values from just those.
 *
 * It checks what it skips against the same rules jansson applies, so a
 * reply it accepts is one jansson would have accepted too: JSON grammar,
 * UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * escapes (a \u escape of a surrogate must be a whole pair, and \u0000 is
 * refused), no control bytes in strings, nothing but blanks after the
 * object, nesting up to JSCAN_MAX_DEPTH.  What it does not check in the
 * members it skips: whether a number fits a double or a 64-bit integer,
 * and duplicate keys.  Whoever reads the members it finds checks those.
 *
 * When it cannot vouch for a text it says so (-1) and the caller parses
 * the whole text as before; that is also how a malformed reply still gets
 * jansson's own error message.  A key written with escapes ("\u0061ction")
 * is one such case: jscan compares keys as raw bytes.
 *
 * Thread: any; no state.  No library: it only reads and copies bytes.
 */
#ifndef SCANMILTER_JSCAN_H
#define SCANMILTER_JSCAN_H

#include <stddef.h>

#define JSCAN_MAX_DEPTH	2048	/* jansson's JSON_PARSER_MAX_DEPTH */

/* A value's text inside a checked reply; a key keeps its quotes. */
struct jspan {
	const char	*p;
	size_t		 n;
};

struct jmember {
	struct jspan	 key;
	struct jspan	 val;
};

/*
 * jscan_pick - text (len bytes) must be one JSON object.  Checks all of it
 * and fills out[] with the members whose key is one of keys (a NULL-ended
 * list), in the order they come, duplicates included.  Returns how many,
 * or -1 if text is not an object jscan can vouch for or holds more than
 * max such members.
 */
long	jscan_pick(const char *text, size_t len, const char *const *keys,
	    struct jmember *out, size_t max);

/*
 * Reading the values jscan_pick found.  These trust the text: call them
 * only on spans from a text that jscan_pick accepted.
 */
enum jtype {
	JT_OBJECT, JT_ARRAY, JT_STRING, JT_NUMBER, JT_TRUE, JT_FALSE, JT_NULL
};

enum jtype	jscan_type(struct jspan);

/* An object's members or an array's elements, in order. */
struct jiter {
	const char	*p;
	const char	*end;
	int		 obj;
};

void	jscan_iter(struct jspan container, struct jiter *);
/* jscan_next - the next member (key is set) or element; 0 at the end. */
int	jscan_next(struct jiter *, struct jspan *key, struct jspan *val);
/*
 * jscan_unescape - the bytes a string (or key) span stands for, as UTF-8,
 * into out (room for s.n bytes), NUL-terminated; returns the length.
 */
size_t	jscan_unescape(struct jspan s, char *out);
/* jscan_is_integer - a number with no fraction and no exponent. */
int	jscan_is_integer(struct jspan);

#endif
