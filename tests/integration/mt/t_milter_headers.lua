-- conf: basic unbuffered
-- The reply's milter block: add_headers with order (insert) and arrays,
-- remove_headers by position (n, 0 = all, -1 = last).
dofile(mtdir .. "/common.lua")
local conn = open()
local h = clean_headers()
for _, x in ipairs({ { "X-Del", "1" }, { "X-Del", "2" }, { "X-Del", "3" },
                     { "X-Gone", "a" }, { "X-Gone", "b" },
                     { "X-Last", "p" }, { "X-Last", "q" },
                     { "X-Test-Milter", "headers" } }) do
  table.insert(h, x)
end
send(conn, { headers = h, body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "milter headers")
check(mt.eom_check(conn, MT_HDRINSERT, "X-Top", " inserted at 0", 0),
      "X-Top inserted at index 0")
check(mt.eom_check(conn, MT_HDRADD, "X-Multi", " one"), "X-Multi one")
check(mt.eom_check(conn, MT_HDRADD, "X-Multi", " two"), "X-Multi two")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Del"), "X-Del #2 removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Gone"), "X-Gone removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Last"), "X-Last #-1 removed")
mt.disconnect(conn)
