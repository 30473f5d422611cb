-- once.lua - one message to a scanmilter that is already running, for the
-- shell cases.  -D: mtdir, sock (milter socket spec), qid, want: "accept",
-- or "tempfail" (the default failure reply); optional pause, mid_pause
-- (seconds).
nostart = 1
dofile(mtdir .. "/common.lua")
local conn = open()
-- -D pause=SECONDS: a quiet MTA before the message (milterio's idle wait).
if pause ~= nil then
  mt.sleep(tonumber(pause))
end
-- -D mid_pause=SECONDS: the MTA stalls after the headers.
send(conn, { qid = qid, body = "hello\r\n",
             pause_after_eoh = mid_pause and tonumber(mid_pause) })
if want == "accept" then
  expect_reply(conn, SMFIR_ACCEPT, "message " .. qid)
else
  expect_reply(conn, SMFIR_REPLYCODE, "message " .. qid)
  expect_smtp(conn, "451", "4.7.1",
              "Message scanning temporarily unavailable, try again later")
end
mt.disconnect(conn)
