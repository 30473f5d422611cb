#!/bin/bash
# t_config_check.sh - "scanmilter -t" accepts the shipped and embedded
# configs and refuses bad ones with FILE:LINE, the option's name, and a
# non-zero exit.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/configcheck"
mkdir -p "$d"
fails=0

expect_ok() {
	if ! out=$("$T_BIN" -t "$@" 2>&1); then
		echo "FAIL: scanmilter -t $* refused a good config: $out"
		fails=$((fails + 1))
	fi
}

# expect_bad NAME TEXT PATTERN - TEXT as a config must fail with PATTERN.
expect_bad() {
	printf '%s\n' "$2" > "$d/$1.conf"
	out=$("$T_BIN" -t -c "$d/$1.conf" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "FAIL: $1: accepted"
		fails=$((fails + 1))
	elif ! printf '%s' "$out" | grep -qE "$3"; then
		echo "FAIL: $1: message '$out' does not match '$3'"
		fails=$((fails + 1))
	else
		echo "ok: $1: $out"
	fi
}

expect_ok
expect_ok -c "$T_TOP/conf/scanmilter.conf"
UP='upstreams: { default: { hosts = "127.0.0.1:11333"; }; };'
expect_bad unknown "$UP
scan: {
  timout = 5;
};" "$d/unknown.conf:3: option 'scan.timout': unknown option"
expect_bad type "$UP
scan: { timeout = \"soon\"; };" "$d/type.conf:2: option 'scan.timeout': expected seconds"
expect_bad range "$UP
limits: {
  max_rcpts = 0;
};" "$d/range.conf:3: option 'limits.max_rcpts': value 0 is out of range"
expect_bad enum "$UP
scan: { on_failure = \"maybe\"; };" "$d/enum.conf:2: option 'scan.on_failure': expected one of: accept tempfail"
expect_bad hosts 'upstreams: { default: {
  hosts = "127.0.0.1:99999";
}; };' "$d/hosts.conf:2: option 'upstreams.default.hosts': bad port '99999'"
expect_bad nohosts 'upstreams: { default: { timeout = 3; }; };' \
    "$d/nohosts.conf:1: option 'upstreams.default': 'hosts' is required"
expect_bad group "$UP
scan: { group = \"nosuch\"; };" "$d/group.conf:2: option 'scan.group': no upstream group named 'nosuch'"
expect_bad syntax "$UP
scan: { timeout = = 5; };" "$d/syntax.conf:2: syntax error"
expect_bad socket "$UP
milter: { socket = \"tcp://localhost\"; };" "$d/socket.conf:2: option 'milter.socket': expected unix:/path"
expect_bad tmpdir "$UP
limits: { tmpdir = \"$d/nosuchdir\"; };" "$d/tmpdir.conf:2: option 'limits.tmpdir': '$d/nosuchdir' is not a directory"
# What libconfig 1.5 would take wrong or die on (conflex.c): integers
# past 32 bits without L, "\x00" in a string, @include of a directory or
# of a missing file, and a config that is not a regular file.
expect_bad int32 "$UP
limits: { max_rcpts = 4294967396; };" "$d/int32.conf:2: integer 4294967396 does not fit in a signed 32-bit integer.*write 4294967396L"
expect_bad int64range "$UP
limits: { max_rcpts = 4294967396L; };" "$d/int64range.conf:2: option 'limits.max_rcpts': value 4294967396 is out of range \\[1, 1000000\\]"
expect_bad nulesc 'upstreams: { default: { hosts = "127.0.0.1\x00x"; }; };' \
    "$d/nulesc.conf:1: a string holds"
expect_bad incdir "$UP
@include \".\"" "$d/incdir.conf:2: @include \"$d/.\": not a regular file"
expect_bad incmissing "$UP
@include \"nosuch.conf\"" "$d/incmissing.conf:2: @include \"$d/nosuch.conf\": No such file"
mkdir -p "$d/adir"
out=$("$T_BIN" -t -c "$d/adir" 2>&1) && {
	echo "FAIL: a directory as the config was accepted"; fails=$((fails + 1)); }
printf '%s' "$out" | grep -q "$d/adir: not a regular file" &&
    echo "ok: config is a directory: $out" ||
    { echo "FAIL: config is a directory: '$out'"; fails=$((fails + 1)); }
printf '%s\n' "$UP" '# 99999999999 in a comment, /* 88888888888 */' \
    'limits: { max_rcpts = 50; }; scan: { timeout = 1.5e1; };' > "$d/numok.conf"
expect_ok -c "$d/numok.conf"
# milter.socket: what libmilter would refuse only when it starts.
expect_bad socket_unix_empty "$UP
milter: { socket = \"unix:\"; };" "$d/socket_unix_empty.conf:2: option 'milter.socket': a unix socket path is 1 to 107 bytes"
expect_bad socket_port "$UP
milter: { socket = \"inet:99999@127.0.0.1\"; };" "$d/socket_port.conf:2: option 'milter.socket': bad port '99999'"
expect_bad socket_service "$UP
milter: { socket = \"inet:notaport@127.0.0.1\"; };" "$d/socket_service.conf:2: option 'milter.socket': unknown port or service 'notaport'"
expect_bad socket_nohost "$UP
milter: { socket = \"inet:11332@\"; };" "$d/socket_nohost.conf:2: option 'milter.socket': expected inet:port@host"
# HTTPCrypt keys: length, alphabet, and encrypted_only without a key.
expect_bad keylen 'upstreams: { default: { hosts = "127.0.0.1";
  key = "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgy"; }; };' \
    "$d/keylen.conf:2: option 'upstreams.default.key': a public key is 52 base32 characters"
expect_bad keychar 'upstreams: { default: { hosts = "127.0.0.1";
  key = "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgy0"; }; };' \
    "$d/keychar.conf:2: option 'upstreams.default.key': character 52 \\('0'\\) is not in Rspamd's base32 alphabet"
expect_bad encrypted_only 'upstreams: { default: { hosts = "127.0.0.1";
  encrypted_only = true; }; };' \
    "$d/encrypted_only.conf:2: option 'upstreams.default.encrypted_only': is set, but the group has no 'key'"
printf '%s\n' 'upstreams: { default: { hosts = "127.0.0.1";
  key = "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgyy";
  encrypted_only = true; compression = true; }; };' > "$d/keyok.conf"
expect_ok -c "$d/keyok.conf"
# Mirrors and the compare script.
expect_bad mirror_prob "$UP
mirrors: { test: { hosts = \"127.0.0.1:11334\"; probability = 1.5; }; };" \
    "$d/mirror_prob.conf:2: option 'mirrors.test.probability': value 1.5 is out of range"
expect_bad mirror_selfscan "upstreams: { default: { self_scan = true; }; };
mirrors: { test: { hosts = \"127.0.0.1:11334\"; probability = 1; }; };" \
    "$d/mirror_selfscan.conf:2: option 'mirrors': the scan group 'default' is self_scan"
expect_bad mirror_main "$UP
mirrors: { main: { hosts = \"127.0.0.1:11334\"; }; };" \
    "$d/mirror_main.conf:2: option 'mirrors.main': 'main' is the name of the main scan"
expect_bad mirror_unknown "$UP
mirrors: { test: { hosts = \"127.0.0.1:11334\"; weight = 3; }; };" \
    "$d/mirror_unknown.conf:2: option 'mirrors.test.weight': unknown option"
expect_bad compare_syntax "$UP
compare: { script = \"return function(r) if end\"; };" \
    "$d/compare_syntax.conf:2: option 'compare.script': compare.script:1: unexpected symbol near 'end'"
expect_bad compare_value "$UP
compare: { script = \"return {}\"; };" \
    "$d/compare_value.conf:2: option 'compare.script': the script must return a function, not a table"
printf '%s\n' "$UP" 'mirrors: { test: { hosts = "127.0.0.1:11334"; probability = 0.1;
  key = "8anr6f3qrnaon361reky5ghfkxwdedm3abaxprayy7q4gnrpsgyy"; }; };' \
    "compare: { script = \"$T_TOP/lua/compare/log_scores.lua\"; };" > "$d/mirrorok.conf"
expect_ok -c "$d/mirrorok.conf"
expect_bad duplicate "$UP
milter: { socket = \"inet:11332@127.0.0.1\";
  socket = \"inet:11333@127.0.0.1\"; };" \
    "$d/duplicate.conf:3: option 'milter.socket' is given twice \\(first on line 2\\)"
expect_bad notgroup "$UP
milter = 5;" "$d/notgroup.conf:2: option 'milter': expected a group"
expect_bad relative "$UP
daemon: { pidfile = \"scanmilter.pid\"; };" \
    "$d/relative.conf:2: option 'daemon.pidfile': 'scanmilter.pid' is not an absolute path"
expect_bad nouser "$UP
daemon: { user = \"no-such-user-x\"; };" \
    "$d/nouser.conf:2: option 'daemon.user': no such user 'no-such-user-x'"
expect_bad nolist "upstreams: { default: { self_scan = true; }; };
selfscan: { deny_ips = \"$d/no-such-list\"; };" \
    "$d/nolist.conf:2: option 'selfscan.deny_ips': cannot read the list file"
# @include: an absolute name (libconfig 1.5 alone could not open one),
# one inside a group, and errors in or after an included file named by
# their own file and line.
mkdir -p "$d/part"
printf '%s\n' "$UP" > "$d/part/ups.conf"
printf '%s\n' "@include \"$d/part/ups.conf\"  # absolute" \
    'scan: { timeout = 10; };' > "$d/inc_abs.conf"
expect_ok -c "$d/inc_abs.conf"
printf '%s\n' 'stats_interval = 0;' 'max_retries = 2;' > "$d/part/scan.conf"
expect_bad inc_inner "$UP
scan: {
  @include \"$d/part/scan.conf\"
};" "$d/part/scan.conf:2: option 'scan.max_retries': unknown option"
printf '%s\n' 'stats_interval = 0;' > "$d/part/scan.conf"
expect_bad inc_after "$UP
scan: {
  @include \"part/scan.conf\"
};
log: { level = \"loud\"; };" "$d/inc_after.conf:5: option 'log.level': expected one of"
expect_bad inc_duplicate "scan: { timeout = 10; };
@include \"$d/part/ups.conf\"
scan: { group = \"default\"; };" \
    "$d/inc_duplicate.conf:3: option 'scan' is given twice \\(first on line 1\\)"
printf '%s\n' 'scan: { timeout = 5; };' > "$d/part/scan2.conf"
expect_bad inc_duplicate_across "$UP
scan: { timeout = 10; };
@include \"$d/part/scan2.conf\"" \
    "$d/part/scan2.conf:1: option 'scan' is given twice \\(first at $d/inc_duplicate_across.conf:2\\)"
printf '%s\n' '@include "loop.conf"' > "$d/loop.conf"
expect_bad inc_loop '@include "loop.conf"' "$d/loop.conf:1: @include \"loop.conf\": nested more than 9 deep"
# A FIFO where a file belongs is refused at once, never waited on.
mkfifo "$d/fifo"
printf '%s\n' "$UP" "@include \"$d/fifo\"" > "$d/fifo_inc.conf"
printf '%s\n' 'upstreams: { default: { self_scan = true; }; };' \
    "selfscan: { allow_ips = \"$d/fifo\"; };" > "$d/fifo_list.conf"
printf '%s\n' "$UP" "compare: { script = \"$d/fifo.lua\"; };" > "$d/fifo_lua.conf"
mkfifo "$d/fifo.lua"
for f in "$d/fifo" "$d/fifo_inc.conf" "$d/fifo_list.conf" "$d/fifo_lua.conf"; do
	out=$(timeout 10 "$T_BIN" -t -c "$f" 2>&1)
	rc=$?
	if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -q "not a regular file"; then
		echo "ok: FIFO: $out"
	else
		echo "FAIL: FIFO $f: rc $rc, '$out'"
		fails=$((fails + 1))
	fi
done
if "$T_BIN" -t -c "$d/does-not-exist.conf" >/dev/null 2>&1; then
	echo "FAIL: a missing file was accepted"
	fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
