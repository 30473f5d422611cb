/*
 * milter.c - libmilter callbacks; see milter.h.
 *
 * Callbacks are thin: they record what the MTA says into the session and
 * return.  All decisions are made at end of message by a pipeline of named
 * steps: finish the head, build the request, scan (or take the policy),
 * plan, apply, log one summary line.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "blob.h"
#include "config.h"
#include "compare.h"
#include "log.h"
#include "mirror.h"
#include "milter.h"
#include "milterio.h"
#include "monotime.h"
#include "policy.h"
#include "rspamd.h"
#include "scan.h"
#include "selfscan.h"
#include "session.h"
#include "verdict.h"
#include "xalloc.h"

/* Actions we may take; asked for at negotiation. */
#define WANT_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | \
			 SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT | \
			 SMFIF_SETSYMLIST)
/* Steps where we never answer before end of message. */
#define WANT_NOREPLY	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			 SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | \
			 SMFIP_NR_BODY)
#define WANT_SKIP	(SMFIP_NOUNKNOWN | SMFIP_NODATA)

/* Macros we ask the MTA for, per stage (when it lets us choose). */
static const struct {
	int		 stage;
	const char	*list;
} symlists[] = {
	{ SMFIM_CONNECT, "j {daemon_name} {daemon_addr} v {client_addr} "
	    "{client_name} {client_ptr}" },
	{ SMFIM_HELO, "{tls_version} {cipher} {cipher_bits} {cert_subject} "
	    "{cert_issuer}" },
	{ SMFIM_ENVFROM, "i {auth_type} {auth_authen} {auth_author} "
	    "{mail_addr} {mail_host} {mail_mailer}" },
	{ SMFIM_ENVRCPT, "i {rcpt_addr} {rcpt_host} {rcpt_mailer}" },
	{ SMFIM_EOH, "i" },
	{ SMFIM_EOM, "i" },
};

/* conn_of - the connection's state. */
static struct conn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/*
 * conn_open - the connection's state, created on first use (negotiation,
 * or connect if the MTA does not negotiate).  It holds the config snapshot
 * that every message on this connection will use.  NULL if no config.
 */
static struct conn *
conn_open(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct config *cfg;

	if (c != NULL)
		return c;
	if ((cfg = config_current()) == NULL)
		return NULL;
	c = session_conn_new(cfg);
	smfi_setpriv(ctx, c);
	return c;
}

/* reply - SMFIS_NOREPLY where the MTA agreed to it, else CONTINUE. */
static sfsistat
reply(const struct conn *c, unsigned long nr_flag)
{
	return c != NULL && (c->nr_mask & nr_flag) ? SMFIS_NOREPLY :
	    SMFIS_CONTINUE;
}

/*
 * note_qid - the message's queue id, once a macro has it.  MTAs differ in
 * when they know it (Postfix often only at end of headers), so every step
 * from MAIL on looks until it is found; it goes to the log prefix and to
 * the message's macros, from which the request's Queue-Id is made.
 */
static void
note_qid(SMFICTX *ctx, struct conn *c)
{
	static const char *const names[] = { "i", "{i}" };

	if (c->msg == NULL || c->msg->qid != NULL)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		const char *qid = smfi_getsymval(ctx, (char *)names[i]);

		if (qid != NULL && *qid != '\0') {
			session_set_qid(c, qid);
			kv_set(&c->msg->macros, names[i], qid);
			return;
		}
	}
}

/*
 * capture_macros - store the macros the MTA sends at this step: the
 * connection's at connect and HELO (again after STARTTLS), the message's
 * at MAIL and RCPT.  Each step asks only for its own (rspamd_macros), not
 * for all of them every time.
 */
static void
capture_macros(SMFICTX *ctx, struct conn *c, enum macro_stage stage)
{
	struct kvlist *kv = stage >= MACRO_MAIL && c->msg != NULL ?
	    &c->msg->macros : &c->macros;

	for (const struct rspamd_macro *m = rspamd_macros; m->name != NULL;
	    m++) {
		const char *v;

		if (m->stage != stage)
			continue;
		if ((v = smfi_getsymval(ctx, (char *)m->name)) != NULL)
			kv_set(kv, m->name, v);
	}
	note_qid(ctx, c);
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long missing = (WANT_ACTIONS & ~SMFIF_SETSYMLIST) & ~f0;
	struct conn *c = conn_open(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (missing != 0)
		log_warnx("MTA does not offer milter actions 0x%lx; changes "
		    "needing them will tempfail", missing);
	*pf0 = f0 & WANT_ACTIONS;
	*pf1 = f1 & (WANT_NOREPLY | WANT_SKIP | SMFIP_HDR_LEADSPC);
	*pf2 = *pf3 = 0;
	c->nr_mask = *pf1 & WANT_NOREPLY;
	c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	log_debug("negotiated: MTA offers actions 0x%lx steps 0x%lx, we take "
	    "actions 0x%lx steps 0x%lx", f0, f1, *pf0, *pf1);
	if (f0 & SMFIF_SETSYMLIST)
		for (size_t i = 0; i < sizeof(symlists) / sizeof(*symlists);
		    i++)
			smfi_setsymlist(ctx, symlists[i].stage,
			    (char *)symlists[i].list);
	return SMFIS_CONTINUE;
}

/* addr_text - printable client address, NULL for non-IP. */
static char *
addr_text(const struct sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN];
	const void *p;

	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		p = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return NULL;
	if (inet_ntop(sa->sa_family, p, buf, sizeof(buf)) == NULL)
		return NULL;
	return xstrdup(buf);
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct conn *c = conn_open(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	/* libmilter's thread for this connection: name it for top -H,
	 * once (libmilter's worker pool reuses its threads). */
	static _Thread_local int named;
	if (!named)
		named = pthread_setname_np(pthread_self(), "sm-milter") == 0;
	free(c->hostname);
	free(c->addr);
	c->hostname = xstrdup(hostname != NULL ? hostname : "unknown");
	c->addr = addr_text(hostaddr);
	capture_macros(ctx, c, MACRO_CONNECT);
	return reply(c, SMFIP_NR_CONN);
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	free(c->helo);
	c->helo = xstrdup(helo != NULL ? helo : "");
	capture_macros(ctx, c, MACRO_HELO);
	return reply(c, SMFIP_NR_HELO);
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	session_msg_begin(c, argv[0] != NULL ? argv[0] : "<>");
	milterio_note_in_message(true);
	capture_macros(ctx, c, MACRO_MAIL);
	return reply(c, SMFIP_NR_MAIL);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL || c->msg == NULL)
		return SMFIS_TEMPFAIL;
	if (argv[0] != NULL)
		session_add_rcpt(c, argv[0]);
	capture_macros(ctx, c, MACRO_RCPT);
	return reply(c, SMFIP_NR_RCPT);
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL || c->msg == NULL)
		return SMFIS_TEMPFAIL;
	session_add_header(c, name, value != NULL ? value : "");
	return reply(c, SMFIP_NR_HDR);
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL || c->msg == NULL)
		return SMFIS_TEMPFAIL;
	note_qid(ctx, c);
	return reply(c, SMFIP_NR_EOH);
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct conn *c = conn_of(ctx);

	if (c == NULL || c->msg == NULL)
		return SMFIS_TEMPFAIL;
	session_add_body(c, p, n);
	return reply(c, SMFIP_NR_BODY);
}

/* progress - keep the MTA waiting while the scan runs. */
static void
progress(void *ctx)
{
	smfi_progress(ctx);
}

/* Facts of one end-of-message run, for the summary line. */
struct eom_run {
	const char	*source;	/* "scan", "policy" */
	const char	*why;		/* failure reason, if policy */
	char		 upstream[128];
	double		 score, required;
	double		 ms;
	int		 attempts;
	char		 detail[300];
	char		 refused[160];	/* the change the MTA would not make */
	char		 retries[400];	/* attempts that failed before the last */
	size_t		 ignored;	/* unusable reply entries skipped */
	size_t		 rcpts_unsent;	/* past limits.max_rcpts */
	int		 text_refused;	/* libmilter would not take reply text */
};

/* plan_on_failure - scan.on_failure with its message, as a plan. */
static void
plan_on_failure(const struct config *cfg, struct plan *p)
{
	policy_plan(cfg->on_failure, cfg->failure_message,
	    fallback_name(cfg->on_failure), p);
}

/* plan_failure - the failure policy for a message we could not scan. */
static void
plan_failure(const struct conn *c, struct eom_run *r, struct plan *p)
{
	const struct config *cfg = c->cfg;

	r->source = "policy";
	if (c->msg->state == MSG_OVERSIZE)
		policy_plan(cfg->on_oversize, cfg->oversize_message,
		    fallback_name(cfg->on_oversize), p);
	else
		plan_on_failure(cfg, p);
}

/* count_header - plan_opts.count over the current message. */
static size_t
count_header(void *arg, const char *name)
{
	return session_header_count(arg, name);
}

/* plan_reply_json - parse the scanner's reply and plan; -1 if unusable. */
static int
plan_reply_json(const struct conn *c, const char *json, size_t len,
    struct eom_run *r, struct plan *p)
{
	const struct config *cfg = c->cfg;
	struct verdict v;
	struct plan_opts o = {
		.reject_message = cfg->reject_message,
		.tempfail_message = cfg->tempfail_message,
		.spam_header = cfg->spam_header,
		.spam_header_value = cfg->spam_header_value,
		.discard_on_reject = cfg->discard_on_reject,
		.quarantine_on_reject = cfg->quarantine_on_reject,
		.greylist_tempfail = cfg->greylist_tempfail,
		.leadspc = c->leadspc,
		.count = count_header,
		.count_arg = c->msg,
	};

	if (verdict_parse(json, len, &v, r->detail, sizeof(r->detail)) == -1)
		return -1;
	r->ignored = v.skipped;
	r->score = v.score;
	r->required = v.required_score;
	verdict_plan(&v, &o, p);
	verdict_free(&v);
	return 0;
}

/* report_main - the main result into the compare set, if there is one. */
static void
report_main(struct cmp_set *set, struct scan_job *job, enum scan_status st)
{
	const char *body;
	size_t len = 0;

	if (set == NULL)
		return;
	if (job == NULL) {
		cmp_set_report(set, 0, NULL, NULL, 0, "scan loop late", 0);
		return;
	}
	body = scan_job_reply(job, &len);
	cmp_set_report(set, 0, scan_job_upstream(job), st == SCAN_OK ? body :
	    NULL, len, st == SCAN_OK ? NULL : scan_job_error(job),
	    scan_job_elapsed_ms(job));
}

/*
 * selfscan_message - scan in process; the reply takes the same path as a
 * scanner's.
 */
static void
selfscan_message(struct conn *c, struct eom_run *r, struct plan *p)
{
	struct rule_input in;
	struct timespec t0;
	char err[512], *json;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.qid = session_qid(c);
	in.from = c->msg->from;
	in.ip = c->addr;
	in.helo = c->helo;
	in.hostname = c->hostname;
	in.user = session_macro(c, "{auth_authen}");
	in.rcpts = c->msg->rcpts;
	in.nrcpts = c->msg->nrcpts;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	json = selfscan_run(c->cfg, &in, c->msg->blob, &len, err, sizeof(err));
	snprintf(r->upstream, sizeof(r->upstream), "self-scan");
	r->attempts = 1;
	r->ms = ts_ms_since(&t0);
	if (json != NULL) {
		r->source = "scan";	/* upstream says which scanner */
		if (plan_reply_json(c, json, len, r, p) == 0) {
			free(json);
			return;
		}
		r->why = "malformed reply";
		free(json);
	} else {
		r->why = "self-scan failed";
		snprintf(r->detail, sizeof(r->detail), "%s", err);
	}
	plan_failure(c, r, p);
}

/*
 * scan_message - send the message to the scan group and plan its verdict.
 * Mirror copies go out after the main scan is submitted, so building them
 * overlaps the scan instead of delaying it.
 */
static void
scan_message(SMFICTX *ctx, struct conn *c, struct eom_run *r,
    struct plan *p)
{
	const struct group_conf *g = config_group(c->cfg, c->cfg->scan_group);
	const char *hash = group_hash_key(g, c->addr, c->msg->from);
	struct strlist hdrs = { NULL, 0 };
	struct cmp_set *set = NULL;
	struct scan_job *job;
	enum scan_status st;
	const char *body;
	size_t len;
	int queued;

	if (g->self_scan) {
		selfscan_message(c, r, p);
		return;
	}
	rspamd_request_headers(c, &hdrs);
	job = scan_job_new(session_qid(c), &hdrs, c->msg->blob, c->cfg, g,
	    hash, c->cfg->scan_timeout);
	queued = scan_submit(job) == 0;
	if (c->cfg->nmirrors > 0)
		set = mirror_fire(c->cfg, session_qid(c), scan_job_hdrs(job),
		    c->msg->blob, c->addr, c->msg->from);
	st = queued ? scan_wait(&job, progress, ctx) : scan_job_status(job);
	report_main(set, job, st);
	if (job != NULL) {
		snprintf(r->upstream, sizeof(r->upstream), "%s",
		    scan_job_upstream(job));
		r->attempts = scan_job_attempts(job);
		r->ms = scan_job_elapsed_ms(job);
		snprintf(r->retries, sizeof(r->retries), "%s",
		    scan_job_retries(job));
	}
	if (st == SCAN_OK) {
		body = scan_job_reply(job, &len);
		r->source = "scan";
		if (plan_reply_json(c, body, len, r, p) == 0) {
			scan_job_free(job);
			return;
		}
		r->why = "malformed reply";
	} else {
		r->why = scan_status_name(st);
		snprintf(r->detail, sizeof(r->detail), "%s",
		    job != NULL ? scan_job_error(job) : "scan loop late");
	}
	scan_job_free(job);
	plan_failure(c, r, p);
}

/* apply_mod - one modification through libmilter. */
static int
apply_mod(SMFICTX *ctx, const struct mod *m)
{
	switch (m->type) {
	case MOD_ADDHDR:
		return smfi_addheader(ctx, m->name, m->value);
	case MOD_INSHDR:
		return smfi_insheader(ctx, m->idx, m->name, m->value);
	case MOD_CHGHDR:
		return smfi_chgheader(ctx, m->name, m->idx, m->value);
	case MOD_CHGFROM:
		return smfi_chgfrom(ctx, m->value, NULL);
	case MOD_ADDRCPT:
		return smfi_addrcpt(ctx, m->value);
	case MOD_DELRCPT:
		return smfi_delrcpt(ctx, m->value);
	case MOD_QUARANTINE:
		return smfi_quarantine(ctx, m->value);
	}
	return MI_FAILURE;
}

/*
 * apply_mods - hand p's changes to libmilter in order.  Returns 0, or -1
 * at the first one refused (the MTA did not offer SMFIF_CHGHDRS, say),
 * named in r->refused.
 */
static int
apply_mods(SMFICTX *ctx, const struct plan *p, struct eom_run *r)
{
	for (size_t i = 0; i < p->nmods; i++) {
		const struct mod *m = &p->mods[i];

		if (apply_mod(ctx, m) == MI_SUCCESS)
			continue;
		snprintf(r->refused, sizeof(r->refused), "%s", m->name ?
		    m->name : m->value ? m->value : "envelope");
		return -1;
	}
	return 0;
}

/*
 * refused_plan - a change was refused, so the plan cannot be carried out,
 * and a plan we cannot carry out is no verdict: the message gets the
 * failure policy (scan.on_failure and its message), as when it could not
 * be scanned.  If that policy needs a change too (quarantine) and the MTA
 * refuses it as well, the last resort is a tempfail, with failure_message
 * if it is a 4xx one.
 */
static void
refused_plan(SMFICTX *ctx, const struct conn *c, struct plan *p,
    struct eom_run *r)
{
	const struct config *cfg = c->cfg;

	plan_free(p);
	plan_on_failure(cfg, p);
	if (apply_mods(ctx, p, r) == 0)
		return;
	plan_free(p);
	policy_plan(FALLBACK_TEMPFAIL, cfg->failure_message, "tempfail", p);
}

/*
 * apply_plan - modifications, then the final answer as an sfsistat; a
 * refused change turns p into the failure policy's plan (refused_plan),
 * so that the answer given and the summary line agree, and r says which
 * change was refused.
 */
static sfsistat
apply_plan(SMFICTX *ctx, const struct conn *c, struct plan *p,
    struct eom_run *r)
{
	if (apply_mods(ctx, p, r) == -1)
		refused_plan(ctx, c, p, r);
	switch (p->final) {
	case PLAN_REJECT:
	case PLAN_TEMPFAIL:
		if (smfi_setreply(ctx, (char *)p->rcode,
		    p->xcode[0] ? (char *)p->xcode : NULL, p->text) !=
		    MI_SUCCESS)
			r->text_refused = 1;	/* told in the summary */
		return p->final == PLAN_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	case PLAN_DISCARD:
		return SMFIS_DISCARD;
	default:
		return SMFIS_ACCEPT;
	}
}

/*
 * run_notes - the rest of what happened to the message, so that its one
 * summary line tells all: attempts that failed before the last, reply
 * entries skipped, a reply text libmilter would not take.
 */
static void
run_notes(const struct eom_run *r, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	/* A refused change on the scan path has a line of its own. */
	if (r->refused[0] != '\0' && strcmp(r->source, "scan") != 0)
		n += (size_t)snprintf(out + n, len - n, " (the MTA refused "
		    "the change of %s)", r->refused);
	if (n < len && r->retries[0] != '\0')
		n += (size_t)snprintf(out + n, len - n, " retried after: %s",
		    r->retries);
	if (n < len && r->ignored > 0)
		n += (size_t)snprintf(out + n, len - n,
		    " (ignored %zu unusable entries in the reply)", r->ignored);
	if (n < len && r->rcpts_unsent > 0)
		n += (size_t)snprintf(out + n, len - n, " (%zu recipients past "
		    "limits.max_rcpts not told to the scanner)",
		    r->rcpts_unsent);
	if (n < len && r->text_refused)
		snprintf(out + n, len - n, " (reply text refused by "
		    "libmilter: the MTA's default text went out)");
}

/* log_summary - the one line per message. */
static void
log_summary(const struct conn *c, const struct eom_run *r,
    const struct plan *p)
{
	const struct msg *m = c->msg;
	size_t size = m->blob != NULL ? blob_size(m->blob) : 0;
	char notes[600];

	run_notes(r, notes, sizeof(notes));
	if (strcmp(r->source, "scan") != 0)
		log_warnx("%s: %s (%s) not scanned: %s%s%s upstream=%s "
		    "attempts=%d time=%.0fms rcpts=%zu%s",
		    session_qid(c), plan_final_name(p->final), p->label,
		    r->why, r->detail[0] ? ": " : "", r->detail,
		    r->upstream[0] ? r->upstream : "-", r->attempts, r->ms,
		    m->nrcpts_seen, notes);
	else if (r->refused[0] != '\0')
		log_warnx("%s: %s (%s) score=%.2f/%.2f upstream=%s "
		    "attempts=%d time=%.0fms: the MTA refused the change of "
		    "%s, so the verdict could not be carried out%s",
		    session_qid(c), plan_final_name(p->final), p->label,
		    r->score, r->required, r->upstream, r->attempts, r->ms,
		    r->refused, notes);
	else
		log_info("%s: %s score=%.2f/%.2f action=%s upstream=%s "
		    "attempts=%d time=%.0fms size=%zu rcpts=%zu mods=%zu%s",
		    session_qid(c), plan_final_name(p->final), r->score,
		    r->required, p->label, r->upstream, r->attempts, r->ms,
		    size, m->nrcpts_seen, p->nmods, notes);
}

/* eom_cut_off - end of a message the stop has logged: tempfail, no line. */
static sfsistat
eom_cut_off(struct conn *c, struct plan *p)
{
	plan_free(p);
	milterio_note_in_message(false);
	session_msg_end(c);
	return SMFIS_TEMPFAIL;
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	struct eom_run r;
	struct plan p;
	sfsistat st;

	if (c == NULL || c->msg == NULL) {
		/* No MAIL seen (or no memory for the connection): the MTA's
		 * macro still names the message. */
		const char *qid = smfi_getsymval(ctx, (char *)"i");

		log_err("%s: tempfail: end of message without a message "
		    "(no MAIL FROM seen)", qid != NULL && *qid != '\0' ? qid :
		    "NOQUEUE");
		return SMFIS_TEMPFAIL;
	}
	memset(&r, 0, sizeof(r));
	note_qid(ctx, c);
	session_note_eom(c);
	r.rcpts_unsent = c->msg->nrcpts_seen - c->msg->nrcpts;
	if (c->msg->state == MSG_OK && session_finish_head(c) == 0) {
		scan_message(ctx, c, &r, &p);
	} else {
		r.why = c->msg->why;
		plan_failure(c, &r, &p);
	}
	/* Stopping, and main gave up on this message and logged it: no
	 * changes, no second line, the stop's answer. */
	if (!session_claim_summary(c))
		return eom_cut_off(c, &p);
	st = apply_plan(ctx, c, &p, &r);
	/* The MTA took the changes so slowly that the stop cut the message
	 * off meanwhile: main's line stands. */
	if (!session_claim_logged(c))
		return eom_cut_off(c, &p);
	log_summary(c, &r, &p);
	/* libmilter sends the answer after we return: a send that fails
	 * then is logged with this message's queue id. */
	milterio_note_message(session_qid(c));
	milterio_note_in_message(false);
	plan_free(&p);
	session_msg_end(c);
	return st;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	milterio_note_in_message(false);
	if (c != NULL)
		session_msg_drop(c, "the MTA aborted it");
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	milterio_note_in_message(false);
	session_conn_free(conn_of(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "scanmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = WANT_ACTIONS & ~SMFIF_SETSYMLIST,
	.xxfi_connect = mlfi_connect,
	.xxfi_helo = mlfi_helo,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};

const char *
milter_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/*
 * listener_nodelay - TCP_NODELAY on libmilter's listening socket, which
 * accepted connections inherit (Linux).  libmilter writes every reply
 * packet on its own (each header change, then the final answer); with
 * Nagle's algorithm the second waits for the MTA to acknowledge the first,
 * and the MTA, with nothing to send, delays that ACK: 40 ms per message.
 * libmilter does not hand out its socket, so find the one listening
 * TCP socket among our descriptors (there is no other at this point).
 */
static void
listener_nodelay(void)
{
	long max = sysconf(_SC_OPEN_MAX);

	for (int fd = 0; fd < (max > 0 && max < 65536 ? max : 1024); fd++) {
		int on = 0, dom = 0, one = 1;
		socklen_t len = sizeof(on);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
		    !on)
			continue;
		len = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == -1 ||
		    (dom != AF_INET && dom != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == -1)
			log_warn("TCP_NODELAY on the milter socket");
	}
}

int
milter_setup(const struct config *cfg)
{
	mode_t old;
	int rc;

	if (smfi_register(milter_desc) == MI_FAILURE) {
		log_err("smfi_register failed");
		return -1;
	}
	if (smfi_setconn(cfg->socket) == MI_FAILURE ||
	    smfi_settimeout((int)cfg->milter_timeout) == MI_FAILURE ||
	    smfi_setbacklog(cfg->backlog) == MI_FAILURE) {
		log_err("cannot use milter socket %s", cfg->socket);
		return -1;
	}
	if (milterio_init(cfg->milter_buffered != 0,
	    (int)cfg->milter_timeout) == -1)
		log_warn("milter.buffered_io: out of memory; unbuffered");
	old = umask((mode_t)cfg->umask);
	rc = smfi_opensocket(1);
	umask(old);
	if (rc == MI_FAILURE) {
		log_err("cannot open milter socket %s (in use, or no "
		    "permission?)", cfg->socket);
		return -1;
	}
	listener_nodelay();
	return 0;
}

int
milter_run(void)
{
	int rc = smfi_main() == MI_SUCCESS ? 0 : -1;

	/* Sessions waiting for the MTA on their threads take no new mail. */
	milterio_stop();
	return rc;
}
