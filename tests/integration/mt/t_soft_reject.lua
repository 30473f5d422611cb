-- conf: basic
-- Rspamd's soft reject (pre-result from the test rule) -> 451 4.7.1.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Test-Action", "soft reject" })
send(conn, { headers = h, body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "soft reject")
expect_smtp(conn, "451", "4.7.1", "Soft rejected by test rule")
mt.disconnect(conn)
