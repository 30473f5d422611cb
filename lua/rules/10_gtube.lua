-- 10_gtube.lua - the Generic Test for Unsolicited Bulk Email: a message
-- whose text holds the GTUBE string is rejected whatever else it scores,
-- as Rspamd does, so that a site can check its filter end to end.
local GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

rule {
  name = "GTUBE",
  score = 0,
  action = "reject",
  message = "Gtube pattern",
  description = "GTUBE test string in a text part",
  check = function(task)
    for _, p in ipairs(task.parts) do
      if p.text and p.text:find(GTUBE, 1, true) then
        return true
      end
    end
    return false
  end,
}
