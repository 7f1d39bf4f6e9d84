# Sourced by tests/netns/routes-*.sh after lib.sh: three "nodes" (namespaces node1..3)
# on one bridge in namespace "sw", node addresses 192.168.1.11-13/24, a "pod" address
# 10.1.N.1/32 on each node's loopback, and helpers to run podnet-routes in a node.

routes_setup() {
        ip netns add sw
        ip -n sw link set lo up
        ip -n sw link add br0 type bridge
        ip -n sw link set br0 up
        for i in 1 2 3; do
                ip netns add node$i
                ip -n node$i link set lo up
                ip link add name eth0 netns node$i type veth peer name p$i netns sw
                ip -n sw link set p$i master br0
                ip -n sw link set p$i up
                ip -n node$i addr add 192.168.1.1$i/24 dev eth0
                ip -n node$i link set eth0 up
                ip -n node$i addr add 10.1.$i.1/32 dev lo
                mkdir -p "$TMPDIR/node$i/cni"
        done
        cat > "$TMPDIR/nodes3.txt" <<EON
# the three-node lab
node1 10.1.1.0/24 192.168.1.11
node2 10.1.2.0/24 192.168.1.12
node3 10.1.3.0/24 192.168.1.13
EON
}

# pr NODE ARGS...: podnet-routes in node NODE with its own CNI directory, --overlay never
# (these nodes have pod addresses but no bridges: what the routes-*.sh tests check is the
# direct routing; the overlay is overlay-sync.sh's and overlay-networks.sh's; ARGS may
# name another mode)
pr() {
        local n=$1
        shift
        ip netns exec "$n" "$PODNET_ROUTES" --node-name "$n" \
                --cni-conf-dir "$TMPDIR/$n/cni" --overlay never "$@"
}

# routes44 NODE: "dst via gw" lines of the node's protocol-44 routes, sorted
routes44() {
        ip -n "$1" -j route show proto 44 | jq -r '.[] | "\(.dst) via \(.gateway)"' | sort
}

# n_routes44 NODE
n_routes44() {
        ip -n "$1" -j route show proto 44 | jq length
}

# has_route DST GW: node1 has podnet's route to DST via GW
has_route() { ip -n node1 route show "$1" proto 44 | grep -q "via $2"; }

# wait_for DESC CMD...: polls CMD every 50 ms for up to PN_WAIT seconds (default 2)
wait_for() {
        local what=$1 i
        shift
        for i in $(seq 1 $((${PN_WAIT:-2} * 20))); do
                if "$@" >/dev/null 2>&1; then
                        ok "$what (after ~$((i * 50)) ms)"
                        return 0
                fi
                sleep 0.05
        done
        fail "$what (not within ${PN_WAIT:-2} s)"
        return 1
}
