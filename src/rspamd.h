/*
 * rspamd - the request side of Rspamd's HTTP protocol, as pure functions:
 * what the milter learned (struct conn / struct msg) becomes the list of
 * request headers of a POST /checkv2.
 *
 * Macro -> header mapping is one table in rspamd.c: for each Rspamd header,
 * the milter macros to try in order ("{i}" then "i" for Queue-Id ...).
 * Every protocol name is defined once here.
 *
 * Thread: any; nothing is shared.
 */
#ifndef SCANMILTER_RSPAMD_H
#define SCANMILTER_RSPAMD_H

#include <stddef.h>

struct conn;

#define RSPAMD_PATH_CHECK	"/checkv2"
#define RSPAMD_PATH_PING	"/ping"

/* Request headers, spelled as Rspamd's protocol reads them. */
#define RSPAMD_HDR_IP		"IP"
#define RSPAMD_HDR_HOSTNAME	"Hostname"
#define RSPAMD_HDR_HELO		"Helo"
#define RSPAMD_HDR_FROM		"From"
#define RSPAMD_HDR_RCPT		"Rcpt"
#define RSPAMD_HDR_QUEUE_ID	"Queue-Id"
#define RSPAMD_HDR_MTA_NAME	"MTA-Name"
#define RSPAMD_HDR_USER		"User"
#define RSPAMD_HDR_USER_AGENT	"User-Agent"
#define RSPAMD_HDR_MAILER	"Mailer"
#define RSPAMD_HDR_TLS_VERSION	"TLS-Version"
#define RSPAMD_HDR_TLS_CIPHER	"TLS-Cipher"
#define RSPAMD_HDR_TLS_ISSUER	"TLS-Cert-Issuer"
#define RSPAMD_HDR_MILTER	"Milter"

/* A list of owned strings, e.g. "Name: value" request header lines. */
struct strlist {
	char	**v;
	size_t	  n;
};

void	strlist_add(struct strlist *, char *owned);
void	strlist_addf(struct strlist *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* strlist_copy - append copies of src's strings to dst. */
void	strlist_copy(struct strlist *dst, const struct strlist *src);
void	strlist_free(struct strlist *);

/*
 * rspamd_request_headers - append the request headers for the current
 * message of c to out, as "Name: value" lines.  Values are cleaned of
 * control characters and capped in length; absent facts are left out.
 */
void	rspamd_request_headers(const struct conn *c, struct strlist *out);

/* The protocol step at which MTAs send a macro (Postfix's defaults). */
enum macro_stage {
	MACRO_CONNECT,
	MACRO_HELO,
	MACRO_MAIL,
	MACRO_RCPT
};

/*
 * rspamd_macros - every milter macro the request may use, with the step
 * at which it arrives, for the milter layer to collect there; ends with a
 * NULL name.
 */
struct rspamd_macro {
	const char	*name;
	enum macro_stage stage;
};
extern const struct rspamd_macro rspamd_macros[];

#endif
