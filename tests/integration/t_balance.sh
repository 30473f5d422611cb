#!/bin/bash
# t_balance.sh - the balancer against real scanners.  Three Rspamd
# instances (the suite's, and two started here) in one round-robin group
# weighted 3:2:1:
#   1. 300 messages split 150/100/50 (smooth weighted round robin is exact
#      over whole cycles; 2% slack);
#   2. the third instance is killed: messages keep being accepted by the
#      other two, the dead one gets at most max_errors attempts, then none;
#   3. it is started again: an answered /ping revives it and it gets
#      traffic again;
#   4. a group of the real Rspamd and six faulty upstreams (refusing,
#      hanging, garbage, reset mid-reply, 500, a connect that never
#      completes): 28 messages, clean and GTUBE in turn, all answered right;
#   5. quick faults (refused, 500, reset) before the real one, inside a
#      0.9 s deadline that a retry waiting for an idle wakeup would miss.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/balance"
mkdir -p "$d"
A=$T_RSPAMD_PORT B=$((T_RSPAMD_PORT + 100)) C=$((T_RSPAMD_PORT + 200))

start_instance() {	# start_instance PORT DIR
	T_RSPAMD_PORT=$1 T_RSPAMD_CTL_PORT=$(($1 + 1)) \
	    T_RSPAMD_PROXY_PORT=$(($1 + 2)) rspamd_start "$2"
}
stop_all() {
	rspamd_stop "$d/rs-b"
	rspamd_stop "$d/rs-c"
	t_cleanup
}
trap stop_all EXIT

start_instance "$B" "$d/rs-b" & pb=$!
start_instance "$C" "$d/rs-c" & pc=$!
wait "$pb" || { echo "second Rspamd did not start"; exit 1; }
wait "$pc" || { echo "third Rspamd did not start"; exit 1; }

# group_conf FILE SCAN_TIMEOUT GROUP - a config whose one upstream group,
# "default", has the options GROUP.
group_conf() {
	cat > "$1" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = $2; stats_interval = 0; };
upstreams: { default: { $3 }; };
CF
}
# faults N - faults.lua: N messages, clean and GTUBE in turn, each of
# which must get its right answer.
faults() {
	miltertest -D port="$T_MILTER_PORT" -D mtdir="$T_TOP/tests/integration/mt" \
	    -D n="$1" -s "$T_TOP/tests/integration/balance/faults.lua"
}

group_conf "$d/rr.conf" 10 "
    hosts = \"round-robin:127.0.0.1:$A:3,127.0.0.1:$B:2,127.0.0.1:$C:1\";
    timeout = 5; connect_timeout = 1; max_retries = 2;
    max_errors = 3; error_time = 30; revive_time = 300;
    check_interval = 1;"
t_milter "$d/rr.conf" "$d/log" || exit 1

count() {	# count N TAG ALLOW -> "PORT COUNT" lines on stdout
	miltertest -D port="$T_MILTER_PORT" -D mtdir="$T_TOP/tests/integration/mt" \
	    -D n="$1" -D tag="$2" -D allow="$3" \
	    -s "$T_TOP/tests/integration/balance/count.lua" |
	    sed -n 's/^scanner \([0-9]*\) \([0-9]*\)$/\1 \2/p'
	return "${PIPESTATUS[0]}"
}
got() { awk -v p="$1" '$1 == p { print $2 }' "$2"; }

# 1. weights
count 300 5W "" > "$d/c1" || fail "weights: a message was not accepted"
na=$(got "$A" "$d/c1"); nb=$(got "$B" "$d/c1"); nc=$(got "$C" "$d/c1")
echo "3:2:1 over 300 messages: $A=${na:-0} $B=${nb:-0} $C=${nc:-0}"
within() { [ "${1:-0}" -ge "$2" ] && [ "${1:-0}" -le "$3" ]; }
within "$na" 147 153 && within "$nb" 98 102 && within "$nc" 49 51 &&
    okay "weights honoured" || fail "weights not honoured"

# 2. kill C
rspamd_stop "$d/rs-c"
count 60 5K "$A,$B" > "$d/c2" || fail "with $C killed: a message was lost or went to $C"
sleep 2	# let the 1 s checks run too
n=$(grep -c "upstream 127.0.0.1:$C: .*retrying" "$d/log")
[ "$n" -le 3 ] && okay "killed upstream tried $n times (max_errors 3), then not" ||
    fail "killed upstream tried $n times"
grep -q "upstream 127.0.0.1:$C: marked dead" "$d/log" &&
    okay "marked dead in the log" || fail "no 'marked dead' line"
kill -USR2 "$mpid"; sleep 1.5
grep -E "upstream 127.0.0.1:$C \(group default\): dead" "$d/log" >/dev/null &&
    okay "SIGUSR2 counters show it dead" || fail "SIGUSR2 counters: $(grep "$C (group" "$d/log")"

# 3. revive C
start_instance "$C" "$d/rs-c" || fail "third Rspamd did not restart"
for _ in $(seq 100); do
	grep -q "upstream 127.0.0.1:$C: answers /ping again" "$d/log" && break
	sleep 0.1
done
grep -q "upstream 127.0.0.1:$C: answers /ping again" "$d/log" &&
    okay "revived by /ping" || fail "not revived"
count 60 5R "" > "$d/c3" || fail "after revival: a message was not accepted"
nc=$(got "$C" "$d/c3")
within "$nc" 8 12 && okay "revived upstream gets its share again ($nc of 60)" ||
    fail "revived upstream got ${nc:-0} of 60"
kill -TERM "$mpid"; wait "$mpid"

# 4. faults: seven upstreams and seven tries, so that every message
# reaches the real one whichever it starts at.  A message can sit out
# both the hang and the stalled connect, so the two timeouts are short
# (a real Rspamd answers these small messages in milliseconds) and 28
# messages, four rounds of the seven, keep the case well inside
# T_CASE_TIMEOUT.
F=$T_FAKE_PORT
group_conf "$d/faults.conf" 15 "
    hosts = \"round-robin:127.0.0.1:$A,127.0.0.1:9,127.0.0.1:$F,127.0.0.1:$((F + 1)),127.0.0.1:$((F + 2)),127.0.0.1:$((F + 3)),127.0.0.1:$((F + 4))\";
    timeout = 0.5; connect_timeout = 0.5; max_retries = 6;
    max_errors = 1000; check_interval = 0;"
t_milter "$d/faults.conf" "$d/log2" || exit 1
faults 28 &&
    okay "28 messages right across refused, hanging, garbage, reset, 500, stalled connect" ||
    fail "a message was answered wrongly across the faults"
for why in "Couldn't connect" "timed out" "not a JSON object" "HTTP status 500" \
    "Recv failure\|transfer closed\|reset"; do
	grep "retried after:" "$d/log2" | grep -q "$why" &&
	    okay "seen and retried: $why" || fail "fault not exercised: $why"
done
# The stalled connect is retried as a connect timeout: the loop watched
# the socket in epoll (a connect that completes at once never gets there).
grep "retried after:" "$d/log2" |
    grep -Eq "127\.0\.0\.1:$((F + 4)): [^;]*(Timeout was reached|timed out)" &&
    okay "seen and retried: a connect that never completes" ||
    fail "fault not exercised: stalled connect"
# One line per message, retries and all: the summary tells them.
many=$(for i in $(seq 28); do
	n=$(grep -c ": 9F$i: \|^9F$i: \| 9F$i: " "$d/log2")
	[ "$n" = 1 ] || echo "9F$i:$n"; done)
[ -z "$many" ] && okay "one log line per message, retries folded in" ||
    fail "not one line per message: $many"
kill -TERM "$mpid"; wait "$mpid"

# 5. quick faults inside a short deadline: a refused connect, a 500 and
# a reset, each answered at once, before every message reaches the real
# scanner.  Their retries must start as soon as the fault is seen: a
# retry left waiting for the loop's next idle wakeup (up to a second)
# would run the message past its 0.9 s deadline into a tempfail.
group_conf "$d/quick.conf" 0.9 "
    hosts = \"sequential:127.0.0.1:9,127.0.0.1:$((F + 3)),127.0.0.1:$((F + 2)),127.0.0.1:$A\";
    timeout = 0.8; connect_timeout = 0.8; max_retries = 3;
    max_errors = 1000; check_interval = 0;"
t_milter "$d/quick.conf" "$d/log3" || exit 1
faults 10 &&
    okay "10 messages right after quick faults within a 0.9 s deadline" ||
    fail "quick faults: a message missed its deadline or was answered wrongly"
# curl tells the reset as "Connection reset by peer" when it reads, or as
# "select/poll returned error" when the poll before the read sees it.
n=$(grep -c "attempts=4 .*Couldn't connect.*HTTP status 500.*\(reset\|select/poll\)" \
    "$d/log3")
[ "$n" -eq 10 ] && okay "each of the 10 went through all three faults" ||
    fail "quick faults: $n of 10 went through all three faults"
[ "$fails" -eq 0 ] || { echo "--- log"; tail -40 "$d/log"; echo "--- log2"; tail -20 "$d/log2"; echo "--- log3"; tail -20 "$d/log3"; }
[ "$fails" -eq 0 ]
