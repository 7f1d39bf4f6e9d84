#!/bin/bash
# Issue 8's table as a test: the three networks of tests/netns/lib.sh (one switch; node3
# behind a router; a switch that drops pod-addressed frames), five dual-stack pods (2, 2
# and 1 per node, 20 ordered pairs) through podnet-cni, and every --overlay mode synced
# on every node in turn: each peer's path and its reason as `podnet-routes status --json`
# gives them and the IPv4 pod matrix, against what the issue expects (never: 20, 12, 4 of 20 pairs;
# cross-subnet: 20, 20, 4; always and auto: 20 everywhere). Then on the switch, auto
# moves a peer to the overlay when the switch starts dropping pod-addressed frames and
# back once it stops; dual-stack pods reach each other over the overlay (IPv6 pod CIDRs
# over the IPv4 underlay); a full-size DF ping crosses the overlay.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/scripts/lib.sh"

. "$top_srcdir/tests/netns/overlay-lib.sh"

# overlay6 NET: the IPv6 pod pairs over the overlay: node1's route to pe's IPv6
# address leaves on the VXLAN device, and every pair reaches the other
overlay6() {
        local vx dev
        vx=$(ip -n node1 -d -j link show type vxlan | jq -r '.[0].ifname // "none"')
        dev=$(ip -n node1 -6 -j route get "${pn_addr6[pe]}" | jq -r '.[0].dev')
        is "$1: node1's route to an IPv6 pod on node3 is on the VXLAN device" "$dev" "$vx"
        is_matrix "$1: dual-stack pods over the overlay (IPv6 pairs)" "20 of 20" 6
}
# mode_check NET MODE PATHS PAIRS: sync MODE everywhere, then the paths and the matrix
mode_check() {
        sync_all "$2"
        is "$1, --overlay $2: sync succeeded on every node" "${sync_failed:-none failed}" "none failed"
        [ "$2" = never ] || is "$1, --overlay $2: no node reports an unreachable peer" \
                "${sync_unreachable:-none}" none
        # never: every peer direct, forced by the mode (an unreachable one too)
        is "$1, --overlay $2: paths and reasons" "$(paths r)" "$(want_paths "$3" "$2")"
        is_matrix "$1, --overlay $2: pod pairs that reach each other" "$4 of 20"
}

# ---- (a) one switch ----
net_up pn_net_switch ""
check "switch: every pod has an IPv4 and an IPv6 address" \
        test "$(printf '%s\n' "${pn_addr[@]}" "${pn_addr6[@]}" | grep -vc none)" = 10
mode_check switch auto direct 20
mode_check switch never direct 20
mode_check switch cross-subnet direct 20
mode_check switch always vxlan 20
overlay6 "switch, always"
mtu=$(ip -n pa -j link show eth0 | jq -r '.[0].mtu')
check "switch, always: a full-size ($mtu) DF ping crosses the overlay" \
        ip netns exec pa ping -M do -c 1 -W 2 -s $((mtu - 28)) "${pn_addr[pe]}"
check "switch, always: a full-size ($mtu) IPv6 DF ping crosses the overlay" \
        ip netns exec pa ping -6 -M do -c 1 -W 2 -s $((mtu - 48)) "${pn_addr6[pe]}"
# a peer switching: direct -> the switch starts dropping -> vxlan -> it stops -> direct
mode_check switch auto direct 20
pn_cloud_filter on 1 2 3
is_matrix "switch turned cloud-like, before a resync: cross-node pairs fail" "4 of 20"
mode_check "switch turned cloud-like, resynced" auto vxlan 20
pn_cloud_filter off
mode_check "filter removed, resynced" auto direct 20
net_down

# ---- (b) node3 behind a router ----
net_up pn_net_routed
mode_check routed auto node3 20
mode_check routed never direct 12
mode_check routed cross-subnet node3 20
mode_check routed always vxlan 20
overlay6 "routed, always"
net_down

# ---- (c) a switch that drops pod-addressed frames ----
net_up pn_net_cloud
mode_check cloud auto vxlan 20
overlay6 "cloud, auto"
mode_check cloud never direct 4
mode_check cloud cross-subnet direct 4
mode_check cloud always vxlan 20
net_down
finish
