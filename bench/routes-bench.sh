#!/bin/bash
# Route-sync benchmark (issue 3): podnet-routes with 5000 peer nodes on one node, in a private
# namespace: cold sync, no-op resync, resync after one node's IP changed, from a kubectl
# NodeList and from the static node file, and with plain routes forced; compared in the same
# run with `ip -batch` installing the same routes, as plain routes and as the nexthop objects
# and routes podnet installs. Never fails on a time.
# Usage: bench/routes-bench.sh [-n PEERS] [-r ROUNDS] [--ip-only] [--lean-nodes]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root routes-bench.sh

peers=5000
rounds=3
ip_only=
lean=
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        --ip-only) ip_only=1; shift ;; # only the generator and the ip -batch half
        --lean-nodes) lean=--lean; shift ;; # Node objects with only the fields podnet reads
        -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "routes-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
if [ "$peers" -lt 2 ] || [ "$peers" -gt 60000 ]; then
        echo "routes-bench.sh: -n must be between 2 and 60000" >&2
        exit 2
fi
pn_tool bench/pn-timeit timeit || exit 1
if [ -z "$ip_only" ]; then
        pn_tool podnet-routes routes || exit 1
fi

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/routes-bench
rep=$state/report
pn_bench_node "$state" # the node's state directory and its uplink (scripts/lib.sh)

# The NodeList (bench/gen-nodes.sh: this node bench-node, 192.168.0.1, 10.0.0.0/24, and
# PEERS peers, peer i at 192.168.(1 + i/250).(1 + i%250) owning 10.(1 + i/256).(i%256).0/24;
# Node objects of about 12 KB as kubectl prints them unless --lean-nodes), and the same list
# with the middle peer moved to another address.
"$pn_top/bench/gen-nodes.sh" -n "$peers" $lean >"$state/nodes.json"
"$pn_top/bench/gen-nodes.sh" -n "$peers" --changed $((peers / 2)) $lean >"$state/nodes-changed.json"
# The same nodes in the static node file format (NAME POD-CIDRS ADDRESSES, one per line).
jq -r '.items[] | "\(.metadata.name) \(.spec.podCIDR) " +
        (.status.addresses[] | select(.type == "InternalIP") | .address)' \
        "$state/nodes.json" >"$state/nodes.txt"
# The same routes as ip(8) commands: plain routes, one gateway each.
jq -r '.items[] | select(.metadata.name != "bench-node") | "route add \(.spec.podCIDR) via " +
        (.status.addresses[] | select(.type == "InternalIP") | .address) + " proto 44"' \
        "$state/nodes.json" >"$state/routes.batch"
# nh_batch: the nexthop objects and routes installed now (podnet's cold sync) as ip(8)
# commands, objects first: the same ids, gateways, devices and protocol.
nh_batch() {
        ip -j nexthop show protocol 44 | jq -r '.[] | "nexthop add id \(.id) via \(.gateway)" +
                " dev \(.dev) proto 44"'
        ip -j route show proto 44 | jq -r '.[] | "route add \(.dst) nhid \(.nhid) proto 44"'
}
if [ -n "$ip_only" ]; then # no podnet to copy: one object per peer, numbered from 1
        jq -r '[.items[] | select(.metadata.name != "bench-node")] | to_entries[] |
                "nexthop add id \(.key + 1) via " + (.value.status.addresses[] |
                select(.type == "InternalIP") | .address) + " dev uplink proto 44"' \
                "$state/nodes.json" >"$state/nh.batch"
        jq -r '[.items[] | select(.metadata.name != "bench-node")] | to_entries[] |
                "route add \(.value.spec.podCIDR) nhid \(.key + 1) proto 44"' \
                "$state/nodes.json" >>"$state/nh.batch"
fi
flush44() { # every nexthop object of protocol 44 (with the routes using it), every route
        # (`ip route flush` cannot delete a route using a nexthop object: it sends both)
        ip nexthop flush protocol 44 >/dev/null 2>&1
        ip route flush proto 44
        if [ "$(ip -j nexthop show | jq '[.[] | select(.protocol == "44")] | length')" != 0 ]; then
                echo "FAIL: nexthop objects of protocol 44 left after the flush"
                exit 1
        fi
}
check_count() { # check_count WHAT [NEXTHOPS]: the node holds exactly PEERS routes of
        # protocol 44 (and, given NEXTHOPS, that many nexthop objects of protocol 44)
        local got
        got=$(ip -4 route show proto 44 | wc -l)
        if [ "$got" != "$peers" ]; then
                echo "FAIL: $1 left $got routes of protocol 44, want $peers"
                exit 1
        fi
        [ -n "${2:-}" ] || return 0
        got=$(ip -j nexthop show protocol 44 | jq length)
        if [ "$got" != "$2" ]; then
                echo "FAIL: $1 left $got nexthop objects of protocol 44, want $2"
                exit 1
        fi
}

# ms TAG: median of the report's TAG lines, in ms.
ms() {
        awk -v t="$1" '$1 == t { print $2 }' "$rep" | sort -n |
                awk '{ v[NR] = $1 } END {
                        if (NR == 0) { print "-"; exit }
                        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%.2f\n", m / 1e6 }'
}
# sync TAG NODES [ENV=VALUE]: one timed `podnet-routes sync --json`; its output in
# $state/TAG.json.
sync() {
        if ! env ${3:-} "$timeit" -o "$state/$1.json" -r "$rep" -t "$1" -- "$routes" sync --json \
                --nodes "$2" --node-name bench-node --cluster-cidr 10.0.0.0/8 \
                --no-firewall --no-cni-conf --overlay never; then
                echo "FAIL: podnet-routes sync ($1):"
                cat "$state/$1.json"
                exit 1
        fi
        # The part spent in the library's route sync, as podnet-routes reports it.
        jq -r --arg t "$1-lib" '"\($t) \((.summary.routeSyncMs // 0) * 1e6 | floor)"' \
                "$state/$1.json" >>"$rep"
}
# writes TAG: the kernel writes podnet-routes reported for TAG.
writes() {
        jq -r '.summary.writes // .writes // "?"' "$state/$1.json"
}

t_start=$(date +%s)
echo "== $peers peer nodes, $rounds rounds; every round starts from a flushed table"
for ((r = 1; r <= rounds; r++)); do
        flush44
        "$timeit" -i "$state/routes.batch" -r "$rep" -t ip-batch -- /usr/sbin/ip -batch - ||
                { echo "FAIL: ip -batch"; exit 1; }
        check_count "ip -batch"
        if [ -z "$ip_only" ]; then
                flush44
                sync cold "$state/nodes.json"
                check_count "podnet-routes sync (cold)" "$peers"
                [ "$r" != 1 ] || nh_batch >"$state/nh.batch"
                for ((k = 1; k <= 5; k++)); do
                        sync noop "$state/nodes.json"
                done
                sync change "$state/nodes-changed.json"
                check_count "podnet-routes sync (one node changed)"
                sync back "$state/nodes.json"
                # the same from the static node file
                flush44
                sync cold-static "$state/nodes.txt"
                check_count "podnet-routes sync (cold, static node file)"
                for ((k = 1; k <= 5; k++)); do
                        sync noop-static "$state/nodes.txt"
                done
                # plain routes forced, as on a kernel without nexthop objects (< 5.3)
                flush44
                sync cold-plain "$state/nodes.txt" PODNET_NO_NEXTHOP=1
                check_count "podnet-routes sync (cold, plain routes)"
                sync noop-plain "$state/nodes.txt" PODNET_NO_NEXTHOP=1
        fi
        # what podnet's cold sync writes, through ip -batch
        flush44
        "$timeit" -i "$state/nh.batch" -r "$rep" -t ip-batch-nh -- /usr/sbin/ip -batch - ||
                { echo "FAIL: ip -batch (nexthop objects)"; exit 1; }
        check_count "ip -batch (nexthop objects)" "$peers"
done
echo "== Results: $(nproc) CPUs, kernel $(uname -r), $(date -u +%FT%TZ)" \
        "(medians of $rounds rounds; wall time of the whole program run, pn-timeit)"
ipb=$(ms ip-batch)
ipnh=$(ms ip-batch-nh)
printf '%-44s %14s\n' "ip -batch, $peers plain routes (ms)" "$ipb"
printf '%-44s %14s\n' "ip -batch, $peers nexthops + $peers routes (ms)" "$ipnh"
rc=0
if [ -z "$ip_only" ]; then
        # row LABEL TAG: library sync, whole process (JSON NodeList), whole process (static
        # node file), writes
        row() {
                printf '%-44s %14s %14s %14s %8s\n' "$1" "$(ms "$2-lib")" "$(ms "$2")" \
                        "$(ms "$2-static")" "$(writes "$2")"
        }
        ratio() { awk -v a="$1" -v b="${2:-$ipb}" 'BEGIN { printf "%.2fx", a / b }'; }
        half() { awk -v a="$1" -v b="$ipb" 'BEGIN { print a <= 0.5 * b ? "met" : "NOT met" }'; }
        under10() { awk -v a="$1" -v w="$2" 'BEGIN { print a < 10 && w == "0" ? "met" : "NOT met" }'; }
        printf '%-44s %14s %14s %14s %8s\n' "podnet-routes, $peers peers (ms)" "library sync" \
                "whole process" "whole process" "writes"
        printf '%-44s %14s %14s %14s %8s\n' "" "" "(JSON NodeList)" "(static file)" ""
        row "cold sync" cold
        row "no-op resync" noop
        printf '%-44s %14s %14s %14s %8s\n' "one node changed" "$(ms change-lib)" "$(ms change)" \
                "-" "$(writes change)"
        printf '%-44s %14s %14s %14s %8s\n' "cold sync, plain routes (PODNET_NO_NEXTHOP=1)" \
                "$(ms cold-plain-lib)" "-" "$(ms cold-plain)" "$(writes cold-plain)"
        printf '%-44s %14s %14s %14s %8s\n' "no-op resync, plain routes" "$(ms noop-plain-lib)" "-" \
                "$(ms noop-plain)" "$(writes noop-plain)"
        echo "== Targets (issue 3)"
        for col in lib "" static; do
                case $col in
                lib) what="library sync" ;;
                "") what="whole process (JSON NodeList)" ;;
                static) what="whole process (static node file)" ;;
                esac
                c=$(ms "cold${col:+-$col}")
                n=$(ms "noop${col:+-$col}")
                w=$(writes noop)
                [ "$col" = static ] && w=$(writes noop-static)
                printf '%-34s cold sync %8s ms = %s ip -batch (<= 0.5x: %s), %s ip -batch with nexthop objects; no-op %6s ms, %s writes (< 10 ms, 0 writes: %s)\n' \
                        "$what:" "$c" "$(ratio "$c")" "$(half "$c")" "$(ratio "$c" "$ipnh")" "$n" "$w" \
                        "$(under10 "$n" "$w")"
        done
        echo "one node changed: $(writes change) writes (1-2 writes: $(awk -v w="$(writes change)" \
                'BEGIN { print w == "1" || w == "2" ? "met" : "NOT met" }'))"
        echo "(\"library sync\": the route sync inside podnet-routes as its --json output reports" \
                "(summary.routeSyncMs); \"whole process\": wall time of the podnet-routes run," \
                "start-up and node list parsing included; a cold sync writes one nexthop object" \
                "and one route per peer: $(writes cold) writes)"
        via=$(ip -j route show "10.$((1 + peers / 2 / 256)).$((peers / 2 % 256)).0/24" proto 44 |
                jq -r '.[0].gateway')
        echo "(after the change and back, node$((peers / 2))'s route is via $via)"
fi
echo "(total run $(($(date +%s) - t_start)) s)"
exit $rc
