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
for f in test-suite.log; do [ $rc -eq 0 ] || cat "$f" || true; done
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && [ -z "${PODNET_SKIP_USER_CHECK:-}" ]; then
        # The same suite as an unprivileged user, built afresh in a private copy.
        user_tree=$(mktemp -d /tmp/podnet-usercheck.XXXXXX)
        (cd "$top" && tar --exclude=./build --exclude=./.git -cf - .) | (cd "$user_tree" && tar xf -)
        chown -R nobody "$user_tree"
        echo "== make check as user nobody (root-only tests skip with 77) =="
        if ! runuser -u nobody -- sh -c "cd '$user_tree' && mkdir b && cd b && ../configure -q --enable-werror >/dev/null && make -s -j$(nproc) >/dev/null && make -s -j$(nproc) check >check.out 2>&1; rc=\$?; grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR)' check.out; [ \$rc -eq 0 ] || cat test-suite.log; exit \$rc"; then
                rc=1
        fi
        rm -rf "$user_tree"
fi
exit $rc
