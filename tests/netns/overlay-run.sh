#!/bin/bash
# `podnet-routes run` (default mode, auto) moving peers between paths as the underlay
# changes (issue 8): three nodes on one switch, each running `run` with a short resync
# interval; the switch starts dropping pod-addressed frames: the next resync moves
# every peer to the overlay (reason "probe failed"), pods reach each other; the filter
# goes: the next resync moves them back to direct (on-link), pods reach each other. The
# moves are watched in the kernel (the route's device) and in `run`'s own report.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/scripts/lib.sh"
. "$top_srcdir/tests/netns/overlay-lib.sh"

net_up pn_net_switch ""
declare -A run_pid=()
stop_runs() {
        local n
        for n in "${!run_pid[@]}"; do
                kill -TERM "${run_pid[$n]}" 2>/dev/null
                wait "${run_pid[$n]}" 2>/dev/null
                unset "run_pid[$n]"
        done
}
trap 'stop_runs; net_down' EXIT

# via NODE PEER_INDEX: the device of NODE's route to the IPv4 pod CIDR of node PEER_INDEX+1
via() {
        ip -n "$1" -j route show "10.1.$2.0/24" proto 44 | jq -r '.[0].dev // "none"'
}
# all_via DEV: every node's routes to both peers' IPv4 pod CIDRs leave on DEV
all_via() {
        local n i
        for n in $nodes; do
                for i in 0 1 2; do
                        [ "${idx[$n]}" = "$i" ] && continue
                        [ "$(via "$n" "$i")" = "$1" ] || return 1
                done
        done
}
# wait_until SECONDS WHAT COMMAND...: ok once COMMAND succeeds, polled every 0.1 s
wait_until() {
        local t=$1 what=$2 i
        shift 2
        for ((i = 1; i <= t * 10; i++)); do
                if "$@" >/dev/null 2>&1; then
                        ok "$what (after ~$((i * 100)) ms)"
                        return 0
                fi
                sleep 0.1
        done
        fail "$what (not within $t s)"
        return 1
}
# run's last report of PEER on NODE: "path (reason)" from its output's path lines
run_path() {
        sed -n "s/^path *$2 \(.*\)$/\1/p" "$dir/run-$1.out" | tail -1
}

for n in $nodes; do
        ip netns exec "$n" "$routes" run --nodes "$dir/nodes.json" --node-name "$n" \
                --cluster-cidr 10.1.0.0/16,fd00:1::/48 --cni-conf-dir "$dir/$n/net.d" \
                --ipam-data-dir "$dir/$n/ipam" --interval 2 >"$dir/run-$n.out" 2>&1 &
        run_pid[$n]=$!
done
wait_until 10 "run on every node: the first pass keeps every peer direct" all_via eth0
is_matrix "run, plain switch: IPv4 pod pairs" "20 of 20"

pn_cloud_filter on
wait_until 15 "the switch drops pod-addressed frames: a resync moves every peer to the overlay" \
        all_via podnet.vx
sleep 0.5 # the pass that moved the last route has printed its report
is "run's report on node1: node2 vxlan (probe failed)" "$(run_path node1 node2)" "vxlan (probe failed)"
is "run's report on node3: node1 vxlan (probe failed)" "$(run_path node3 node1)" "vxlan (probe failed)"
is_matrix "over the overlay: IPv4 pod pairs" "20 of 20"
is_matrix "over the overlay: IPv6 pod pairs" "20 of 20" 6

pn_cloud_filter off
wait_until 15 "the filter removed: a resync moves every peer back to direct" all_via eth0
sleep 0.5
is "run's report on node1: node2 direct (on-link)" "$(run_path node1 node2)" "direct (on-link)"
is "run's report on node2: node3 direct (on-link)" "$(run_path node2 node3)" "direct (on-link)"
is_matrix "direct again: IPv4 pod pairs" "20 of 20"
for n in $nodes; do
        check "run on $n still running" kill -0 "${run_pid[$n]}"
done
stop_runs
net_down
finish
