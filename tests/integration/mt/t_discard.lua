-- conf: discard
-- discard_on_reject: a reject verdict discards the message silently.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers("gtube"), body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_DISCARD, "discard on reject")
mt.disconnect(conn)
