/*
 * policy - the one place where "no verdict" becomes a milter answer.
 *
 * Scanner down, timeout, malformed reply, overload, shutdown, a message over
 * a size limit, a temporary-file error: each ends here, as a struct plan
 * built from the configured fallback (accept, tempfail, reject, discard,
 * quarantine) and reply text.  Pure; thread: any.
 */
#ifndef SCANMILTER_POLICY_H
#define SCANMILTER_POLICY_H

#include "verdict.h"

/*
 * policy_plan - plan for fallback (enum fallback) with message, a reply such
 * as "451 4.7.1 text" or plain text.  A code of the wrong class for the
 * fallback (a 5xx for tempfail) is replaced by the default one, so an
 * operator's typo cannot turn a temporary failure into a bounce.
 */
void	policy_plan(int fallback, const char *message, const char *label,
	    struct plan *out);

/*
 * policy_split_reply - "451 4.7.1 text" -> rcode, xcode, text pointer.
 * Missing parts come back empty.  Returns the text part.
 */
const char *policy_split_reply(const char *msg, char rcode[4], char xcode[8]);

#endif
