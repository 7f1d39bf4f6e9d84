#!/bin/bash
# The direct-path probe of `--overlay auto` (lib/agent/probe.c through pn-probe-test):
# three node namespaces on a switch, each with a pod-CIDR gateway on a bridge and direct
# routes to the others' pod CIDRs. The probe succeeds on the flat switch (IPv4 and IPv6,
# also before any neighbour entry exists); fails within its bound where the switch drops
# pod-addressed frames, and succeeds again once the rule is gone; counts an answer that
# comes back over another path (and fails where the peer's rp_filter is strict); fails
# for an off-link peer behind a router; keeps its bound with 1,200 targets of which a
# few answer.
. "$top_srcdir/tests/netns/lib.sh"

T=$top_builddir/tests/netns/pn-probe-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }
command -v nft >/dev/null || { echo "SKIP: nft not found"; exit 77; }

TIMEOUT=500
# the probe's bound and what a loaded machine may add to it (process start included)
SLACK=400

# direct pod routes between the nodes N..., as podnet-routes writes them
pod_routes() {
        local n m
        for n in "$@"; do
                for m in "$@"; do
                        [ "$n" = "$m" ] && continue
                        ip -n "node$n" route add "10.244.$m.0/24" via "192.168.50.$m"
                        ip -n "node$n" -6 route add "fd00:244:$m::/64" via "fd00:50::$m"
                done
        done
}
# probe NODE TARGET_LINES: one round on nodeNODE's eth0; the output in $out, the
# elapsed wall time (ms) in $ms
probe() {
        local a b
        a=$(date +%s%N)
        out=$(ip netns exec "node$1" "$T" "$TIMEOUT" eth0 <<<"$2" 2>&1)
        b=$(date +%s%N)
        ms=$(((b - a) / 1000000))
}
t12="10.244.1.1 10.244.2.1 192.168.50.2
fd00:244:1::1 fd00:244:2::1 fd00:50::2"
t13="10.244.1.1 10.244.3.1 192.168.50.3
fd00:244:1::1 fd00:244:3::1 fd00:50::3"
answered() { sed -n 's/^answered \([0-9]*\) of \([0-9]*\).*/\1 of \2/p' <<<"$out"; }
within() { # within WHAT: the round kept its bound
        if [ "$ms" -le $((TIMEOUT + SLACK)) ]; then
                ok "$1: ended within the bound (${ms} ms)"
        else
                fail "$1: took ${ms} ms, bound $TIMEOUT ms"
        fi
}

# ---- (a) the flat switch ----
pn_net_switch 1 2 3
for n in 1 2 3; do pn_node_gateway "$n"; done
pod_routes 1 2 3
is "no neighbour entry on node1 before the first probe" \
        "$(ip -n node1 neigh show dev eth0 | grep -c lladdr)" 0
probe 1 "$t12
$t13"
is "flat switch, MACs not yet resolved: all four targets answer (IPv4, IPv6)" "$(answered)" "4 of 4"
[ "$(answered)" = "4 of 4" ] || sed 's/^/#   /' <<<"$out"
within "first round"
ok_line() { grep -q "^$1 ok$" <<<"$out"; }
check "node2's IPv4 target is reported ok" ok_line 10.244.2.1
check "node3's IPv6 target is reported ok" ok_line fd00:244:3::1
probe 1 "$t12
$t13"
is "flat switch, MACs resolved: all four answer again" "$(answered)" "4 of 4"
check "an answered round ends before its bound (${ms} ms)" test "$ms" -lt "$TIMEOUT"

probe 1 "fd00:244:1::1 fd00:244:2::1 192.168.50.2"
is "IPv6 pod CIDRs over the IPv4 underlay (node_family AF_INET): answered" "$(answered)" "1 of 1"
# another program pings node2's gateway from node1's meanwhile: the same addresses as
# the target, whose own probe cannot get out (its node address is nobody's); the
# ping's replies reach the raw socket and must not count
ip netns exec node1 ping -q -i 0.01 -c 300 -I 10.244.1.1 10.244.2.1 >/dev/null 2>&1 &
pinger=$!
probe 1 "10.244.1.1 10.244.2.1 192.168.50.99"
is "another program's echo replies between the same addresses: not counted" "$(answered)" "0 of 1"
kill "$pinger" 2>/dev/null
wait "$pinger" 2>/dev/null

# ---- (c) a switch that drops pod-addressed frames ----
pn_cloud_filter on 1 2 3
check "node addresses still reach each other through the filtering switch" \
        ip netns exec node1 ping -c 1 -W 2 192.168.50.2
probe 1 "$t12
$t13"
is "cloud-like switch: no target answers" "$(answered)" "0 of 4"
within "filtered round"
check "the switch's drop rules counted the probes" \
        sh -c "ip netns exec pnsw nft list table bridge pncloud | grep -q 'packets [1-9]'"
pn_cloud_filter off
probe 1 "$t12
$t13"
is "filter removed: all four answer again" "$(answered)" "4 of 4"

# ---- an answer over another path ----
# node2 routes node1's pod CIDR over a second link (alt); the answer comes back that way
ip link add alt1 netns node1 type veth peer alt2 netns node2
ip -n node1 addr add 192.168.99.1/24 dev alt1
ip -n node2 addr add 192.168.99.2/24 dev alt2
ip -n node1 link set alt1 up
ip -n node2 link set alt2 up
ip -n node2 route replace 10.244.1.0/24 via 192.168.99.1 dev alt2
ip netns exec node2 sysctl -qw net.ipv4.conf.alt2.rp_filter=2
rx() { ip -n node1 -s -j link show alt1 | jq -r '.[0].stats64.rx.packets'; }
before=$(rx)
probe 1 "$(head -1 <<<"$t12")"
is "answer over another path: counted" "$(answered)" "1 of 1"
check "the answer came in on node1's alt1, not eth0" test "$(rx)" -gt "$before"
ip netns exec node2 sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
probe 1 "$(head -1 <<<"$t12")"
is "peer in strict rp_filter mode, routing us another way: the probe fails (documented)" \
        "$(answered)" "0 of 1"
ip netns exec node2 sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth0.rp_filter=2
ip -n node2 route replace 10.244.1.0/24 via 192.168.50.1 dev eth0

# ---- 1,200 targets, five answering ----
# node2 answers for five gateway addresses; 1,095 targets are addresses nobody holds
# behind node2's MAC (node2 does not forward), 100 have node addresses nobody holds
for i in 11 12 13 14; do ip -n node2 addr add "10.244.2.$i/24" dev cni0; done
many=$(
        echo "10.244.1.1 10.244.2.1 192.168.50.2"
        for i in 11 12 13 14; do echo "10.244.1.1 10.244.2.$i 192.168.50.2"; done
        for i in $(seq 1 1095); do echo "10.244.1.1 10.250.$((i / 250)).$((i % 250 + 1)) 192.168.50.2"; done
        for i in $(seq 100 199); do echo "10.244.1.1 10.251.0.$i 192.168.50.$i"; done
)
ip netns exec node1 sysctl -qw net.ipv4.neigh.eth0.unres_qlen=3 2>/dev/null
probe 1 "$many"
is "1,200 targets: exactly the five that exist answer" "$(answered)" "5 of 1200"
within "1,200 targets"
is "the five are the right ones" "$(grep -c '^10\.244\.2\.[0-9]* ok$' <<<"$out")" 5

# ---- (b) an off-link peer behind a router ----
pn_net_del
pn_net_routed
for n in 1 2 3; do pn_node_gateway "$n"; done
ip -n node1 route add 10.244.2.0/24 via 192.168.50.2
ip -n node2 route add 10.244.1.0/24 via 192.168.50.1
check "node1 reaches node3's address through the router" ip netns exec node1 ping -c 1 -W 2 192.168.51.3
probe 1 "10.244.1.1 10.244.2.1 192.168.50.2
10.244.1.1 10.244.3.1 192.168.51.3"
check "routed: the on-link peer answers" ok_line 10.244.2.1
check "routed: the off-link peer fails (its node address is never resolved on eth0)" \
        grep -q '^10.244.3.1 fail$' <<<"$out"
within "routed round"
pn_net_del
finish
