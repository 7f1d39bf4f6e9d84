#!/bin/bash
# The netlink layer's pipelined batch (pn-batch-test) with a mix of request kinds (link, addresses, routes, a nexthop object, a lookup), each answer checked, and the kernel's state checked with ip(8).
. "$top_srcdir/tests/netns/lib.sh"

T=$top_builddir/tests/netns/pn-batch-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
ip nexthop show >/dev/null 2>&1 || { echo "SKIP: no nexthop objects in this kernel"; exit 77; }

out=$($T mixed)
echo "$out" | sed 's/^/# /'
is "bridge created" "$(echo "$out" | sed -n 's/^0: //p')" ok
is "address added" "$(echo "$out" | sed -n 's/^1: //p')" ok
is "the duplicate address: its own error" "$(echo "$out" | sed -n 's/^2: //p')" EEXIST
is "route via a gateway after the failed request" "$(echo "$out" | sed -n 's/^3: //p')" ok
is "nexthop object added" "$(echo "$out" | sed -n 's/^4: //p')" ok
is "route via the nexthop object" "$(echo "$out" | sed -n 's/^5: //p')" ok
is "route via an unreachable gateway: its own error" "$(echo "$out" | sed -n 's/^6: //p')" ENETUNREACH
is "lookup answered" "$(echo "$out" | sed -n 's/^7: //p')" ok
is "deleting an absent route: its own error" "$(echo "$out" | sed -n 's/^8: //p')" ESRCH
is "the lookup's reply went to the callback, parsed" \
        "$(echo "$out" | sed -n 's/^lookup: //p')" "index=7 parsed=1 via=10.99.0.2 oif=4242"

is "kernel: bridge bt0 with index 4242, up" \
        "$(ip -j link show bt0 | jq -r '.[0] | "\(.ifindex) \(.flags | index("UP") != null)"')" "4242 true"
is "kernel: one address on bt0" "$(ip -j -4 addr show dev bt0 | jq -r '[.[0].addr_info[] | "\(.local)/\(.prefixlen)"] | join(",")')" \
        "10.99.0.1/24"
is "kernel: route via the gateway" "$(ip -j route show 10.98.0.0/24 | jq -r '.[0] | "\(.gateway) \(.protocol)"')" \
        "10.99.0.2 123"
is "kernel: nexthop object 77" "$(ip -j nexthop show id 77 | jq -r '.[0] | "\(.gateway) \(.dev) \(.protocol)"')" \
        "10.99.0.3 bt0 123"
is "kernel: route via nexthop 77" "$(ip -j route show 10.97.0.0/24 | jq -r '.[0].nhid')" 77
is "kernel: no route via the unreachable gateway" "$(ip route show 10.96.0.0/24)" ""

# more requests than one chunk holds: several sendmsg()s, every answer matched
is "3000 routes in one batch" "$($T many 3000 add)" "many: r=0 requests=3000 failed=0"
is "kernel: 3000 routes of protocol 123 in 10.128/16" "$(ip route show proto 123 | grep -c '^10\.128\.')" 3000
is "adding them again: 3000 errors, one each" "$($T many 3000 add)" "many: r=0 requests=3000 failed=3000"
is "3000 deletions in one batch" "$($T many 3000 del)" "many: r=0 requests=3000 failed=0"
is "kernel: none left" "$(ip route show proto 123 | grep -c '^10\.128\.')" 0

out=$($T clean)
is "clean-up batch: every answer ok" "$(echo "$out" | grep -vc ': ok$')" 0
is "kernel: bridge gone" "$(ip link show bt0 2>/dev/null)" ""
is "kernel: nexthop gone" "$(ip nexthop show id 77 2>/dev/null)" ""

finish
