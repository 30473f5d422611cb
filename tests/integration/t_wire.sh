#!/bin/bash
# t_wire.sh - compression and HTTPCrypt as the real Rspamd worker sees them.
# For each config one clean message and one GTUBE go through scanmilter;
# then the worker's own log, found by the queue id, must say it opened a
# sealed request ("writing encrypted reply") and read a zstd body
# ("loaded message from zstd compressed stream") exactly when the config
# asks for it; the plain config is the control.  Last, a key that is not
# the worker's: every message gets the default tempfail, the worker logs
# that it cannot decrypt, and scanmilter's log says why.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/wire"
mkdir -p "$d"
rlog="$T_TMP/rspamd/log/rspamd.log"
fails=0

cat > "$d/run.lua" <<'LUA'
dofile(mtdir .. "/common.lua")
local conn = open()
send(conn, { qid = qid, body = "hello\r\n" })
if want == "accept" then
  expect_reply(conn, SMFIR_ACCEPT, "clean message " .. qid)
  send(conn, { qid = qid .. "G", headers = clean_headers("gtube"),
               body = "XJS" .. GTUBE .. "\r\n" })
  expect_reply(conn, SMFIR_REPLYCODE, "gtube " .. qid)
  expect_smtp(conn, "554", "5.7.1", "Gtube pattern")
else
  for _, q in ipairs({ qid, qid .. "B" }) do
    expect_reply(conn, SMFIR_REPLYCODE, "message " .. q)
    expect_smtp(conn, "451", "4.7.1",
                "Message scanning temporarily unavailable, try again later")
    if q == qid then
      send(conn, { qid = qid .. "B", body = "again\r\n" })
    end
  end
end
mt.disconnect(conn)
LUA

# run CONF QID WANT - the two messages through a filter on CONF.
run() {
	miltertest -D bin="$T_BIN" -D conf="$T_TMP/conf/$1.conf" \
	    -D port="$T_MILTER_PORT" -D tmp="$T_TMP" -D qid="$2" -D want="$3" \
	    -D mtdir="$T_TOP/tests/integration/mt" -s "$d/run.lua" \
	    >"$d/$1.out" 2>&1
	rc=$?
	t_port_free "$T_MILTER_PORT" 10
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $1: miltertest:"; cat "$d/$1.out"
		fails=$((fails + 1))
		return 1
	fi
}

# worker_saw QID - the worker's log lines for the task with that queue id.
worker_saw() {
	tag=$(grep -a "qid: <$1>" "$rlog" | sed -n 's/^[^<]*<\([0-9a-f]*\)>; task;.*/\1/p' |
	    tail -1)
	[ -n "$tag" ] && grep -a "<$tag>" "$rlog"
}

# expect CONF QID WHAT yes|no - did the worker log WHAT for QID.
expect() {
	if worker_saw "$2" | grep -q "$3"; then got=yes; else got=no; fi
	if [ "$got" = "$4" ]; then
		echo "ok: $1: '$3': $got"
	else
		echo "FAIL: $1: worker log for $2 has '$3': $got, want $4"
		fails=$((fails + 1))
	fi
}

for c in basic:no:no zstd:yes:no crypt:no:yes crypt_zstd:yes:yes; do
	IFS=: read -r conf z e <<EOF
$c
EOF
	qid=WIRE$(echo "$conf" | tr -d _ | tr a-z A-Z)
	run "$conf" "$qid" accept || continue
	if ! worker_saw "$qid" >/dev/null; then
		echo "FAIL: $conf: no task with qid $qid in the worker's log"
		fails=$((fails + 1))
		continue
	fi
	expect "$conf" "$qid" "loaded message from zstd compressed stream" "$z"
	expect "$conf" "$qid" "writing compressed results" "$z"
	expect "$conf" "$qid" "writing encrypted reply" "$e"
	expect "$conf" "${qid}G" "writing encrypted reply" "$e"
done

# Wrong key: answered by the failure policy, told in both logs.
before=$(grep -ac "cannot decrypt message" "$rlog")
run wrongkey WIREWRONG tempfail
after=$(grep -ac "cannot decrypt message" "$rlog")
if [ "$after" -lt $((before + 2)) ]; then
	echo "FAIL: wrongkey: worker logged 'cannot decrypt' $((after - before)) times, want 2"
	fails=$((fails + 1))
fi
if ! grep -a "WIREWRONG: tempfail" "$d/wrongkey.out" | grep -q "wrong key?"; then
	echo "FAIL: wrongkey: scanmilter's line does not say why:"
	grep -a WIREWRONG "$d/wrongkey.out"
	fails=$((fails + 1))
else
	grep -a "WIREWRONG: tempfail" "$d/wrongkey.out" | head -1
fi
[ "$fails" -eq 0 ]
