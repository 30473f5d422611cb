#!/bin/bash
# run.sh - scanmilter's test runner.
#
#   tests/run.sh unit   cmocka unit tests (build/tests/test_*)
#   tests/run.sh all    unit, then integration (miltertest against the daemon
#                       and a real Rspamd), then end to end (Postfix)
#
# T_ONLY=WORD runs only the integration cases whose name contains WORD;
# T_KEEP=1 keeps the test directory (logs) even when everything passed.
#
# Every case prints one "PASS name" or "FAIL name" line; the last line is
# "N passed, N failed".  Exit status is 0 only if nothing failed and at
# least one case ran.  Needs root for the integration part (Rspamd and
# Postfix run as their own users); everything listens on 127.0.0.1.
set -u
what=${1:-all}
T_TOP=$(cd "$(dirname "$0")/.." && pwd)
export T_TOP
. "$T_TOP/tests/lib.sh"

passed=0
failed=0
failures=""

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() {
	failed=$((failed + 1))
	failures="$failures $1"
	echo "FAIL $1"
}

# run_unit - each cmocka binary; its own PASSED/FAILED counts are ours.
run_unit() {
	for t in "$T_TOP"/build/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		name=unit/$(basename "$t")
		# Bounded: a unit test that hangs is a failure, not a stuck run.
		out=$(timeout "${T_UNIT_TIMEOUT:-300}" "$t" 2>&1)
		rc=$?
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		if [ "$rc" -ne 0 ] || [ -z "$p$f" ]; then
			printf '%s\n' "$out" | grep -E 'ERROR|FAILED|LINE' | sed 's/^/    /'
			[ -z "$f" ] && failed=$((failed + 1))
			failures="$failures $name"
			echo "FAIL $name"
		else
			echo "PASS $name (${p} tests)"
		fi
	done
}

# run_case NAME CMD... - one integration case, bounded by T_CASE_TIMEOUT.
run_case() {
	name=$1
	shift
	case "$name" in *${T_ONLY:-}*) ;; *) return 0 ;; esac
	log="$T_TMP/logs/$(echo "$name" | tr '/' '_').log"
	t0=$SECONDS
	timeout "${T_CASE_TIMEOUT:-120}" "$@" >"$log" 2>&1
	rc=$?
	# The time taken tells a case that hit T_CASE_TIMEOUT (exit 124) from
	# one that failed a check, and shows a case creeping towards it.
	if [ "$rc" -eq 0 ]; then
		pass "$name ($((SECONDS - t0))s)"
	else
		fail "$name ($((SECONDS - t0))s, exit $rc)"
		sed 's/^/    /' "$log" | tail -25
	fi
}

# reap_filters - a miltertest that died leaves its filter running: stop it
# so that the next case gets the port.
reap_filters() {
	pkill -TERM -f "^$T_BIN -f -c $T_TMP/conf/" 2>/dev/null || return 0
	t_port_free "$T_MILTER_PORT" 5 ||
	    pkill -KILL -f "^$T_BIN -f -c $T_TMP/conf/" 2>/dev/null
	t_port_free "$T_MILTER_PORT" 5
}

# run_miltertest - every tests/integration/mt/t_*.lua under miltertest.
# A script names the config it wants on its first line ("-- conf: NAME");
# with several names it runs once per config, as case "script[NAME]".
run_miltertest() {
	for s in "$T_TOP"/tests/integration/mt/t_*.lua; do
		confs=$(sed -n '1s/^-- conf: *//p' "$s")
		set -- ${confs:-basic}
		for conf in "$@"; do
			name=miltertest/$(basename "$s" .lua)
			[ "$#" -gt 1 ] && name="$name[$conf]"
			run_case "$name" \
			    miltertest -D bin="$T_BIN" \
			    -D conf="$T_TMP/conf/$conf.conf" \
			    -D port="$T_MILTER_PORT" -D tmp="$T_TMP" \
			    -D mtdir="$T_TOP/tests/integration/mt" -s "$s"
			reap_filters
		done
	done
}

# run_shell_cases - every tests/integration/t_*.sh and tests/e2e/t_*.sh.
run_shell_cases() {
	for s in "$T_TOP"/tests/integration/t_*.sh "$T_TOP"/tests/e2e/t_*.sh; do
		[ -f "$s" ] || continue
		dir=$(basename "$(dirname "$s")")
		run_case "$dir/$(basename "$s" .sh)" bash "$s"
	done
}

# setup_integration - tmp dir, configs, Rspamd, fake upstreams.
setup_integration() {
	T_TMP=$(t_tmpdir)
	export T_TMP
	mkdir -p "$T_TMP/logs" "$T_TMP/conf" "$T_TMP/spillfail"
	for c in "$T_TOP"/tests/integration/conf/*.conf "$T_TOP"/tests/integration/conf/*.inc; do
		t_conf "$c" "$T_TMP/conf/$(basename "$c")"
	done
	echo "integration: starting Rspamd on 127.0.0.1:$T_RSPAMD_PORT ($T_TMP)"
	if ! rspamd_start "$T_TMP/rspamd"; then
		fail "integration/rspamd-start"
		return 1
	fi
	python3 "$T_TOP/tests/fake_upstream.py" "$T_FAKE_PORT" \
	    >"$T_TMP/logs/fake_upstream.log" 2>&1 &
	T_PIDS="$T_PIDS $!"
	t_wait_port "$T_FAKE_PORT" 10 || { fail "integration/fake-upstream-start"; return 1; }
	return 0
}

teardown_integration() {
	t_cleanup
	rspamd_stop "$T_TMP/rspamd"
	if [ "$failed" -eq 0 ] && [ -z "${T_KEEP:-}" ]; then
		rm -rf "$T_TMP"
	else
		echo "integration: logs kept in $T_TMP"
	fi
}

run_unit
if [ "$what" = all ]; then
	if setup_integration; then
		export T_RSPAMD_PORT T_MILTER_PORT T_FAKE_PORT T_SMTP_PORT
		run_miltertest
		run_shell_cases
	fi
	teardown_integration
fi

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
