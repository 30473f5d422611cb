-- 20_headers.lua - the header fields every honest mail program writes:
-- one From with an address, a Date, a Message-ID, and a From whose display
-- name does not pretend to be another address.

-- address_of - the addr-spec of a From value ("Name <a@b>" or "a@b").
local function address_of(v)
  local a = v:match("<([^<>]*)>%s*$") or v:match("^%s*([^%s<>\"]+@[^%s<>\"]+)%s*$")
  return a
end

-- The fields every honest mail program writes, and what missing one costs.
for _, m in ipairs({
  { "MISSING_FROM", "From", 2.0 },
  { "MISSING_DATE", "Date", 1.0 },
  { "MISSING_MID", "Message-ID", 2.5 },
  { "MISSING_SUBJECT", "Subject", 1.0 },
}) do
  local name, field, score = m[1], m[2], m[3]
  rule {
    name = name, score = score,
    description = "no " .. field .. " header",
    check = function(task) return task:header(field) == nil end,
  }
end

rule {
  name = "MULTIPLE_FROM", score = 3.0,
  description = "more than one From header",
  check = function(task) return task:header_count("From") > 1 end,
}

rule {
  name = "INVALID_FROM", score = 2.0,
  description = "From header without a usable address",
  check = function(task)
    local v = task:header("From")
    if v == nil then return false end
    local a = address_of(v)
    return a == nil or not a:match("^[^@%s]+@[%w%.%-]+%.[%a][%w%-]*$")
  end,
}

rule {
  name = "FORGED_DISPLAY_NAME", score = 3.5,
  description = "From display name holds an address of another domain",
  check = function(task)
    local v = task:header("From")
    if v == nil then return false end
    local name = v:match("^%s*\"?(.-)\"?%s*<[^<>]*>%s*$")
    local a = address_of(v)
    if name == nil or a == nil then return false end
    local shown = name:match("[%w%.%-_+]+@([%w%.%-]+%.%a+)")
    local real = a:match("@(.+)$")
    if shown and real and shown:lower() ~= real:lower() then
      return true, { shown:lower(), real:lower() }
    end
    return false
  end,
}

rule {
  name = "INVALID_DATE", score = 1.5,
  description = "Date header not in RFC 5322 form",
  check = function(task)
    local v = task:header("Date")
    if v == nil then return false end
    -- [Day, ] DD Mon YYYY HH:MM[:SS] zone
    local ok = v:match("^%a%a%a, +%d%d? %a%a%a %d%d%d%d %d%d:%d%d")
        or v:match("^%d%d? %a%a%a %d%d%d%d %d%d:%d%d")
    return not ok
  end,
}

rule {
  name = "INVALID_MSGID", score = 1.7,
  description = "Message-ID is not <left@right>",
  check = function(task)
    local v = task:header("Message-ID")
    if v == nil then return false end
    return not v:match("^<[^<>@%s]+@[^<>@%s]+>$")
  end,
}
