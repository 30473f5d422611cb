-- send.lua - n messages through a running scanmilter, every fourth one
-- GTUBE: each must get its right answer (accept, or 554 for GTUBE),
-- whatever the mirrors and the compare script do.
-- -D: port, mtdir, n, tag (queue id prefix).
nostart = 1
dofile(mtdir .. "/common.lua")
local conn = open()
for i = 1, tonumber(n) do
  if i % 4 == 0 then
    send(conn, { qid = tag .. i, headers = clean_headers("gtube"),
                 body = "XJS" .. GTUBE .. "\r\n" })
    expect_reply(conn, SMFIR_REPLYCODE, "gtube message " .. i)
    expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
  else
    send(conn, { qid = tag .. i, body = "message " .. i .. "\r\n" })
    expect_reply(conn, SMFIR_ACCEPT, "message " .. i)
  end
end
mt.disconnect(conn)
