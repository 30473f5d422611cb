/*
 * luabridge.c - contained Lua states and the calls into them; see
 * luabridge.h.  The only file that includes the Lua headers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "luabridge.h"
#include "mime.h"
#include "verdict.h"
#include "xalloc.h"

#define HOOK_EVERY	1000	/* instructions between budget checks */
#define HEADER_VALUE_MAX 2048	/* bytes of a header value rules see */

struct lbox {
	lua_State		*L;
	struct lbox_limits	 lim;
	size_t			 used;		/* bytes the state holds */
	/* the call under way */
	unsigned long		 hooks;
	int			 over;		/* budget spent: raise at once */
	double			 deadline;	/* monotonic seconds */
	const char		*qid;
	const char		*who;		/* "compare", "self-scan": logs */
	int			 entry;		/* registry ref of the function */
	/* rule boxes: the registered rules, out of the scripts' reach */
	int			 rules;		/* registry ref of the array */
	size_t			 nrules;
	char			**names;	/* their names, for the log */
	int			 task_mt;	/* registry ref: task methods */
};

/*
 * Run after the standard libraries in every box: what a script could use
 * to get out of its budgets or crash the VM goes.  Binary chunks (load,
 * string.dump) can crash the VM; a __gc metamethod runs at collection
 * time, outside any protected call; popen and reading stdin block or run
 * programs.
 */
static const char harden[] =
"local ld, smt, rawget, type, error = load, setmetatable, rawget, type, error\n"
"load = function(chunk, name, mode, env) return ld(chunk, name, 't', env) end\n"
"setmetatable = function(t, mt)\n"
"  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
"    error('__gc metamethods are not allowed', 2) end\n"
"  return smt(t, mt)\n"
"end\n"
"dofile, loadfile, string.dump = nil, nil, nil\n"
"io.popen, io.read, io.lines, io.input, io.output, io.stdin = nil, nil, nil, nil, nil, nil\n";

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
		log_debug("%s: %s: %s", qid, b->who, s);
	else if (level == 1)
		log_info("%s: %s: %s", qid, b->who, s);
	else
		log_warnx("%s: %s: %s", qid, b->who, s);
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

/* gc_step - lua_CFunction: collect (arg true) or one step, protected. */
static int
gc_step(lua_State *L)
{
	lua_gc(L, lua_toboolean(L, 1) ? LUA_GCCOLLECT : LUA_GCSTEP, 0);
	return 0;
}

static void call_begin(struct lbox *, const char *);

/*
 * collect - give back memory between calls, under a protected call with
 * a fresh budget: a finalizer is script code too.
 */
static void
collect(struct lbox *b, int full)
{
	call_begin(b, NULL);
	lua_settop(b->L, 0);
	lua_pushcfunction(b->L, gc_step);
	lua_pushboolean(b->L, full);
	if (lua_pcall(b->L, 1, 0, 0) != LUA_OK)
		log_warnx("Lua: error while collecting garbage: %s",
		    lua_tostring(b->L, -1));
	lua_settop(b->L, 0);
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

/*
 * load_file - luaL_loadfilex for a regular file only: Lua's fopen of a
 * FIFO would wait for a writer for ever (in -t, or a reload).  The error
 * is left on the stack, as Lua's would be.
 */
static int
load_file(lua_State *L, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		lua_pushfstring(L, "cannot open %s: not a regular file", path);
		return LUA_ERRFILE;
	}
	return luaL_loadfilex(L, path, "t");
}

/* box_create - a state with the libraries and budgets; NULL with err. */
static struct lbox *
box_create(const char *who, const struct lbox_limits *lim, char *err,
    size_t errlen)
{
	struct lbox *b = xcalloc(1, sizeof(*b));

	b->who = who;
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
	if (luaL_loadbufferx(b->L, harden, strlen(harden), "=harden", "t") !=
	    LUA_OK || lua_pcall(b->L, 0, 0, 0) != LUA_OK) {
		snprintf(err, errlen, "cannot prepare a Lua state: %s",
		    lua_tostring(b->L, -1));
		lbox_free(b);
		return NULL;
	}
	return b;
}

struct lbox *
lbox_new(const char *script, const struct lbox_limits *lim, char *err,
    size_t errlen)
{
	struct lbox *b = box_create("compare", lim, err, errlen);
	int rc;

	if (b == NULL)
		return NULL;
	/* Source text only: precompiled chunks can crash the VM. */
	if (ends_with(script, ".lua"))
		rc = load_file(b->L, script);
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
	for (size_t i = 0; i < b->nrules; i++)
		free(b->names[i]);
	free(b->names);
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
	collect(b, 1);
	return rc == LUA_OK ? 0 : -1;
}

/* ---- self-scan rules ------------------------------------------------ */

/*
 * The rule engine's Lua side, run before any rule file: rule{} registers,
 * the task's methods, and list helpers.  Kept in Lua because that is what
 * rule writers read.
 */
static const char rules_prelude[] =
"-- The registered rules: copies the scripts cannot reach (the chunk\n"
"-- returns the array to C, which keeps it in the registry).\n"
"local rules, seen = {}, {}\n"
"local function opt_string(r, k)\n"
"  local v = rawget(r, k)\n"
"  if v ~= nil and type(v) ~= 'string' then\n"
"    error('rule ' .. r.name .. ': ' .. k .. ' must be a string', 3) end\n"
"  return v\n"
"end\n"
"function rule(r)\n"
"  if type(r) ~= 'table' then error('rule { ... } expects a table', 2) end\n"
"  local name = rawget(r, 'name')\n"
"  if type(name) ~= 'string' or not name:match('^[%w_]+$') then\n"
"    error('a rule name is letters, digits and _', 2) end\n"
"  if type(rawget(r, 'check')) ~= 'function' then\n"
"    error('rule ' .. name .. ': check must be a function', 2) end\n"
"  if seen[name] then error('rule ' .. name .. ' defined twice', 2) end\n"
"  seen[name] = true\n"
"  rules[#rules + 1] = { name = name, check = rawget(r, 'check'),\n"
"    score = tonumber(rawget(r, 'score')) or 0,\n"
"    action = opt_string(r, 'action'), message = opt_string(r, 'message') }\n"
"end\n"
"local Task = {}\n"
"Task.__index = Task\n"
"-- getmetatable(task) must not hand a rule the methods of every task.\n"
"Task.__metatable = false\n"
"function Task:header(n) local l = self.headers[n:lower()] return l and l[1] end\n"
"function Task:header_all(n) return self.headers[n:lower()] or {} end\n"
"function Task:header_count(n) return #(self.headers[n:lower()] or {}) end\n"

"return rules, Task\n";

/* parse_ip - text to 16 bytes (IPv4 mapped), family in *v4. */
static int
parse_ip(const char *s, uint8_t out[16], int *v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET6, s, out) == 1) {
		*v4 = 0;
		return 0;
	}
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = 1;
		return 0;
	}
	return -1;
}

/* A network of an IP list; addresses are IPv4-mapped IPv6. */
struct ipnet {
	uint8_t	a[16];
	int	bits;		/* prefix length over the 128 bits */
};

#define IPLIST_MT	"scanmilter.iplist"

/* parse_net - "addr" or "addr/len" into n; -1 if it is neither. */
static int
parse_net(const char *s, struct ipnet *n)
{
	const char *slash = strchr(s, '/');
	char addr[64];
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int v4;

	if (len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (parse_ip(addr, n->a, &v4) == -1)
		return -1;
	n->bits = v4 ? 32 : 128;
	if (slash != NULL) {
		char *end;
		long b = strtol(slash + 1, &end, 10);

		if (*end != '\0' || end == slash + 1 || b < 0 || b > n->bits)
			return -1;
		n->bits = (int)b;
	}
	n->bits += v4 ? 96 : 0;
	return 0;
}

/* net_has - is address a inside n. */
static int
net_has(const struct ipnet *n, const uint8_t a[16])
{
	int bits = n->bits;

	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8) {
		uint8_t mask = (uint8_t)(0xff00 >> (bits >= 8 ? 8 : bits));

		if ((a[i] & mask) != (n->a[i] & mask))
			return 0;
	}
	return 1;
}

/*
 * api_ip_list - scanmilter.ip_list(set): the set's addresses and networks
 * parsed once, when the rules load, so a message costs one parse of its
 * client address.  Entries that are neither are left out with a warning.
 */
static int
api_ip_list(lua_State *L)
{
	size_t n = 0, i = 0, *count;
	struct ipnet *nets;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		n++;
		lua_pop(L, 1);
	}
	count = lua_newuserdata(L, sizeof(size_t) + (n > 0 ? n : 1) *
	    sizeof(struct ipnet));
	nets = (struct ipnet *)(count + 1);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		const char *e = lua_type(L, -2) == LUA_TSTRING ?
		    lua_tostring(L, -2) : "";

		if (parse_net(e, &nets[i]) == 0)
			i++;
		else
			log_warnx("self-scan: IP list: '%s' is not an address "
			    "or network, left out", e);
		lua_pop(L, 1);
	}
	*count = i;
	luaL_setmetatable(L, IPLIST_MT);
	return 1;
}

/* api_ip_in - scanmilter.ip_in(list, ip): ip is in one of its networks. */
static int
api_ip_in(lua_State *L)
{
	size_t *count = luaL_checkudata(L, 1, IPLIST_MT);
	const struct ipnet *nets = (const struct ipnet *)(count + 1);
	const char *ip = luaL_optstring(L, 2, "");
	uint8_t a[16];
	int v4, in = 0;

	if (parse_ip(ip, a, &v4) == 0)
		for (size_t i = 0; i < *count && !in; i++)
			in = net_has(&nets[i], a);
	lua_pushboolean(L, in);
	return 1;
}

/* run_chunk - load (file or text) and run one chunk with a fresh budget. */
static int
run_chunk(struct lbox *b, const char *name, const char *text, char *err,
    size_t errlen)
{
	int rc;

	call_begin(b, NULL);
	rc = text != NULL ? luaL_loadbufferx(b->L, text, strlen(text), name,
	    "t") : load_file(b->L, name);
	if (rc == LUA_OK)
		rc = lua_pcall(b->L, 0, 0, 0);
	if (rc != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(b->L, -1));
		lua_settop(b->L, 0);
		return -1;
	}
	return 0;
}

/* name_cmp - qsort of file names. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* load_dir - every *.lua of dir, in name order. */
static int
load_dir(struct lbox *b, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0;
	int rc = 0;

	if (d == NULL) {
		snprintf(err, errlen, "cannot open rules directory %s", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 4 && strcmp(e->d_name + len - 4, ".lua") == 0 &&
		    e->d_name[0] != '.') {
			names = xgrow(names, n, sizeof(*names));
			names[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && run_chunk(b, path, NULL, err, errlen) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/* A list file larger than this reads as empty (with a warning). */
#define LIST_MAX	(64 * 1024 * 1024)

/* list_add - one line of a list: cut at '#', trimmed, lower case. */
static void
list_add(lua_State *L, char *p, size_t n)
{
	char *hash = memchr(p, '#', n);

	if (hash != NULL)
		n = (size_t)(hash - p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	lua_pushlstring(L, p, n);
	lua_pushboolean(L, 1);
	lua_rawset(L, -3);
}

/*
 * api_read_list - scanmilter.read_list(path): the set of the file's
 * lines, lower case, without blanks and # comments; an empty set, and a
 * warning, if it cannot be read.
 *
 * In C, not with Lua's io.open: a rules state is made on a session
 * thread whenever the pool has none (selfscan.c), and io.open of a FIFO
 * put where the list was would hold that message until the MTA gave up.
 * The file is opened only as a regular one (fd_open_regular), and read
 * into Lua's own memory, so a memory error in the state leaks nothing.
 */
static int
api_read_list(lua_State *L)
{
	const char *path = luaL_optstring(L, 1, "");
	char why[256], *text;
	struct stat st;
	size_t size;
	ssize_t n;
	int fd;

	lua_newtable(L);
	if (path[0] == '\0')
		return 1;
	/* The size first, so that the buffer (which may raise) comes before
	 * anything is open. */
	if (stat(path, &st) == -1) {
		log_warnx("self-scan: list %s: %s", path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LIST_MAX) {
		log_warnx("self-scan: list %s: %s", path, S_ISREG(st.st_mode) ?
		    "larger than 64 MiB" : "not a regular file");
		return 1;
	}
	size = (size_t)st.st_size;
	text = lua_newuserdata(L, size + 1);
	if ((fd = fd_open_regular(path, NULL, why, sizeof(why))) == -1) {
		log_warnx("self-scan: list %s: %s", path, why);
		lua_pop(L, 1);
		return 1;
	}
	if ((n = fd_read_full(fd, text, size)) == -1) {
		log_warnx("self-scan: list %s: %s", path, strerror(errno));
		close(fd);
		lua_pop(L, 1);
		return 1;
	}
	close(fd);
	size = (size_t)n;
	lua_insert(L, -2);	/* the set on top, the text under it */
	for (size_t i = 0, start = 0; i <= size; i++)
		if (i == size || text[i] == '\n') {
			list_add(L, text + start, i - start);
			start = i + 1;
		}
	lua_remove(L, -2);
	return 1;
}

/* set_conf - scanmilter.config = { allow_ips = ..., ... }. */
static void
set_conf(lua_State *L, const struct lrule_conf *c)
{
	lua_getglobal(L, "scanmilter");
	lua_createtable(L, 0, 4);
	lua_pushstring(L, c->allow_ips);
	lua_setfield(L, -2, "allow_ips");
	lua_pushstring(L, c->deny_ips);
	lua_setfield(L, -2, "deny_ips");
	lua_pushstring(L, c->allow_senders);
	lua_setfield(L, -2, "allow_senders");
	lua_pushstring(L, c->deny_senders);
	lua_setfield(L, -2, "deny_senders");
	lua_setfield(L, -2, "config");
	lua_pushcfunction(L, api_ip_list);
	lua_setfield(L, -2, "ip_list");
	lua_pushcfunction(L, api_ip_in);
	lua_setfield(L, -2, "ip_in");
	lua_pushcfunction(L, api_read_list);
	lua_setfield(L, -2, "read_list");
	lua_pop(L, 1);
	luaL_newmetatable(L, IPLIST_MT);
	lua_pop(L, 1);
}

/*
 * take_names - lua_CFunction under pcall: count the registered rules and
 * keep their names in C (the log must not need Lua to say which failed).
 */
static int
take_names(lua_State *L)
{
	struct lbox *b = lua_touserdata(L, 1);
	size_t n;

	lua_rawgeti(L, LUA_REGISTRYINDEX, b->rules);
	n = lua_rawlen(L, -1);
	b->names = xcalloc(n > 0 ? n : 1, sizeof(char *));
	for (size_t i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i);
		lua_getfield(L, -1, "name");
		b->names[i - 1] = xstrdup(lua_tostring(L, -1));
		b->nrules = i;
		lua_pop(L, 2);
	}
	return 0;
}

struct lbox *
lbox_rules_new(const struct lrule_src *builtin, size_t nbuiltin,
    const char *dir, const struct lrule_conf *conf,
    const struct lbox_limits *lim, char *err, size_t errlen)
{
	struct lbox *b = box_create("self-scan", lim, err, errlen);
	char name[300];

	if (b == NULL)
		return NULL;
	set_conf(b->L, conf);
	call_begin(b, NULL);
	if (luaL_loadbufferx(b->L, rules_prelude, strlen(rules_prelude),
	    "=rules prelude", "t") != LUA_OK ||
	    lua_pcall(b->L, 0, 2, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(b->L, -1));
		goto fail;
	}
	b->task_mt = luaL_ref(b->L, LUA_REGISTRYINDEX);
	b->rules = luaL_ref(b->L, LUA_REGISTRYINDEX);
	for (size_t i = 0; i < nbuiltin; i++) {
		snprintf(name, sizeof(name), "=%s", builtin[i].name);
		if (run_chunk(b, name, builtin[i].text, err, errlen) == -1)
			goto fail;
	}
	if (dir != NULL && dir[0] != '\0' && load_dir(b, dir, err, errlen) == -1)
		goto fail;
	call_begin(b, NULL);
	lua_pushcfunction(b->L, take_names);
	lua_pushlightuserdata(b->L, b);
	if (lua_pcall(b->L, 1, 0, 0) != LUA_OK) {
		snprintf(err, errlen, "%s", lua_tostring(b->L, -1));
		goto fail;
	}
	return b;
fail:
	lbox_free(b);
	return NULL;
}

size_t
lbox_rules_count(struct lbox *b)
{
	return b->nrules;
}

/* set_str - t[k] = v, if v is not NULL. */
static void
set_str(lua_State *L, const char *k, const char *v)
{
	if (v == NULL)
		return;
	lua_pushstring(L, v);
	lua_setfield(L, -2, k);
}

/* push_headers - name (lower case) -> { value, ... } in message order. */
static void
push_headers(lua_State *L, const struct mime_msg *m)
{
	char lname[128];

	lua_createtable(L, 0, (int)m->nhdr);
	for (size_t i = 0; i < m->nhdr; i++) {
		size_t j;

		for (j = 0; m->hdr[i].name[j] != '\0' && j + 1 < sizeof(lname);
		    j++)
			lname[j] = (char)(m->hdr[i].name[j] >= 'A' &&
			    m->hdr[i].name[j] <= 'Z' ? m->hdr[i].name[j] + 32 :
			    m->hdr[i].name[j]);
		lname[j] = '\0';
		if (lua_getfield(L, -1, lname) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			lua_pushvalue(L, -1);
			lua_setfield(L, -3, lname);
		}
		/* Capped: a pattern's backtracking on a huge value runs in
		 * C, where the instruction budget cannot stop it. */
		lua_pushlstring(L, m->hdr[i].value, strnlen(m->hdr[i].value,
		    HEADER_VALUE_MAX));
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		lua_pop(L, 1);
	}
}

/* push_parts - { { type, charset, filename, attachment, size, text } }. */
static void
push_parts(lua_State *L, const struct mime_msg *m)
{
	lua_createtable(L, (int)m->nparts, 0);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];

		lua_createtable(L, 0, 6);
		set_str(L, "type", p->type);
		set_str(L, "charset", p->charset);
		set_str(L, "filename", p->filename);
		lua_pushboolean(L, p->attachment);
		lua_setfield(L, -2, "attachment");
		lua_pushinteger(L, (lua_Integer)p->size);
		lua_setfield(L, -2, "size");
		if (p->text != NULL) {
			lua_pushlstring(L, p->text, p->text_len);
			lua_setfield(L, -2, "text");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

/* build_task - lua_CFunction under pcall: the task table, returned. */
static int
build_task(lua_State *L)
{
	const struct rule_input *in = lua_touserdata(L, 1);
	struct lbox *b = box_of(L);

	lua_settop(L, 0);
	lua_createtable(L, 0, 16);
	set_str(L, "qid", in->qid);
	set_str(L, "from", in->from);
	set_str(L, "ip", in->ip);
	set_str(L, "helo", in->helo);
	set_str(L, "hostname", in->hostname);
	set_str(L, "user", in->user);
	lua_pushinteger(L, (lua_Integer)in->size);
	lua_setfield(L, -2, "size");
	lua_createtable(L, (int)in->nrcpts, 0);
	for (size_t i = 0; i < in->nrcpts; i++) {
		lua_pushstring(L, in->rcpts[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "rcpts");
	push_headers(L, in->mime);
	lua_setfield(L, -2, "headers");
	push_parts(L, in->mime);
	lua_setfield(L, -2, "parts");
	lua_pushboolean(L, in->mime->truncated);
	lua_setfield(L, -2, "mime_truncated");
	lua_rawgeti(L, LUA_REGISTRYINDEX, b->task_mt);
	lua_setmetatable(L, -2);
	return 1;
}

/* rawfield - t[k] without metamethods (t at index idx), pushed. */
static int
rawfield(lua_State *L, int idx, const char *k)
{
	lua_pushstring(L, k);
	return lua_rawget(L, idx < 0 ? idx - 1 : idx);
}

/* dup_value - a copy of a string or number at idx, NULL otherwise; never
 * converts in place (which would allocate inside Lua). */
static char *
dup_value(lua_State *L, int idx)
{
	char num[64];

	if (lua_type(L, idx) == LUA_TSTRING)
		return xstrndup(lua_tostring(L, idx), 256);
	if (lua_type(L, idx) == LUA_TNUMBER) {
		snprintf(num, sizeof(num), "%.14g", lua_tonumber(L, idx));
		return xstrdup(num);
	}
	return NULL;
}

/*
 * take_hit - the check's nret results (on top) as a hit of the rule whose
 * record is at index rec.  0: no hit.
 */
static int
take_hit(lua_State *L, int rec, int nret, struct rule_hit *h)
{
	int first = lua_gettop(L) - nret + 1;

	if (nret < 1 || !lua_toboolean(L, first))
		return 0;
	rawfield(L, rec, "score");
	h->score = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (lua_type(L, first) == LUA_TNUMBER)
		h->score = lua_tonumber(L, first);
	rawfield(L, rec, "name");
	h->name = dup_value(L, -1);
	lua_pop(L, 1);
	if (nret >= 2 && lua_type(L, first + 1) == LUA_TTABLE) {
		size_t n = lua_rawlen(L, first + 1);

		h->options = xcalloc(n > 0 ? n : 1, sizeof(char *));
		for (size_t i = 1; i <= n && i <= 32; i++) {
			char *o;

			lua_rawgeti(L, first + 1, (lua_Integer)i);
			if ((o = dup_value(L, -1)) != NULL)
				h->options[h->noptions++] = o;
			lua_pop(L, 1);
		}
	}
	rawfield(L, rec, "action");
	h->action = dup_value(L, -1);
	lua_pop(L, 1);
	rawfield(L, rec, "message");
	h->message = dup_value(L, -1);
	lua_pop(L, 1);
	return h->name != NULL;
}

/* What one protected rule run reports back. */
struct rule_call {
	struct rule_hit	*hit;
	int		 found;
};

/*
 * one_rule - lua_CFunction under pcall: (record, task, call) -> run the
 * record's check on the task and take its results, all protected.
 */
static int
one_rule(lua_State *L)
{
	struct rule_call *rc = lua_touserdata(L, 3);

	lua_settop(L, 3);
	rawfield(L, 1, "check");
	lua_pushvalue(L, 2);
	lua_call(L, 1, LUA_MULTRET);
	rc->found = take_hit(L, 1, lua_gettop(L) - 3, rc->hit);
	return 0;
}

/* hit_clear - free what a hit holds and zero it. */
static void
hit_clear(struct rule_hit *h)
{
	free(h->name);
	for (size_t j = 0; j < h->noptions; j++)
		free(h->options[j]);
	free(h->options);
	free(h->action);
	free(h->message);
	memset(h, 0, sizeof(*h));
}

int
lbox_rules_run(struct lbox *b, const struct rule_input *in,
    struct rule_hit **hits, size_t *nhits)
{
	lua_State *L = b->L;
	int failed = 0, task, rules;

	*hits = xcalloc(b->nrules > 0 ? b->nrules : 1, sizeof(**hits));
	*nhits = 0;
	call_begin(b, in->qid);
	lua_settop(L, 0);
	lua_pushcfunction(L, build_task);
	lua_pushlightuserdata(L, (void *)in);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		log_warnx("%s: self-scan: cannot build the task: %s", in->qid,
		    lua_tostring(L, -1));
		lua_settop(L, 0);
		return -1;
	}
	task = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, b->rules);
	rules = lua_gettop(L);
	for (size_t i = 0; i < b->nrules; i++) {
		struct rule_call rc = { &(*hits)[*nhits], 0 };
		double t0 = now_s();

		call_begin(b, in->qid);
		lua_pushcfunction(L, one_rule);
		lua_rawgeti(L, rules, (lua_Integer)i + 1);
		lua_pushvalue(L, task);
		lua_pushlightuserdata(L, &rc);
		if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
			log_warnx("%s: self-scan: rule %s failed: %s", in->qid,
			    b->names[i], lua_tostring(L, -1));
			hit_clear(rc.hit);
			failed++;
		} else if (rc.found) {
			(*nhits)++;
		} else {
			hit_clear(rc.hit);
		}
		/*
		 * The hook counts VM instructions only: one long C call (a
		 * backtracking string.match) can overrun unseen.  Say so.
		 */
		if (now_s() - t0 > b->lim.max_seconds)
			log_warnx("%s: self-scan: rule %s took %.0f ms, over its "
			    "budget of %.0f ms", in->qid, b->names[i],
			    (now_s() - t0) * 1e3, b->lim.max_seconds * 1e3);
		lua_settop(L, rules);
	}
	lua_settop(L, 0);
	b->qid = NULL;
	/* A step, not a full cycle: this runs for every message. */
	collect(b, 0);
	return failed;
}

void
rule_hits_free(struct rule_hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hit_clear(&h[i]);
	free(h);
}
