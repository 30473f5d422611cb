#!/usr/bin/env python3
"""make-corpus.py DIR [N] - write N (default 60) deterministic test messages
to DIR: plain and HTML text of 1 to 60 KB, a few with a base64
attachment, one in ten GTUBE (rejected).  No line starts with a dot, so
the SMTP client needs no dot-stuffing."""
import base64, os, random, sys

d = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 60
rnd = random.Random(20261125)
WORDS = ("mail scanner milter message invoice meeting report lunch friday "
         "project budget review please attached thanks regards team update "
         "schedule customer order delivery account security notice").split()
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

def text(size):
    out, line = [], []
    while sum(len(l) + 2 for l in out) < size:
        line.append(rnd.choice(WORDS))
        if len(" ".join(line)) > 66:
            out.append(" ".join(line).capitalize())
            line = []
    return "\r\n".join(out) + "\r\n"

os.makedirs(d, exist_ok=True)
for i in range(n):
    size = rnd.choice([1000, 2000, 4000, 8000, 16000, 30000, 60000])
    head = ("From: Sender %d <sender@example.org>\r\nTo: <rcpt@bench.example>\r\n"
            "Subject: %s %d\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n"
            "Message-ID: <bench%d@example.org>\r\nMIME-Version: 1.0\r\n"
            % (i, rnd.choice(WORDS).capitalize(), i, i))
    if i % 10 == 9:
        body = text(500) + GTUBE + "\r\n"
        msg = head + "Content-Type: text/plain\r\n\r\n" + body
    elif i % 4 == 1:
        b = "----=_b%d" % i
        att = base64.encodebytes(bytes(rnd.randrange(256) for _ in range(size // 2)))
        att = att.decode().replace("\n", "\r\n")
        msg = (head + 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n'
               "--%s\r\nContent-Type: text/plain\r\n\r\n%s\r\n--%s\r\n"
               "Content-Type: application/octet-stream\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
               % (b, b, text(1000), b, att, b))
    elif i % 4 == 2:
        body = "<html><body><p>" + text(size).replace("\r\n", "</p>\r\n<p>") + "</p></body></html>\r\n"
        msg = head + "Content-Type: text/html\r\n\r\n" + body
    else:
        msg = head + "Content-Type: text/plain\r\n\r\n" + text(size)
    with open(os.path.join(d, "m%03d.eml" % i), "w", newline="") as f:
        f.write(msg)
