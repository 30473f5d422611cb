/*
 * jscan - keep only some members of a JSON object, without building it.
 *
 * Why: a scan reply is about 2.5 KB, and most of it is "symbols" (every
 * rule with its description and options), which the verdict does not use.
 * Building that tree in jansson was half of the daemon's instructions per
 * message (callgrind, concurrency 4).  jscan_pick walks the text once,
 * checks it, and copies out the members the caller names, so that jansson
 * parses a few hundred bytes instead of the whole reply.
 *
 * It checks what it skips against the same rules jansson applies, so a
 * reply it accepts is one jansson would have accepted too: JSON grammar,
 * UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * escapes (a \u escape of a surrogate must be a whole pair, and \u0000 is
 * refused), no control bytes in strings, nothing but blanks after the
 * object, nesting up to JSCAN_MAX_DEPTH.  What it does not check in the
 * members it skips: whether a number fits a double or a 64-bit integer,
 * and duplicate keys inside nested objects.  The members it keeps are
 * copied byte for byte, so jansson checks those completely.
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

/*
 * jscan_pick - text (len bytes) must be one JSON object.  Writes to out an
 * object of the members whose key is one of keys (a NULL-terminated list),
 * in the order they come, duplicates included; out needs room for len + 2
 * bytes.  Returns the length written, or -1 if text is not an object jscan
 * can vouch for.
 */
long	jscan_pick(const char *text, size_t len, const char *const *keys,
	    char *out);

#endif
