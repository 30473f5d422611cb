-- conf: basic
-- Rspamd's greylist action is a score band: by default it is accepted, as
-- Rspamd's own proxy does, with the changes Rspamd asked for.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
table.insert(h, { "X-Test-Action", "greylist" })
send(conn, { headers = h, body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "greylist")
check(added(conn, "X-Spamd-Result"), "X-Spamd-Result added")
mt.disconnect(conn)
