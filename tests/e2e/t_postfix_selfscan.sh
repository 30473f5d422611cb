#!/bin/bash
# t_postfix_selfscan.sh - end to end through a real Postfix with scanmilter
# scanning in process (self_scan, built-in rules), no Rspamd involved:
#   - a clean message is delivered with X-Spamd-Result, score under 4;
#   - GTUBE is refused at end of DATA with 554 5.7.1 Gtube pattern;
#   - a message with an .exe hidden behind .pdf is refused by score;
#   - a subject full of spam words is delivered with X-Spam: Yes.
set -u
. "$T_TOP/tests/lib.sh"
pf="$T_TMP/postfix-selfscan"
trap 'pf_e2e_stop "$pf"' EXIT
pf_e2e_start "$pf" "$T_TMP/conf/selfscan.conf" || exit 1

PYTHONPATH="$T_TOP/tests/e2e" python3 - "$T_SMTP_PORT" "$pf" <<'PY'
import re
from smtp_e2e import *

code, text, qid = send(message("Lunch", "See you on Friday.", "ssclean1"))
expect(code == 250 and qid, "clean message accepted: %d %s" % (code, text))
data = delivered("ssclean1")
expect(data is not None, "clean message delivered")
if data:
    m = re.search(r"X-Spamd-Result: default: False \[(-?[\d.]+) / 15\.00\]",
                  head_of(data))
    expect(m is not None and float(m.group(1)) < 4,
           "X-Spamd-Result added by the self-scan, low score: %s" %
           (m.group(0) if m else None))

code, text, qid = send(message("gtube", "XJS" + GTUBE, "ssgtube1"))
expect(code == 554 and "5.7.1 Gtube pattern" in text,
       "GTUBE refused at end of DATA: %d %s" % (code, text))
expect(delivered("ssgtube1", 3) is None, "GTUBE not delivered")

attach = ("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
          "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
          "--b\r\nContent-Type: application/octet-stream; name=\"inv.pdf.exe\"\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--")
code, text, qid = send(message("invoice", attach[1], "ssexe1", attach[0]))
expect(code == 554 and text.startswith("5.7.1"),
       "executable attachment refused: %d %s" % (code, text))

code, text, qid = send(message("FREE VIAGRA CASINO WINNER!!!", "hello",
                               "ssjunk1"))
expect(code == 250, "spammy subject accepted: %d %s" % (code, text))
data = delivered("ssjunk1")
expect(data is not None and "\nX-Spam: Yes\n" in "\n" + head_of(data),
       "spammy subject delivered with X-Spam: Yes")
done()
PY
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- postfix log"; tail -30 "$pf/maillog"
fi
exit "$rc"
