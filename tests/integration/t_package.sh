#!/bin/bash
# t_package.sh - the Debian package as an operator meets it:
#   1. "make deb" builds it from a copy of the tree; lintian finds no
#      errors; systemd-analyze accepts the unit;
#   2. dpkg -i installs binary, config, unit, manuals, examples and the
#      scanmilter user; scanmilter -t accepts the packaged config;
#   3. the service is started the way the unit starts it (this machine has
#      no systemd running: the unit's RuntimeDirectory, User and
#      ExecStartPre/ExecStart lines are carried out by hand) with the
#      packaged config untouched, against an Rspamd on 127.0.0.1:11333 as
#      the config expects; a clean message and GTUBE are scanned through
#      /run/scanmilter/scanmilter.sock;
#   4. under a steady flow (3 connections x 120 messages) the config is
#      reloaded with a good change (a new reject text, seen on the next
#      score reject), then with a broken file (refused: the good text
#      stays), then back: every message of the flow gets its right answer;
#   5. SIGTERM stops it; dpkg --purge removes files and user.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/package"
mkdir -p "$d"
SOCK=/run/scanmilter/scanmilter.sock
CONF=/etc/scanmilter/scanmilter.conf
pid=""
stop_all() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rspamd_stop "$d/rs"
	dpkg --purge scanmilter >/dev/null 2>&1
	t_cleanup
}
trap stop_all EXIT

# ---- 1. build, lint --------------------------------------------------------
if ! (cd "$T_TOP" && make deb BUILD="$d/build") >"$d/build.log" 2>&1; then
	echo "make deb failed:"; tail -30 "$d/build.log"; exit 1
fi
deb=$(ls "$d"/build/deb/scanmilter_*.deb | head -1)
okay "built $(basename "$deb")"
lintian --fail-on error "$deb" >"$d/lintian.log" 2>&1
lrc=$?
grep -c '^E:' "$d/lintian.log" >/dev/null && grep '^E:' "$d/lintian.log"
[ "$lrc" -eq 0 ] && okay "lintian: no errors ($(grep -c '^W:' "$d/lintian.log") warnings)" ||
    fail "lintian reports errors"

# ---- 2. install --------------------------------------------------------------
dpkg -i "$deb" >"$d/dpkg.log" 2>&1 || { cat "$d/dpkg.log"; fail "dpkg -i"; exit 1; }
for f in /usr/sbin/scanmilter "$CONF" /lib/systemd/system/scanmilter.service \
    /usr/share/man/man8/scanmilter.8.gz /usr/share/man/man5/scanmilter.conf.5.gz \
    /usr/share/scanmilter/lua/rules/10_gtube.lua \
    /usr/share/scanmilter/lua/compare/log_scores.lua \
    /usr/share/doc/scanmilter/examples/main.cf.scanmilter \
    /usr/share/doc/scanmilter/examples/scanmilter.mc; do
	[ -e "$f" ] || fail "not installed: $f"
done
getent passwd scanmilter >/dev/null && okay "user scanmilter created" || fail "no user scanmilter"
/usr/sbin/scanmilter -t -c "$CONF" && okay "packaged config is valid" || fail "packaged config refused"
# Every option the daemon reads is in its manual.
missing=$(/usr/sbin/scanmilter -K | cut -f1 | while read -r k; do
	zcat /usr/share/man/man5/scanmilter.conf.5.gz | grep -qF ".B $k" || echo "$k"; done)
[ -z "$missing" ] && okay "scanmilter.conf(5) documents every option" ||
    fail "options missing from scanmilter.conf(5): $missing"
if systemd-analyze verify /lib/systemd/system/scanmilter.service >"$d/verify.log" 2>&1; then
	okay "systemd-analyze verify accepts the unit"
else
	cat "$d/verify.log"; fail "systemd-analyze verify"
fi

# ---- 3. start as the unit does ------------------------------------------------
T_RSPAMD_PORT=11333 T_RSPAMD_CTL_PORT=11334 T_RSPAMD_PROXY_PORT=11332 \
    rspamd_start "$d/rs" || { echo "Rspamd on 11333 did not start"; exit 1; }
unit=/lib/systemd/system/scanmilter.service
user=$(sed -n 's/^User=//p' "$unit")
rtdir=/run/$(sed -n 's/^RuntimeDirectory=//p' "$unit")
install -d -o "$user" -g "$user" -m "$(sed -n 's/^RuntimeDirectoryMode=//p' "$unit")" "$rtdir"
pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
start=$(sed -n 's/^ExecStart=//p' "$unit")
# setpriv, not su/runuser: it execs, so signals reach the daemon itself.
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"; }
as_user $pre || { fail "ExecStartPre failed"; exit 1; }
# Logs: the packaged config says syslog, and no syslog runs here; the
# checks below look at answers, not log lines.
umask_was=$(umask)
umask "$(sed -n 's/^UMask=//p' "$unit")"
# Not through as_user: a backgrounded function is a subshell, and $! must
# be the daemon (setpriv execs it).
setpriv --reuid="$user" --regid="$user" --init-groups -- $start &
umask "$umask_was"
pid=$!
i=0
while [ ! -S "$SOCK" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$SOCK" ] && okay "listening on $SOCK ($(stat -c '%U:%G %a' "$SOCK"))" ||
    { fail "no socket $SOCK"; exit 1; }

cat > "$d/one.lua" <<'LUA'
-- A clean message, GTUBE, and a score reject whose text comes from the
-- config (verdict.reject_message): -D want = that text.
nostart = 1
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { qid = "PKG1", body = "hello\r\n" })
expect_reply(conn, SMFIR_ACCEPT, "clean")
check(header_value(conn, "X-Spamd-Result") ~= nil, "X-Spamd-Result added")
send(conn, { qid = "PKG2", headers = clean_headers("gtube"),
             body = "XJS" .. GTUBE .. "\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "gtube")
expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
local h = clean_headers()
table.insert(h, { "X-Test-Action", "spam" })
send(conn, { qid = "PKG3", headers = h, body = "spam\r\n" })
expect_reply(conn, SMFIR_REPLYCODE, "score reject")
expect_smtp(conn, "554", "5.7.1", want)
mt.disconnect(conn)
LUA
probe() {	# probe TEXT - the three messages, the score reject saying TEXT
	miltertest -D mtdir="$T_TOP/tests/integration/mt" -D sock="unix:$SOCK" \
	    -D want="$1" -s "$d/one.lua" >"$d/probe.log" 2>&1
}
orig=$(/usr/sbin/scanmilter -d -c "$CONF" | sed -n 's/^verdict.reject_message = "\(.*\)";$/\1/p')
probe "$orig" && okay "clean accepted, GTUBE and score reject refused through the package" ||
    { cat "$d/probe.log"; fail "scanning through the package"; }

# ---- 4. reloads under a steady flow ---------------------------------------------
reload() {	# as ExecReload: check, then SIGUSR1
	/usr/sbin/scanmilter -t -c "$CONF" >/dev/null 2>&1
	rc=$?
	kill -USR1 "$pid"
	return "$rc"
}
cp "$CONF" "$d/orig.conf"
flow_pids=""
for k in 1 2 3; do
	miltertest -D port=0 -D sock="unix:$SOCK" -D n=120 -D tag="FLOW${k}x" \
	    -D mtdir="$T_TOP/tests/integration/mt" \
	    -s "$T_TOP/tests/integration/mirror/send.lua" >"$d/flow$k.log" 2>&1 &
	flow_pids="$flow_pids $!"
done
sleep 1
# A good change.
sed 's/^\(\s*\)reject_message = .*/\1reject_message = "Refused after reload";/' \
    "$d/orig.conf" > "$CONF"
grep -q 'Refused after reload' "$CONF" || fail "could not edit reject_message"
reload && okay "good config passes -t" || fail "good config refused by -t"
sleep 0.5
probe "Refused after reload" && okay "good reload took effect under load" ||
    { cat "$d/probe.log"; fail "good reload not in effect"; }
# A broken file: -t refuses it, the daemon keeps the running config.
printf 'scan: { timeout = ; };\n' >> "$CONF"
reload && fail "broken config passed -t" || okay "broken config refused by -t"
sleep 0.5
probe "Refused after reload" && okay "broken reload refused, running config kept" ||
    { cat "$d/probe.log"; fail "broken reload changed something"; }
cp "$d/orig.conf" "$CONF"
reload
sleep 0.5
probe "$orig" && okay "config restored" || { cat "$d/probe.log"; fail "restore"; }
flow_ok=1
for p in $flow_pids; do wait "$p" || flow_ok=0; done
[ "$flow_ok" -eq 1 ] && okay "360 messages under reloads: every answer right" ||
    { tail -3 "$d"/flow*.log; fail "a message of the flow was answered wrongly"; }

# ---- 5. stop, purge ------------------------------------------------------------------
kill -TERM "$pid"
if wait "$pid"; then okay "SIGTERM: clean exit"; else fail "exit status $? on SIGTERM"; fi
pid=""
dpkg --purge scanmilter >"$d/purge.log" 2>&1 || fail "dpkg --purge"
[ ! -e /usr/sbin/scanmilter ] && [ ! -e "$CONF" ] && okay "purged: files gone" ||
    fail "files left after purge"
getent passwd scanmilter >/dev/null && fail "user left after purge" || okay "purged: user gone"
[ "$fails" -eq 0 ]
