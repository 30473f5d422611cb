-- conf: selfscan
-- Self-scan through miltertest: a clean message is accepted with the
-- X-Spamd-Result the in-process scanner writes (a forged one removed);
-- GTUBE gets 554 5.7.1 Gtube pattern; a spammy subject gets X-Spam: Yes;
-- the connection stays usable throughout.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Spamd-Result", "forged by the sender" })
send(conn, { headers = h, body = "See you on Friday.\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "clean message")
local r = header_value(conn, "X-Spamd-Result")
check(r ~= nil and string.find(r, "default: False [", 1, true) == 1,
      "X-Spamd-Result from the self-scan: " .. tostring(r))
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spamd-Result"),
      "the forged X-Spamd-Result is removed")
send(conn, { qid = "4AbCdEfGh2", headers = clean_headers("gtube"),
             body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "gtube")
expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
send(conn, { qid = "4AbCdEfGh3",
             headers = clean_headers("FREE VIAGRA CASINO WINNER!!!"),
             body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "spammy subject")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Spam", " Yes") or
      mt.eom_check(conn, MT_HDRADD, "X-Spam", " Yes"), "X-Spam: Yes set")
mt.disconnect(conn)
