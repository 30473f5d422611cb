-- conf: down slow garbage reset down_reject
-- No verdict can be had: the configured failure answer, never a pass, and
-- the connection stays usable.  Run once per config above.
dofile(mtdir .. "/common.lua")
local TEMPFAIL = { "451", "4.7.1",
                   "Message scanning temporarily unavailable, try again later" }
local cases = {
  down = { why = "scanner down", reply = TEMPFAIL },
  slow = { why = "scanner too slow", reply = TEMPFAIL },
  garbage = { why = "reply is not JSON", reply = TEMPFAIL },
  reset = { why = "connection reset mid-reply", reply = TEMPFAIL },
  down_reject = { why = "scanner down, on_failure = reject",
                  reply = { "550", "5.7.0", "No scanner, no mail" } },
}
local name = string.match(conf, "([%w_]+)%.conf$")
local c = cases[name]
check(c ~= nil, "no expectation for config " .. tostring(name))
local conn = open()
send(conn, { headers = clean_headers(), body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, c.why)
expect_smtp(conn, c.reply[1], c.reply[2], c.reply[3])
send(conn, { qid = "4AbCdEfGh2", body = "again\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, c.why .. ", second message")
expect_smtp(conn, c.reply[1], c.reply[2], c.reply[3])
mt.disconnect(conn)
