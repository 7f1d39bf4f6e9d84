#!/bin/bash
# podnet-routes sync on three nodes: routes end to end, stale removal, replacement when a
# node's address changes, foreign routes untouched, no-op resync, bad input, CNI conflist.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
N="$TMPDIR/nodes3.txt"
# the cluster CIDRs make the foreign routes below (inside the pod CIDR space) no reason to
# refuse a peer: without them a route podnet does not own marks its prefix as taken
FLAGS="--no-firewall --cluster-cidr 10.1.0.0/16,fd00:10:1::/48"

check_fails "before sync: node1 cannot reach node3's pod address" \
        ip netns exec node1 ping -c1 -W1 -I 10.1.1.1 10.1.3.1
for i in 1 2 3; do
        pr node$i sync --nodes "$N" $FLAGS > "$TMPDIR/sync$i.out"
        is "node$i sync exits 0" "$?" 0
done
is "node1 has two routes with protocol 44" "$(routes44 node1 | tr '\n' ' ')" \
        "10.1.2.0/24 via 192.168.1.12 10.1.3.0/24 via 192.168.1.13 "
is "node2 has two routes" "$(routes44 node2 | tr '\n' ' ')" \
        "10.1.1.0/24 via 192.168.1.11 10.1.3.0/24 via 192.168.1.13 "
is "node3 has two routes" "$(n_routes44 node3)" 2
check "sync output says added" grep -q "^added *10.1.3.0/24 via 192.168.1.13 (node3)" \
        "$TMPDIR/sync1.out"
check "summary line" grep -q "^2 added, 0 replaced, 0 deleted, 0 kept" "$TMPDIR/sync1.out"
check "node1 pod address reaches node3 pod address" \
        ip netns exec node1 ping -c1 -W2 -I 10.1.1.1 10.1.3.1
check "node2 pod address reaches node1 pod address" \
        ip netns exec node2 ping -c1 -W2 -I 10.1.2.1 10.1.1.1
is "forwarding enabled" "$(ip netns exec node1 cat /proc/sys/net/ipv4/ip_forward)" 1

# CNI conflist: written once, then left alone
C="$TMPDIR/node1/cni/10-podnet.conflist"
check "conflist written" test -f "$C"
is "conflist subnet is node1's" "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$C")" \
        10.1.1.0/24
is "conflist plugin type" "$(jq -r '.plugins[0].type' "$C")" podnet-cni
is "conflist mode" "$(stat -c %a "$C")" 644
before=$(stat -c '%i %Y.%y' "$C")
sleep 1.1
out=$(pr node1 sync --nodes "$N" $FLAGS --json)
is "no-op resync: zero writes" "$(echo "$out" | jq .summary.writes)" 0
is "no-op resync: two kept" "$(echo "$out" | jq .summary.kept)" 2
is "no-op resync: conflist not rewritten" "$(echo "$out" | jq .cniConf.written)" false
is "conflist inode and mtime unchanged" "$(stat -c '%i %Y.%y' "$C")" "$before"

# foreign routes, also inside the pod CIDR space, survive sync and teardown
ip -n node1 route add 10.99.0.0/24 via 192.168.1.13 proto static
ip -n node1 route add 10.1.2.128/25 via 192.168.1.12 proto 45
ip -n node1 route add 10.1.3.0/24 via 192.168.1.12 metric 50 proto boot
out=$(pr node1 sync --nodes "$N" $FLAGS --json)
is "foreign routes: still zero writes" "$(echo "$out" | jq .summary.writes)" 0
check "static route survives sync" ip -n node1 route show 10.99.0.0/24 proto static | grep -q via

# a node leaves: its route goes
grep -v '^node3' "$N" > "$TMPDIR/nodes2.txt"
out=$(pr node1 sync --nodes "$TMPDIR/nodes2.txt" $FLAGS --json)
is "node3 left: one deleted" "$(echo "$out" | jq .summary.deleted)" 1
is "node3 left: one write" "$(echo "$out" | jq .summary.writes)" 1
is "node3 left: only node2's route" "$(routes44 node1)" "10.1.2.0/24 via 192.168.1.12"

# a node's address changes: route replaced
sed 's/192.168.1.12/192.168.1.22/' "$TMPDIR/nodes2.txt" > "$TMPDIR/nodes2b.txt"
out=$(pr node1 sync --nodes "$TMPDIR/nodes2b.txt" $FLAGS --json)
is "address change: one replaced" "$(echo "$out" | jq .summary.replaced)" 1
is "address change: one write" "$(echo "$out" | jq .summary.writes)" 1
is "address change: new gateway" "$(routes44 node1)" "10.1.2.0/24 via 192.168.1.22"

# malformed input changes nothing
printf 'node1 10.1.1.0/24 192.168.1.11\nnode2 10.1.2.0/24\n' > "$TMPDIR/bad.txt"
pr node1 sync --nodes "$TMPDIR/bad.txt" $FLAGS > "$TMPDIR/bad.out" 2>&1
is "malformed node list: exit 1" "$?" 1
check "error names the line" grep -q "^podnet-routes: .*Line 2: expected NAME" "$TMPDIR/bad.out"
echo '{"items":[{"metadata":{"name":"node2"},"spec":{"podCIDR":"banana/24"}}]}' > "$TMPDIR/bad.json"
pr node1 sync --nodes "$TMPDIR/bad.json" $FLAGS > "$TMPDIR/bad.out" 2>&1
is "malformed JSON: exit 1" "$?" 1
check "error names the key" grep -q "items\[0\]: invalid pod CIDR" "$TMPDIR/bad.out"
is "routes unchanged after bad input" "$(routes44 node1)" "10.1.2.0/24 via 192.168.1.22"

# dry run changes nothing
out=$(pr node1 sync --nodes "$N" $FLAGS --dry-run --json)
is "dry run: reports one replace and one add" \
        "$(echo "$out" | jq -c '[.summary.replaced, .summary.added, .summary.writes]')" "[1,1,0]"
is "dry run: routes unchanged" "$(routes44 node1)" "10.1.2.0/24 via 192.168.1.22"

# status
pr node1 status --nodes "$N" $FLAGS --json > "$TMPDIR/status.json"
is "status: node2's route has the wrong gateway" \
        "$(jq -r '.routes[] | select(.dst == "10.1.2.0/24") | .state' "$TMPDIR/status.json")" \
        wrong-gateway
is "status: node3 missing" "$(jq -r '.peers[] | select(.name == "node3") | .state' \
        "$TMPDIR/status.json")" missing
is "status: node1 is self" "$(jq -r '.peers[] | select(.name == "node1") | .state' \
        "$TMPDIR/status.json")" self

# teardown: podnet's routes and conflist go, foreign routes stay
pr node1 teardown $FLAGS > /dev/null
is "teardown exits 0" "$?" 0
is "no protocol-44 route left" "$(n_routes44 node1)" 0
check "static route survives teardown" ip -n node1 route show 10.99.0.0/24 | grep -q via
check "protocol-45 route survives teardown" ip -n node1 route show proto 45 | grep -q 10.1.2.128
check "boot route survives teardown" ip -n node1 route show 10.1.3.0/24 | grep -q "metric 50"
check_fails "conflist removed" test -f "$C"
echo '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"bridge"}]}' > "$C"
pr node1 teardown $FLAGS > /dev/null 2>&1
check "someone else's conflist is left alone" test -f "$C"

# the kubectl JSON form works the same way
# (as node-a: a list without this node would change nothing, see routes-robust.sh)
pr node3 sync --nodes "$PODNET_TESTDATA/nodelist-dualstack.json" --no-cni-conf --no-firewall \
        --node-name node-a > "$TMPDIR/ds.out"
is "dual-stack list on node3 as node-a: exit 3 (node-b via 192.168.10.x not on this network)" \
        "$?" 3
check "node-c reported without pod CIDR" grep -q "^skipped .*(node-c): no pod CIDR" "$TMPDIR/ds.out"

# --- nexthop objects (kernel >= 5.3): one per peer node, tagged with protocol 44 ---------
# node2 still has the routes of the first sync; node3 gets its routes back for the pings.
pr node3 sync --nodes "$N" $FLAGS --no-cni-conf > /dev/null
nhids44() { ip -n "$1" -j nexthop show | jq -c '[.[] | select(.protocol == "44") | .id] | sort'; }
nhid_of() { ip -n "$1" -j route show "$2" proto 44 | jq '.[0].nhid'; }
n_plain44() { ip -n "$1" -j route show proto 44 | jq '[.[] | select(.nhid == null)] | length'; }
is "node2: one nexthop object per peer, protocol 44" \
        "$(ip -n node2 -j nexthop show | jq -r '[.[] | select(.protocol == "44") | .gateway] |
                sort | join(" ")')" "192.168.1.11 192.168.1.13"
is "node2: both routes use podnet's nexthop objects" \
        "$(ip -n node2 -j route show proto 44 | jq --argjson ids "$(nhids44 node2)" \
                '[.[] | select(.nhid as $n | $ids | index($n))] | length')" 2
pr node2 status --nodes "$N" $FLAGS --json > "$TMPDIR/status2.json"
is "status: via read from the nexthop object" \
        "$(jq -r '.routes[] | select(.dst == "10.1.3.0/24") | "\(.via) \(.node) \(.state)"' \
                "$TMPDIR/status2.json")" "192.168.1.13 node3 ok"

# node3 changes its address: one write, the nexthop object replaced, the route follows
nid3=$(nhid_of node2 10.1.3.0/24)
sed 's/192.168.1.13/192.168.1.23/' "$N" > "$TMPDIR/nodes3b.txt"
ip -n node3 addr add 192.168.1.23/24 dev eth0
out=$(pr node2 sync --nodes "$TMPDIR/nodes3b.txt" $FLAGS --json)
is "nexthop: address change is exactly one write" "$(echo "$out" | jq .summary.writes)" 1
is "nexthop: address change reported as one replaced route" \
        "$(echo "$out" | jq -c '[.summary.replaced, .summary.kept]')" "[1,1]"
is "nexthop: route now via the new address" "$(routes44 node2 | grep 10.1.3)" \
        "10.1.3.0/24 via 192.168.1.23"
is "nexthop: same object, replaced in place" "$(nhid_of node2 10.1.3.0/24)" "$nid3"
check "nexthop: node2 pod reaches node3 pod via the new address" \
        ip netns exec node2 ping -c1 -W2 -I 10.1.2.1 10.1.3.1

# a foreign nexthop (another protocol) with node3's old gateway, and a route using it
ip -n node2 nexthop add id 7 via 192.168.1.13 dev eth0 proto static
ip -n node2 route add 10.98.0.0/24 nhid 7
out=$(pr node2 sync --nodes "$N" $FLAGS --json)
is "address back: one write" "$(echo "$out" | jq .summary.writes)" 1
is "the foreign nexthop with the same gateway is not taken over" "$(nhid_of node2 10.1.3.0/24)" \
        "$nid3"

# node3 leaves: its nexthop goes, and its route with it, in one write
out=$(pr node2 sync --nodes "$TMPDIR/nodes2.txt" $FLAGS --json)
is "nexthop: node left, one deleted, one write" \
        "$(echo "$out" | jq -c '[.summary.deleted, .summary.writes]')" "[1,1]"
is "nexthop: its object and route are gone" "$(nhids44 node2 | jq length) $(n_routes44 node2)" "1 1"
out=$(pr node2 sync --nodes "$N" $FLAGS --json)
is "node3 back: nexthop and route added (two writes)" \
        "$(echo "$out" | jq -c '[.summary.added, .summary.writes]')" "[1,2]"
is "node3 back: the same id (derived from its name)" "$(nhid_of node2 10.1.3.0/24)" "$nid3"

# a foreign nexthop holding the id podnet would pick: podnet takes the next free one
pr node2 sync --nodes "$TMPDIR/nodes2.txt" $FLAGS > /dev/null
ip -n node2 nexthop add id "$nid3" via 192.168.1.99 dev eth0 proto static
out=$(pr node2 sync --nodes "$N" $FLAGS --json)
is "id taken by a foreign nexthop: still added" "$(echo "$out" | jq .summary.added)" 1
check "id taken: another id used" test "$(nhid_of node2 10.1.3.0/24)" != "$nid3"
is "id taken: the foreign nexthop is untouched" \
        "$(ip -n node2 -j nexthop show id "$nid3" | jq -r '.[0] | "\(.gateway) \(.protocol)"')" \
        "192.168.1.99 static"
is "route via node3" "$(routes44 node2 | grep 10.1.3)" "10.1.3.0/24 via 192.168.1.13"

# plain routes forced (what a kernel without nexthop objects gets): migrated and cleaned up
out=$(PODNET_NO_NEXTHOP=1 pr node2 sync --nodes "$N" $FLAGS --json)
is "fallback: both routes replaced by plain ones, our nexthops deleted (4 writes)" \
        "$(echo "$out" | jq -c '[.summary.replaced, .summary.writes]')" "[2,4]"
is "fallback: no route uses a nexthop object" "$(n_plain44 node2)" 2
is "fallback: no nexthop of podnet's left" "$(nhids44 node2)" "[]"
is "fallback: routes" "$(routes44 node2 | tr '\n' ' ')" \
        "10.1.1.0/24 via 192.168.1.11 10.1.3.0/24 via 192.168.1.13 "
check "fallback: node2 pod reaches node3 pod" ip netns exec node2 ping -c1 -W2 -I 10.1.2.1 10.1.3.1
out=$(PODNET_NO_NEXTHOP=1 pr node2 sync --nodes "$N" $FLAGS --json)
is "fallback: no-op resync, zero writes" "$(echo "$out" | jq .summary.writes)" 0

# plain routes, as an older podnet left them, migrate to nexthop objects on the next sync
out=$(pr node2 sync --nodes "$N" $FLAGS --json)
is "migration: two replaced, 2 nexthops + 2 routes written" \
        "$(echo "$out" | jq -c '[.summary.replaced, .summary.writes]')" "[2,4]"
is "migration: no plain route left" "$(n_plain44 node2)" 0
is "migration: two nexthops of podnet's" "$(nhids44 node2 | jq length)" 2
out=$(pr node2 sync --nodes "$N" $FLAGS --json)
is "migration: then a no-op" "$(echo "$out" | jq -c '[.summary.kept, .summary.writes]')" "[2,0]"

pr node2 teardown $FLAGS > /dev/null
is "teardown: no route and no nexthop of podnet's" "$(n_routes44 node2) $(nhids44 node2)" "0 []"
is "teardown: foreign nexthops stay" \
        "$(ip -n node2 -j nexthop show | jq -c '[.[] | .protocol] | sort')" '["static","static"]'
check "teardown: the route using a foreign nexthop stays" \
        ip -n node2 route show 10.98.0.0/24 | grep -q "nhid 7"

# dual-stack: one nexthop object per node and family
for i in 1 2 3; do
        ip -n node$i addr add fd00::1$i/64 dev eth0 nodad
        ip -n node$i addr add fd00:10:1:$i::1/128 dev lo
done
cat > "$TMPDIR/ds.txt" <<EON
node1 10.1.1.0/24,fd00:10:1:1::/64 192.168.1.11,fd00::11
node2 10.1.2.0/24,fd00:10:1:2::/64 192.168.1.12,fd00::12
node3 10.1.3.0/24,fd00:10:1:3::/64 192.168.1.13,fd00::13
EON
for i in 1 3; do
        pr node$i sync --nodes "$TMPDIR/ds.txt" $FLAGS --no-cni-conf > /dev/null
        is "dual-stack sync on node$i exits 0" "$?" 0
done
is "dual-stack: node1 has 4 nexthops of podnet's, 2 IPv6" \
        "$(ip -n node1 -j nexthop show | jq -c '[.[] | select(.protocol == "44") | .gateway] |
                [length, (map(select(contains(":"))) | length)]')" "[4,2]"
is "dual-stack: IPv6 routes via the IPv6 nexthops" \
        "$(ip -n node1 -6 -j route show proto 44 | jq -r '.[] | "\(.dst) \(.gateway) \(.nhid > 0)"' |
                sort | tr '\n' ' ')" \
        "fd00:10:1:2::/64 fd00::12 true fd00:10:1:3::/64 fd00::13 true "
check "dual-stack: node1 pod reaches node3 pod over IPv6" \
        ip netns exec node1 ping -6 -c1 -W2 -I fd00:10:1:1::1 fd00:10:1:3::1
out=$(pr node1 sync --nodes "$TMPDIR/ds.txt" $FLAGS --no-cni-conf --json)
is "dual-stack: no-op resync, zero writes" \
        "$(echo "$out" | jq -c '[.summary.kept, .summary.writes]')" "[4,0]"
finish
