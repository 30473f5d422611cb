-- conf: basic
-- One connection, several messages (one aborted), several recipients:
-- each message is scanned on its own with its own envelope and queue id.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Test-Milter", "envelope" })
send(conn, { qid = "4AAAAAAAA1", rcpts = { "<b1@example.org>",
             "<b2@example.org>", "<b3@example.org>" }, headers = h,
             user = "alice", body = "one\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "first message")
local env = header_value(conn, "X-Test-Envelope") or "(none)"
local want = "IP=127.0.0.2; Helo=client.example.net; " ..
  "Hostname=client.example.net; From=<alice@example.org>; " ..
  "Queue-Id=4AAAAAAAA1; User=alice; MTA-Name=scanmilter-test; " ..
  "Rcpt=b1@example.org,b2@example.org,b3@example.org"
check(env == want, "Rspamd saw\n  " .. env .. "\nwant\n  " .. want)
check(header_value(conn, "X-Rspamd-Queue-Id") == "4AAAAAAAA1", "first qid")
-- A message the MTA abandons half-way.
ok(mt.macro(conn, SMFIC_MAIL, "i", "4AAAAAAAA2"), "macro")
ok(mt.mailfrom(conn, "<x@example.org>"), "mailfrom")
ok(mt.rcptto(conn, "<y@example.org>"), "rcptto")
ok(mt.header(conn, "Subject", "half"), "header")
ok(mt.abort(conn), "abort")
send(conn, { qid = "4AAAAAAAA3", body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "third message")
expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
send(conn, { qid = "4AAAAAAAA4", headers = h, body = "four\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "fourth message")
check(header_value(conn, "X-Rspamd-Queue-Id") == "4AAAAAAAA4", "fourth qid")
env = header_value(conn, "X-Test-Envelope") or "(none)"
want = "IP=127.0.0.2; Helo=client.example.net; " ..
  "Hostname=client.example.net; From=<alice@example.org>; " ..
  "Queue-Id=4AAAAAAAA4; MTA-Name=scanmilter-test; Rcpt=bob@example.org"
check(env == want, "fourth message: Rspamd saw\n  " .. env .. "\nwant\n  " .. want)
mt.disconnect(conn)
