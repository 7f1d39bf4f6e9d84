# shellcheck shell=bash
# Sourced by scripts/lab.sh (after its walkthrough): issue 8's three networks, built by
# tests/netns/lib.sh's pn_net_switch, pn_net_routed and pn_net_cloud. On each: the node
# list, pod CIDRs by `podnet-routes allocate`, `podnet-routes sync` with its default flags
# (--overlay auto) on every node, five pods through the conflist it wrote, a second sync
# (what `run` does on every resync), each node's `podnet-routes status`, each peer's path
# checked, the pod matrix, and on networks with an overlay peer a full-size DF ping
# across the overlay (its size from the conflist's MTU). Uses lab.sh's say, show,
# expect_ok, rc, routes, plugin_dir, type and lab.

net_nodes="node1 node2 node3"
net_pods="pa pb pc pd pe"
declare -A net_node_of=([pa]=node1 [pb]=node1 [pc]=node2 [pd]=node2 [pe]=node3)
declare -A net_attached=()
net_dir=

lab_net_cleanup() {
        local p n
        for p in "${!net_attached[@]}"; do
                PN_IN_NS=${net_node_of[$p]} pn_cni_list DEL "net-$p" "/run/netns/$p" eth0 \
                        "$net_dir/${net_node_of[$p]}/net.d/10-podnet.conflist" "$plugin_dir" $type \
                        >/dev/null 2>&1
                unset "net_attached[$p]"
        done
        for n in $net_nodes; do
                [ -e "/run/netns/$n" ] && [ -n "$net_dir" ] || continue
                ip netns exec "$n" "$routes" teardown --cni-conf-dir "$net_dir/$n/net.d" \
                        >/dev/null 2>&1
        done
        for p in $net_pods; do ip netns del "$p" 2>/dev/null; done
        pn_net_del
}

# net_path STATUS_JSON PEER: the path status gives for PEER (direct, vxlan), or "?"
net_path() {
        jq -r --arg p "$2" '[.. | objects | select(has("path") and
                ((.node // .name // .peer // "") == $p)) | .path] | first // "?"' <<<"$1" 2>/dev/null ||
                echo "?"
}

# want_switch / want_routed / want_cloud NODE PEER: the path expected from NODE to PEER
want_switch() { echo direct; }
want_routed() { if [ "$1" = node3 ] || [ "$2" = node3 ]; then echo vxlan; else echo direct; fi; }
want_cloud() { echo vxlan; }

# net_sync NODE: podnet-routes sync with its defaults (overlay auto), shown
net_sync() {
        show "$1" "$routes" sync --nodes "$net_dir/nodes-alloc.json" --node-name "$1" \
                --cluster-cidr 10.1.0.0/16 --cni-conf-dir "$net_dir/$1/net.d" \
                --ipam-data-dir "$net_dir/$1/ipam"
}

# lab_network NAME BUILD WANT TITLE: one network, start to end
lab_network() {
        local name=$1 build=$2 want=$3 title=$4 n m p st got exp src dst mtu size
        net_dir=$lab/$name
        mkdir -p "$net_dir"
        say "$title"
        $build
        for n in $net_nodes; do
                mkdir -p "$net_dir/$n/net.d" "$net_dir/$n/ipam"
                printf '  %s: eth0 %s\n' "$n" "$(ip -n "$n" -4 -br addr show dev eth0 | awk '{print $3}')"
        done
        for n in $net_nodes; do
                ip -n "$n" -4 -j addr show dev eth0 | jq -r --arg n "$n" \
                        '{name: $n, ip: .[0].addr_info[0].local}'
        done | jq -s '{apiVersion: "v1", kind: "List", items: [.[] |
                {apiVersion: "v1", kind: "Node", metadata: {name: .name},
                 spec: {}, status: {addresses: [{type: "InternalIP", address: .ip}]}}]}' \
                >"$net_dir/nodes.json"
        if ! "$routes" allocate --nodes "$net_dir/nodes.json" --cluster-cidr 10.1.0.0/16 \
                --node-cidr-mask-size 24 --write-nodes "$net_dir/nodes-alloc.json" >/dev/null; then
                echo "  FAIL: podnet-routes allocate"
                rc=1
                return
        fi
        echo "  pod CIDRs: $(jq -r '[.items[] | "\(.metadata.name) \(.spec.podCIDR)"] | join(", ")' \
                "$net_dir/nodes-alloc.json")"
        for n in $net_nodes; do
                net_sync "$n" >/dev/null || { echo "  FAIL: podnet-routes sync on $n"; rc=1; }
        done
        echo "  conflist MTU: $(jq -r '[.plugins[] | .mtu // empty] | first // "-"' \
                "$net_dir/node1/net.d/10-podnet.conflist")"
        for p in $net_pods; do
                n=${net_node_of[$p]}
                ip netns add "$p"
                if ! PN_IN_NS=$n pn_cni_list ADD "net-$p" "/run/netns/$p" eth0 \
                        "$net_dir/$n/net.d/10-podnet.conflist" "$plugin_dir" $type >"$net_dir/$p.json"; then
                        echo "  FAIL: CNI ADD of $p on $n:"
                        sed 's/^/    /' "$net_dir/$p.json"
                        rc=1
                        continue
                fi
                net_attached[$p]=1
                pn_addr[$p]=$(jq -r '.ips[0].address' "$net_dir/$p.json")
                pn_addr[$p]=${pn_addr[$p]%/*}
                pn_from[$p]=$p
        done
        echo "  pods: $(for p in $net_pods; do printf '%s on %s %s; ' "$p" "${net_node_of[$p]}" \
                "${pn_addr[$p]:-?}"; done)"
        echo "  -- a second sync on every node (as run's resync), then each node's status:"
        for n in $net_nodes; do
                net_sync "$n" >/dev/null || { echo "  FAIL: podnet-routes sync on $n"; rc=1; }
        done
        for n in $net_nodes; do
                echo "[$n]\$ podnet-routes status ... | (its PEERS section)"
                ip netns exec "$n" "$routes" status --cni-conf-dir "$net_dir/$n/net.d" \
                        --nodes "$net_dir/nodes-alloc.json" --node-name "$n" |
                        sed -n '/^PEERS/,/^$/p' | sed 's/^/  /'
                st=$(ip netns exec "$n" "$routes" status --json --cni-conf-dir "$net_dir/$n/net.d" \
                        --nodes "$net_dir/nodes-alloc.json" --node-name "$n" 2>/dev/null)
                for m in $net_nodes; do
                        [ "$m" != "$n" ] || continue
                        got=$(net_path "$st" "$m")
                        exp=$($want "$n" "$m")
                        expect_ok "$name: $n -> $m takes the $exp path (status: $got)" test "$got" = "$exp"
                done
        done
        pn_matrix everything "$net_pods" "$net_pods"
        expect_ok "$name: every pod reaches every other pod (20 of 20)" test $? = 0
        # a full-size DF ping across the overlay, where a peer takes it
        for n in $net_nodes; do
                for m in $net_nodes; do
                        [ "$m" != "$n" ] && [ "$($want "$n" "$m")" = vxlan ] || continue
                        src=$(for p in $net_pods; do [ "${net_node_of[$p]}" = "$n" ] && echo "$p"; done | head -1)
                        dst=$(for p in $net_pods; do [ "${net_node_of[$p]}" = "$m" ] && echo "$p"; done | head -1)
                        mtu=$(ip -n "$src" -j link show eth0 | jq -r '.[0].mtu')
                        size=$((mtu - 28))
                        echo "[$src]\$ ping -M do -s $size -c 1 ${pn_addr[$dst]}   (eth0 MTU $mtu, $n -> $m over vxlan)"
                        expect_ok "$name: a full-size ($mtu bytes) DF packet crosses the overlay" \
                                ip netns exec "$src" ping -M do -s "$size" -c 1 -W 2 -q "${pn_addr[$dst]}"
                        break 2
                done
        done
        lab_net_cleanup
}

lab_network switch pn_net_switch want_switch \
        "Issue 8, network (a): node1..3 on one switch -- auto keeps every peer direct"
lab_network routed pn_net_routed want_routed \
        "Issue 8, network (b): node3 on 192.168.51.0/24 behind a router that knows no pod CIDR -- the overlay to node3 only"
lab_network cloud pn_net_cloud want_cloud \
        "Issue 8, network (c): a switch that drops frames whose source or destination is not a node address -- the probe fails, the overlay everywhere"
