#!/bin/bash
# t_postfix.sh - end to end through a real Postfix: a throwaway instance
# (its own config, queue and Maildir under the test directory, smtpd on
# 127.0.0.1 only) with smtpd_milters pointing at scanmilter, which asks the
# suite's real Rspamd.  Checks:
#   - a clean message is delivered with the headers Rspamd asked for, and
#     X-Rspamd-Queue-Id is Postfix's own queue id;
#   - GTUBE is refused at end of DATA with 554 5.7.1 and nothing delivered;
#   - GTUBE "YJS" is delivered with X-Spam: Yes;
#   - header fields reach Rspamd byte for byte: no space after the colon, a
#     tab after it, folded lines, trailing blanks (SMFIP_HDR_LEADSPC).
set -u
. "$T_TOP/tests/lib.sh"
pf="$T_TMP/postfix"
trap 'pf_e2e_stop "$pf"' EXIT
pf_e2e_start "$pf" "$T_TMP/conf/basic.conf" || exit 1

PYTHONPATH="$T_TOP/tests/e2e" python3 - "$T_SMTP_PORT" "$pf" <<'PY'
from smtp_e2e import *

code, text, qid = send(message("Lunch", "See you on Friday.", "clean1"))
expect(code == 250 and qid, "clean message accepted: %d %s" % (code, text))
data = delivered("clean1")
expect(data is not None, "clean message delivered")
if data:
    head = head_of(data)
    expect("X-Spamd-Result: default: False" in head,
           "X-Spamd-Result added by Rspamd's request")
    expect("X-Rspamd-Queue-Id: %s\n" % qid in head,
           "X-Rspamd-Queue-Id is Postfix's queue id %s" % qid)
    expect("See you on Friday." in data, "body intact")

code, text, qid = send(message("gtube", "XJS" + GTUBE, "gtube1"))
expect(code == 554 and "5.7.1 Gtube pattern" in text,
       "GTUBE refused at end of DATA: %d %s" % (code, text))
expect(delivered("gtube1", 3) is None, "GTUBE not delivered")

code, text, qid = send(message("junk", "YJS" + GTUBE, "junk1"))
expect(code == 250, "add-header message accepted: %d %s" % (code, text))
data = delivered("junk1")
expect(data is not None and
       "\nX-Spam: Yes\n" in "\n" + data.split("\n\n", 1)[0] + "\n",
       "add-header message delivered with X-Spam: Yes")
# Header bytes exactly as sent: the test Rspamd hook echoes every X-Exact-*
# field it received, hex-encoded.
exact = [b"X-Exact-A:no-space", b"X-Exact-B:\ttab after colon",
         b"X-Exact-C:  two spaces, trailing blanks  ",
         b"X-Exact-D: folded\r\n\tsecond line\r\n  third line"]
msg = message("exact", "exact", "exact1").replace(
    "\r\n\r\n", "\r\n" + "\r\n".join(e.decode() for e in exact) +
    "\r\nX-Test-Milter: rawhead\r\n\r\n", 1)
code, text, qid = send(msg)
expect(code == 250, "exact-header message accepted: %d %s" % (code, text))
data = delivered("exact1")
got = None
if data:
    head = head_of(data)
    for line in head.split("\n"):
        if line.startswith("X-Test-Rawhead: "):
            got = bytes.fromhex(line.split(": ", 1)[1].strip())
expect(got == b"\n".join(exact),
       "Rspamd saw the header bytes as sent: %r" % (got,))
done()
PY
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- postfix log"; tail -30 "$pf/maillog"
fi
exit "$rc"
