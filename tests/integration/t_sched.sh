#!/bin/bash
# t_sched.sh - daemon.batch_scheduling: by default every thread of the
# daemon (main, libmilter's, the scan loop's, and those started for a
# connection) runs under SCHED_BATCH; with the option off, SCHED_OTHER.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/sched"
rm -rf "$d"
mkdir -p "$d"

# policies PID - "name:policy" for each thread, one per line.
policies() {
	for t in /proc/"$1"/task/*; do
		echo "$(cat "$t/comm"):$(chrt -p "$(basename "$t")" |
		    sed -n 's/.*scheduling policy: //p')"
	done
}
# check WANT BATCHSETTING - start, one message, look at every thread.
check() {
	cat > "$d/s.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
daemon: { $2 };
upstreams: { default: { hosts = "127.0.0.1:$T_RSPAMD_PORT"; }; };
CF
	t_milter "$d/s.conf" "$d/log" || { fail "no start"; return; }
	miltertest -D mtdir="$T_TOP/tests/integration/mt" -D qid=9SCHED \
	    -D want=accept -D sock="inet:$T_MILTER_PORT@127.0.0.1" \
	    -s "$T_TOP/tests/integration/mt/once.lua" >"$d/mt.log" 2>&1 ||
	    fail "message not accepted: $(tail -2 "$d/mt.log")"
	p=$(policies "$mpid")
	n=$(printf '%s\n' "$p" | wc -l)
	other=$(printf '%s\n' "$p" | grep -v ":$1\$")
	[ -z "$other" ] && [ "$n" -ge 4 ] &&
	    okay "${2:-default}: all $n threads $1" ||
	    fail "${2:-default}: not $1: $other"
	t_cleanup
}
check SCHED_BATCH ""
check SCHED_OTHER "batch_scheduling = false;"
[ "$fails" -eq 0 ]
