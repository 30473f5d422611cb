/*
 * test_hostlist.c - Rspamd upstream syntax.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "hostlist.h"

static const struct {
	const char *in;
	const char *want;	/* "strategy|label/weight|..." or "ERR:text" */
} cases[] = {
	{ "127.0.0.1", "round-robin|127.0.0.1:11333/1" },
	{ "round-robin:h1:11333:10,h2:11333:5",
	  "round-robin|h1:11333/10|h2:11333/5" },
	{ "master-slave:a:1, b:2", "master-slave|a:1/1|b:2/1" },
	{ "random:[::1]:11333; [fe80::1]", "random|[::1]:11333/1|[fe80::1]:11333/1" },
	{ "hash:/run/rspamd/n.sock", "hash|/run/rspamd/n.sock/1" },
	{ "sequential:localhost:11333:3 other", "sequential|localhost:11333/3|other:11333/1" },
	{ "", "ERR:no hosts given" },
	{ "random:", "ERR:no hosts given" },
	{ "a:99999", "ERR:bad port '99999' for host 'a'" },
	{ "a:1:x", "ERR:bad weight 'x' for host 'a' (1 to 1000000)" },
	{ "a:1:0", "ERR:bad weight '0' for host 'a' (1 to 1000000)" },
	{ "[]:11333", "ERR:empty IPv6 address in '[]:11333'" },
	{ "foo:h:1", "ERR:bad port 'h' for host 'foo' (or unknown strategy "
	  "'foo': round-robin, master-slave, random, hash, sequential)" },
	{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
	  "ERR:unix socket path longer than 107 bytes: "
	  "'/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'" },
	{ "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	  "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh",
	  "ERR:host name longer than 253 bytes: "
	  "'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...'" },
	{ "[::1", "ERR:unterminated IPv6 address '[::1'" },
	{ "::1", "ERR:empty host name in '::1'" },
	{ "a/b", "ERR:bad character in host 'a/b'" },
	{ "[::1]x", "ERR:cannot parse 'x' after host '::1'" },
};

static void
test_parse(void **state)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char err[256] = "";
		struct hostlist *hl = hostlist_parse(cases[i].in, err,
		    sizeof(err));
		struct buf got;

		buf_init(&got, 4096);
		if (hl == NULL) {
			buf_printf(&got, "ERR:%s", err);
		} else {
			buf_puts(&got, hostlist_strategy_name(hl->strategy));
			for (size_t k = 0; k < hl->nhosts; k++)
				buf_printf(&got, "|%s/%d", hl->hosts[k].label,
				    hl->hosts[k].weight);
		}
		if (strcmp(got.data, cases[i].want) != 0) {
			printf("'%s':\n  got  %s\n  want %s\n", cases[i].in,
			    got.data, cases[i].want);
			failed++;
		}
		buf_free(&got);
		hostlist_free(hl);
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests_name("hostlist", tests, NULL, NULL);
}
