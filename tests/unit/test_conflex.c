/*
 * test_conflex - the pre-checks libconfig 1.5 does not make (conflex.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "conflex.h"

/* check - run conflex over text; err gets the message. */
static int
check(const char *text, char *err, size_t len)
{
	err[0] = '\0';
	return conflex_check(text, strlen(text), "f.conf", NULL, NULL, err,
	    len);
}

/* Integers in range, floats, names with digits, comments and strings. */
static void
test_accepts(void **state)
{
	static const char *const good[] = {
		"a = 2147483647; b = -2147483648; c = 0x7fffffff;",
		"a = 9223372036854775807L; b = -9223372036854775808L;",
		"a = 1e30; b = 99999999999.5; c = .5; d = -1.5e-3;",
		"h1x99999999999 = 1;",
		"# 99999999999\n// 99999999999\n/* 99999999999\n */ a = 1;",
		"a = \"99999999999 \\\" \\\\x00\";",
		"a = \"127.0.0.1:11333:5\"; b = [1, 2]; c = (1, \"x\");",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		char err[256];

		if (check(good[i], err, sizeof(err)) != 0)
			fail_msg("refused '%s': %s", good[i], err);
	}
}

/* Each fault names the file and the line it is on. */
static void
test_refuses(void **state)
{
	/* len 0: the text's strlen; else its bytes (a NUL inside). */
	static const struct { const char *text; size_t len; const char *want; }
	    bad[] = {
		{ "a = 1;\nb = 4294967396;", 0, "f.conf:2: integer 4294967396 " },
		{ "a = 2147483648;", 0, "f.conf:1: integer 2147483648 " },
		{ "a = -2147483649;", 0, "f.conf:1: integer -2147483649 " },
		{ "a = 0x80000000;", 0, "f.conf:1: integer 0x80000000 " },
		{ "\n\na = 99999999999999999999L;", 0, "f.conf:3: integer "
		    "99999999999999999999L does not fit in 64 bits" },
		{ "a = \"x\n\\x00\";", 0, "f.conf:2: a string holds" },
		{ "a = 1;\n\nb = \"x\0y\";", 18, "f.conf:3: a NUL byte" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char err[256];
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);

		err[0] = '\0';
		assert_int_equal(conflex_check(bad[i].text, len, "f.conf",
		    NULL, NULL, err, sizeof(err)), -1);
		if (strstr(err, bad[i].want) != err)
			fail_msg("'%s': got '%s', want '%s...'", bad[i].text,
			    err, bad[i].want);
	}
}

/*
 * conflex_duplicate words libconfig's "duplicate setting name" at a line:
 * the setting, its group, and its first line; nothing for a line without
 * a repeat, or a text without one.
 */
static void
test_duplicate(void **state)
{
	static const struct { const char *text; int line; const char *want; }
	    rows[] = {
		{ "a = 1;\nb = 2;\na = 3;", 3, "f.conf:3: option 'a' is given "
		    "twice (first on line 1)" },
		{ "g: { x = 1; h = { y = \"{\"; /* } */ };\n h: { y = 2; }; };",
		    2, "f.conf:2: option 'g.h' is given twice (first on line "
		    "1)" },
		{ "g: { h: { y = 1;\n\n y\n = 2; }; };", 3, "f.conf:3: option "
		    "'g.h.y' is given twice (first on line 1)" },
		{ "b = 1; a = 1;\na = 2; b = 2;", 2, "f.conf:2: option 'a' " },
		{ "l = ( { a = 1; a = 2; } );", 1, "f.conf:1: option 'l.a' " },
		/* Comments between a name and its '=' or ':'. */
		{ "log /* c */ : { v = 1; };\nlog: { v = 2; };", 2,
		    "f.conf:2: option 'log' is given twice (first on line 1)" },
		{ "log # c\n : { v = 1; v = 2; };", 2, "f.conf:2: option "
		    "'log.v' " },
		/* A backslash-newline in a string is a line too. */
		{ "s = \"a\\\nb\";\nx = 1;\nx = 2;", 4, "f.conf:4: option 'x' "
		    "is given twice (first on line 3)" },
		/* No repeat on that line, or none at all. */
		{ "a = 1;\nb = 2;\na = 3;", 2, NULL },
		{ "a = 1; g: { a = 2; h: { a = 3; }; }; k: { a = 4; };", 1,
		    NULL },
		{ "l = ( { a = 1; }, { a = 2; } ); A = 1; b = true; c = true;",
		    1, NULL },
		{ "a = 1; # a = 2\n/* a = 3 */ s = \"a = 4\";", 2, NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		char out[256] = "";
		int rc = conflex_duplicate(rows[i].text, strlen(rows[i].text),
		    "f.conf", NULL, NULL, rows[i].line, out, sizeof(out));

		if (rows[i].want == NULL && rc != -1)
			fail_msg("'%s': found '%s'", rows[i].text, out);
		if (rows[i].want != NULL && (rc != 0 ||
		    strstr(out, rows[i].want) != out))
			fail_msg("'%s': got '%s', want '%s...'", rows[i].text,
			    out, rows[i].want);
	}
}

/*
 * A text spliced from files: lines 1-2 are a.conf's 1-2, lines 3 on are
 * b.conf's from its line 1.
 */
static void
two_files(void *arg, int line, const char **file, int *fline)
{
	(void)arg;
	*file = line < 3 ? "a.conf" : "b.conf";
	*fline = line < 3 ? line : line - 2;
}

/* With a map of lines to files, a repeat names both places. */
static void
test_duplicate_where(void **state)
{
	const char *text = "g: { x = 1; };\ny = 1;\nz = 1;\ny = 2;\nz = 2;";
	char out[256] = "";

	(void)state;
	assert_int_equal(conflex_duplicate(text, strlen(text), "a.conf",
	    two_files, NULL, 4, out, sizeof(out)), 0);
	assert_string_equal(out, "b.conf:2: option 'y' is given twice "
	    "(first at a.conf:2)");
	assert_int_equal(conflex_duplicate(text, strlen(text), "a.conf",
	    two_files, NULL, 5, out, sizeof(out)), 0);
	assert_string_equal(out, "b.conf:3: option 'z' is given twice "
	    "(first on line 1)");
}

/*
 * on_include sees each @include's name, line and the bytes of its
 * directive; its verdict stands.
 */
static int
seen_include(void *arg, const char *name, int line, size_t at, size_t end,
    char *err, size_t len)
{
	char *log = arg;
	size_t used = strlen(log);

	snprintf(log + used, 256 - used, "%d:%s:%zu-%zu;", line, name, at,
	    end);
	if (strcmp(name, "bad.conf") == 0) {
		snprintf(err, len, "refused %s", name);
		return -1;
	}
	return 0;
}

static void
test_includes(void **state)
{
	char log[256] = "", err[256];
	const char *text = "a = 1;\n@include \"one.conf\"\n"
	    "# @include \"commented.conf\"\n\t@include  \"two \\\"q\\\".conf\"\n";

	(void)state;
	assert_int_equal(conflex_check(text, strlen(text), "f.conf",
	    seen_include, log, err, sizeof(err)), 0);
	assert_string_equal(log, "2:one.conf:7-26;4:two \"q\".conf:56-82;");
	log[0] = '\0';
	text = "@include \"bad.conf\"\na = 99999999999;";
	assert_int_equal(conflex_check(text, strlen(text), "f.conf",
	    seen_include, log, err, sizeof(err)), -1);
	assert_string_equal(err, "refused bad.conf");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_duplicate_where),
		cmocka_unit_test(test_includes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
