-- conf: down_accept
-- Scanner down with on_failure = accept: the operator chose to pass mail.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "scanner down, accept")
check(not mt.eom_check(conn, MT_HDRADD), "no headers without a verdict")
mt.disconnect(conn)
