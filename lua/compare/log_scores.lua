-- log_scores.lua - a compare script for scanmilter's mirrors: log one
-- line per mirrored message whose mirror score differs from the main
-- scanner's by more than THRESHOLD, or whose action differs, and one line
-- for each mirror that gave no answer.
--
--   compare: { script = "/usr/share/scanmilter/lua/compare/log_scores.lua"; };
--
-- The script returns the function scanmilter calls with every result of a
-- message: results.main and results[mirror name], each with action, score,
-- required_score, symbols (name -> { score, options }), upstream and
-- time_ms, or with error instead.  msg has qid, from and size.

local THRESHOLD = 1.0

-- symbols_only - names in a's symbols that b lacks, sorted.
local function symbols_only(a, b)
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
    scanmilter.log_info("main scan failed (" .. main.error .. "), nothing to compare")
    return
  end
  for name, r in pairs(results) do
    if name ~= "main" then
      if r.error then
        scanmilter.log_info(string.format("mirror %s: no result: %s", name, r.error))
      elseif r.action ~= main.action or math.abs(r.score - main.score) > THRESHOLD then
        scanmilter.log_info(string.format(
          "mirror %s: %s %.2f vs main %s %.2f; only mirror: [%s]; only main: [%s]",
          name, r.action, r.score, main.action, main.score,
          symbols_only(r, main), symbols_only(main, r)))
      end
    end
  end
end
