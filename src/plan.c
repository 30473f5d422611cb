/*
 * plan.c - struct verdict -> ordered milter modifications and final answer.
 * Pure; see verdict.h for the semantics it implements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verdict.h"
#include "xalloc.h"

static const char *const final_names[] = {
	[PLAN_ACCEPT] = "accept",
	[PLAN_REJECT] = "reject",
	[PLAN_TEMPFAIL] = "tempfail",
	[PLAN_DISCARD] = "discard",
};

const char *
plan_final_name(enum plan_final f)
{
	return final_names[f];
}

/* reply_text - SMTP reply text: one line, printable. */
static char *
reply_text(const char *s)
{
	return xstrndup_printable(s, 900, ' ');
}

void
plan_reply(struct plan *p, enum plan_final f, const char *rcode,
    const char *xcode, const char *text)
{
	p->final = f;
	snprintf(p->rcode, sizeof(p->rcode), "%s", rcode ? rcode : "");
	snprintf(p->xcode, sizeof(p->xcode), "%s", xcode ? xcode : "");
	free(p->text);
	p->text = text != NULL ? reply_text(text) : NULL;
}

void
plan_add_mod(struct plan *p, enum mod_type t, const char *name, int idx,
    const char *value)
{
	struct mod *m;

	p->mods = xgrow(p->mods, p->nmods, sizeof(*p->mods));
	m = &p->mods[p->nmods++];
	m->type = t;
	m->idx = idx;
	m->name = name != NULL ? xstrdup(name) : NULL;
	m->value = value != NULL ? xstrdup(value) : NULL;
}

/* add_value_mod - like add_mod, value with the leading blank if needed. */
static void
add_value_mod(struct plan *p, const struct plan_opts *o, enum mod_type t,
    const char *name, int idx, const char *value)
{
	char *v = xasprintf("%s%s", o->leadspc ? " " : "", value);

	plan_add_mod(p, t, name, idx, v);
	free(v);
}

/* count - occurrences of name in the message (NULL: every header). */
static size_t
count(const struct plan_opts *o, const char *name)
{
	return o->count != NULL ? o->count(o->count_arg, name) : 0;
}

/* remove_from - delete occurrences n..first of name, highest first. */
static void
remove_from(struct plan *p, const char *name, size_t n, size_t first)
{
	for (; n >= first && n > 0; n--)
		plan_add_mod(p, MOD_CHGHDR, name, (int)n, NULL);
}

/*
 * plan_removals - remove_headers as CHGHDR name idx NULL, per name highest
 * index first so that each index still names an original occurrence.
 */
static void
plan_removals(const struct verdict *v, const struct plan_opts *o,
    struct plan *p)
{
	for (size_t i = 0; i < v->nrm; i++) {
		const char *name = v->rm[i].name;
		size_t n = count(o, name);
		char *mark;

		/* Handle each name once, at its first entry. */
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(v->rm[j].name, name) == 0)
				goto next;
		/*
		 * One mark per occurrence: entries for the same name (any
		 * case, any number of them, 0 meaning all) can only mark,
		 * never outgrow the array.
		 */
		mark = xcalloc(n + 1, 1);
		for (size_t j = i; j < v->nrm; j++) {
			int pos = v->rm[j].pos;

			if (strcasecmp(v->rm[j].name, name) != 0)
				continue;
			if (pos == 0)
				memset(mark + 1, 1, n);
			else if (pos < 0 && (size_t)-pos <= n)
				mark[n + pos + 1] = 1;
			else if (pos > 0 && (size_t)pos <= n)
				mark[pos] = 1;
		}
		for (size_t x = n; x > 0; x--)
			if (mark[x])
				plan_add_mod(p, MOD_CHGHDR, name, (int)x, NULL);
		free(mark);
next:		;
	}
}

/* insert_index - where an ordered add goes; negative counts from the end. */
static int
insert_index(const struct plan_opts *o, int order)
{
	long n;

	if (order >= 0)
		return order;
	n = (long)count(o, NULL) + order + 1;
	return n > 0 ? (int)n : 0;
}

/* plan_milter_mods - everything from the milter block and dkim. */
static void
plan_milter_mods(const struct verdict *v, const struct plan_opts *o,
    struct plan *p)
{
	plan_removals(v, o, p);
	for (size_t i = 0; i < v->nadd; i++) {
		const struct vheader *h = &v->add[i];

		if (h->has_order)
			add_value_mod(p, o, MOD_INSHDR, h->name,
			    insert_index(o, h->order), h->value);
		else
			add_value_mod(p, o, MOD_ADDHDR, h->name, 0, h->value);
	}
	for (size_t i = 0; i < v->ndkim; i++)
		add_value_mod(p, o, MOD_INSHDR, "DKIM-Signature", (int)i + 1,
		    v->dkim[i]);
	if (v->change_from != NULL)
		plan_add_mod(p, MOD_CHGFROM, NULL, 0, v->change_from);
	for (size_t i = 0; i < v->ndel_rcpt; i++)
		plan_add_mod(p, MOD_DELRCPT, NULL, 0, v->del_rcpt[i]);
	for (size_t i = 0; i < v->nadd_rcpt; i++)
		plan_add_mod(p, MOD_ADDRCPT, NULL, 0, v->add_rcpt[i]);
}

/*
 * set_header - the header has exactly one occurrence, with value: change
 * the first (adding it if there is none), delete the others.
 */
static void
set_header(struct plan *p, const struct plan_opts *o, const char *name,
    const char *value)
{
	remove_from(p, name, count(o, name), 2);
	add_value_mod(p, o, MOD_CHGHDR, name, 1, value);
}

/* plan_spam_header - the "add header" action. */
static void
plan_spam_header(const struct verdict *v, const struct plan_opts *o,
    struct plan *p)
{
	if (v->nspam == 0) {
		set_header(p, o, o->spam_header, o->spam_header_value);
		return;
	}
	for (size_t i = 0; i < v->nspam; i++)
		set_header(p, o, v->spam[i].name ? v->spam[i].name :
		    o->spam_header, v->spam[i].value);
}

/* plan_reject - reject, or discard / quarantine when configured so. */
static void
plan_reject(const struct verdict *v, const struct plan_opts *o,
    struct plan *p)
{
	const char *how = v->milter_reject ? v->milter_reject : "";

	if (o->discard_on_reject || strcmp(how, "discard") == 0) {
		plan_reply(p, PLAN_DISCARD, NULL, NULL, NULL);
		p->label = "discard (reject)";
	} else if (o->quarantine_on_reject || strcmp(how, "quarantine") == 0) {
		plan_milter_mods(v, o, p);
		plan_add_mod(p, MOD_QUARANTINE, NULL, 0, v->smtp_message ?
		    v->smtp_message : o->reject_message);
		plan_reply(p, PLAN_ACCEPT, NULL, NULL, NULL);
		p->label = "quarantine (reject)";
	} else {
		plan_reply(p, PLAN_REJECT, "554", "5.7.1", v->smtp_message ?
		    v->smtp_message : o->reject_message);
		p->label = "reject";
	}
}

/* plan_accepting - the actions that deliver the message. */
static void
plan_accepting(const struct verdict *v, const struct plan_opts *o,
    enum rspamd_action a, struct plan *p)
{
	plan_milter_mods(v, o, p);
	plan_reply(p, PLAN_ACCEPT, NULL, NULL, NULL);
	p->label = rspamd_action_name(a);
	if (v->no_action) {
		/* Rspamd's proxy says what it did not do. */
		add_value_mod(p, o, MOD_ADDHDR, "X-Rspamd-Action", 0,
		    rspamd_action_name(v->action));
		p->label = "no action (milter.no_action)";
	} else if (a == RSPAMD_ADD_HEADER) {
		plan_spam_header(v, o, p);
	} else if (a == RSPAMD_REWRITE_SUBJECT && v->subject != NULL) {
		add_value_mod(p, o, MOD_CHGHDR, "Subject", 1, v->subject);
	} else if (a == RSPAMD_QUARANTINE) {
		plan_add_mod(p, MOD_QUARANTINE, NULL, 0, v->smtp_message ?
		    v->smtp_message : "quarantined by scanner");
	}
}

/* plan_tempfail - soft reject, and greylist when so configured. */
static void
plan_tempfail(const struct verdict *v, const struct plan_opts *o,
    enum rspamd_action a, struct plan *p)
{
	plan_reply(p, PLAN_TEMPFAIL, "451", "4.7.1", v->smtp_message ?
	    v->smtp_message : o->tempfail_message);
	p->label = rspamd_action_name(a);
}

void
verdict_plan(const struct verdict *v, const struct plan_opts *o,
    struct plan *p)
{
	enum rspamd_action a = v->no_action ? RSPAMD_NO_ACTION : v->action;

	memset(p, 0, sizeof(*p));
	switch (a) {
	case RSPAMD_REJECT:
		plan_reject(v, o, p);
		break;
	case RSPAMD_SOFT_REJECT:
		plan_tempfail(v, o, a, p);
		break;
	case RSPAMD_GREYLIST:
		if (o->greylist_tempfail)
			plan_tempfail(v, o, a, p);
		else
			plan_accepting(v, o, a, p);
		break;
	case RSPAMD_DISCARD:
		plan_reply(p, PLAN_DISCARD, NULL, NULL, NULL);
		p->label = "discard";
		break;
	default:
		plan_accepting(v, o, a, p);
	}
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->nmods; i++) {
		free(p->mods[i].name);
		free(p->mods[i].value);
	}
	free(p->mods);
	free(p->text);
	memset(p, 0, sizeof(*p));
}
