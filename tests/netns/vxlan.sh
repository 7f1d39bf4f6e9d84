#!/bin/bash
# The VXLAN overlay's kernel objects through libpodnet (pn-vxlan-test): two node namespaces
# on a veth underlay, a VXLAN device in each, per peer a neighbour entry, an FDB entry and
# an onlink route, and pods pinging each other across, IPv4 and IPv6; idempotence (no
# write, watched with ip monitor), replacement, in-place changes, deletion, unhappy paths;
# then the same over an IPv6 underlay, where the routes to the peers are then written by
# the library's batch (onlink, plain and through nexthop objects). Checked against the
# kernel's view (ip -j, bridge -j).
. "$top_srcdir/tests/netns/lib.sh"

T=$top_builddir/tests/netns/pn-vxlan-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
if ! ip link add pnprobe type vxlan id 1 dstport 4789 2>/dev/null; then
        echo "SKIP: this kernel cannot make VXLAN devices"
        exit 77
fi
ip link del pnprobe

# field "key=value ..." key: the value of key in pn-vxlan-test's output
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
vxi() { ip -n "$1" -d -j link show "$2" | jq -r ".[0].$3"; }
neighs() { ip -n "$1" -j neigh show dev "$2" nud permanent | jq -r '[.[] | "\(.dst) \(.lladdr)"] | sort | join(",")'; }
fdbs() { bridge -n "$1" -j fdb show dev "$2" | jq -r '[.[] | "\(.mac) \(.dst) \(.flags | join("+")) \(.state)"] | sort | join(",")'; }
pings() { ip netns exec "$1" ping -c 1 -W 2 "${@:2}" >/dev/null 2>&1; }
tx() { ip -n "$1" -s -j link show "$2" | jq -r '.[0].stats64.tx.packets'; }

# node N: namespace nN with underlay address $2 on uN, one pod pN with 10.24X.N.2 and
# fd00:24X::N::2 behind a veth whose node end holds the gateway (.1, ::1)
node() {
        local n=$1 net=$2
        ip -n "n$n" link set lo up
        ip netns exec "n$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
        ip netns add "p$n"
        ip -n "p$n" link set lo up
        ip link add "h$n" netns "n$n" type veth peer eth0 netns "p$n"
        ip -n "n$n" addr add "10.$net.$n.1/24" dev "h$n"
        ip -n "n$n" addr add "fd00:$net:$n::1/64" dev "h$n" nodad
        ip -n "n$n" link set "h$n" up
        ip -n "p$n" addr add "10.$net.$n.2/24" dev eth0
        ip -n "p$n" addr add "fd00:$net:$n::2/64" dev eth0 nodad
        ip -n "p$n" link set eth0 up
        ip -n "p$n" route add default via "10.$net.$n.1"
        ip -n "p$n" -6 route add default via "fd00:$net:$n::1"
}

# ---- endpoint identities ----
is "endpoint MAC of an IPv4 underlay address" "$($T endpoint-mac 192.168.50.1)" 72:34:c0:a8:32:01
is "endpoint MAC of an IPv6 underlay address" "$($T endpoint-mac fd00:50::3)" \
        "$($T endpoint-mac fd00:50::3/64)"
is "endpoint address of a pod CIDR" "$($T endpoint-addr 10.244.2.0/24)" 10.244.2.0/32
is "endpoint address of an IPv6 pod CIDR" "$($T endpoint-addr fd00:244:2::/64)" fd00:244:2::/128

# ---- two nodes on an IPv4 underlay ----
ip netns add n1
ip netns add n2
ip link add u1 netns n1 type veth peer u2 netns n2
for i in 1 2; do
        ip -n "n$i" addr add "192.168.50.$i/24" dev "u$i"
        ip -n "n$i" link set "u$i" up
        node "$i" 244
done
mac1=$($T endpoint-mac 192.168.50.1)
mac2=$($T endpoint-mac 192.168.50.2)

for i in 1 2; do
        mac=$($T endpoint-mac "192.168.50.$i")
        out=$($T ensure vx0 --ns "/run/netns/n$i" --vni 42 --local "192.168.50.$i" --dev "u$i" --mac "$mac")
        is "n$i: ensure creates the device (changes=CREATED)" "$(field "$out" changes)" 1
        is "n$i: ensure returns the kernel's ifindex" "$(field "$out" ifindex)" "$(vxi "n$i" vx0 ifindex)"
done
is "kind vxlan" "$(vxi n1 vx0 linkinfo.info_kind)" vxlan
is "VNI 42" "$(vxi n1 vx0 linkinfo.info_data.id)" 42
is "UDP port 4789 (IANA), not the kernel's default 8472" "$(vxi n1 vx0 linkinfo.info_data.port)" 4789
is "local underlay address" "$(vxi n1 vx0 linkinfo.info_data.local)" 192.168.50.1
is "underlay device" "$(vxi n1 vx0 linkinfo.info_data.link)" u1
is "no learning" "$(vxi n1 vx0 linkinfo.info_data.learning)" false
is "no group" "$(vxi n1 vx0 'linkinfo.info_data.group // "none"')" none
is "endpoint MAC on the device" "$(vxi n1 vx0 address)" "$mac1"
is "MTU: the kernel's, the underlay's 1500 less 50" "$(vxi n1 vx0 mtu)" 1450
is "up" "$(vxi n1 vx0 'flags | index("UP") != null')" true
out=$($T get vx0 --ns /run/netns/n1)
is "get reports the device" "$out" \
        "ifindex=$(vxi n1 vx0 ifindex) name=vx0 vni=42 port=4789 family=4 local=192.168.50.1 dev=$(ip -n n1 -j link show u1 | jq -r '.[0].ifindex') mtu=1450 mac=$mac1 up=1 learning=0 group=0 changes=0"

# each node: the peer's neighbour and FDB entry (library), its routes (onlink, ip)
for pair in "1 2" "2 1"; do
        set -- $pair
        out=$($T peer vx0 "192.168.50.$2" "10.244.$2.0/24" --ns "/run/netns/n$1")
        is "n$1: peer n$2 programmed" "$out" "endpoint=10.244.$2.0 mac=$($T endpoint-mac "192.168.50.$2")"
        check "n$1: peer n$2 IPv6 pod CIDR programmed" $T peer vx0 "192.168.50.$2" "fd00:244:$2::/64" --ns "/run/netns/n$1"
        ip -n "n$1" route add "10.244.$2.0/24" via "10.244.$2.0" dev vx0 onlink
        ip -n "n$1" -6 route add "fd00:244:$2::/64" via "fd00:244:$2::" dev vx0 onlink
done
is "n1: neighbour entries, permanent" "$(neighs n1 vx0)" "10.244.2.0 $mac2,fd00:244:2:: $mac2"
is "n1: one FDB entry for the peer, self, permanent" "$(fdbs n1 vx0)" "$mac2 192.168.50.2 self permanent"
is "n1: neigh-dump lists both" "$($T neigh-dump vx0 --ns /run/netns/n1 | grep 'state=0x80')" \
        "10.244.2.0 $mac2 state=0x80
fd00:244:2:: $mac2 state=0x80"
is "n1: neigh-dump of one family" "$($T neigh-dump vx0 4 --ns /run/netns/n1)" \
        "10.244.2.0 $mac2 state=0x80
count=1"
is "n1: fdb-dump" "$($T fdb-dump vx0 --ns /run/netns/n1)" "$mac2 192.168.50.2 state=0x80 self=1
count=1"

tx0=$(tx n1 vx0)
check "pod 1 -> pod 2 over the overlay (IPv4)" pings p1 10.244.2.2
check "pod 2 -> pod 1 over the overlay (IPv4)" pings p2 10.244.1.2
check "pod 1 -> pod 2 over the overlay (IPv6)" pings p1 fd00:244:2::2
check "pod 2 -> pod 1 over the overlay (IPv6)" pings p2 fd00:244:1::2
check "a full-size DF packet for the tunnel's MTU (1450) gets through" pings p1 -M do -s 1422 10.244.2.2
check "... and one byte more does not" bash -c '! ip netns exec p1 ping -c 1 -W 1 -M do -s 1423 10.244.2.2'
ok_tx=$(tx n1 vx0)
check "the packets went through vx0 ($tx0 -> $ok_tx transmitted)" test "$ok_tx" -gt "$tx0"

# ---- idempotence: a second ensure writes nothing ----
idx=$(vxi n1 vx0 ifindex)
before=$(ip -n n1 -d -j link show vx0; neighs n1 vx0; fdbs n1 vx0)
ip -n n1 monitor link neigh >"$TMPDIR/monitor" 2>&1 &
mon=$!
sleep 0.3
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --dev u1 --mac "$mac1")
is "ensure again: same ifindex" "$(field "$out" ifindex)" "$idx"
is "ensure again: changes=0" "$(field "$out" changes)" 0
sleep 0.3
is "ensure again: no link or neighbour event of vx0 in ip monitor" "$(grep -c vx0 "$TMPDIR/monitor")" 0
is "ensure again: link, neighbour and FDB state unchanged" \
        "$(ip -n n1 -d -j link show vx0; neighs n1 vx0; fdbs n1 vx0)" "$before"
# the same monitor sees a real change (so the check above can fail)
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --dev u1 --mac "$mac1" --mtu 1400)
is "ensure with another MTU: set in place (changes=MTU_SET)" "$(field "$out" changes)" 4
sleep 0.3
check "  ... and ip monitor saw it" grep -q vx0 "$TMPDIR/monitor"
kill "$mon"
wait "$mon" 2>/dev/null
is "  ... same ifindex" "$(vxi n1 vx0 ifindex)" "$idx"
is "  ... MTU 1400" "$(vxi n1 vx0 mtu)" 1400
is "  ... the entries stay" "$(neighs n1 vx0) / $(fdbs n1 vx0)" \
        "10.244.2.0 $mac2,fd00:244:2:: $mac2 / $mac2 192.168.50.2 self permanent"
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --dev u1 --mac 72:34:00:00:00:01 --mtu 1450)
is "ensure with another MAC and MTU: set in place (MTU_SET|MAC_SET)" "$(field "$out" changes) $(vxi n1 vx0 ifindex)" "12 $idx"
# what podnet_vxlan_ensure(3) documents: a new MAC makes the kernel flush the device's
# neighbour entries, permanent ones too; FDB entries and routes stay
is "  ... the kernel flushed the neighbour entries, kept FDB entries and routes" \
        "$(neighs n1 vx0)|$(fdbs n1 vx0)|$(ip -n n1 route show 10.244.2.0/24)" \
        "|$mac2 192.168.50.2 self permanent|10.244.2.0/24 via 10.244.2.0 dev vx0 onlink "
ip -n n1 link set vx0 down
is "taking it down flushes neighbour entries and routes, not FDB entries" \
        "$(neighs n1 vx0)|$(fdbs n1 vx0)|$(ip -n n1 route show 10.244.2.0/24)" \
        "|$mac2 192.168.50.2 self permanent|"
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --dev u1 --mac "$mac1")
is "ensure of a device that is down: brought up (MAC_SET|UP_SET)" "$(field "$out" changes)" 24
is "  ... up" "$(vxi n1 vx0 'flags | index("UP") != null')" true
for cidr in 10.244.2.0/24 fd00:244:2::/64; do
        $T peer vx0 192.168.50.2 $cidr --ns /run/netns/n1 >/dev/null
        ip -n n1 route add $cidr via "${cidr%/*}" dev vx0 onlink
done
check "reprogrammed, pods reach each other" pings p1 10.244.2.2

# ---- neighbour and FDB entries: replace, delete ----
ep=10.244.2.0
check "neigh-set with another MAC" $T neigh-set vx0 $ep 72:34:00:00:00:99 --ns /run/netns/n1
is "  ... replaces the entry" "$(neighs n1 vx0)" "10.244.2.0 72:34:00:00:00:99,fd00:244:2:: $mac2"
check "fdb-set with another remote" $T fdb-set vx0 "$mac2" 192.168.50.99 --ns /run/netns/n1
is "  ... replaces the remote (one entry still)" "$(fdbs n1 vx0)" "$mac2 192.168.50.99 self permanent"
check_fails "  ... and pods no longer reach each other" pings p1 10.244.2.2
check "peer again restores both" $T peer vx0 192.168.50.2 10.244.2.0/24 --ns /run/netns/n1
check "  ... and traffic" pings p1 10.244.2.2
check "fdb-del of another remote than the entry's: 0" $T fdb-del vx0 "$mac2" 192.168.50.77 --ns /run/netns/n1
is "  ... leaves the entry" "$(fdbs n1 vx0)" "$mac2 192.168.50.2 self permanent"
check "neigh-del" $T neigh-del vx0 fd00:244:2:: --ns /run/netns/n1
is "  ... removes the IPv6 entry only" "$(neighs n1 vx0)" "10.244.2.0 $mac2"
check "neigh-del of an absent entry: 0" $T neigh-del vx0 fd00:244:2:: --ns /run/netns/n1
check "fdb-del of a whole entry" $T fdb-del vx0 "$mac2" --ns /run/netns/n1
is "  ... removes it" "$(fdbs n1 vx0)" ""
check "fdb-del of an absent entry: 0" $T fdb-del vx0 "$mac2" --ns /run/netns/n1
check "peer restores" $T peer vx0 192.168.50.2 fd00:244:2::/64 --ns /run/netns/n1
check "  ... IPv6 traffic" pings p1 fd00:244:2::2

# ---- replacement: another VNI ----
out=$($T ensure vx0 --ns /run/netns/n1 --vni 43 --local 192.168.50.1 --dev u1 --mac "$mac1")
is "ensure with another VNI replaces the device (changes=REPLACED)" "$(field "$out" changes)" 2
newidx=$(field "$out" ifindex)
check "  ... a new ifindex ($idx -> $newidx)" test "$newidx" != "$idx"
is "  ... VNI 43" "$(vxi n1 vx0 linkinfo.info_data.id)" 43
is "  ... its entries went with the old device" "$(neighs n1 vx0)|$(fdbs n1 vx0)" "|"
is "  ... and the routes through it" "$(ip -n n1 route show 10.244.2.0/24)" ""
check_fails "  ... pods on different VNIs do not reach each other" pings p1 10.244.2.2
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --dev u1 --mac "$mac1")
is "back to VNI 42: replaced again" "$(field "$out" changes)" 2
$T peer vx0 192.168.50.2 10.244.2.0/24 --ns /run/netns/n1 >/dev/null
ip -n n1 route add 10.244.2.0/24 via 10.244.2.0 dev vx0 onlink
check "  ... reprogrammed, pods reach each other" pings p1 10.244.2.2
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --port 8472 --local 192.168.50.1 --dev u1 --mac "$mac1")
is "another port: replaced" "$(field "$out" changes) $(vxi n1 vx0 linkinfo.info_data.port)" "2 8472"
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.1 --mac "$mac1")
is "without the underlay device: replaced (port back to 4789)" \
        "$(field "$out" changes) $(vxi n1 vx0 'linkinfo.info_data.link // "none"') $(vxi n1 vx0 linkinfo.info_data.port)" \
        "2 none 4789"
ip -n n1 addr add 192.168.50.11/24 dev u1
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.11 --mac "$mac1")
is "another local address: replaced" "$(field "$out" changes) $(vxi n1 vx0 linkinfo.info_data.local)" \
        "2 192.168.50.11"
ip -n n1 link set vx0 type vxlan learning
is "learning turned on by hand" "$(vxi n1 vx0 linkinfo.info_data.learning)" true
out=$($T ensure vx0 --ns /run/netns/n1 --vni 42 --local 192.168.50.11 --mac "$mac1")
is "  ... ensure replaces the device, learning off" \
        "$(field "$out" changes) $(vxi n1 vx0 linkinfo.info_data.learning)" "2 false"

# ---- unhappy paths ----
ip -n n1 link add br9 type bridge
brindex=$(ip -n n1 -j link show br9 | jq -r '.[0].ifindex')
fails_with "ensure on a bridge's name: EEXIST naming it" \
        "Interface br9 in /run/netns/n1 exists and is not a VXLAN device (bridge) (errno 17)" \
        $T ensure br9 --vni 42 --ns /run/netns/n1
fails_with "get of a bridge: EMEDIUMTYPE" "Interface br9 in /run/netns/n1 is not a VXLAN device (bridge)" \
        $T get br9 --ns /run/netns/n1
fails_with "delete of a bridge: EMEDIUMTYPE" "(errno 124)" $T delete br9 --ns /run/netns/n1
is "  ... the bridge is untouched" "$(ip -n n1 -d -j link show br9 | jq -r '"\(.[0].ifindex) \(.[0].linkinfo.info_kind)"')" \
        "$brindex bridge"
fails_with "VNI 2^24: EINVAL" "VXLAN device vx9: VNI 16777216 is out of range (0..16777215) (errno 22)" \
        $T ensure vx9 --vni 16777216 --ns /run/netns/n1
fails_with "same VNI and port as vx0: EEXIST" "another VXLAN device has that VNI and port (errno 17)" \
        $T ensure vx9 --vni 42 --ns /run/netns/n1
fails_with "missing underlay device: ENODEV naming it" \
        "VXLAN device vx9: looking up underlay device nosuch in /run/netns/n1: No such device (errno 19)" \
        $T ensure vx9 --vni 9 --dev nosuch --ns /run/netns/n1
is "  ... no vx9 was left behind" "$(ip -n n1 -j link show vx9 2>/dev/null | jq length)" ""
fails_with "invalid MAC for the device: EINVAL" "invalid MAC address '01:00:5e:00:00:01' (errno 22)" \
        $T ensure vx9 --vni 9 --mac 01:00:5e:00:00:01 --ns /run/netns/n1
fails_with "get of a missing device: ENODEV" "(errno 19)" $T get vx9 --ns /run/netns/n1
fails_with "neigh-set on a missing device: ENODEV naming it" \
        "Looking up interface nosuch in /run/netns/n1: No such device (errno 19)" \
        $T neigh-set nosuch 10.244.2.0 "$mac2" --ns /run/netns/n1
fails_with "neigh-set with a bad MAC: EINVAL" "invalid MAC address '72:34:zz:00:00:01' (errno 22)" \
        $T neigh-set vx0 10.244.2.0 72:34:zz:00:00:01 --ns /run/netns/n1
fails_with "fdb-set of a multicast MAC: EINVAL" "(errno 22)" \
        $T fdb-set vx0 01:00:5e:00:00:01 192.168.50.2 --ns /run/netns/n1

# ---- delete ----
check "delete" $T delete vx0 --ns /run/netns/n1
check_fails "  ... the device is gone" ip -n n1 link show vx0
is "  ... with its routes" "$(ip -n n1 route show 10.244.2.0/24)" ""
fails_with "  ... and a dump says so" "(errno 19)" $T neigh-dump vx0 --ns /run/netns/n1
check "delete again: 0" $T delete vx0 --ns /run/netns/n1
check "delete in n2" $T delete vx0 --ns /run/netns/n2
is "no VXLAN device is left" "$(for n in n1 n2; do ip -n $n -d -j link show type vxlan | jq -r '.[].ifname'; done)" ""

# ---- many peers through the internal API, as a sync writes them ----
check "a device for 2000 peers" $T ensure vxb --vni 100 --ns /run/netns/n1
$T batch vxb 2000 --ns /run/netns/n1 >"$TMPDIR/batch" 2>&1
sed 's/^/# /' "$TMPDIR/batch"
is "batch: before, all 4000 entries differ (missing)" "$(sed -n 's/^before: //p' "$TMPDIR/batch")" \
        "differ=4000 extra=0"
is "batch: after one pipelined batch, the dump and diff find nothing to write" \
        "$(sed -n 's/^after: \(differ=[0-9]* extra=[0-9]*\).*/\1/p' "$TMPDIR/batch")" "differ=0 extra=0"
is "batch: after the delete batch, all are gone" "$(sed -n 's/^end: //p' "$TMPDIR/batch")" \
        "differ=4000 extra=0"
# the same entries written by iproute2 count as equal: the comparison is the kernel's
for i in 0 1 2; do
        u=172.16.0.$((i + 1))
        ip -n n1 neigh replace 10.128.$i.0 lladdr "$($T endpoint-mac $u)" nud permanent dev vxb
        bridge -n n1 fdb replace "$($T endpoint-mac $u)" dev vxb dst $u self permanent
done
is "entries written by ip and bridge need no write" \
        "$($T batch vxb 3 --ns /run/netns/n1 | sed -n 's/^before: //p')" "differ=0 extra=0"
check "delete the batch device" $T delete vxb --ns /run/netns/n1

# ---- an IPv6 underlay: nodes n3, n4 on fd00:50::/64, port 8472 ----
ip netns add n3
ip netns add n4
ip link add u3 netns n3 type veth peer u4 netns n4
for i in 3 4; do
        ip -n "n$i" addr add "fd00:50::$i/64" dev "u$i" nodad
        ip -n "n$i" link set "u$i" up
        node "$i" 246
        mac=$($T endpoint-mac "fd00:50::$i")
        out=$($T ensure vx6 --ns "/run/netns/n$i" --vni 7 --port 8472 --local "fd00:50::$i" --dev "u$i" --mac "$mac")
        is "n$i: IPv6 underlay device created" "$(field "$out" changes) $(field "$out" family) $(field "$out" local)" \
                "1 6 fd00:50::$i"
done
is "IPv6 underlay: local address" "$(vxi n3 vx6 linkinfo.info_data.local6)" fd00:50::3
is "IPv6 underlay: MTU 1500 less 70" "$(vxi n3 vx6 mtu)" 1430
for pair in "3 4" "4 3"; do
        set -- $pair
        check "n$1: peer n$2 over IPv6" $T peer vx6 "fd00:50::$2" "10.246.$2.0/24" --ns "/run/netns/n$1"
        ip -n "n$1" route add "10.246.$2.0/24" via "10.246.$2.0" dev vx6 onlink
done
is "n3: FDB entry with an IPv6 remote" "$(fdbs n3 vx6)" "$($T endpoint-mac fd00:50::4) fd00:50::4 self permanent"
check "pod 3 -> pod 4 over an IPv6 underlay" pings p3 10.246.4.2
check "pod 4 -> pod 3 over an IPv6 underlay" pings p4 10.246.3.2
out=$($T ensure vx6 --ns /run/netns/n3 --vni 7 --port 8472 --local fd00:50::3 --dev u3 --mac "$($T endpoint-mac fd00:50::3)")
is "IPv6 underlay: ensure again changes nothing" "$(field "$out" changes)" 0

# ---- routes to peers written by the library's batch: onlink, plain and through nexthop
# objects (n3, n4 above; the routes ip added are removed first) ----
rts() { ip -n "$1" "$([[ $2 == *:* ]] && echo -6 || echo -4)" -j route show "$2" | jq -r '.[] | "\(.nhid // "-") \(.gateway) \(.dev) \((.flags // []) | join("+"))"'; }
nhs() { ip -n "$1" -j nexthop show id "$2" | jq -r '.[] | "\(.gateway) \(.dev) \((.flags // []) | join("+"))"'; }
for pair in "3 4" "4 3"; do
        set -- $pair
        ip -n "n$1" route del "10.246.$2.0/24"
        check "n$1: peer n$2's IPv6 pod CIDR" $T peer vx6 "fd00:50::$2" "fd00:246:$2::/64" --ns "/run/netns/n$1"
done
check_fails "without the routes, pod 3 does not reach pod 4" pings p3 10.246.4.2
fails_with "a route via the endpoint without onlink: the kernel refuses the gateway" \
        "Adding route: Network is unreachable (errno 101)" \
        $T route vx6 10.246.4.0/24 10.246.4.0 --onlink 0 --ns /run/netns/n3
is "  ... and no route was left" "$(rts n3 10.246.4.0/24)" ""
if ip -n n3 nexthop show >/dev/null 2>&1; then
        check "n3: route through nexthop object 4 (onlink), one batch" \
                $T route vx6 10.246.4.0/24 10.246.4.0 --nh 4 --ns /run/netns/n3
        is "  ... the nexthop object: endpoint on vx6, onlink" "$(nhs n3 4)" "10.246.4.0 vx6 onlink"
        is "  ... the route uses it" "$(rts n3 10.246.4.0/24)" "4 10.246.4.0 vx6 onlink"
        check "n3: IPv6 route through nexthop object 6 (onlink)" \
                $T route vx6 fd00:246:4::/64 fd00:246:4:: --nh 6 --ns /run/netns/n3
        is "  ... the nexthop object" "$(nhs n3 6)" "fd00:246:4:: vx6 onlink"
        is "  ... the route" "$(rts n3 fd00:246:4::/64)" "6 fd00:246:4:: vx6 onlink"
        check "the same again: replaced in place, no error" \
                $T route vx6 10.246.4.0/24 10.246.4.0 --nh 4 --ns /run/netns/n3
        is "  ... still one route" "$(rts n3 10.246.4.0/24)" "4 10.246.4.0 vx6 onlink"
else
        echo "# no nexthop objects in this kernel: plain routes on n3 too"
        check "n3: plain onlink route" $T route vx6 10.246.4.0/24 10.246.4.0 --ns /run/netns/n3
        check "n3: plain onlink IPv6 route" $T route vx6 fd00:246:4::/64 fd00:246:4:: --ns /run/netns/n3
fi
check "n4: plain route via the endpoint, onlink" $T route vx6 10.246.3.0/24 10.246.3.0 --ns /run/netns/n4
is "  ... gateway, device, onlink, no nexthop object" "$(rts n4 10.246.3.0/24)" "- 10.246.3.0 vx6 onlink"
check "n4: plain IPv6 route, onlink" $T route vx6 fd00:246:3::/64 fd00:246:3:: --ns /run/netns/n4
is "  ... gateway, device, onlink" "$(rts n4 fd00:246:3::/64)" "- fd00:246:3:: vx6 onlink"
check "pod 3 -> pod 4 over the library's routes (IPv4)" pings p3 10.246.4.2
check "pod 4 -> pod 3 over the library's routes (IPv4)" pings p4 10.246.3.2
check "pod 3 -> pod 4 over the library's routes (IPv6)" pings p3 fd00:246:4::2
check "pod 4 -> pod 3 over the library's routes (IPv6)" pings p4 fd00:246:3::2
if ip -n n3 nexthop show >/dev/null 2>&1; then
        check "n3: route and nexthop object 4 deleted in one batch" \
                $T route-del 10.246.4.0/24 --nh 4 --ns /run/netns/n3
        is "  ... both gone, the IPv6 ones stay" \
                "$(rts n3 10.246.4.0/24)|$(ip -n n3 nexthop show id 4 2>/dev/null)|$(rts n3 fd00:246:4::/64)" \
                "||6 fd00:246:4:: vx6 onlink"
        check_fails "  ... pod 3 no longer reaches pod 4 over IPv4" pings p3 10.246.4.2
        check "  ... IPv6 still" pings p3 fd00:246:4::2
fi
check "n4: plain route deleted" $T route-del 10.246.3.0/24 --ns /run/netns/n4
is "  ... gone" "$(rts n4 10.246.3.0/24)" ""
fails_with "deleting it again: ESRCH from the kernel" "Deleting route: No such process (errno 3)" \
        $T route-del 10.246.3.0/24 --ns /run/netns/n4

finish
