/*
 * test_confsrc - a config file with its @includes spliced in, and the map
 * back to files and lines (confsrc.h).  Files live in a fresh directory
 * under /tmp, removed at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confsrc.h"

static char dir[64];

/* put - write text to dir/name; returns the full path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_confsrc.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* expect_where - line of the spliced text comes from file:fline. */
static void
expect_where(struct confsrc *s, int line, const char *file, int fline)
{
	char want[256];
	const char *f;
	int l;

	snprintf(want, sizeof(want), "%s/%s", dir, file);
	confsrc_where(s, line, &f, &l);
	if (strcmp(f, want) != 0 || l != fline)
		fail_msg("line %d: got %s:%d, want %s:%d", line, f, l, want,
		    fline);
}

/*
 * An include takes its directive's place on lines of its own, the rest
 * of the directive's line after it; nested ones too, by relative and by
 * absolute name; every line maps back.
 */
static void
test_splice(void **state)
{
	char err[512], text[512], abs[300];
	struct confsrc *s;
	const char *got;
	size_t len;

	(void)state;
	snprintf(abs, sizeof(abs), "%s/c.conf", dir);
	put("c.conf", "c = 3;");
	snprintf(text, sizeof(text), "b = 2;\n  @include \"%s\"\nd = 4;\n",
	    abs);
	put("b.conf", text);
	put("top.conf", "a = 1;\ng: { @include \"b.conf\" # b\n};\ne = 5;\n");
	snprintf(text, sizeof(text), "%s/top.conf", dir);
	assert_non_null(s = confsrc_load(text, err, sizeof(err)));
	got = confsrc_text(s, &len);
	assert_string_equal(got, "a = 1;\ng: { \nb = 2;\n  \nc = 3;\n\n"
	    "d = 4;\n\n # b\n};\ne = 5;\n");
	assert_int_equal(len, strlen(got));
	expect_where(s, 1, "top.conf", 1);
	expect_where(s, 2, "top.conf", 2);	/* "g: { " */
	expect_where(s, 3, "b.conf", 1);
	expect_where(s, 4, "b.conf", 2);	/* the indent before c's */
	expect_where(s, 5, "c.conf", 1);
	expect_where(s, 6, "b.conf", 2);	/* the rest of b's line 2 */
	expect_where(s, 7, "b.conf", 3);
	expect_where(s, 8, "b.conf", 4);	/* b ends with a newline */
	expect_where(s, 9, "top.conf", 2);	/* " # b" */
	expect_where(s, 10, "top.conf", 3);
	expect_where(s, 11, "top.conf", 4);
	confsrc_free(s);
}

/* What cannot be read is named with the file and line that asked. */
static void
test_refusals(void **state)
{
	char err[512], top[256], want[512];

	(void)state;
	put("miss.conf", "a = 1;\n@include \"nope.conf\"\n");
	snprintf(top, sizeof(top), "%s/miss.conf", dir);
	assert_null(confsrc_load(top, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: @include \"%s/nope.conf\": No "
	    "such file or directory", top, dir);
	assert_string_equal(err, want);

	snprintf(top, sizeof(top), "%s/none.conf", dir);
	assert_null(confsrc_load(top, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", top);
	assert_string_equal(err, want);

	/* conflex's checks run on every file, under its own name. */
	put("big.conf", "x = 1;\ny = 99999999999;\n");
	put("inc_big.conf", "@include \"big.conf\"\n");
	snprintf(top, sizeof(top), "%s/inc_big.conf", dir);
	assert_null(confsrc_load(top, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/big.conf:2: integer 99999999999",
	    dir);
	assert_true(strncmp(err, want, strlen(want)) == 0);

	/* A cycle ends at the depth limit. */
	put("loop.conf", "@include \"loop.conf\"\n");
	snprintf(top, sizeof(top), "%s/loop.conf", dir);
	assert_null(confsrc_load(top, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:1: @include \"loop.conf\": nested "
	    "more than %d deep", top, CONFSRC_DEPTH - 1);
	assert_string_equal(err, want);
}

/* A file included over and over cannot grow the text past the limit. */
static void
test_size_limit(void **state)
{
	char err[512], top[256];
	char *big = malloc(CONFSRC_TEXT_MAX / 2 + 1);
	struct confsrc *s;
	size_t len;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', CONFSRC_TEXT_MAX / 2);
	big[CONFSRC_TEXT_MAX / 2] = '\0';
	put("half.conf", big);
	free(big);
	put("once.conf", "@include \"half.conf\"\n");
	snprintf(top, sizeof(top), "%s/once.conf", dir);
	assert_non_null(s = confsrc_load(top, err, sizeof(err)));
	confsrc_text(s, &len);
	assert_true(len > CONFSRC_TEXT_MAX / 2);
	confsrc_free(s);
	put("twice.conf", "@include \"half.conf\"\n@include \"half.conf\"\n");
	snprintf(top, sizeof(top), "%s/twice.conf", dir);
	assert_null(confsrc_load(top, err, sizeof(err)));
	assert_non_null(strstr(err, "with its @includes is larger than"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_size_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
