/*
 * confsrc - a config file with its @includes spliced in: the one text
 * libconfig parses, and a map from its lines back to the files and lines
 * they came from.
 *
 * Debian 12's libconfig 1.5 joins its include directory and an @include's
 * name with a "/" even when the name is absolute, so @include
 * "/etc/scanmilter/local.conf" fails ("cannot open include file") however
 * the file is, and it has no hook to resolve names itself (1.7 has one).
 * So scanmilter reads the includes itself: each file is opened as the top
 * one is (a regular file, at most CONFSRC_TEXT_MAX), checked by conflex,
 * and its text takes the place of its @include directive, set off on
 * lines of its own; libconfig then reads the whole text and never sees an
 * @include.  Its errors and its settings' lines, numbered in that text,
 * come back to "FILE:LINE" through confsrc_where.
 *
 * Names: an absolute name as written; a relative one against the
 * directory of the top file, in nested includes too (what libconfig's
 * include directory gave, kept for the files written for it).  Nesting
 * stops at CONFSRC_DEPTH (which also ends an include cycle), and the
 * spliced text at CONFSRC_TEXT_MAX, so a file included many times over
 * cannot make it grow without bound.
 *
 * Thread: any; no shared state.  Ownership: confsrc_load's result is the
 * caller's, freed with confsrc_free; the text and the file names that
 * confsrc_text and confsrc_where give belong to it.
 */
#ifndef SCANMILTER_CONFSRC_H
#define SCANMILTER_CONFSRC_H

#include <stddef.h>

#define CONFSRC_TEXT_MAX	(4 * 1024 * 1024)	/* a file, or all */
#define CONFSRC_DEPTH		10	/* @include within @include */

struct confsrc;

/*
 * confsrc_load - read path and what it includes; NULL with "FILE[:LINE]:
 * why" in err (a file that cannot be read, a lexical fault conflex finds,
 * nesting or size past the limits).
 */
struct confsrc	*confsrc_load(const char *path, char *err, size_t errlen);

/* confsrc_text - the spliced text, NUL-terminated; its length in *len. */
const char	*confsrc_text(const struct confsrc *, size_t *len);

/*
 * confsrc_where - the file and line that line of the spliced text came
 * from; a line out of range maps to the top file's line as given.  Its
 * signature is conflex_where_fn's, with the confsrc as arg.
 */
void		 confsrc_where(void *src, int line, const char **file,
		    int *fline);

void		 confsrc_free(struct confsrc *);

#endif
