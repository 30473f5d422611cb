-- conf: small
-- A message over limits.max_size is not scanned: on_oversize (reject 552).
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = string.rep("0123456789abcde\r\n", 200) })
expect_reply(conn, SMFIR_REPLYCODE, "oversize")
expect_smtp(conn, "552", "5.3.4", "Message too big for the content scanner")
-- A small one on the same connection is scanned normally.
send(conn, { qid = "4AbCdEfGh2", body = "small\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "small message after an oversize one")
mt.disconnect(conn)
