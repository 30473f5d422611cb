-- common.lua - helpers for the miltertest cases (loaded with dofile).
-- Globals set by tests/run.sh with -D: bin, conf, port, data, tmp, mtdir.

-- check - fail the case with a message naming what was expected.
-- (miltertest does not print a script's error, so say it first.)
function check(cond, what)
  if not cond then
    mt.echo("check failed: " .. what)
    error("check failed: " .. what, 2)
  end
end

-- ok - a miltertest call succeeded (they return nil on success).
function ok(err, what)
  if err ~= nil then
    mt.echo(what .. ": " .. tostring(err))
    error(what .. ": " .. tostring(err), 2)
  end
end

-- open - start scanmilter on the case's config, connect, negotiate with
-- libmilter's defaults and announce a client from 127.0.0.2.
-- (With -D nostart=1 the filter is already running: only connect, to
-- -D sock=SPEC if given, else to the port.)
function open()
  if nostart == nil then
    mt.startfilter(bin, "-f", "-c", conf)
  end
  mt.set_timeout(30)
  local spec = sock or ("inet:" .. port .. "@127.0.0.1")
  local conn = mt.connect(spec, 100, 0.1)
  check(conn ~= nil, "connect to scanmilter at " .. spec)
  ok(mt.negotiate(conn, nil, nil, nil), "negotiate")
  check(mt.test_option(conn, SMFIP_HDR_LEADSPC),
        "scanmilter asks for SMFIP_HDR_LEADSPC")
  ok(mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.net",
              "{daemon_name}", "scanmilter-test"), "connect macros")
  ok(mt.conninfo(conn, "client.example.net", "127.0.0.2"), "conninfo")
  ok(mt.helo(conn, "client.example.net"), "helo")
  return conn
end

-- clean_headers - a well-formed header block.  Values are given without
-- the blank after the colon: miltertest, like an MTA, puts it back itself
-- when the filter negotiated SMFIP_HDR_LEADSPC.
function clean_headers(subject)
  return {
    { "From", "Alice <alice@example.org>" },
    { "To", "Bob <bob@example.org>" },
    { "Subject", subject or "Lunch on Friday" },
    { "Date", "Wed, 25 Nov 2026 09:00:00 +0000" },
    { "Message-ID", "<t1@example.org>" },
  }
end

GTUBE = "*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

-- send - one message on conn; m = { qid, from, rcpts, headers, body,
-- bodyfile, chunks }.  Returns the reply to end of message.
function send(conn, m)
  ok(mt.macro(conn, SMFIC_MAIL, "i", m.qid or "4AbCdEfGh1",
              "{auth_authen}", m.user or ""), "mail macros")
  ok(mt.mailfrom(conn, m.from or "<alice@example.org>"), "mailfrom")
  for _, r in ipairs(m.rcpts or { "<bob@example.org>" }) do
    ok(mt.rcptto(conn, r), "rcptto " .. r)
  end
  for _, h in ipairs(m.headers or clean_headers()) do
    ok(mt.header(conn, h[1], h[2]), "header " .. h[1])
  end
  ok(mt.eoh(conn), "eoh")
  if m.pause_after_eoh then	-- an MTA that stalls in the middle
    mt.sleep(m.pause_after_eoh)
  end
  if m.bodyfile then
    ok(mt.bodyfile(conn, m.bodyfile), "bodyfile")
  end
  for _, c in ipairs(m.chunks or {}) do
    ok(mt.bodystring(conn, c), "body chunk")
  end
  if m.body then
    ok(mt.bodystring(conn, m.body), "body")
  end
  ok(mt.eom(conn), "eom")
  return mt.getreply(conn)
end

-- header_value - the nth (0-based) added header's value without the
-- leading blank scanmilter adds for an MTA that negotiated LEADSPC.
function header_value(conn, name, n)
  local v = mt.getheader(conn, name, n or 0)
  if v == nil then
    return nil
  end
  return (string.gsub(v, "^ ", ""))
end

function expect_reply(conn, want, what)
  local got = mt.getreply(conn)
  check(got == want, what .. ": reply " .. tostring(got) .. ", want " ..
        tostring(want))
end

function expect_smtp(conn, rcode, xcode, text)
  check(mt.eom_check(conn, MT_SMTPREPLY, rcode, xcode, text),
        "SMTP reply " .. rcode .. " " .. xcode .. " " .. text)
end

-- added - the filter added the header at end of message (appended, or
-- inserted at a position: Rspamd's "order" makes inserts).
function added(conn, name, value)
  if value ~= nil then
    return mt.eom_check(conn, MT_HDRADD, name, value) or
           mt.eom_check(conn, MT_HDRINSERT, name, value)
  end
  return mt.eom_check(conn, MT_HDRADD, name) or
         mt.eom_check(conn, MT_HDRINSERT, name)
end
