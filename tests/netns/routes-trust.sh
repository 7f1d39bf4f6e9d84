#!/bin/bash
# podnet-routes sync with a hostile node list (issue 6, items 1-3): claims that would
# hijack traffic (a default route, prefixes outside the cluster CIDR, another node's or the
# gateway's address as a /32, IPv6 ::/0 and ::/1 + 8000::/1), overlapping claims and odd
# peer addresses are refused and reported per peer, the legitimate peers are still routed,
# a route installed for a claim that is now refused goes, and this node's own hostile pod
# CIDR never reaches the CNI conflist. With and without --cluster-cidr.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
for i in 1 2 3; do
        ip -n node$i addr add fd00::1$i/64 dev eth0 nodad
done
# node1's own routes: a default route and a VPN-like route via a gateway on the switch
# (192.168.1.1 does not exist: nothing leaves the test's namespaces)
ip -n node1 route add default via 192.168.1.1
ip -n node1 route add 172.16.5.0/24 via 192.168.1.1 proto static
CLUSTER="--cluster-cidr 10.1.0.0/16,fd00:10:1::/48"
FLAGS="--no-firewall"

cat > "$TMPDIR/legit.txt" <<EON
node1 10.1.1.0/24,fd00:10:1:1::/64 192.168.1.11,fd00::11
node2 10.1.2.0/24,fd00:10:1:2::/64 192.168.1.12,fd00::12
node3 10.1.3.0/24 192.168.1.13
a 10.1.4.0/24 192.168.1.74
EON
cat "$TMPDIR/legit.txt" - > "$TMPDIR/hostile.txt" <<EON
evil1 0.0.0.0/0 192.168.1.66
evil2 172.16.5.0/24 192.168.1.67
evil3 128.0.0.0/1 192.168.1.68
evil4 8.0.0.0/8 192.168.1.69
evil5 192.168.1.12/32 192.168.1.70
evil6 192.168.1.1/32 192.168.1.71
evil7 ::/0 fd00::77
evil8 ::/1,8000::/1 fd00::78
b 10.1.4.0/24 192.168.1.75
c 10.1.5.0/24 192.168.1.76
d 10.1.5.128/25 192.168.1.77
e 10.1.6.0/24 192.168.1.78
f 10.1.6.9/32 192.168.1.79
g 10.1.7.0/24 10.1.1.5
h 10.1.8.0/24 192.168.1.0
EON
refused_nodes="a b c d e evil1 evil2 evil3 evil4 evil5 evil6 evil7 evil8 f g h"

# dsts44 NODE: every destination of protocol 44, both families, sorted
dsts44() { ip -n "$1" -4 -j route show table all proto 44 | jq -r '.[].dst' |
        cat - <(ip -n "$1" -6 -j route show table all proto 44 | jq -r '.[].dst') | sort | xargs; }
gws44() { ip -n "$1" -j nexthop show | jq -r '[.[] | select(.protocol == "44") | .gateway] |
        sort | join(" ")'; }
# get NODE DST: the gateway the kernel picks for DST, "-" when on-link
get() { ip -n "$1" -j route get "$2" 2>/dev/null | jq -r '.[0] | "\(.gateway // "-")"'; }

# a legitimate list first: a's route is installed
pr node1 sync --nodes "$TMPDIR/legit.txt" $FLAGS $CLUSTER > "$TMPDIR/legit.out" 2>&1
is "legitimate list: exit 0" "$?" 0
is "legitimate list: node2, node3 and a routed" "$(dsts44 node1)" \
        "10.1.2.0/24 10.1.3.0/24 10.1.4.0/24 fd00:10:1:2::/64"
C="$TMPDIR/node1/cni/10-podnet.conflist"
is "legitimate list: conflist written with node1's CIDRs" \
        "$(jq -c '[.plugins[0].ipam.ranges[][0].subnet]' "$C")" '["10.1.1.0/24","fd00:10:1:1::/64"]'
conf_before=$(cat "$C")

# --- the hostile list, with --cluster-cidr ------------------------------------------------
pr node1 sync --nodes "$TMPDIR/hostile.txt" $FLAGS $CLUSTER > "$TMPDIR/hostile.out" 2>&1
is "hostile list: exit 3 (done, some peers refused)" "$?" 3
sed 's/^/# /' "$TMPDIR/hostile.out"
is "only the legitimate peers are routed (a's route, now contested by b, is gone)" \
        "$(dsts44 node1)" "10.1.2.0/24 10.1.3.0/24 fd00:10:1:2::/64"
is "nexthop objects only for the legitimate peers" "$(gws44 node1)" "192.168.1.12 192.168.1.13 fd00::12"
is "the default route still goes to the gateway" "$(get node1 8.8.8.8)" 192.168.1.1
is "128.0.0.0/1 not hijacked" "$(get node1 200.1.2.3)" 192.168.1.1
is "the VPN route still goes to the gateway" "$(get node1 172.16.5.9)" 192.168.1.1
is "node2's address is still on-link" "$(get node1 192.168.1.12)" -
is "the gateway is still on-link" "$(get node1 192.168.1.1)" -
check_fails "no IPv6 default route" ip -n node1 -6 route get 2001:db8::1
check "a's route removed like a stale route" grep -q "^deleted *10.1.4.0/24" "$TMPDIR/hostile.out"
for n in $refused_nodes; do
        check "sync reports $n refused with a reason" grep -q "^refused .*($n): ." \
                "$TMPDIR/hostile.out"
done
check "reason for 0.0.0.0/0" grep -qF \
        "refused     0.0.0.0/0 via 192.168.1.66 (evil1): pod CIDR 0.0.0.0/0 is a default route" \
        "$TMPDIR/hostile.out"
check "reason for 8.0.0.0/8" grep -qF \
        "(evil4): pod CIDR 8.0.0.0/8 is outside the cluster CIDR 10.1.0.0/16" "$TMPDIR/hostile.out"
check "reason for 8000::/1" grep -qF \
        "(evil8): pod CIDR 8000::/1 is outside the cluster CIDR fd00:10:1::/48" \
        "$TMPDIR/hostile.out"
check "equal claims: a names b" grep -qF \
        "(a): pod CIDR 10.1.4.0/24 overlaps pod CIDR 10.1.4.0/24 of node b" "$TMPDIR/hostile.out"
check "equal claims: b names a" grep -qF \
        "(b): pod CIDR 10.1.4.0/24 overlaps pod CIDR 10.1.4.0/24 of node a" "$TMPDIR/hostile.out"
check "nested /25: c names d" grep -qF "(c): pod CIDR 10.1.5.0/24 overlaps pod CIDR 10.1.5.128/25 of node d" \
        "$TMPDIR/hostile.out"
check "nested /32: f names e" grep -qF "(f): pod CIDR 10.1.6.9/32 overlaps pod CIDR 10.1.6.0/24 of node e" \
        "$TMPDIR/hostile.out"
check "peer address inside this node's pod CIDR" grep -qF \
        "(g): address 10.1.1.5 of node g is inside this node's pod CIDR 10.1.1.0/24" \
        "$TMPDIR/hostile.out"
check "peer address = the underlay's network address" grep -qF \
        "(h): address 192.168.1.0 of node h is the network address of on-link prefix 192.168.1.0/24" \
        "$TMPDIR/hostile.out"
check "summary counts the refused" grep -q "17 refused" "$TMPDIR/hostile.out"

out=$(pr node1 sync --nodes "$TMPDIR/hostile.txt" $FLAGS $CLUSTER --json)
is "--json: resync is a no-op" "$(echo "$out" | jq -c '[.summary.writes, .summary.refused]')" \
        "[0,17]"
is "--json: every refused peer listed" \
        "$(echo "$out" | jq -r '[.routes[] | select(.action == "refused") | .node] | unique | join(" ")')" \
        "$refused_nodes"
is "--json: each with a reason" \
        "$(echo "$out" | jq '[.routes[] | select(.action == "refused" and (.reason | length) < 10)] | length')" 0

pr node1 status --nodes "$TMPDIR/hostile.txt" $FLAGS $CLUSTER > "$TMPDIR/status.out"
is "status exits 0" "$?" 0
sed 's/^/# /' "$TMPDIR/status.out"
for n in evil1 evil8 b g; do
        check "status: peer $n refused with its reason" grep -qE \
                "^$n +.* refused \(.+\)$" "$TMPDIR/status.out"
done
check "status: routes table shows the refusal" grep -qE \
        "^0\.0\.0\.0/0 +192\.168\.1\.66 +evil1 +refused \(pod CIDR 0\.0\.0\.0/0 is a default route\)" \
        "$TMPDIR/status.out"
pr node1 status --nodes "$TMPDIR/hostile.txt" $FLAGS $CLUSTER --json > "$TMPDIR/status.json"
is "status --json: the refused peers" \
        "$(jq -r '[.peers[] | select(.state == "refused") | .name] | sort | join(" ")' \
                "$TMPDIR/status.json")" "$refused_nodes"
is "status --json: evil7's reason" \
        "$(jq -r '.peers[] | select(.name == "evil7") | .reason' "$TMPDIR/status.json")" \
        "pod CIDR ::/0 is a default route"
is "status --json: node2 ok" "$(jq -r '.peers[] | select(.name == "node2") | .state' \
        "$TMPDIR/status.json")" ok
is "conflist unchanged by the hostile peers" "$(cat "$C")" "$conf_before"

# --- the same list without --cluster-cidr: the rules for a cluster without one ------------
pr node1 teardown $FLAGS --no-cni-conf > /dev/null
pr node1 sync --nodes "$TMPDIR/hostile.txt" $FLAGS > "$TMPDIR/nocidr.out" 2>&1
is "no cluster CIDR: exit 3" "$?" 3
sed 's/^/# /' "$TMPDIR/nocidr.out"
is "no cluster CIDR: only the legitimate peers are routed" "$(dsts44 node1)" \
        "10.1.2.0/24 10.1.3.0/24 fd00:10:1:2::/64"
is "no cluster CIDR: the default route still goes to the gateway" "$(get node1 8.8.8.8)" \
        192.168.1.1
for n in $refused_nodes; do
        check "no cluster CIDR: $n refused" grep -q "^refused .*($n): ." "$TMPDIR/nocidr.out"
done
check "no cluster CIDR: a route podnet does not own is not taken over" grep -qF \
        "(evil2): pod CIDR 172.16.5.0/24 equals or covers route 172.16.5.0/24 that podnet does not own" \
        "$TMPDIR/nocidr.out"
check "no cluster CIDR: the gateway's /32" grep -qF \
        "(evil6): pod CIDR 192.168.1.1/32 covers gateway 192.168.1.1 of this node's routes" \
        "$TMPDIR/nocidr.out"
check "no cluster CIDR: public space refused" grep -qF \
        "(evil4): pod CIDR 8.0.0.0/8 is outside the private address ranges (no IPv4 cluster CIDR given)" \
        "$TMPDIR/nocidr.out"

# --- this node's own pod CIDR ---------------------------------------------------------------
own() { # own CIDR [FLAGS...]: the legitimate list with node1's IPv4 pod CIDR replaced
        local cidr=$1
        shift
        sed "s|^node1 10.1.1.0/24,|node1 $cidr,|" "$TMPDIR/legit.txt" > "$TMPDIR/own.txt"
        pr node1 sync --nodes "$TMPDIR/own.txt" $FLAGS "$@" > "$TMPDIR/own.out" 2>&1
}
own 0.0.0.0/0 $CLUSTER
is "own 0.0.0.0/0: sync exits 1" "$?" 1
sed 's/^/# /' "$TMPDIR/own.out"
check "own 0.0.0.0/0: said clearly" grep -qF \
        "podnet-routes: Refusing this node's pod CIDR 0.0.0.0/0: pod CIDR 0.0.0.0/0 is a default route; $C left as it was" \
        "$TMPDIR/own.out"
is "own 0.0.0.0/0: conflist kept" "$(cat "$C")" "$conf_before"
is "own 0.0.0.0/0: the peers are still routed" "$(dsts44 node1)" \
        "10.1.2.0/24 10.1.3.0/24 10.1.4.0/24 fd00:10:1:2::/64"
is "status --json: node1 refused" \
        "$(pr node1 status --nodes "$TMPDIR/own.txt" $FLAGS $CLUSTER --json |
                jq -r '.peers[] | select(.name == "node1") | "\(.state): \(.reason)"')" \
        "refused: pod CIDR 0.0.0.0/0 is a default route"
own 10.9.0.0/24 $CLUSTER
is "own CIDR outside the cluster CIDR: sync exits 1" "$?" 1
check "own CIDR outside the cluster CIDR: said" grep -qF \
        "Refusing this node's pod CIDR 10.9.0.0/24: pod CIDR 10.9.0.0/24 is outside the cluster CIDR 10.1.0.0/16" \
        "$TMPDIR/own.out"
is "own CIDR outside the cluster CIDR: conflist kept" "$(cat "$C")" "$conf_before"
own 192.168.0.0/16
is "no cluster CIDR, own CIDR covering this node's address: sync exits 1" "$?" 1
check "own CIDR covering this node's address: said" grep -qF \
        "Refusing this node's pod CIDR 192.168.0.0/16: pod CIDR 192.168.0.0/16 covers the address 192.168.1.11 of node node1" \
        "$TMPDIR/own.out"
is "own CIDR covering this node's address: conflist kept" "$(cat "$C")" "$conf_before"
own 0.0.0.0/0
is "no cluster CIDR, own 0.0.0.0/0: sync exits 1" "$?" 1
is "no cluster CIDR, own 0.0.0.0/0: conflist kept" "$(cat "$C")" "$conf_before"
own 10.1.9.0/24 $CLUSTER
is "a legitimate new own CIDR: sync exits 0" "$?" 0
is "a legitimate new own CIDR: conflist written" \
        "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$C")" 10.1.9.0/24
finish
