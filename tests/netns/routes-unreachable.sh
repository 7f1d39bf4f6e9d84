#!/bin/bash
# A peer whose address is only reachable through a gateway gets no route and is reported
# as not routable on this network; the other peers are routed; exit status 3.
# (--overlay never: what this test is about is the direct routing of peers; the overlay,
# which would carry node9 and node8, is tests/netns/overlay-sync.sh's)
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
ip -n node1 route add 192.168.9.0/24 via 192.168.1.13
cp "$TMPDIR/nodes3.txt" "$TMPDIR/far.txt"
echo "node9 10.1.9.0/24 192.168.9.9" >> "$TMPDIR/far.txt"
echo "node8 10.1.8.0/24 172.31.0.8" >> "$TMPDIR/far.txt"

pr node1 sync --nodes "$TMPDIR/far.txt" --no-firewall --overlay never > "$TMPDIR/out" 2>&1
is "exit status 3 (some peers unreachable)" "$?" 3
check "reason names the gateway" grep -q \
        "^unreachable 10.1.9.0/24 via 192.168.9.9 (node9): 192.168.9.9 is reached via gateway 192.168.1.1\?3\?, not directly: not routable on this network" \
        "$TMPDIR/out"
check "peer without any route reported" grep -q "^unreachable 10.1.8.0/24 via 172.31.0.8 (node8): no route to 172.31.0.8" "$TMPDIR/out"
check_fails "no route installed for node9" ip -n node1 route show 10.1.9.0/24 proto 44 | grep -q .
is "the reachable peers are routed" "$(n_routes44 node1)" 2
out=$(pr node1 sync --nodes "$TMPDIR/far.txt" --no-firewall --overlay never --json)
is "resync: zero writes" "$(echo "$out" | jq .summary.writes)" 0
is "resync: two unreachable" "$(echo "$out" | jq .summary.unreachable)" 2
is "status: node9 unreachable" \
        "$(pr node1 status --nodes "$TMPDIR/far.txt" --no-firewall --overlay never --json |
           jq -r '.peers[] | select(.name == "node9") | .state')" unreachable

# the peer moves onto the network: now it is routed
sed -i 's/192.168.9.9/192.168.1.19/' "$TMPDIR/far.txt"
out=$(pr node1 sync --nodes "$TMPDIR/far.txt" --no-firewall --overlay never --json)
is "moved peer: added" "$(echo "$out" | jq -r '.routes[] | select(.node == "node9") | .action')" added
finish
