#!/bin/bash
# The VXLAN overlay in podnet-routes' sync: three nodes, node3 on another subnet behind a
# router that knows no pod CIDR. Per mode the peers' paths, routes, neighbour and FDB
# entries, pings between pod addresses, no-op resync, address change, a peer leaving,
# repair of hand-deleted entries, mode never removing the device, teardown leaving
# nothing.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
ip link add pnvxprobe type vxlan id 1 dstport 4789 2>/dev/null || {
        echo "SKIP: no VXLAN in this kernel"
        exit 77
}
ip link del pnvxprobe

# routed: node1 and node2 on 192.168.1.0/24, node3 on 192.168.2.0/24, router rt between
routed_setup() {
        ip netns add sw
        ip netns add sw2
        ip netns add rt
        for s in sw sw2; do
                ip -n $s link set lo up
                ip -n $s link add br0 type bridge
                ip -n $s link set br0 up
        done
        ip -n rt link set lo up
        ip link add name eth0 netns rt type veth peer name r1 netns sw
        ip link add name eth1 netns rt type veth peer name r2 netns sw2
        ip -n sw link set r1 master br0 up
        ip -n sw2 link set r2 master br0 up
        ip -n rt addr add 192.168.1.1/24 dev eth0
        ip -n rt addr add 192.168.2.1/24 dev eth1
        ip -n rt link set eth0 up
        ip -n rt link set eth1 up
        ip netns exec rt sysctl -qw net.ipv4.ip_forward=1
        for i in 1 2 3; do
                local s=sw net=1
                [ $i = 3 ] && s=sw2 net=2
                ip netns add node$i
                ip -n node$i link set lo up
                ip link add name eth0 netns node$i type veth peer name p$i netns $s
                ip -n $s link set p$i master br0 up
                ip -n node$i addr add 192.168.$net.1$i/24 dev eth0
                ip -n node$i link set eth0 up
                ip -n node$i route add default via 192.168.$net.1
                ip -n node$i addr add 10.1.$i.1/32 dev lo
                mkdir -p "$TMPDIR/node$i/cni"
        done
        cat > "$TMPDIR/nodes.txt" <<EON
node1 10.1.1.0/24 192.168.1.11
node2 10.1.2.0/24 192.168.1.12
node3 10.1.3.0/24 192.168.2.13
EON
}

# pings NAME: every ordered pair of the three nodes' pod addresses
pings() {
        local a b bad=0
        for a in 1 2 3; do
                for b in 1 2 3; do
                        [ $a = $b ] && continue
                        ip netns exec node$a ping -c1 -W2 -I 10.1.$a.1 10.1.$b.1 >/dev/null 2>&1 ||
                                { bad=$((bad + 1)); echo "#   node$a -> node$b fails"; }
                done
        done
        is "$1: 6 of 6 pod pairs reach each other" "$((6 - bad))" 6
}

syncall() {
        local i
        for i in 1 2 3; do
                pr node$i sync --nodes "${NODES:-$TMPDIR/nodes.txt}" $FLAGS "$@" > "$TMPDIR/sync$i.out" 2>&1 ||
                        { echo "#   node$i sync failed:"; sed 's/^/#   /' "$TMPDIR/sync$i.out"; }
        done
}

routes1() { ip -n node1 route show proto 44 | sed 's/nhid [0-9]* //' | sort; }
# state: every node's links, addresses, routes, permanent neighbours and FDB (node3's
# address as before the test changed it)
state() {
        local i
        for i in 1 2 3; do
                echo "== node$i"
                state_of node$i | grep -v "fe80::" | sed 's/192\.168\.2\.23\b/192.168.2.13/g'
        done
}
state_of() {
        ip -n "$1" -d link show | grep -v "^ *link/\|altname" | sed 's/ state [A-Z]*//'
        ip -n "$1" addr show | grep -v "^ *link/\|altname\|valid_lft" | sed 's/ state [A-Z]*//'
        # (the link-local address comes some time after the link: not podnet's)
        ip -n "$1" route show table all
        ip -n "$1" -6 route show table all | grep -v fe80::
        ip -n "$1" neigh show nud permanent
        ip netns exec "$1" bridge fdb show
        ip -n "$1" nexthop show 2>/dev/null
}

# podnet-routes without routes-lib.sh's --overlay never: the default is under test here
pr() {
        local n=$1
        shift
        ip netns exec "$n" "$PODNET_ROUTES" --node-name "$n" --cni-conf-dir "$TMPDIR/$n/cni" "$@"
}
FLAGS="--no-firewall --cluster-cidr 10.1.0.0/16"
routed_setup
before=$(state)

# --- cross-subnet: node3 over the overlay, node2 direct
syncall --overlay cross-subnet
is "cross-subnet: node1's routes" "$(routes1 | tr '\n' ';')" \
        "10.1.2.0/24 via 192.168.1.12 dev eth0 ;10.1.3.0/24 via 10.1.3.0 dev podnet.vx onlink ;"
check "cross-subnet: node1 reports node3 vxlan (not on-link)" \
        grep -q "^path *node3 vxlan (not on-link)" "$TMPDIR/sync1.out"
check "cross-subnet: node1 reports node2 direct (on-link)" \
        grep -q "^path *node2 direct (on-link)" "$TMPDIR/sync1.out"
is "node1's neighbour entry for node3's endpoint" \
        "$(ip -n node1 neigh show dev podnet.vx | sed 's/ *$//')" \
        "10.1.3.0 lladdr 72:34:c0:a8:02:0d PERMANENT"
is "node1's FDB entry for node3's endpoint MAC" \
        "$(ip netns exec node1 bridge fdb show dev podnet.vx | sed 's/ *$//')" \
        "72:34:c0:a8:02:0d dst 192.168.2.13 self permanent"
is "node3's endpoint MAC is its address's" \
        "$(ip -n node3 -j link show podnet.vx | jq -r '.[0].address')" 72:34:c0:a8:02:0d
is "VXLAN device MTU: underlay 1500 less 50" \
        "$(ip -n node1 -j link show podnet.vx | jq -r '.[0].mtu')" 1450
is "VXLAN device: no learning, port 4789, VNI 1" \
        "$(ip -n node1 -d -j link show podnet.vx | jq -r '.[0].linkinfo.info_data | "\(.learning) \(.port) \(.id)"')" \
        "false 4789 1"
is "conflist MTU is the overlay's" "$(jq -r '.plugins[0].mtu' "$TMPDIR/node1/cni/10-podnet.conflist")" 1450
is "node3 has both peers over the overlay" "$(ip -n node3 route show proto 44 | grep -c podnet.vx)" 2
pings "cross-subnet, routed"
if [ -n "${PODNET_NO_NEXTHOP:-}" ]; then
        is "plain routes (PODNET_NO_NEXTHOP): no nexthop object on node1" \
                "$(ip -n node1 nexthop show 2>/dev/null | wc -l)" 0
        is "plain routes: no route uses one" "$(ip -n node1 route show proto 44 | grep -c nhid)" 0
elif ip -n node1 nexthop show >/dev/null 2>&1; then
        is "nexthop objects (the kernel has them): every route of node1 uses one" \
                "$(ip -n node1 route show proto 44 | grep -c nhid)" 2
fi

# --- no-op resync: no write
syncall --overlay cross-subnet
check "no-op resync: 0 writes" grep -q "; 0 route writes" "$TMPDIR/sync1.out"
pr node1 sync --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay cross-subnet --json > "$TMPDIR/j.out"
is "JSON: peers' paths" "$(jq -c '[.peers[] | [.node, .path, .reason]]' "$TMPDIR/j.out")" \
        '[["node2","direct","on-link"],["node3","vxlan","not on-link"]]'
is "JSON: summary counts" "$(jq -c '[.summary.direct, .summary.vxlan, .summary.writes]' "$TMPDIR/j.out")" \
        '[1,1,0]'

# --- status shows the paths
pr node1 status --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay cross-subnet > "$TMPDIR/st.out"
check "status: node3 path vxlan (not on-link)" grep -q "^node3 .* path vxlan (not on-link)" "$TMPDIR/st.out"

# --- repair of hand-deleted entries by the next sync
ip -n node1 neigh del 10.1.3.0 dev podnet.vx
ip netns exec node1 bridge fdb del 72:34:c0:a8:02:0d dev podnet.vx dst 192.168.2.13
ip -n node1 route del 10.1.3.0/24
pr node1 sync --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay cross-subnet > "$TMPDIR/sync1.out"
check "repair: 3 writes (route, neighbour, FDB)" grep -q "; 3 route writes" "$TMPDIR/sync1.out"
pings "after repair"

# --- run restores a route, neighbour or FDB entry deleted by hand (netlink events)
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf run \
        --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay cross-subnet --interval 3600 \
        > "$TMPDIR/run.out" 2>&1 &
pid=$!
has_neigh() { ip -n node1 neigh show dev podnet.vx 10.1.3.0 nud permanent | grep -q 72:34:c0:a8:02:0d; }
has_fdb() { ip netns exec node1 bridge fdb show dev podnet.vx | grep -q "72:34:c0:a8:02:0d dst 192.168.2.13"; }
has_ovroute() { ip -n node1 route show 10.1.3.0/24 proto 44 | grep -q "dev podnet.vx onlink"; }
# its first pass finds everything in place; a change made during a pass could be taken
# for the pass's own, so the deletions wait until it has printed its summary
PN_WAIT=10 wait_for "run: first pass done" grep -q "route writes" "$TMPDIR/run.out"
ip -n node1 neigh del 10.1.3.0 dev podnet.vx
PN_WAIT=5 wait_for "run: neighbour entry deleted by hand is restored" has_neigh
ip netns exec node1 bridge fdb del 72:34:c0:a8:02:0d dev podnet.vx dst 192.168.2.13
PN_WAIT=5 wait_for "run: FDB entry deleted by hand is restored" has_fdb
ip -n node1 route del 10.1.3.0/24
PN_WAIT=5 wait_for "run: overlay route deleted by hand is restored" has_ovroute
kill -TERM "$pid"
wait "$pid"
is "run: exits 0 on SIGTERM" "$?" 0

# --- always: every peer over the overlay
syncall --overlay always
is "always: node1's routes" "$(routes1 | tr '\n' ';')" \
        "10.1.2.0/24 via 10.1.2.0 dev podnet.vx onlink ;10.1.3.0/24 via 10.1.3.0 dev podnet.vx onlink ;"
check "always: node2 vxlan (forced by mode)" grep -q "^path *node2 vxlan (forced by mode)" "$TMPDIR/sync1.out"
pings "always, routed"

# --- node3 changes its address: its neighbour and FDB entries change, its route stays
ip -n node3 addr del 192.168.2.13/24 dev eth0
ip -n node3 addr add 192.168.2.23/24 dev eth0
ip -n node3 route add default via 192.168.2.1 2>/dev/null
sed -i 's/192.168.2.13/192.168.2.23/' "$TMPDIR/nodes.txt"
pr node1 sync --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay always > "$TMPDIR/sync1.out"
# the neighbour entry replaced, the FDB entry of the new MAC added, the old one deleted
check "address change: 3 writes on node1" grep -q "; 3 route writes" "$TMPDIR/sync1.out"
is "address change: node1's FDB entry for node3" \
        "$(ip netns exec node1 bridge fdb show dev podnet.vx | grep -c 192.168.2.23)" 1
is "address change: no entry left for the old address" \
        "$(ip netns exec node1 bridge fdb show dev podnet.vx | grep -c 192.168.2.13)" 0
syncall --overlay always
pings "after node3's address change"

# --- node3 leaves: its route, neighbour and FDB entries go
grep -v node3 "$TMPDIR/nodes.txt" > "$TMPDIR/nodes2.txt"
pr node1 sync --nodes "$TMPDIR/nodes2.txt" $FLAGS --overlay always > "$TMPDIR/sync1.out"
is "peer left: node1's routes" "$(routes1 | tr '\n' ';')" "10.1.2.0/24 via 10.1.2.0 dev podnet.vx onlink ;"
is "peer left: neighbour entries" "$(ip -n node1 neigh show dev podnet.vx nud permanent | wc -l)" 1
is "peer left: FDB entries" "$(ip netns exec node1 bridge fdb show dev podnet.vx | wc -l)" 1

# --- never: the direct routes again, the device gone
pr node1 sync --nodes "$TMPDIR/nodes.txt" $FLAGS --overlay never > "$TMPDIR/sync1.out"
is "never: node1's routes" "$(routes1 | tr '\n' ';')" "10.1.2.0/24 via 192.168.1.12 dev eth0 ;"
check_fails "never: no VXLAN device" ip -n node1 link show podnet.vx
check "never: node2 direct (forced by mode)" grep -q "^path *node2 direct (forced by mode)" "$TMPDIR/sync1.out"

# --- default (auto): node3 over the overlay again; then teardown leaves nothing
pr node1 sync --nodes "$TMPDIR/nodes.txt" $FLAGS > "$TMPDIR/sync1.out"
check "auto: node3 vxlan" grep -q "^path *node3 vxlan (not on-link)" "$TMPDIR/sync1.out"
check "auto: the bridge holds this node's pod-CIDR gateway (for the peers' probes)" \
        ip -n node1 addr show dev cbr0 to 10.1.1.1/24
for i in 1 2 3; do pr node$i teardown $FLAGS > /dev/null 2>&1; done
check_fails "teardown: no VXLAN device" ip -n node1 link show podnet.vx
# the bridge is podnet-cni's (pods may be on it): teardown leaves it
check "teardown: the bridge stays" ip -n node1 link show cbr0
ip -n node1 link del cbr0
is "teardown on every node: links, addresses, routes, neighbours, FDB, nexthops as before the first sync" \
        "$(state)" "$before"
[ "$(state)" = "$before" ] || diff <(echo "$before") <(state) | sed 's/^/#   /'
finish
