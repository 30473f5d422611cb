-- conf: hostforms
-- Upstreams given as an IPv6 address, a unix socket and a host name all
-- scan: six messages, two through each (sequential, no retries).
dofile(mtdir .. "/common.lua")
local conn = open()
for i = 1, 6 do
  send(conn, { qid = "6H" .. i, body = "form " .. i .. "\r\n" })
  expect_reply(conn, SMFIR_ACCEPT, "message " .. i)
  check(added(conn, "X-Spamd-Result"), "message " .. i .. " scanned")
end
mt.disconnect(conn)
