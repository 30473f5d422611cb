#!/bin/bash
# t_linger.sh - the scanner, not scanmilter, closes each connection first,
# so TIME_WAIT (60 s per connection) stays on the scanner's side and does
# not pin scanmilter's local ports (src/linger.h).  Rspamd closes right
# after its reply: 30 scans through it must leave no new TIME_WAIT socket
# toward its port on our side, and each of the 30 connections is closed
# after Rspamd's own close (at once, or when its time is up).  A scanner that says "Connection: close"
# but keeps the connection open (fake, port +5) gets our close after
# LINGER_MS, and its message is answered all the same.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/linger"
mkdir -p "$d"
# tw_list PORT - our ends (address:port) of the TIME_WAIT sockets toward
# 127.0.0.1:PORT, sorted.  Taken before and after the scans, so that
# others (the harness's own probe of Rspamd's port, which closes first)
# are not counted.
tw_list() {
	ss -Htan state time-wait "( dport = :$1 )" | awk '{ print $3 }' | sort
}
conf() {
	cat > "$1" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 10; stats_interval = 0; };
upstreams: { default: { hosts = "127.0.0.1:$2"; max_retries = 0;
  check_interval = 0; }; };
CF
}
# scan N QID_PREFIX - N messages through miltertest, each accepted.
scan() {
	for i in $(seq "$1"); do
		miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid="$2$i" \
		    -D want=accept -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
		    -s "$T_TOP/tests/integration/mt/once.lua" >>"$d/mt.log" 2>&1 ||
		    return 1
	done
}
# counters LOG PATTERN WHAT - SIGUSR2 to $mpid, then its linger counters
# line must match PATTERN (grep); WHAT says what that shows.
counters() {
	kill -USR2 "$mpid"
	for _ in $(seq 20); do grep -q "scanner connections closed" "$1" && break; sleep 0.1; done
	line=$(grep "scanner connections closed" "$1" | tail -1)
	echo "$line"
	echo "$line" | grep -q "$2" && okay "$3" || fail "linger counters: $line"
}

conf "$d/rspamd.conf" "$T_RSPAMD_PORT"
t_milter "$d/rspamd.conf" "$d/log" || exit 1
tw_before=$(tw_list "$T_RSPAMD_PORT")
scan 30 LNG && okay "30 messages through Rspamd accepted" ||
    fail "a message was not accepted: $(tail -5 "$d/mt.log")"
n=$(grep -c "LNG[0-9]*: accept" "$d/log")
[ "$n" -eq 30 ] && okay "30 accept lines" || fail "$n accept lines of 30"
tw=$(comm -13 <(echo "$tw_before") <(tw_list "$T_RSPAMD_PORT") | grep -c .)
[ "$tw" -eq 0 ] && okay "no TIME_WAIT left on our side toward Rspamd" ||
    fail "$tw new TIME_WAIT sockets toward Rspamd on our side"
# A connection whose FIN came after the loop's pass waits out of epoll
# for its time (LINGER_MS, plus up to LINGER_SLACK_MS): let those close.
sleep 0.5
counters "$d/log" "own close=\([3-9][0-9]\|[1-9][0-9][0-9]\) of" \
    "each held connection closed after Rspamd's own close"
echo "$line" | grep -q "bytes unread=0," &&
    okay "none of them had failed or left bytes unread" ||
    fail "linger counters: $line"
t_cleanup

conf "$d/open.conf" "$((T_FAKE_PORT + 5))"
t_milter "$d/open.conf" "$d/log2" || exit 1
scan 2 LNGO && okay "a scanner that keeps its connection open: messages accepted" ||
    fail "not accepted through the open scanner: $(tail -5 "$d/mt.log")"
sleep 0.5
counters "$d/log2" "after 200 ms=2," \
    "its two connections closed by us after the linger time"
t_cleanup
[ "$fails" -eq 0 ]
