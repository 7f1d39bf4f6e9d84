#!/bin/bash
# A/B of two installed podnet-routes builds, interleaved call by call (issue 7): on one node
# in a private namespace, with PEERS realistic peer nodes (bench/gen-nodes.sh), each round
# runs A then B: a cold sync (from a flushed table) and two no-op resyncs each. Prints the
# medians of the library's route sync (summary.routeSyncMs of `sync --json`), the wall time
# and the CPU time of the whole run (pn-timeit), and B/A. Never fails on a time.
# Usage: bench/routes-ab.sh [-n PEERS] [-r ROUNDS] [--a-args ARGS] [--b-args ARGS]
#                           A_PODNET_ROUTES B_PODNET_ROUTES
# --a-args/--b-args: extra sync arguments of one side, split at blanks, e.g. --b-args
# "--overlay never" to compare a build from before the overlay with the new one in the
# same mode (the peers are simulated and answer no probe: the default auto would send
# them over VXLAN).
# Time installed binaries (configure --prefix=DIR; libtool's wrappers add ~10 ms a run);
# on a busy machine `chrt -f 10 bench/routes-ab.sh ...` keeps other work from interleaving.
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root routes-ab.sh

peers=5000
rounds=10
a_args=()
b_args=()
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        --a-args) read -r -a a_args <<<"${2?--a-args needs arguments}"; shift 2 ;;
        --b-args) read -r -a b_args <<<"${2?--b-args needs arguments}"; shift 2 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "routes-ab.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        *) break ;;
        esac
done
if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
        echo "routes-ab.sh: give two podnet-routes programs (see --help)" >&2
        exit 2
fi
prog_a=$1 prog_b=$2
set -- "${args[@]}"
pn_tool bench/pn-timeit timeit || exit 1

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/routes-ab
rep=$state/report
pn_bench_node "$state" # the node's state directory and its uplink (scripts/lib.sh)
"$pn_top/bench/gen-nodes.sh" -n "$peers" >"$state/nodes.json"

flush44() {
        ip nexthop flush protocol 44 >/dev/null 2>&1
        ip route flush proto 44
}
# one TAG PROGRAM [ARGS...]: a timed sync with the side's extra ARGS; the library's part
# from its own report
one() {
        local tag=$1 prog=$2
        shift 2
        if ! "$timeit" -o "$state/out.json" -r "$rep" -t "$tag" -- "$prog" sync --json \
                --nodes "$state/nodes.json" --node-name bench-node --cluster-cidr 10.0.0.0/8 \
                --no-firewall --no-cni-conf "$@"; then
                echo "FAIL: $prog sync ($tag${*:+, $*})"
                exit 1
        fi
        jq -r --arg t "$tag" '"\($t)-lib \((.summary.routeSyncMs // 0) * 1e6 | floor)"' \
                "$state/out.json" >>"$rep"
}
echo "== $peers peers, $rounds rounds, A=$prog_a ${a_args[*]} B=$prog_b ${b_args[*]}"
for ((r = 1; r <= rounds; r++)); do
        for x in a b; do
                prog=$prog_a
                extra=("${a_args[@]}")
                if [ "$x" = b ]; then
                        prog=$prog_b
                        extra=("${b_args[@]}")
                fi
                flush44
                one "cold-$x" "$prog" "${extra[@]}"
                one "noop-$x" "$prog" "${extra[@]}"
                one "noop-$x" "$prog" "${extra[@]}"
        done
done
flush44
# med TAG FIELD: median of field FIELD (2: wall or routeSyncMs, 5: CPU) of TAG's lines, ms
med() {
        awk -v t="$1" -v f="$2" '$1 == t { print $f }' "$rep" | sort -n |
                awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
                        printf "%.2f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) / 1e6 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }
printf '%-34s %10s %10s %8s\n' "medians, ms" "A" "B" "B/A"
for k in cold noop; do
        for what in "library sync:lib:2" "whole run, wall:-:2" "whole run, CPU:-:5"; do
                IFS=: read -r label suffix field <<<"$what"
                ta=$k-a tb=$k-b
                [ "$suffix" = lib ] && ta=$ta-lib && tb=$tb-lib
                a=$(med "$ta" "$field")
                b=$(med "$tb" "$field")
                printf '%-34s %10s %10s %8s\n' "$k: $label" "$a" "$b" "$(ratio "$a" "$b")"
        done
done
