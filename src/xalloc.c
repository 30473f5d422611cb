/*
 * xalloc.c - allocation that never returns NULL; see xalloc.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

/* oom - report the failed request and leave. */
static void
oom(size_t n)
{
	fatalx("out of memory allocating %zu bytes", n);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xgrow(void *p, size_t n, size_t size)
{
	size_t cap = n == 0 ? 4 : 2 * n;

	/* Room runs out at 4 and at each power of two past it. */
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return p;
	if (n > SIZE_MAX / 2 / size)
		oom(SIZE_MAX);
	return xrealloc(p, cap * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom(strlen(fmt));
	va_end(ap);
	return p;
}

char *
xstrndup_printable(const char *s, size_t n, char repl)
{
	size_t len = strnlen(s, n);
	char *o = xmalloc(len + 1);

	copy_printable(o, s, len, repl);
	return o;
}

void
copy_printable(char *dst, const char *src, size_t n, char repl)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
		    repl : src[i];
	dst[n] = '\0';
}
