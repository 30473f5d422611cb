-- conf: basic
-- Header bytes past limits.max_header_size (1M, here 1200 headers of 900
-- bytes): bounded, answered by
-- on_oversize, and the connection goes on.
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
local v = string.rep("x", 900)
for i = 1, 1200 do
  table.insert(h, { "X-Filler-" .. i, v })
end
send(conn, { headers = h, body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "huge header block")
expect_smtp(conn, "552", "5.3.4", "Message too big for the content scanner")
send(conn, { qid = "4AbCdEfGh2", body = "small\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "normal message after the huge one")
mt.disconnect(conn)
