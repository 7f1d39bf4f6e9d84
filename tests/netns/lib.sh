# Sourced by every test that touches networking (tests/netns/*.sh, bench/, the lab).
#
# Network safety: the caller is re-executed inside a fresh network, mount and PID
# namespace of its own (unshare --net --mount --pid --propagation private) with tmpfs
# over /run, /var/lib, a fresh /sys and /proc, and refuses to go on if it still shares
# the network or mount namespace it was started from (or PID 1's). Nothing it does can
# reach this machine's interfaces, routes or firewall, and nothing can route out: the
# namespace starts with only `lo`.
#
# Also gives the scripts small TAP-style helpers: ok/fail/check/finish.

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: $0 needs root (private network namespaces)"
        exit 77
fi
if [ -z "${PODNET_PRIVATE_NS:-}" ]; then
        if ! command -v unshare >/dev/null 2>&1 || ! command -v timeout >/dev/null 2>&1; then
                echo "SKIP: unshare(1) or timeout(1) not found"
                exit 77
        fi
        # Also a PID namespace of its own: whatever the test starts (daemons, deferred
        # teardowns) dies with it, and `timeout` bounds a hung test (PODNET_TEST_TIMEOUT
        # seconds, default 600) so that it cannot hang the suite.
        PODNET_INIT_NETNS=$(readlink /proc/1/ns/net) PODNET_CALLER_NETNS=$(readlink /proc/self/ns/net) \
                PODNET_CALLER_MNTNS=$(readlink /proc/self/ns/mnt) \
                PODNET_PRIVATE_NS=$$ exec timeout -k 5 "${PODNET_TEST_TIMEOUT:-600}" \
                unshare --net --mount --pid --fork --kill-child --mount-proc --propagation private -- \
                /bin/bash "$0" "$@"
        echo "FATAL: cannot unshare network, mount and PID namespaces" >&2
        exit 99
fi
# Recorded before the unshare (inside, /proc/1 is this script): the caller's namespace,
# which must be known and must differ from where we are now, and the machine's PID 1's,
# which must differ too where it can be read (some sandboxes hide it even from root).
pn_net=$(readlink /proc/self/ns/net)
if [ -z "${PODNET_CALLER_NETNS:-}" ] || [ "$pn_net" = "$PODNET_CALLER_NETNS" ] ||
        { [ -n "${PODNET_INIT_NETNS:-}" ] && [ "$pn_net" = "$PODNET_INIT_NETNS" ]; }; then
        echo "FATAL: refusing to run a network test in the machine's own network namespace" >&2
        exit 99
fi
if [ "$(readlink /proc/self/ns/mnt)" = "${PODNET_CALLER_MNTNS:-}" ]; then
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
# fails_with "description" "expected text in the output" command args...: passes if the
# command fails and its output (stdout and stderr) contains the text.
fails_with() {
        local what=$1 pat=$2
        shift 2
        if "$@" >"$TMPDIR/out" 2>&1; then
                fail "$what (unexpectedly succeeded)"
        elif grep -qF -- "$pat" "$TMPDIR/out"; then
                ok "$what"
                return
        else
                fail "$what"
                echo "#   want: $pat"
        fi
        sed 's/^/#   /' "$TMPDIR/out"
}
# fw_router: a pod namespace fwpod (10.6.0.2/24) and an outside namespace fwout
# (192.168.60.2/24, no route back to the pods) on veths fwv-pod and fwv-out to this
# namespace, which forwards between them (10.6.0.1, 192.168.60.1): firewall tests send
# traffic only between namespaces made here. The caller deletes fwpod and fwout.
fw_router() {
        ip netns add fwpod
        ip netns add fwout
        ip link add fwv-pod type veth peer name eth0 netns fwpod
        ip link add fwv-out type veth peer name eth0 netns fwout
        ip addr add 10.6.0.1/24 dev fwv-pod
        ip addr add 192.168.60.1/24 dev fwv-out
        ip link set fwv-pod up
        ip link set fwv-out up
        ip -n fwpod addr add 10.6.0.2/24 dev eth0
        ip -n fwpod link set eth0 up
        ip -n fwpod link set lo up
        ip -n fwpod route add 192.168.60.0/24 via 10.6.0.1
        ip -n fwout addr add 192.168.60.2/24 dev eth0
        ip -n fwout link set eth0 up
        echo 1 >/proc/sys/net/ipv4/ip_forward
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
