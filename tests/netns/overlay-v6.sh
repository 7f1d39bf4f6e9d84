#!/bin/bash
# The overlay over an IPv6 underlay (issue 8): the node list gives the nodes only their
# IPv6 addresses (fd00:50::N, fd00:51::3 behind the router), the pods are dual-stack.
# The VXLAN device sits on the IPv6 underlay with an MTU 70 below it and so does the
# conflist; IPv4 pod CIDRs (no IPv4 node address: no direct route) always go over the
# overlay; a full-size DF ping crosses it for IPv4 and IPv6 pod pairs; the paths and
# matrices of auto on the switch, node3 behind the router and the cloud-like switch
# (where every peer is on the overlay, as always would put it).
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/scripts/lib.sh"
. "$top_srcdir/tests/netns/overlay-lib.sh"
ov_addrs=6

# df NET: full-size DF pings from pa (node1) to pe (node3) for IPv4 and IPv6, and one
# byte more refused
df() {
        local mtu
        mtu=$(ip -n pa -j link show eth0 | jq -r '.[0].mtu')
        is "$1: the pods' MTU is the IPv6 underlay's less 70" "$mtu" 1430
        check "$1: a full-size ($mtu) IPv4 DF ping reaches the pod" \
                ip netns exec pa ping -M do -c 1 -W 2 -s $((mtu - 28)) "${pn_addr[pe]}"
        check "$1: a full-size ($mtu) IPv6 DF ping reaches the pod" \
                ip netns exec pa ping -6 -M do -c 1 -W 2 -s $((mtu - 48)) "${pn_addr6[pe]}"
        check_fails "$1: one byte more does not (DF)" \
                ip netns exec pa ping -M do -c 1 -W 1 -s $((mtu - 27)) "${pn_addr[pe]}"
}
# v6_check NET MODE PATHS: sync MODE everywhere; paths, IPv4 and IPv6 matrices
v6_check() {
        sync_all "$2"
        is "$1, --overlay $2: sync succeeded on every node" "${sync_failed:-none failed}" "none failed"
        is "$1, --overlay $2: paths" "$(paths)" "$(want_paths "$3")"
        is_matrix "$1, --overlay $2: IPv4 pod pairs" "20 of 20"
        is_matrix "$1, --overlay $2: IPv6 pod pairs" "20 of 20" 6
}

# ---- one switch ----
net_up pn_net_switch ""
is "the node list has IPv6 node addresses only" \
        "$(jq -r '[.items[].status.addresses[].address] | join(" ")' "$dir/nodes.json")" \
        "fd00:50::1 fd00:50::2 fd00:50::3"
is "VXLAN device: on the IPv6 underlay (local fd00:50::1), MTU 1500 less 70" \
        "$(ip -n node1 -d -j link show podnet.vx | jq -r '.[0] | "\(.linkinfo.info_data.local // .linkinfo.info_data.local6) \(.mtu)"')" \
        "fd00:50::1 1430"
is "conflist MTU: the overlay's" "$(jq -r '.plugins[0].mtu' "$dir/node1/net.d/10-podnet.conflist")" 1430
v6_check switch auto direct
is "switch, auto: node1's IPv4 route to node2's pods is on the overlay (no IPv4 node address)" \
        "$(ip -n node1 -j route get "${pn_addr[pc]}" | jq -r '.[0].dev')" podnet.vx
is "switch, auto: node1's IPv6 route to node2's pods is direct" \
        "$(ip -n node1 -6 -j route get "${pn_addr6[pc]}" | jq -r '.[0].dev')" eth0
is "node1's FDB entry for node2: its IPv6 address" \
        "$(ip netns exec node1 bridge -j fdb show dev podnet.vx | jq -r '[.[] | select(.dst == "fd00:50::2")] | length')" 1
df "switch, auto (IPv4 pods over the overlay, IPv6 pods direct)"
net_down

# ---- node3 behind a router ----
net_up pn_net_routed ""
v6_check routed auto node3
df "routed, auto"
net_down

# ---- the cloud-like switch: pod addresses dropped, node addresses pass ----
net_up pn_net_cloud ""
v6_check cloud auto vxlan
is "cloud, auto: node1 -> node2 vxlan (probe failed)" "$(peer_path node1 node2)" "vxlan (probe failed)"
net_down
finish
