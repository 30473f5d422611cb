#!/bin/bash
# t_connect_late.sh - a scanner whose connect completes late (its accept
# queue was full and the kernel dropped the first SYN; the retransmit about
# 1 s later gets in).  The scan loop hands a new socket to curl once before
# epoll, for connects that complete at once; this one does not, so it must
# then be watched in epoll and the message answered as soon as the connect
# is through, not when connect_timeout (4 s here) runs out.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/connect_late"
mkdir -p "$d"
L=$((T_FAKE_PORT + 10))
cat > "$d/late.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 10; stats_interval = 0; };
upstreams: { default: { hosts = "127.0.0.1:$L"; timeout = 8;
  connect_timeout = 4; max_retries = 0; check_interval = 0; }; };
CF
t_milter "$d/late.conf" "$d/log" || exit 1
python3 "$T_TOP/tests/late_accept.py" "$L" 0.6 >"$d/late.log" 2>&1 &
T_PIDS="$T_PIDS $!"
for _ in $(seq 50); do grep -q full "$d/late.log" && break; sleep 0.1; done
grep -q full "$d/late.log" || { echo "late listener did not start"; exit 1; }
miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid=7LATE1 \
    -D want=accept -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
    -s "$T_TOP/tests/integration/mt/once.lua" > "$d/mt.log" 2>&1 &&
    okay "accepted through a connect that completed late" ||
    fail "not accepted: $(cat "$d/mt.log")"
line=$(grep "7LATE1: " "$d/log")
echo "$line"
ms=$(echo "$line" | sed -n 's/.* time=\([0-9]*\)ms.*/\1/p')
grep -q "served 1" "$d/late.log" && okay "the request reached the late scanner" ||
    fail "the late scanner saw no request"
# About 1 s (the SYN retransmit); 4 s would mean the socket waited for
# curl's connect timeout instead of epoll.
[ -n "$ms" ] && [ "$ms" -ge 500 ] && [ "$ms" -lt 3000 ] &&
    okay "answered ${ms} ms after the scan started, not at the connect timeout" ||
    fail "answered after ${ms:-?} ms"
t_cleanup
[ "$fails" -eq 0 ]
