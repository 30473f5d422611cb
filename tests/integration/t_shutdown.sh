#!/bin/bash
# t_shutdown.sh - SIGTERM while a message waits for a slow scanner: the
# message still gets its answer (here the failure answer, when the 8 s scan
# deadline passes), then the daemon exits 0.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/shutdown"
mkdir -p "$d"
"$T_BIN" -f -c "$T_TMP/conf/slow_drain.conf" 2>"$d/log" &
pid=$!
t_wait_port "$T_MILTER_PORT" 10 || { echo "scanmilter did not start"; exit 1; }
cat > "$d/msg.lua" <<'LUA'
conn = mt.connect("inet:" .. port .. "@127.0.0.1", 50, 0.1)
if conn == nil then error("connect") end
mt.set_timeout(30)
mt.negotiate(conn, nil, nil, nil)
mt.conninfo(conn, "client.example.net", "127.0.0.2")
mt.helo(conn, "client.example.net")
mt.macro(conn, SMFIC_MAIL, "i", "8SHUTDOWN1")
mt.mailfrom(conn, "<a@example.org>")
mt.rcptto(conn, "<b@example.org>")
mt.header(conn, "Subject", "x")
mt.eoh(conn)
mt.bodystring(conn, "hello\r\n")
mt.eom(conn)
if mt.getreply(conn) ~= SMFIR_REPLYCODE or
   not mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1",
       "Message scanning temporarily unavailable, try again later") then
  mt.echo("reply " .. tostring(mt.getreply(conn)))
  error("no tempfail for the message in flight")
end
LUA
miltertest -D port="$T_MILTER_PORT" -s "$d/msg.lua" > "$d/mt.log" 2>&1 &
mtpid=$!
# Wait until the scan is under way (the fake slow upstream logs it).
for _ in $(seq 50); do
	grep -q "8SHUTDOWN1" "$d/log" 2>/dev/null && break
	grep -q "slow /checkv2" "$T_TMP/logs/fake_upstream.log" 2>/dev/null && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$pid"
wait "$mtpid"; mtrc=$?
wait "$pid"; rc=$?
cat "$d/mt.log"
grep -E "stopping|8SHUTDOWN1|stopped" "$d/log"
[ "$mtrc" = 0 ] || { echo "FAIL: the message in flight got no tempfail"; exit 1; }
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
grep -q "8SHUTDOWN1: tempfail" "$d/log" || { echo "FAIL: no summary line"; exit 1; }
grep -q "stopping: waiting for 1 message(s) in progress" "$d/log" ||
    { echo "FAIL: shutdown did not wait for the message"; exit 1; }
echo "ok: answered during shutdown, exit 0"
