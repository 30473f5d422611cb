-- conf: error_then_ok
-- The first upstream answers 500; the retry reaches the real Rspamd.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "retried to a good upstream")
check(added(conn, "X-Spamd-Result"), "verdict from Rspamd")
mt.disconnect(conn)
