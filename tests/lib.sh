# lib.sh - shell helpers shared by the integration and end-to-end tests.
# Sourced (POSIX sh).  Everything listens on 127.0.0.1 only, every wait is
# bounded, and t_cleanup stops whatever was started.
#
# Ports (override from the environment if they clash on a machine):
: "${T_RSPAMD_PORT:=21333}"	# Rspamd normal worker
: "${T_RSPAMD_CTL_PORT:=21334}"	# Rspamd controller
: "${T_RSPAMD_PROXY_PORT:=21332}"	# Rspamd proxy worker, milter mode
: "${T_MILTER_PORT:=21339}"	# scanmilter under test
: "${T_FAKE_PORT:=21340}"	# fake upstream (faults only; +0..+6)
: "${T_SMTP_PORT:=21025}"	# throwaway Postfix smtpd

: "${T_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${T_BIN:=$T_TOP/build/scanmilter}"  # another build may be measured
T_PIDS=""

t_log() { printf '%s\n' "$*" >&2; }

# A shell case's checks: okay/fail print one line each; fail counts, and
# the case ends with [ "$fails" -eq 0 ].
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
okay() { echo "ok: $*"; }

# t_tmpdir - a fresh directory for one run; world-readable so that the
# rspamd and postfix users can reach their parts of it.
t_tmpdir() {
	d=$(mktemp -d /tmp/scanmilter-test.XXXXXX)
	chmod 755 "$d"
	echo "$d"
}

# t_port_until PORT SECONDS up|down - until something does (up) or does
# not (down) accept on 127.0.0.1:PORT; 1 if SECONDS pass first.
t_port_until() {
	i=0
	while [ "$i" -lt $(($2 * 10)) ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			[ "$3" = up ] && return 0
		else
			[ "$3" = down ] && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
t_wait_port() { t_port_until "$1" "$2" up; }
t_port_free() { t_port_until "$1" "$2" down; }

# rspamd_start DIR [NORMAL_COUNT [PROXY_COUNT]] - a private Rspamd with the suite's
# config under DIR, ready when /ping answers (at most 120 s: the first start
# compiles hyperscan databases).  RSPAMD_MIRROR=1 in the environment adds
# the rule that makes it judge like a test cluster (rspamd.local.lua).
rspamd_start() {
	rs=$1
	for p in "$T_RSPAMD_PORT" "$T_RSPAMD_CTL_PORT" "$T_RSPAMD_PROXY_PORT"; do
		if ! t_port_free "$p" 1; then
			t_log "port 127.0.0.1:$p is in use: stop what holds it," \
			    "or set T_RSPAMD_PORT / T_RSPAMD_CTL_PORT / T_RSPAMD_PROXY_PORT"
			return 1
		fi
	done
	mkdir -p "$rs/local" "$rs/db" "$rs/run" "$rs/log"
	cp -R "$T_TOP/tests/rspamd/." "$rs/local/"
	sed -e "s/@NORMAL_PORT@/$T_RSPAMD_PORT/g" \
	    -e "s/@CONTROLLER_PORT@/$T_RSPAMD_CTL_PORT/g" \
	    -e "s/@PROXY_PORT@/$T_RSPAMD_PROXY_PORT/g" \
	    -e "s/@NORMAL_COUNT@/${2:-1}/g" -e "s/@PROXY_COUNT@/${3:-1}/g" \
	    "$T_TOP/tests/rspamd/rspamd.conf" > "$rs/local/rspamd.conf"
	echo "$T_RSPAMD_PORT" > "$rs/local/instance"
	# RSPAMD_MIRROR=1: the test rules of a "test cluster" (rspamd.local.lua).
	[ -n "${RSPAMD_MIRROR:-}" ] && : > "$rs/local/mirror_rules"
	# RSPAMD_EXTRA_CONF=FILE: more config (workers) for this instance.
	[ -n "${RSPAMD_EXTRA_CONF:-}" ] && cp "$RSPAMD_EXTRA_CONF" "$rs/local/extra.conf"
	chown -R _rspamd:_rspamd "$rs"
	rspamd -u _rspamd -g _rspamd -c "$rs/local/rspamd.conf" \
	    --var CONFDIR=/etc/rspamd --var LOCAL_CONFDIR="$rs/local" \
	    --var DBDIR="$rs/db" --var RUNDIR="$rs/run" --var LOGDIR="$rs/log" \
	    >"$rs/log/start.log" 2>&1 || {
		t_log "rspamd failed to start:"; cat "$rs/log/start.log" >&2
		return 1
	}
	i=0
	while [ "$i" -lt 1200 ]; do
		# Rspamd answers "pong" CRLF.
		if curl -s -m 2 "http://127.0.0.1:$T_RSPAMD_PORT/ping" |
		    grep -q '^pong'; then
			t_wait_port "$T_RSPAMD_PROXY_PORT" 30 && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	t_log "rspamd did not answer /ping; log tail:"
	tail -20 "$rs/log/rspamd.log" >&2
	return 1
}

# rspamd_stop DIR - SIGTERM the main process, wait (bounded), then KILL.
rspamd_stop() {
	pidf="$1/run/rspamd.pid"
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# t_conf TEMPLATE OUT - a scanmilter config with the suite's ports and dirs.
t_conf() {
	sed -e "s|@RSPAMD_PORT@|$T_RSPAMD_PORT|g" \
	    -e "s|@MILTER_PORT@|$T_MILTER_PORT|g" \
	    -e "s|@FAKE_PORT@|$T_FAKE_PORT|g" \
	    -e "s|@FAKE_PORT_1@|$((T_FAKE_PORT + 1))|g" \
	    -e "s|@FAKE_PORT_2@|$((T_FAKE_PORT + 2))|g" \
	    -e "s|@FAKE_PORT_3@|$((T_FAKE_PORT + 3))|g" \
	    -e "s|@FAKE_PORT_6@|$((T_FAKE_PORT + 6))|g" \
	    -e "s|@TMP@|$T_TMP|g" "$1" > "$2"
}

# t_bg CMD... - start a background process and remember it for cleanup.
t_bg() {
	"$@" &
	T_PIDS="$T_PIDS $!"
}

# t_milter CONF LOG - scanmilter on CONF (the test port), its stderr in
# LOG, once the port is free; sets mpid.  Returns once it listens, or 1
# (with its last words) if it does not.
t_milter() {
	t_port_free "$T_MILTER_PORT" 10
	"$T_BIN" -f -c "$1" 2>"$2" &
	mpid=$!
	T_PIDS="$T_PIDS $mpid"
	t_wait_port "$T_MILTER_PORT" 10 && return 0
	echo "scanmilter did not start:"
	tail -5 "$2"
	return 1
}

# t_cleanup - stop what t_bg started.
t_cleanup() {
	for p in $T_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $T_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	T_PIDS=""
}

# postfix_setup DIR - a throwaway Postfix under DIR: config, queue, data
# and log there, loopback only, services run unchrooted.  Reads from
# standard input the instance's own main.cf lines (delivery, milters) and
# then, after a line "--", its smtpd lines for master.cf.  Start it with
# "postfix -c DIR/etc start", stop with "... stop".
postfix_setup() {
	pf=$1
	rm -rf "$pf"
	mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
	chown postfix:postfix "$pf/data"
	cat > "$pf/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_recipient_restrictions = permit_mynetworks, reject
milter_default_action = tempfail
milter_protocol = 6
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
CF
	: > "$pf/etc/master.cf"
	f="$pf/etc/main.cf"
	while IFS= read -r line; do
		if [ "$line" = "--" ]; then
			f="$pf/etc/master.cf"
			continue
		fi
		printf '%s\n' "$line" >> "$f"
	done
	cat >> "$pf/etc/master.cf" <<CF
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000 0 flush
proxymap  unix  - - n -    - proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
virtual   unix  - n n -    - virtual
lmtp      unix  - - n -    - lmtp
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
showq     unix  n - n -    - showq
postlog   unix-dgram n - n - 1 postlogd
CF
}

# pf_e2e_start DIR CONF - a throwaway Postfix under DIR delivering
# test.example to a Maildir (DIR/mail/inbox), smtpd on 127.0.0.1:T_SMTP_PORT
# with smtpd_milters = scanmilter, and scanmilter on CONF.  Stop both with
# pf_e2e_stop DIR.
pf_e2e_start() {
	pf=$1
	postfix_setup "$pf" <<CF
myhostname = mx.test.example
mydomain = test.example
relay_domains =
virtual_mailbox_domains = test.example
virtual_mailbox_base = $pf/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_milters = inet:127.0.0.1:$T_MILTER_PORT
smtpd_banner = \$myhostname ESMTP test
--
127.0.0.1:$T_SMTP_PORT inet n - n - - smtpd
CF
	mkdir -p "$pf/mail"
	chown nobody:nogroup "$pf/mail"
	t_port_free "$T_SMTP_PORT" 5 || { echo "port $T_SMTP_PORT in use"; return 1; }
	t_bg "$T_BIN" -f -c "$2"
	t_wait_port "$T_MILTER_PORT" 10 || { echo "scanmilter did not start"; return 1; }
	if ! postfix -c "$pf/etc" start; then
		echo "postfix did not start:"
		# Postfix says why on stderr only in verbose mode.
		postfix -v -c "$pf/etc" check 2>&1 | grep -E 'fatal|error|warning' | tail -5
		cat "$pf/maillog" 2>/dev/null
		return 1
	fi
	t_wait_port "$T_SMTP_PORT" 30 || { echo "smtpd not listening"; cat "$pf/maillog"; return 1; }
}

pf_e2e_stop() {
	postfix -c "$1/etc" stop >/dev/null 2>&1
	t_cleanup
}
