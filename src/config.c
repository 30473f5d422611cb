/*
 * config.c - key table, libconfig parsing, validation, live snapshot.
 *
 * This is the only file that includes <libconfig.h>.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conflex.h"
#include "confsrc.h"
#include "fdio.h"
#include "httpcrypt.h"
#include "log.h"
#include "luabridge.h"
#include "selfscan.h"
#include "xalloc.h"

enum key_type { T_STR, T_BOOL, T_INT, T_SIZE, T_TIME, T_ENUM, T_MODE, T_REAL };

struct key {
	const char	 *path;		/* dotted, relative to its table's root */
	enum key_type	  type;
	size_t		  off;
	const char	 *def;		/* default, written as in the file */
	double		  min, max;	/* for numbers */
	const char *const *names;	/* for T_ENUM: index is the value */
	const char	 *doc;
};

static const char *const fallback_names[] = {
	"accept", "tempfail", "reject", "discard", "quarantine", NULL
};
static const char *const log_targets[] = { "stderr", "syslog", NULL };
static const char *const greylist_names[] = { "accept", "tempfail", NULL };
static const char *const hash_key_names[] = { "ip", "from", NULL };
static const char *const log_levels[] = {
	"error", "warning", "info", "debug", NULL
};

#define C(f)	offsetof(struct config, f)
#define G(f)	offsetof(struct group_conf, f)
#define KB	1024.0
#define GB	(1024.0 * 1024.0 * 1024.0)

static const struct key config_keys[] = {
	{ "milter.socket", T_STR, C(socket), "inet:11339@127.0.0.1", 0, 0,
	  NULL, "milter socket: unix:/path, inet:port@host, inet6:port@host" },
	{ "milter.umask", T_MODE, C(umask), "0007", 0, 0777, NULL,
	  "umask applied while creating a unix socket" },
	{ "milter.backlog", T_INT, C(backlog), "128", 1, 65535, NULL,
	  "listen(2) backlog of the milter socket" },
	{ "milter.timeout", T_TIME, C(milter_timeout), "300", 1, 86400, NULL,
	  "libmilter I/O timeout talking to the MTA, seconds" },
	{ "milter.buffered_io", T_BOOL, C(milter_buffered), "true", 0, 0, NULL,
	  "read MTA commands ahead, send header changes with the reply, and "
	  "keep a quiet connection on its own thread for up to 10 s (fewer "
	  "system calls and thread switches), and accept a connection only "
	  "once a worker has taken the one before (libmilter's pool can "
	  "otherwise leave one waiting up to 10 s); takes effect at start" },
	{ "daemon.user", T_STR, C(user), "", 0, 0, NULL,
	  "drop privileges to this user after opening the socket" },
	{ "daemon.group", T_STR, C(group), "", 0, 0, NULL,
	  "group to run as (default: the user's primary group)" },
	{ "daemon.pidfile", T_STR, C(pidfile), "", 0, 0, NULL,
	  "write the process id here (empty: none)" },
	{ "daemon.batch_scheduling", T_BOOL, C(batch_sched), "true", 0, 0,
	  NULL, "run every thread under SCHED_BATCH: a thread woken (by the "
	  "MTA, a scanner's reply) waits for the running one's turn to end "
	  "instead of cutting in, which spares context switches on a loaded "
	  "host; same share of the CPU.  The price: when other work keeps "
	  "every CPU busy, each message waits a few milliseconds more "
	  "(false: latency first); takes effect at start" },
	{ "log.target", T_ENUM, C(log_syslog), "stderr", 0, 0, log_targets,
	  "stderr or syslog" },
	{ "log.facility", T_STR, C(log_facility), "mail", 0, 0, NULL,
	  "syslog facility" },
	{ "log.level", T_ENUM, C(log_level), "info", 0, 0, log_levels,
	  "error, warning, info or debug" },
	{ "limits.max_size", T_SIZE, C(max_size), "50M", 1024, 4 * GB, NULL,
	  "largest message scanned (headers + body); larger: on_oversize" },
	{ "limits.spill_size", T_SIZE, C(spill_size), "1M", 4 * KB, 4 * GB,
	  NULL, "bodies larger than this go to a temporary file" },
	{ "limits.max_header_size", T_SIZE, C(max_header_size), "1M", KB,
	  64 * 1024 * KB, NULL, "most header bytes kept for one message" },
	{ "limits.max_rcpts", T_INT, C(max_rcpts), "1000", 1, 1000000, NULL,
	  "recipients passed to the scanner per message" },
	{ "limits.tmpdir", T_STR, C(tmpdir), "/tmp", 0, 0, NULL,
	  "directory for spilled bodies (files are unlinked at once)" },
	{ "limits.max_queue", T_INT, C(max_queue), "1024", 1, 1000000, NULL,
	  "scan jobs waiting for the scan loop; beyond: on_failure at once" },
	{ "scan.timeout", T_TIME, C(scan_timeout), "20", 0.1, 3600, NULL,
	  "overall deadline for one message's scan, retries included" },
	{ "scan.group", T_STR, C(scan_group), "default", 0, 0, NULL,
	  "upstream group that scans messages" },
	{ "scan.stats_interval", T_TIME, C(stats_interval), "300", 0, 86400,
	  NULL, "log every upstream's counters this often; 0: only on "
	  "SIGUSR2" },
	{ "selfscan.builtin_rules", T_BOOL, C(ss_builtin), "true", 0, 0,
	  NULL, "run the built-in rule set (lua/rules, compiled in)" },
	{ "selfscan.rules_dir", T_STR, C(ss_rules_dir), "", 0, 0, NULL,
	  "also run every *.lua rule file of this directory" },
	{ "selfscan.reject", T_REAL, C(ss_reject), "15", 0, 1000, NULL,
	  "score from which to reject (0: never)" },
	{ "selfscan.rewrite_subject", T_REAL, C(ss_rewrite_subject), "0", 0,
	  1000, NULL, "score from which to rewrite the subject (0: never)" },
	{ "selfscan.add_header", T_REAL, C(ss_add_header), "6", 0, 1000, NULL,
	  "score from which to add the spam header (0: never)" },
	{ "selfscan.greylist", T_REAL, C(ss_greylist), "4", 0, 1000, NULL,
	  "score from which the action is greylist (0: never)" },
	{ "selfscan.allow_ips", T_STR, C(ss_allow_ips), "", 0, 0, NULL,
	  "file of client IPs and networks to allow (-20)" },
	{ "selfscan.deny_ips", T_STR, C(ss_deny_ips), "", 0, 0, NULL,
	  "file of client IPs and networks to deny (+20)" },
	{ "selfscan.allow_senders", T_STR, C(ss_allow_senders), "", 0, 0,
	  NULL, "file of sender addresses and domains to allow (-20)" },
	{ "selfscan.deny_senders", T_STR, C(ss_deny_senders), "", 0, 0, NULL,
	  "file of sender addresses and domains to deny (+20)" },
	{ "selfscan.max_instructions", T_INT, C(ss_max_instructions),
	  "1000000", 1000, 2e9, NULL, "Lua instructions per rule and message" },
	{ "selfscan.timeout", T_TIME, C(ss_timeout), "0.5", 0.001, 60, NULL,
	  "wall-clock time per rule and message" },
	{ "selfscan.max_memory", T_SIZE, C(ss_max_memory), "64M", 256 * KB,
	  4 * GB, NULL, "memory of each rules Lua state" },
	{ "selfscan.max_size", T_SIZE, C(ss_max_size), "10M", 4 * KB, 4 * GB,
	  NULL, "bytes of a message the rules see (the rest is not parsed)" },
	{ "compare.script", T_STR, C(compare_script), "", 0, 0, NULL,
	  "Lua compare script for mirrored messages: source, or a file "
	  "path ending in .lua" },
	{ "compare.max_instructions", T_INT, C(compare_max_instructions),
	  "10000000", 1000, 2e9, NULL, "Lua instructions per call" },
	{ "compare.timeout", T_TIME, C(compare_timeout), "1", 0.001, 60,
	  NULL, "wall-clock time per call" },
	{ "compare.max_memory", T_SIZE, C(compare_max_memory), "64M",
	  256 * KB, 4 * GB, NULL, "memory of the compare script's state" },
	{ "compare.max_queue", T_INT, C(compare_max_queue), "1000", 1,
	  1000000, NULL, "mirrored messages waiting for the script; more "
	  "are dropped and counted" },
	{ "scan.on_failure", T_ENUM, C(on_failure), "tempfail", 0, 0,
	  fallback_names, "answer when no verdict can be had, or the MTA "
	  "refuses a change the verdict needs" },
	{ "scan.failure_message", T_STR, C(failure_message),
	  "451 4.7.1 Message scanning temporarily unavailable, try again later",
	  0, 0, NULL, "SMTP reply for on_failure tempfail or reject" },
	{ "scan.on_oversize", T_ENUM, C(on_oversize), "reject", 0, 0,
	  fallback_names, "answer for a message larger than a limit" },
	{ "scan.oversize_message", T_STR, C(oversize_message),
	  "552 5.3.4 Message too big for the content scanner", 0, 0, NULL,
	  "SMTP reply for on_oversize tempfail or reject" },
	{ "verdict.reject_message", T_STR, C(reject_message),
	  "Spam message rejected", 0, 0, NULL,
	  "text of the 554 5.7.1 reply when the scanner has none" },
	{ "verdict.tempfail_message", T_STR, C(tempfail_message),
	  "Try again later", 0, 0, NULL,
	  "text of the 451 4.7.1 reply for soft reject and greylist" },
	{ "verdict.spam_header", T_STR, C(spam_header), "X-Spam", 0, 0, NULL,
	  "header set on action 'add header'" },
	{ "verdict.spam_header_value", T_STR, C(spam_header_value), "Yes", 0,
	  0, NULL, "its value" },
	{ "verdict.on_greylist", T_ENUM, C(greylist_tempfail), "accept", 0, 0,
	  greylist_names, "Rspamd's greylist action: accept (as Rspamd's "
	  "proxy) or tempfail" },
	{ "verdict.discard_on_reject", T_BOOL, C(discard_on_reject), "false",
	  0, 0, NULL, "silently discard instead of rejecting" },
	{ "verdict.quarantine_on_reject", T_BOOL, C(quarantine_on_reject),
	  "false", 0, 0, NULL, "quarantine (Postfix: hold) instead of rejecting" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL }
};

static const struct key group_keys[] = {
	{ "hosts", T_STR, G(hosts), "", 0, 0, NULL,
	  "upstreams in Rspamd syntax: [strategy:]host[:port[:weight]],..." },
	{ "timeout", T_TIME, G(timeout), "10", 0.05, 3600, NULL,
	  "per attempt: connect, send and read the reply" },
	{ "connect_timeout", T_TIME, G(connect_timeout), "2", 0.05, 600, NULL,
	  "TCP or unix connect timeout" },
	{ "max_retries", T_INT, G(max_retries), "2", 0, 100, NULL,
	  "further attempts on another upstream after a failure" },
	{ "max_errors", T_INT, G(max_errors), "4", 1, 1000, NULL,
	  "errors within error_time that mark an upstream dead" },
	{ "error_time", T_TIME, G(error_time), "10", 0.1, 86400, NULL,
	  "window in which errors are counted" },
	{ "revive_time", T_TIME, G(revive_time), "60", 0.1, 86400, NULL,
	  "how long a dead upstream gets no traffic" },
	{ "check_interval", T_TIME, G(check_interval), "10", 0, 86400, NULL,
	  "GET /ping to every upstream this often; 0: no active checks" },
	{ "hash_key", T_ENUM, G(hash_key), "ip", 0, 0, hash_key_names,
	  "what the hash strategy hashes: ip (client) or from (sender)" },
	{ "self_scan", T_BOOL, G(self_scan), "false", 0, 0, NULL,
	  "scan in process with the Lua rules (selfscan.*); no hosts" },
	{ "key", T_STR, G(key), "", 0, 0, NULL,
	  "the scanners' public key (rspamadm keypair): encrypt with "
	  "HTTPCrypt" },
	{ "compression", T_BOOL, G(wire.compress), "false", 0, 0, NULL,
	  "zstd-compress request bodies (replies come back compressed)" },
	{ "encrypted_only", T_BOOL, G(encrypted_only), "false", 0, 0, NULL,
	  "refuse to run this group in the clear: 'key' is then required" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL }
};

/* A mirror is a group plus these (mirror_keys is built from both). */
static const struct key mirror_only_keys[] = {
	{ "probability", T_REAL, G(probability), "1", 0, 1, NULL,
	  "share of messages copied to this mirror, 0 to 1" },
	{ "max_inflight", T_INT, G(max_inflight), "32", 1, 100000, NULL,
	  "copies in flight at most; more are dropped and counted" },
	{ NULL, 0, 0, NULL, 0, 0, NULL, NULL }
};

static struct key mirror_keys[40];

/* A value read from the file or from a default text. */
struct val {
	const char	*str;	/* non-NULL for strings */
	double		 num;
	int		 is_bool;
};

/* parse_scaled - "10M", "500ms", "2m": number with an optional suffix. */
static int
parse_scaled(const char *s, enum key_type t, double *out)
{
	static const struct { const char *sfx; double mul; } sizes[] = {
		{ "", 1 }, { "b", 1 }, { "k", KB }, { "kb", KB },
		{ "m", KB * KB }, { "mb", KB * KB }, { "g", GB }, { "gb", GB },
	}, times[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 },
		{ "min", 60 }, { "h", 3600 },
	};
	char *end;
	double v;
	size_t i, n = t == T_SIZE ? sizeof(sizes) / sizeof(*sizes) :
	    sizeof(times) / sizeof(*times);

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	while (*end == ' ')
		end++;
	for (i = 0; i < n; i++) {
		const char *sfx = t == T_SIZE ? sizes[i].sfx : times[i].sfx;

		if (strcasecmp(end, sfx) == 0) {
			*out = v * (t == T_SIZE ? sizes[i].mul : times[i].mul);
			return 0;
		}
	}
	return -1;
}

/* check_range - is v within the key's bounds; explain if not. */
static int
check_range(const struct key *k, double v, char *why, size_t len)
{
	if (v >= k->min && v <= k->max)
		return 0;
	snprintf(why, len, "value %.15g is out of range [%.15g, %.15g]", v, k->min,
	    k->max);
	return -1;
}

/* assign_enum - store the index of the name v.str. */
static int
assign_enum(const struct key *k, char *base, struct val v, char *why,
    size_t len)
{
	if (v.str != NULL)
		for (int i = 0; k->names[i] != NULL; i++)
			if (strcasecmp(v.str, k->names[i]) == 0) {
				*(int *)(base + k->off) = i;
				return 0;
			}
	snprintf(why, len, "expected one of:");
	for (int i = 0; k->names[i] != NULL; i++) {
		size_t used = strlen(why);

		snprintf(why + used, len - used, " %s", k->names[i]);
	}
	return -1;
}

/* assign_number - T_INT, T_SIZE, T_TIME, T_MODE from a number or text. */
static int
assign_number(const struct key *k, char *base, struct val v, char *why,
    size_t len)
{
	double d = v.num;

	if (v.str != NULL) {
		char *end;

		if (k->type == T_MODE) {
			d = (double)strtol(v.str, &end, 8);
			if (*v.str == '\0' || *end != '\0') {
				snprintf(why, len, "expected an octal mode");
				return -1;
			}
		} else if (k->type == T_REAL) {
			d = strtod(v.str, &end);
			if (*v.str == '\0' || *end != '\0') {
				snprintf(why, len, "expected a number");
				return -1;
			}
		} else if (k->type == T_INT) {
			d = (double)strtol(v.str, &end, 10);
			if (*v.str == '\0' || *end != '\0') {
				snprintf(why, len, "expected an integer");
				return -1;
			}
		} else if (parse_scaled(v.str, k->type, &d) == -1) {
			snprintf(why, len, k->type == T_SIZE ?
			    "expected a size such as 1048576, \"512K\", \"10M\"" :
			    k->type == T_TIME ?
			    "expected seconds such as 15, 2.5, \"500ms\"" :
			    "expected an integer");
			return -1;
		}
	} else if (v.is_bool) {
		snprintf(why, len, "expected a number, not a boolean");
		return -1;
	}
	if (k->type == T_INT && d != floor(d)) {
		snprintf(why, len, "expected an integer");
		return -1;
	}
	if (check_range(k, d, why, len) == -1)
		return -1;
	if (k->type == T_SIZE)
		*(size_t *)(base + k->off) = (size_t)d;
	else if (k->type == T_TIME || k->type == T_REAL)
		*(double *)(base + k->off) = d;
	else
		*(int *)(base + k->off) = (int)d;
	return 0;
}

/* assign - store v into base according to k; why explains a failure. */
static int
assign(const struct key *k, char *base, struct val v, char *why, size_t len)
{
	switch (k->type) {
	case T_STR:
		if (v.str == NULL) {
			snprintf(why, len, "expected a string in quotes");
			return -1;
		}
		free(*(char **)(base + k->off));
		*(char **)(base + k->off) = xstrdup(v.str);
		return 0;
	case T_BOOL:
		if (!v.is_bool) {
			snprintf(why, len, "expected true or false");
			return -1;
		}
		*(int *)(base + k->off) = v.num != 0;
		return 0;
	case T_ENUM:
		return assign_enum(k, base, v, why, len);
	default:
		return assign_number(k, base, v, why, len);
	}
}

/* default_val - a key's default text as a value. */
static struct val
default_val(const struct key *k)
{
	struct val v = { NULL, 0, 0 };

	if (k->type == T_BOOL) {
		v.is_bool = 1;
		v.num = strcmp(k->def, "true") == 0;
	} else {
		v.str = k->def;
	}
	return v;
}

/* setting_val - a libconfig scalar as a value; -1 for groups and lists. */
static int
setting_val(const config_setting_t *s, struct val *v)
{
	v->str = NULL;
	v->num = 0;
	v->is_bool = 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		v->str = config_setting_get_string(s);
		return 0;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v->num = (double)config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		v->num = config_setting_get_float(s);
		return 0;
	case CONFIG_TYPE_BOOL:
		v->is_bool = 1;
		v->num = config_setting_get_bool(s);
		return 0;
	default:
		return -1;
	}
}

/* Parse state: where errors go. */
struct pstate {
	const char	*file;
	char		*err;
	size_t		 errlen;
	struct confsrc	*src;		/* NULL: lines are file's own */
};

/* where - the file and line that line of what libconfig read came from. */
static void
where(const struct pstate *ps, int line, const char **file, int *fline)
{
	if (ps->src != NULL) {
		confsrc_where(ps->src, line, file, fline);
	} else {
		*file = ps->file;
		*fline = line;
	}
}

/* perr - "FILE:LINE: option 'PATH': WHY" into the error buffer. */
static int
perr(struct pstate *ps, const config_setting_t *s, const char *path,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;
	const char *file = ps->file;
	int line = 0;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s != NULL && config_setting_source_line(s) > 0)
		where(ps, config_setting_source_line(s), &file, &line);
	if (line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: option '%s': %s",
		    file, line, path, why);
	else
		snprintf(ps->err, ps->errlen, "%s: option '%s': %s",
		    file, path, why);
	return -1;
}

/* apply_table - defaults, then values found under root, for one table. */
static int
apply_table(struct pstate *ps, const struct key *keys, char *base,
    const config_setting_t *root, const char *prefix)
{
	char why[256];

	for (const struct key *k = keys; k->path != NULL; k++) {
		const config_setting_t *s;
		struct val v = default_val(k);

		if (assign(k, base, v, why, sizeof(why)) == -1)
			log_err("built-in default of %s: %s", k->path, why);
		s = root ? config_setting_lookup((config_setting_t *)root,
		    k->path) : NULL;
		if (s == NULL)
			continue;
		if (setting_val(s, &v) == -1)
			return perr(ps, s, k->path, "expected a value, "
			    "not a group or list");
		if (assign(k, base, v, why, sizeof(why)) == -1)
			return perr(ps, s, prefix[0] ? prefix : k->path, "%s",
			    why);
	}
	return 0;
}

/* key_known - is the dotted path a key of the table. */
static int
key_known(const struct key *keys, const char *path)
{
	for (const struct key *k = keys; k->path != NULL; k++)
		if (strcmp(k->path, path) == 0)
			return 1;
	return 0;
}

/* key_is_section - is path a prefix "section" of some key. */
static int
key_is_section(const struct key *keys, const char *path)
{
	size_t n = strlen(path);

	for (const struct key *k = keys; k->path != NULL; k++)
		if (strncmp(k->path, path, n) == 0 && k->path[n] == '.')
			return 1;
	return 0;
}

/* check_unknown - every setting under s must be a key (or section). */
static int
check_unknown(struct pstate *ps, const struct key *keys,
    const config_setting_t *s, const char *prefix, const char *shown)
{
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		config_setting_t *c = config_setting_get_elem(s, i);
		const char *name = config_setting_name(c);
		char path[256], full[512];

		if (name == NULL)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    prefix[0] ? "." : "", name);
		snprintf(full, sizeof(full), "%s%s%s", shown,
		    shown[0] ? "." : "", path);
		if ((strcmp(path, "upstreams") == 0 ||
		    strcmp(path, "mirrors") == 0) && keys == config_keys)
			continue;
		if (key_is_section(keys, path)) {
			if (!config_setting_is_group(c))
				return perr(ps, c, full, "expected a group "
				    "{ ... }");
			if (check_unknown(ps, keys, c, path, shown) == -1)
				return -1;
			continue;
		}
		if (!key_known(keys, path))
			return perr(ps, c, full, "unknown option");
	}
	return 0;
}

/*
 * load_wire - the key, checked and turned into a session with a fresh key
 * pair of ours: one per config load, so each reload rotates it.
 * (compression is read straight into wire.compress by the key table.)
 */
static int
load_wire(struct pstate *ps, struct group_conf *g, config_setting_t *s,
    const char *prefix)
{
	char path[300], err[256];
	uint8_t pk[HC_KEY_BYTES];

	if (g->key[0] == '\0') {
		if (!g->encrypted_only)
			return 0;
		snprintf(path, sizeof(path), "%s.encrypted_only", prefix);
		return perr(ps, config_setting_lookup(s, "encrypted_only"),
		    path, "is set, but the group has no 'key'");
	}
	snprintf(path, sizeof(path), "%s.key", prefix);
	if (hc_pubkey_parse(g->key, pk, err, sizeof(err)) == -1)
		return perr(ps, config_setting_lookup(s, "key"), path, "%s",
		    err);
	if ((g->wire.peer = hc_peer_new(pk, NULL)) == NULL)
		return perr(ps, config_setting_lookup(s, "key"), path,
		    "not a usable Curve25519 public key");
	return 0;
}

/*
 * A group's name goes into every log line about its upstreams and into
 * option paths in messages; past this it would be cut there.
 */
#define GROUP_NAME_MAX	64

/* load_group - one "upstreams.NAME" group. */
static int
load_group(struct pstate *ps, struct group_conf *g, config_setting_t *s,
    const char *section, const struct key *keys)
{
	char prefix[256], err[256];
	size_t namelen = strlen(config_setting_name(s));

	if (namelen > GROUP_NAME_MAX)
		return perr(ps, s, section, "the group name '%.24s...' is %zu "
		    "characters long; at most %d", config_setting_name(s),
		    namelen, GROUP_NAME_MAX);
	snprintf(prefix, sizeof(prefix), "%s.%s", section,
	    config_setting_name(s));
	if (keys == mirror_keys) {
		/* Its own namespace in the loop's registry and in logs. */
		g->mirror_name = xstrdup(config_setting_name(s));
		g->name = xasprintf("mirror:%s", g->mirror_name);
	} else {
		g->name = xstrdup(config_setting_name(s));
	}
	if (!config_setting_is_group(s))
		return perr(ps, s, prefix, "expected a group { ... }");
	if (check_unknown(ps, keys, s, "", prefix) == -1)
		return -1;
	if (apply_table(ps, keys, (char *)g, s, "") == -1) {
		/* Reword the path to the full one. */
		char *colon = strstr(ps->err, "option '");

		if (colon != NULL) {
			char tail[600];

			snprintf(tail, sizeof(tail), "%s", colon + 8);
			snprintf(colon, ps->errlen - (colon - ps->err),
			    "option '%s.%s", prefix, tail);
		}
		return -1;
	}
	if (g->self_scan) {
		if (keys == mirror_keys)
			return perr(ps, config_setting_lookup(s, "self_scan"),
			    prefix, "a mirror cannot be self_scan");
		if (g->hosts[0] != '\0')
			return perr(ps, config_setting_lookup(s, "hosts"),
			    prefix, "self_scan and hosts exclude each other");
		return 0;
	}
	if (g->hosts[0] == '\0')
		return perr(ps, s, prefix, "'hosts' is required");
	g->hostlist = hostlist_parse(g->hosts, err, sizeof(err));
	if (g->hostlist == NULL)
	{
		char hp[300];

		snprintf(hp, sizeof(hp), "%s.hosts", prefix);
		return perr(ps, config_setting_lookup(s, "hosts"), hp, "%s",
		    err);
	}
	return load_wire(ps, g, s, prefix);
}

/* mirror_keys - group_keys followed by mirror_only_keys, built once. */
static void
mirror_keys_build(void)
{
	size_t n = 0;

	/* Both tables and the terminator fit, or the array is too short. */
	for (const struct key *k = group_keys; k->path != NULL; k++) {
		assert(n + 1 < sizeof(mirror_keys) / sizeof(*mirror_keys));
		mirror_keys[n++] = *k;
	}
	for (const struct key *k = mirror_only_keys; k->path != NULL; k++) {
		assert(n + 1 < sizeof(mirror_keys) / sizeof(*mirror_keys));
		mirror_keys[n++] = *k;
	}
	for (struct key *k = mirror_keys; k->path != NULL; k++)
		if (strcmp(k->path, "max_retries") == 0)
			k->def = "0";	/* a copy is not worth a second try */
}

/* load_mirrors - every group under "mirrors" (none is fine). */
static int
load_mirrors(struct pstate *ps, struct config *cfg, config_t *lc)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	config_setting_t *ms = config_lookup(lc, "mirrors");
	int n;

	pthread_once(&once, mirror_keys_build);
	if (ms == NULL)
		return 0;
	if (!config_setting_is_group(ms))
		return perr(ps, ms, "mirrors", "expected a group { ... }");
	n = config_setting_length(ms);
	cfg->mirrors = xcalloc(n > 0 ? n : 1, sizeof(*cfg->mirrors));
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(ms, i);

		cfg->nmirrors++;
		if (load_group(ps, &cfg->mirrors[i], s, "mirrors",
		    mirror_keys) == -1)
			return -1;
		if (strcmp(cfg->mirrors[i].mirror_name, "main") == 0)
			return perr(ps, s, "mirrors.main", "'main' is the "
			    "name of the main scan's result; choose another");
	}
	return 0;
}

/*
 * load_compare - the compare script is loaded once here, in a box of its
 * own, so that a script that does not compile or does not return a
 * function is a configuration error, not a surprise at the first message.
 */
static int
load_compare(struct pstate *ps, struct config *cfg, config_t *lc)
{
	struct lbox_limits lim = {
		(unsigned long)cfg->compare_max_instructions,
		cfg->compare_timeout, cfg->compare_max_memory
	};
	char err[512];
	struct lbox *b;

	if (cfg->compare_script[0] == '\0')
		return 0;
	if ((b = lbox_new(cfg->compare_script, &lim, err, sizeof(err))) ==
	    NULL)
		return perr(ps, config_lookup(lc, "compare.script"),
		    "compare.script", "%s", err);
	lbox_free(b);
	return 0;
}

/* open_regular - fopen(path, "r") for a regular file only (fdio.h). */
static FILE *
open_regular(const char *path, char *why, size_t whylen)
{
	FILE *fp;
	int fd = fd_open_regular(path, NULL, why, whylen);

	if (fd == -1)
		return NULL;
	if ((fp = fdopen(fd, "r")) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
	}
	return fp;
}

/*
 * check_lists - each list file the self-scan rules are given must be a
 * regular file we can read: a deny list that silently reads as empty
 * would pass the mail it was written to stop.
 */
static int
check_lists(struct pstate *ps, const struct config *cfg, config_t *lc)
{
	const struct { const char *name, *path; } lists[] = {
		{ "selfscan.allow_ips", cfg->ss_allow_ips },
		{ "selfscan.deny_ips", cfg->ss_deny_ips },
		{ "selfscan.allow_senders", cfg->ss_allow_senders },
		{ "selfscan.deny_senders", cfg->ss_deny_senders },
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char why[256];
		FILE *fp;

		if (lists[i].path[0] == '\0')
			continue;
		if ((fp = open_regular(lists[i].path, why, sizeof(why))) ==
		    NULL)
			return perr(ps, config_lookup(lc, lists[i].name),
			    lists[i].name, "cannot read the list file '%s': %s",
			    lists[i].path, why);
		fclose(fp);
	}
	return 0;
}

/* load_selfscan - the rules load, if a group scans in process. */
static int
load_selfscan(struct pstate *ps, struct config *cfg, config_t *lc)
{
	char err[512];
	int any = 0;

	for (size_t i = 0; i < cfg->ngroups; i++)
		any |= cfg->groups[i].self_scan;
	if (!any)
		return 0;
	if (check_lists(ps, cfg, lc) == -1)
		return -1;
	if (selfscan_check(cfg, err, sizeof(err)) == 0)
		return 0;
	return perr(ps, config_lookup(lc, "selfscan.rules_dir") != NULL ?
	    config_lookup(lc, "selfscan.rules_dir") :
	    config_lookup(lc, "selfscan"), "selfscan", "%s", err);
}

/* load_groups - every group under "upstreams". */
static int
load_groups(struct pstate *ps, struct config *cfg, config_t *lc)
{
	config_setting_t *ups = config_lookup(lc, "upstreams");
	int n;

	if (ups == NULL)
		return perr(ps, config_root_setting(lc), "upstreams",
		    "at least one upstream group is required");
	if (!config_setting_is_group(ups))
		return perr(ps, ups, "upstreams", "expected a group { ... }");
	n = config_setting_length(ups);
	cfg->groups = xcalloc(n, sizeof(*cfg->groups));
	for (int i = 0; i < n; i++) {
		cfg->ngroups++;
		if (load_group(ps, &cfg->groups[i],
		    config_setting_get_elem(ups, i), "upstreams",
		    group_keys) == -1)
			return -1;
	}
	if (config_group(cfg, cfg->scan_group) == NULL)
		return perr(ps, config_lookup(lc, "scan.group"), "scan.group",
		    "no upstream group named '%s'", cfg->scan_group);
	return 0;
}

/*
 * socket_check - a libmilter socket spec: unix:PATH (or local:), with a
 * path a unix socket can hold, or inet:PORT[@HOST] / inet6:PORT[@HOST]
 * with a port 1-65535 or a service name.  libmilter itself would only
 * fail at start-up, or after a reload at the next restart.
 */
static int
socket_check(const char *spec, char *why, size_t len)
{
	const char *rest = strchr(spec, ':'), *at;
	char service[33];
	size_t plen;

	if (rest != NULL && (strncmp(spec, "unix:", 5) == 0 ||
	    strncmp(spec, "local:", 6) == 0)) {
		if (rest[1] == '\0' ||
		    strlen(rest + 1) > HOSTLIST_UNIX_PATH_MAX) {
			snprintf(why, len, "a unix socket path is 1 to %zu "
			    "bytes, got '%s'", HOSTLIST_UNIX_PATH_MAX, spec);
			return -1;
		}
		return 0;
	}
	if (rest == NULL || (strncmp(spec, "inet:", 5) != 0 &&
	    strncmp(spec, "inet6:", 6) != 0)) {
		snprintf(why, len, "expected unix:/path, inet:port@host or "
		    "inet6:port@host, got '%s'", spec);
		return -1;
	}
	rest++;
	at = strchr(rest, '@');
	plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	if (plen == 0 || plen >= sizeof(service) ||
	    (at != NULL && at[1] == '\0')) {
		snprintf(why, len, "expected %.*sport@host, got '%s'",
		    (int)(rest - spec), spec, spec);
		return -1;
	}
	if (isdigit((unsigned char)rest[0])) {
		char *end;
		long port = strtol(rest, &end, 10);

		if (end != rest + plen || port < 1 || port > 65535) {
			snprintf(why, len, "bad port '%.*s' in '%s' (1 to "
			    "65535)", (int)plen, rest, spec);
			return -1;
		}
	} else {
		/* A service name, as libmilter takes it (/etc/services). */
		snprintf(service, sizeof(service), "%.*s", (int)plen, rest);
		if (getservbyname(service, "tcp") == NULL) {
			snprintf(why, len, "unknown port or service '%s' in "
			    "'%s'", service, spec);
			return -1;
		}
	}
	return 0;
}

/*
 * check_absolute - the paths the daemon opens after it has detached (it
 * works from "/" then) and again on each reload must not depend on the
 * directory it was started in.
 */
static int
check_absolute(struct pstate *ps, const struct config *cfg, config_t *lc)
{
	const char *sock = cfg->socket;
	size_t slen = strlen(cfg->compare_script);
	const struct { const char *name, *path; } paths[] = {
		{ "daemon.pidfile", cfg->pidfile },
		{ "limits.tmpdir", cfg->tmpdir },
		{ "selfscan.rules_dir", cfg->ss_rules_dir },
		{ "selfscan.allow_ips", cfg->ss_allow_ips },
		{ "selfscan.deny_ips", cfg->ss_deny_ips },
		{ "selfscan.allow_senders", cfg->ss_allow_senders },
		{ "selfscan.deny_senders", cfg->ss_deny_senders },
		/* Source text, unless it names a file. */
		{ "compare.script", slen > 4 && strcmp(cfg->compare_script +
		    slen - 4, ".lua") == 0 ? cfg->compare_script : "" },
		{ "milter.socket", strncmp(sock, "unix:", 5) == 0 ? sock + 5 :
		    strncmp(sock, "local:", 6) == 0 ? sock + 6 : "" },
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (paths[i].path[0] != '\0' && paths[i].path[0] != '/')
			return perr(ps, config_lookup(lc, paths[i].name),
			    paths[i].name, "'%s' is not an absolute path: "
			    "scanmilter works from / once it detaches, and "
			    "reads it again on each reload", paths[i].path);
	return 0;
}

/* name_known - does getpwnam_r/getgrnam_r find name?  0 no, 1 yes, -1 if
 * it could not tell (then the start-up says). */
static int
name_known(const char *name, int group)
{
	char buf[16384];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	int rc = group ? getgrnam_r(name, &gr, buf, sizeof(buf), &grp) :
	    getpwnam_r(name, &pw, buf, sizeof(buf), &pwp);

	if (rc != 0 && rc != ENOENT && rc != ESRCH)
		return -1;
	return (group ? grp != NULL : pwp != NULL) ? 1 : 0;
}

/* check_daemon - what the start-up will need of daemon.*, checked now so
 * that -t finds it. */
static int
check_daemon(struct pstate *ps, const struct config *cfg, config_t *lc)
{
	struct stat st;
	char *dir;
	int bad;

	if (cfg->user[0] != '\0' && name_known(cfg->user, 0) == 0)
		return perr(ps, config_lookup(lc, "daemon.user"),
		    "daemon.user", "no such user '%s'", cfg->user);
	if (cfg->group[0] != '\0' && name_known(cfg->group, 1) == 0)
		return perr(ps, config_lookup(lc, "daemon.group"),
		    "daemon.group", "no such group '%s'", cfg->group);
	if (cfg->group[0] != '\0' && cfg->user[0] == '\0')
		return perr(ps, config_lookup(lc, "daemon.group"),
		    "daemon.group", "takes effect only with daemon.user");
	if (cfg->pidfile[0] == '\0')
		return 0;
	if (cfg->pidfile[strlen(cfg->pidfile) - 1] == '/' ||
	    (stat(cfg->pidfile, &st) == 0 && S_ISDIR(st.st_mode)))
		return perr(ps, config_lookup(lc, "daemon.pidfile"),
		    "daemon.pidfile", "'%s' is a directory", cfg->pidfile);
	dir = xstrdup(cfg->pidfile);
	*strrchr(dir, '/') = '\0';	/* absolute: check_absolute */
	bad = stat(dir[0] != '\0' ? dir : "/", &st) == -1 ||
	    !S_ISDIR(st.st_mode);
	if (bad)
		perr(ps, config_lookup(lc, "daemon.pidfile"), "daemon.pidfile",
		    "the directory '%s' does not exist", dir[0] ? dir : "/");
	free(dir);
	return bad ? -1 : 0;
}

/* validate - checks across keys. */
static int
validate(struct pstate *ps, struct config *cfg, config_t *lc)
{
	struct stat st;
	char why[512];

	/* Copies go out beside a scan by upstreams; self-scan sends none. */
	if (cfg->nmirrors > 0 &&
	    config_group(cfg, cfg->scan_group)->self_scan)
		return perr(ps, config_lookup(lc, "mirrors"), "mirrors",
		    "the scan group '%s' is self_scan: mirrors copy scans "
		    "made by upstreams only", cfg->scan_group);
	if (!log_facility_known(cfg->log_facility))
		return perr(ps, config_lookup(lc, "log.facility"),
		    "log.facility", "unknown facility '%s'", cfg->log_facility);
	if (socket_check(cfg->socket, why, sizeof(why)) == -1)
		return perr(ps, config_lookup(lc, "milter.socket"),
		    "milter.socket", "%s", why);
	if (check_daemon(ps, cfg, lc) == -1)
		return -1;
	if (stat(cfg->tmpdir, &st) == -1 || !S_ISDIR(st.st_mode))
		return perr(ps, config_lookup(lc, "limits.tmpdir"),
		    "limits.tmpdir", "'%s' is not a directory", cfg->tmpdir);
	if (cfg->spill_size > cfg->max_size)
		cfg->spill_size = cfg->max_size;
	return 0;
}

/*
 * parse_error - libconfig's error as "FILE:LINE: what", its line mapped
 * back to a file.  Its "duplicate setting name" names no setting: conflex
 * words it from the text libconfig read.
 */
static void
parse_error(config_t *lc, struct pstate *ps, const char *text, size_t len)
{
	const char *file;
	int line;

	where(ps, config_error_line(lc), &file, &line);
	snprintf(ps->err, ps->errlen, "%s:%d: %s", file, line,
	    config_error_text(lc));
	if (strcmp(config_error_text(lc), "duplicate setting name") == 0)
		conflex_duplicate(text, len, ps->file,
		    ps->src != NULL ? confsrc_where : NULL, ps->src,
		    config_error_line(lc), ps->err, ps->errlen);
}

/* config_take - a config from what libconfig read; NULL with the error. */
static struct config *
config_take(struct pstate *ps, config_t *lc, const char *name)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->refs = 1;
	cfg->source = xstrdup(name);
	if (check_unknown(ps, config_keys, config_root_setting(lc), "",
	    "") == -1 ||
	    apply_table(ps, config_keys, (char *)cfg,
	    config_root_setting(lc), "") == -1 ||
	    check_absolute(ps, cfg, lc) == -1 ||
	    load_groups(ps, cfg, lc) == -1 ||
	    load_mirrors(ps, cfg, lc) == -1 ||
	    load_compare(ps, cfg, lc) == -1 ||
	    load_selfscan(ps, cfg, lc) == -1 ||
	    validate(ps, cfg, lc) == -1) {
		config_release(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * config_parse - the loaders' shared tail: libconfig reads text (from src
 * when it is a file's, which maps its lines back to files), then the
 * settings are checked and taken.
 */
static struct config *
config_parse(const char *name, const char *text, size_t len,
    struct confsrc *src, char *err, size_t errlen)
{
	struct pstate ps = { name, err, errlen, src };
	struct config *cfg;
	config_t lc;

	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		parse_error(&lc, &ps, text, len);
		config_destroy(&lc);
		return NULL;
	}
	cfg = config_take(&ps, &lc, name);
	config_destroy(&lc);
	return cfg;
}

/*
 * config_load_file - libconfig reads the file with its @includes already
 * spliced in (confsrc.h: libconfig 1.5 cannot open an absolute @include
 * name), as one string, so no @include reaches it.
 */
struct config *
config_load_file(const char *path, char *err, size_t errlen)
{
	struct confsrc *src;
	struct config *cfg;
	const char *text;
	size_t len;

	if ((src = confsrc_load(path, err, errlen)) == NULL)
		return NULL;
	text = confsrc_text(src, &len);
	cfg = config_parse(path, text, len, src, err, errlen);
	confsrc_free(src);
	return cfg;
}

struct config *
config_load_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	if (conflex_check(text, strlen(text), name, NULL, NULL, err,
	    errlen) == -1)
		return NULL;
	return config_parse(name, text, strlen(text), NULL, err, errlen);
}

const char *
group_hash_key(const struct group_conf *g, const char *ip, const char *from)
{
	return g->hash_key == HASH_KEY_FROM ? from : ip;
}

const struct group_conf *
config_group(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i].name != NULL &&
		    strcmp(cfg->groups[i].name, name) == 0)
			return &cfg->groups[i];
	return NULL;
}

/* free_strings - free every T_STR field a table names. */
static void
free_strings(const struct key *keys, char *base)
{
	for (const struct key *k = keys; k->path != NULL; k++)
		if (k->type == T_STR)
			free(*(char **)(base + k->off));
}

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *config_live;

struct config *
config_acquire(struct config *cfg)
{
	pthread_mutex_lock(&config_lock);
	cfg->refs++;
	pthread_mutex_unlock(&config_lock);
	return cfg;
}

/* group_free - what one upstream group or mirror holds. */
static void
group_free(struct group_conf *g, const struct key *keys)
{
	free_strings(keys, (char *)g);
	free(g->name);
	free(g->mirror_name);
	hostlist_free(g->hostlist);
	hc_peer_free(g->wire.peer);
}

void
config_release(struct config *cfg)
{
	int last;

	if (cfg == NULL)
		return;
	pthread_mutex_lock(&config_lock);
	last = --cfg->refs == 0;
	pthread_mutex_unlock(&config_lock);
	if (!last)
		return;
	for (size_t i = 0; i < cfg->ngroups; i++)
		group_free(&cfg->groups[i], group_keys);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->nmirrors; i++)
		group_free(&cfg->mirrors[i], mirror_keys);
	free(cfg->mirrors);
	free_strings(config_keys, (char *)cfg);
	free(cfg->source);
	free(cfg);
}

void
config_publish(struct config *cfg)
{
	struct config *old;

	pthread_mutex_lock(&config_lock);
	old = config_live;
	config_live = cfg;
	pthread_mutex_unlock(&config_lock);
	config_release(old);
}

struct config *
config_current(void)
{
	struct config *cfg;

	pthread_mutex_lock(&config_lock);
	cfg = config_live;
	if (cfg != NULL)
		cfg->refs++;
	pthread_mutex_unlock(&config_lock);
	return cfg;
}

const char *
fallback_name(int f)
{
	if (f < 0 || f > FALLBACK_QUARANTINE)
		return "?";
	return fallback_names[f];
}

/* format_value - one key's effective value as config text. */
static void
format_value(const struct key *k, const char *base, char *out, size_t len)
{
	switch (k->type) {
	case T_STR:
		snprintf(out, len, "\"%s\"", *(char *const *)(base + k->off));
		break;
	case T_BOOL:
		snprintf(out, len, "%s", *(const int *)(base + k->off) ?
		    "true" : "false");
		break;
	case T_ENUM:
		snprintf(out, len, "\"%s\"",
		    k->names[*(const int *)(base + k->off)]);
		break;
	case T_SIZE:
		snprintf(out, len, "%zu", *(const size_t *)(base + k->off));
		break;
	case T_TIME:
	case T_REAL:
		snprintf(out, len, "%g", *(const double *)(base + k->off));
		break;
	case T_MODE:
		snprintf(out, len, "\"%04o\"", *(const int *)(base + k->off));
		break;
	default:
		snprintf(out, len, "%d", *(const int *)(base + k->off));
	}
}

/* dump_table - "PREFIXpath = value;" for each key of a table. */
static void
dump_table(const struct key *keys, const char *base, const char *prefix,
    void (*out)(const char *))
{
	char line[1024], val[700];

	for (const struct key *k = keys; k->path != NULL; k++) {
		format_value(k, base, val, sizeof(val));
		snprintf(line, sizeof(line), "%s%s = %s;", prefix, k->path, val);
		out(line);
	}
}

void
config_dump(const struct config *cfg, void (*out)(const char *))
{
	char prefix[300];

	dump_table(config_keys, (const char *)cfg, "", out);
	for (size_t i = 0; i < cfg->ngroups; i++) {
		snprintf(prefix, sizeof(prefix), "upstreams.%s.",
		    cfg->groups[i].name);
		dump_table(group_keys, (const char *)&cfg->groups[i], prefix,
		    out);
	}
	for (size_t i = 0; i < cfg->nmirrors; i++) {
		snprintf(prefix, sizeof(prefix), "mirrors.%s.",
		    cfg->mirrors[i].mirror_name);
		dump_table(mirror_keys, (const char *)&cfg->mirrors[i], prefix,
		    out);
	}
}

/* type_name - how the manual names a key's type. */
static const char *
type_name(const struct key *k)
{
	static const char *const names[] = {
		[T_STR] = "string", [T_BOOL] = "boolean", [T_INT] = "integer",
		[T_SIZE] = "size", [T_TIME] = "seconds", [T_ENUM] = "choice",
		[T_MODE] = "octal mode", [T_REAL] = "number",
	};

	return names[k->type];
}

/* doc_table - one line per key of a table, under prefix. */
static void
doc_table(const struct key *keys, const char *prefix,
    void (*out)(const char *))
{
	char line[1024], choices[200];

	for (const struct key *k = keys; k->path != NULL; k++) {
		choices[0] = '\0';
		for (int i = 0; k->names != NULL && k->names[i] != NULL; i++)
			snprintf(choices + strlen(choices), sizeof(choices) -
			    strlen(choices), "%s%s", i ? "|" : "", k->names[i]);
		snprintf(line, sizeof(line), "%s%s\t%s\t%s\t%s\t%s", prefix,
		    k->path, choices[0] ? choices : type_name(k), k->def,
		    k->doc, "");
		out(line);
	}
}

void
config_doc(void (*out)(const char *))
{
	doc_table(config_keys, "", out);
	doc_table(group_keys, "upstreams.NAME.", out);
	doc_table(mirror_only_keys, "mirrors.NAME.", out);
}
