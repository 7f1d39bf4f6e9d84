# Sourced by every test that touches networking (tests/netns/*.sh, bench/, the lab).
#
# Network safety: the caller is re-executed inside a fresh network and mount namespace
# of its own (unshare --net --mount --propagation private) with tmpfs over /run,
# /var/lib and a fresh /sys, and refuses to go on if it still shares the network
# namespace of PID 1. Nothing it does can reach this machine's interfaces, routes or
# firewall, and nothing can route out: the namespace starts with only `lo`.
#
# Also gives the scripts small TAP-style helpers: ok/fail/check/finish.

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: $0 needs root (private network namespaces)"
        exit 77
fi
if [ -z "${PODNET_PRIVATE_NS:-}" ]; then
        if ! command -v unshare >/dev/null 2>&1; then
                echo "SKIP: unshare(1) not found"
                exit 77
        fi
        PODNET_PRIVATE_NS=$$ exec unshare --net --mount --propagation private -- \
                /bin/bash "$0" "$@"
        echo "FATAL: cannot unshare network and mount namespaces" >&2
        exit 99
fi
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
        echo "FATAL: refusing to run a network test in the machine's own network namespace" >&2
        exit 99
fi
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
        echo "FATAL: refusing to run a network test in the machine's own mount namespace" >&2
        exit 99
fi
mount -t tmpfs -o mode=0755 podnet-run /run
mount -t tmpfs -o mode=0755 podnet-varlib /var/lib
mount -t sysfs sysfs /sys 2>/dev/null || true
mkdir -p /run/netns /run/podnet /var/lib/cni /run/podnet-test
export TMPDIR=/run/podnet-test
ip link set lo up
# The namespace must have no route other than the local ones we make.
if [ -n "$(ip route show default; ip -6 route show default)" ]; then
        echo "FATAL: a default route exists in the private namespace" >&2
        exit 99
fi

PN_TESTS=0
PN_FAILED=0
ok() {
        PN_TESTS=$((PN_TESTS + 1))
        echo "ok $PN_TESTS - $*"
}
fail() {
        PN_TESTS=$((PN_TESTS + 1))
        PN_FAILED=$((PN_FAILED + 1))
        echo "not ok $PN_TESTS - $*"
}
# check "description" command args...: passes if the command succeeds.
check() {
        local what=$1
        shift
        if "$@" >/run/podnet-test/.check.out 2>&1; then
                ok "$what"
        else
                fail "$what"
                sed 's/^/#   /' /run/podnet-test/.check.out
        fi
}
# check_fails "description" command args...: passes if the command fails.
check_fails() {
        local what=$1
        shift
        if "$@" >/run/podnet-test/.check.out 2>&1; then
                fail "$what (unexpectedly succeeded)"
                sed 's/^/#   /' /run/podnet-test/.check.out
        else
                ok "$what"
        fi
}
# is "description" got want
is() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                fail "$1"
                echo "#   got '$2', want '$3'"
        fi
}
finish() {
        echo "1..$PN_TESTS"
        [ "$PN_FAILED" -eq 0 ] || { echo "# $PN_FAILED of $PN_TESTS failed"; exit 1; }
        [ "$PN_TESTS" -gt 0 ] || { echo "# no test ran"; exit 1; }
        exit 0
}
