-- conf: spillfail
-- The body cannot be spilled (its directory is gone): the message gets the
-- failure answer, not a pass, and a small message still goes through.
dofile(mtdir .. "/common.lua")
local conn = open()
check(os.remove(tmp .. "/spillfail"), "remove the spill directory")
send(conn, { body = string.rep("0123456789abcdef\r\n", 600) })
expect_reply(conn, SMFIR_REPLYCODE, "body that cannot be spilled")
expect_smtp(conn, "451", "4.7.1",
            "Message scanning temporarily unavailable, try again later")
send(conn, { qid = "4AbCdEfGh2", body = "small\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "small message afterwards")
mt.disconnect(conn)
