#!/bin/sh
# gen-confman.sh BIN TEMPLATE - scanmilter.conf(5) from its template and the
# option table itself ("BIN -K"), so the manual lists exactly the options
# the daemon reads, with their real defaults.
set -eu
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$1" -K | awk -F '\t' '
function esc(s) { gsub(/\\/, "\\e", s); gsub(/^\./, "\\\\\\&.", s); return s }
{
	split($1, p, ".")
	sec = p[1]
	if (sec != last) {
		printf ".SS %s\n", sec
		if (sec == "upstreams")
			print "Per group (NAME is the group'"'"'s name); mirrors take these too."
		if (sec == "mirrors")
			print "Per mirror, besides every upstream group option."
		last = sec
	}
	printf ".TP\n.B %s\n(%s; default: %s)\n%s.\n", esc($1), esc($2),
	    ($3 == "" ? "empty" : esc($3)), esc($4)
}' > "$tmp"
sed -e "/@OPTIONS@/r $tmp" -e '/@OPTIONS@/d' "$2"
