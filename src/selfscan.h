/*
 * selfscan - the in-process scanner, for a group with self_scan = true:
 * the message is parsed (mime.c), the Lua rules run on it (luabridge.c),
 * their hits are scored against the selfscan action thresholds, and the
 * result is written as an Rspamd reply (verdict_reply_json), so the same
 * verdict code applies it as any scanner's.
 *
 * Rules: the built-in set (lua/rules, compiled in) unless
 * selfscan.builtin_rules is false, then every *.lua of selfscan.rules_dir.
 * They are loaded once per Lua state; states are pooled per config (a
 * reload builds new ones, old ones are freed when given back), so a
 * message never waits for rules to load and never shares a state with
 * another thread.
 *
 * Threads: milter threads (selfscan_run); selfscan_check from config
 * loading (any thread).
 */
#ifndef SCANMILTER_SELFSCAN_H
#define SCANMILTER_SELFSCAN_H

#include <stddef.h>

#include "luabridge.h"

struct blob;
struct config;

extern const struct lrule_src selfscan_builtin_rules[];
extern const size_t selfscan_builtin_count;

/*
 * selfscan_check - load cfg's rules once in a scratch state; -1 with err
 * (file:line: reason) if they do not load.  For config loading (-t).
 */
int	 selfscan_check(const struct config *, char *err, size_t errlen);

/*
 * selfscan_run - scan the message in blob (its first selfscan.max_size
 * bytes) with the facts in in (in->mime is filled here).  Returns the
 * reply JSON (caller frees) and its length, or NULL with err when no
 * verdict can be had: no state could be made, the message cannot be read
 * back, the task could not be built, or every rule failed on it.  One
 * failing rule among others counts as no hit (and is logged).
 */
char	*selfscan_run(struct config *, struct rule_input *in,
	    const struct blob *, size_t *len, char *err, size_t errlen);

#endif
