#!/bin/bash
# Overlay sync benchmark (issue 8): podnet-routes --overlay always with PEERS peers, every
# one over the VXLAN overlay, in a private namespace: the cold sync (the VXLAN device, one
# nexthop object and route per peer, one neighbour and one FDB entry per peer) against
# `ip -batch` + `bridge -batch` installing the same device, nexthops, routes, neighbour
# and FDB entries; and the no-op resync (library time, whole program wall and CPU time,
# kernel writes), and the no-op resync in one process (run's case: bench/pn-resync calls
# podnet_routes_sync() 20 times in one process against the program's own libpodnet; its
# median after the first call, per round). Medians of ROUNDS rounds. Never fails on a time.
# Usage: bench/overlay-bench.sh [-n PEERS] [-r ROUNDS] [-c] [PODNET_ROUTES [PODNET_ROUTES_B]]
# With no program, the build's; with two (installed builds: configure --prefix=DIR), an
# A/B interleaved round by round, with B/A. -c adds the instructions one no-op resync runs
# in podnet_routes_sync() and in the thread it starts for the overlay's dumps (valgrind
# --tool=callgrind; deterministic, unlike the times).
# On a busy machine `chrt -f 10 bench/overlay-bench.sh ...` keeps other work from
# interleaving.
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root overlay-bench.sh

peers=5000
rounds=5
callgrind=false
args=("$@")
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        -c) callgrind=true; shift ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        -*) echo "overlay-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        *) break ;;
        esac
done
progs=("$@")
if [ $# -gt 2 ]; then
        echo "overlay-bench.sh: at most two programs (see --help)" >&2
        exit 2
fi
for p in "${progs[@]}"; do
        [ -x "$p" ] || { echo "overlay-bench.sh: $p is not a program" >&2; exit 2; }
done
set -- "${args[@]}"
pn_tool bench/pn-timeit timeit || exit 1
# its LD_LIBRARY_PATH (the build's library) must not reach installed programs under A/B:
# pn-resync gets each program's own library below
keep_llp=${LD_LIBRARY_PATH-}
pn_tool bench/pn-resync resync || exit 1
export LD_LIBRARY_PATH=$keep_llp
# pn_tool looks for the real binary under the build's top .libs/; a program in bench/ has
# its own, and the libtool wrapper would set LD_LIBRARY_PATH to the build's library
if ! head -c4 "$resync" | grep -q ELF; then
        resync=$(dirname "$resync")/.libs/$(basename "$resync")
        [ -x "$resync" ] || { echo "overlay-bench.sh: $resync is not built" >&2; exit 1; }
fi
if [ ${#progs[@]} -eq 0 ]; then
        pn_tool podnet-routes routes || exit 1
        progs=("$routes")
fi
if $callgrind && ! command -v valgrind >/dev/null; then
        echo "overlay-bench.sh: -c needs valgrind" >&2
        exit 2
fi
tags=(a b)
libdirs=() # each program's libpodnet: an installed one's lib/, a build's .libs/
for p in "${progs[@]}"; do
        d=$(dirname "$p")
        if [ -e "$d/../lib/libpodnet.so" ]; then
                libdirs+=("$(cd "$d/../lib" && pwd)")
        elif [ -e "$d/libpodnet.so" ]; then
                libdirs+=("$(cd "$d" && pwd)")
        elif [ -e "$d/.libs/libpodnet.so" ]; then
                libdirs+=("$(cd "$d/.libs" && pwd)")
        else
                echo "overlay-bench.sh: no libpodnet.so beside $p (for bench/pn-resync)" >&2
                exit 2
        fi
done

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/overlay-bench
rep=$state/report
pn_bench_node "$state" # 192.168.0.1/16 on "uplink"
"$pn_top/bench/gen-nodes.sh" -n "$peers" --lean >"$state/nodes.json"
vx=podnet.vx
sync_args=(--nodes "$state/nodes.json" --node-name bench-node --cluster-cidr 10.0.0.0/8
        --no-firewall --no-cni-conf --overlay always)

med() { # med TAG [FIELD]: the median of the report's TAG lines (ns; field 2 wall, 5 CPU), in ms
        awk -v t="$1" -v f="${2:-2}" '$1 == t { print $f }' "$rep" | sort -n |
                awk '{ v[NR] = $1 } END {
                        if (NR == 0) { print "-"; exit }
                        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%.2f\n", m / 1e6 }'
}
sync() { # sync TAG PROGRAM: one timed sync, its library time as TAG-lib
        if ! "$timeit" -o "$state/$1.json" -r "$rep" -t "$1" -- "$2" sync --json "${sync_args[@]}"; then
                echo "FAIL: podnet-routes sync ($1):"
                head -c 2000 "$state/$1.json"
                exit 1
        fi
        jq -r --arg t "$1-lib" '"\($t) \((.summary.routeSyncMs // 0) * 1e6 | floor)"' \
                "$state/$1.json" >>"$rep"
        jq -r --arg t "$1-writes" '"\($t) \(.summary.writes)"' "$state/$1.json" >>"$state/writes"
}
clean() {
        "${progs[0]}" teardown --node-name bench-node --no-firewall --no-cni-conf >/dev/null 2>&1
        ip link del "$vx" 2>/dev/null
        ip nexthop flush protocol 44 >/dev/null 2>&1
        ip route flush proto 44 2>/dev/null
}
count() { # the node's overlay state: routes neighbours fdb
        echo "$(ip route show proto 44 | grep -c "dev $vx") $(ip neigh show dev "$vx" nud permanent | wc -l)" \
                "$(bridge fdb show dev "$vx" | grep -c "self permanent")"
}
writes() { # writes TAG: the distinct write counts of TAG's syncs
        awk -v t="$1-writes" '$1 == t { print $2 }' "$state/writes" | sort -u | tr '\n' ' '
}

: >"$state/writes"
echo "== $peers peers over the overlay, $rounds rounds: ${progs[*]}"
for ((r = 1; r <= rounds; r++)); do
        for i in "${!progs[@]}"; do
                x=${tags[$i]}
                clean
                sync "cold-$x" "${progs[$i]}"
                [ "$(count)" = "$peers $peers $peers" ] || { echo "FAIL: cold sync left $(count)"; exit 1; }
                if [ "$r" = 1 ] && [ "$i" = 0 ]; then # the same objects as ip(8)/bridge(8) commands
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
                for ((k = 1; k <= 5; k++)); do sync "noop-$x" "${progs[$i]}"; done
                # run's case: 20 no-op resyncs in one process, the median after the first
                if ! LD_LIBRARY_PATH=${libdirs[$i]} "$resync" -n 20 "$state/nodes.json" \
                        >"$state/resync.$x" 2>&1; then
                        echo "FAIL: bench/pn-resync ($x):"
                        head -c 2000 "$state/resync.$x"
                        exit 1
                fi
                awk -v t="resync-$x" '$1 == "median" { printf "%s %d\n", t, $2 * 1e6 }' \
                        "$state/resync.$x" >>"$rep"
                awk -v t="resync-$x-writes" '$1 == "median" { print t, $3 }' "$state/resync.$x" \
                        >>"$state/writes"
                if $callgrind && [ "$r" = 1 ]; then
                        # dump_run: the route sync's second thread (lib/agent/overlay-dump.c)
                        valgrind --tool=callgrind --toggle-collect=podnet_routes_sync \
                                --toggle-collect=dump_run \
                                --callgrind-out-file="$state/cg.$x" "${progs[$i]}" sync "${sync_args[@]}" \
                                >/dev/null 2>"$state/cg.$x.log"
                        awk '/Collected :/ { print $NF }' "$state/cg.$x.log" >"$state/cg.$x.ir"
                fi
        done
        clean
        "$timeit" -r "$rep" -t ip-batch -- /bin/sh -c \
                "/usr/sbin/ip -batch '$state/ip.batch' && /usr/sbin/bridge -batch '$state/fdb.batch'" ||
                { echo "FAIL: ip -batch / bridge -batch"; exit 1; }
        [ "$(count)" = "$peers $peers $peers" ] || { echo "FAIL: ip -batch left $(count)"; exit 1; }
done
clean
echo "== Results: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "   medians; program: wall time of each run (pn-timeit), library: summary.routeSyncMs"
printf '%-44s %10s\n' "ip -batch + bridge -batch, same objects (ms)" "$(med ip-batch)"
for i in "${!progs[@]}"; do
        x=${tags[$i]}
        echo "${x^^}: ${progs[$i]} sync --overlay always"
        printf '  %-42s %10s %10s %10s\n' "(ms)" "program" "CPU" "library"
        printf '  %-42s %10s %10s %10s\n' "cold ($peers routes, neighbours, FDB entries)" \
                "$(med "cold-$x")" "$(med "cold-$x" 5)" "$(med "cold-$x-lib")"
        printf '  %-42s %10s %10s %10s\n' "no-op resync" "$(med "noop-$x")" "$(med "noop-$x" 5)" \
                "$(med "noop-$x-lib")"
        printf '  %-42s %10s %10s %10s\n' "no-op resync in one process (run's case)" "-" "-" \
                "$(med "resync-$x")"
        echo "  cold/ip-batch: $(awk -v a="$(med "cold-$x")" -v b="$(med ip-batch)" 'BEGIN { printf "%.2f", a / b }')," \
                "cold writes: $(writes "cold-$x")," "no-op writes: $(writes "noop-$x")," \
                "in one process: $(writes "resync-$x")"
        if $callgrind; then
                echo "  no-op resync, instructions in podnet_routes_sync (callgrind): $(cat "$state/cg.$x.ir")"
        fi
done
if [ ${#progs[@]} = 2 ]; then
        for w in "noop:program:2" "noop:CPU:5" "noop-lib:library:2" "resync:in one process:2" "cold:program:2" "cold-lib:library:2"; do
                IFS=: read -r t label f <<<"$w"
                k=${t%%-*} s=${t#"$k"}
                echo "B/A $k $label: $(awk -v a="$(med "$k-a$s" "$f")" -v b="$(med "$k-b$s" "$f")" 'BEGIN { printf "%.3f", b / a }')"
        done
        if $callgrind; then
                echo "B/A no-op instructions: $(awk -v a="$(cat "$state/cg.a.ir")" -v b="$(cat "$state/cg.b.ir")" 'BEGIN { printf "%.3f", b / a }')"
        fi
fi
