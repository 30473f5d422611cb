/*
 * rspamd.c - Rspamd request headers from milter facts; see rspamd.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rspamd.h"
#include "session.h"
#include "xalloc.h"

#define VALUE_MAX	2048	/* longest header value we pass on */

void
strlist_add(struct strlist *l, char *owned)
{
	l->v = xgrow(l->v, l->n, sizeof(char *));
	l->v[l->n++] = owned;
}

void
strlist_addf(struct strlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("");
	va_end(ap);
	strlist_add(l, s);
}

void
strlist_copy(struct strlist *dst, const struct strlist *src)
{
	for (size_t i = 0; i < src->n; i++)
		strlist_add(dst, xstrdup(src->v[i]));
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * Rspamd request header <- milter macros, first one present wins (Postfix
 * names first, then Sendmail's).  The facts that come as callback arguments
 * (IP, Hostname, Helo, From, Rcpt) are added by rspamd_request_headers()
 * itself, with the macros as fallback.
 */
static const struct macro_map {
	const char	*header;
	const char	*macros[4];
} macro_map[] = {
	{ RSPAMD_HDR_QUEUE_ID,		{ "{i}", "i", NULL } },
	{ RSPAMD_HDR_MTA_NAME,		{ "{daemon_name}", "{j}", "j", NULL } },
	{ RSPAMD_HDR_USER,		{ "{auth_authen}", NULL } },
	{ RSPAMD_HDR_USER_AGENT,	{ "{v}", "v", NULL } },
	{ RSPAMD_HDR_MAILER,		{ "{rcpt_mailer}", NULL } },
	{ RSPAMD_HDR_TLS_VERSION,	{ "{tls_version}", NULL } },
	{ RSPAMD_HDR_TLS_CIPHER,	{ "{cipher}", NULL } },
	{ RSPAMD_HDR_TLS_ISSUER,	{ "{cert_issuer}", NULL } },
};

const struct rspamd_macro rspamd_macros[] = {
	{ "{daemon_name}", MACRO_CONNECT }, { "{j}", MACRO_CONNECT },
	{ "j", MACRO_CONNECT }, { "{v}", MACRO_CONNECT }, { "v", MACRO_CONNECT },
	{ "{client_addr}", MACRO_CONNECT }, { "{client_name}", MACRO_CONNECT },
	{ "{tls_version}", MACRO_HELO }, { "{cipher}", MACRO_HELO },
	{ "{cert_issuer}", MACRO_HELO },
	{ "{i}", MACRO_MAIL }, { "i", MACRO_MAIL }, { "{auth_authen}", MACRO_MAIL },
	{ "{rcpt_mailer}", MACRO_RCPT },
	{ NULL, MACRO_CONNECT }
};

/*
 * add_clean - "Name: value" with control bytes as '?' and length capped:
 * one allocation and no printf, as this runs a dozen times a message.
 */
static void
add_clean(struct strlist *out, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strnlen(value, VALUE_MAX);
	char *line = xmalloc(nl + 2 + vl + 1), *v = line + nl + 2;

	memcpy(line, name, nl);
	memcpy(line + nl, ": ", 2);
	copy_printable(v, value, vl, '?');
	strlist_add(out, line);
}

/* add_macros - the table-driven part. */
static void
add_macros(const struct conn *c, struct strlist *out)
{
	for (size_t i = 0; i < sizeof(macro_map) / sizeof(*macro_map); i++) {
		const struct macro_map *m = &macro_map[i];

		for (size_t j = 0; m->macros[j] != NULL; j++) {
			const char *v = session_macro(c, m->macros[j]);

			if (v != NULL && *v != '\0') {
				add_clean(out, m->header, v);
				break;
			}
		}
	}
}

/*
 * hostname_known - is this a client name worth sending?  MTAs say "unknown"
 * (Postfix) or "[1.2.3.4]" (Sendmail) when reverse DNS gave none.
 */
static int
hostname_known(const char *h)
{
	return h != NULL && *h != '\0' && *h != '[' && strcmp(h, "unknown") != 0;
}

void
rspamd_request_headers(const struct conn *c, struct strlist *out)
{
	const struct msg *m = c->msg;
	const char *ip = c->addr, *host = c->hostname;

	if (ip == NULL)
		ip = session_macro(c, "{client_addr}");
	if (!hostname_known(host))
		host = session_macro(c, "{client_name}");
	if (ip != NULL && *ip != '\0')
		add_clean(out, RSPAMD_HDR_IP, ip);
	if (hostname_known(host))
		add_clean(out, RSPAMD_HDR_HOSTNAME, host);
	if (c->helo != NULL && *c->helo != '\0')
		add_clean(out, RSPAMD_HDR_HELO, c->helo);
	if (m != NULL) {
		if (m->from != NULL)
			add_clean(out, RSPAMD_HDR_FROM, m->from);
		for (size_t i = 0; i < m->nrcpts; i++)
			add_clean(out, RSPAMD_HDR_RCPT, m->rcpts[i]);
	}
	add_macros(c, out);
	/* As Rspamd's own milter does: the scanner knows a milter asks. */
	strlist_add(out, xstrdup(RSPAMD_HDR_MILTER ": Yes"));
}
