"""smtp_e2e.py - helpers for the end-to-end cases: send through the test
Postfix, find what it delivered, and count checks.  Used as
"python3 - PORT PFDIR" scripts that import it (tests/e2e/ on sys.path)."""
import glob
import smtplib
import sys
import time

GTUBE = "*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
fails = []
port, pf = int(sys.argv[1]), sys.argv[2]


def message(subject, body, mid, extra=""):
    return ("From: Alice <alice@example.org>\r\nTo: Bob <bob@test.example>\r\n"
            "Subject: %s\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n%s\r\n%s\r\n"
            % (subject, mid, extra, body))


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


def head_of(data):
    return data.split("\n\n", 1)[0] + "\n"


def expect(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)


def done():
    sys.exit(1 if fails else 0)
