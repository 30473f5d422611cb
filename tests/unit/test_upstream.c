/*
 * test_upstream.c - the balancer without sockets: strategies, retries,
 * health, with the clock passed in and a deterministic random source.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "upstream.h"

static const struct ups_params P = { 3, 10.0, 60.0 };

/* lcg - a fixed pseudo-random sequence in [0, 1). */
static uint64_t lcg_state;
static double
lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(lcg_state >> 11) / 9007199254740992.0;
}

/* group - a group from hosts text; the registry is reset first. */
static struct ups_group *
group(const char *hosts)
{
	char err[256];
	struct hostlist *hl = hostlist_parse(hosts, err, sizeof(err));
	struct ups_group *g;

	assert_non_null(hl);
	upstream_registry_clear();
	g = ups_group_new(hl, &P);
	hostlist_free(hl);
	return g;
}

/* idx - which member u is. */
static int
idx(struct ups_group *g, struct upstream *u)
{
	for (size_t i = 0; i < ups_group_size(g); i++)
		if (ups_group_member(g, i) == u)
			return (int)i;
	return -1;
}

/* kill - max_errors failures in a row at time t. */
static void
kill(struct upstream *u, double t)
{
	for (int i = 0; i < P.max_errors; i++) {
		upstream_started(u, t);
		upstream_fail(u, t);
	}
}

static void
test_round_robin_weights(void **state)
{
	struct ups_group *g = group("round-robin:a:1:10,b:1:5,c:1:1");
	int n[3] = { 0 }, run = 0, maxrun = 0, last = -1;

	(void)state;
	for (int i = 0; i < 1600; i++) {
		int k = idx(g, upstream_select(g, 0, NULL, 0, NULL));

		n[k]++;
		run = k == last ? run + 1 : 1;
		maxrun = run > maxrun ? run : maxrun;
		last = k;
	}
	/* Smooth WRR is exact over whole cycles (16 here). */
	assert_int_equal(n[0], 1000);
	assert_int_equal(n[1], 500);
	assert_int_equal(n[2], 100);
	/* ...and interleaved: a never runs more than twice in a row. */
	assert_true(maxrun <= 2);
	ups_group_free(g);
}

static void
test_master_slave(void **state)
{
	struct ups_group *g = group("master-slave:m,s1,s2");
	struct upstream *m = ups_group_member(g, 0);

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_ptr_equal(upstream_select(g, 0, NULL, 0, NULL), m);
	kill(m, 1);
	assert_false(upstream_alive(m, 1));
	assert_int_equal(idx(g, upstream_select(g, 2, NULL, 0, NULL)), 1);
	/* Revived after revive_time, and the master is master again. */
	assert_ptr_equal(upstream_select(g, 1 + P.revive_time, NULL, 0, NULL),
	    m);
	ups_group_free(g);
}

static void
test_sequential(void **state)
{
	struct ups_group *g = group("sequential:a:1:9,b,c");
	int order[7];

	(void)state;
	for (int i = 0; i < 4; i++)
		order[i] = idx(g, upstream_select(g, 0, NULL, 0, NULL));
	/* Weights ignored: a b c a. */
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 0);
	kill(ups_group_member(g, 1), 0);
	order[4] = idx(g, upstream_select(g, 1, NULL, 0, NULL));
	order[5] = idx(g, upstream_select(g, 1, NULL, 0, NULL));
	order[6] = idx(g, upstream_select(g, 1, NULL, 0, NULL));
	/* b is dead: c a c ... after a at 3. */
	assert_int_equal(order[4], 2);
	assert_int_equal(order[5], 0);
	assert_int_equal(order[6], 2);
	ups_group_free(g);
}

static void
test_random_weights(void **state)
{
	struct ups_group *g = group("random:a:1:3,b:1:1");
	int n[2] = { 0 };

	(void)state;
	lcg_state = 42;
	upstream_set_rng(lcg);
	for (int i = 0; i < 4000; i++)
		n[idx(g, upstream_select(g, 0, NULL, 0, NULL))]++;
	upstream_set_rng(NULL);
	/* 3000 / 1000 expected; allow 5%. */
	assert_in_range(n[0], 2850, 3150);
	assert_in_range(n[1], 850, 1150);
	ups_group_free(g);
}

static void
test_hash_stable(void **state)
{
	struct ups_group *g = group("hash:a,b,c,d");
	int before[400], n[4] = { 0 }, moved = 0;
	char key[32];

	(void)state;
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "192.0.2.%d", i);
		before[i] = idx(g, upstream_select(g, 0, NULL, 0, key));
		n[before[i]]++;
		/* The same key, the same upstream. */
		assert_int_equal(before[i],
		    idx(g, upstream_select(g, 0, NULL, 0, key)));
	}
	for (int k = 0; k < 4; k++)
		assert_in_range(n[k], 60, 140);
	/* c dies: only c's keys move. */
	kill(ups_group_member(g, 2), 1);
	for (int i = 0; i < 400; i++) {
		int now_at;

		snprintf(key, sizeof(key), "192.0.2.%d", i);
		now_at = idx(g, upstream_select(g, 2, NULL, 0, key));
		assert_int_not_equal(now_at, 2);
		if (before[i] != 2)
			assert_int_equal(now_at, before[i]);
		else
			moved++;
	}
	assert_int_equal(moved, n[2]);
	ups_group_free(g);
}

static void
test_retry_skips_tried(void **state)
{
	struct ups_group *g = group("round-robin:a,b,c");
	struct upstream *tried[3];

	(void)state;
	tried[0] = upstream_select(g, 0, NULL, 0, NULL);
	tried[1] = upstream_select(g, 0, tried, 1, NULL);
	assert_ptr_not_equal(tried[1], tried[0]);
	tried[2] = upstream_select(g, 0, tried, 2, NULL);
	assert_ptr_not_equal(tried[2], tried[0]);
	assert_ptr_not_equal(tried[2], tried[1]);
	assert_null(upstream_select(g, 0, tried, 3, NULL));
	ups_group_free(g);
}

static void
test_health(void **state)
{
	struct ups_group *g = group("round-robin:a,b");
	struct upstream *a = ups_group_member(g, 0);
	struct upstream *b = ups_group_member(g, 1);
	char text[64];

	(void)state;
	/* Errors spread wider than error_time never kill. */
	for (int i = 0; i < 10; i++) {
		upstream_started(a, i * (P.error_time + 1));
		assert_int_equal(upstream_fail(a, i * (P.error_time + 1)), 0);
	}
	assert_true(upstream_alive(a, 200));
	/* An answer clears the count. */
	upstream_started(a, 300);
	upstream_fail(a, 300);
	upstream_started(a, 300);
	upstream_fail(a, 300);
	upstream_started(a, 301);
	upstream_ok(a, 301, 12.5);
	upstream_started(a, 302);
	assert_int_equal(upstream_fail(a, 302), 0);
	assert_true(upstream_alive(a, 302));
	/* max_errors within the window: dead, no traffic. */
	upstream_started(a, 303);
	upstream_fail(a, 303);
	upstream_started(a, 304);
	assert_int_equal(upstream_fail(a, 304), 1);
	upstream_state_text(a, 305, text, sizeof(text));
	assert_string_equal(text, "dead 59s");
	for (int i = 0; i < 20; i++)
		assert_ptr_equal(upstream_select(g, 305, NULL, 0, NULL), b);
	/* Both dead: no upstream at once. */
	kill(b, 306);
	assert_null(upstream_select(g, 306, NULL, 0, NULL));
	/* A ping answer revives before revive_time. */
	upstream_ping_ok(b, 307);
	assert_ptr_equal(upstream_select(g, 307, NULL, 0, NULL), b);
	/* Failed pings count as errors. */
	assert_int_equal(upstream_ping_fail(b, 308), 0);
	assert_int_equal(upstream_ping_fail(b, 308), 0);
	assert_int_equal(upstream_ping_fail(b, 308), 1);
	assert_null(upstream_select(g, 309, NULL, 0, NULL));
	/* Counters. */
	assert_int_equal(upstream_stats(a)->ok, 1);
	assert_int_equal(upstream_stats(a)->inflight, 0);
	assert_int_equal(upstream_stats(b)->ping_errors, 3);
	ups_group_free(g);
}

static void
test_state_survives_regroup(void **state)
{
	char err[256];
	struct hostlist *hl = hostlist_parse("a,b", err, sizeof(err));
	struct ups_group *g1, *g2;

	(void)state;
	upstream_registry_clear();
	g1 = ups_group_new(hl, &P);
	kill(ups_group_member(g1, 0), 0);
	/* A reload builds a new group: the dead host is still dead. */
	g2 = ups_group_new(hl, &P);
	assert_false(upstream_alive(ups_group_member(g2, 0), 1));
	assert_ptr_equal(ups_group_member(g1, 0), ups_group_member(g2, 0));
	ups_group_free(g1);
	ups_group_free(g2);
	hostlist_free(hl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_robin_weights),
		cmocka_unit_test(test_master_slave),
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_random_weights),
		cmocka_unit_test(test_hash_stable),
		cmocka_unit_test(test_retry_skips_tried),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_state_survives_regroup),
	};

	return cmocka_run_group_tests_name("upstream", tests, NULL, NULL);
}
