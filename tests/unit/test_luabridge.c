/*
 * test_luabridge.c - the compare script's box: loading errors, what the
 * script sees, and containment (errors, runaway loops that catch their
 * own errors, memory, denied os functions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "luabridge.h"
#include "verdict.h"

static const struct lbox_limits lim = { 1000000, 2.0, 8u << 20 };

static const char reply[] = "{\"action\":\"add header\",\"score\":7.5,"
    "\"required_score\":15,\"symbols\":{\"BAYES_SPAM\":{\"name\":"
    "\"BAYES_SPAM\",\"score\":5.1,\"options\":[\"97.3%\"]},\"R_DKIM_NA\":"
    "{\"name\":\"R_DKIM_NA\",\"score\":0}}}";

/*
 * run_calls - load script and call it `calls` times on one state, on a
 * main result, a failed mirror and a mirror that says reject; returns the
 * last lbox_compare result (the first in *first if not NULL), err its text.
 */
static int
run_calls(const char *script, int calls, int *first, char *err,
    size_t errlen)
{
	struct vsummary v, other;
	struct lbox *b;
	struct cmp_msg m = { "4AbC1", "<a@example.org>", 1234 };
	struct cmp_result r[3] = {
		{ "main", "127.0.0.1:11333", NULL, &v, 12.5 },
		{ "test", NULL, "connect failed", NULL, 3 },
		{ "other", "10.0.0.9:11333", NULL, &other, 20 },
	};
	int rc;

	assert_int_equal(verdict_summary(reply, strlen(reply), &v, err,
	    errlen), 0);
	other = v;		/* shares v's symbols: freed once, below */
	other.action = RSPAMD_REJECT;
	other.score = 16;
	other.nsym = 1;
	b = lbox_new(script, &lim, err, errlen);
	assert_non_null(b);
	for (int i = 0; i < calls; i++) {
		rc = lbox_compare(b, &m, r, 3, err, errlen);
		if (i == 0 && first != NULL)
			*first = rc;
	}
	lbox_free(b);
	vsummary_free(&v);
	return rc;
}

/* run - one call; see run_calls. */
static int
run(const char *script, char *err, size_t errlen)
{
	return run_calls(script, 1, NULL, err, errlen);
}

static void
test_load_errors(void **state)
{
	char err[512];

	assert_null(lbox_new("return function(", &lim, err, sizeof(err)));
	assert_non_null(strstr(err, "compare.script:1:"));
	assert_null(lbox_new("return 42", &lim, err, sizeof(err)));
	assert_string_equal(err, "the script must return a function, not a "
	    "number");
	assert_null(lbox_new("error('at load')", &lim, err, sizeof(err)));
	assert_non_null(strstr(err, "at load"));
	assert_null(lbox_new("/nonexistent/x.lua", &lim, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.lua"));
	/* Precompiled chunks are refused (they can crash the VM). */
	assert_null(lbox_new("\x1bLua", &lim, err, sizeof(err)));
	assert_non_null(strstr(err, "binary"));
}

/* The script sees every field; it reports by raising what it found. */
static void
test_sees_results(void **state)
{
	char err[512];

	assert_int_equal(run("return function(r, m) error(string.format("
	    "'%s|%s|%d|%s|%s|%.1f|%.1f|%.2f|%s|%s|%s|%.1f', m.qid, m.from, "
	    "m.size, r.main.upstream, r.main.action, r.main.score, "
	    "r.main.required_score, r.main.symbols.BAYES_SPAM.score, "
	    "r.main.symbols.BAYES_SPAM.options[1], tostring(r.main.error), "
	    "r.test.error, r.test.time_ms), 0) end", err, sizeof(err)), -1);
	assert_string_equal(err, "4AbC1|<a@example.org>|1234|127.0.0.1:11333|"
	    "add header|7.5|15.0|5.10|97.3%|nil|connect failed|3.0");
	/* A script that returns normally. */
	assert_int_equal(run("return function(r, m) "
	    "scanmilter.log_info('score ' .. r.main.score) end", err,
	    sizeof(err)), 0);
}

static void
test_containment(void **state)
{
	char err[512];

	/* A runaway loop that catches its own errors still ends. */
	assert_int_equal(run("return function() while true do "
	    "pcall(function() while true do end end) end end", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "runaway script"));
	/* Nested pcalls do not help either. */
	assert_int_equal(run("return function() local f = function() "
	    "while true do end end while true do pcall(pcall, pcall, f) end "
	    "end", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "runaway script"));
	/* Memory: past the state's ceiling is an error, not a crash. */
	assert_int_equal(run("return function() local t = {} for i = 1, "
	    "1e7 do t[i] = string.rep('x', 100) .. i end end", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not enough memory"));
	/* os.exit and os.execute are gone; io stays for reports. */
	assert_int_equal(run("return function() os.exit(1) end", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "exit"));
	assert_int_equal(run("return function() assert(os.execute == nil and "
	    "io.open ~= nil and os.time() > 0) end", err, sizeof(err)), 0);
	/* What could leave the budgets or crash the VM is gone. */
	assert_int_equal(run("return function() if string.dump ~= nil then "
	    "error('string.dump is there') end end", err, sizeof(err)), 0);
	assert_int_equal(run("return function() assert(string.dump == nil "
	    "and io.popen == nil and io.read == nil and io.lines == nil and "
	    "dofile == nil and loadfile == nil) end", err, sizeof(err)), 0);
	assert_int_equal(run("return function() assert(load('\\27Lua')) end",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "binary"));
	assert_int_equal(run("return function() setmetatable({}, { __gc = "
	    "function() error('x') end }) end", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "__gc metamethods are not allowed"));
	/* The box is usable after a failure: the budget is per call. */
	assert_int_equal(run("return function() for i = 1, 1000 do end end",
	    err, sizeof(err)), 0);
	{
		int first = 0;

		/* One state: a runaway call, then an ordinary one. */
		assert_int_equal(run_calls("local n = 0\nreturn function() "
		    "n = n + 1 if n == 1 then while true do end end end", 2,
		    &first, err, sizeof(err)), 0);
		assert_int_equal(first, -1);
	}
}

/* The example scripts under lua/ load and run on these results. */
static void
test_examples(void **state)
{
	char err[512], path[600], report[] = "/tmp/scanmilter-cmp-XXXXXX";
	const char *top = getenv("T_TOP") ? getenv("T_TOP") : ".";
	int fd = mkstemp(report);

	assert_true(fd >= 0);
	close(fd);
	setenv("SCANMILTER_DISAGREEMENTS", report, 1);
	snprintf(path, sizeof(path), "%s/lua/compare/log_scores.lua", top);
	assert_int_equal(run(path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/lua/compare/disagreements.lua", top);
	assert_int_equal(run(path, err, sizeof(err)), 0);
	{
		char line[512] = "";
		FILE *f = fopen(report, "r");

		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		/* time, qid, sender, mirror, main and mirror verdicts, and
		 * the symbol only main has is not listed (mirror-only are). */
		assert_non_null(strstr(line, "\t4AbC1\t<a@example.org>\tother\t"
		    "add header\t7.50\treject\t16.00\t"));
	}
	unlink(report);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_sees_results),
		cmocka_unit_test(test_containment),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
