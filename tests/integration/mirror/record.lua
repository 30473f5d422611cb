-- record.lua - the compare script of t_mirror.sh: one line per message
-- and scanner, "qid name action score has_MIRROR_ONLY" or "qid name ERR
-- text", appended to the file named by SCANMILTER_TEST_RECORD.
local out = os.getenv("SCANMILTER_TEST_RECORD")
return function(results, msg)
  local f = assert(io.open(out, "a"))
  local names = {}
  for name in pairs(results) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local r = results[name]
    if r.error then
      f:write(string.format("%s %s ERR %s\n", msg.qid, name, r.error))
    else
      f:write(string.format("%s %s %s %.2f %s\n", msg.qid, name,
        r.action:gsub(" ", "_"), r.score,
        r.symbols.MIRROR_ONLY and "MIRROR_ONLY" or "-"))
    end
  end
  f:close()
  scanmilter.log_info("recorded " .. #names .. " results")
end
