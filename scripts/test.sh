#!/bin/sh
# The README's test command: installs dependencies, builds, and runs the whole test
# suite (`make check`) as root and — where a non-root user exists — the unit tests as
# that user too (root-only tests then skip with 77).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
build=${PODNET_BUILD_DIR:-$top/build}
cd "$build"
rc=0
make -j"$(nproc)" check || rc=$?
[ $rc -eq 0 ] || cat test-suite.log || true
# count KEY LOG: automake's summary figure KEY (PASS, FAIL, ...) from a check log.
count() { v=$(sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$2" 2>/dev/null | tail -n1); echo "${v:-0}"; }
passed=$(count PASS test-suite.log); failed=$(( $(count FAIL test-suite.log) + $(count ERROR test-suite.log) ))
skipped=$(count SKIP test-suite.log)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && [ -z "${PODNET_SKIP_USER_CHECK:-}" ]; then
        # The same suite as an unprivileged user, built afresh in a private copy.
        user_tree=$(mktemp -d /tmp/podnet-usercheck.XXXXXX)
        (cd "$top" && tar --exclude=./build --exclude=./.git -cf - .) | (cd "$user_tree" && tar xf -)
        chown -R nobody "$user_tree"
        echo "== make check as user nobody (root-only tests skip with 77) =="
        if ! runuser -u nobody -- sh -c "cd '$user_tree' && mkdir b && cd b && ../configure -q --enable-werror >/dev/null && make -s -j$(nproc) >/dev/null && make -s -j$(nproc) check >check.out 2>&1; rc=\$?; grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR)' check.out; [ \$rc -eq 0 ] || cat test-suite.log; exit \$rc"; then
                rc=1
        fi
        if [ -f "$user_tree/b/test-suite.log" ]; then
                passed=$((passed + $(count PASS "$user_tree/b/test-suite.log")))
                failed=$((failed + $(count FAIL "$user_tree/b/test-suite.log") + $(count ERROR "$user_tree/b/test-suite.log")))
                skipped=$((skipped + $(count SKIP "$user_tree/b/test-suite.log")))
        fi
        rm -rf "$user_tree"
fi
# One closing line for both runs (root, then user nobody); root-only tests skip as nobody.
echo "make-check: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "${passed:-0}" -gt 0 ] || rc=1
exit $rc
