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
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
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
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * Rspamd request header <- milter macros, first one present wins.  The facts
 * that come as callback arguments (IP, Hostname, Helo, From, Rcpt) are not
 * macros and are added by rspamd_request_headers() itself.
 */
static const struct macro_map {
	const char	*header;
	const char	*macros[4];
} macro_map[] = {
	{ "Queue-Id",		{ "{i}", "i", NULL } },
	{ "MTA-Name",		{ "{daemon_name}", "{j}", "j", NULL } },
	{ "User",		{ "{auth_authen}", NULL } },
	{ "TLS-Version",	{ "{tls_version}", NULL } },
	{ "TLS-Cipher",		{ "{cipher}", NULL } },
	{ "TLS-Cert-Issuer",	{ "{cert_issuer}", NULL } },
};

const char *const rspamd_macro_names[] = {
	"{i}", "i", "{daemon_name}", "{j}", "j", "{auth_authen}",
	"{tls_version}", "{cipher}", "{cert_issuer}", "{client_addr}",
	"{client_name}", "{mail_addr}", "{rcpt_addr}", NULL
};

/* add_clean - "Name: value" with control bytes as '?' and length capped. */
static void
add_clean(struct strlist *out, const char *name, const char *value)
{
	size_t n = strnlen(value, VALUE_MAX);
	char *v = xstrndup(value, n);

	for (char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	strlist_addf(out, "%s: %s", name, v);
	free(v);
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

void
rspamd_request_headers(const struct conn *c, struct strlist *out)
{
	const struct msg *m = c->msg;

	if (c->addr != NULL)
		add_clean(out, "IP", c->addr);
	/* "[1.2.3.4]" is the MTA saying it has no name: send none. */
	if (c->hostname != NULL && c->hostname[0] != '[')
		add_clean(out, "Hostname", c->hostname);
	if (c->helo != NULL)
		add_clean(out, "Helo", c->helo);
	if (m != NULL) {
		if (m->from != NULL)
			add_clean(out, "From", m->from);
		for (size_t i = 0; i < m->nrcpts; i++)
			add_clean(out, "Rcpt", m->rcpts[i]);
	}
	add_macros(c, out);
}
