#!/bin/sh
# install-deps.sh - install the Debian packages scanmilter needs to build,
# run and test.  Idempotent: asks apt only for what dpkg says is missing.
#
# usage: scripts/install-deps.sh [build|run|test]
#   build  compiler, pkg-config and the -dev libraries (default)
#   run    build + nothing else (self-scan needs no scanner)
#   test   build + cmocka, rspamd, postfix, miltertest, python3
set -eu

what=${1:-build}

BUILD_PKGS="gcc make pkg-config libmilter-dev libcurl4-openssl-dev
libzstd-dev libsodium-dev liblua5.3-dev libconfig-dev libjansson-dev"
TEST_PKGS="libcmocka-dev rspamd postfix miltertest python3 procps
iproute2 zstd debhelper dpkg-dev fakeroot lintian sendmail-cf m4"

case "$what" in
build|run) pkgs=$BUILD_PKGS ;;
test) pkgs="$BUILD_PKGS $TEST_PKGS" ;;
*) echo "usage: $0 [build|run|test]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or install them by hand" >&2
	exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests run their own instance.
echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections
# Keep package scripts from starting daemons we do not want running
# (the system rspamd and postfix); tests start private instances.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
