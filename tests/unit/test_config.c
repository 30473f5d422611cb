/*
 * test_config.c - config loading: defaults, units, and errors that name the
 * file, the line and the option.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define UP "upstreams: { default: { hosts = \"127.0.0.1\"; }; };\n"

static void
test_embedded_default(void **state)
{
	char err[512];
	struct config *c = config_load_string(config_default_text, "(d)", err,
	    sizeof(err));

	assert_non_null(c);
	assert_string_equal(c->socket, "inet:11339@127.0.0.1");
	assert_int_equal(c->on_failure, FALLBACK_TEMPFAIL);
	assert_non_null(config_group(c, "default"));
	config_release(c);
}

static void
test_sample_file(void **state)
{
	char err[512];
	struct config *c = config_load_file("conf/scanmilter.conf", err,
	    sizeof(err));

	if (c == NULL)
		printf("got error: %s\n", err);
	assert_non_null(c);
	assert_int_equal(c->max_size, 50u * 1024 * 1024);
	assert_int_equal(c->umask, 07);
	config_release(c);
}

static void
test_units(void **state)
{
	char err[512];
	struct config *c = config_load_string(
	    "limits: { max_size = \"10M\"; spill_size = 65536; };\n"
	    "scan: { timeout = \"500ms\"; on_failure = \"accept\"; };\n"
	    "upstreams: { default: { hosts = \"random:a:1:2,[::1]:3\";"
	    " timeout = 1.5; max_retries = 0; }; };\n", "t", err, sizeof(err));
	const struct group_conf *g;

	if (c == NULL)
		printf("got error: %s\n", err);
	assert_non_null(c);
	assert_int_equal(c->max_size, 10u * 1024 * 1024);
	assert_int_equal(c->spill_size, 65536);
	assert_true(c->scan_timeout == 0.5);
	assert_int_equal(c->on_failure, FALLBACK_ACCEPT);
	g = config_group(c, "default");
	assert_true(g->timeout == 1.5);
	assert_int_equal(g->max_retries, 0);
	assert_int_equal(g->hostlist->nhosts, 2);
	config_release(c);
}

static const struct {
	const char *text;
	const char *want;	/* the whole error line */
} errors[] = {
	{ "foo = 1;\n" UP, "t:1: option 'foo': unknown option" },
	{ "\n\nscan: { timeout = \"soon\"; };\n" UP,
	  "t:3: option 'scan.timeout': expected seconds such as 15, 2.5, "
	  "\"500ms\"" },
	{ "scan: { timeout = 0; };\n" UP,
	  "t:1: option 'scan.timeout': value 0 is out of range [0.1, 3600]" },
	{ "limits: { max_rcpts = 1.5; };\n" UP,
	  "t:1: option 'limits.max_rcpts': expected an integer" },
	{ "limits: { max_size = \"12Q\"; };\n" UP,
	  "t:1: option 'limits.max_size': expected a size such as 1048576, "
	  "\"512K\", \"10M\"" },
	{ "scan: { on_failure = \"maybe\"; };\n" UP,
	  "t:1: option 'scan.on_failure': expected one of: accept tempfail "
	  "reject discard quarantine" },
	{ "verdict: { discard_on_reject = 1; };\n" UP,
	  "t:1: option 'verdict.discard_on_reject': expected true or false" },
	{ "milter: { socket = \"tcp:1\"; };\n" UP,
	  "t:1: option 'milter.socket': expected unix:/path, inet:port@host "
	  "or inet6:port@host, got 'tcp:1'" },
	{ "log: { facility = \"kern9\"; };\n" UP,
	  "t:1: option 'log.facility': unknown facility 'kern9'" },
	{ "upstreams: { default: { hosts = \"a:0\"; }; };\n",
	  "t:1: option 'upstreams.default.hosts': bad port '0' for host 'a'" },
	{ "upstreams: { default: { hosts = \"a\"; weight = 2; }; };\n",
	  "t:1: option 'upstreams.default.weight': unknown option" },
	{ "upstreams: { other: { hosts = \"a\"; }; };\n",
	  "t: option 'scan.group': no upstream group named 'default'" },
	{ "upstreams: { default: { timeout = 3; }; };\n",
	  "t:1: option 'upstreams.default': 'hosts' is required" },
	{ "scan = 5;\n" UP, "t:1: option 'scan': expected a group { ... }" },
	{ "upstreams: { default = 3; };\n",
	  "t:1: option 'upstreams.default': expected a group { ... }" },
	{ "log: { level = \"info\";\n level = \"debug\"; };\n" UP,
	  "t:2: option 'log.level' is given twice (first on line 1)" },
	{ "upstreams: { g2345678901234567890123456789012345678901234567890"
	  "12345678901234x: { hosts = \"a\"; }; };\n",
	  "t:1: option 'upstreams': the group name "
	  "'g23456789012345678901234...' is 65 characters long; at most 64" },
	{ "daemon: { pidfile = \"run/x.pid\"; };\n" UP,
	  "t:1: option 'daemon.pidfile': 'run/x.pid' is not an absolute path: "
	  "scanmilter works from / once it detaches, and reads it again on "
	  "each reload" },
	{ "limits: { tmpdir = \"tmp\"; };\n" UP,
	  "t:1: option 'limits.tmpdir': 'tmp' is not an absolute path: "
	  "scanmilter works from / once it detaches, and reads it again on "
	  "each reload" },
	{ "compare: { script = \"c.lua\"; };\n" UP,
	  "t:1: option 'compare.script': 'c.lua' is not an absolute path: "
	  "scanmilter works from / once it detaches, and reads it again on "
	  "each reload" },
	{ "milter: { socket = \"unix:s.sock\"; };\n" UP,
	  "t:1: option 'milter.socket': 's.sock' is not an absolute path: "
	  "scanmilter works from / once it detaches, and reads it again on "
	  "each reload" },
	{ "daemon: { pidfile = \"/nonexistent-dir/x.pid\"; };\n" UP,
	  "t:1: option 'daemon.pidfile': the directory '/nonexistent-dir' "
	  "does not exist" },
	{ "daemon: { pidfile = \"/tmp\"; };\n" UP,
	  "t:1: option 'daemon.pidfile': '/tmp' is a directory" },
	{ "daemon: { pidfile = \"/run/x/\"; };\n" UP,
	  "t:1: option 'daemon.pidfile': '/run/x/' is a directory" },
	{ "daemon: { user = \"no-such-user-x\"; };\n" UP,
	  "t:1: option 'daemon.user': no such user 'no-such-user-x'" },
	{ "daemon: { user = \"root\"; group = \"no-such-group-x\"; };\n" UP,
	  "t:1: option 'daemon.group': no such group 'no-such-group-x'" },
	{ "daemon: { group = \"root\"; };\n" UP,
	  "t:1: option 'daemon.group': takes effect only with daemon.user" },
	{ "upstreams: { default: { self_scan = true; }; };\nselfscan: {\n"
	  "  deny_ips = \"/nonexistent-dir/deny\"; };\n",
	  "t:3: option 'selfscan.deny_ips': cannot read the list file "
	  "'/nonexistent-dir/deny': No such file or directory" },
	{ "upstreams: { default: { self_scan = true; }; };\nselfscan: {\n"
	  "  allow_senders = \"/tmp\"; };\n",
	  "t:3: option 'selfscan.allow_senders': cannot read the list file "
	  "'/tmp': not a regular file" },
	{ "milter: { socket = \"x\" \n", "t:2: syntax error" },
	{ "", "t: option 'upstreams': at least one upstream group is "
	  "required" },
};

static void
test_errors(void **state)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(errors) / sizeof(*errors); i++) {
		char err[512] = "";
		struct config *c = config_load_string(errors[i].text, "t", err,
		    sizeof(err));

		if (c != NULL) {
			printf("case %zu: accepted, want error %s\n", i,
			    errors[i].want);
			config_release(c);
			failed++;
		} else if (strcmp(err, errors[i].want) != 0) {
			printf("case %zu:\n  got  %s\n  want %s\n", i, err,
			    errors[i].want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_missing_file(void **state)
{
	char err[512];

	assert_null(config_load_file("/nonexistent/x.conf", err, sizeof(err)));
	assert_string_equal(err,
	    "/nonexistent/x.conf: No such file or directory");
}

static void
test_publish(void **state)
{
	char err[512];
	struct config *a = config_load_string(UP, "a", err, sizeof(err));
	struct config *b = config_load_string(UP, "b", err, sizeof(err));
	struct config *cur;

	config_publish(a);
	cur = config_current();
	assert_ptr_equal(cur, a);
	config_publish(b);		/* a lives on through cur */
	assert_string_equal(cur->source, "a");
	config_release(cur);
	cur = config_current();
	assert_string_equal(cur->source, "b");
	config_release(cur);
	config_publish(NULL);
	assert_null(config_current());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embedded_default),
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_publish),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
