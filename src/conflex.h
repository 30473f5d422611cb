/*
 * conflex - checks on a config file's text that libconfig 1.5 does not
 * make, run before libconfig parses it.
 *
 * Debian 12's libconfig 1.5 takes some input silently wrong, and one kind
 * kills the process:
 *
 *   - an integer without the L suffix that does not fit in 32 bits is cut
 *     to its low 32 bits (max_size = 5000000000 reads as 705032704), and
 *     one with L that does not fit in 64 bits reads as -1;
 *   - a "\x00" escape in a string is dropped, and a NUL byte in the file
 *     ends the string there;
 *   - "@include" of a directory (or anything else that cannot be read as
 *     a file) makes libconfig's scanner call exit(2), which would take the
 *     daemon down on a reload; a missing include gets an error that does
 *     not name the file;
 *   - a setting given twice in one group is refused with "duplicate
 *     setting name", which names neither the setting nor its first line.
 *
 * conflex walks the text as libconfig's scanner would (comments, strings,
 * names, numbers) and reports the first such fault as "FILE:LINE: what",
 * and hands every @include to the caller (confsrc, which reads the file
 * it names and splices it in, so that libconfig never opens one itself).
 * For a duplicate, libconfig's own error stands (it comes in file order
 * with the syntax errors); conflex_duplicate then words it, following the
 * braces of groups through the text libconfig read (confsrc's: the files
 * with their @includes spliced in, so a repeat across files is found).
 * It does not parse the grammar: syntax errors are libconfig's to report.
 *
 * Thread: any; no state.  Ownership: the caller owns every buffer.
 */
#ifndef SCANMILTER_CONFLEX_H
#define SCANMILTER_CONFLEX_H

#include <stddef.h>

/*
 * conflex_include_fn - called for each @include "NAME" (NAME as written,
 * escapes undone) at LINE, in text order; the directive is the bytes
 * [at, end) of the text, from the '@' to past the closing quote.  Returns
 * 0, or -1 with a complete message (starting with the file and line) in
 * err.
 */
typedef int	(*conflex_include_fn)(void *arg, const char *name, int line,
		    size_t at, size_t end, char *err, size_t errlen);

/*
 * conflex_where_fn - the file and line that line LINE of a text came
 * from (confsrc_where); *file stays valid as long as the text does.
 */
typedef void	(*conflex_where_fn)(void *arg, int line, const char **file,
		    int *fline);

/*
 * conflex_check - check len bytes of text, named file in messages.
 * on_include may be NULL (then @include is not checked).  Returns 0, or
 * -1 with the reason in err.
 */
int	conflex_check(const char *text, size_t len, const char *file,
	    conflex_include_fn on_include, void *arg, char *err,
	    size_t errlen);

/*
 * conflex_duplicate - libconfig said "duplicate setting name" at LINE of
 * this text: find the setting repeated there and word it in out ("FILE:
 * LINE: option 'a.b' is given twice (first on line N)", or "(first at
 * FILE2:N)" when the first is in another file).  where maps the text's
 * lines to files and lines; NULL: all are line of file.  Returns 0, or -1
 * if no repeat is on that line (out untouched).
 */
int	conflex_duplicate(const char *text, size_t len, const char *file,
	    conflex_where_fn where, void *arg, int line, char *out,
	    size_t outlen);

#endif
