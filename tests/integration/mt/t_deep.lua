-- conf: deep
-- A reply nested as deep as a JSON reply may be (2040 of jansson's 2048
-- levels, under "milter", beyond scanmilter's own builder) is parsed on a
-- session thread's stack like any other: its "no action" accepts, twice,
-- and the daemon lives to answer the second message (a stack too small
-- for the parser kills it at the first).
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = "deep\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "deeply nested reply")
send(conn, { qid = "4AbCdEfGh3", body = "deep again\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "deeply nested reply, second message")
mt.disconnect(conn)
