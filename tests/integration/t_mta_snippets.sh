#!/bin/bash
# t_mta_snippets.sh - the MTA snippets shipped in packaging/ are what the
# MTAs accept:
#   - Postfix: every parameter of main.cf.scanmilter is known to this
#     Postfix (postconf warns about unknown ones) and takes the value given;
#   - Sendmail: a sendmail.cf built with sendmail-cf's m4 from a minimal
#     .mc plus scanmilter.mc declares the filter with its socket, flags and
#     timeouts, lists it in InputMailFilters, and passes the macros.
set -u
. "$T_TOP/tests/lib.sh"
d="$T_TMP/snippets"
mkdir -p "$d/postfix"

# ---- Postfix ------------------------------------------------------------------
snip="$T_TOP/packaging/postfix/main.cf.scanmilter"
cp "$snip" "$d/postfix/main.cf"
n=0
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	name=${line%% =*}
	want=${line#*= }
	if postconf -c "$d/postfix" -d "$name" 2>&1 | grep -q "unknown parameter"; then
		fail "Postfix does not know $name"
		continue
	fi
	got=$(postconf -c "$d/postfix" -h "$name" 2>/dev/null)
	[ "$got" = "$want" ] || fail "$name: postconf says '$got', want '$want'"
	n=$((n + 1))
done < "$snip"
[ "$n" -ge 8 ] && okay "Postfix knows all $n parameters of main.cf.scanmilter" ||
    fail "only $n parameters checked"

# ---- Sendmail -----------------------------------------------------------------
cf=/usr/share/sendmail/cf/m4/cf.m4
cat > "$d/test.mc" <<MC
divert(-1)
include(\`$cf')dnl
divert(0)dnl
OSTYPE(\`linux')dnl
DOMAIN(\`generic')dnl
include(\`$T_TOP/packaging/sendmail/scanmilter.mc')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
if ! m4 "$d/test.mc" > "$d/sendmail.cf" 2>"$d/m4.log"; then
	cat "$d/m4.log"; fail "m4 could not build sendmail.cf"
fi
expect_cf() {	# expect_cf FIXED-STRING WHAT
	if grep -qF -- "$1" "$d/sendmail.cf"; then okay "sendmail.cf: $2"
	else fail "sendmail.cf lacks $2: $1"; fi
}
expect_cf "Xscanmilter, S=local:/run/scanmilter/scanmilter.sock, F=T, T=C:30s;S:30s;R:5m;E:10m" \
    "the filter with socket, F=T and timeouts"
expect_cf "O InputMailFilters=scanmilter" "scanmilter among the input filters"
expect_cf "O Milter.macros.connect=j, {daemon_name}, {if_addr}, _" "connect macros"
expect_cf "O Milter.macros.envfrom=i, {auth_type}, {auth_authen}" "MAIL macros (queue id, auth)"
expect_cf "O Milter.macros.envrcpt={rcpt_addr}, {rcpt_host}, {rcpt_mailer}" "RCPT macros"
[ "$fails" -eq 0 ]
