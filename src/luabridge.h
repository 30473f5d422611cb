/*
 * luabridge - every use of Lua 5.3 in the daemon: a contained interpreter
 * ("box") and the calls made into it.  Today that is the compare script of
 * mirroring: a chunk that returns a function, called once per mirrored
 * message with every scanner's result.
 *
 * Containment, so that no script can hurt mail flow:
 *   - errors are caught (lua_pcall) and returned as text;
 *   - an instruction budget and a wall-clock budget per call: past either,
 *     every further instruction raises "runaway script" until the call
 *     unwinds, so even a script that catches errors with pcall cannot
 *     loop forever;
 *   - a memory ceiling on the whole state (the allocator refuses past it);
 *   - garbage collection runs under a protected call with its own budget,
 *     and no table may get a __gc metamethod (a finalizer would run
 *     outside any protected call);
 *   - libraries: base (load takes text only; no dofile, loadfile), string
 *     (no dump), table, math, utf8, io (files: no popen, no stdin), and os
 *     without exit, execute, remove, rename, setlocale, tmpname;
 *   - the registered rules and the task's methods are kept in the registry,
 *     where scripts cannot change them.
 * Limit: the budgets are checked between VM instructions, so one long C
 * call (a backtracking string.match over a large text) runs to its end;
 * rules see at most 2 KB of a header value for that reason, and a rule
 * that overran is logged.
 * The script API is a table "scanmilter" with log_debug, log_info and
 * log_warn(text); each line carries the message's queue id.
 *
 * Threads: a box is used by one thread at a time (the compare thread owns
 * its boxes); boxes share nothing.
 */
#ifndef SCANMILTER_LUABRIDGE_H
#define SCANMILTER_LUABRIDGE_H

#include <stddef.h>

struct vsummary;
struct lbox;

struct lbox_limits {
	unsigned long	 max_instructions;	/* per call */
	double		 max_seconds;		/* per call */
	size_t		 max_memory;		/* whole state, bytes */
};

/*
 * lbox_new - a box that has loaded script: Lua source, or the path of a
 * file if it ends in ".lua".  The chunk must return a function, which
 * becomes the box's entry point.  NULL with err (file, line and reason
 * from Lua) if it cannot be loaded, fails, or returns something else.
 */
struct lbox	*lbox_new(const char *script, const struct lbox_limits *,
		    char *err, size_t errlen);
void		 lbox_free(struct lbox *);

/* One scanner's part of a compare: a parsed result or an error. */
struct cmp_result {
	const char		*name;		/* "main" or the mirror's name */
	const char		*upstream;	/* host that answered, or NULL */
	const char		*error;		/* NULL when v is set */
	const struct vsummary	*v;
	double			 ms;		/* time to the answer */
};

/* What the script learns about the message itself. */
struct cmp_msg {
	const char	*qid;
	const char	*from;
	size_t		 size;
};

/*
 * lbox_compare - call the entry point as f(results, msg): results is a
 * table keyed by name, each { upstream, time_ms, error } or { upstream,
 * time_ms, action, score, required_score, symbols = { NAME = { score,
 * options = {...} } } }; msg is { qid, from, size }.  -1 with err when the
 * script fails or is stopped.
 */
int		 lbox_compare(struct lbox *, const struct cmp_msg *,
		    const struct cmp_result *, size_t n, char *err,
		    size_t errlen);

/* ---- self-scan rules ------------------------------------------------ */

struct mime_msg;

/* A rule source: a file name for messages, and its text. */
struct lrule_src {
	const char	*name;
	const char	*text;
};

/*
 * What the rules are told at load time: the allow/deny list files (empty:
 * none), as scanmilter.config.allow_ips etc.
 */
struct lrule_conf {
	const char	*allow_ips, *deny_ips;
	const char	*allow_senders, *deny_senders;
};

/*
 * lbox_rules_new - a box with the rule engine: the built-in sources, then
 * every *.lua file of dir (if not empty) in name order.  A rule file calls
 * rule { name = ..., score = ..., description = ..., check = function(task)
 * ... end [, action = "reject", message = "..."] } for each rule; check
 * returns false/nil (no hit), true, true and a table of options, or a
 * number (the hit's score, instead of score).  A hit of a rule with an
 * action forces that action (as Rspamd's GTUBE does).  NULL with err
 * (file:line: reason) if a file does not load.
 */
struct lbox	*lbox_rules_new(const struct lrule_src *builtin, size_t nbuiltin,
		    const char *dir, const struct lrule_conf *,
		    const struct lbox_limits *, char *err, size_t errlen);

/* One rule that hit. */
struct rule_hit {
	char		*name;
	double		 score;
	char		**options;
	size_t		 noptions;
	char		*action;	/* forced action, or NULL */
	char		*message;	/* its SMTP text, or NULL */
};

/* What the task object shows the rules. */
struct rule_input {
	const char		*qid, *from, *ip, *helo, *hostname, *user;
	char *const		*rcpts;
	size_t			 nrcpts;
	const struct mime_msg	*mime;
	size_t			 size;
};

/*
 * lbox_rules_run - run every rule on the message; each rule gets its own
 * budget (the box's limits), and a rule that fails or runs away is logged
 * and counts as no hit.  *hits (freed with rule_hits_free) gets the hits in
 * rule order; returns the number of rules that failed, or -1 if the task
 * itself could not be built (the state is out of memory): then there is
 * no verdict.
 */
int		 lbox_rules_run(struct lbox *, const struct rule_input *,
		    struct rule_hit **hits, size_t *nhits);
void		 rule_hits_free(struct rule_hit *, size_t);
/* lbox_rules_count - rules registered. */
size_t		 lbox_rules_count(struct lbox *);

#endif
