#!/bin/bash
# podnet-routes run --kube's partial passes (lib/agent/route-sync-delta.c): a series of node
# adds, changes and deletes from the fake API server (tests/kube/fake-apiserver.py), each
# handled by a pass over the changed peers only, leaves node1's kernel in the state a fresh
# full `sync` of the same final list makes (routes, nexthop objects, neighbour and FDB
# entries compared as dumps); a foreign route on a new peer's prefix is left alone; a peer
# whose claim meets another node's, and this node's own change, go through a full pass;
# the agent's own writes start no second pass.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
kube_need jq openssl python3
ip nexthop show >/dev/null 2>&1 || { echo "SKIP: no nexthop objects in this kernel"; exit 77; }
routes_setup
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-1 > "$TMPDIR/server-token"
kube_serve node1 6443 || exit 1
for i in 1 2 3 4 5 6; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
kubeconfig "$TMPDIR/kc" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-1"
# a route another program owns, on the prefix node9 will claim
ip -n node1 route add 10.1.9.0/24 via 192.168.1.13 proto static
PN_WAIT=10

no_route() { ! ip -n node1 route show "$1" proto 44 | grep -q .; }
partial() { grep -c "Partial pass: .* writes" "$TMPDIR/run.err"; }
state() {
        ip -n node1 route show proto 44 table all
        ip -n node1 -6 route show proto 44 table all
        ip -n node1 nexthop show
        ip -n node1 neigh show nud permanent
        bridge -n node1 fdb show | grep -v "^33:33\|^01:00" || true
        ip -n node1 route show 10.1.9.0/24
}

ip netns exec node1 ${PN_WRAP:-} "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --no-firewall --kubeconfig "$TMPDIR/kc" --interval 3600 -v \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "the listed nodes are routed" has_route 10.1.6.0/24 192.168.1.16
p0=$(partial)

kctl node1 "node?name=node7&cidr=10.1.7.0/24&ip=192.168.1.17"
wait_for "ADDED node7 routed" has_route 10.1.7.0/24 192.168.1.17
kctl node1 "node?name=node3&cidr=10.1.33.0/24&ip=192.168.1.13"
wait_for "MODIFIED node3 (pod CIDR): the new one routed" has_route 10.1.33.0/24 192.168.1.13
wait_for "  the old one gone" no_route 10.1.3.0/24
kctl node1 "node?name=node4&cidr=10.1.4.0/24&ip=192.168.1.44"
wait_for "MODIFIED node4 (address): routed via the new one" has_route 10.1.4.0/24 192.168.1.44
kctl node1 "node?name=node2&cidr=10.1.22.0/24&ip=192.168.1.42"
wait_for "MODIFIED node2 (both)" has_route 10.1.22.0/24 192.168.1.42
kctl node1 "delete?name=node5"
wait_for "DELETED node5: its route removed" no_route 10.1.5.0/24
kctl node1 "node?name=node8&cidr=10.1.8.0/24&ip=192.168.1.18"
kctl node1 "node?name=node10&cidr=10.1.10.0/24&ip=192.168.1.20"
kctl node1 "delete?name=node7"
wait_for "a burst (two adds, a delete) routed" has_route 10.1.10.0/24 192.168.1.20
wait_for "  node7's route removed" no_route 10.1.7.0/24
p1=$(partial)
check "those changes went through partial passes ($((p1 - p0)) of them)" test $((p1 - p0)) -ge 5
check "run prints them as nodes changed, not as a restore" \
        sh -c "grep -q '^nodes changed: ' '$TMPDIR/run.out' && ! grep -q '^route change detected' '$TMPDIR/run.out'"
# node9 claims the prefix of the foreign route the last full pass saw: refused
kctl node1 "node?name=node9&cidr=10.1.9.0/24&ip=192.168.1.19"
kctl node1 "node?name=node11&cidr=10.1.11.0/24&ip=192.168.1.21"
wait_for "node11 routed (after node9)" has_route 10.1.11.0/24 192.168.1.21
is "the foreign route on node9's prefix is left alone" \
        "$(ip -n node1 route show 10.1.9.0/24 | tr -s ' ')" "10.1.9.0/24 via 192.168.1.13 dev eth0 proto static "
# one added since (the partial pass reads it at the prefix): a full pass, which leaves it
ip -n node1 route add 10.1.13.0/24 via 192.168.1.12 proto static
f0=$(grep -c "Route sync: .* writes" "$TMPDIR/run.err")
kctl node1 "node?name=node13&cidr=10.1.13.0/24&ip=192.168.1.23"
kctl node1 "node?name=node14&cidr=10.1.14.0/24&ip=192.168.1.24"
wait_for "node14 routed (after node13)" has_route 10.1.14.0/24 192.168.1.24
is "the foreign route added on node13's prefix since the last full pass is left alone" \
        "$(ip -n node1 route show 10.1.13.0/24 | tr -s ' ')" "10.1.13.0/24 via 192.168.1.12 dev eth0 proto static "
check "  node13 went through a full pass" test "$(grep -c "Route sync: .* writes" "$TMPDIR/run.err")" -gt "$f0"
# node12's pod CIDR overlaps node6's: judged together by a full pass (both refused)
kctl node1 "node?name=node12&cidr=10.1.6.0/25&ip=192.168.1.22"
wait_for "a claim overlapping node6's: node6's route removed by the full pass" no_route 10.1.6.0/24
check "  and no route for the overlapping claim" no_route 10.1.6.0/25
kctl node1 "delete?name=node12"
wait_for "  node12 deleted: node6 routed again" has_route 10.1.6.0/24 192.168.1.16
sleep 1
check "no pass restored routes after podnet's own writes" \
        sh -c "! grep -q 'Routes changed by another writer' '$TMPDIR/run.err'"
state > "$TMPDIR/after-partial.txt"
kill -TERM "$pid"
wait "$pid"

# a fresh full sync of the same final list from an empty table
ip -n node1 route flush proto 44 2>/dev/null
for id in $(ip -n node1 -j nexthop show | jq ".[].id"); do ip -n node1 nexthop del id "$id"; done
is "flushed" "$(ip -n node1 nexthop show | wc -l)" 0
pr node1 --no-firewall sync --kubeconfig "$TMPDIR/kc" > "$TMPDIR/sync.out" 2>&1
state > "$TMPDIR/after-full.txt"
if cmp -s "$TMPDIR/after-partial.txt" "$TMPDIR/after-full.txt"; then
        ok "kernel state after the partial passes = after a fresh full sync ($(wc -l < "$TMPDIR/after-full.txt") lines)"
else
        fail "kernel state after the partial passes = after a fresh full sync"
        diff "$TMPDIR/after-partial.txt" "$TMPDIR/after-full.txt" | sed 's/^/# /'
fi
check "  the state holds node10's route via its nexthop object" \
        grep -q "10.1.10.0/24 nhid [0-9]* via 192.168.1.20" "$TMPDIR/after-full.txt"
kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
