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
postfix_setup "$pf" <<CF
myhostname = mx.test.example
mydomain = test.example
relay_domains =
virtual_mailbox_domains = test.example
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_milters = inet:127.0.0.1:$T_MILTER_PORT
smtpd_banner = \$myhostname ESMTP test
--
127.0.0.1:$T_SMTP_PORT inet n - n - - smtpd
CF
mkdir -p "$pf/mail"
chown nobody:nogroup "$pf/mail"

stop_all() {
	postfix -c "$pf/etc" stop >/dev/null 2>&1
	t_cleanup
}
trap stop_all EXIT

t_port_free "$T_SMTP_PORT" 5 || { echo "port $T_SMTP_PORT in use"; exit 1; }
t_bg "$T_BIN" -f -c "$T_TMP/conf/basic.conf"
t_wait_port "$T_MILTER_PORT" 10 || { echo "scanmilter did not start"; exit 1; }
if ! postfix -c "$pf/etc" start; then
	echo "postfix did not start:"
	# Postfix says why on stderr only in verbose mode.
	postfix -v -c "$pf/etc" check 2>&1 | grep -E 'fatal|error|warning' | tail -5
	cat "$pf/maillog" 2>/dev/null
	exit 1
fi
t_wait_port "$T_SMTP_PORT" 30 || { echo "smtpd not listening"; cat "$pf/maillog"; exit 1; }

python3 - "$T_SMTP_PORT" "$pf" <<'PY'
import glob, os, smtplib, sys, time
port, pf = int(sys.argv[1]), sys.argv[2]
GTUBE = "*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
fails = []

def message(subject, body, mid):
    return ("From: Alice <alice@example.org>\r\nTo: Bob <bob@test.example>\r\n"
            "Subject: %s\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n\r\n%s\r\n" % (subject, mid, body))

def send(msg):
    """(code, text, queue id) for the end of DATA."""
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.ehlo("client.example.org")
    s.mail("<alice@example.org>")
    s.rcpt("<bob@test.example>")
    code, text = s.data(msg.encode())
    s.quit()
    text = text.decode()
    qid = text.split("queued as ")[-1].strip() if "queued as" in text else None
    return code, text, qid

def delivered(mid, timeout=30):
    """The Maildir file holding Message-ID mid, waiting up to timeout."""
    end = time.time() + timeout
    while time.time() < end:
        for f in glob.glob(pf + "/mail/inbox/new/*"):
            data = open(f, "rb").read().decode("latin-1")
            if "<%s@example.org>" % mid in data:
                return data
        time.sleep(0.2)
    return None

def expect(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)

code, text, qid = send(message("Lunch", "See you on Friday.", "clean1"))
expect(code == 250 and qid, "clean message accepted: %d %s" % (code, text))
data = delivered("clean1")
expect(data is not None, "clean message delivered")
if data:
    head = data.split("\n\n", 1)[0] + "\n"
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
    head = data.split("\n\n", 1)[0] + "\n"
    for line in head.split("\n"):
        if line.startswith("X-Test-Rawhead: "):
            got = bytes.fromhex(line.split(": ", 1)[1].strip())
expect(got == b"\n".join(exact),
       "Rspamd saw the header bytes as sent: %r" % (got,))
sys.exit(1 if fails else 0)
PY
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "--- postfix log"; tail -30 "$pf/maillog"
fi
exit "$rc"
