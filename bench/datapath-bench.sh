#!/bin/bash
# The data path (issue 8): iperf3 TCP throughput node to node, pod to pod across nodes on
# direct routes, and pod to pod over a VXLAN overlay (the kernel objects podnet-routes
# programs: a VXLAN device without learning, a static FDB and neighbour entry and an
# onlink route per peer, here written with iproute2); medians of R runs of S seconds.
# Then DF-ping MTU checks: on each path the largest ICMP payload that passes with DF set,
# and that one byte more fails. Inside private namespaces (tests/netns/lib.sh's
# pn_net_switch: node1 and node2 on one switch); never fails on a throughput.
# Usage: bench/datapath-bench.sh [-r RUNS] [-s SECONDS]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root datapath-bench.sh

runs=3
secs=3
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -r) runs=${2:?-r needs a number}; shift 2 ;;
        -s) secs=${2:?-s needs seconds}; shift 2 ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "datapath-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
command -v iperf3 >/dev/null || { echo "datapath-bench.sh: iperf3 not found" >&2; exit 77; }

. "$pn_top/tests/netns/lib.sh"

bench_cleanup() {
        pn_kill_jobs
        for p in pod1 pod2; do ip netns del "$p" 2>/dev/null; done
        pn_net_del
}
pn_on_exit bench_cleanup
pn_net_switch 1 2
for n in 1 2; do
        pn_node_gateway "$n"
        ip netns exec "node$n" sysctl -qw net.ipv4.ip_forward=1
        ip netns add "pod$n"
        ip -n "pod$n" link set lo up
        ip link add "veth$n" netns "node$n" type veth peer eth0 netns "pod$n"
        ip -n "node$n" link set "veth$n" master cni0 up
        ip -n "pod$n" addr add "10.244.$n.2/24" dev eth0
        ip -n "pod$n" link set eth0 up
        ip -n "pod$n" route add default via "10.244.$n.1"
        # the overlay's device: VNI 1, port 4789, no learning, a fixed endpoint MAC
        ip -n "node$n" link add vx0 type vxlan id 1 dstport 4789 local "192.168.50.$n" dev eth0 nolearning
        ip -n "node$n" link set vx0 address "02:00:c0:a8:32:0$n" up
done
direct() {
        ip -n node1 route replace 10.244.2.0/24 via 192.168.50.2 dev eth0
        ip -n node2 route replace 10.244.1.0/24 via 192.168.50.1 dev eth0
        ip -n pod1 link set eth0 mtu 1500
        ip -n pod2 link set eth0 mtu 1500
}
overlay() { # the pods' MTU is the overlay's, as podnet-routes' conflist gives it
        local n m
        for n in 1 2; do
                m=$((3 - n))
                ip -n "node$n" neigh replace "10.244.$m.0" lladdr "02:00:c0:a8:32:0$m" dev vx0 nud permanent
                bridge -n "node$n" fdb replace "02:00:c0:a8:32:0$m" dev vx0 dst "192.168.50.$m" self permanent
                ip -n "node$n" route replace "10.244.$m.0/24" via "10.244.$m.0" dev vx0 onlink
                ip -n "pod$n" link set eth0 mtu "$(ip -n "node$n" -j link show vx0 | jq -r '.[0].mtu')"
        done
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# iperf FROM_NS TO_NS TO_ADDR: median Gbit/s of the runs
iperf() {
        local i pid out=/run/podnet-test/iperf.json
        ip netns exec "$2" iperf3 -s -1 -B "$3" >/dev/null 2>&1 &
        : >/run/podnet-test/gbps
        for ((i = 0; i < runs; i++)); do
                [ "$i" = 0 ] || { ip netns exec "$2" iperf3 -s -1 -B "$3" >/dev/null 2>&1 & }
                pid=$!
                sleep 0.3
                ip netns exec "$1" iperf3 -J -c "$3" -t "$secs" >"$out" 2>/dev/null
                jq -r '.end.sum_received.bits_per_second / 1e9' "$out" >>/run/podnet-test/gbps
                wait "$pid" 2>/dev/null
        done
        printf '%.2f (runs: %s)' "$(median </run/podnet-test/gbps)" \
                "$(paste -sd' ' /run/podnet-test/gbps | xargs printf '%.2f ')"
}
# largest FROM TO_ADDR START: the largest DF ping payload that passes, searching down from START
largest() {
        local s=$3
        while [ "$s" -gt 0 ] && ! ip netns exec "$1" ping -M do -c 1 -W 1 -q -s "$s" "$2" >/dev/null 2>&1; do
                s=$((s - 1))
        done
        echo "$s"
}
mtu_check() { # mtu_check WHAT FROM TO_ADDR: the largest payload, and one more failing
        local mtu big
        mtu=$(ip -n "$2" -j link show eth0 | jq -r '.[0].mtu')
        big=$(largest "$2" "$3" $((mtu - 28 + 8)))
        if ip netns exec "$2" ping -M do -c 1 -W 1 -q -s $((big + 1)) "$3" >/dev/null 2>&1; then
                echo "  $1: eth0 MTU $mtu, largest DF payload $big; $((big + 1)) ALSO PASSED (unexpected)"
        else
                echo "  $1: eth0 MTU $mtu, largest DF payload $big (packet $((big + 28))); $((big + 1)) fails"
        fi
}

echo "datapath-bench: iperf3 TCP, $runs runs of $secs s each, median Gbit/s (2-core machine, shared)"
echo "  node to node (192.168.50.1 -> .2):  $(iperf node1 node2 192.168.50.2)"
direct
echo "  pod to pod, direct routes:          $(iperf pod1 pod2 10.244.2.2)"
overlay
echo "  pod to pod, VXLAN overlay:          $(iperf pod1 pod2 10.244.2.2)"
echo "DF-ping MTU checks (ping -M do):"
direct
mtu_check "node to node" node1 192.168.50.2
mtu_check "pod to pod direct" pod1 10.244.2.2
overlay
mtu_check "pod to pod overlay" pod1 10.244.2.2
ip -n pod1 link set eth0 mtu 1500
ip -n pod2 link set eth0 mtu 1500
if ip netns exec pod1 ping -M do -c 1 -W 1 -q -s 1472 10.244.2.2 >/dev/null 2>&1; then r=passes; else r="does not pass"; fi
big=$(largest pod1 10.244.2.2 1472)
echo "  pod to pod overlay, pods left at MTU 1500 (no overlay MTU in the conflist): a 1472 payload $r;" \
        "the largest that passes is $big"
