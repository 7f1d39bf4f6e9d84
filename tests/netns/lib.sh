# Sourced by every test that touches networking (tests/netns/*.sh, bench/, the lab).
#
# Network safety: the caller is re-executed inside a fresh network, mount and PID
# namespace of its own (unshare --net --mount --pid --propagation private) with tmpfs
# over /run, /var/lib, a fresh /sys and /proc, and refuses to go on if it still shares
# the network or mount namespace it was started from (or PID 1's). Nothing it does can
# reach this machine's interfaces, routes or firewall, and nothing can route out: the
# namespace starts with only `lo`.
#
# Also gives the scripts small TAP-style helpers: ok/fail/check/finish.

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: $0 needs root (private network namespaces)"
        exit 77
fi
if [ -z "${PODNET_PRIVATE_NS:-}" ]; then
        if ! command -v unshare >/dev/null 2>&1 || ! command -v timeout >/dev/null 2>&1; then
                echo "SKIP: unshare(1) or timeout(1) not found"
                exit 77
        fi
        # Also a PID namespace of its own: whatever the test starts (daemons, deferred
        # teardowns) dies with it, and `timeout` bounds a hung test (PODNET_TEST_TIMEOUT
        # seconds, default 600) so that it cannot hang the suite.
        PODNET_INIT_NETNS=$(readlink /proc/1/ns/net) PODNET_CALLER_NETNS=$(readlink /proc/self/ns/net) \
                PODNET_CALLER_MNTNS=$(readlink /proc/self/ns/mnt) \
                PODNET_PRIVATE_NS=$$ exec timeout -k 5 "${PODNET_TEST_TIMEOUT:-600}" \
                unshare --net --mount --pid --fork --kill-child --mount-proc --propagation private -- \
                /bin/bash "$0" "$@"
        echo "FATAL: cannot unshare network, mount and PID namespaces" >&2
        exit 99
fi
# Recorded before the unshare (inside, /proc/1 is this script): the caller's namespace,
# which must be known and must differ from where we are now, and the machine's PID 1's,
# which must differ too where it can be read (some sandboxes hide it even from root).
pn_net=$(readlink /proc/self/ns/net)
if [ -z "${PODNET_CALLER_NETNS:-}" ] || [ "$pn_net" = "$PODNET_CALLER_NETNS" ] ||
        { [ -n "${PODNET_INIT_NETNS:-}" ] && [ "$pn_net" = "$PODNET_INIT_NETNS" ]; }; then
        echo "FATAL: refusing to run a network test in the machine's own network namespace" >&2
        exit 99
fi
if [ "$(readlink /proc/self/ns/mnt)" = "${PODNET_CALLER_MNTNS:-}" ]; then
        echo "FATAL: refusing to run a network test in the machine's own mount namespace" >&2
        exit 99
fi
mount -t tmpfs -o mode=0755 podnet-run /run
mount -t tmpfs -o mode=0755 podnet-varlib /var/lib
mount -t sysfs sysfs /sys 2>/dev/null || true
mkdir -p /run/netns /run/podnet /var/lib/cni /run/podnet-test
export TMPDIR=/run/podnet-test
ip link set lo up
# The namespace must have no route other than the local ones we make.
if [ -n "$(ip route show default; ip -6 route show default)" ]; then
        echo "FATAL: a default route exists in the private namespace" >&2
        exit 99
fi

PN_TESTS=0
PN_FAILED=0
ok() {
        PN_TESTS=$((PN_TESTS + 1))
        echo "ok $PN_TESTS - $*"
}
fail() {
        PN_TESTS=$((PN_TESTS + 1))
        PN_FAILED=$((PN_FAILED + 1))
        echo "not ok $PN_TESTS - $*"
}
# check "description" command args...: passes if the command succeeds.
check() {
        local what=$1
        shift
        if "$@" >/run/podnet-test/.check.out 2>&1; then
                ok "$what"
        else
                fail "$what"
                sed 's/^/#   /' /run/podnet-test/.check.out
        fi
}
# check_fails "description" command args...: passes if the command fails.
check_fails() {
        local what=$1
        shift
        if "$@" >/run/podnet-test/.check.out 2>&1; then
                fail "$what (unexpectedly succeeded)"
                sed 's/^/#   /' /run/podnet-test/.check.out
        else
                ok "$what"
        fi
}
# fails_with "description" "expected text in the output" command args...: passes if the
# command fails and its output (stdout and stderr) contains the text.
fails_with() {
        local what=$1 pat=$2
        shift 2
        if "$@" >"$TMPDIR/out" 2>&1; then
                fail "$what (unexpectedly succeeded)"
        elif grep -qF -- "$pat" "$TMPDIR/out"; then
                ok "$what"
                return
        else
                fail "$what"
                echo "#   want: $pat"
        fi
        sed 's/^/#   /' "$TMPDIR/out"
}
# fw_router: a pod namespace fwpod (10.6.0.2/24) and an outside namespace fwout
# (192.168.60.2/24, no route back to the pods) on veths fwv-pod and fwv-out to this
# namespace, which forwards between them (10.6.0.1, 192.168.60.1): firewall tests send
# traffic only between namespaces made here. The caller deletes fwpod and fwout.
fw_router() {
        ip netns add fwpod
        ip netns add fwout
        ip link add fwv-pod type veth peer name eth0 netns fwpod
        ip link add fwv-out type veth peer name eth0 netns fwout
        ip addr add 10.6.0.1/24 dev fwv-pod
        ip addr add 192.168.60.1/24 dev fwv-out
        ip link set fwv-pod up
        ip link set fwv-out up
        ip -n fwpod addr add 10.6.0.2/24 dev eth0
        ip -n fwpod link set eth0 up
        ip -n fwpod link set lo up
        ip -n fwpod route add 192.168.60.0/24 via 10.6.0.1
        ip -n fwout addr add 192.168.60.2/24 dev eth0
        ip -n fwout link set eth0 up
        echo 1 >/proc/sys/net/ipv4/ip_forward
}
# is "description" got want
is() {
        if [ "$2" = "$3" ]; then
                ok "$1"
        else
                fail "$1"
                echo "#   got '$2', want '$3'"
        fi
}
finish() {
        echo "1..$PN_TESTS"
        [ "$PN_FAILED" -eq 0 ] || { echo "# $PN_FAILED of $PN_TESTS failed"; exit 1; }
        [ "$PN_TESTS" -gt 0 ] || { echo "# no test ran"; exit 1; }
        exit 0
}

# ---- the three networks of issue 8 (probe.sh, overlay-networks.sh, the lab, bench/) ----
# Nodes are namespaces nodeN with eth0 on the underlay: 192.168.50.N/24 and
# fd00:50::N/64 on the switch, rp_filter loose (2, what systemd and kube-proxy hosts use),
# no default route: nothing leaves the namespaces made here. The switch is namespace
# pnsw with bridge br0 and a port swN per node. pn_net_del deletes all of it.

# pn_net_node N [SUBNET]: namespace nodeN (IPv6 without DAD), eth0 left in this namespace as veth end vN
# for the caller to place; 192.168.SUBNET.N/24, fd00:SUBNET::N/64 (SUBNET default 50).
pn_net_node() {
        local n=$1 s=${2:-50}
        ip netns add "node$n"
        # no DAD: a fresh link-local address stays tentative for a second or two, and
        # neighbour discovery waits for it (a long-running node has it long done)
        ip netns exec "node$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
                net.ipv6.conf.default.accept_dad=0
        ip link add "v$n" type veth peer name eth0 netns "node$n"
        ip -n "node$n" link set lo up
        ip -n "node$n" addr add "192.168.$s.$n/24" dev eth0
        ip -n "node$n" addr add "fd00:$s::$n/64" dev eth0 nodad
        ip -n "node$n" link set eth0 up
        ip netns exec "node$n" sysctl -qw net.ipv4.conf.all.rp_filter=2 \
                net.ipv4.conf.default.rp_filter=2 net.ipv4.conf.eth0.rp_filter=2
}
# pn_net_switch_ns: the switch namespace pnsw with bridge br0 (no address: it only switches)
pn_net_switch_ns() {
        ip netns add pnsw
        ip -n pnsw link set lo up
        ip -n pnsw link add br0 type bridge
        ip -n pnsw link set br0 up
}
# pn_net_plug N: node N's veth end into the switch as port swN
pn_net_plug() {
        ip link set "v$1" netns pnsw name "sw$1"
        ip -n pnsw link set "sw$1" master br0 up
}
# (a) pn_net_switch [N...]: nodes N (default 1 2 3) on one switch
pn_net_switch() {
        local n nodes=${*:-1 2 3}
        pn_net_switch_ns
        for n in $nodes; do
                pn_net_node "$n"
                pn_net_plug "$n"
        done
}
# (b) pn_net_routed: node1 and node2 on the switch (192.168.50.0/24); node3 on
# 192.168.51.0/24 behind the router namespace pnrt (192.168.50.254 and fd00:50::fe on
# the switch, 192.168.51.254 and fd00:51::fe to node3), which forwards between the two
# subnets and knows no pod CIDR. The nodes reach the other subnet through it.
pn_net_routed() {
        local n
        pn_net_switch 1 2
        ip netns add pnrt
        ip -n pnrt link set lo up
        ip link add vrt type veth peer name eth0 netns pnrt
        ip link set vrt netns pnsw name swrt
        ip -n pnsw link set swrt master br0 up
        ip -n pnrt addr add 192.168.50.254/24 dev eth0
        ip -n pnrt addr add fd00:50::fe/64 dev eth0 nodad
        ip -n pnrt link set eth0 up
        pn_net_node 3 51
        ip link set v3 netns pnrt name eth1
        ip -n pnrt addr add 192.168.51.254/24 dev eth1
        ip -n pnrt addr add fd00:51::fe/64 dev eth1 nodad
        ip -n pnrt link set eth1 up
        ip netns exec pnrt sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
        for n in 1 2; do
                ip -n "node$n" route add 192.168.51.0/24 via 192.168.50.254
                ip -n "node$n" -6 route add fd00:51::/64 via fd00:50::fe
        done
        ip -n node3 route add 192.168.50.0/24 via 192.168.51.254
        ip -n node3 -6 route add fd00:50::/64 via fd00:51::fe
}
# (c) pn_net_cloud [N...]: pn_net_switch, and the switch drops frames whose IPv4/IPv6
# source or destination is not a node address (a cloud's source/destination check)
pn_net_cloud() {
        pn_net_switch "$@"
        pn_cloud_filter on "$@"
}
# pn_cloud_filter on|off [N...]: the switch's filter (nft, bridge family, inside pnsw
# only): IPv4 and IPv6 frames pass only between the nodes' addresses; ARP, and ND and
# other link-local or multicast IPv6 traffic pass too, as on a cloud's virtual switch.
pn_cloud_filter() {
        local what=$1 n a4='' a6='' nodes
        shift
        nodes=${*:-1 2 3}
        ip netns exec pnsw nft delete table bridge pncloud 2>/dev/null
        [ "$what" = on ] || return 0
        for n in $nodes; do
                a4="$a4${a4:+, }192.168.50.$n"
                a6="$a6${a6:+, }fd00:50::$n"
        done
        ip netns exec pnsw nft -f - <<NFT
table bridge pncloud {
        chain forward {
                type filter hook forward priority 0; policy accept;
                ${PN_CLOUD_FROM:+iifname != "sw$PN_CLOUD_FROM" accept}
                ether type ip ip saddr != { $a4 } counter drop
                ether type ip ip daddr != { $a4 } counter drop
                ether type ip6 ip6 saddr != { $a6, fe80::/10, :: } counter drop
                ether type ip6 ip6 daddr != { $a6, fe80::/10, ff00::/8 } counter drop
        }
}
NFT
}
# pn_cloud_filter_from N [NODES...]: like pn_cloud_filter on, but only for frames that
# enter the switch from node N (port swN): node N's pod-addressed packets are dropped,
# the other nodes' pass (a probe fails one way only). pn_cloud_filter off removes it.
pn_cloud_filter_from() {
        local from=$1
        shift
        PN_CLOUD_FROM=$from pn_cloud_filter on "$@"
}
# pn_node_gateway N [BRIDGE]: node N's pod-CIDR gateway: bridge BRIDGE (default cni0)
# with 10.244.N.1/24 and fd00:244:N::1/64, as podnet-cni makes it, up
pn_node_gateway() {
        local n=$1 br=${2:-cni0}
        ip -n "node$n" link add "$br" type bridge
        ip -n "node$n" addr add "10.244.$n.1/24" dev "$br"
        ip -n "node$n" addr add "fd00:244:$n::1/64" dev "$br" nodad
        ip -n "node$n" link set "$br" up
}
# pn_net_del: every namespace the functions above made
pn_net_del() {
        local ns
        for ns in pnsw pnrt node1 node2 node3 node4 node5; do
                ip netns del "$ns" 2>/dev/null
        done
        return 0
}
