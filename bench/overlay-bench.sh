#!/bin/bash
# Overlay sync benchmark (issue 8): podnet-routes --overlay always with PEERS peers, every
# one over the VXLAN overlay, in a private namespace: the cold sync (the VXLAN device, one
# nexthop object and route per peer, one neighbour and one FDB entry per peer) against
# `ip -batch` + `bridge -batch` installing the same device, nexthops, routes, neighbour
# and FDB entries; and the no-op resync (library time and kernel writes). Medians of
# ROUNDS rounds. Never fails on a time.
# Usage: bench/overlay-bench.sh [-n PEERS] [-r ROUNDS]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root overlay-bench.sh

peers=5000
rounds=5
args=("$@")
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "overlay-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
pn_tool bench/pn-timeit timeit || exit 1
pn_tool podnet-routes routes || exit 1

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/overlay-bench
rep=$state/report
pn_bench_node "$state" # 192.168.0.1/16 on "uplink"
"$pn_top/bench/gen-nodes.sh" -n "$peers" --lean >"$state/nodes.json"
vx=podnet.vx

ms() { # ms TAG: median of the report's TAG lines (ns), in ms
        awk -v t="$1" '$1 == t { print $2 }' "$rep" | sort -n |
                awk '{ v[NR] = $1 } END {
                        if (NR == 0) { print "-"; exit }
                        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%.2f\n", m / 1e6 }'
}
sync() { # sync TAG: one timed sync, its library time as TAG-lib
        if ! "$timeit" -o "$state/$1.json" -r "$rep" -t "$1" -- "$routes" sync --json \
                --nodes "$state/nodes.json" --node-name bench-node --cluster-cidr 10.0.0.0/8 \
                --no-firewall --no-cni-conf --overlay always; then
                echo "FAIL: podnet-routes sync ($1):"
                head -c 2000 "$state/$1.json"
                exit 1
        fi
        jq -r --arg t "$1-lib" '"\($t) \((.summary.routeSyncMs // 0) * 1e6 | floor)"' \
                "$state/$1.json" >>"$rep"
        jq -r --arg t "$1-writes" '"\($t) \(.summary.writes)"' "$state/$1.json" >>"$state/writes"
}
clean() {
        "$routes" teardown --node-name bench-node --no-firewall --no-cni-conf >/dev/null 2>&1
        ip link del "$vx" 2>/dev/null
        ip nexthop flush protocol 44 >/dev/null 2>&1
        ip route flush proto 44 2>/dev/null
}
count() { # the node's overlay state: routes neighbours fdb
        echo "$(ip route show proto 44 | grep -c "dev $vx") $(ip neigh show dev "$vx" nud permanent | wc -l)" \
                "$(bridge fdb show dev "$vx" | grep -c "self permanent")"
}

: >"$state/writes"
echo "== $peers peers over the overlay, $rounds rounds"
for ((r = 1; r <= rounds; r++)); do
        clean
        sync cold
        [ "$(count)" = "$peers $peers $peers" ] || { echo "FAIL: cold sync left $(count)"; exit 1; }
        if [ "$r" = 1 ]; then # the same objects as ip(8)/bridge(8) commands
                d=$(ip -d -j link show "$vx" | jq -r '.[0] | "link add \(.ifname) mtu \(.mtu) address \(.address) type vxlan id \(.linkinfo.info_data.id) dstport \(.linkinfo.info_data.port) local \(.linkinfo.info_data.local) dev uplink nolearning"')
                {
                        echo "$d"
                        echo "link set $vx up"
                        ip -j nexthop show protocol 44 | jq -r '.[] | "nexthop add id \(.id) via \(.gateway) dev \(.dev) onlink proto 44"'
                        ip -j route show proto 44 | jq -r '.[] | "route add \(.dst) nhid \(.nhid) proto 44"'
                        ip -j neigh show dev "$vx" nud permanent | jq -r --arg d "$vx" '.[] | "neigh add \(.dst) lladdr \(.lladdr) dev \($d) nud permanent"'
                } >"$state/ip.batch"
                bridge -j fdb show dev "$vx" | jq -r --arg d "$vx" '.[] | select(.state == "permanent") | "fdb add \(.mac) dev \($d) dst \(.dst) self permanent"' >"$state/fdb.batch"
        fi
        for ((k = 1; k <= 5; k++)); do sync noop; done
        clean
        "$timeit" -r "$rep" -t ip-batch -- /bin/sh -c \
                "/usr/sbin/ip -batch '$state/ip.batch' && /usr/sbin/bridge -batch '$state/fdb.batch'" ||
                { echo "FAIL: ip -batch / bridge -batch"; exit 1; }
        [ "$(count)" = "$peers $peers $peers" ] || { echo "FAIL: ip -batch left $(count)"; exit 1; }
done
clean
noop_writes=$(awk '$1 == "noop-writes" { print $2 }' "$state/writes" | sort -u | tr '\n' ' ')
echo "== Results: $(nproc) CPUs, kernel $(uname -r), $(date -u +%FT%TZ) (medians; wall time of each program run, pn-timeit)"
printf '%-52s %10s\n' "ip -batch + bridge -batch, same objects (ms)" "$(ms ip-batch)"
printf '%-52s %10s %10s\n' "podnet-routes sync --overlay always (ms)" "program" "library"
printf '%-52s %10s %10s\n' "  cold ($peers routes, neighbours, FDB entries)" "$(ms cold)" "$(ms cold-lib)"
printf '%-52s %10s %10s\n' "  no-op resync" "$(ms noop)" "$(ms noop-lib)"
echo "cold/ip-batch: $(awk -v a="$(ms cold)" -v b="$(ms ip-batch)" 'BEGIN { printf "%.2f", a / b }')," \
        "cold writes: $(awk '$1 == "cold-writes" { print $2; exit }' "$state/writes"), no-op writes: $noop_writes"
