/*
 * policy.c - fallback answers; see policy.h.
 */
#include <ctype.h>
#include <string.h>

#include "config.h"
#include "policy.h"

const char *
policy_split_reply(const char *msg, char rcode[4], char xcode[8])
{
	const char *p = msg;
	size_t n;

	rcode[0] = xcode[0] = '\0';
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '\0')) {
		memcpy(rcode, p, 3);
		rcode[3] = '\0';
		p += 3;
		while (*p == ' ')
			p++;
	}
	/* x.y.z with x a digit and the rest digits and dots, up to 7 bytes */
	n = strspn(p, "0123456789.");
	if (rcode[0] != '\0' && n >= 5 && n <= 7 && p[1] == '.' &&
	    (p[n] == ' ' || p[n] == '\0')) {
		memcpy(xcode, p, n);
		xcode[n] = '\0';
		p += n;
		while (*p == ' ')
			p++;
	}
	return p;
}

/* class_ok - does code start with the digit the answer needs. */
static int
class_ok(const char *code, char want)
{
	return code[0] == want;
}

void
policy_plan(int fallback, const char *message, const char *label,
    struct plan *out)
{
	char rcode[4], xcode[8];
	const char *text = policy_split_reply(message, rcode, xcode);

	memset(out, 0, sizeof(*out));
	out->label = label;
	switch (fallback) {
	case FALLBACK_TEMPFAIL:
	case FALLBACK_REJECT: {
		int temp = fallback == FALLBACK_TEMPFAIL;
		char want = temp ? '4' : '5';

		if (!class_ok(rcode, want) || (xcode[0] != '\0' &&
		    !class_ok(xcode, want))) {
			strcpy(rcode, temp ? "451" : "554");
			strcpy(xcode, temp ? "4.7.1" : "5.7.1");
		} else if (xcode[0] == '\0') {
			strcpy(xcode, temp ? "4.7.1" : "5.7.1");
		}
		plan_reply(out, temp ? PLAN_TEMPFAIL : PLAN_REJECT, rcode,
		    xcode, *text ? text : "Message not scanned");
		break;
	}
	case FALLBACK_DISCARD:
		plan_reply(out, PLAN_DISCARD, NULL, NULL, NULL);
		break;
	case FALLBACK_QUARANTINE:
		plan_reply(out, PLAN_ACCEPT, NULL, NULL, NULL);
		plan_add_mod(out, MOD_QUARANTINE, NULL, 0,
		    *text ? text : "not scanned");
		break;
	default:
		plan_reply(out, PLAN_ACCEPT, NULL, NULL, NULL);
	}
}
