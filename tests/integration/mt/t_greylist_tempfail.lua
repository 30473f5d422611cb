-- conf: greylist_tempfail
-- With on_greylist = tempfail: 451 4.7.1 with Rspamd's message.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Test-Action", "greylist" })
send(conn, { headers = h, body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "greylist")
expect_smtp(conn, "451", "4.7.1", "Greylisted by test rule")
mt.disconnect(conn)
