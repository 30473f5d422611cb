/*
 * test_milter.c - plan -> smfi_* calls and the final answer, with libmilter
 * replaced by recording fakes (defined here, they take precedence over the
 * library's).  Above all: a change the MTA refuses makes the verdict one
 * that cannot be carried out, and the message gets the failure policy
 * (tempfail by default), never a pass that pretends the change was made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/milter.c"

static char calls[4096];
static const char *refuse;	/* name of the smfi_ call that fails */

/* record - append "name(args)" to calls; fail if it is the refused one. */
static int
record(const char *name, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(calls);

	snprintf(calls + n, sizeof(calls) - n, "%s%s(", n ? " " : "", name);
	n = strlen(calls);
	va_start(ap, fmt);
	vsnprintf(calls + n, sizeof(calls) - n, fmt, ap);
	va_end(ap);
	strncat(calls, ")", sizeof(calls) - strlen(calls) - 1);
	return refuse != NULL && strcmp(refuse, name) == 0 ? MI_FAILURE :
	    MI_SUCCESS;
}

int smfi_addheader(SMFICTX *c, char *n, char *v)
{ (void)c; return record("addheader", "%s,%s", n, v); }
int smfi_insheader(SMFICTX *c, int i, char *n, char *v)
{ (void)c; return record("insheader", "%d,%s,%s", i, n, v); }
int smfi_chgheader(SMFICTX *c, char *n, int i, char *v)
{ (void)c; return record("chgheader", "%s,%d,%s", n, i, v ? v : "NULL"); }
int smfi_chgfrom(SMFICTX *c, char *f, char *a)
{ (void)c; (void)a; return record("chgfrom", "%s", f); }
int smfi_addrcpt(SMFICTX *c, char *r)
{ (void)c; return record("addrcpt", "%s", r); }
int smfi_delrcpt(SMFICTX *c, char *r)
{ (void)c; return record("delrcpt", "%s", r); }
int smfi_quarantine(SMFICTX *c, char *r)
{ (void)c; return record("quarantine", "%s", r); }
int smfi_setreply(SMFICTX *c, char *r, char *x, char *t)
{ (void)c; return record("setreply", "%s,%s,%s", r, x ? x : "", t); }

static struct conn conn0;
static struct eom_run run0;

/* use_config - conn0's config from text ("" for the defaults). */
static void
use_config(const char *text)
{
	char all[1024], err[256];

	config_release(conn0.cfg);
	snprintf(all, sizeof(all), "%s\nupstreams: { default: { hosts = "
	    "\"127.0.0.1\"; }; };\n", text);
	conn0.cfg = config_load_string(all, "t", err, sizeof(err));
	if (conn0.cfg == NULL)
		printf("config: %s\n", err);
	assert_non_null(conn0.cfg);
}

/* run - apply p with smfi call `fail` refused; the calls and the answer. */
static sfsistat
run(struct plan *p, const char *fail)
{
	calls[0] = '\0';
	refuse = fail;
	memset(&run0, 0, sizeof(run0));
	return apply_plan(NULL, &conn0, p, &run0);
}

static void
test_accept_with_changes(void **state)
{
	struct plan p;

	(void)state;
	memset(&p, 0, sizeof(p));
	plan_add_mod(&p, MOD_CHGHDR, "X-Spam", 2, NULL);
	plan_add_mod(&p, MOD_INSHDR, "X-Top", 0, " v");
	plan_add_mod(&p, MOD_ADDHDR, "X-A", 0, " 1");
	plan_add_mod(&p, MOD_QUARANTINE, NULL, 0, "held");
	plan_reply(&p, PLAN_ACCEPT, NULL, NULL, NULL);
	assert_int_equal(run(&p, NULL), SMFIS_ACCEPT);
	assert_string_equal(calls, "chgheader(X-Spam,2,NULL) "
	    "insheader(0,X-Top, v) addheader(X-A, 1) quarantine(held)");
	assert_int_equal(p.final, PLAN_ACCEPT);
	assert_string_equal(run0.refused, "");
	plan_free(&p);
}

/* every_change - a plan with one change of each kind, final accept. */
static void
every_change(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	plan_add_mod(p, MOD_CHGHDR, "X-Spam", 1, " Yes");
	plan_add_mod(p, MOD_INSHDR, "X-Top", 0, " v");
	plan_add_mod(p, MOD_ADDHDR, "X-A", 0, " 1");
	plan_add_mod(p, MOD_QUARANTINE, NULL, 0, "held");
	plan_add_mod(p, MOD_CHGFROM, NULL, 0, "<a@b>");
	plan_add_mod(p, MOD_ADDRCPT, NULL, 0, "<c@d>");
	plan_add_mod(p, MOD_DELRCPT, NULL, 0, "<e@f>");
	plan_reply(p, PLAN_ACCEPT, NULL, NULL, NULL);
}

static const char *const refusable[] = {
	"chgheader", "insheader", "addheader", "quarantine",
	"chgfrom", "addrcpt", "delrcpt",
};
#define NREFUSABLE (sizeof(refusable) / sizeof(*refusable))

static void
test_refused_change_tempfails(void **state)
{
	(void)state;
	use_config("");
	for (size_t i = 0; i < NREFUSABLE; i++) {
		struct plan p;

		every_change(&p);
		/* Whichever change is refused, the message is not passed. */
		assert_int_equal(run(&p, refusable[i]), SMFIS_TEMPFAIL);
		assert_non_null(strstr(calls, "setreply(451,4.7.1,Message "
		    "scanning temporarily unavailable, try again later)"));
		/* ...and the plan, hence the summary line, says so. */
		assert_int_equal(p.final, PLAN_TEMPFAIL);
		assert_string_equal(p.label, "tempfail");
		assert_true(run0.refused[0] != '\0');
		plan_free(&p);
	}
}

/*
 * The failure policy is the operator's: a reject with their text, an
 * accept (the message goes on, the summary names the refused change), a
 * quarantine, and a tempfail when even the quarantine is refused.
 */
static void
test_refused_change_follows_on_failure(void **state)
{
	struct plan p;

	(void)state;
	use_config("scan: { on_failure = \"reject\"; failure_message = "
	    "\"550 5.7.0 Not now, not ever\"; };");
	every_change(&p);
	assert_int_equal(run(&p, "addheader"), SMFIS_REJECT);
	assert_non_null(strstr(calls, "setreply(550,5.7.0,Not now, not ever)"));
	assert_string_equal(run0.refused, "X-A");
	plan_free(&p);

	use_config("scan: { on_failure = \"accept\"; };");
	every_change(&p);
	assert_int_equal(run(&p, "chgfrom"), SMFIS_ACCEPT);
	assert_int_equal(p.final, PLAN_ACCEPT);
	assert_null(strstr(calls, "setreply"));
	assert_string_equal(run0.refused, "<a@b>");
	plan_free(&p);

	use_config("scan: { on_failure = \"quarantine\"; failure_message = "
	    "\"held: changes refused\"; };");
	every_change(&p);
	assert_int_equal(run(&p, "delrcpt"), SMFIS_ACCEPT);
	/* the verdict's own quarantine, then the failure policy's */
	assert_non_null(strstr(calls, "delrcpt(<e@f>) quarantine(held: "
	    "changes refused)"));
	plan_free(&p);
	every_change(&p);
	assert_int_equal(run(&p, "quarantine"), SMFIS_TEMPFAIL);
	assert_non_null(strstr(calls, "setreply(451,4.7.1,held: changes "
	    "refused)"));
	assert_int_equal(p.final, PLAN_TEMPFAIL);
	plan_free(&p);
}

static void
test_final_answers(void **state)
{
	struct plan p;

	(void)state;
	memset(&p, 0, sizeof(p));
	plan_reply(&p, PLAN_REJECT, "554", "5.7.1", "Spam");
	assert_int_equal(run(&p, NULL), SMFIS_REJECT);
	assert_string_equal(calls, "setreply(554,5.7.1,Spam)");
	/* A reply text libmilter refuses loses the text, not the answer. */
	assert_int_equal(run(&p, "setreply"), SMFIS_REJECT);
	plan_reply(&p, PLAN_TEMPFAIL, "451", "4.7.1", "Later");
	assert_int_equal(run(&p, NULL), SMFIS_TEMPFAIL);
	assert_string_equal(calls, "setreply(451,4.7.1,Later)");
	assert_int_equal(run(&p, "setreply"), SMFIS_TEMPFAIL);
	plan_reply(&p, PLAN_DISCARD, NULL, NULL, NULL);
	assert_int_equal(run(&p, NULL), SMFIS_DISCARD);
	assert_string_equal(calls, "");
	plan_free(&p);
}

/* The summary's notes tell what the scanner was not told. */
static void
test_run_notes(void **state)
{
	struct eom_run r;
	char out[600];

	(void)state;
	memset(&r, 0, sizeof(r));
	r.source = "scan";
	run_notes(&r, out, sizeof(out));
	assert_string_equal(out, "");
	r.rcpts_unsent = 3;
	r.ignored = 1;
	run_notes(&r, out, sizeof(out));
	assert_string_equal(out, " (ignored 1 unusable entries in the reply)"
	    " (3 recipients past limits.max_rcpts not told to the scanner)");
	memset(&r, 0, sizeof(r));
	r.source = "policy";
	snprintf(r.refused, sizeof(r.refused), "held");
	run_notes(&r, out, sizeof(out));
	assert_string_equal(out, " (the MTA refused the change of held)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_with_changes),
		cmocka_unit_test(test_refused_change_tempfails),
		cmocka_unit_test(test_refused_change_follows_on_failure),
		cmocka_unit_test(test_final_answers),
		cmocka_unit_test(test_run_notes),
	};

	int rc = cmocka_run_group_tests_name("milter", tests, NULL, NULL);

	config_release(conn0.cfg);
	return rc;
}
