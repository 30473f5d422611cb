-- conf: basic
-- GTUBE "ZJS": action rewrite subject -> Subject from Rspamd's reply.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers("gtube"), body = "ZJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "rewrite subject")
check(mt.eom_check(conn, MT_HDRCHANGE, "Subject", " *** SPAM *** gtube"),
      "Subject rewritten")
mt.disconnect(conn)
