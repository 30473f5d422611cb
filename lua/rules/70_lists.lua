-- 70_lists.lua - the site's own allow and deny lists, read when the rules
-- load into a state (scanmilter keeps a pool of them; a reload, SIGUSR1,
-- makes new ones), only from regular files, never waiting on a FIFO.  One
-- entry per line, # starts a comment:
--   selfscan.allow_ips / deny_ips:         192.0.2.7, 198.51.100.0/24, 2001:db8::/32
--   selfscan.allow_senders / deny_senders: user@example.org, example.org
-- A sender entry without @ matches the envelope sender's domain and its
-- subdomains.

local cfg = scanmilter.config
local ip_in = scanmilter.ip_in
-- IP lists are parsed once here; a message costs one parse of its client.
local allow_ips = scanmilter.ip_list(scanmilter.read_list(cfg.allow_ips))
local deny_ips = scanmilter.ip_list(scanmilter.read_list(cfg.deny_ips))
local allow_senders = scanmilter.read_list(cfg.allow_senders)
local deny_senders = scanmilter.read_list(cfg.deny_senders)

-- sender_in - the envelope sender, or a domain it is in, is in set.
local function sender_in(set, from)
  if from == nil or from == "" then return false end
  from = from:lower():gsub("^<", ""):gsub(">$", "")
  if set[from] then return true end
  local domain = from:match("@(.+)$")
  while domain do
    if set[domain] then return true end
    domain = domain:match("^[^%.]+%.(.+)$")
  end
  return false
end

-- Each list is one rule: a hit moves the score by 20 either way.
for _, l in ipairs({
  { "ALLOWLIST_IP", -20.0, "client IP in selfscan.allow_ips",
    function(task) return ip_in(allow_ips, task.ip) end },
  { "DENYLIST_IP", 20.0, "client IP in selfscan.deny_ips",
    function(task) return ip_in(deny_ips, task.ip) end },
  { "ALLOWLIST_SENDER", -20.0,
    "envelope sender or its domain in selfscan.allow_senders",
    function(task) return sender_in(allow_senders, task.from) end },
  { "DENYLIST_SENDER", 20.0,
    "envelope sender or its domain in selfscan.deny_senders",
    function(task) return sender_in(deny_senders, task.from) end },
}) do
  rule { name = l[1], score = l[2], description = l[3], check = l[4] }
end
