#!/bin/bash
# t_shutdown.sh - SIGTERM while a message waits for a slow scanner, and
# while another one's MTA stalls after its headers: both messages still get
# their answer (here the failure answer, when the 8 s scan deadline
# passes), then the daemon exits 0.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/shutdown"
mkdir -p "$d"
t_milter "$T_TMP/conf/slow_drain.conf" "$d/log" || exit 1
pid=$mpid
miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid=8SHUTDOWN1 \
    -D want=tempfail -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
    -s "$T_TOP/tests/integration/mt/once.lua" > "$d/mt.log" 2>&1 &
mtpid=$!
# A second MTA connection stalls in the middle of its message (after the
# headers) across the stop: the session must still take the rest of the
# message, and the message its answer.  libmilter's listener notices the
# SIGTERM within about 5 s (its poll interval), so the stall lasts 7 s to
# span the moment smfi_main returns and milterio_stop wakes idle sessions.
miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid=8SHUTDOWN2 \
    -D want=tempfail -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
    -D mid_pause=7 -s "$T_TOP/tests/integration/mt/once.lua" \
    > "$d/mt2.log" 2>&1 &
mt2pid=$!
# Wait until the scan is under way (the fake slow upstream logs it).
for _ in $(seq 50); do
	grep -q "8SHUTDOWN1" "$d/log" 2>/dev/null && break
	grep -q "slow /checkv2" "$T_TMP/logs/fake_upstream.log" 2>/dev/null && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$pid"
wait "$mtpid"; mtrc=$?
wait "$mt2pid"; mt2rc=$?
wait "$pid"; rc=$?
cat "$d/mt.log" "$d/mt2.log"
grep -E "stopping|8SHUTDOWN1|stopped" "$d/log"
[ "$mtrc" = 0 ] || { echo "FAIL: the message in flight got no tempfail"; exit 1; }
[ "$rc" = 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
grep -q "8SHUTDOWN1: tempfail" "$d/log" || { echo "FAIL: no summary line"; exit 1; }
[ "$mt2rc" = 0 ] ||
    { echo "FAIL: the message stalled across the stop got no tempfail"; exit 1; }
grep -q "8SHUTDOWN2: tempfail" "$d/log" ||
    { echo "FAIL: no summary line for the stalled message"; exit 1; }
grep -q "stopping: waiting for 2 message(s) in progress" "$d/log" ||
    { echo "FAIL: shutdown did not wait for both messages"; exit 1; }
echo "ok: answered during shutdown, exit 0"
