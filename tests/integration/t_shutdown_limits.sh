#!/bin/bash
# t_shutdown_limits.sh - how long a stop waits, and what it says when it
# cannot wait any longer:
#   1. a reload raises scan.timeout from 1 s to 15 s; a message scanned
#      under the new config (a scanner that never answers) when SIGTERM
#      comes still gets its answer when its own 15 s deadline passes,
#      although the config the daemon started with allowed only 1 s, and
#      the log does not call it unanswered on the way;
#   2. a message whose MTA stalls in the middle of it for longer than the
#      stop waits is logged with its queue id as cut off by the stop (the
#      MTA applies its milter_default_action), and the daemon exits 0.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/shutdown_limits"
rm -rf "$d"
mkdir -p "$d"

write_conf() {	# write_conf FILE TIMEOUT
	cat > "$1" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = $2; };
upstreams: { default: { hosts = "127.0.0.1:$T_FAKE_PORT"; timeout = $2;
    max_retries = 0; }; };
CF
}
once() {	# once QID [MID_PAUSE] - one message, tempfail wanted
	miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid="$1" \
	    -D want=tempfail -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
	    ${2:+-D mid_pause="$2"} -s "$T_TOP/tests/integration/mt/once.lua"
}
# until_log FILE PATTERN SECONDS - wait for a line; 1 if it never comes.
until_log() {
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. Raised by a reload.
write_conf "$d/a.conf" 1
t_milter "$d/a.conf" "$d/log1" || exit 1
pid=$mpid
write_conf "$d/a.conf" 15
kill -USR1 "$pid"
until_log "$d/log1" "configuration reloaded" 10 || fail "no reload"
slow_before=$(grep -c "slow /checkv2" "$T_TMP/logs/fake_upstream.log")
once 9RELOADED > "$d/mt1.log" 2>&1 &
mtpid=$!
for _ in $(seq 50); do
	[ "$(grep -c "slow /checkv2" "$T_TMP/logs/fake_upstream.log")" -gt \
	    "$slow_before" ] && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$pid"
wait "$mtpid"; mtrc=$?
wait "$pid"; rc=$?
[ "$mtrc" = 0 ] && okay "answered after the stop, by the reloaded deadline" ||
    fail "the message scanned under the reloaded config got no answer: $(tail -3 "$d/mt1.log")"
grep -q "9RELOADED: tempfail (tempfail) not scanned: timeout" "$d/log1" &&
    okay "its summary line says timeout" ||
    fail "summary: $(grep 9RELOADED "$d/log1")"
grep -q "unanswered" "$d/log1" &&
    fail "the log calls the message unanswered: $(grep unanswered "$d/log1")" ||
    okay "no false 'unanswered' line"
[ "$rc" = 0 ] && okay "exit 0" || fail "exit status $rc"

# 2. Cut off: the MTA stalls 25 s after the headers; the stop waits the
# 1 s scan timeout and its grace (5 s) after libmilter has stopped.
write_conf "$d/b.conf" 1
t_milter "$d/b.conf" "$d/log2" || exit 1
pid=$mpid
once 9CUTOFF 25 > "$d/mt2.log" 2>&1 &
mtpid=$!
# Nothing is logged before end of message at this level: miltertest sends
# MAIL and the headers at once, then stalls.  Were it slower than this,
# no line would name 9CUTOFF and the case would fail, not pass.
sleep 1.5
kill -TERM "$pid"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "still running 20 s after SIGTERM"
wait "$pid"; rc=$?
kill "$mtpid" 2>/dev/null
wait "$mtpid" 2>/dev/null
grep -E "stopping|9CUTOFF|stopped" "$d/log2"
grep -q "9CUTOFF: unanswered (stopping): the MTA was still sending the message" \
    "$d/log2" && okay "the cut-off message is named with its queue id" ||
    fail "no line naming 9CUTOFF"
n=$(grep -c "9CUTOFF" "$d/log2")
[ "$n" = 1 ] && okay "one line for it" || fail "$n lines for 9CUTOFF"
[ "$rc" = 0 ] && okay "exit 0" || fail "exit status $rc"
[ "$fails" -eq 0 ]
