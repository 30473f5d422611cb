#!/bin/sh
# run.sh - what "make run" does after building: show where the MTA should
# connect, then run scanmilter in the foreground on the embedded default
# configuration (Ctrl-C stops it).  Extra arguments go to scanmilter, e.g.
#   make run ARGS="-c conf/scanmilter.conf"
set -eu
cd "$(dirname "$0")/.."
bin=build/scanmilter
spec=$("$bin" -d "$@" | sed -n 's/^milter\.socket = "\(.*\)";$/\1/p')
case "$spec" in
inet:*@*)	port=${spec#inet:}; port=${port%@*}; host=${spec#*@}
		pf="inet:$host:$port" ;;
inet6:*@*)	port=${spec#inet6:}; port=${port%@*}; host=${spec#*@}
		pf="inet:[$host]:$port" ;;
unix:*|local:*)	pf="unix:${spec#*:}" ;;
*)		pf=$spec ;;
esac
cat <<MSG
scanmilter listens on:  $spec
Scanning:               in process with the built-in rules (self-scan) on
                        the embedded default; ARGS="-c FILE" for Rspamd
Postfix (main.cf):      smtpd_milters = $pf
                        milter_default_action = tempfail
Sendmail (.mc):         INPUT_MAIL_FILTER(\`scanmilter', \`S=$spec, F=T, T=S:30s;R:5m;E:10m')
Stop with Ctrl-C.
MSG
exec "$bin" -f "$@"
