-- conf: custom
-- A reject by score carries no smtp_message: reject_message is used.  The
-- add header action uses the configured spam_header and its value.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Test-Action", "spam" })
send(conn, { headers = h, body = "buy now\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "reject by score")
expect_smtp(conn, "554", "5.7.1", "Go away, spammer")
send(conn, { qid = "4AbCdEfGh2", headers = clean_headers("junk"),
             body = "YJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "add header")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Junk", " definitely") or
      mt.eom_check(conn, MT_HDRADD, "X-Junk", " definitely"),
      "X-Junk: definitely set")
mt.disconnect(conn)
