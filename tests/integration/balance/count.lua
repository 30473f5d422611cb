-- count.lua - send n clean messages through a running scanmilter and
-- print how many each scanner instance answered ("scanner PORT N").
-- -D: port, mtdir, n, tag (queue id prefix), allow (comma list of
-- scanner ports that may answer; empty: any).
nostart = 1
dofile(mtdir .. "/common.lua")
local conn = open()
local counts = {}
local h = clean_headers()
table.insert(h, { "X-Test-Milter", "whoami" })
for i = 1, tonumber(n) do
  send(conn, { qid = tag .. i, headers = h, body = "message " .. i .. "\r\n" })
  expect_reply(conn, SMFIR_ACCEPT, "message " .. i)
  local who = header_value(conn, "X-Test-Scanner") or "none"
  if allow ~= nil and allow ~= "" then
    check(string.find("," .. allow .. ",", "," .. who .. ",", 1, true),
          "message " .. i .. " scanned by " .. who .. ", allowed " .. allow)
  end
  counts[who] = (counts[who] or 0) + 1
end
for who, k in pairs(counts) do
  mt.echo("scanner " .. who .. " " .. k)
end
mt.disconnect(conn)
