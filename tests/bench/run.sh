#!/bin/bash
# run.sh - scanmilter against Rspamd's own proxy worker and direct HTTP,
# in the same run, on the same Rspamd scanners.  Measures; asserts
# nothing.  "make bench" runs it.
#
#   (a) milter client -> scanmilter          -> Rspamd normal workers
#   (b) milter client -> Rspamd proxy (milter mode) -> the same workers
#   (c) HTTP client (keep-alive)             -> the same workers
#   and through Postfix: SMTP client -> Postfix -> (a) or (b) -> workers
#
# For each concurrency: messages per second, p50 and p99 latency (first
# byte to final answer) and the peak RSS of the middle process (scanmilter
# or the proxy worker; "-" for direct HTTP), then the ratios a/b and a/c
# (throughput; above 1 means scanmilter is faster).
#
# Knobs (environment): BENCH_CONC="1 8 32", BENCH_N=600 (messages per
# run), BENCH_SMTP_N=300, BENCH_WORKERS=2 (Rspamd normal workers),
# BENCH_OUT (also write the table there).  Loopback only; every run is
# bounded by its message count and mbench's timeouts.
set -u
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
export T_TOP
: "${T_RSPAMD_PORT:=22333}" "${T_RSPAMD_CTL_PORT:=22334}"
: "${T_RSPAMD_PROXY_PORT:=22332}" "${T_MILTER_PORT:=22339}"
: "${T_SMTP_PORT:=22025}"
. "$T_TOP/tests/lib.sh"
CONC=${BENCH_CONC:-1 8 32}
N=${BENCH_N:-600}
SMTP_N=${BENCH_SMTP_N:-300}
WORKERS=${BENCH_WORKERS:-2}
MB="$T_TOP/build/mbench"
T_TMP=$(t_tmpdir)
export T_TMP
out="$T_TMP/results"
mkdir -p "$T_TMP/corpus" "$T_TMP/logs"

[ -x "$MB" ] && [ -x "$T_BIN" ] || { echo "build first: make all build/mbench"; exit 1; }
python3 "$T_TOP/tests/bench/make-corpus.py" "$T_TMP/corpus" 60
corpus=$(ls "$T_TMP/corpus"/*.eml)

cleanup() {
	postfix -c "$T_TMP/postfix/etc" stop >/dev/null 2>&1
	t_cleanup
	rspamd_stop "$T_TMP/rspamd"
}
trap cleanup EXIT

echo "bench: Rspamd with $WORKERS normal workers and 1 proxy worker, $T_TMP"
rspamd_start "$T_TMP/rspamd" "$WORKERS" 1 || exit 1
cat > "$T_TMP/scanmilter.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 60; stats_interval = 0; };
limits: { max_queue = 4096; };
upstreams: { default: { hosts = "127.0.0.1:$T_RSPAMD_PORT"; timeout = 60; }; };
CF
"$T_BIN" -f -c "$T_TMP/scanmilter.conf" 2>"$T_TMP/logs/scanmilter.log" &
smpid=$!
T_PIDS="$T_PIDS $smpid"
t_wait_port "$T_MILTER_PORT" 10 || { echo "scanmilter did not start"; exit 1; }
proxypid=$(pgrep -f "rspamd_proxy process.*$T_RSPAMD_PROXY_PORT" | head -1)

# peak_reset PID / peak PID - VmHWM of a process, in MB, since the reset.
peak_reset() { [ -n "$1" ] && echo 5 > "/proc/$1/clear_refs" 2>/dev/null; }
peak() {
	[ -n "$1" ] || { echo "-"; return; }
	awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

# one LABEL PID MODE ADDR CONC N - a run; appends "LABEL CONC mps p50 p99 rss"
one() {
	peak_reset "$2"
	line=$("$MB" -m "$3" -a "$4" -c "$5" -n "$6" -k 10 -t 60 $corpus)
	set -- "$1" "$2" $line
	# mode conc n ok reject tempfail other errors secs mps p50 p99
	echo "$1 ${4} ${12} ${13} ${14} $(peak "$2") ok=${6} reject=${7} tempfail=${8} other=${9} errors=${10}" |
	    tee -a "$out" >&2
}

# Warm up every path (connections, Rspamd caches), results discarded.
"$MB" -m milter -a "127.0.0.1:$T_MILTER_PORT" -c 4 -n 100 $corpus >/dev/null
"$MB" -m milter -a "127.0.0.1:$T_RSPAMD_PROXY_PORT" -c 4 -n 100 $corpus >/dev/null
"$MB" -m http -a "127.0.0.1:$T_RSPAMD_PORT" -c 4 -n 100 $corpus >/dev/null

: > "$out"
for c in $CONC; do
	one a-scanmilter "$smpid" milter "127.0.0.1:$T_MILTER_PORT" "$c" "$N"
	one b-rspamd-proxy "$proxypid" milter "127.0.0.1:$T_RSPAMD_PROXY_PORT" "$c" "$N"
	one c-direct-http "" http "127.0.0.1:$T_RSPAMD_PORT" "$c" "$N"
done

# Through Postfix: one instance, one smtpd per milter, discard delivery.
pf="$T_TMP/postfix"
postfix_setup "$pf" <<CF
myhostname = mx.bench.example
relay_domains = bench.example
relay_transport = discard
default_transport = discard
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
--
127.0.0.1:$T_SMTP_PORT inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$T_MILTER_PORT
127.0.0.1:$((T_SMTP_PORT + 1)) inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$T_RSPAMD_PROXY_PORT
CF
if postfix -c "$pf/etc" start && t_wait_port "$((T_SMTP_PORT + 1))" 30; then
	"$MB" -m smtp -a "127.0.0.1:$T_SMTP_PORT" -c 4 -n 40 $corpus >/dev/null
	"$MB" -m smtp -a "127.0.0.1:$((T_SMTP_PORT + 1))" -c 4 -n 40 $corpus >/dev/null
	for c in $CONC; do
		one a-postfix+scanmilter "$smpid" smtp "127.0.0.1:$T_SMTP_PORT" "$c" "$SMTP_N"
		one b-postfix+proxy "$proxypid" smtp "127.0.0.1:$((T_SMTP_PORT + 1))" "$c" "$SMTP_N"
	done
else
	echo "bench: Postfix did not start; skipping the SMTP runs" >&2
fi

# The table and the ratios.
{
	echo
	printf '%-22s %5s %9s %9s %9s %9s\n' path conc msgs/s p50_ms p99_ms peakRSS_MB
	awk '{ printf "%-22s %5s %9s %9s %9s %9s\n", $1, $2, $3, $4, $5, $6 }' "$out"
	echo
	printf '%5s %8s %8s %14s\n' conc a/b a/c postfix_a/b
	for c in $CONC; do
		a=$(awk -v c="$c" '$1 == "a-scanmilter" && $2 == c { print $3 }' "$out")
		b=$(awk -v c="$c" '$1 == "b-rspamd-proxy" && $2 == c { print $3 }' "$out")
		h=$(awk -v c="$c" '$1 == "c-direct-http" && $2 == c { print $3 }' "$out")
		pa=$(awk -v c="$c" '$1 == "a-postfix+scanmilter" && $2 == c { print $3 }' "$out")
		pb=$(awk -v c="$c" '$1 == "b-postfix+proxy" && $2 == c { print $3 }' "$out")
		awk -v c="$c" -v a="$a" -v b="$b" -v h="$h" -v pa="$pa" -v pb="$pb" \
		    'BEGIN { printf "%5s %8.3f %8.3f %14s\n", c, a / b, a / h,
		    (pb > 0 ? sprintf("%.3f", pa / pb) : "-") }'
	done
} | tee "${BENCH_OUT:-$T_TMP/table}"
echo "bench: logs and results in $T_TMP"
