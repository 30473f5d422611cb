-- conf: basic zstd crypt crypt_zstd unbuffered
-- GTUBE: Rspamd says reject with its own SMTP message.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers("gtube"), body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "gtube")
expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
mt.disconnect(conn)
