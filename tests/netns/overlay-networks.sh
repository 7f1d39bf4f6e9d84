#!/bin/bash
# Issue 8's table as a test: the three networks of tests/netns/lib.sh (one switch; node3
# behind a router; a switch that drops pod-addressed frames), five dual-stack pods (2, 2
# and 1 per node, 20 ordered pairs) through podnet-cni, and every --overlay mode synced
# on every node in turn: each peer's path as `podnet-routes status --json` gives it and
# the IPv4 pod matrix, against what the issue expects (never: 20, 12, 4 of 20 pairs;
# cross-subnet: 20, 20, 4; always and auto: 20 everywhere). Then on the switch, auto
# moves a peer to the overlay when the switch starts dropping pod-addressed frames and
# back once it stops; dual-stack pods reach each other over the overlay (IPv6 pod CIDRs
# over the IPv4 underlay); a full-size DF ping crosses the overlay.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/scripts/lib.sh"

routes=$top_builddir/podnet-routes
cni=$top_builddir/podnet-cni
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft not found"; exit 77; }
"$routes" --help 2>&1 | grep -q -- --overlay || { echo "SKIP: podnet-routes has no --overlay"; exit 77; }
ip link add pnvxprobe type vxlan id 1 dstport 4789 2>/dev/null || { echo "SKIP: no VXLAN"; exit 77; }
ip link del pnvxprobe

dir=/run/podnet-test/ovnet
plugin_dir=$dir/bin
mkdir -p "$plugin_dir"
pn_plugin_dir "$plugin_dir" "$cni"
nodes="node1 node2 node3"
pods="pa pb pc pd pe"
declare -A node_of=([pa]=node1 [pb]=node1 [pc]=node2 [pd]=node2 [pe]=node3)
declare -A idx=([node1]=0 [node2]=1 [node3]=2)
declare -A pn_addr pn_from pn_addr6 attached=()
mode= # the --overlay of the last sync, given to status too

net_down() {
        local p n
        for p in "${!attached[@]}"; do
                PN_IN_NS=${node_of[$p]} pn_cni_list DEL "ov-$p" "/run/netns/$p" eth0 \
                        "$dir/${node_of[$p]}/net.d/10-podnet.conflist" "$plugin_dir" >/dev/null 2>&1
                unset "attached[$p]"
        done
        for n in $nodes; do
                [ -e "/run/netns/$n" ] || continue
                ip netns exec "$n" "$routes" teardown --cni-conf-dir "$dir/$n/net.d" >/dev/null 2>&1
        done
        for p in $pods; do ip netns del "$p" 2>/dev/null; done
        pn_net_del
        rm -rf "${dir:?}/node"*
}
trap net_down EXIT

# sync_all MODE: podnet-routes sync --overlay MODE on every node (MODE "": its default)
sync_all() {
        local n
        local r
        sync_failed=
        sync_unreachable=
        for n in $nodes; do
                ip netns exec "$n" "$routes" sync --nodes "$dir/nodes.json" --node-name "$n" \
                        --cluster-cidr 10.1.0.0/16,fd00:1::/48 --cni-conf-dir "$dir/$n/net.d" \
                        --ipam-data-dir "$dir/$n/ipam" ${1:+--overlay "$1"} >"$dir/sync-$n.out" 2>&1
                r=$?
                # exit 3: done, but some peers unreachable (expected of never on a routed network)
                [ "$r" != 3 ] || sync_unreachable="$sync_unreachable $n"
                [ "$r" = 0 ] || [ "$r" = 3 ] && continue
                sync_failed="$sync_failed $n"
                echo "# sync --overlay ${1:-(default)} on $n failed (exit $r):"
                sed 's/^/#   /' "$dir/sync-$n.out"
        done
}

# net_up BUILD: the network, a dual-stack node list (both node addresses; the overlay's
# underlay is IPv4, the first), pods through the
# conflist of a default sync (so at the overlay's MTU)
net_up() {
        local n p i
        $1
        for n in $nodes; do mkdir -p "$dir/$n/net.d" "$dir/$n/ipam"; done
        for n in $nodes; do
                i=${idx[$n]}
                jq -n --arg n "$n" --arg ip "$(ip -n "$n" -4 -j addr show dev eth0 | jq -r '.[0].addr_info[0].local')" \
                        --arg ip6 "$(ip -n "$n" -6 -j addr show dev eth0 scope global | jq -r '.[0].addr_info[0].local')" \
                        --arg c4 "10.1.$i.0/24" --arg c6 "fd00:1:0:$i::/64" \
                        '{apiVersion: "v1", kind: "Node", metadata: {name: $n},
                          spec: {podCIDR: $c4, podCIDRs: [$c4, $c6]},
                          status: {addresses: [{type: "InternalIP", address: $ip},
                                               {type: "InternalIP", address: $ip6}]}}'
        done | jq -s '{apiVersion: "v1", kind: "List", items: .}' >"$dir/nodes.json"
        mode=
        sync_all ""
        for p in $pods; do
                n=${node_of[$p]}
                ip netns add "$p"
                if PN_IN_NS=$n pn_cni_list ADD "ov-$p" "/run/netns/$p" eth0 \
                        "$dir/$n/net.d/10-podnet.conflist" "$plugin_dir" >"$dir/$p.json"; then
                        attached[$p]=1
                else
                        echo "# ADD of $p on $n failed:"
                        sed 's/^/#   /' "$dir/$p.json"
                fi
                pn_addr[$p]=$(jq -r '[.ips[]?.address | select(contains(".")) | sub("/.*"; "")] | first // "none"' "$dir/$p.json")
                pn_addr6[$p]=$(jq -r '[.ips[]?.address | select(contains(":")) | sub("/.*"; "")] | first // "none"' "$dir/$p.json")
                pn_from[$p]=$p
        done
}

# paths: "node1>node2=direct ..." for every ordered pair of nodes, from status --json
paths() {
        local n m st out=
        for n in $nodes; do
                st=$(ip netns exec "$n" "$routes" status --json --nodes "$dir/nodes.json" --node-name "$n" \
                        --cni-conf-dir "$dir/$n/net.d" ${mode:+--overlay "$mode"} 2>/dev/null)
                for m in $nodes; do
                        [ "$m" != "$n" ] || continue
                        out="$out${out:+ }$n>$m=$(jq -r --arg p "$m" '[.. | objects | select(has("path") and
                                ((.node // .name // "") == $p)) | .path] | first // "?"' <<<"$st" 2>/dev/null)"
                done
        done
        echo "$out"
}
# want_paths RULE: the expected paths() line; RULE direct|vxlan|node3 (vxlan to/from node3)
want_paths() {
        local n m out= p
        for n in $nodes; do
                for m in $nodes; do
                        [ "$m" != "$n" ] || continue
                        p=$1
                        if [ "$1" = node3 ]; then
                                p=direct
                                [ "$n" != node3 ] && [ "$m" != node3 ] || p=vxlan
                        fi
                        out="$out${out:+ }$n>$m=$p"
                done
        done
        echo "$out"
}
# overlay6 NET: the IPv6 pod pairs over the overlay: node1's route to pe's IPv6
# address leaves on the VXLAN device, and every pair reaches the other
overlay6() {
        local vx dev
        vx=$(ip -n node1 -d -j link show type vxlan | jq -r '.[0].ifname // "none"')
        dev=$(ip -n node1 -6 -j route get "${pn_addr6[pe]}" | jq -r '.[0].dev')
        is "$1: node1's route to an IPv6 pod on node3 is on the VXLAN device" "$dev" "$vx"
        is "$1: dual-stack pods over the overlay (IPv6 pairs)" "$(matrix 6)" "20 of 20"
}
# reachable pairs of the IPv4 (or, with 6, IPv6) matrix, "K of 20"
matrix() {
        local s d k=0 t=0 addr
        for s in $pods; do
                for d in $pods; do
                        [ "$s" != "$d" ] || continue
                        t=$((t + 1))
                        if [ "${1:-}" = 6 ]; then addr=${pn_addr6[$d]}; else addr=${pn_addr[$d]}; fi
                        (ip netns exec "$s" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 && touch "$dir/m.$s.$d") &
                done
        done
        wait
        k=$(find "$dir" -maxdepth 1 -name 'm.*' | wc -l)
        rm -f "$dir"/m.*
        echo "$k of $t"
}
# mode_check NET MODE PATHS PAIRS: sync MODE everywhere, then the paths and the matrix
mode_check() {
        mode=$2
        sync_all "$2"
        is "$1, --overlay $2: sync succeeded on every node" "${sync_failed:-none failed}" "none failed"
        [ "$2" = never ] || is "$1, --overlay $2: no node reports an unreachable peer" \
                "${sync_unreachable:-none}" none
        # never: routes as before the overlay; no path to report
        [ "$2" = never ] || is "$1, --overlay $2: paths" "$(paths)" "$(want_paths "$3")"
        is "$1, --overlay $2: pod pairs that reach each other" "$(matrix)" "$4 of 20"
}

# ---- (a) one switch ----
net_up pn_net_switch
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
is "switch turned cloud-like, before a resync: cross-node pairs fail" "$(matrix)" "4 of 20"
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
