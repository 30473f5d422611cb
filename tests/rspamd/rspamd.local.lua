-- Test hooks for scanmilter's suite.  A message chooses what the real
-- Rspamd answers with test headers, so every reply shape the milter must
-- apply comes from Rspamd itself, not from a fake.
local hash = require "rspamd_cryptobox_hash"

-- Which instance this is (tests/lib.sh writes it at start), so that a
-- test of the balancer sees which scanner answered.
local instance = 'unknown'
do
  local f = io.open(rspamd_paths['LOCAL_CONFDIR'] .. '/instance')
  if f then
    instance = f:read('*l') or instance
    f:close()
  end
end

local actions = {
  ['soft reject'] = 'Soft rejected by test rule',
  ['greylist'] = 'Greylisted by test rule',
}

rspamd_config:register_symbol({
  name = 'SCANMILTER_TEST',
  type = 'prefilter',
  priority = 10,
  callback = function(task)
    local act = task:get_header('X-Test-Action')
    if act and actions[act] then
      task:set_pre_result(act, actions[act], 'scanmilter_test')
    end
    local m = task:get_header('X-Test-Milter')
    if m == 'whoami' then
      task:set_milter_reply({
        add_headers = { ['X-Test-Scanner'] = instance },
      })
    elseif m == 'headers' then
      task:set_milter_reply({
        add_headers = {
          ['X-Top'] = { value = 'inserted at 0', order = 0 },
          ['X-Multi'] = { 'one', 'two' },
        },
        remove_headers = { ['X-Del'] = 2, ['X-Gone'] = 0, ['X-Last'] = -1 },
      })
    elseif m == 'envelope' then
      -- The request headers as Rspamd read them, "Name=value;" in a fixed
      -- order, so the suite checks what the milter sent.
      local names = { 'IP', 'Helo', 'Hostname', 'From', 'Queue-Id', 'User',
                      'MTA-Name', 'TLS-Version', 'TLS-Cipher' }
      local parts = {}
      for _, n in ipairs(names) do
        local v = task:get_request_header(n)
        if v then
          table.insert(parts, n .. '=' .. tostring(v))
        end
      end
      local rcpts = {}
      for _, r in ipairs(task:get_recipients('smtp') or {}) do
        table.insert(rcpts, r.addr)
      end
      table.insert(parts, 'Rcpt=' .. table.concat(rcpts, ','))
      task:set_milter_reply({
        add_headers = { ['X-Test-Envelope'] = table.concat(parts, '; ') },
      })
    elseif m == 'rawhead' then
      -- Every X-Exact-* field as received (folding CRLFs included, the
      -- final CRLF not), joined by LF and hex-encoded so that any byte
      -- survives the trip back as a header value.
      local raw = tostring(task:get_raw_headers())
      local out = {}
      local pos = 1
      while pos <= #raw do
        local s, e = string.find(raw, '\r?\n[^\t ]', pos)
        local field = s and string.sub(raw, pos, s - 1) or string.sub(raw, pos)
        if string.lower(string.sub(field, 1, 8)) == 'x-exact-' then
          table.insert(out, field)
        end
        if not s then break end
        pos = e
      end
      local hex = string.gsub(table.concat(out, '\n'), '.', function(c)
        return string.format('%02x', string.byte(c))
      end)
      task:set_milter_reply({ add_headers = { ['X-Test-Rawhead'] = hex } })
    elseif m == 'digest' then
      -- What Rspamd received, byte for byte: the suite compares it with
      -- the message the MTA side sent.
      local content = task:get_content()
      task:set_milter_reply({
        add_headers = {
          ['X-Test-Digest'] = hash.create(content):hex(),
          ['X-Test-Length'] = tostring(#content),
        },
      })
    end
  end,
})

-- A scored symbol: "X-Test-Action: spam" gets a reject by score, with no
-- smtp_message, so the milter's own reject_message is used.
rspamd_config:register_symbol({
  name = 'SCANMILTER_TEST_SPAM',
  score = 20.0,
  group = 'scanmilter_test',
  callback = function(task)
    return task:get_header('X-Test-Action') == 'spam'
  end,
})

-- An instance started with RSPAMD_MIRROR=1 (tests/lib.sh) judges a little
-- differently, as a test cluster would: every message gets MIRROR_ONLY,
-- worth 1.5.  tests/integration/t_mirror.sh compares it with the others.
local is_mirror = false
do
  local f = io.open(rspamd_paths['LOCAL_CONFDIR'] .. '/mirror_rules')
  if f then
    is_mirror = true
    f:close()
  end
end
if is_mirror then
  rspamd_config:register_symbol({
    name = 'MIRROR_ONLY',
    score = 1.5,
    group = 'scanmilter_test',
    callback = function(task)
      return true, 'mirror'
    end,
  })
end
