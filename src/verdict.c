/*
 * verdict.c - Rspamd reply JSON -> verdict -> milter plan; see verdict.h.
 *
 * This is the only file that includes <jansson.h>.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jscan.h"
#include "verdict.h"
#include "xalloc.h"

/*
 * Parsing a reply builds a tree of a few hundred small pieces (every
 * object, key, string and number), all freed again before the parse
 * returns.  Through malloc that was about an eighth of the daemon's CPU
 * under load (perf, concurrency 8, with malloc_consolidate and chunk
 * unlinking high in the profile).  While a parse runs, jansson allocates
 * from an arena on the parsing thread's stack instead: taking is a pointer
 * bump, freeing inside the arena does nothing, and the arena goes away
 * with the parse.  What does not fit in it comes from malloc as before,
 * and so does everything outside a parse (a written reply, for one).
 * The hooks are set once, before main, so no jansson value ever meets an
 * allocator other than the one that made it.
 */
#define ARENA_SIZE	(32 * 1024)	/* a 2 KB reply needs about 12 KB */

struct arena {
	char		*base;
	size_t		 used;
	struct arena	*outer;		/* a parse inside a parse */
};

static _Thread_local struct arena *arena;

static void *
arena_malloc(size_t n)
{
	struct arena *a = arena;
	size_t need = (n + 15) & ~(size_t)15;

	if (a != NULL && n != 0 && n <= ARENA_SIZE &&
	    need <= ARENA_SIZE - a->used) {
		void *p = a->base + a->used;

		a->used += need;
		return p;
	}
	return malloc(n);
}

/* in_arena - whether p came from one of this thread's open arenas. */
static int
in_arena(const void *p)
{
	uintptr_t u = (uintptr_t)p;

	for (const struct arena *a = arena; a != NULL; a = a->outer)
		if (u >= (uintptr_t)a->base &&
		    u < (uintptr_t)a->base + ARENA_SIZE)
			return 1;
	return 0;
}

static void
arena_free(void *p)
{
	if (p != NULL && !in_arena(p))
		free(p);
}

__attribute__((constructor)) static void
arena_hooks(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

/* arena_open/arena_close - bracket a parse; every value made between them
 * must be freed (json_decref) before arena_close. */
static void
arena_open(struct arena *a, char *space)
{
	a->base = space;
	a->used = 0;
	a->outer = arena;
	arena = a;
}

static void
arena_close(struct arena *a)
{
	arena = a->outer;
}

static const char *const action_names[] = {
	[RSPAMD_NO_ACTION] = "no action",
	[RSPAMD_GREYLIST] = "greylist",
	[RSPAMD_ADD_HEADER] = "add header",
	[RSPAMD_REWRITE_SUBJECT] = "rewrite subject",
	[RSPAMD_SOFT_REJECT] = "soft reject",
	[RSPAMD_REJECT] = "reject",
	[RSPAMD_DISCARD] = "discard",
	[RSPAMD_QUARANTINE] = "quarantine",
};

const char *
rspamd_action_name(enum rspamd_action a)
{
	return action_names[a];
}

/* action_lookup - action by name; Rspamd also writes "add_header" forms. */
static int
action_lookup(const char *s, enum rspamd_action *out)
{
	for (size_t i = 0; i < sizeof(action_names) / sizeof(*action_names);
	    i++) {
		const char *n = action_names[i];
		size_t k;

		for (k = 0; n[k] != '\0' && s[k] != '\0'; k++)
			if (tolower((unsigned char)s[k]) != n[k] &&
			    !(n[k] == ' ' && (s[k] == '_' || s[k] == '-')))
				break;
		if (n[k] == '\0' && s[k] == '\0') {
			*out = (enum rspamd_action)i;
			return 0;
		}
	}
	return -1;
}

/* header_name_ok - RFC 5322 field name: printable, no colon, no blank. */
static int
header_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 998)
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= 32 || *s >= 127 || *s == ':')
			return 0;
	return 1;
}

/* lf_value - copy with CRLF and lone CR turned into LF (libmilter's form). */
static char *
lf_value(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s == '\r') {
			*o++ = '\n';
			if (s[1] == '\n')
				s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

/* push_header - append a header to a list; strings are copied. */
static struct vheader *
push_header(struct vheader **list, size_t *n, const char *name,
    const char *value)
{
	struct vheader *h;

	*list = xgrow(*list, *n, sizeof(**list));
	h = &(*list)[(*n)++];
	h->name = name != NULL ? xstrdup(name) : NULL;
	h->value = lf_value(value);
	h->has_order = 0;
	h->order = 0;
	return h;
}

/* add_header - one add_headers entry (string or {value, order|index}). */
static void
add_header(struct verdict *v, const char *name, json_t *e)
{
	json_t *val = e, *order = NULL;
	struct vheader *h;

	if (json_is_object(e)) {
		val = json_object_get(e, "value");
		if ((order = json_object_get(e, "order")) == NULL)
			order = json_object_get(e, "index");
	}
	if (!json_is_string(val) || !header_name_ok(name) ||
	    (order != NULL && (!json_is_integer(order) ||
	    json_integer_value(order) < -100000 ||
	    json_integer_value(order) > 100000))) {
		v->skipped++;
		return;
	}
	h = push_header(&v->add, &v->nadd, name, json_string_value(val));
	if (order != NULL) {
		h->has_order = 1;
		h->order = (int)json_integer_value(order);
	}
}

/* add_remove - one remove_headers position. */
static void
add_remove(struct verdict *v, const char *name, json_t *e)
{
	json_int_t pos;

	if (!json_is_integer(e) || !header_name_ok(name) ||
	    (pos = json_integer_value(e)) < -100000 || pos > 100000) {
		v->skipped++;
		return;
	}
	v->rm = xgrow(v->rm, v->nrm, sizeof(*v->rm));
	v->rm[v->nrm].name = xstrdup(name);
	v->rm[v->nrm].pos = (int)pos;
	v->nrm++;
}

/* each_entry - call fn for e, or for each element if e is an array. */
static void
each_entry(struct verdict *v, const char *name, json_t *e,
    void (*fn)(struct verdict *, const char *, json_t *))
{
	size_t i;
	json_t *x;

	if (!json_is_array(e)) {
		fn(v, name, e);
		return;
	}
	json_array_foreach(e, i, x)
		fn(v, name, x);
}

/* string_list - a string or an array of strings into a new list. */
static void
string_list(json_t *e, char ***list, size_t *n, size_t *skipped)
{
	size_t i;
	json_t *x;

	if (e == NULL)
		return;
	if (json_is_string(e)) {
		*list = xgrow(*list, *n, sizeof(char *));
		(*list)[(*n)++] = lf_value(json_string_value(e));
		return;
	}
	if (!json_is_array(e)) {
		(*skipped)++;
		return;
	}
	json_array_foreach(e, i, x)
		string_list(x, list, n, skipped);
}

/* dup_string - a copy of a JSON string member, or NULL. */
static char *
dup_string(json_t *obj, const char *key)
{
	json_t *s = json_object_get(obj, key);

	return json_is_string(s) ? xstrdup(json_string_value(s)) : NULL;
}

/* parse_spam_header - "value" (of the configured header) or {name: value}. */
static void
parse_spam_header(struct verdict *v, json_t *e)
{
	const char *k;
	json_t *x;

	if (json_is_string(e)) {
		push_header(&v->spam, &v->nspam, NULL, json_string_value(e));
		return;
	}
	if (!json_is_object(e)) {
		v->skipped++;
		return;
	}
	json_object_foreach(e, k, x) {
		if (header_name_ok(k) && json_is_string(x))
			push_header(&v->spam, &v->nspam, k,
			    json_string_value(x));
		else
			v->skipped++;
	}
}

/* parse_milter - the reply's "milter" object. */
static void
parse_milter(struct verdict *v, json_t *m)
{
	const char *k;
	json_t *x, *e;

	if ((x = json_object_get(m, "remove_headers")) != NULL &&
	    json_is_object(x))
		json_object_foreach(x, k, e)
			each_entry(v, k, e, add_remove);
	if ((x = json_object_get(m, "add_headers")) != NULL &&
	    json_is_object(x))
		json_object_foreach(x, k, e)
			each_entry(v, k, e, add_header);
	v->change_from = dup_string(m, "change_from");
	string_list(json_object_get(m, "add_rcpt"), &v->add_rcpt,
	    &v->nadd_rcpt, &v->skipped);
	string_list(json_object_get(m, "del_rcpt"), &v->del_rcpt,
	    &v->ndel_rcpt, &v->skipped);
	v->no_action = json_is_true(json_object_get(m, "no_action"));
	if ((x = json_object_get(m, "spam_header")) != NULL)
		parse_spam_header(v, x);
	v->milter_reject = dup_string(m, "reject");
}

static int	load_reply(const char *, size_t, json_t **, char *, size_t);
static int	check_reply(json_t *, char *, size_t);
static void	verdict_of(json_t *, struct verdict *);

/*
 * The members verdict_of reads; jscan skips the rest (chiefly "symbols").
 */
static const char *const verdict_keys[] = {
	"action", "score", "required_score", "is_skipped", "messages",
	"subject", "dkim-signature", "milter", NULL
};

#define PICK_MAX	32	/* more picked members than this: parse it all */
#define BUILD_DEPTH	64	/* deeper than this: parse it all */
#define KEY_STACK	256

static json_t	*build(struct jspan, int);

/* build_number - as jansson reads one: an integer unless it has a fraction
 * or an exponent; NULL past the range jansson takes. */
static json_t *
build_number(struct jspan v)
{
	char small[64], *s = v.n < sizeof(small) ? small : xmalloc(v.n + 1);
	json_t *j = NULL;
	char *end;

	memcpy(s, v.p, v.n);
	s[v.n] = '\0';
	errno = 0;
	if (jscan_is_integer(v)) {
		long long i = strtoll(s, &end, 10);

		if (errno == 0)
			j = json_integer(i);
	} else {
		/* An overflow gives HUGE_VAL, which json_real refuses as
		 * json_loadb does; an underflow gives what json_loadb gets. */
		j = json_real(strtod(s, &end));
	}
	if (s != small)
		free(s);
	return j;
}

/* unescape - a string or key span, decoded; *n gets its length. */
static char *
unescape(struct jspan v, char *small, size_t *n)
{
	char *s = v.n <= KEY_STACK ? small : xmalloc(v.n);

	*n = jscan_unescape(v, s);
	return s;
}

/* add_member - o[key] = build(val); NULL for a duplicate key, as jansson's
 * JSON_REJECT_DUPLICATES. */
static json_t *
add_member(json_t *o, struct jspan key, struct jspan val, int depth)
{
	char small[KEY_STACK], *k;
	json_t *x = NULL;
	size_t n;

	k = unescape(key, small, &n);
	if (json_object_getn(o, k, n) == NULL && (x = build(val, depth)) !=
	    NULL && json_object_setn_new_nocheck(o, k, n, x) == -1)
		x = NULL;
	if (k != small)
		free(k);
	return x;
}

/*
 * build - the jansson value of a checked span, with json_loadb's rules for
 * what jscan leaves to its reader (number range, duplicate keys); NULL if
 * json_loadb would have refused it, or it is nested too deep to build here.
 */
static json_t *
build(struct jspan v, int depth)
{
	char small[KEY_STACK], *s;
	struct jspan k, e;
	struct jiter it;
	json_t *j;
	size_t n;

	switch (jscan_type(v)) {
	case JT_OBJECT:
	case JT_ARRAY:
		if (depth >= BUILD_DEPTH)
			return NULL;
		j = jscan_type(v) == JT_OBJECT ? json_object() : json_array();
		jscan_iter(v, &it);
		while (j != NULL && jscan_next(&it, &k, &e))
			if (json_is_object(j) ? add_member(j, k, e,
			    depth + 1) == NULL : json_array_append_new(j,
			    build(e, depth + 1)) == -1) {
				json_decref(j);
				j = NULL;
			}
		return j;
	case JT_STRING:
		s = unescape(v, small, &n);
		j = json_stringn_nocheck(s, n);
		if (s != small)
			free(s);
		return j;
	case JT_NUMBER:
		return build_number(v);
	case JT_TRUE:
		return json_true();
	case JT_FALSE:
		return json_false();
	default:
		return json_null();
	}
}

/*
 * pick_reply - the reply object with only the verdict's members, built
 * from jscan's spans; NULL if jscan cannot vouch for the text or a member
 * would not load.
 */
static json_t *
pick_reply(const char *json, size_t len)
{
	struct jmember m[PICK_MAX];
	long n = jscan_pick(json, len, verdict_keys, m, PICK_MAX);
	json_t *root;

	if (n < 0 || (root = json_object()) == NULL)
		return NULL;
	for (long i = 0; i < n; i++)
		if (add_member(root, m[i].key, m[i].val, 1) == NULL) {
			json_decref(root);
			return NULL;
		}
	return root;
}

int
verdict_parse(const char *json, size_t len, struct verdict *v, char *err,
    size_t errlen)
{
	_Alignas(16) char space[ARENA_SIZE];
	struct arena a;
	json_t *root;
	int rc;

	memset(v, 0, sizeof(*v));
	arena_open(&a, space);
	/*
	 * The whole text goes through json_loadb only when jscan cannot
	 * vouch for it or its picked members fail to build: then the error
	 * names the place in the reply as received.  A picked reply without
	 * a known action is refused as it is (its top-level keys are plain,
	 * so the whole text has no other action).
	 */
	if ((root = pick_reply(json, len)) == NULL)
		rc = load_reply(json, len, &root, err, errlen);
	else if ((rc = check_reply(root, err, errlen)) == -1)
		json_decref(root);
	if (rc == 0) {
		verdict_of(root, v);
		json_decref(root);
	}
	arena_close(&a);
	return rc;
}

/*
 * load_reply - parse a reply and check it has a known action; the caller
 * decrefs *root.  Returns 0, or -1 with the reason in err.
 */
static int
load_reply(const char *json, size_t len, json_t **root, char *err,
    size_t errlen)
{
	json_error_t jerr;

	*root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL) {
		snprintf(err, errlen, "bad JSON at %d:%d: %s", jerr.line,
		    jerr.column, jerr.text);
		return -1;
	}
	if (check_reply(*root, err, errlen) == -1) {
		json_decref(*root);
		return -1;
	}
	return 0;
}

/* check_reply - a loaded reply is an object with a known action. */
static int
check_reply(json_t *root, char *err, size_t errlen)
{
	enum rspamd_action action;
	json_t *x = json_object_get(root, "action");

	if (!json_is_object(root) || !json_is_string(x) ||
	    action_lookup(json_string_value(x), &action) == -1) {
		snprintf(err, errlen, "reply has no known \"action\"");
		return -1;
	}
	return 0;
}

/* verdict_of - the verdict of a loaded reply (load_reply checked it). */
static void
verdict_of(json_t *root, struct verdict *v)
{
	json_t *x;

	action_lookup(json_string_value(json_object_get(root, "action")),
	    &v->action);
	v->score = json_number_value(json_object_get(root, "score"));
	v->required_score = json_number_value(json_object_get(root,
	    "required_score"));
	v->is_skipped = json_is_true(json_object_get(root, "is_skipped"));
	if ((x = json_object_get(root, "messages")) != NULL)
		v->smtp_message = dup_string(x, "smtp_message");
	v->subject = dup_string(root, "subject");
	string_list(json_object_get(root, "dkim-signature"), &v->dkim,
	    &v->ndkim, &v->skipped);
	if ((x = json_object_get(root, "milter")) != NULL && json_is_object(x))
		parse_milter(v, x);
}

/* parse_symbol - one member of the reply's "symbols" object. */
static void
parse_symbol(struct vsummary *out, const char *key, json_t *e)
{
	struct vsymbol *sym;
	size_t skipped = 0;
	json_t *name;

	if (!json_is_object(e))
		return;
	out->sym = xgrow(out->sym, out->nsym, sizeof(*out->sym));
	sym = &out->sym[out->nsym++];
	memset(sym, 0, sizeof(*sym));
	name = json_object_get(e, "name");
	sym->name = xstrdup(json_is_string(name) ? json_string_value(name) :
	    key);
	sym->score = json_number_value(json_object_get(e, "score"));
	string_list(json_object_get(e, "options"), &sym->options,
	    &sym->noptions, &skipped);
}

int
verdict_summary(const char *json, size_t len, struct vsummary *out,
    char *err, size_t errlen)
{
	_Alignas(16) char space[ARENA_SIZE];
	struct arena a;
	json_t *root, *x, *e;
	const char *k;
	int rc;

	memset(out, 0, sizeof(*out));
	arena_open(&a, space);
	/* One parse, with the same acceptance rules as for a verdict. */
	if ((rc = load_reply(json, len, &root, err, errlen)) == 0) {
		action_lookup(json_string_value(json_object_get(root,
		    "action")), &out->action);
		out->score = json_number_value(json_object_get(root, "score"));
		out->required_score = json_number_value(json_object_get(root,
		    "required_score"));
		if ((x = json_object_get(root, "symbols")) != NULL &&
		    json_is_object(x))
			json_object_foreach(x, k, e)
				parse_symbol(out, k, e);
		json_decref(root);
	}
	arena_close(&a);
	return rc;
}

/*
 * json_utf8 - a JSON string of s; bytes that are not UTF-8 (a subject or a
 * rule's option in some other charset) become '?' rather than losing the
 * whole value.  Every string of a written reply goes through here.
 */
static json_t *
json_utf8(const char *s)
{
	json_t *j = json_string(s);
	char *a;

	if (j != NULL)
		return j;
	a = xstrdup(s);
	for (char *p = a; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(a);
	free(a);
	return j;
}

/* reply_symbols - {"NAME": {"name", "score", "options"}, ...}. */
static json_t *
reply_symbols(const struct vsummary *v)
{
	json_t *syms = json_object();

	for (size_t i = 0; i < v->nsym; i++) {
		json_t *s = json_object(), *opts = json_array();

		json_object_set_new(s, "name", json_utf8(v->sym[i].name));
		json_object_set_new(s, "score", json_real(v->sym[i].score));
		for (size_t j = 0; j < v->sym[i].noptions; j++)
			json_array_append_new(opts,
			    json_utf8(v->sym[i].options[j]));
		json_object_set_new(s, "options", opts);
		/* Names are letters, digits and _ (rule{} checks it). */
		json_object_set_new(syms, v->sym[i].name, s);
	}
	return syms;
}

char *
verdict_reply_json(const struct vreply *r, size_t *len)
{
	json_t *root = json_object(), *milter = json_object();
	json_t *add = json_object(), *rm = json_object();
	char *text;

	json_object_set_new(root, "action",
	    json_string(rspamd_action_name(r->v->action)));
	json_object_set_new(root, "score", json_real(r->v->score));
	json_object_set_new(root, "required_score",
	    json_real(r->v->required_score));
	json_object_set_new(root, "symbols", reply_symbols(r->v));
	if (r->subject != NULL)
		json_object_set_new(root, "subject", json_utf8(r->subject));
	if (r->smtp_message != NULL) {
		json_t *m = json_object();

		json_object_set_new(m, "smtp_message",
		    json_utf8(r->smtp_message));
		json_object_set_new(root, "messages", m);
	}
	for (size_t i = 0; i < r->nremove; i++)
		json_object_set_new(rm, r->remove[i], json_integer(0));
	for (size_t i = 0; i < r->nadd; i++) {
		json_t *h = json_object();

		json_object_set_new(h, "value", json_utf8(r->add_values[i]));
		json_object_set_new(h, "order", json_integer(0));
		json_object_set_new(add, r->add_names[i], h);
	}
	json_object_set_new(milter, "remove_headers", rm);
	json_object_set_new(milter, "add_headers", add);
	json_object_set_new(root, "milter", milter);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	/* No text is no verdict: never a made-up clean one. */
	if (text != NULL)
		*len = strlen(text);
	return text;
}

/* free_list - free n strings and the array. */
static void
free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* free_headers - free n headers and the array. */
static void
free_headers(struct vheader *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

void
vsummary_free(struct vsummary *s)
{
	for (size_t i = 0; i < s->nsym; i++) {
		free(s->sym[i].name);
		free_list(s->sym[i].options, s->sym[i].noptions);
	}
	free(s->sym);
	memset(s, 0, sizeof(*s));
}

void
verdict_free(struct verdict *v)
{
	free_headers(v->add, v->nadd);
	free_headers(v->spam, v->nspam);
	for (size_t i = 0; i < v->nrm; i++)
		free(v->rm[i].name);
	free(v->rm);
	free_list(v->add_rcpt, v->nadd_rcpt);
	free_list(v->del_rcpt, v->ndel_rcpt);
	free_list(v->dkim, v->ndkim);
	free(v->smtp_message);
	free(v->subject);
	free(v->change_from);
	free(v->milter_reject);
	memset(v, 0, sizeof(*v));
}
