-- 60_envelope.lua - the SMTP conversation: a HELO name that no mail server
-- would use, and mail to very many recipients at once.

local function is_ip_literal(h)
  return h:match("^%d+%.%d+%.%d+%.%d+$") ~= nil or h:match("^[%x:]+:[%x:]*$") ~= nil
end

rule {
  name = "HELO_BAREIP", score = 2.0,
  description = "HELO is a bare IP address (no brackets)",
  check = function(task)
    return task.helo ~= nil and is_ip_literal(task.helo)
  end,
}

rule {
  name = "HELO_NOT_FQDN", score = 1.5,
  description = "HELO is not a fully qualified domain name",
  check = function(task)
    local h = task.helo
    if h == nil or h == "" or is_ip_literal(h) or h:match("^%[.*%]$") then
      return false
    end
    return not h:find(".", 1, true)
  end,
}

rule {
  name = "HELO_LOCALHOST", score = 3.0,
  description = "HELO localhost from a client that is not local",
  check = function(task)
    local h, ip = task.helo, task.ip or ""
    if h == nil then return false end
    h = h:lower()
    local local_ip = ip:match("^127%.") or ip == "::1"
    return (h == "localhost" or h == "localhost.localdomain") and not local_ip
  end,
}

rule {
  name = "RCPT_COUNT_MANY", score = 2.0,
  description = "20 recipients or more (4 points from 50)",
  check = function(task)
    local n = #task.rcpts
    if n >= 50 then return 4.0, { tostring(n) } end
    if n >= 20 then return true, { tostring(n) } end
    return false
  end,
}
