/*
 * selfscan.c - the in-process scanner; see selfscan.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "mime.h"
#include "selfscan.h"
#include "verdict.h"
#include "xalloc.h"

#define POOL_MAX	64	/* idle states kept */
#define RESULT_MAX	4000	/* bytes of the X-Spamd-Result value */

/* Idle states of the current config; others are freed when given back. */
static struct {
	pthread_mutex_t	 lock;
	struct config	*cfg;
	struct lbox	*idle[POOL_MAX];
	int		 nidle;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* limits_of, conf_of - what cfg says about the rules' states. */
static struct lbox_limits
limits_of(const struct config *cfg)
{
	struct lbox_limits l = { (unsigned long)cfg->ss_max_instructions,
	    cfg->ss_timeout, cfg->ss_max_memory };

	return l;
}

static struct lrule_conf
conf_of(const struct config *cfg)
{
	struct lrule_conf c = { cfg->ss_allow_ips, cfg->ss_deny_ips,
	    cfg->ss_allow_senders, cfg->ss_deny_senders };

	return c;
}

/* new_box - a state with cfg's rules; NULL with err. */
static struct lbox *
new_box(const struct config *cfg, char *err, size_t errlen)
{
	struct lbox_limits lim = limits_of(cfg);
	struct lrule_conf rc = conf_of(cfg);

	return lbox_rules_new(cfg->ss_builtin ? selfscan_builtin_rules : NULL,
	    cfg->ss_builtin ? selfscan_builtin_count : 0, cfg->ss_rules_dir,
	    &rc, &lim, err, errlen);
}

int
selfscan_check(const struct config *cfg, char *err, size_t errlen)
{
	struct lbox *b = new_box(cfg, err, errlen);

	if (b == NULL)
		return -1;
	if (lbox_rules_count(b) == 0) {
		snprintf(err, errlen, "no rules: builtin_rules is false and "
		    "rules_dir has none");
		lbox_free(b);
		return -1;
	}
	lbox_free(b);
	return 0;
}

/* checkout - an idle state of cfg, or a new one. */
static struct lbox *
checkout(struct config *cfg, char *err, size_t errlen)
{
	struct lbox *b = NULL, *old[POOL_MAX];
	int nold = 0;

	pthread_mutex_lock(&P.lock);
	if (P.cfg != cfg) {
		/* A reload: the old config's states go. */
		memcpy(old, P.idle, sizeof(old));
		nold = P.nidle;
		P.nidle = 0;
		config_release(P.cfg);
		P.cfg = config_acquire(cfg);
	}
	if (P.nidle > 0)
		b = P.idle[--P.nidle];
	pthread_mutex_unlock(&P.lock);
	for (int i = 0; i < nold; i++)
		lbox_free(old[i]);
	return b != NULL ? b : new_box(cfg, err, errlen);
}

/* checkin - back to the pool if it is still cfg's and not full. */
static void
checkin(struct config *cfg, struct lbox *b)
{
	pthread_mutex_lock(&P.lock);
	if (P.cfg == cfg && P.nidle < POOL_MAX) {
		P.idle[P.nidle++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&P.lock);
	lbox_free(b);
}

/*
 * read_message - the first max bytes of the blob, NUL-terminated; NULL if
 * it cannot be read back (the rules must not judge a part of it).
 */
static char *
read_message(const struct blob *blob, size_t max, size_t *len)
{
	size_t n = blob_size(blob) < max ? blob_size(blob) : max, got = 0;
	char *p = xmalloc(n + 1);
	ssize_t r;

	while (got < n && (r = blob_read(blob, got, p + got, n - got)) > 0)
		got += (size_t)r;
	if (got < n) {
		free(p);
		return NULL;
	}
	p[got] = '\0';
	*len = got;
	return p;
}


/* decide - action from the score and the forced actions of hits. */
static enum rspamd_action
decide(const struct config *cfg, double score, const struct rule_hit *h,
    size_t n, const char **message)
{
	enum rspamd_action a = RSPAMD_NO_ACTION;

	for (size_t i = 0; i < n; i++)
		if (h[i].action != NULL && strcmp(h[i].action, "reject") == 0) {
			*message = h[i].message;
			return RSPAMD_REJECT;
		}
	if (cfg->ss_reject > 0 && score >= cfg->ss_reject)
		a = RSPAMD_REJECT;
	else if (cfg->ss_rewrite_subject > 0 &&
	    score >= cfg->ss_rewrite_subject)
		a = RSPAMD_REWRITE_SUBJECT;
	else if (cfg->ss_add_header > 0 && score >= cfg->ss_add_header)
		a = RSPAMD_ADD_HEADER;
	else if (cfg->ss_greylist > 0 && score >= cfg->ss_greylist)
		a = RSPAMD_GREYLIST;
	return a;
}

/* result_line - "default: True [7.50 / 15.00];\n SYM(1.00)[opt];..." */
static char *
result_line(const struct vsummary *v)
{
	struct buf b;

	buf_init(&b, RESULT_MAX);
	buf_printf(&b, "default: %s [%.2f / %.2f]",
	    v->action == RSPAMD_REJECT || v->action == RSPAMD_ADD_HEADER ||
	    v->action == RSPAMD_REWRITE_SUBJECT ? "True" : "False", v->score,
	    v->required_score);
	for (size_t i = 0; i < v->nsym; i++) {
		if (buf_printf(&b, ";\n\t%s(%.2f)[", v->sym[i].name,
		    v->sym[i].score) == -1)
			break;
		for (size_t j = 0; j < v->sym[i].noptions; j++)
			buf_printf(&b, "%s%s", j ? "," : "", v->sym[i].options[j]);
		buf_puts(&b, "]");
	}
	return buf_steal(&b, NULL);
}

/*
 * build_reply - the hits as an Rspamd reply.  For "rewrite subject" the
 * new subject is Rspamd's default form, "***SPAM*** " and the old one.
 */
static char *
build_reply(const struct config *cfg, struct rule_hit *h, size_t n,
    const struct mime_msg *mime, size_t *len)
{
	struct vsummary v;
	const char *message = NULL, *names[1] = { "X-Spamd-Result" };
	const char *values[1];
	struct vreply r;
	char *line, *json, *subject = NULL;

	memset(&v, 0, sizeof(v));
	v.sym = xcalloc(n > 0 ? n : 1, sizeof(*v.sym));
	for (size_t i = 0; i < n; i++) {
		/* rule{} allows only [%w_] in names */
		v.sym[i].name = xstrdup(h[i].name);
		v.sym[i].score = h[i].score;
		v.sym[i].options = xcalloc(h[i].noptions + 1, sizeof(char *));
		for (size_t j = 0; j < h[i].noptions; j++)
			/* Control bytes as '?': an option ends up in the
			 * X-Spamd-Result header, where a line break would
			 * start a new field.  (UTF-8 validity is the JSON
			 * writer's business.) */
			v.sym[i].options[j] = xstrndup_printable(
			    h[i].options[j], strlen(h[i].options[j]), '?');
		v.sym[i].noptions = h[i].noptions;
		v.score += h[i].score;
	}
	v.nsym = n;
	v.required_score = cfg->ss_reject;
	v.action = decide(cfg, v.score, h, n, &message);
	line = result_line(&v);
	values[0] = line;
	r = (struct vreply){ &v, message, names, values, 1, names, 1, NULL };
	if (v.action == RSPAMD_REWRITE_SUBJECT) {
		const char *old = mime_header(mime, "Subject");

		subject = xasprintf("***SPAM*** %s", old != NULL ? old : "");
		r.subject = subject;
	}
	json = verdict_reply_json(&r, len);
	free(subject);
	free(line);
	vsummary_free(&v);
	return json;
}

char *
selfscan_run(struct config *cfg, struct rule_input *in,
    const struct blob *blob, size_t *len, char *err, size_t errlen)
{
	struct mime_msg mime;
	struct rule_hit *hits;
	struct lbox *b;
	size_t n, mlen;
	char *msg, *json = NULL;
	int rc;

	if ((msg = read_message(blob, cfg->ss_max_size, &mlen)) == NULL) {
		snprintf(err, errlen, "cannot read the message back");
		return NULL;
	}
	if ((b = checkout(cfg, err, errlen)) == NULL) {
		free(msg);
		return NULL;
	}
	mime_parse(msg, mlen, &mime_default_limits, &mime);
	in->mime = &mime;
	in->size = blob_size(blob);
	rc = lbox_rules_run(b, in, &hits, &n);
	if (rc == -1 || (rc > 0 && (size_t)rc == lbox_rules_count(b))) {
		/* No rule ran, or every one failed: that is no verdict, not a
		 * clean message.  The state may be spent: do not pool it. */
		snprintf(err, errlen, rc == -1 ? "the rules could not see the "
		    "message (selfscan.max_memory too small?)" : "every rule "
		    "failed on this message");
		lbox_free(b);
	} else {
		checkin(cfg, b);
		if ((json = build_reply(cfg, hits, n, &mime, len)) == NULL)
			snprintf(err, errlen, "cannot write the result");
	}
	rule_hits_free(hits, n);
	mime_free(&mime);
	free(msg);
	in->mime = NULL;
	return json;
}
