#!/bin/bash
# The direct-path probe's cost (issue 8): one probe round (lib/agent/probe.c, through
# tests/netns/pn-probe-test) for N direct peers (default 5000), median of R rounds (9).
# Inside private namespaces: node1 and node2 on a switch (tests/netns/lib.sh's
# pn_net_switch); node2 stands for every peer: it holds N pod-CIDR gateway addresses
# (10.100.0.1 ...) and node1 has N neighbour entries, one per peer node address
# (192.168.128.1 ...), all with node2's MAC and pinned (permanent: the kernel's global
# gc_thresh3, 1,024 here, cannot be raised from inside a namespace). So each round sends
# N frames, to N addresses looked up in a table of N neighbours, and gets N answers; what
# it does not have is N different peer kernels answering in parallel.
# Also timed: a round where every answer is missing (the switch drops pod-addressed
# frames): it lasts the bound. Never fails on a time.
# Usage: bench/probe-bench.sh [-n PEERS] [-r ROUNDS] [-t TIMEOUT_MS]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root probe-bench.sh

peers=5000
rounds=9
timeout=2000
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        -t) timeout=${2:?-t needs milliseconds}; shift 2 ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "probe-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
if [ "$peers" -lt 1 ] || [ "$peers" -gt 30000 ]; then
        echo "probe-bench.sh: -n must be between 1 and 7000 (the gateways are 10.100.0.1 to 10.127.249.1)" >&2
        exit 2
fi
pn_tool tests/netns/pn-probe-test probe || exit 1

. "$pn_top/tests/netns/lib.sh"

state=/run/probe-bench
mkdir -p "$state"
pn_on_exit pn_net_del
pn_net_switch 1 2
pn_node_gateway 1
pn_node_gateway 2
ip -n node2 route add 10.244.1.0/24 via 192.168.50.1
ip -n node1 route add 192.168.128.0/17 dev eth0
# the way back: node1's rp_filter (loose) wants a route to the answers' sources
ip -n node1 route add 10.96.0.0/11 via 192.168.50.2
mac2=$(ip -n node2 -j link show eth0 | jq -r '.[0].address')
# peer i: gateway 10.(100 + i / 250).(i % 250).1 on node2, node address
# 192.168.(128 + i / 250).(i % 250 + 1) -> node2's MAC on node1
: >"$state/addr" && : >"$state/neigh" && : >"$state/targets"
for ((i = 0; i < peers; i++)); do
        gw=10.$((100 + i / 250)).$((i % 250)).1
        node=192.168.$((128 + i / 250)).$((i % 250 + 1))
        echo "addr add $gw/32 dev cni0" >>"$state/addr"
        echo "neigh replace $node lladdr $mac2 dev eth0 nud permanent" >>"$state/neigh"
        echo "10.244.1.1 $gw $node" >>"$state/targets"
done
ip -n node2 -b "$state/addr"
ip -n node1 -b "$state/neigh"

round() { # round: one round's library time (ms) and answers, "MS ANSWERED"
        ip netns exec node1 "$probe" -q "$timeout" eth0 <"$state/targets" |
                sed -n 's/^answered \([0-9]*\) of [0-9]* in \([0-9.]*\) ms$/\2 \1/p'
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "probe-bench: $peers direct peers, $rounds rounds, bound $timeout ms"
round >/dev/null # the first round warms node2's neighbour entry for node1 and the caches
: >"$state/times"
for ((r = 0; r < rounds; r++)); do
        read -r ms got < <(round)
        echo "  round $((r + 1)): ${ms} ms, $got of $peers answered"
        echo "$ms" >>"$state/times"
done
echo "median round, all answering: $(median <"$state/times") ms"
pn_cloud_filter on 1 2
read -r ms got < <(round)
echo "a round with no answer (the switch drops pod-addressed frames): ${ms} ms, $got answered"
pn_cloud_filter off
