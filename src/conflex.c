/*
 * conflex.c - pre-checks of a config file's text; see conflex.h.
 *
 * The token rules follow libconfig 1.5's scanner: comments are "#...",
 * "//..." and C style; names start with a letter or '*'; a number with a
 * '.' or an exponent is a float; "0x" starts a hexadecimal integer; "L"
 * (or "LL") after an integer makes it 64-bit.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conflex.h"
#include "xalloc.h"

#define INCLUDE_NAME_MAX	4096	/* as PATH_MAX */
#define SCOPE_DEPTH_MAX		64	/* deeper groups: not checked */

/* A group ("{ ... }") or list, or the file's top level (scope 0). */
struct scope {
	size_t		 parent;
	const char	*name;		/* its setting's name, NULL if none */
	size_t		 len;
};

/* A setting's name, in the scope it was given in. */
struct setting {
	size_t		 scope;
	const char	*name;
	size_t		 len;
	int		 line;
	size_t		 order;		/* in the file */
};

struct lex {
	const char		*text, *p, *end;
	int			 line;
	const char		*file;
	conflex_include_fn	 on_include;
	void			*arg;
	conflex_where_fn	 where;		/* NULL: lines are file's */
	void			*warg;
	char			*err;
	size_t			 errlen;
	/* names, for duplicates (conflex_duplicate only) */
	int			 collect;
	struct scope		*scopes;
	size_t			 nscopes;
	struct setting		*settings;
	size_t			 nsettings;
	size_t			 open[SCOPE_DEPTH_MAX];	/* groups open now */
	size_t			 depth;
	size_t			 deep;	/* groups open past the limit */
	/* the setting whose value comes next, to name a group by */
	const char		*pending;	/* NULL: none */
	size_t			 pending_len;
};

/* fail - "FILE:LINE: what" into err; returns -1. */
static int
fail(struct lex *x, int line, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s:%d: %s", x->file, line, why);
	return -1;
}

/* in_set - is c one of the bytes of set (never the NUL byte)? */
static int
in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* at - the byte i ahead of the cursor, or '\0' past the end. */
static char
at(const struct lex *x, size_t i)
{
	return (size_t)(x->end - x->p) > i ? x->p[i] : '\0';
}

/* skip_comment - past a comment at the cursor; 0 if there is none. */
static int
skip_comment(struct lex *x)
{
	if (at(x, 0) == '#' || (at(x, 0) == '/' && at(x, 1) == '/')) {
		while (x->p < x->end && *x->p != '\n')
			x->p++;
		return 1;
	}
	if (at(x, 0) == '/' && at(x, 1) == '*') {
		x->p += 2;
		while (x->p < x->end && !(at(x, 0) == '*' && at(x, 1) == '/')) {
			if (*x->p == '\n')
				x->line++;
			x->p++;
		}
		/* An unterminated comment is libconfig's to report. */
		x->p += x->p < x->end ? 2 : 0;
		return 1;
	}
	return 0;
}

/*
 * string - past the string whose '"' is at the cursor.  out (if not
 * NULL) gets its text with \" and \\ undone, cut at outlen - 1 bytes;
 * *cut says whether it was.  A "\x00" escape is a fault: libconfig would
 * drop it without a word.
 */
static int
string(struct lex *x, char *out, size_t outlen, int *cut)
{
	size_t n = 0;

	*cut = 0;
	for (x->p++; x->p < x->end && *x->p != '"'; x->p++) {
		char c = *x->p;

		if (c == '\0')	/* libconfig would end the string here */
			return fail(x, x->line, "a NUL byte: a config file "
			    "is text");
		if (c == '\n')
			x->line++;
		if (c == '\\' && x->p + 1 < x->end) {
			c = *++x->p;
			if (c == '\n')
				x->line++;
			if ((c == 'x' || c == 'X') && at(x, 1) == '0' &&
			    at(x, 2) == '0')
				return fail(x, x->line, "a string holds "
				    "\"\\x00\": a string cannot hold a NUL "
				    "byte");
		}
		if (out != NULL && n + 1 < outlen)
			out[n++] = c;
		else if (out != NULL)
			*cut = 1;
	}
	/* An unterminated string is libconfig's to report. */
	x->p += x->p < x->end ? 1 : 0;
	if (out != NULL)
		out[n] = '\0';
	return 0;
}

/* include - "@include" at the cursor: hand its file name over. */
static int
include(struct lex *x)
{
	char name[INCLUDE_NAME_MAX];
	int cut, line = x->line;
	size_t from = (size_t)(x->p - x->text);

	x->p += strlen("@include");
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t'))
		x->p++;
	if (at(x, 0) != '"')
		return 0;	/* not an include libconfig knows: its error */
	if (string(x, name, sizeof(name), &cut) == -1)
		return -1;
	if (cut)
		return fail(x, line, "@include: the file name is longer than "
		    "%d bytes", INCLUDE_NAME_MAX - 1);
	if (x->on_include == NULL)
		return 0;
	return x->on_include(x->arg, name, line, from,
	    (size_t)(x->p - x->text), x->err, x->errlen);
}

/* number - past the integer or float at the cursor; check its range. */
static int
number(struct lex *x)
{
	const char *start = x->p, *digits;
	int hex, is64 = 0;
	uintmax_t v;
	char buf[64];

	if (*x->p == '+' || *x->p == '-')
		x->p++;
	hex = at(x, 0) == '0' && (at(x, 1) == 'x' || at(x, 1) == 'X');
	x->p += hex ? 2 : 0;
	digits = x->p;
	while (x->p < x->end && (hex ? isxdigit((unsigned char)*x->p) :
	    isdigit((unsigned char)*x->p)))
		x->p++;
	if (!hex && (at(x, 0) == '.' || at(x, 0) == 'e' || at(x, 0) == 'E')) {
		/* A float: its digits, point and exponent; no range here. */
		while (x->p < x->end && (isdigit((unsigned char)*x->p) ||
		    in_set(*x->p, ".eE") || ((*x->p == '+' ||
		    *x->p == '-') && (x->p[-1] == 'e' || x->p[-1] == 'E'))))
			x->p++;
		return 0;
	}
	if (x->p == digits)
		return 0;	/* a lone sign or "0x": libconfig's error */
	while (at(x, 0) == 'L' && is64 < 2) {
		x->p++;
		is64++;
	}
	if ((size_t)(x->p - start) >= sizeof(buf))
		return fail(x, x->line, "integer %.20s... is too long",
		    start);
	memcpy(buf, start, x->p - start);
	buf[x->p - start] = '\0';
	errno = 0;
	v = strtoumax(buf + (*buf == '-' || *buf == '+'), NULL, hex ? 16 : 10);
	/* Hexadecimal is a bit pattern: 0x80000000 and up read as negative. */
	if (errno == ERANGE || v > (is64 ? (uintmax_t)INT64_MAX :
	    (uintmax_t)INT32_MAX) + (*buf == '-' && !hex))
		return fail(x, x->line, is64 ? "integer %s does not fit in "
		    "64 bits" : "integer %s does not fit in a signed 32-bit "
		    "integer, which libconfig would read wrong: write %sL",
		    buf, buf);
	return 0;
}

/* starts_number - does a number begin at the cursor? */
static int
starts_number(const struct lex *x)
{
	char c = at(x, 0), n = at(x, 1);

	if (isdigit((unsigned char)c))
		return 1;
	if ((c == '+' || c == '-') && (isdigit((unsigned char)n) || n == '.'))
		return 1;
	return c == '.' && isdigit((unsigned char)n);
}

/* is_setting - does a setting's separator ('=' or ':') follow, past
 * blanks and comments? */
static int
is_setting(const struct lex *x)
{
	struct lex ahead = *x;

	for (;;) {
		while (ahead.p < ahead.end && in_set(*ahead.p, " \t\r\n"))
			ahead.p++;
		if (!skip_comment(&ahead))
			break;
	}
	return ahead.p < ahead.end && (*ahead.p == '=' || *ahead.p == ':');
}

/* name - past the name at the cursor; note it if it names a setting. */
static void
name(struct lex *x)
{
	const char *start = x->p;
	struct setting *st;

	while (x->p < x->end && (isalnum((unsigned char)*x->p) ||
	    in_set(*x->p, "-_*")))
		x->p++;
	x->pending = NULL;
	if (!x->collect || x->deep > 0 || !is_setting(x))
		return;
	x->settings = xgrow(x->settings, x->nsettings, sizeof(*x->settings));
	st = &x->settings[x->nsettings];
	st->scope = x->depth > 0 ? x->open[x->depth - 1] : 0;
	st->name = start;
	st->len = (size_t)(x->p - start);
	st->line = x->line;
	st->order = x->nsettings++;
	x->pending = start;
	x->pending_len = st->len;
}

/* group_open - a '{' or '(': a new scope, named by the setting it is the
 * value of (none for a group in a list). */
static void
group_open(struct lex *x)
{
	struct scope *sc;

	if (x->depth == SCOPE_DEPTH_MAX || x->deep > 0) {
		x->deep++;
		return;
	}
	x->scopes = xgrow(x->scopes, x->nscopes, sizeof(*x->scopes));
	sc = &x->scopes[x->nscopes];
	sc->parent = x->depth > 0 ? x->open[x->depth - 1] : 0;
	sc->name = x->pending;
	sc->len = x->pending != NULL ? x->pending_len : 0;
	x->open[x->depth++] = x->nscopes++;
	x->pending = NULL;
}

static void
group_close(struct lex *x)
{
	if (x->deep > 0)
		x->deep--;
	else if (x->depth > 0)
		x->depth--;
}

/* path_of - "a.b.name" for a setting, cut to len. */
static void
path_of(const struct lex *x, const struct setting *st, char *out, size_t len)
{
	const struct scope *chain[SCOPE_DEPTH_MAX];
	size_t n = 0, k = 0;

	for (size_t sc = st->scope; sc != 0 && n < SCOPE_DEPTH_MAX;
	    sc = x->scopes[sc].parent)
		if (x->scopes[sc].name != NULL)
			chain[n++] = &x->scopes[sc];
	out[0] = '\0';
	while (n > 0 && k < len) {
		n--;
		k += (size_t)snprintf(out + k, len - k, "%.*s.",
		    (int)chain[n]->len, chain[n]->name);
	}
	if (k < len)
		snprintf(out + k, len - k, "%.*s", (int)st->len, st->name);
}

static int
by_scope_name(const void *a, const void *b)
{
	const struct setting *s = a, *t = b;
	size_t n = s->len < t->len ? s->len : t->len;
	int c;

	if (s->scope != t->scope)
		return s->scope < t->scope ? -1 : 1;
	if ((c = memcmp(s->name, t->name, n)) != 0)
		return c;
	if (s->len != t->len)
		return s->len < t->len ? -1 : 1;
	return s->order < t->order ? -1 : s->order > t->order;
}

/* same - do a and b name the same setting of the same group? */
static int
same(const struct setting *a, const struct setting *b)
{
	return a->scope == b->scope && a->len == b->len &&
	    memcmp(a->name, b->name, a->len) == 0;
}

/* origin - the file and line that line of the text came from. */
static void
origin(const struct lex *x, int line, const char **file, int *fline)
{
	if (x->where != NULL) {
		x->where(x->warg, line, file, fline);
	} else {
		*file = x->file;
		*fline = line;
	}
}

/*
 * duplicates - the first setting repeated in its group on the given line
 * (any line if 0): "FILE:LINE: option 'a.b' is given twice (first on line
 * N)".  Returns -1 with that in err, 0 if there is none.
 */
static int
duplicates(struct lex *x, int line)
{
	const struct setting *again = NULL, *first = NULL;
	const char *f1, *f2;
	char path[512];
	int l1, l2;

	if (x->nsettings < 2)
		return 0;
	/* Sorted, each run of one name in one group is in file order: its
	 * first element is the original, its second the first repeat. */
	qsort(x->settings, x->nsettings, sizeof(*x->settings), by_scope_name);
	for (size_t i = 1; i < x->nsettings; i++) {
		const struct setting *s = &x->settings[i];

		if (!same(s - 1, s) || (i >= 2 && same(s - 2, s)) ||
		    (line > 0 && s->line != line))
			continue;
		if (again == NULL || s->order < again->order) {
			again = s;
			first = s - 1;
		}
	}
	if (again == NULL)
		return 0;
	path_of(x, again, path, sizeof(path));
	origin(x, again->line, &f2, &l2);
	origin(x, first->line, &f1, &l1);
	if (strcmp(f1, f2) != 0)
		snprintf(x->err, x->errlen, "%s:%d: option '%s' is given twice "
		    "(first at %s:%d)", f2, l2, path, f1, l1);
	else
		snprintf(x->err, x->errlen, "%s:%d: option '%s' is given twice "
		    "(first on line %d)", f2, l2, path, l1);
	return -1;
}

/* scan - the tokens, one after another: the first fault ends it. */
static int
scan(struct lex *x)
{
	int cut;

	while (x->p < x->end) {
		char c = *x->p;

		if (c == '\0')
			return fail(x, x->line, "a NUL byte: a config file "
			    "is text");
		if (skip_comment(x))
			continue;
		if (c == '"') {
			x->pending = NULL;
			if (string(x, NULL, 0, &cut) == -1)
				return -1;
		} else if (c == '@' && (size_t)(x->end - x->p) > 8 &&
		    strncmp(x->p, "@include", 8) == 0 &&
		    (x->p[8] == ' ' || x->p[8] == '\t')) {
			x->pending = NULL;
			if (include(x) == -1)
				return -1;
		} else if (isalpha((unsigned char)c) || c == '*') {
			name(x);	/* digits in a name are not numbers */
		} else if (starts_number(x)) {
			x->pending = NULL;
			if (number(x) == -1)
				return -1;
		} else {
			/* A list is a scope too, holding no names of its
			 * own, so that its groups' paths show its name. */
			if (c == '{' || c == '(')
				group_open(x);
			else if (c == '}' || c == ')')
				group_close(x);
			else if (!in_set(c, " \t\r\n=:"))
				x->pending = NULL;
			if (c == '\n')
				x->line++;
			x->p++;
		}
	}
	return 0;
}

/* run - scan text; with collect, then look for a repeat on line. */
static int
run(const char *text, size_t len, const char *file,
    conflex_include_fn on_include, void *arg, conflex_where_fn where,
    void *warg, int collect, int line, char *err, size_t errlen)
{
	struct lex x = { text, text, text + len, 1, file, on_include, arg,
	    where, warg, err, errlen, collect, NULL, 0, NULL, 0, { 0 }, 0, 0,
	    NULL, 0 };
	int rc;

	/* Scope 0: the top level. */
	x.scopes = xgrow(NULL, 0, sizeof(*x.scopes));
	x.scopes[0] = (struct scope){ 0, NULL, 0 };
	x.nscopes = 1;
	rc = scan(&x);
	if (rc == 0 && collect)
		rc = duplicates(&x, line);
	free(x.scopes);
	free(x.settings);
	return rc;
}

int
conflex_check(const char *text, size_t len, const char *file,
    conflex_include_fn on_include, void *arg, char *err, size_t errlen)
{
	return run(text, len, file, on_include, arg, NULL, NULL, 0, 0, err,
	    errlen);
}

int
conflex_duplicate(const char *text, size_t len, const char *file,
    conflex_where_fn where, void *arg, int line, char *out, size_t outlen)
{
	char err[1024];

	/* A lexical fault here would have stopped conflex_check first. */
	if (run(text, len, file, NULL, NULL, where, arg, 1, line, err,
	    sizeof(err)) == 0 ||
	    strstr(err, " is given twice ") == NULL)
		return -1;
	snprintf(out, outlen, "%s", err);
	return 0;
}
