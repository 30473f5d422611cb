#!/bin/bash
# t_daemon.sh - the daemon as an operator runs it:
#   - unix socket created with milter.umask, handed to daemon.user, and the
#     process runs as that user after opening it;
#   - pidfile written and removed at exit; without -f it detaches;
#   - SIGUSR1 reloads: a bad file is refused (logged, the running config
#     stays, the daemon keeps answering); a good one is taken, new
#     upstreams included (the dead scanner is replaced by the real one);
#   - a message that cannot be scanned gets exactly one log line, with its
#     queue id, and SIGTERM ends the process cleanly;
#   - SIGUSR2's counters show libmilter's reads served by milterio, and
#     sessions that waited for the MTA on their own thread.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/daemon"
rm -rf "$d"
mkdir -p "$d/run"
chown nobody:nogroup "$d/run"

write_conf() {	# write_conf FILE TIMEOUT HOSTS
	cat > "$1" <<CF
milter: { socket = "unix:$d/run/scanmilter.sock"; umask = "0007"; };
daemon: { user = "nobody"; pidfile = "$d/run/scanmilter.pid"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = $2; };
upstreams: { default: { hosts = "$3"; max_retries = 0; }; };
CF
}
write_conf "$d/a.conf" 5 127.0.0.1:9

once() {	# once QID WANT [PAUSE] - one message through the daemon
	miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid="$1" \
	    -D want="$2" -D sock="unix:$d/run/scanmilter.sock" \
	    ${3:+-D pause="$3"} -s "$T_TOP/tests/integration/mt/once.lua"
}

# Detached start: the command returns, the daemon lives on.  The config
# is named relative to the directory it starts in, which it leaves.
(cd "$d" && "$T_BIN" -c a.conf) || fail "detached start exited non-zero"
for _ in $(seq 50); do [ -s "$d/run/scanmilter.pid" ] && break; sleep 0.1; done
pid=$(cat "$d/run/scanmilter.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	okay "detached, pid $pid"
	[ "$(stat -c %U "/proc/$pid")" = nobody ] && okay "runs as nobody" ||
	    fail "runs as $(stat -c %U "/proc/$pid")"
	sock="$d/run/scanmilter.sock"
	[ "$(stat -c '%U %a' "$sock")" = "nobody 770" ] &&
	    okay "socket nobody 770" || fail "socket is $(stat -c '%U %a' "$sock")"
	# Its reload finds the file it was started with.
	write_conf "$d/a.conf" 5 "127.0.0.1:$T_RSPAMD_PORT"
	kill -USR1 "$pid"; sleep 1
	once 7QUEUEID0 accept &&
	    okay "detached, started with a relative -c, reloads that file" ||
	    fail "detached: the reload did not take the file it started with"
	write_conf "$d/a.conf" 5 127.0.0.1:9
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "still running 10 s after SIGTERM"
	[ -e "$d/run/scanmilter.pid" ] && fail "pidfile left behind" ||
	    okay "pidfile removed at exit"
else
	fail "no running daemon after a detached start"
fi

# Foreground, with logs: a failure line per message, reloads.
"$T_BIN" -f -c "$d/a.conf" 2>"$d/log" &
pid=$!
for _ in $(seq 50); do [ -S "$d/run/scanmilter.sock" ] && break; sleep 0.1; done
once 7QUEUEID1 tempfail ||
    fail "scanner down: not answered with a reply code"
n=$(grep -c '7QUEUEID1' "$d/log")
[ "$n" = 1 ] && okay "one log line for the failed message" ||
    fail "$n log lines for 7QUEUEID1"
grep -q '7QUEUEID1: tempfail (tempfail) not scanned: connect failed' "$d/log" &&
    okay "the line says tempfail and why" || fail "log line: $(grep 7QUEUEID1 "$d/log")"

echo 'scan: { timeout = = 1; };' > "$d/b.conf"
cp "$d/a.conf" "$d/a.conf.good"
cp "$d/b.conf" "$d/a.conf"
kill -USR1 "$pid"; sleep 1
grep -q "reload refused, keeping the running config: $d/a.conf:1: syntax error" "$d/log" &&
    okay "bad reload refused with file:line" || fail "bad reload not reported"
kill -0 "$pid" 2>/dev/null && okay "still running after a bad reload" ||
    fail "died on a bad reload"
# libconfig's scanner exits the process on an @include it cannot read as
# a file (a directory): the pre-check must refuse it first.
cp "$d/a.conf.good" "$d/a.conf"
echo '@include "."' >> "$d/a.conf"
kill -USR1 "$pid"; sleep 1
grep -q "reload refused, keeping the running config: $d/a.conf:[0-9]*: @include \"$d/.\": not a regular file" "$d/log" &&
    okay "reload with @include of a directory refused" ||
    fail "@include of a directory not reported: $(tail -2 "$d/log")"
kill -0 "$pid" 2>/dev/null && okay "still running after @include of a directory" ||
    fail "died on a reload with @include of a directory"
write_conf "$d/a.conf" 7 "127.0.0.1:$T_RSPAMD_PORT"
kill -USR1 "$pid"; sleep 1
grep -q "configuration reloaded from $d/a.conf" "$d/log" &&
    okay "good reload taken" || fail "good reload not reported"
# The MTA pauses 0.2 s before this message: the session waits for it on
# its own thread (counted in the SIGUSR2 line below).
once 7QUEUEID2 accept 0.2 &&
    okay "after the reload the new upstream scans" ||
    fail "the reloaded upstreams are not used"
grep -q "7QUEUEID2: accept" "$d/log" || fail "no accept line for 7QUEUEID2"
# SIGUSR2 logs the counters, milterio's among them: libmilter's socket
# calls in this very binary go through it (milter.buffered_io is on).
kill -USR2 "$pid"; sleep 1
io=$(grep 'milter I/O:' "$d/log" | tail -1)
served=$(echo "$io" | sed -n 's/.*reads served=\([0-9]*\).*/\1/p')
[ "${served:-0}" -gt 0 ] && okay "buffered milter I/O: $io" ||
    fail "no reads served from the buffer: '$io'"
# Debian's libmilter hands a session to its worker pool when the MTA is
# quiet for 1 ms; here the session waited on its own thread instead (the
# counter counts only waits longer than that 1 ms).
kept=$(echo "$io" | sed -n 's/.*idle waits kept=\([0-9]*\).*/\1/p')
[ "${kept:-0}" -gt 0 ] && okay "sessions kept on their threads: $kept" ||
    fail "no idle wait kept: '$io'"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] && okay "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
grep -q "stopped" "$d/log" && okay "logged its stop" || fail "no stop line"
[ "$fails" -eq 0 ] || { echo "--- log"; cat "$d/log"; }
[ "$fails" -eq 0 ]
