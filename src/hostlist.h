/*
 * hostlist - parse an upstream list in Rspamd's syntax.
 *
 *   [strategy:]host[:port[:weight]][, host...]
 *
 * strategy is one of round-robin, master-slave, random, hash, sequential
 * (default round-robin).  host is a name, an IPv4 address, an IPv6 address
 * in brackets ("[::1]:11333"), or an absolute path to a unix socket
 * ("/run/rspamd/normal.sock", optionally ":weight" after it is not allowed:
 * paths may contain colons only in brackets, which nobody does).  Entries
 * are separated by commas, semicolons or blanks.  port defaults to 11333,
 * weight to 1.
 *
 * Pure; thread: any.  The list owns its strings.
 */
#ifndef SCANMILTER_HOSTLIST_H
#define SCANMILTER_HOSTLIST_H

#include <stddef.h>
#include <sys/un.h>

enum hostlist_strategy {
	HOSTLIST_ROUND_ROBIN,
	HOSTLIST_MASTER_SLAVE,
	HOSTLIST_RANDOM,
	HOSTLIST_HASH,
	HOSTLIST_SEQUENTIAL
};

struct host {
	char	*name;		/* host name, address without brackets, or path */
	int	 port;		/* 0 for unix sockets */
	int	 weight;
	int	 is_unix;
	int	 is_ipv6;
	char	*label;		/* "name:port" or path, for logs */
};

struct hostlist {
	enum hostlist_strategy	 strategy;
	struct host		*hosts;
	size_t			 nhosts;
};

#define HOSTLIST_DEFAULT_PORT	11333
/* The longest path a unix socket takes (sun_path less its NUL): 107. */
#define HOSTLIST_UNIX_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/*
 * hostlist_parse - parse text into a new list.  On error returns NULL and
 * writes a one-line reason into err (errlen bytes).
 */
struct hostlist	*hostlist_parse(const char *text, char *err, size_t errlen);
void		 hostlist_free(struct hostlist *);
const char	*hostlist_strategy_name(enum hostlist_strategy);

#endif
