/*
 * luabridge.c - contained Lua states and the calls into them; see
 * luabridge.h.  The only file that includes the Lua headers.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "luabridge.h"
#include "verdict.h"
#include "xalloc.h"

#define HOOK_EVERY	1000	/* instructions between budget checks */

struct lbox {
	lua_State		*L;
	struct lbox_limits	 lim;
	size_t			 used;		/* bytes the state holds */
	/* the call under way */
	unsigned long		 hooks;
	int			 over;		/* budget spent: raise at once */
	double			 deadline;	/* monotonic seconds */
	const char		*qid;
	int			 entry;		/* registry ref of the function */
};

/* now_s - monotonic seconds. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* box_alloc - lua_Alloc that keeps the state under its ceiling. */
static void *
box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lbox *b = ud;
	size_t old = ptr != NULL ? osize : 0;
	void *p;

	if (nsize == 0) {
		free(ptr);
		b->used -= old;
		return NULL;
	}
	if (nsize > old && b->used - old + nsize > b->lim.max_memory)
		return NULL;	/* Lua raises "not enough memory" */
	if ((p = realloc(ptr, nsize)) == NULL)
		return NULL;
	b->used = b->used - old + nsize;
	return p;
}

/* box_of - the box a state belongs to. */
static struct lbox *
box_of(lua_State *L)
{
	void *ud;

	lua_getallocf(L, &ud);
	return ud;
}

/*
 * budget_hook - every HOOK_EVERY instructions: past the budget, raise.
 * A script may catch that error with pcall and loop on; so once over, the
 * hook fires on every instruction: the first one run outside all of the
 * script's pcalls raises past them, and the call ends.
 */
static void
budget_hook(lua_State *L, lua_Debug *ar)
{
	struct lbox *b = box_of(L);
	int over;

	(void)ar;
	b->hooks++;
	over = b->over || b->hooks * HOOK_EVERY > b->lim.max_instructions ||
	    now_s() > b->deadline;
	if (!over)
		return;
	if (!b->over) {
		b->over = 1;
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	}
	{
		/* lua_pushfstring knows no %lu nor precision: format here. */
		char msg[128];

		snprintf(msg, sizeof(msg), "runaway script: over its budget "
		    "of %lu instructions or %.3f s", b->lim.max_instructions,
		    b->lim.max_seconds);
		luaL_error(L, "%s", msg);
	}
}

/* api_log - scanmilter.log_*(text), with the message's queue id. */
static int
api_log(lua_State *L)
{
	struct lbox *b = box_of(L);
	int level = (int)lua_tointeger(L, lua_upvalueindex(1));
	const char *s = luaL_checkstring(L, 1);
	const char *qid = b->qid != NULL ? b->qid : "-";

	if (level == 0)
		log_debug("%s: compare: %s", qid, s);
	else if (level == 1)
		log_info("%s: compare: %s", qid, s);
	else
		log_warnx("%s: compare: %s", qid, s);
	return 0;
}

/* open_libs - the libraries a script may use, and our API. */
static void
open_libs(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{ "_G", luaopen_base }, { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table }, { LUA_MATHLIBNAME,
		luaopen_math }, { LUA_UTF8LIBNAME, luaopen_utf8 },
		{ LUA_IOLIBNAME, luaopen_io }, { LUA_OSLIBNAME, luaopen_os },
		{ NULL, NULL }
	};
	static const char *const os_denied[] = {
		"exit", "execute", "remove", "rename", "setlocale", "tmpname",
		NULL
	};
	static const char *const levels[] = {
		"log_debug", "log_info", "log_warn", NULL
	};

	for (const luaL_Reg *l = libs; l->name != NULL; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	lua_getglobal(L, "os");
	for (int i = 0; os_denied[i] != NULL; i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, os_denied[i]);
	}
	lua_pop(L, 1);
	lua_newtable(L);
	for (int i = 0; levels[i] != NULL; i++) {
		lua_pushinteger(L, i);
		lua_pushcclosure(L, api_log, 1);
		lua_setfield(L, -2, levels[i]);
	}
	lua_setglobal(L, "scanmilter");
}

/* ends_with - does s end in sfx. */
static int
ends_with(const char *s, const char *sfx)
{
	size_t n = strlen(s), m = strlen(sfx);

	return n >= m && strcmp(s + n - m, sfx) == 0;
}

/* call_begin - arm the budgets for one call. */
static void
call_begin(struct lbox *b, const char *qid)
{
	b->hooks = 0;
	b->over = 0;
	b->deadline = now_s() + b->lim.max_seconds;
	lua_sethook(b->L, budget_hook, LUA_MASKCOUNT, HOOK_EVERY);
	b->qid = qid;
}

struct lbox *
lbox_new(const char *script, const struct lbox_limits *lim, char *err,
    size_t errlen)
{
	struct lbox *b = xcalloc(1, sizeof(*b));
	int rc;

	b->lim = *lim;
	b->entry = LUA_NOREF;
	if ((b->L = lua_newstate(box_alloc, b)) == NULL) {
		snprintf(err, errlen, "cannot create a Lua state within %zu "
		    "bytes", lim->max_memory);
		free(b);
		return NULL;
	}
	call_begin(b, NULL);
	open_libs(b->L);
	/* Source text only: precompiled chunks can crash the VM. */
	if (ends_with(script, ".lua"))
		rc = luaL_loadfilex(b->L, script, "t");
	else
		rc = luaL_loadbufferx(b->L, script, strlen(script),
		    "=compare.script", "t");
	if (rc == LUA_OK)
		rc = lua_pcall(b->L, 0, 1, 0);
	if (rc != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(b->L, -1));
		lbox_free(b);
		return NULL;
	}
	if (!lua_isfunction(b->L, -1)) {
		snprintf(err, errlen, "the script must return a function, "
		    "not a %s", luaL_typename(b->L, -1));
		lbox_free(b);
		return NULL;
	}
	b->entry = luaL_ref(b->L, LUA_REGISTRYINDEX);
	return b;
}

void
lbox_free(struct lbox *b)
{
	if (b == NULL)
		return;
	lua_close(b->L);
	free(b);
}

/* push_strings - an array of strings. */
static void
push_strings(lua_State *L, char **v, size_t n)
{
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* push_result - one scanner's table. */
static void
push_result(lua_State *L, const struct cmp_result *r)
{
	lua_newtable(L);
	if (r->upstream != NULL) {
		lua_pushstring(L, r->upstream);
		lua_setfield(L, -2, "upstream");
	}
	lua_pushnumber(L, r->ms);
	lua_setfield(L, -2, "time_ms");
	if (r->v == NULL) {
		lua_pushstring(L, r->error != NULL ? r->error : "no result");
		lua_setfield(L, -2, "error");
		return;
	}
	lua_pushstring(L, rspamd_action_name(r->v->action));
	lua_setfield(L, -2, "action");
	lua_pushnumber(L, r->v->score);
	lua_setfield(L, -2, "score");
	lua_pushnumber(L, r->v->required_score);
	lua_setfield(L, -2, "required_score");
	lua_createtable(L, 0, (int)r->v->nsym);
	for (size_t i = 0; i < r->v->nsym; i++) {
		const struct vsymbol *s = &r->v->sym[i];

		lua_createtable(L, 0, 2);
		lua_pushnumber(L, s->score);
		lua_setfield(L, -2, "score");
		push_strings(L, s->options, s->noptions);
		lua_setfield(L, -2, "options");
		lua_setfield(L, -2, s->name);
	}
	lua_setfield(L, -2, "symbols");
}

/* do_compare - lua_CFunction run under pcall, so that running out of
 * memory while building the arguments is caught too. */
static int
do_compare(lua_State *L)
{
	struct lbox *b = box_of(L);
	const struct cmp_msg *m = lua_touserdata(L, 1);
	const struct cmp_result *r = lua_touserdata(L, 2);
	size_t n = (size_t)lua_tointeger(L, 3);

	lua_settop(L, 0);
	lua_rawgeti(L, LUA_REGISTRYINDEX, b->entry);
	lua_createtable(L, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		push_result(L, &r[i]);
		lua_setfield(L, -2, r[i].name);
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, m->qid);
	lua_setfield(L, -2, "qid");
	lua_pushstring(L, m->from != NULL ? m->from : "");
	lua_setfield(L, -2, "from");
	lua_pushinteger(L, (lua_Integer)m->size);
	lua_setfield(L, -2, "size");
	lua_call(L, 2, 0);
	return 0;
}

int
lbox_compare(struct lbox *b, const struct cmp_msg *m,
    const struct cmp_result *r, size_t n, char *err, size_t errlen)
{
	lua_State *L = b->L;
	int rc;

	call_begin(b, m->qid);
	lua_settop(L, 0);
	lua_pushcfunction(L, do_compare);
	lua_pushlightuserdata(L, (void *)m);
	lua_pushlightuserdata(L, (void *)r);
	lua_pushinteger(L, (lua_Integer)n);
	rc = lua_pcall(L, 3, 0, 0);
	if (rc != LUA_OK) {
		const char *e = lua_tostring(L, -1);

		snprintf(err, errlen, "%s", e != NULL ? e : "error object is "
		    "not a string");
	}
	lua_settop(L, 0);
	b->qid = NULL;
	/* Give back what the call left behind before the next one. */
	lua_gc(L, LUA_GCCOLLECT, 0);
	return rc == LUA_OK ? 0 : -1;
}
