-- faults.lua - n messages, clean and GTUBE in turn, through a group where
-- most upstreams misbehave: every one must still get its right answer.
nostart = 1
dofile(mtdir .. "/common.lua")
local conn = open()
for i = 1, tonumber(n) do
  if i % 2 == 0 then
    send(conn, { qid = "9F" .. i, headers = clean_headers("gtube"),
                 body = "XJS" .. GTUBE .. "\r\n" })
    expect_reply(conn, SMFIR_REPLYCODE, "GTUBE message " .. i)
    expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
  else
    send(conn, { qid = "9F" .. i, body = "clean " .. i .. "\r\n" })
    expect_reply(conn, SMFIR_ACCEPT, "clean message " .. i)
    check(added(conn, "X-Spamd-Result"), "clean message " .. i .. " scanned")
  end
end
mt.disconnect(conn)
