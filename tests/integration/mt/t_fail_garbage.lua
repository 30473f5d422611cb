-- conf: garbage
-- No verdict (reply is not JSON): the configured failure answer, never a pass.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers(), body = "hello\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "reply is not JSON")
expect_smtp(conn, "451", "4.7.1", "Message scanning temporarily unavailable, try again later")
-- The connection stays usable: a second message gets the same answer.
send(conn, { qid = "4AbCdEfGh2", body = "again\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "reply is not JSON, second message")
mt.disconnect(conn)
