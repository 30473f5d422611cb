-- disagreements.lua - a compare script for scanmilter's mirrors: append
-- one tab-separated line per mirror whose action differs from the main
-- scanner's to a file, for later review:
--
--   time  qid  sender  mirror  main_action  main_score  mirror_action
--   mirror_score  symbols only the mirror found
--
--   compare: { script = "/usr/share/scanmilter/lua/compare/disagreements.lua"; };
--
-- The file must be writable by scanmilter's user.  Set REPORT below, or
-- the SCANMILTER_DISAGREEMENTS environment variable.

local REPORT = os.getenv("SCANMILTER_DISAGREEMENTS") or
    "/var/lib/scanmilter/disagreements.tsv"

local function only_in(a, b)
  local out = {}
  for name in pairs(a.symbols) do
    if b.symbols[name] == nil then
      out[#out + 1] = name
    end
  end
  table.sort(out)
  return table.concat(out, ",")
end

return function(results, msg)
  local main = results.main
  if main.error then
    return
  end
  local lines = {}
  for name, r in pairs(results) do
    if name ~= "main" and not r.error and r.action ~= main.action then
      lines[#lines + 1] = table.concat({
        os.date("!%Y-%m-%dT%H:%M:%SZ"), msg.qid, msg.from, name,
        main.action, string.format("%.2f", main.score),
        r.action, string.format("%.2f", r.score), only_in(r, main),
      }, "\t")
    end
  end
  if #lines == 0 then
    return
  end
  local f, err = io.open(REPORT, "a")
  if not f then
    scanmilter.log_warn("cannot append to " .. REPORT .. ": " .. tostring(err))
    return
  end
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end
