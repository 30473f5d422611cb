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
# byte to final answer), the peak RSS of the middle process (scanmilter or
# the proxy worker; "-" for direct HTTP) and its CPU time per message, the
# Rspamd normal workers' CPU time per message (scanner_cpu: whether a path
# makes the scanners themselves work harder), then the ratios a/b and a/c
# (throughput; above 1 means scanmilter is faster).
#
# Then the cost of the wire options: the same milter runs through three
# more scanmilter instances that compress, encrypt (HTTPCrypt to the
# worker's key), or both, against plain scanmilter in the same run: their
# throughput ratio to plain and scanmilter's CPU time per message.  (The
# scanners' own cost of decrypting and decompressing shows in throughput.)
#
# And the cost of mirroring on the main path: one more instance copies
# every message (probability 1) to a mirror and runs a compare script
# (lua/compare/log_scores.lua) on each.  The mirror is a second real
# Rspamd (one normal worker, started with RSPAMD_MIRROR=1 as the test
# suite's mirror is), as a test cluster would be; on this machine it
# shares the CPU with the main scanners, so what the main path loses at
# higher concurrency includes the mirror cluster's own work.
#
# Last, self-scan: scanmilter scanning in process with its built-in rules
# against Rspamd's proxy worker with self_scan = yes (a second proxy
# worker of the same Rspamd).  The two run different rule sets (Rspamd's
# full stock rules against scanmilter's small built-in set), so this
# compares deployments a small site would choose between, not engines.
#
# Runs on a small shared machine vary by 10% and more from one to the
# next, so every path (Postfix's too) runs BENCH_REPS times, the paths
# taking turns, and the table gives the median run of each path by msgs/s
# (its p50 and p99 with it), the highest peak RSS and the mean CPU time
# per message of its runs; "runs" says how many.  The three main paths
# start each round in a different order (a b c, b c a, c a b, ...), so
# that none always runs first or right after another.  The ratios are
# given twice: of the medians, and paired, the median over rounds of the
# ratio within a round (runs a few seconds apart share the machine's
# mood), with the lowest and highest round beside it.
#
# Knobs (environment): BENCH_CONC="1 8 32", BENCH_N=600 (messages per
# run), BENCH_REPS=5, BENCH_SMTP_N=300, BENCH_WORKERS=2 (Rspamd normal
# workers), BENCH_OUT (also write the table there), BENCH_PARTS="main wire
# mirror self postfix" (which groups of runs to make: "main" alone measures
# a, b and c and skips the rest, for a quick look).  Loopback only; every
# run is bounded by its message count and mbench's timeouts.
set -u
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
export T_TOP
: "${T_RSPAMD_PORT:=22333}" "${T_RSPAMD_CTL_PORT:=22334}"
: "${T_RSPAMD_PROXY_PORT:=22332}" "${T_MILTER_PORT:=22339}"
: "${T_SMTP_PORT:=22025}"
. "$T_TOP/tests/lib.sh"
CONC=${BENCH_CONC:-1 8 32}
N=${BENCH_N:-600}
REPS=${BENCH_REPS:-5}
SMTP_N=${BENCH_SMTP_N:-300}
WORKERS=${BENCH_WORKERS:-2}
PARTS=" ${BENCH_PARTS:-main wire mirror self postfix} "
# part NAME - NAME is among the groups of runs asked for.
part() { case $PARTS in *" $1 "*) return 0 ;; esac; return 1; }
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
	rspamd_stop "$T_TMP/rspamd-mirror"
}
trap cleanup EXIT

# Ports: Rspamd 22332-22334, its self-scan proxy 22363, scanmilter
# instances 22339-22344, mirror Rspamd 22433-22435, Postfix 22025-22026.
SSPROXY_PORT=$((T_RSPAMD_PORT + 30))
cat > "$T_TMP/extra.conf" <<CF
worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:$SSPROXY_PORT";
    milter = yes;
    timeout = 120s;
    upstream "local" { default = yes; self_scan = yes; }
    count = 1;
    spam_header = "X-Spam";
}
CF
echo "bench: Rspamd with $WORKERS normal workers and 2 proxy workers (one self-scan), $T_TMP"
RSPAMD_EXTRA_CONF="$T_TMP/extra.conf" rspamd_start "$T_TMP/rspamd" "$WORKERS" 1 || exit 1
cat > "$T_TMP/scanmilter.conf" <<CF
milter: { socket = "inet:$T_MILTER_PORT@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { timeout = 60; stats_interval = 0; };
limits: { max_queue = 4096; };
upstreams: { default: { hosts = "127.0.0.1:$T_RSPAMD_PORT"; timeout = 60;
  @WIRE@ }; };
CF
# The test worker's public key (tests/rspamd/rspamd.conf).
KEY='key = "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgyy";'
# owns_port PID PORT - PID is still alive once PORT answers: a scanmilter
# that could not bind (the port held by another process) exits at once.
owns_port() { sleep 0.5; kill -0 "$1" 2>/dev/null; }
# start_sm NAME PORT WIRE - a scanmilter on PORT with WIRE options; sets pid.
start_sm() {
	sed -e "s/inet:$T_MILTER_PORT@/inet:$2@/" -e "s/@WIRE@/$3/" \
	    "$T_TMP/scanmilter.conf" > "$T_TMP/scanmilter-$1.conf"
	"$T_BIN" -f -c "$T_TMP/scanmilter-$1.conf" 2>"$T_TMP/logs/scanmilter-$1.log" &
	pid=$!
	T_PIDS="$T_PIDS $pid"
	t_wait_port "$2" 10 && owns_port "$pid" "$2" ||
	    { echo "scanmilter ($1) did not start:"; cat "$T_TMP/logs/scanmilter-$1.log"; exit 1; }
}
start_sm plain "$T_MILTER_PORT" ""
smpid=$pid
start_sm zstd "$((T_MILTER_PORT + 1))" "compression = true;"
zpid=$pid
start_sm crypt "$((T_MILTER_PORT + 2))" "$KEY"
epid=$pid
start_sm crypt_zstd "$((T_MILTER_PORT + 3))" "$KEY compression = true;"
ezpid=$pid
MIRROR_PORT=$((T_RSPAMD_PORT + 100))
RSPAMD_MIRROR=1 T_RSPAMD_PORT=$MIRROR_PORT T_RSPAMD_CTL_PORT=$((MIRROR_PORT + 1)) \
    T_RSPAMD_PROXY_PORT=$((MIRROR_PORT + 2)) rspamd_start "$T_TMP/rspamd-mirror" 1 1 ||
    { echo "mirror Rspamd did not start"; exit 1; }
cat >> "$T_TMP/scanmilter.conf" <<CF
mirrors: { test: { hosts = "127.0.0.1:$MIRROR_PORT"; probability = 1;
  max_inflight = 4096; }; };
compare: { script = "$T_TOP/lua/compare/log_scores.lua"; };
CF
start_sm mirror "$((T_MILTER_PORT + 4))" ""
mirpid=$pid
cat > "$T_TMP/scanmilter-selfscan.conf" <<CF
milter: { socket = "inet:$((T_MILTER_PORT + 5))@127.0.0.1"; };
log: { target = "stderr"; level = "info"; };
scan: { stats_interval = 0; };
limits: { max_queue = 4096; };
upstreams: { default: { self_scan = true; }; };
CF
"$T_BIN" -f -c "$T_TMP/scanmilter-selfscan.conf" 2>"$T_TMP/logs/scanmilter-selfscan.log" &
sspid=$!
T_PIDS="$T_PIDS $sspid"
t_wait_port "$((T_MILTER_PORT + 5))" 10 && owns_port "$sspid" "$((T_MILTER_PORT + 5))" ||
    { echo "scanmilter (self-scan) did not start"; exit 1; }
t_wait_port "$SSPROXY_PORT" 30 || { echo "self-scan proxy did not start"; exit 1; }
ssproxypid=$(pgrep -f "rspamd_proxy process.*$SSPROXY_PORT" | head -1)
proxypid=$(pgrep -f "rspamd_proxy process.*$T_RSPAMD_PROXY_PORT" | head -1)

# peak_reset PID / peak PID - VmHWM of a process, in MB, since the reset.
peak_reset() { [ -n "$1" ] && echo 5 > "/proc/$1/clear_refs" 2>/dev/null; }
peak() {
	[ -n "$1" ] || { echo "-"; return; }
	awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

# cpu_ticks [PID ...] - user + system clock ticks so far of the processes
# together (fields 14, 15 of stat, counted after the parenthesised name,
# which may hold blanks); 0 for none.
cpu_ticks() {
	for p in "$@"; do
		[ -n "$p" ] && sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk '{ s += $12 + $13 } END { print s + 0 }'
}
HZ=$(getconf CLK_TCK)
# per_msg T0 T1 N - clock ticks between two readings, as µs per message.
per_msg() {
	awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" \
	    'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }'
}
# scanner_pids - the main Rspamd's normal workers (its children; the
# mirror cluster's workers are not counted).
scanner_pids() {
	pgrep -P "$(cat "$T_TMP/rspamd/run/rspamd.pid" 2>/dev/null)" \
	    -f 'normal process' 2>/dev/null
}

# one LABEL PID MODE ADDR CONC N - a run of round $r; appends
# "LABEL CONC mps p50 p99 rss cpu_us_per_msg scanner_cpu_us_per_msg ...
# round=R".  The scanners' CPU per message tells whether a path makes
# Rspamd itself work harder, apart from the middle's own CPU.
one() {
	peak_reset "$2"
	scanners=$(scanner_pids)
	t0=$(cpu_ticks "$2")
	s0=$(cpu_ticks $scanners)
	line=$("$MB" -m "$3" -a "$4" -c "$5" -n "$6" -k 10 -t 60 $corpus)
	t1=$(cpu_ticks "$2")
	s1=$(cpu_ticks $scanners)
	cpu=-
	[ -n "$2" ] && cpu=$(per_msg "$t0" "$t1" "$6")
	scpu=$(per_msg "$s0" "$s1" "$6")
	set -- "$1" "$2" $line
	# mode conc n ok reject tempfail other errors secs mps p50 p99
	echo "$1 ${4} ${12} ${13} ${14} $(peak "$2") $cpu $scpu ok=${6} reject=${7} tempfail=${8} other=${9} errors=${10} round=$r" |
	    tee -a "$out" >&2
}

# Warm up every path (connections, Rspamd caches), results discarded.
"$MB" -m milter -a "127.0.0.1:$T_MILTER_PORT" -c 4 -n 100 $corpus >/dev/null
"$MB" -m milter -a "127.0.0.1:$T_RSPAMD_PROXY_PORT" -c 4 -n 100 $corpus >/dev/null
"$MB" -m http -a "127.0.0.1:$T_RSPAMD_PORT" -c 4 -n 100 $corpus >/dev/null
"$MB" -m milter -a "127.0.0.1:$SSPROXY_PORT" -c 4 -n 50 $corpus >/dev/null
for i in 1 2 3 4 5; do
	"$MB" -m milter -a "127.0.0.1:$((T_MILTER_PORT + i))" -c 4 -n 50 $corpus >/dev/null
done

# main_order R - the order of the three main paths in round R.
main_order() {
	case $(($1 % 3)) in
	1) echo a b c ;;
	2) echo b c a ;;
	0) echo c a b ;;
	esac
}

: > "$out"
for c in $CONC; do
    for r in $(seq "$REPS"); do
	for p in $(main_order "$r"); do
		case $p in
		a) one a-scanmilter "$smpid" milter "127.0.0.1:$T_MILTER_PORT" "$c" "$N" ;;
		b) one b-rspamd-proxy "$proxypid" milter "127.0.0.1:$T_RSPAMD_PROXY_PORT" "$c" "$N" ;;
		c) one c-direct-http "" http "127.0.0.1:$T_RSPAMD_PORT" "$c" "$N" ;;
		esac
	done
	if part wire; then
		one w-zstd "$zpid" milter "127.0.0.1:$((T_MILTER_PORT + 1))" "$c" "$N"
		one w-crypt "$epid" milter "127.0.0.1:$((T_MILTER_PORT + 2))" "$c" "$N"
		one w-crypt+zstd "$ezpid" milter "127.0.0.1:$((T_MILTER_PORT + 3))" "$c" "$N"
	fi
	part mirror &&
	    one m-mirror+compare "$mirpid" milter "127.0.0.1:$((T_MILTER_PORT + 4))" "$c" "$N"
	if part self; then
		one s-scanmilter-self "$sspid" milter "127.0.0.1:$((T_MILTER_PORT + 5))" "$c" "$N"
		one s-proxy-self_scan "$ssproxypid" milter "127.0.0.1:$SSPROXY_PORT" "$c" "$N"
	fi
    done
done

# postfix_runs - through Postfix: one instance, one smtpd per milter,
# discard delivery; a and b take turns, as the main paths do.
postfix_runs() {
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
	if ! postfix -c "$pf/etc" start || ! t_wait_port "$((T_SMTP_PORT + 1))" 30; then
		echo "bench: Postfix did not start; skipping the SMTP runs" >&2
		return
	fi
	"$MB" -m smtp -a "127.0.0.1:$T_SMTP_PORT" -c 4 -n 40 $corpus >/dev/null
	"$MB" -m smtp -a "127.0.0.1:$((T_SMTP_PORT + 1))" -c 4 -n 40 $corpus >/dev/null
	for c in $CONC; do
	    for r in $(seq "$REPS"); do
		# Turn about, as the main paths: a b, then b a.
		for p in $([ $((r % 2)) = 1 ] && echo a b || echo b a); do
			case $p in
			a) one a-postfix+scanmilter "$smpid" smtp "127.0.0.1:$T_SMTP_PORT" "$c" "$SMTP_N" ;;
			b) one b-postfix+proxy "$proxypid" smtp "127.0.0.1:$((T_SMTP_PORT + 1))" "$c" "$SMTP_N" ;;
			esac
		done
	    done
	done
}
part postfix && postfix_runs

# median - one line per path and concurrency: the median run by msgs/s
# with its p50 and p99, the highest peak RSS, the mean CPU per message of
# the middle and of the scanners, and the number of runs.
median() {
	sort -k1,1 -k2,2n -k3,3n "$1" | awk '
	function flush() {
		if (n == 0) return
		split(rows[int((n + 1) / 2)], f, " ")
		printf "%s %s %s %s %s %s %s %.0f %d\n", f[1], f[2], f[3], f[4], f[5], rss,
		    (cpu == "-" ? "-" : sprintf("%.0f", cpu / n)), scpu / n, n
	}
	{ k = $1 " " $2 }
	k != prev { flush(); n = 0; rss = 0; cpu = 0; scpu = 0; prev = k }
	{ rows[++n] = $0; if ($6 == "-") rss = "-"; else if ($6 + 0 > rss + 0) rss = $6;
	  if ($7 == "-") cpu = "-"; else if (cpu != "-") cpu += $7; scpu += $8 }
	END { flush() }'
}
# paired CONC X Y - "median [min, max]" of X/Y over the rounds at CONC in
# which both ran, from the raw results; "-" if none.
paired() {
	awk -v c="$1" -v x="$2" -v y="$3" '
	$2 == c && ($1 == x || $1 == y) {
		r = $NF; sub(/^round=/, "", r)
		if ($1 == x) vx[r] = $3; else vy[r] = $3
	}
	END {
		for (r in vx) if ((r in vy) && vy[r] > 0) q[++n] = vx[r] / vy[r]
		if (n == 0) { print "-"; exit }
		for (i = 2; i <= n; i++)	# insertion sort: a handful
			for (j = i; j > 1 && q[j - 1] > q[j]; j--) {
				t = q[j]; q[j] = q[j - 1]; q[j - 1] = t
			}
		m = n % 2 ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
		printf "%.3f [%.3f, %.3f]", m, q[1], q[n]
	}' "$raw"
}
raw=$out
out="$T_TMP/median"
median "$raw" > "$out"

# The table and the ratios.
{
	echo
	printf '%-22s %5s %9s %9s %9s %10s %10s %11s %5s\n' path conc msgs/s p50_ms p99_ms peakRSS_MB cpu_us/msg scanner_cpu runs
	sort -s -k2,2n "$out" |
	    awk '{ printf "%-22s %5s %9s %9s %9s %10s %10s %11s %5s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
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
	echo
	echo "paired: the median over rounds of the ratio within a round [lowest, highest]"
	printf '%5s %22s %22s %22s\n' conc a/b a/c postfix_a/b
	for c in $CONC; do
		printf '%5s %22s %22s %22s\n' "$c" \
		    "$(paired "$c" a-scanmilter b-rspamd-proxy)" \
		    "$(paired "$c" a-scanmilter c-direct-http)" \
		    "$(paired "$c" a-postfix+scanmilter b-postfix+proxy)"
	done
	echo
	echo "wire options against plain scanmilter (same run):"
	printf '%5s %-12s %9s %9s %10s %12s\n' conc wire msgs/s vs_plain cpu_us/msg +cpu_us/msg
	for c in $CONC; do
		awk -v c="$c" '
		$2 == c && $1 == "a-scanmilter" { pm = $3; pc = $7 }
		$2 == c && $1 ~ /^w-/ { n++; l[n] = substr($1, 3); m[n] = $3; u[n] = $7 }
		END {
			printf "%5s %-12s %9s %9s %10s %12s\n", c, "plain", pm, "1.000", pc, "-"
			for (i = 1; i <= n; i++)
				printf "%5s %-12s %9s %9.3f %10s %+12d\n", c, l[i], m[i],
				    m[i] / pm, u[i], u[i] - pc
		}' "$out"
	done
	echo
	echo "mirroring every message (plus a compare script) against plain scanmilter:"
	printf '%5s %-16s %9s %9s %9s %10s\n' conc path msgs/s p50_ms p99_ms cpu_us/msg
	for c in $CONC; do
		awk -v c="$c" '$2 == c && ($1 == "a-scanmilter" || $1 == "m-mirror+compare") {
			printf "%5s %-16s %9s %9s %9s %10s\n", c, $1, $3, $4, $5, $7 }' "$out"
	done
	echo
	echo "self-scan: scanmilter's built-in rules against Rspamd's proxy with self_scan = yes:"
	printf '%5s %-18s %9s %9s %9s %10s %10s\n' conc path msgs/s p50_ms p99_ms peakRSS_MB cpu_us/msg
	for c in $CONC; do
		awk -v c="$c" '$2 == c && $1 ~ /^s-/ {
			printf "%5s %-18s %9s %9s %9s %10s %10s\n", c, $1, $3, $4, $5, $6, $7 }' "$out"
	done
} | tee "${BENCH_OUT:-$T_TMP/table}"
echo "bench: logs and results in $T_TMP"
