-- conf: basic zstd crypt crypt_zstd unbuffered
-- A clean message is accepted with the headers Rspamd asked for, Rspamd's
-- remove_headers takes away a forged X-Spamd-Result, and Rspamd saw our
-- queue id.
dofile(mtdir .. "/common.lua")
local conn = open()
local hdrs = clean_headers()
table.insert(hdrs, { "X-Spamd-Result", "forged: clean" })
send(conn, { qid = "4AbCdEfGh1", headers = hdrs,
             body = "Hello Bob,\r\nsee you on Friday.\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "clean message")
check(added(conn, "X-Spamd-Result"), "X-Spamd-Result added")
check(header_value(conn, "X-Rspamd-Queue-Id") == "4AbCdEfGh1",
      "X-Rspamd-Queue-Id is the {i} macro, got " ..
      tostring(header_value(conn, "X-Rspamd-Queue-Id")))
check(mt.eom_check(conn, MT_HDRDELETE, "X-Spamd-Result"), "forged header removed")
mt.disconnect(conn)
