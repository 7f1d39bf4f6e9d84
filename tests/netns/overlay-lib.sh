# shellcheck shell=bash
# Sourced by the overlay tests that run pods on issue 8's three networks
# (overlay-networks.sh, overlay-mixed.sh, overlay-run.sh, overlay-v6.sh): after
# tests/netns/lib.sh and scripts/lib.sh. Nodes node1..3 as lib.sh's pn_net_* build them,
# five dual-stack pods through podnet-cni (pa, pb on node1; pc, pd on node2; pe on node3:
# 20 ordered pairs), `podnet-routes sync` per node with its own mode, each peer's path
# from `status --json`, the pod matrix.

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
# each node's --overlay for sync and status ("" is the default, auto); set by sync_node
declare -A node_mode=()
# extra arguments of every podnet-routes sync and status (e.g. --no-firewall)
ov_args=()
# the node addresses the node list gives: "4 6" (both, IPv4 first: the underlay is
# IPv4), "6" (IPv6 only: the underlay is IPv6)
ov_addrs="4 6"

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
        node_mode=()
}
trap net_down EXIT

# sync_node NODE MODE [ARGS...]: podnet-routes sync --overlay MODE on NODE (MODE "": its
# default); 0, 3 (some peers unreachable) or the failure's exit code, output in
# $dir/sync-NODE.out
sync_node() {
        local n=$1 m=$2 r
        shift 2
        node_mode[$n]=$m
        ip netns exec "$n" "$routes" sync --nodes "$dir/nodes.json" --node-name "$n" \
                --cluster-cidr 10.1.0.0/16,fd00:1::/48 --cni-conf-dir "$dir/$n/net.d" \
                --ipam-data-dir "$dir/$n/ipam" ${m:+--overlay "$m"} "${ov_args[@]}" "$@" \
                >"$dir/sync-$n.out" 2>&1
        r=$?
        [ "$r" = 0 ] || [ "$r" = 3 ] || {
                echo "# sync --overlay ${m:-(default)} on $n failed (exit $r):"
                sed 's/^/#   /' "$dir/sync-$n.out"
        }
        return $r
}
# sync_all MODE: sync_node MODE on every node; the failed ones in $sync_failed, those
# that report an unreachable peer (exit 3) in $sync_unreachable
sync_all() {
        local n r
        sync_failed=
        sync_unreachable=
        for n in $nodes; do
                sync_node "$n" "$1"
                r=$?
                [ "$r" != 3 ] || sync_unreachable="$sync_unreachable $n"
                [ "$r" = 0 ] || [ "$r" = 3 ] || sync_failed="$sync_failed $n"
        done
}

# node_list: $dir/nodes.json from the nodes' eth0 addresses (ov_addrs), dual-stack pod
# CIDRs 10.1.I.0/24 and fd00:1:0:I::/64
node_list() {
        local n i a4 a6
        for n in $nodes; do
                i=${idx[$n]}
                a4=$(ip -n "$n" -4 -j addr show dev eth0 | jq -r '.[0].addr_info[0].local // empty')
                a6=$(ip -n "$n" -6 -j addr show dev eth0 scope global | jq -r '.[0].addr_info[0].local // empty')
                case $ov_addrs in
                "6") a4= ;;
                esac
                jq -n --arg n "$n" --arg ip "$a4" --arg ip6 "$a6" \
                        --arg c4 "10.1.$i.0/24" --arg c6 "fd00:1:0:$i::/64" \
                        '{apiVersion: "v1", kind: "Node", metadata: {name: $n},
                          spec: {podCIDR: $c4, podCIDRs: [$c4, $c6]},
                          status: {addresses: [($ip, $ip6) | select(. != "") |
                                               {type: "InternalIP", address: .}]}}'
        done | jq -s '{apiVersion: "v1", kind: "List", items: .}' >"$dir/nodes.json"
}

# net_up BUILD [MODE]: the network, the node list, a sync with MODE (default: the
# default) on every node, and the pods through the conflist it wrote (so at its MTU)
net_up() {
        local n p
        $1
        for n in $nodes; do mkdir -p "$dir/$n/net.d" "$dir/$n/ipam"; done
        node_list
        sync_all "${2:-}"
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

# status_json NODE: podnet-routes status --json on NODE with its last sync's mode
status_json() {
        ip netns exec "$1" "$routes" status --json --nodes "$dir/nodes.json" --node-name "$1" \
                --cni-conf-dir "$dir/$1/net.d" ${node_mode[$1]:+--overlay "${node_mode[$1]}"} \
                "${ov_args[@]}" 2>/dev/null
}
# peer_path NODE PEER: "path (reason)" of PEER in NODE's status, "?" if none
peer_path() {
        status_json "$1" | jq -r --arg p "$2" '[.. | objects | select(has("path") and
                ((.node // .name // "") == $p)) | "\(.path) (\(.pathReason // .reason // "?"))"] | first // "?"' \
                2>/dev/null || echo "?"
}
# paths [r]: "node1>node2=direct ..." for every ordered pair of nodes, from status --json;
# with r, each path with its reason: "node1>node2=direct (on-link) ..."
paths() {
        local n m st out=
        for n in $nodes; do
                st=$(status_json "$n")
                for m in $nodes; do
                        [ "$m" != "$n" ] || continue
                        out="$out${out:+ }$n>$m=$(jq -r --arg p "$m" --arg r "${1:-}" '[.. | objects |
                                select(has("path") and ((.node // .name // "") == $p)) |
                                if $r == "" then .path else "\(.path) (\(.pathReason // .reason // "?"))" end] |
                                first // "?"' <<<"$st" 2>/dev/null)"
                done
        done
        echo "$out"
}
# want_paths RULE [MODE]: the expected paths() line; RULE direct|vxlan|node3 (vxlan to and
# from node3, direct between the others). With MODE, the expected `paths r` line: the
# reason each mode gives (never and always: "forced by mode", also to an unreachable
# peer; auto's vxlan: "probe failed" under RULE vxlan, "not on-link" to node3)
want_paths() {
        local n m out= p r
        for n in $nodes; do
                for m in $nodes; do
                        [ "$m" != "$n" ] || continue
                        p=$1
                        if [ "$1" = node3 ]; then
                                p=direct
                                [ "$n" != node3 ] && [ "$m" != node3 ] || p=vxlan
                        fi
                        case ${2:-}/$p/$1 in
                        /*) r= ;;
                        never/* | always/*) r="forced by mode" ;;
                        */direct/*) r=on-link ;;
                        auto/vxlan/vxlan) r="probe failed" ;;
                        *) r="not on-link" ;;
                        esac
                        out="$out${out:+ }$n>$m=$p${r:+ ($r)}"
                done
        done
        echo "$out"
}
# matrix [6] [PODS]: reachable pairs of the IPv4 (or, with 6, IPv6) pod matrix, "K of T";
# the failing pairs in $matrix_failed
matrix() {
        local s d t=0 addr fam=${1:-4} set=${2:-$pods} pids=()
        for s in $set; do
                for d in $set; do
                        [ "$s" != "$d" ] || continue
                        t=$((t + 1))
                        if [ "$fam" = 6 ]; then addr=${pn_addr6[$d]}; else addr=${pn_addr[$d]}; fi
                        (ip netns exec "$s" ping -c 1 -W 1 -q "$addr" >/dev/null 2>&1 && touch "$dir/m.$s.$d") &
                        pids+=($!)
                done
        done
        wait "${pids[@]}" # the pings only: the caller may have daemons running
        matrix_failed=
        for s in $set; do
                for d in $set; do
                        [ "$s" = "$d" ] || [ -e "$dir/m.$s.$d" ] || matrix_failed="$matrix_failed $s>$d"
                done
        done
        echo "$(find "$dir" -maxdepth 1 -name 'm.*' | wc -l) of $t"
        rm -f "$dir"/m.*
}
# is_matrix WHAT WANT [6] [PODS]: the matrix is WANT ("K of T"), failing pairs shown
is_matrix() {
        matrix "${3:-4}" "${4:-$pods}" >"$dir/matrix.out"
        is "$1" "$(cat "$dir/matrix.out")" "$2"
        [ "$(cat "$dir/matrix.out")" = "$2" ] || echo "#   failing:$matrix_failed"
}
