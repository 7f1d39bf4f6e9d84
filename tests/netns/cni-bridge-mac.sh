#!/bin/bash
# Deleting a pod never cuts the others off their gateway (issue 6, item 8). A bridge
# whose MAC was never set takes the lowest MAC among its ports and changes it when that
# port leaves; the other pods' neighbour entries for the gateway then name a MAC nobody
# answers for (47 s without a reply observed). podnet sets the bridge's MAC when it
# creates the bridge and pins the current one of a bridge it adopts. Both cases, IPv4
# and IPv6: four pods, the one whose veth MAC the kernel would give the bridge is
# deleted while the others ping their gateways every 0.2 s.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

T=$top_builddir/tests/netns/pn-net-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }

ds='.ipam.ranges = [[{"subnet": "10.1.1.0/24"}], [{"subnet": "fd00:10:1:1::/64"}]]'
GW4=10.1.1.1
GW6=fd00:10:1:1::1
PINGS=25 # at 0.2 s: 5 s of pinging, bounded by ping's own deadline below

br_mac() { cat /sys/class/net/cbr0/address; }
host_mac() { ip -j link show "$($T veth-name "$1" eth0)" | jq -r '.[0].address'; }
gw_neigh() { # gw_neigh POD ADDR: the pod's neighbour entry for ADDR (lladdr)
        ip -n "$1" -j neigh show to "$2" dev eth0 | jq -r '.[0].lladdr // "none"'
}

# A pod attached the way podnet did before it pinned the bridge's MAC: the veth pair
# by the library (podnet's host-side name, so DEL finds it), addresses and default
# routes by hand, no lease (DEL of a missing lease succeeds).
old_pod() { # old_pod ID NS N
        ip netns add "$2"
        ip -n "$2" link set lo up
        $T veth-create "$1" eth0 "/run/netns/$2" --bridge cbr0 --hairpin >/dev/null || return 1
        ip -n "$2" addr add "10.1.1.$3/24" dev eth0
        ip -n "$2" addr add "fd00:10:1:1::$3/64" dev eth0 nodad
        ip -n "$2" route add default via $GW4
        ip -n "$2" -6 route add default via $GW6
}

# scenario LABEL POD...: the pods (namespace = container id) are attached to cbr0.
scenario() {
        local label=$1 p owner="" lowest="" m mac0 dir=/run/podnet-test/ping
        shift
        local pods=("$@")

        is "$label: the bridge's MAC is set, not inherited (addr_assign_type 3)" \
                "$(cat /sys/class/net/cbr0/addr_assign_type)" 3
        mac0=$(br_mac)
        # The pod the kernel would give (or gave) the bridge's MAC: the one whose host
        # veth holds it, else the one with the lowest host veth MAC.
        for p in "${pods[@]}"; do
                m=$(host_mac "$p")
                [ "$m" = "$mac0" ] && owner=$p
                if [ -z "$lowest" ] || [[ "$m" < "$(host_mac "$lowest")" ]]; then lowest=$p; fi
        done
        [ -n "$owner" ] || owner=$lowest
        echo "# $label: bridge MAC $mac0, deleting $owner (host veth MAC $(host_mac "$owner"))"
        # Fresh neighbour entries for both gateways in every pod.
        for p in "${pods[@]}"; do
                ip netns exec "$p" ping -c1 -W2 $GW4 >/dev/null
                ip netns exec "$p" ping -6 -c1 -W2 $GW6 >/dev/null
        done

        rm -rf "$dir"
        mkdir -p "$dir"
        local pids=()
        for p in "${pods[@]}"; do
                [ "$p" = "$owner" ] && continue
                ip netns exec "$p" ping -q -n -c $PINGS -i 0.2 -W 1 -w 8 $GW4 >"$dir/$p.4" 2>&1 &
                pids+=($!)
                ip netns exec "$p" ping -6 -q -n -c $PINGS -i 0.2 -W 1 -w 8 $GW6 >"$dir/$p.6" 2>&1 &
                pids+=($!)
        done
        sleep 0.5
        conf 1.0.0 "$ds" | cni DEL "$owner" "/run/netns/$owner"
        expect_ok "$label: DEL $owner"
        wait_for 100 link_gone "$($T veth-name "$owner" eth0)"
        is "$label: $owner's veth pair is gone" "$(ip -o link show "$($T veth-name "$owner" eth0)" 2>/dev/null)" ""
        wait "${pids[@]}"
        is "$label: the bridge's MAC did not change" "$(br_mac)" "$mac0"
        for p in "${pods[@]}"; do
                [ "$p" = "$owner" ] && continue
                for f in 4 6; do
                        got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$dir/$p.$f")
                        is "$label: $p reached its IPv$f gateway every time ($PINGS pings at 0.2 s)" \
                                "${got:-0}/$PINGS" "$PINGS/$PINGS"
                done
                is "$label: $p's IPv4 gateway neighbour entry is the bridge's MAC" "$(gw_neigh "$p" $GW4)" "$mac0"
                is "$label: $p's IPv6 gateway neighbour entry is the bridge's MAC" "$(gw_neigh "$p" $GW6)" "$mac0"
        done
        for p in "${pods[@]}"; do
                [ "$p" = "$owner" ] || { conf 1.0.0 "$ds" | cni DEL "$p" "/run/netns/$p"; }
                ip netns del "$p"
        done
        settle_veths
}

# --- A bridge podnet creates. ---
for p in mac1 mac2 mac3 mac4; do
        ip netns add "$p"
        ip -n "$p" link set lo up
        conf 1.0.0 "$ds" | cni ADD "$p" "/run/netns/$p"
        expect_ok "ADD $p"
done
scenario "new bridge" mac1 mac2 mac3 mac4
ip link del cbr0

# --- A bridge made before podnet pinned its MAC (by an older podnet, or by hand as
# here): three pods already on it, so it holds the lowest of their MACs. The next ADD
# adopts it and must keep that address, which the pods' neighbour entries hold. ---
ip link add cbr0 type bridge
ip link set cbr0 up
ip addr add $GW4/24 dev cbr0
ip addr add $GW6/64 dev cbr0 nodad
n=10
for p in old1 old2 old3; do
        n=$((n + 1))
        old_pod "$p" "$p" "$n"
done
check "old pods reach their gateway before adoption" ip netns exec old1 ping -c1 -W2 $GW4
check_fails "old bridge: its MAC is not set (addr_assign_type not 3)" grep -qx 3 /sys/class/net/cbr0/addr_assign_type
mac_before=$(br_mac)
ip netns add old4
ip -n old4 link set lo up
conf 1.0.0 "$ds" | cni ADD old4 /run/netns/old4
expect_ok "ADD old4 onto the old bridge"
is "old bridge: adopting it kept its address" "$(br_mac)" "$mac_before"
scenario "old bridge" old1 old2 old3 old4
ip link del cbr0

# --- The pin is set once: an ADD onto a pinned bridge does not set it again (setting
# a MAC, even the same one, flushes the bridge's neighbour entries). ---
ip netns add again1
ip netns add again2
conf 1.0.0 "$ds" | cni ADD again1 /run/netns/again1
expect_ok "ADD creating a bridge"
a4=$(jq -r '.ips[] | select(.address | contains(".")) | .address | split("/")[0]' "$CNI_OUT")
check "the node reaches the pod" ping -c1 -W2 "$a4"
is "the node has a neighbour entry for the pod" "$(ip -j neigh show to "$a4" dev cbr0 | jq -r '.[0].lladdr // "none"')" \
        "$(ip -n again1 -j link show eth0 | jq -r '.[0].address')"
conf 1.0.0 "$ds" | cni ADD again2 /run/netns/again2
expect_ok "ADD onto the pinned bridge"
is "the node's neighbour entry for the first pod survived the second ADD" \
        "$(ip -j neigh show to "$a4" dev cbr0 | jq -r '.[0].lladdr // "none"')" \
        "$(ip -n again1 -j link show eth0 | jq -r '.[0].address')"
is "the bridge's MAC stays set" "$(cat /sys/class/net/cbr0/addr_assign_type)" 3
for p in again1 again2; do
        conf 1.0.0 "$ds" | cni DEL "$p" "/run/netns/$p"
        ip netns del "$p"
done
expect_clean "after the bridge MAC tests"
finish
