/*
 * verdict - Rspamd's reply, as data, and what the milter must do about it.
 *
 * Two pure steps, each tested without sockets:
 *   verdict_parse(): reply JSON -> struct verdict (nothing applied yet);
 *   verdict_plan():  struct verdict + options -> struct plan, the ordered
 *                    list of milter modifications and the final answer.
 * milter.c only walks the plan and calls smfi_*.
 *
 * Semantics of the reply's "milter" object (as Rspamd's own proxy applies
 * it):
 *   remove_headers { name: n | [n, ...] }: n > 0 removes the n-th occurrence,
 *     n < 0 counts from the last (-1 is the last), 0 removes every one.
 *     Removals come first, highest index first, so indexes keep meaning the
 *     original occurrences.
 *   add_headers { name: "v" | {value, order} | [ ... ] }: without order the
 *     header is appended; with order n >= 0 it is inserted at index n (0 is
 *     the top), with n < 0 at (headers in the message) + n + 1, at least 0;
 *     "index" is accepted for "order".
 *   change_from, add_rcpt, del_rcpt; no_action (true: apply the changes,
 *     add X-Rspamd-Action with the action, and accept); reject ("discard" or
 *     "quarantine" instead of a reject).
 *   spam_header, used with the action "add header" only: a string is the
 *     value of the configured spam header, {name: value, ...} sets those
 *     headers instead.  Each header set replaces every occurrence of it.
 * "dkim-signature" (string or array) is inserted as DKIM-Signature at
 * index 1, 2, 3 ... in the reply's order.
 * "greylist" is a score band, not a greylisting: Rspamd's greylist module
 * answers "soft reject" itself when it defers a message, and Rspamd's proxy
 * accepts "greylist".  plan_opts.greylist_tempfail chooses.
 *
 * Thread: any.  The structs own their strings; free with the _free calls.
 */
#ifndef SCANMILTER_VERDICT_H
#define SCANMILTER_VERDICT_H

#include <stddef.h>

enum rspamd_action {
	RSPAMD_NO_ACTION,
	RSPAMD_GREYLIST,
	RSPAMD_ADD_HEADER,
	RSPAMD_REWRITE_SUBJECT,
	RSPAMD_SOFT_REJECT,
	RSPAMD_REJECT,
	RSPAMD_DISCARD,
	RSPAMD_QUARANTINE
};

struct vheader {
	char	*name;		/* NULL: the configured spam header */
	char	*value;		/* line breaks as LF */
	int	 has_order;	/* 0: append */
	int	 order;		/* < 0 counts from the end */
};

struct vremove {
	char	*name;
	int	 pos;
};

struct verdict {
	enum rspamd_action action;
	double		 score;
	double		 required_score;
	int		 is_skipped;
	char		*smtp_message;
	char		*subject;
	struct vheader	*add;
	size_t		 nadd;
	struct vremove	*rm;
	size_t		 nrm;
	char		*change_from;
	char		**add_rcpt;
	size_t		 nadd_rcpt;
	char		**del_rcpt;
	size_t		 ndel_rcpt;
	char		**dkim;
	size_t		 ndkim;
	int		 no_action;
	struct vheader	*spam;			/* milter.spam_header */
	size_t		 nspam;
	char		*milter_reject;		/* "discard" | "quarantine" */
	size_t		 skipped;		/* unusable entries ignored */
};

/*
 * verdict_parse - parse len bytes of JSON.  Returns 0, or -1 with a short
 * reason in err.  On -1, v holds nothing to free.
 */
int		 verdict_parse(const char *json, size_t len, struct verdict *v,
		    char *err, size_t errlen);
void		 verdict_free(struct verdict *);
const char	*rspamd_action_name(enum rspamd_action);

/*
 * A reply reduced to what a person compares between two scanners: action,
 * score and the symbols with their scores and options.  Parsed apart from
 * struct verdict so that the main path does not pay for the symbols.
 */
struct vsymbol {
	char	*name;
	double	 score;
	char	**options;
	size_t	 noptions;
};

struct vsummary {
	enum rspamd_action action;
	double		 score;
	double		 required_score;
	struct vsymbol	*sym;
	size_t		 nsym;
};

/* verdict_summary - parse len bytes of JSON; -1 with err as verdict_parse. */
int		 verdict_summary(const char *json, size_t len,
		    struct vsummary *out, char *err, size_t errlen);
void		 vsummary_free(struct vsummary *);

/*
 * A reply to write, as an in-process scanner's answer in Rspamd's shape
 * (so that the same parse and plan apply it): the summary, an SMTP text
 * (may be NULL), header fields to add at the top (value may hold LF for
 * folding) and names whose every occurrence is removed first.
 */
struct vreply {
	const struct vsummary	*v;
	const char		*smtp_message;
	const char *const	*add_names;
	const char *const	*add_values;
	size_t			 nadd;
	const char *const	*remove;
	size_t			 nremove;
	const char		*subject;	/* new Subject, or NULL */
};

/*
 * verdict_reply_json - the reply as JSON text (caller frees), len set;
 * NULL if it cannot be written (out of memory).  Bytes of strings that are
 * not valid UTF-8 are written as '?'.
 */
char		*verdict_reply_json(const struct vreply *, size_t *len);

/* The milter's final answer for a message. */
enum plan_final {
	PLAN_ACCEPT,
	PLAN_REJECT,
	PLAN_TEMPFAIL,
	PLAN_DISCARD
};

enum mod_type {
	MOD_ADDHDR,		/* name, value: append */
	MOD_INSHDR,		/* idx, name, value: insert at idx */
	MOD_CHGHDR,		/* name, idx, value (NULL deletes) */
	MOD_CHGFROM,		/* value */
	MOD_ADDRCPT,		/* value */
	MOD_DELRCPT,		/* value */
	MOD_QUARANTINE		/* value: reason */
};

struct mod {
	enum mod_type	 type;
	char		*name;
	char		*value;
	int		 idx;
};

struct plan {
	enum plan_final	 final;
	char		 rcode[4];	/* "554", "451"; empty for accept */
	char		 xcode[8];	/* "5.7.1" */
	char		*text;		/* reply text, control chars removed */
	struct mod	*mods;
	size_t		 nmods;
	const char	*label;		/* for the log: "reject", "add header" */
};

struct plan_opts {
	const char	*reject_message;
	const char	*tempfail_message;
	const char	*spam_header;
	const char	*spam_header_value;
	int		 discard_on_reject;
	int		 quarantine_on_reject;
	int		 greylist_tempfail;	/* else accept, as Rspamd does */
	int		 leadspc;	/* prefix added header values with ' ' */
	/*
	 * Occurrences of a header in the message (name NULL: all headers),
	 * for remove positions and negative insert orders.
	 */
	size_t		(*count)(void *arg, const char *name);
	void		*count_arg;
};

/* verdict_plan - decide; the plan is independent of v afterwards. */
void		 verdict_plan(const struct verdict *v, const struct plan_opts *,
		    struct plan *out);
/* plan_reply - set a final answer with code, extended code and text. */
void		 plan_reply(struct plan *, enum plan_final, const char *rcode,
		    const char *xcode, const char *text);
/* plan_add_mod - append one modification; strings are copied. */
void		 plan_add_mod(struct plan *, enum mod_type, const char *name,
		    int idx, const char *value);
void		 plan_free(struct plan *);
const char	*plan_final_name(enum plan_final);

#endif
