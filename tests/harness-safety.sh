#!/bin/bash
# The network-test harness refuses to run in the machine's own network namespace: a
# script that claims to be in a private namespace while it is not must be stopped
# before it touches anything (tests/netns/lib.sh mounts nothing before this check).
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (lib.sh skips non-root callers before its checks)"
        exit 77
fi
rc=0
out=$(PODNET_PRIVATE_NS=1 PODNET_CALLER_NETNS="$(readlink /proc/self/ns/net)" \
        bash -c ". '$top_srcdir/tests/netns/lib.sh'; echo REACHED" 2>&1) || rc=$?
case "$out" in *REACHED*) echo "FAIL: lib.sh let a test run in the host namespace"; exit 1 ;; esac
[ "$rc" = 99 ] || { echo "FAIL: exit status $rc, want 99"; exit 1; }
case "$out" in *"refusing to run a network test"*) ;; *) echo "FAIL: no refusal message: $out"; exit 1 ;; esac
echo "PASS: refused with status 99: $out"
out=$(PODNET_PRIVATE_NS=1 bash -c ". '$top_srcdir/tests/netns/lib.sh'; echo REACHED" 2>&1) && rc=0 || rc=$?
case "$out" in *REACHED*) echo "FAIL: lib.sh ran without knowing its caller's namespace"; exit 1 ;; esac
[ "$rc" = 99 ] || { echo "FAIL: exit status $rc without a recorded namespace, want 99"; exit 1; }
echo "PASS: refused with status 99 when the caller's namespace is unknown"
# And the normal path really lands in other namespaces (net, mount, pid).
cat > "${TMPDIR:-/tmp}/pn-safety-$$.sh" <<'INNER'
. "$top_srcdir/tests/netns/lib.sh"
echo "NS $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/mnt) $$"
INNER
inner=$(bash "${TMPDIR:-/tmp}/pn-safety-$$.sh"); rc=$?
rm -f "${TMPDIR:-/tmp}/pn-safety-$$.sh"
set -- $inner
[ "$rc" = 0 ] && [ "$1" = NS ] || { echo "FAIL: inner script did not run ($rc): $inner"; exit 1; }
[ "$2" != "$(readlink /proc/self/ns/net)" ] || { echo "FAIL: same network namespace"; exit 1; }
[ "$3" != "$(readlink /proc/self/ns/mnt)" ] || { echo "FAIL: same mount namespace"; exit 1; }
[ "$4" = 1 ] || { echo "FAIL: not PID 1 of its own PID namespace ($4)"; exit 1; }
echo "PASS: private net, mount and PID namespaces"
