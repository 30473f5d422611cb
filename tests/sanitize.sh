#!/bin/bash
# sanitize.sh - the whole suite against a sanitizer build of the daemon.
#
#   bash tests/sanitize.sh thread|address|undefined [T_ONLY word]
#
# Builds the daemon with SANITIZER=KIND into build-KIND/, runs
# tests/run.sh all against it (T_BIN; the unit tests are the plain ones),
# with every report written to a file of its own, then prints each kind of
# report with its count.  Passes only if the suite passes and no report was
# made.  tests/tsan.supp names the one report that is libmilter's alone
# (its signal thread is never joined).  Slow (ThreadSanitizer: some 12
# minutes); not part of make test.
set -u
kind=${1:?usage: sanitize.sh thread|address|undefined [word]}
T_TOP=$(cd "$(dirname "$0")/.." && pwd)
b="$T_TOP/build-$kind"
make -C "$T_TOP" BUILD="$b" SANITIZER="$kind" "$b/scanmilter" >/dev/null || exit 1
make -C "$T_TOP" all unit-bins >/dev/null || exit 1
r=$(mktemp -d /tmp/scanmilter-san.XXXXXX)
opts="log_path=$r/report exitcode=0"
export TSAN_OPTIONS="$opts halt_on_error=0 suppressions=$T_TOP/tests/tsan.supp"
export ASAN_OPTIONS="$opts detect_leaks=1"
export UBSAN_OPTIONS="$opts print_stacktrace=1"
T_ONLY=${2:-} T_BIN="$b/scanmilter" bash "$T_TOP/tests/run.sh" all
rc=$?
n=$(cat "$r"/report* 2>/dev/null | grep -c "^SUMMARY")
cat "$r"/report* 2>/dev/null | grep "^SUMMARY" | sed 's/(\/[^)]*)//' |
    sort | uniq -c | sort -rn
echo "sanitizer $kind: $n report(s) in $r"
[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
