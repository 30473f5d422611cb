/*
 * hostlist.c - Rspamd-style upstream list parser; see hostlist.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "xalloc.h"

static const char *strategy_names[] = {
	[HOSTLIST_ROUND_ROBIN] = "round-robin",
	[HOSTLIST_MASTER_SLAVE] = "master-slave",
	[HOSTLIST_RANDOM] = "random",
	[HOSTLIST_HASH] = "hash",
	[HOSTLIST_SEQUENTIAL] = "sequential",
};

const char *
hostlist_strategy_name(enum hostlist_strategy s)
{
	return strategy_names[s];
}

/* The longest name DNS allows. */
#define HOST_NAME_MAX_LEN	253

/* strategy_hint - append "(or unknown strategy 'NAME': the known ones)". */
static void
strategy_hint(const char *name, char *err, size_t errlen)
{
	size_t n = sizeof(strategy_names) / sizeof(*strategy_names);

	snprintf(err + strlen(err), errlen - strlen(err), " (or unknown "
	    "strategy '%s':", name);
	for (size_t i = 0; i < n; i++)
		snprintf(err + strlen(err), errlen - strlen(err), " %s%s",
		    strategy_names[i], i + 1 < n ? "," : ")");
}

/* parse_num - decimal in [lo, hi]; -1 if not. */
static long
parse_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	if (*s == '\0' || !isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

/* parse_port_weight - ":port[:weight]" tail (or empty) into h. */
static int
parse_port_weight(const char *tail, struct host *h, char *err, size_t errlen)
{
	char port[16] = "", weight[16] = "";
	const char *c2;

	if (*tail == '\0')
		return 0;
	if (*tail != ':')
		goto bad;
	tail++;
	c2 = strchr(tail, ':');
	if (c2 == NULL) {
		if (strlen(tail) >= sizeof(port))
			goto bad;
		strcpy(port, tail);
	} else {
		if ((size_t)(c2 - tail) >= sizeof(port) ||
		    strlen(c2 + 1) >= sizeof(weight))
			goto bad;
		memcpy(port, tail, c2 - tail);
		port[c2 - tail] = '\0';
		strcpy(weight, c2 + 1);
	}
	if ((h->port = (int)parse_num(port, 1, 65535)) == -1) {
		snprintf(err, errlen, "bad port '%s' for host '%s'", port,
		    h->name);
		/* "foo:h:1": more likely a misspelt strategy than a port. */
		if (isalpha((unsigned char)*port) &&
		    strspn(h->name, "abcdefghijklmnopqrstuvwxyz-") ==
		    strlen(h->name))
			strategy_hint(h->name, err, errlen);
		return -1;
	}
	/* Weight 0 would mean a member some strategies never pick and
	 * others pick first: refused rather than given a meaning. */
	if (*weight != '\0' &&
	    (h->weight = (int)parse_num(weight, 1, 1000000)) == -1) {
		snprintf(err, errlen, "bad weight '%s' for host '%s' "
		    "(1 to 1000000)", weight, h->name);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "cannot parse '%s' after host '%s'", tail,
	    h->name);
	return -1;
}

/* parse_entry - one "host[:port[:weight]]" into h. */
static int
parse_entry(const char *e, struct host *h, char *err, size_t errlen)
{
	const char *tail;

	h->port = HOSTLIST_DEFAULT_PORT;
	h->weight = 1;
	if (e[0] == '/') {
		if (strlen(e) > HOSTLIST_UNIX_PATH_MAX) {
			snprintf(err, errlen, "unix socket path longer than "
			    "%zu bytes: '%.40s...'", HOSTLIST_UNIX_PATH_MAX, e);
			return -1;
		}
		h->is_unix = 1;
		h->port = 0;
		h->name = xstrdup(e);
		h->label = xstrdup(e);
		return 0;
	}
	if (e[0] == '[') {
		const char *close = strchr(e, ']');

		if (close == NULL) {
			snprintf(err, errlen, "unterminated IPv6 address '%s'",
			    e);
			return -1;
		}
		if (close == e + 1) {
			snprintf(err, errlen, "empty IPv6 address in '%s'", e);
			return -1;
		}
		h->is_ipv6 = 1;
		h->name = xstrndup(e + 1, close - e - 1);
		tail = close + 1;
	} else {
		size_t n = strcspn(e, ":");

		if (n == 0) {
			snprintf(err, errlen, "empty host name in '%s'", e);
			return -1;
		}
		h->name = xstrndup(e, n);
		tail = e + n;
	}
	if (strlen(h->name) > HOST_NAME_MAX_LEN) {
		snprintf(err, errlen, "host name longer than %d bytes: "
		    "'%.40s...'", HOST_NAME_MAX_LEN, h->name);
		return -1;
	}
	for (const char *p = h->name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr(".-_:", *p) == NULL) {
			snprintf(err, errlen, "bad character in host '%s'",
			    h->name);
			return -1;
		}
	}
	if (parse_port_weight(tail, h, err, errlen) == -1)
		return -1;
	h->label = xasprintf(h->is_ipv6 ? "[%s]:%d" : "%s:%d", h->name,
	    h->port);
	return 0;
}

/* parse_strategy - strip a "strategy:" prefix; default round-robin. */
static const char *
parse_strategy(const char *text, enum hostlist_strategy *s)
{
	for (size_t i = 0; i < sizeof(strategy_names) / sizeof(*strategy_names);
	    i++) {
		size_t n = strlen(strategy_names[i]);

		if (strncmp(text, strategy_names[i], n) == 0 && text[n] == ':') {
			*s = (enum hostlist_strategy)i;
			return text + n + 1;
		}
	}
	*s = HOSTLIST_ROUND_ROBIN;
	return text;
}

struct hostlist *
hostlist_parse(const char *text, char *err, size_t errlen)
{
	struct hostlist *hl = xcalloc(1, sizeof(*hl));
	const char *p = parse_strategy(text, &hl->strategy);

	while (*p != '\0') {
		size_t n;
		char *entry;
		struct host *h;

		p += strspn(p, ",; \t\n");
		if (*p == '\0')
			break;
		n = strcspn(p, ",; \t\n");
		entry = xstrndup(p, n);
		p += n;
		hl->hosts = xgrow(hl->hosts, hl->nhosts, sizeof(*hl->hosts));
		h = &hl->hosts[hl->nhosts++];
		memset(h, 0, sizeof(*h));
		if (parse_entry(entry, h, err, errlen) == -1) {
			free(entry);
			hostlist_free(hl);
			return NULL;
		}
		free(entry);
	}
	if (hl->nhosts == 0) {
		snprintf(err, errlen, "no hosts given");
		hostlist_free(hl);
		return NULL;
	}
	return hl;
}

void
hostlist_free(struct hostlist *hl)
{
	if (hl == NULL)
		return;
	for (size_t i = 0; i < hl->nhosts; i++) {
		free(hl->hosts[i].name);
		free(hl->hosts[i].label);
	}
	free(hl->hosts);
	free(hl);
}
