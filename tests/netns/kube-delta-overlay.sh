#!/bin/bash
# podnet-routes run --kube's partial passes in the overlay modes (lib/agent/overlay-delta.c):
# for always, cross-subnet and auto, a series of node adds, changes (address, pod CIDR) and
# deletes from the fake API server (tests/kube/fake-apiserver.py) is applied by passes over
# the changed peers only, and node1's kernel then holds what a fresh full `sync` of the
# same final list makes: routes, nexthop objects, neighbour and FDB entries on the VXLAN
# device. Peers on 192.168.2.0/24 are behind a router (not on-link); in auto, node2
# answers the probe and the other on-link peers (which do not exist) do not. A peer moves
# between direct and the overlay with its address; a foreign route at a changed peer's
# prefix is left alone (a full pass); the VXLAN device deleted by hand is made again.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
kube_need jq openssl python3
ip nexthop show >/dev/null 2>&1 || { echo "SKIP: no nexthop objects in this kernel"; exit 77; }
ip link add pnvxprobe type vxlan id 1 dstport 4789 2>/dev/null || { echo "SKIP: no VXLAN"; exit 77; }
ip link del pnvxprobe
routes_setup
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-1 > "$TMPDIR/server-token"
kube_serve node1 6443 || exit 1
for i in 1 2 3 4 6; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
kctl node1 "node?name=node5&cidr=10.1.5.0/24&ip=192.168.2.15"
kubeconfig "$TMPDIR/kc" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-1"
# 192.168.2.0/24 is behind node2 (a router): its nodes are not on-link
ip -n node1 route add 192.168.2.0/24 via 192.168.1.12
# auto's probe from node1's gateway (10.1.1.1) to node2's (10.1.2.1, on its lo) is answered
ip -n node2 route add 10.1.1.0/24 via 192.168.1.11
PN_WAIT=10
VX=podnet.vx

routed() {
        local f=-4
        case $1 in *:*) f=-6 ;; esac
        ip -n node1 "$f" route show "$1" proto 44 | grep -q .
}
# ds NAME I J IP: a dual-stack Node: pod CIDRs 10.1.I.0/24 and fd00:1:J::/64, address IP
ds() {
        printf '{"kind": "Node", "apiVersion": "v1", "metadata": {"name": "%s"},
                 "spec": {"podCIDR": "10.1.%s.0/24", "podCIDRs": ["10.1.%s.0/24", "fd00:1:%s::/64"]},
                 "status": {"addresses": [{"type": "InternalIP", "address": "%s"}]}}' \
                "$1" "$2" "$2" "$3" "$4"
}
no_route() { ! routed "$1"; }
# at ADDR PREFIX: PREFIX routed, and to ADDR: directly via it, or over the overlay to it
at() {
        routed "$2" || return 1
        ip -n node1 route show "$2" proto 44 | grep -q "via $1 " && return 0
        bridge -n node1 fdb show dev "$VX" 2>/dev/null | grep -q "dst $1 "
}
partial() { grep -c "Partial pass: .* writes" "$TMPDIR/run-$mode.err"; }
full() { grep -c "Route sync: .* writes" "$TMPDIR/run-$mode.err"; }
state() {
        ip -n node1 route show proto 44 table all
        ip -n node1 -6 route show proto 44 table all
        ip -n node1 nexthop show
        # (in the kernel's hash order: sorted)
        ip -n node1 neigh show dev "$VX" nud permanent | sort
        ip -n node1 -6 neigh show dev "$VX" nud permanent | sort
        bridge -n node1 fdb show dev "$VX" | grep -v "^33:33\|^01:00" | sort
        ip -n node1 route show 10.1.9.0/24
}

# run_mode MODE B: the agent with --overlay MODE, events on nodes nB.. (pod CIDRs
# 10.1.B.0/24...), then the comparison with a fresh full sync
run_mode() {
        mode=$1
        local b=$2 p0 p1 f0 pid
        ip netns exec node1 ${PN_WRAP:-} "$PODNET_ROUTES" --node-name node1 --no-cni-conf \
                --overlay "$mode" run --no-firewall --kubeconfig "$TMPDIR/kc" --interval 3600 -v \
                > "$TMPDIR/run-$mode.out" 2> "$TMPDIR/run-$mode.err" &
        pid=$!
        wait_for "$mode: the listed nodes are routed" at 192.168.1.16 10.1.6.0/24
        p0=$(partial)
        kctl node1 "node?name=n$b&cidr=10.1.$b.0/24&ip=192.168.1.$b"
        wait_for "$mode: ADDED n$b (on-link) routed" at "192.168.1.$b" "10.1.$b.0/24"
        kctl node1 "node?name=n$((b + 1))&cidr=10.1.$((b + 1)).0/24&ip=192.168.2.$((b + 1))"
        wait_for "$mode: ADDED n$((b + 1)) (behind the router) routed" \
                at "192.168.2.$((b + 1))" "10.1.$((b + 1)).0/24"
        kctl node1 "node?name=n$b&cidr=10.1.$b.0/24&ip=192.168.2.$b"
        wait_for "$mode: MODIFIED n$b (address, now behind the router)" \
                at "192.168.2.$b" "10.1.$b.0/24"
        kctl node1 "node?name=n$((b + 1))&cidr=10.1.$((b + 2)).0/24&ip=192.168.2.$((b + 1))"
        wait_for "$mode: MODIFIED n$((b + 1)) (pod CIDR): the new one routed" \
                at "192.168.2.$((b + 1))" "10.1.$((b + 2)).0/24"
        wait_for "$mode:   the old one gone" no_route "10.1.$((b + 1)).0/24"
        kctl node1 "node?name=n$((b + 1))&cidr=10.1.$((b + 2)).0/24&ip=192.168.1.$((b + 1))"
        wait_for "$mode: MODIFIED n$((b + 1)) (address, now on-link)" \
                at "192.168.1.$((b + 1))" "10.1.$((b + 2)).0/24"
        kctl node1 "delete?name=n$b"
        wait_for "$mode: DELETED n$b: its route removed" no_route "10.1.$b.0/24"
        p1=$(partial)
        check "$mode: those changes went through partial passes ($((p1 - p0)) of them)" \
                test $((p1 - p0)) -ge 6
        check "$mode: run prints them as nodes changed" grep -q '^nodes changed: ' "$TMPDIR/run-$mode.out"
        # a dual-stack peer (IPv6 pod CIDR, IPv4 address: the overlay carries its IPv6
        # pods whatever its path), then its IPv6 pod CIDR changed
        kctl node1 apply "$(ds "n$((b + 8))" "$((b + 8))" "$((b + 8))" "192.168.1.$((b + 8))")"
        wait_for "$mode: ADDED n$((b + 8)) (dual-stack) routed, IPv6 too" routed "fd00:1:$((b + 8))::/64"
        kctl node1 apply "$(ds "n$((b + 8))" "$((b + 8))" "$((b + 9))" "192.168.1.$((b + 8))")"
        wait_for "$mode: MODIFIED n$((b + 8)) (IPv6 pod CIDR): the new one routed" routed "fd00:1:$((b + 9))::/64"
        wait_for "$mode:   the old one gone" no_route "fd00:1:$((b + 8))::/64"
        check "$mode:   both through partial passes" test $(($(partial) - p1)) -ge 2
        # a foreign route on the prefix a new peer claims: a full pass, which leaves it
        ip -n node1 route add "10.1.$((b + 5)).0/24" via 192.168.1.13 proto static
        f0=$(full)
        kctl node1 "node?name=n$((b + 5))&cidr=10.1.$((b + 5)).0/24&ip=192.168.2.$((b + 5))"
        kctl node1 "node?name=n$((b + 6))&cidr=10.1.$((b + 6)).0/24&ip=192.168.2.$((b + 6))"
        wait_for "$mode: n$((b + 6)) routed (after n$((b + 5)))" at "192.168.2.$((b + 6))" "10.1.$((b + 6)).0/24"
        is "$mode: the foreign route on n$((b + 5))'s prefix is left alone" \
                "$(ip -n node1 route show "10.1.$((b + 5)).0/24" | tr -s ' ')" \
                "10.1.$((b + 5)).0/24 via 192.168.1.13 dev eth0 proto static "
        check "$mode:   n$((b + 5)) went through a full pass" test "$(full)" -gt "$f0"
        if [ "$mode" = always ]; then
                # the device deleted by hand: made again (a restore, or the next change's
                # full pass, since the partial pass finds it gone)
                ip -n node1 link del "$VX"
                kctl node1 "node?name=n$((b + 7))&cidr=10.1.$((b + 7)).0/24&ip=192.168.1.$((b + 7))"
                wait_for "$mode: the VXLAN device deleted by hand: n$((b + 7)) routed over a new one" \
                        at "192.168.1.$((b + 7))" "10.1.$((b + 7)).0/24"
                wait_for "$mode:   and the earlier peers again" at "192.168.2.$((b + 6))" "10.1.$((b + 6)).0/24"
                # node3 leaves and comes back: its route, neighbour and FDB entries are a
                # partial pass's; with node3's own overlay (a one-shot sync there), the
                # gateway addresses of the two nodes' pod CIDRs reach each other over it
                kctl node1 "delete?name=node3"
                wait_for "$mode: DELETED node3" no_route 10.1.3.0/24
                kctl node1 "node?name=node3&cidr=10.1.3.0/24&ip=192.168.1.13"
                wait_for "$mode: ADDED node3 again" at 192.168.1.13 10.1.3.0/24
                printf '%s\n' "node1 10.1.1.0/24 192.168.1.11" "node3 10.1.3.0/24 192.168.1.13" \
                        > "$TMPDIR/n3.txt"
                ip netns exec node3 "$PODNET_ROUTES" --node-name node3 --no-cni-conf --overlay always \
                        sync --no-firewall --nodes "$TMPDIR/n3.txt" > "$TMPDIR/n3.out" 2>&1
                check "$mode:   node1's 10.1.1.1 reaches node3's 10.1.3.1 over the overlay" \
                        ip netns exec node1 ping -c 1 -W 2 -I 10.1.1.1 10.1.3.1
        fi
        sleep 1
        # (a full pass's own FDB writes are announced as the kernel's, and restored once)
        if [ "$mode" = always ] || awk '/Partial pass: .* writes/ { p = 1 } /Route sync: .* writes/ { p = 0 }
                        /Routes changed by another writer/ && p { bad = 1 } END { exit bad }' \
                        "$TMPDIR/run-$mode.err"; then
                ok "$mode: no pass restored routes after a partial pass's own writes"
        else
                fail "$mode: no pass restored routes after a partial pass's own writes"
                grep -B4 'Routes changed by another writer' "$TMPDIR/run-$mode.err" | head -30 | sed 's/^/#   /'
        fi
        state > "$TMPDIR/after-partial-$mode.txt"
        kill -TERM "$pid"
        wait "$pid"

        # a fresh full sync of the same final list, from nothing
        ip -n node1 link del "$VX"
        ip -n node1 route flush proto 44 2>/dev/null
        for id in $(ip -n node1 -j nexthop show | jq ".[].id"); do ip -n node1 nexthop del id "$id"; done
        pr node1 --no-firewall --overlay "$mode" sync --kubeconfig "$TMPDIR/kc" > "$TMPDIR/sync-$mode.out" 2>&1
        state > "$TMPDIR/after-full-$mode.txt"
        if cmp -s "$TMPDIR/after-partial-$mode.txt" "$TMPDIR/after-full-$mode.txt"; then
                ok "$mode: kernel state after the partial passes = after a fresh full sync ($(wc -l < "$TMPDIR/after-full-$mode.txt") lines)"
        else
                fail "$mode: kernel state after the partial passes = after a fresh full sync"
                diff "$TMPDIR/after-partial-$mode.txt" "$TMPDIR/after-full-$mode.txt" | sed 's/^/# /'
        fi
        check "$mode:   it holds n$((b + 6))'s route over the overlay, via its nexthop object" \
                grep -q "10.1.$((b + 6)).0/24 nhid [0-9]* via 10.1.$((b + 6)).0 dev $VX" "$TMPDIR/after-full-$mode.txt"
        check "$mode:   and its FDB entry" grep -q "dst 192.168.2.$((b + 6)) self permanent" "$TMPDIR/after-full-$mode.txt"
        ip -n node1 route del "10.1.$((b + 5)).0/24" via 192.168.1.13 proto static
        kctl node1 "delete?name=n$((b + 5))"
}

run_mode always 20
run_mode cross-subnet 40
is "cross-subnet: n41 (on-link again) direct" \
        "$(ip -n node1 route show 10.1.42.0/24 proto 44 | grep -o 'via [0-9.]* dev [a-z0-9.]*')" "via 192.168.1.41 dev eth0"
run_mode auto 60
is "auto: node2 (answers the probe) direct" \
        "$(ip -n node1 route show 10.1.2.0/24 proto 44 | grep -o 'via [0-9.]* dev [a-z0-9.]*')" "via 192.168.1.12 dev eth0"
is "auto: n61 (on-link, no answer) over the overlay" \
        "$(ip -n node1 route show 10.1.62.0/24 proto 44 | grep -o 'via [0-9.]* dev [a-z0-9.]*')" "via 10.1.62.0 dev $VX"
kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
