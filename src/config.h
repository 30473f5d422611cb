/*
 * config - the daemon's configuration: a key table drives libconfig parsing,
 * validation and the error messages; a parsed config is immutable and
 * reference counted.
 *
 * Every key the daemon reads is a row of one table in config.c (name, type,
 * default, range, one-line doc).  Unknown keys are errors.  Errors name the
 * file, the line and the option: "FILE:LINE: option 'scan.timeout': ...".
 *
 * Threads: config_load*() may be called from any thread and touches no
 * shared state.  config_current() / config_publish() hand the live snapshot
 * between threads under a short mutex; readers keep their reference for as
 * long as they use it (milter threads: one message), so a reload never
 * changes a config under a message.
 */
#ifndef SCANMILTER_CONFIG_H
#define SCANMILTER_CONFIG_H

#include <stddef.h>

#include "hostlist.h"
#include "wire.h"

/* What the milter answers when it has no verdict (or for policy cases). */
enum fallback {
	FALLBACK_ACCEPT,
	FALLBACK_TEMPFAIL,
	FALLBACK_REJECT,
	FALLBACK_DISCARD,
	FALLBACK_QUARANTINE
};

/* One named upstream group ("upstreams { NAME { ... } }"). */
struct group_conf {
	char		*name;
	char		*hosts;		/* as written */
	struct hostlist	*hostlist;	/* parsed */
	double		 timeout;	/* per attempt, seconds */
	double		 connect_timeout;
	int		 max_retries;
	/* health, see upstream.h */
	int		 max_errors;
	double		 error_time;
	double		 revive_time;
	double		 check_interval;	/* 0: no active checks */
	int		 hash_key;		/* enum group_hash_key */
	/* on the wire (wire.h) */
	char		*key;		/* server public key, as written */
	int		 encrypted_only;
	struct wire_opts wire;		/* compression; peer made from key */
	int		 self_scan;	/* scan in process (selfscan.h) */
	/* mirrors only */
	double		 probability;
	int		 max_inflight;
	char		*mirror_name;	/* as written; name is "mirror:NAME" */
};

enum group_hash_key { HASH_KEY_IP, HASH_KEY_FROM };

struct config {
	char		*source;	/* file name, or "(embedded default)" */
	/* milter and daemon */
	char		*socket;
	int		 umask;
	int		 backlog;
	double		 milter_timeout;
	int		 milter_buffered;	/* milterio read-ahead, held writes */
	char		*user;
	char		*group;
	char		*pidfile;
	int		 batch_sched;		/* SCHED_BATCH for every thread */
	/* logging */
	int		 log_syslog;
	char		*log_facility;
	int		 log_level;
	/* per-message limits */
	size_t		 max_size;
	size_t		 spill_size;
	size_t		 max_header_size;
	int		 max_rcpts;
	char		*tmpdir;
	int		 max_queue;
	/* scanning and failure policy */
	double		 scan_timeout;
	char		*scan_group;
	double		 stats_interval;
	int		 on_failure;		/* enum fallback */
	char		*failure_message;	/* "4xx x.y.z text" or text */
	int		 on_oversize;		/* enum fallback */
	char		*oversize_message;
	/* verdict */
	char		*reject_message;
	char		*tempfail_message;
	char		*spam_header;
	char		*spam_header_value;
	int		 greylist_tempfail;	/* verdict.on_greylist */
	int		 discard_on_reject;
	int		 quarantine_on_reject;
	/* upstream groups */
	struct group_conf *groups;
	size_t		 ngroups;
	/* mirrors ("mirrors { NAME { ... } }") and their compare script */
	struct group_conf *mirrors;
	size_t		 nmirrors;
	/* self-scan ("selfscan { ... }") */
	int		 ss_builtin;
	char		*ss_rules_dir;
	double		 ss_reject, ss_add_header, ss_rewrite_subject;
	double		 ss_greylist;
	char		*ss_allow_ips, *ss_deny_ips;
	char		*ss_allow_senders, *ss_deny_senders;
	int		 ss_max_instructions;
	double		 ss_timeout;
	size_t		 ss_max_memory;
	size_t		 ss_max_size;
	char		*compare_script;
	int		 compare_max_instructions;
	double		 compare_timeout;
	size_t		 compare_max_memory;
	int		 compare_max_queue;
	/* private */
	int		 refs;
};

/* The embedded default configuration text (generated from conf/default.conf). */
extern const char config_default_text[];

/*
 * config_load_file, config_load_string - parse and validate.  On error return
 * NULL and write "FILE:LINE: ..." into err.  The result has one reference.
 */
struct config	*config_load_file(const char *path, char *err, size_t errlen);
struct config	*config_load_string(const char *text, const char *name,
		    char *err, size_t errlen);

/* group_hash_key - what a hash: group hashes on, of these message facts. */
const char *group_hash_key(const struct group_conf *, const char *ip,
    const char *from);
/* config_group - the group of that name, NULL if none. */
const struct group_conf *config_group(const struct config *, const char *);

/* config_acquire, config_release - reference counting; release(NULL) ok. */
struct config	*config_acquire(struct config *);
void		 config_release(struct config *);

/* config_publish - make cfg the live config (takes the caller's ref). */
void		 config_publish(struct config *);
/* config_current - a new reference to the live config. */
struct config	*config_current(void);

const char	*fallback_name(int);
/*
 * config_doc - every key, one line each: path, type (or the choices),
 * default, and its one-line doc, tab-separated (for -K and the manual).
 * A mirror takes every upstreams.NAME key too.
 */
void		 config_doc(void (*out)(const char *));
/* config_dump - print every key with its effective value (for -d). */
void		 config_dump(const struct config *, void (*out)(const char *));

#endif
