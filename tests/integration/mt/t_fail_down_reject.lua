-- conf: down_reject
-- No verdict (scanner down, on_failure = reject): the configured failure answer, never a pass.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "scanner down, on_failure = reject")
expect_smtp(conn, "550", "5.7.0", "No scanner, no mail")
-- The connection stays usable: a second message gets the same answer.
send(conn, { qid = "4AbCdEfGh2", body = "again\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "scanner down, on_failure = reject, second message")
mt.disconnect(conn)
