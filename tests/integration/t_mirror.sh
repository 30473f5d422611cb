#!/bin/bash
# t_mirror.sh - mirroring and compare scripts against real scanners.
#   1. Main: the suite's Rspamd.  Mirrors: "test", a second Rspamd started
#      with RSPAMD_MIRROR=1 (its extra rule MIRROR_ONLY adds 1.5 to every
#      message), with probability 0.3, and "dead", a closed port, with
#      probability 1.  200 messages (every fourth GTUBE) all get their
#      right answers; the compare script (mirror/record.lua) saw every
#      message with the main result and the dead mirror's error, and the
#      test mirror's result for the share it drew: 60 of 200 expected, the
#      test accepts 35..85 (about 4 standard deviations), and the second
#      Rspamd's own log counts the same number of tasks.  The mirror
#      scored 1.5 more than main on clean mail, with MIRROR_ONLY.
#   2. A compare script that fails on some messages and loops forever on
#      the others, and a mirror that never answers (the fake's slow port)
#      with max_inflight 2: 20 messages, all answered right; the log shows
#      the script's error, the runaway stop, and dropped copies.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/mirror"
mkdir -p "$d"
M=$((T_RSPAMD_PORT + 300))
stop_all() {
	rspamd_stop "$d/rs-m"
	t_cleanup
}
trap stop_all EXIT

RSPAMD_MIRROR=1 T_RSPAMD_PORT=$M T_RSPAMD_CTL_PORT=$((M + 1)) \
    T_RSPAMD_PROXY_PORT=$((M + 2)) rspamd_start "$d/rs-m" ||
    { echo "mirror Rspamd did not start"; exit 1; }

# start_sm CONF - scanmilter on CONF in the background; sets mpid.
start_sm() {
	t_milter "$1" "$1.log" || exit 1
}
# stop_sm - SIGTERM it and wait for the port.
stop_sm() {
	kill -TERM "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	t_port_free "$T_MILTER_PORT" 10
}
send() {	# send N TAG
	miltertest -D port="$T_MILTER_PORT" -D mtdir="$T_TOP/tests/integration/mt" \
	    -D n="$1" -D tag="$2" -s "$T_TOP/tests/integration/mirror/send.lua"
}

# ---- 1. probability, both results, a dead mirror -------------------------
N=200
export SCANMILTER_TEST_RECORD="$d/record"
: > "$SCANMILTER_TEST_RECORD"
cat > "$d/m1.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 10; stats_interval = 0; };
upstreams: { default: { hosts = "127.0.0.1:$T_RSPAMD_PORT"; timeout = 5; }; };
mirrors: {
  test: { hosts = "127.0.0.1:$M"; probability = 0.3; timeout = 5; };
  dead: { hosts = "127.0.0.1:9"; probability = 1.0; connect_timeout = 1;
          check_interval = 0; };
};
compare: { script = "$T_TOP/tests/integration/mirror/record.lua"; };
CF
"$T_BIN" -t -c "$d/m1.conf" || exit 1
before=$(grep -ac "qid: <MIR" "$d/rs-m/log/rspamd.log")
start_sm "$d/m1.conf"
if send "$N" MIR; then okay "$N messages answered right with mirrors on"
else fail "a message was answered wrongly with mirrors on"; fi
# The last compare runs after the last answer: wait for its lines (bounded).
i=0
while [ "$i" -lt 100 ] && [ "$(grep -c ' main ' "$d/record")" -lt "$N" ]; do
	sleep 0.1; i=$((i + 1))
done
kill -USR2 "$mpid"; sleep 0.5
stop_sm
mains=$(grep -c ' main ' "$d/record")
deads=$(grep -c ' dead ERR ' "$d/record")
tests=$(grep -c ' test ' "$d/record")
seen=$(( $(grep -ac "qid: <MIR" "$d/rs-m/log/rspamd.log") - before ))
echo "compare saw: main $mains, dead (errors) $deads, test $tests; mirror Rspamd logged $seen tasks"
[ "$mains" -eq "$N" ] && okay "the script saw every main result" ||
    fail "the script saw $mains main results, want $N"
[ "$deads" -eq "$N" ] && okay "the dead mirror's error reached the script each time" ||
    fail "dead mirror errors: $deads, want $N"
if [ "$tests" -ge 35 ] && [ "$tests" -le 85 ]; then
	okay "probability 0.3: $tests of $N copies"
else
	fail "probability 0.3: $tests of $N copies, want 35..85"
fi
[ "$seen" -eq "$tests" ] && okay "the mirror Rspamd scanned exactly those $seen" ||
    fail "mirror Rspamd scanned $seen, the script saw $tests"
grep ' dead ERR ' "$d/record" | head -1
# Clean messages (GTUBE stops all rules): mirror = main + 1.5, and only the
# mirror has MIRROR_ONLY.
bad=$(awk '$2 == "main" { a[$1] = $4; m[$1] = $5 }
           $2 == "test" && $3 != "ERR" { t[$1] = $4; tm[$1] = $5 }
           END { for (q in t) if (a[q] < 10 && (m[q] != "-" ||
                 tm[q] != "MIRROR_ONLY" || t[q] - a[q] < 1.49 ||
                 t[q] - a[q] > 1.51)) n++
                 print n + 0 }' "$d/record")
[ "$bad" -eq 0 ] && okay "mirror results differ from main by MIRROR_ONLY (+1.5)" ||
    fail "$bad mirrored messages do not show the mirror's rule"
grep -a "mirror test: fired=" "$d/m1.conf.log" | tail -1
grep -a "mirror dead: fired=$N " "$d/m1.conf.log" >/dev/null &&
    okay "stats: dead mirror fired $N" || fail "no stats line for the dead mirror"

# ---- 2. a failing and runaway script, a mirror that never answers --------
cat > "$d/bad.lua" <<'LUA'
return function(results, msg)
  local n = tonumber(string.match(msg.qid, "%d+$"))
  if n % 2 == 1 then
    error("boom on " .. msg.qid)
  end
  local x = 0
  while true do
    pcall(function() while true do x = x + 1 end end)
  end
end
LUA
cat > "$d/m2.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 10; stats_interval = 0; };
upstreams: { default: { hosts = "127.0.0.1:$T_RSPAMD_PORT"; timeout = 5; }; };
mirrors: {
  slow: { hosts = "127.0.0.1:$T_FAKE_PORT"; probability = 1.0; timeout = 3;
          max_inflight = 2; check_interval = 0; };
};
compare: { script = "$d/bad.lua"; timeout = 0.2; };
CF
start_sm "$d/m2.conf"
if send 20 BAD; then okay "20 messages answered right with a bad script"
else fail "a message was answered wrongly with a bad script"; fi
sleep 4	# the two copies in flight time out (3 s) and their sets run
kill -USR2 "$mpid"; sleep 0.5
stop_sm
grep -aq "compare: script failed: .*boom on BAD" "$d/m2.conf.log" &&
    okay "the script's error is logged" || fail "no 'boom' in the log"
grep -aq "compare: script failed: runaway script" "$d/m2.conf.log" &&
    okay "the runaway script is stopped and logged" || fail "no 'runaway script' in the log"
grep -a "mirror slow: fired=" "$d/m2.conf.log" | tail -1
grep -aEq "mirror slow: fired=20 dropped=1[0-9] " "$d/m2.conf.log" &&
    okay "copies over max_inflight dropped and counted" ||
    fail "want 18 or so copies dropped for the slow mirror"
[ "$fails" -eq 0 ]
