-- conf: basic
-- GTUBE "YJS": action add header -> X-Spam: Yes (spam_header default).
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers("junk"), body = "YJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "add header")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Spam", " Yes") or
      mt.eom_check(conn, MT_HDRADD, "X-Spam", " Yes"), "X-Spam: Yes set")
mt.disconnect(conn)
