#!/bin/bash
# t_digest.sh - Rspamd receives the message byte for byte as the MTA sent
# it: header whitespace as given, folded lines with CRLF, an empty value,
# and a body over spill_size (4K, so it goes through the temporary file)
# with NUL bytes and bare CR/LF; once in the clear and once compressed and
# encrypted.  miltertest, like an MTA that negotiated
# SMFIP_HDR_LEADSPC, puts back the one space after the colon itself, so the
# values below are given without it (tests/e2e/t_postfix.sh covers headers
# with no space or a tab after the colon, which only a real MTA can send).  The test Rspamd hook
# answers with the blake2b digest and length of what it got; Python computes
# the same over the expected message.
set -eu
. "$T_TOP/tests/lib.sh"
d="$T_TMP/digest"
mkdir -p "$d"
python3 - "$d" <<'PY'
import hashlib, random, sys
d = sys.argv[1]
# (name, value after "Name: "; LF separates folded lines)
headers = [
    ("From", "Alice <alice@example.org>"),
    ("To", "bob@example.org"),
    ("Subject", "\tTabbed,  two  spaces, trailing blanks   "),
    ("X-Folded", "first line\n\tsecond line\n third line"),
    ("X-Empty", ""),
    ("Date", "Wed, 25 Nov 2026 09:00:00 +0000"),
    ("Message-ID", "<digest@example.org>"),
    ("X-Test-Milter", "digest"),
]
rnd = random.Random(4242)
body = bytearray()
while len(body) < 20000:
    line = bytes(rnd.randrange(0, 256) for _ in range(rnd.randrange(0, 80)))
    body += line.replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
body += b"\0\0\0 NUL bytes above and here\r\nbare LF\nbare CR\rend\r\n"
wire = b"".join(n.encode() + b": " + v.replace("\n", "\r\n").encode() + b"\r\n"
                for n, v in headers) + b"\r\n" + bytes(body)
open(d + "/body", "wb").write(body)
def lua(s):
    return '"' + "".join("\\%d" % b for b in s.encode()) + '"'
with open(d + "/case.lua", "w") as f:
    f.write("headers = {\n")
    for n, v in headers:
        f.write("  { %s, %s },\n" % (lua(n), lua(v)))
    f.write("}\n")
    f.write("want_digest = %s\n" % lua(hashlib.blake2b(wire).hexdigest()))
    f.write("want_length = %s\n" % lua(str(len(wire))))
PY
cat > "$d/run.lua" <<'LUA'
dofile(mtdir .. "/common.lua")
dofile(tmp .. "/digest/case.lua")
local conn = open()
send(conn, { headers = headers, bodyfile = tmp .. "/digest/body" })
expect_reply(conn, SMFIR_ACCEPT, "digest message")
local len = header_value(conn, "X-Test-Length")
local dig = header_value(conn, "X-Test-Digest")
check(len == want_length, "Rspamd got " .. tostring(len) .. " bytes, want " ..
      want_length)
check(dig == want_digest, "Rspamd's digest " .. tostring(dig) .. ", want " ..
      want_digest)
mt.disconnect(conn)
LUA
# In the clear, then compressed and encrypted (the worker opens both).
for conf in spill spill_crypt_zstd; do
	echo "config $conf"
	miltertest -D bin="$T_BIN" -D conf="$T_TMP/conf/$conf.conf" \
	    -D port="$T_MILTER_PORT" -D tmp="$T_TMP" \
	    -D mtdir="$T_TOP/tests/integration/mt" -s "$d/run.lua"
	# The filter miltertest started must be gone before the next one.
	t_port_free "$T_MILTER_PORT" 10
done
