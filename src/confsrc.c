/*
 * confsrc.c - a config file with its @includes spliced in; see confsrc.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conflex.h"
#include "confsrc.h"
#include "fdio.h"
#include "xalloc.h"

/* From line `line` of the spliced text on, lines are file's from fline. */
struct seg {
	int		 line;
	const char	*file;
	int		 fline;
};

struct confsrc {
	char		*text;		/* spliced, NUL-terminated */
	size_t		 len, cap;
	int		 line;		/* line of the text's end */
	struct seg	*segs;
	size_t		 nsegs;
	char		**files;	/* every file's name, owned */
	size_t		 nfiles;
	const char	*dir;		/* relative names resolve here */
};

/* One file being spliced: where its text has been copied up to. */
struct splice {
	struct confsrc	*src;
	const char	*file;		/* its name (src->files owns it) */
	const char	*text;
	size_t		 done;		/* bytes of text copied out */
	int		 depth;
};

static int	splice_file(struct confsrc *, const char *, int,
		    const struct splice *, int, char *, size_t);

/* mark - from the text's current line on, lines are file's from fline. */
static void
mark(struct confsrc *s, const char *file, int fline)
{
	if (s->nsegs > 0 && s->segs[s->nsegs - 1].line == s->line)
		s->nsegs--;	/* nothing came from the one before */
	s->segs = xgrow(s->segs, s->nsegs, sizeof(*s->segs));
	s->segs[s->nsegs++] = (struct seg){ s->line, file, fline };
}

/* append - n bytes onto the text, counting lines; -1 past the limit. */
static int
append(struct confsrc *s, const char *p, size_t n)
{
	if (n > CONFSRC_TEXT_MAX - s->len)
		return -1;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap == 0 ? 4096 : s->cap;

		while (cap < s->len + n + 1)
			cap *= 2;
		s->text = xrealloc(s->text, cap);
		s->cap = cap;
	}
	memcpy(s->text + s->len, p, n);
	s->len += n;
	s->text[s->len] = '\0';
	for (size_t i = 0; i < n; i++)
		s->line += p[i] == '\n';
	return 0;
}

/* lines_in - the newlines in n bytes of p. */
static int
lines_in(const char *p, size_t n)
{
	int k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* too_big - the error for a spliced text past the limit. */
static int
too_big(const char *file, int line, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s:%d: the configuration with its @includes "
	    "is larger than %d bytes", file, line, CONFSRC_TEXT_MAX);
	return -1;
}

/*
 * on_include - conflex met an @include in sp's file: copy the file's text
 * up to the directive, then the included file on lines of its own; the
 * rest of the directive's line follows it, still that line.
 */
static int
on_include(void *arg, const char *name, int line, size_t at, size_t end,
    char *err, size_t errlen)
{
	struct splice *sp = arg;
	struct confsrc *s = sp->src;
	char *path;
	int rc;

	if (sp->depth + 1 >= CONFSRC_DEPTH) {
		snprintf(err, errlen, "%s:%d: @include \"%s\": nested more than "
		    "%d deep", sp->file, line, name, CONFSRC_DEPTH - 1);
		return -1;
	}
	if (append(s, sp->text + sp->done, at - sp->done) == -1 ||
	    append(s, "\n", 1) == -1)
		return too_big(sp->file, line, err, errlen);
	path = name[0] != '/' && s->dir != NULL ?
	    xasprintf("%s/%s", s->dir, name) : xstrdup(name);
	rc = splice_file(s, path, sp->depth + 1, sp, line, err, errlen);
	free(path);
	if (rc == -1)
		return -1;
	if (append(s, "\n", 1) == -1)
		return too_big(sp->file, line, err, errlen);
	/* The directive's own line goes on after the included text. */
	mark(s, sp->file, line + lines_in(sp->text + at, end - at));
	sp->done = end;
	return 0;
}

/*
 * read_all - the whole regular file at path, NUL-terminated; NULL with
 * the reason alone in why.
 */
static char *
read_all(const char *path, size_t *len, char *why, size_t whylen)
{
	char *text;
	size_t size;
	ssize_t n;
	int fd;

	if ((fd = fd_open_regular(path, &size, why, whylen)) == -1)
		return NULL;
	if (size > CONFSRC_TEXT_MAX) {
		snprintf(why, whylen, "larger than %d bytes", CONFSRC_TEXT_MAX);
		close(fd);
		return NULL;
	}
	text = xmalloc(size + 1);
	if ((n = fd_read_full(fd, text, size)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		free(text);
		close(fd);
		return NULL;
	}
	close(fd);
	text[n] = '\0';
	*len = (size_t)n;
	return text;
}

/*
 * splice_file - path's text onto src, its includes spliced in; 0, or -1
 * with the message in err.  A file that cannot be read is named with the
 * @include that asked for it (by, at line), or alone if it is the top.
 */
static int
splice_file(struct confsrc *s, const char *path, int depth,
    const struct splice *by, int line, char *err, size_t errlen)
{
	struct splice sp = { s, NULL, NULL, 0, depth };
	char why[256], *text;
	size_t len;
	int rc;

	if ((text = read_all(path, &len, why, sizeof(why))) == NULL) {
		if (by != NULL)
			snprintf(err, errlen, "%s:%d: @include \"%s\": %s",
			    by->file, line, path, why);
		else
			snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	s->files = xgrow(s->files, s->nfiles, sizeof(*s->files));
	s->files[s->nfiles] = xstrdup(path);
	sp.file = s->files[s->nfiles++];
	sp.text = text;
	mark(s, sp.file, 1);
	rc = conflex_check(text, len, sp.file, on_include, &sp, err, errlen);
	if (rc == 0 && append(s, text + sp.done, len - sp.done) == -1)
		rc = too_big(sp.file, 1 + lines_in(text, len), err, errlen);
	free(text);
	return rc;
}

struct confsrc *
confsrc_load(const char *path, char *err, size_t errlen)
{
	struct confsrc *s = xcalloc(1, sizeof(*s));
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc;

	/* Relative names resolve beside the top file, as libconfig's
	 * include directory did; a bare name against the working one. */
	if (slash == dir)
		dir[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	s->dir = slash != NULL ? dir : NULL;
	s->line = 1;
	rc = splice_file(s, path, 0, NULL, 0, err, errlen);
	free(dir);
	s->dir = NULL;
	if (rc == -1) {
		confsrc_free(s);
		return NULL;
	}
	if (s->text == NULL)
		append(s, "", 0);	/* an empty file: the text is "" */
	return s;
}

const char *
confsrc_text(const struct confsrc *s, size_t *len)
{
	*len = s->len;
	return s->text;
}

void
confsrc_where(void *arg, int line, const char **file, int *fline)
{
	const struct confsrc *s = arg;
	size_t lo = 0, hi = s->nsegs;

	/* The last segment that starts at or before line. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->segs[mid].line <= line)
			lo = mid;
		else
			hi = mid;
	}
	if (s->nsegs == 0 || line < s->segs[lo].line) {
		*file = s->nfiles > 0 ? s->files[0] : "?";
		*fline = line;
		return;
	}
	*file = s->segs[lo].file;
	*fline = s->segs[lo].fline + (line - s->segs[lo].line);
}

void
confsrc_free(struct confsrc *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->segs);
	free(s->text);
	free(s);
}
