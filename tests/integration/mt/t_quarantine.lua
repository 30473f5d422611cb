-- conf: quarantine
-- quarantine_on_reject: accepted, but quarantined with the reason.
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { headers = clean_headers("gtube"), body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "quarantine on reject")
check(mt.eom_check(conn, MT_QUARANTINE, "Gtube pattern"), "quarantined")
mt.disconnect(conn)
