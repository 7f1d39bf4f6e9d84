#!/bin/bash
# Namespaces, bridge, veth, addresses and routes through libpodnet (pn-net-test), checked against the kernel's view (ip -j, bridge, ping).
. "$top_srcdir/tests/netns/lib.sh"

T=$top_builddir/tests/netns/pn-net-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }

# ip -j link/addr queries: jqlink [ip-args...] -- FILTER
jqlink() {
        local args=()
        while [ "$1" != -- ]; do args+=("$1"); shift; done
        shift
        ip -j "${args[@]}" | jq -r "$@"
}
inns() { ip netns exec "$@"; }

# ---- namespaces ----
ip netns add p1
out=$($T netns-open /run/netns/p1)
is "netns-open: fd, path, not current" "$out" "fd=1 path=/run/netns/p1 current=0"
out=$($T netns-open /proc/self/ns/net)
is "netns-open: own namespace is current" "$out" "fd=1 path=/proc/self/ns/net current=1"
$T netns-open /run/netns/nope 2>"$TMPDIR/err" && fail "netns-open missing path succeeded" ||
        check "netns-open missing path: ENOENT" grep -q "errno 2)" "$TMPDIR/err"
check "ENOENT message names the path" grep -q "/run/netns/nope" "$TMPDIR/err"
: >"$TMPDIR/plain"
$T netns-open "$TMPDIR/plain" 2>"$TMPDIR/err" && fail "netns-open of a plain file succeeded" ||
        check "netns-open plain file: EINVAL" grep -q "is not a network namespace (errno 22)" "$TMPDIR/err"
$T netns-open /proc/self/ns/uts 2>"$TMPDIR/err" && fail "netns-open of a UTS namespace succeeded" ||
        check "netns-open UTS namespace: EINVAL" grep -q "errno 22)" "$TMPDIR/err"
out=$($T netns-run /run/netns/p1)
is "netns-run: fn ran inside the namespace and its value came back" "$out" "ret=42 inside=1"

# ---- bridge ----
out=$($T bridge-ensure cbr0 --mtu 1400 --addr 10.1.1.1/24 --addr fd00:1::1/64 --nodad --promisc)
idx=$(jqlink link show cbr0 -- '.[0].ifindex')
is "bridge-ensure returns the ifindex" "$out" "ifindex=$idx"
is "bridge is a bridge" "$(jqlink -d link show cbr0 -- '.[0].linkinfo.info_kind')" bridge
is "bridge MTU" "$(jqlink link show cbr0 -- '.[0].mtu')" 1400
is "bridge up" "$(jqlink link show cbr0 -- '.[0].flags | index("UP") != null')" true
is "bridge promisc" "$(jqlink link show cbr0 -- '.[0].flags | index("PROMISC") != null')" true
is "bridge IPv4 gateway" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen) \(.broadcast)"] | join(",")')" \
        "10.1.1.1/24 10.1.1.255"
is "bridge IPv6 gateway, nodad" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.family=="inet6" and .scope=="global") | "\(.local)/\(.prefixlen) \(.nodad // false)"] | join(",")')" \
        "fd00:1::1/64 true"
out=$($T bridge-ensure cbr0 --mtu 1400 --addr 10.1.1.1/24 --addr fd00:1::1/64 --nodad --promisc)
is "bridge-ensure again: same ifindex" "$out" "ifindex=$idx"
is "bridge-ensure again: addresses not duplicated" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.scope=="global")] | length')" 2
fails_with "bridge-ensure: other address in the same subnet without force: EEXIST naming both" \
        "Bridge cbr0 already has address 10.1.1.1/24, not 10.1.1.254/24 (errno 17)" \
        $T bridge-ensure cbr0 --addr 10.1.1.254/24
check "bridge-ensure with force replaces it" $T bridge-ensure cbr0 --addr 10.1.1.254/24 --force
is "  ... only the new IPv4 address remains" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.family=="inet") | .local] | join(",")')" \
        10.1.1.254
is "  ... the IPv6 address is untouched" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.family=="inet6" and .scope=="global") | .local] | join(",")')" \
        fd00:1::1
check "bridge-ensure: back to the gateway" $T bridge-ensure cbr0 --addr 10.1.1.1/24 --force
check "bridge-ensure: an address in another subnet is added beside" \
        $T bridge-ensure cbr0 --addr 10.2.2.1/24
is "  ... both IPv4 subnets present" \
        "$(jqlink addr show cbr0 -- '[.[0].addr_info[] | select(.family=="inet") | .local] | sort | join(",")')" \
        10.1.1.1,10.2.2.1
ip link add notbr type veth peer name notbr-p
fails_with "bridge-ensure on a veth's name: EEXIST naming the link" \
        "Interface notbr exists and is not a bridge (veth) (errno 17)" $T bridge-ensure notbr
check_fails "bridge-delete refuses a veth" $T bridge-delete notbr
ip link del notbr
out=$($T link-get cbr0)
is "link-get bridge" "$(echo "$out" | grep -E '^(kind|mtu|up|promisc|master)=' | tr '\n' ' ')" \
        "mtu=1400 up=1 kind=bridge master=0 promisc=1 "
$T link-get nosuch 2>"$TMPDIR/err" && fail "link-get of a missing link succeeded" ||
        check "link-get missing: ENODEV" grep -q "errno 19)" "$TMPDIR/err"
ip link add br9 type bridge
check "link-up" $T link-up br9
is "  ... br9 is up" "$(jqlink link show br9 -- '.[0].flags | index("UP") != null')" true
check "bridge-delete" $T bridge-delete br9
check_fails "  ... br9 gone" ip link show br9
check "bridge-delete of an absent bridge is 0" $T bridge-delete br9

# ---- veth ----
host=$($T veth-name c1 eth0)
is "veth-name is pn + 12 hex" "$(echo "$host" | grep -cE '^pn[0-9a-f]{12}$')" 1
out=$($T veth-create c1 eth0 /run/netns/p1 --bridge cbr0 --mtu 1400 --hairpin --mac 0a:58:0a:01:01:05)
v() { echo "$out" | sed -n "s/^$1=//p"; }
is "veth-create: host name" "$(v host_ifname)" "$host"
is "veth-create: pod name" "$(v pod_ifname)" eth0
is "  ... host ifindex as ip sees it" "$(v host_ifindex)" "$(jqlink link show "$host" -- '.[0].ifindex')"
is "  ... host MAC as ip sees it" "$(v host_mac)" "$(jqlink link show "$host" -- '.[0].address')"
is "  ... pod ifindex as ip sees it" "$(v pod_ifindex)" "$(inns p1 ip -j link show eth0 | jq '.[0].ifindex')"
is "  ... pod MAC is the one asked for" "$(inns p1 ip -j link show eth0 | jq -r '.[0].address')" 0a:58:0a:01:01:05
is "  ... pod MAC reported" "$(v pod_mac)" 0a:58:0a:01:01:05
is "pod end eth0 is up inside p1" "$(inns p1 ip -j link show eth0 | jq '.[0].flags | index("UP") != null')" true
is "pod end MTU" "$(inns p1 ip -j link show eth0 | jq '.[0].mtu')" 1400
is "host end MTU" "$(jqlink link show "$host" -- '.[0].mtu')" 1400
is "host end up" "$(jqlink link show "$host" -- '.[0].flags | index("UP") != null')" true
is "host end enslaved to cbr0" "$(jqlink link show "$host" -- '.[0].master')" cbr0
is "host end hairpin on (ip -d)" "$(jqlink -d link show "$host" -- '.[0].linkinfo.info_slave_data.hairpin')" true
is "host end hairpin on (bridge -d link)" \
        "$(bridge -j -d link show dev "$host" | jq '.[0].hairpin')" true
check_fails "pod end not in the host namespace" ip link show eth0
out=$($T link-get "$host")
is "link-get host end" "$(echo "$out" | grep -E '^(kind|master|hairpin|up)=' | tr '\n' ' ')" \
        "up=1 kind=veth master=$idx hairpin=1 "
out=$($T link-get --ns /run/netns/p1 eth0)
is "link-get inside p1" "$(echo "$out" | grep -E '^(ifname|kind|mac|master)=' | tr '\n' ' ')" \
        "ifname=eth0 mac=0a:58:0a:01:01:05 kind=veth master=0 "

nlinks() { ip -j link | jq length; }
nlinks_p1() { inns p1 ip -j link | jq length; }
before=$(nlinks) before_p1=$(nlinks_p1)
fails_with "duplicate veth (same container, same ifname): EEXIST naming the host end" \
        "Interface $host (host end for eth0 of container c1) already exists (errno 17)" \
        $T veth-create c1 eth0 /run/netns/p1 --bridge cbr0
# The link layer chooses no CNI code (podnet_cni_add() makes this EEXIST code 102): the
# code is the one derived from the errno.
fails_with "  ... no CNI code of its own" "cni code 100" $T veth-create c1 eth0 /run/netns/p1 --bridge cbr0
fails_with "another container, same ifname in the same netns: EEXIST naming eth0 and the namespace" \
        "Interface eth0 already exists in /run/netns/p1 (errno 17)" \
        $T veth-create c2 eth0 /run/netns/p1 --bridge cbr0
is "  ... nothing leaked in the host namespace" "$(nlinks)" "$before"
is "  ... nothing leaked in p1" "$(nlinks_p1)" "$before_p1"
fails_with "veth to a missing bridge: ENODEV naming it" "Looking up bridge nobr: No such device" \
        $T veth-create c3 eth1 /run/netns/p1 --bridge nobr
check_fails "veth with a bad MAC" $T veth-create c3 eth1 /run/netns/p1 --mac 01:00:5e:00:00:01
check_fails "veth with a too long ifname" $T veth-create c3 eth0123456789abc /run/netns/p1
check_fails "veth into a missing namespace" $T veth-create c3 eth1 /run/netns/nope
is "  ... still nothing leaked" "$(nlinks)/$(nlinks_p1)" "$before/$before_p1"

# ---- addresses and routes inside the pod namespace ----
P="--ns /run/netns/p1"
check "addr-add 10.1.1.5/24 in p1" $T addr-add $P eth0 10.1.1.5/24
is "  ... ip sees it" "$(inns p1 ip -j addr show eth0 | jq -r '[.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"] | join(",")')" 10.1.1.5/24
is "addr-has exact" "$($T addr-has $P eth0 10.1.1.5/24)" 1
is "addr-has other prefix" "$($T addr-has $P eth0 10.1.1.5/16)" 0
is "addr-has other address" "$($T addr-has $P eth0 10.1.1.6/24)" 0
check_fails "addr-add again: EEXIST" $T addr-add $P eth0 10.1.1.5/24
check "addr-add again with --replace" $T addr-add $P eth0 10.1.1.5/24 --replace
check "addr-add IPv6 nodad" $T addr-add $P eth0 fd00:1::5/64 --nodad
is "  ... ip sees it without DAD" "$(inns p1 ip -j addr show eth0 | jq -r '[.[0].addr_info[] | select(.family=="inet6" and .scope=="global") | "\(.local)/\(.prefixlen) \(.nodad // false) \(.tentative // false)"] | join(",")')" "fd00:1::5/64 true false"
fails_with "addr-add on a missing link: message names link and namespace" \
        "Adding address 10.1.1.9/24 to eth9 in /run/netns/p1: No such device" \
        $T addr-add $P eth9 10.1.1.9/24
check "addr-add with the host ctx (no --ns)" $T addr-add lo 127.0.0.9/8
is "  ... on the host's lo" "$(ip -j addr show lo | jq '[.[0].addr_info[] | select(.local=="127.0.0.9")] | length')" 1
check "addr-del host lo" $T addr-del lo 127.0.0.9/8

check "route-add default via the gateway in p1" $T route-add $P 0.0.0.0/0 --via 10.1.1.1
is "  ... ip sees it" "$(inns p1 ip -j route show default | jq -r '.[0] | "\(.gateway) \(.dev)"')" "10.1.1.1 eth0"
is "route-has default" "$($T route-has $P 0.0.0.0/0)" 1
is "route-has default via the gateway" "$($T route-has $P 0.0.0.0/0 --via 10.1.1.1)" 1
is "route-has default via another gateway" "$($T route-has $P 0.0.0.0/0 --via 10.1.1.2)" 0
is "route-has default dev eth0" "$($T route-has $P 0.0.0.0/0 --dev eth0)" 1
is "route-has default dev lo" "$($T route-has $P 0.0.0.0/0 --dev lo)" 0
is "route-has default in table 100" "$($T route-has $P 0.0.0.0/0 --table 100)" 0
check_fails "route-add default again: EEXIST" $T route-add $P 0.0.0.0/0 --via 10.1.1.1
check "route-add --replace" $T route-add $P 0.0.0.0/0 --via 10.1.1.1 --replace --mtu 1300 --advmss 1260
is "  ... metrics set" "$(inns p1 ip -j route show default | jq -r '.[0].metrics[0] | "\(.mtu) \(.advmss)"')" "1300 1260"
check "route-add on-link with dev, metric, table, protocol" \
        $T route-add $P 10.7.0.0/16 --dev eth0 --metric 50 --table 100 --proto 44
is "  ... as asked" "$(inns p1 ip -j route show table 100 | jq -r '.[0] | "\(.dst) \(.dev) \(.metric) \(.protocol) \(.scope)"')" "10.7.0.0/16 eth0 50 44 link"
is "route-has table 100" "$($T route-has $P 10.7.0.0/16 --table 100)" 1
is "route-has main (not there)" "$($T route-has $P 10.7.0.0/16)" 0
check "route-del table 100" $T route-del $P 10.7.0.0/16 --table 100
is "  ... gone" "$(inns p1 ip -j route show table 100 | jq length)" 0
check "route-del again: 0" $T route-del $P 10.7.0.0/16 --table 100
fails_with "route via an unreachable gateway: ENETUNREACH, message names it all" \
        "Adding route 10.9.0.0/16 via 192.168.77.1 in /run/netns/p1: Network is unreachable" \
        $T route-add $P 10.9.0.0/16 --via 192.168.77.1
check "route-add IPv6 default via fd00:1::1" $T route-add $P ::/0 --via fd00:1::1
is "  ... ip sees it" "$(inns p1 ip -j -6 route show default | jq -r '.[0].gateway')" fd00:1::1
is "route-has IPv6 default" "$($T route-has $P ::/0 --via fd00:1::1)" 1

check "ping from p1 to the bridge gateway" inns p1 ping -c1 -W1 10.1.1.1
check "ping from the node to the pod" ping -c1 -W1 10.1.1.5
check "ping6 from p1 to the bridge gateway" inns p1 ping -6 -c1 -W1 fd00:1::1

check "addr-del in p1" $T addr-del $P eth0 10.1.1.5/24
is "  ... gone" "$($T addr-has $P eth0 10.1.1.5/24)" 0
check "addr-del again: 0" $T addr-del $P eth0 10.1.1.5/24
check "addr-del on a missing link: 0" $T addr-del $P eth9 10.1.1.5/24

# ---- default route MTU (of the context's namespace) ----
fails_with "default-mtu with no default route: ENOENT" "(errno 2)" $T default-mtu 4
ip link add up0 mtu 1450 type veth peer name up0-p
ip link set up0 up
ip link set up0-p up
ip addr add 192.168.50.2/24 dev up0
ip route add default via 192.168.50.1 dev up0
is "default-mtu 4 = the uplink's MTU" "$($T default-mtu 4)" 1450
check_fails "default-mtu 6 with no IPv6 default route" $T default-mtu 6
# Two defaults: the lowest metric wins; found by one lookup however many routes exist,
# and by the table dump when a more specific route covers the lookup's probe address.
ip link add up1 mtu 1300 type veth peer name up1-p
ip link set up1 up
ip link set up1-p up
ip addr add 192.168.60.2/24 dev up1
ip route del default
ip route add default via 192.168.50.1 dev up0 metric 100
ip route add default via 192.168.60.1 dev up1 metric 50
for i in $(seq 1 2000); do echo "route add 10.$((i / 250)).$((i % 250)).0/24 via 192.168.50.$((2 + i % 200))"; done | ip -batch -
is "default-mtu 4 = the lowest-metric default's link (2000 other routes)" "$($T default-mtu 4)" 1300
ip route add 198.51.100.0/24 via 192.168.50.1 dev up0
is "default-mtu 4 when a route covers the probe address (table walk)" "$($T default-mtu 4)" 1300
ip route del default via 192.168.60.1 dev up1
is "default-mtu 4 after the metric-50 default is gone" "$($T default-mtu 4)" 1450
ip -6 addr add fd00:50::2/64 dev up0 nodad
ip -6 route add default via fd00:50::1 dev up0
is "default-mtu 6 = the IPv6 default's link" "$($T default-mtu 6)" 1450
ip link del up1
ip route del default via 192.168.50.1 dev up0 metric 100
ip link del up0

# ---- delete ----
check "veth-delete" $T veth-delete c1 eth0
check_fails "  ... host end gone" ip link show "$host"
is "  ... pod end gone" "$(inns p1 ip -j link | jq '[.[] | select(.ifname=="eth0")] | length')" 0
check "veth-delete again: 0" $T veth-delete c1 eth0

ip netns add p2
out=$($T veth-create c2 eth0 /run/netns/p2 --bridge cbr0)
host2=$(echo "$out" | sed -n 's/^host_ifname=//p')
check "veth for p2 exists" ip link show "$host2"
ip netns del p2
check "veth-delete after ip netns del" $T veth-delete c2 eth0
# The kernel removes the pair with the namespace, asynchronously; wait for it.
for _ in $(seq 50); do ip link show "$host2" >/dev/null 2>&1 || break; sleep 0.1; done
check_fails "  ... host end gone" ip link show "$host2"

check "bridge-delete cbr0" $T bridge-delete cbr0

# ---- several pods on one bridge, each attached as podnet-cni's ADD does ----
for i in 0 1 2; do ip netns add a$i; done
check "attach 3 pods (namespace, bridge, veth, address, default route)" \
        $T attach-bench 3 /run/netns/a cbr1
is "  ... 3 ports on cbr1" "$(ip -j link show master cbr1 | jq length)" 3
check "pod a0 reaches pod a2 through the bridge" inns a0 ping -c1 -W1 10.1.0.4
check "pod a2 reaches pod a0 through the bridge" inns a2 ping -c1 -W1 10.1.0.2
check "pod a1 reaches the gateway" inns a1 ping -c1 -W1 10.1.0.1
is "pod a1's default route" "$(inns a1 ip -j route show default | jq -r '.[0].gateway')" 10.1.0.1
for i in 0 1 2; do check "veth-delete attach$i" $T veth-delete attach$i eth0; done
check "bridge-delete cbr1" $T bridge-delete cbr1
for i in 0 1 2; do
        is "  ... only lo left in a$i" "$(inns a$i ip -j link | jq -r '[.[].ifname] | join(",")')" lo
        ip netns del a$i
done
is "only lo left in the test's namespace" "$(ip -j link | jq -r '[.[].ifname] | join(",")')" lo
is "only lo left in p1" "$(inns p1 ip -j link | jq -r '[.[].ifname] | join(",")')" lo
ip netns del p1

finish
