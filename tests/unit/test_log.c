/*
 * test_log.c - the stderr sink: one whole line per call, stamp and level
 * first, errno's text after, a line too long cut with its end of line.
 * stderr is a pipe while the tests run, read back after each call (a
 * failing assertion's text goes there too; the summary does not).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int rd = -1, saved = -1;

/* captured - what the last calls wrote to stderr. */
static size_t
captured(char *out, size_t cap)
{
	ssize_t n = read(rd, out, cap - 1);

	assert_true(n > 0);
	out[n] = '\0';
	return (size_t)n;
}

static int
setup(void **state)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	assert_true(dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
	close(p[1]);
	rd = p[0];
	return log_init(0, NULL, LOG_LEVEL_INFO);
}

/* teardown - stderr back, for cmocka's own summary. */
static int
teardown(void **state)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(rd);
	return 0;
}

static void
test_line(void **state)
{
	char got[8192];
	size_t n;

	log_info("B0001: accept score=%.2f", 1.5);
	n = captured(got, sizeof(got));
	/* 2026-12-01T21:30:00.123 scanmilter[info]: ... */
	assert_true(n > 24 && got[4] == '-' && got[10] == 'T' &&
	    got[19] == '.' && got[23] == ' ');
	assert_string_equal(got + 24, "scanmilter[info]: B0001: accept "
	    "score=1.50\n");
	errno = ENOENT;
	log_warn("cannot open %s", "x.conf");
	captured(got, sizeof(got));
	assert_non_null(strstr(got, "scanmilter[warning]: cannot open x.conf: "
	    "No such file or directory\n"));
	assert_int_equal(errno, ENOENT);
	log_debug("not at info level");
	log_info("after");
	captured(got, sizeof(got));
	assert_null(strstr(got, "not at info"));
}

static void
test_cut(void **state)
{
	char big[6000], got[8192];
	size_t n;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	n = captured(got, sizeof(got));
	assert_int_equal(n, 4095);
	assert_int_equal(got[n - 1], '\n');
	assert_int_equal(got[n - 2], 'x');
	assert_null(memchr(got, '\n', n - 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_cut),
	};

	return cmocka_run_group_tests_name("log", tests, setup, teardown);
}
