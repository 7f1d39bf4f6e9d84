#!/bin/bash
# allocate --watch: a patch whose outcome was not known, retried by a leader in a later
# term, must not give a CIDR that another leader gave meanwhile. alloc-a plans n6 the
# lowest free /24 but its patch fails (500, not applied); stopped, it loses the Lease to
# alloc-b, which gives that /24 to m1 (a new node before n6 in name order) while n6's
# patches keep failing; alloc-b terminates, alloc-a runs again and leads again: n6 gets a
# free CIDR, not m1's. The fake API server (tests/kube/fake-apiserver.py) runs on
# 127.0.0.1 in this test's own network namespace.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
. "$top_srcdir/tests/kube/alloc-lib.sh"
logged() { grep -qs "$1" "$TMPDIR/api.log"; }
allocator() {
        "$PODNET_ROUTES" --node-name "$1" allocate --watch --kubeconfig "$2" --cluster-cidr "$3" \
                --node-cidr-mask-size-ipv4 24 --lease-identity "$1" --lease-namespace kube-system \
                --lease-duration 3 --renew-deadline 2 --retry-period 0.5 \
                > "$TMPDIR/$1.out" 2>> "$TMPDIR/$1.err" &
}

kube_serve - 6443 --user-tokens "$TMPDIR/user-tokens" || exit 1
kubeconfig "$TMPDIR/kc-a" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-a"
kubeconfig "$TMPDIR/kc-b" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-b"
kc "node?name=a1&cidr=10.244.0.0/24&ip=192.168.1.1"
CL=10.244.0.0/21

kc "patchfail?name=n6&count=100000"
allocator alloc-a "$TMPDIR/kc-a" $CL
pid_a=$!
wait_for "alloc-a leads" logged "leases 201 user=alloc-a"
kc "add?name=n6&ip=192.168.1.16"
wait_for "  its patch of n6 fails (500, not applied)" logged "PATCH /api/v1/nodes/n6 500 user=alloc-a"
kill -STOP $pid_a
allocator alloc-b "$TMPDIR/kc-b" $CL
pid_b=$!
kc "add?name=m1&ip=192.168.1.21"
PN_WAIT=15 wait_for "alloc-a stopped: alloc-b takes over and gives m1 a CIDR" has_cidr m1
m1=$(cidrs m1)
echo "# m1: $m1"
wait_for "  alloc-b's patch of n6 fails too" logged "PATCH /api/v1/nodes/n6 500 user=alloc-b"
kill -TERM $pid_b
wait $pid_b
kc "patchfail?name=n6&count=0"
kill -CONT $pid_a
PN_WAIT=15 wait_for "alloc-a runs again, leads again, and n6 gets a CIDR" has_cidr n6
n6=$(cidrs n6)
echo "# n6: $n6"
check "  not m1's ($m1)" test "$n6" != "$m1"
is "  no CIDR given twice" "$(n_dup)" 0
kill -TERM $pid_a
wait $pid_a
sed 's/^/# alloc-a: /' "$TMPDIR/alloc-a.err" | tail -n 8
kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
