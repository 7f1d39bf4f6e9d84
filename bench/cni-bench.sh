#!/bin/bash
# CNI benchmark (issue 2): podnet-cni against the reference bridge + host-local plugins (or
# against another podnet-cni build), same machine, same run, same configuration (only
# "type", the bridge and the subnet differ), calls interleaved, inside private namespaces.
# Prints medians, p90, peak RSS, ratios and the start-up floor. Never fails on a time.
# Usage: bench/cni-bench.sh [-n SEQUENTIAL] [-b BURST] [--reference-dir DIR] [--baseline-cni PATH]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root cni-bench.sh

n=100
burst=200
ref_dir=/usr/lib/cni
baseline=
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -n) n=${2:?-n needs a number}; shift 2 ;;
        -b) burst=${2:?-b needs a number}; shift 2 ;;
        --reference-dir) ref_dir=${2:?--reference-dir needs a directory}; shift 2 ;;
        --baseline-cni) baseline=${2:?--baseline-cni needs a podnet-cni program}; shift 2 ;;
        -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "cni-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
if [ "$burst" -gt 250 ] || [ "$n" -gt 250 ]; then
        echo "cni-bench.sh: at most 250 pods fit the /24 of a benchmark network" >&2
        exit 2
fi
if [ "$n" -lt 1 ] || [ "$burst" -lt 1 ]; then
        echo "cni-bench.sh: -n and -b must be at least 1" >&2
        exit 2
fi

# plugin_path PATH VAR LIBVAR: the program behind PATH in VAR and, when PATH is libtool's
# wrapper script of an uninstalled build, its library directory in LIBVAR (given to that
# plugin alone: a global LD_LIBRARY_PATH would make the other build load this one's
# libpodnet.so, as it outranks RUNPATH).
plugin_path() {
        local dir
        dir=$(dirname "$1")
        printf -v "$3" '%s' ""
        if head -c4 "$1" 2>/dev/null | grep -q ELF; then
                printf -v "$2" '%s' "$(cd "$dir" && pwd)/$(basename "$1")"
        elif grep -q libtool "$1" 2>/dev/null && [ -x "$dir/.libs/$(basename "$1")" ]; then
                printf -v "$2" '%s' "$(cd "$dir/.libs" && pwd)/$(basename "$1")"
                printf -v "$3" '%s' "$(cd "$dir/.libs" && pwd)"
        else
                echo "cni-bench.sh: $1 is not a program (nor libtool's wrapper of one)" >&2
                return 1
        fi
}
# PODNET_CNI (as in the test environment) may name another build of the plugin.
plugin_path "${PODNET_CNI:-$pn_build/podnet-cni}" podnet_cni podnet_lib || exit 1
pn_tool bench/pn-timeit timeit || exit 1
declare -A ptype plib
# Side a is the baseline, side b podnet: labels, plugin types, library directories.
if [ -n "$baseline" ]; then
        a=baseline
        plugin_path "$baseline" baseline_cni baseline_lib || exit 1
        ptype[$a]=podnet-baseline plib[$a]=$baseline_lib
else
        a=reference
        ptype[$a]=bridge plib[$a]=
        for p in bridge host-local; do
                if [ ! -x "$ref_dir/$p" ]; then
                        echo "cni-bench.sh: reference plugin $ref_dir/$p missing" \
                                "(Debian: apt-get install containernetworking-plugins)" >&2
                        exit 1
                fi
        done
fi
ptype[podnet]=podnet-cni plib[podnet]=$podnet_lib

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/cni-bench
bin=$state/bin # like /opt/cni/bin: the reference plugins and podnet-cni side by side
out=$state/out
rep=$state/report
mkdir -p "$bin" "$out"
refs=()
[ ! -d "$ref_dir" ] || refs=("$ref_dir"/*)
pn_plugin_dir "$bin" "${refs[@]}"
ln -sf "$podnet_cni" "$bin/podnet-cni"
[ -z "$baseline" ] || ln -sf "$baseline_cni" "$bin/podnet-baseline"
pods=$((n > burst ? n : burst))
# Each side has its own network: bridge cbr0 or cbr1, subnet 10.1.1.0/24 or 10.1.2.0/24,
# pod namespaces and container IDs named after the side.
declare -A pbr pnet
pbr[$a]=cbr0 pnet[$a]=1
pbr[podnet]=cbr1 pnet[podnet]=2

cleanup() {
        local i s
        pn_kill_jobs
        for s in "$a" podnet; do
                for ((i = 1; i <= pods; i++)); do
                        ip netns del "$s-$i" 2>/dev/null
                done
                ip link del "${pbr[$s]}" 2>/dev/null
        done
        rm -rf "$state"
}
pn_on_exit cleanup

conf() { # conf LABEL: the kubenet-style configuration of that side
        cat <<JSON
{"cniVersion": "1.0.0", "name": "bench${pnet[$1]}", "type": "${ptype[$1]}",
 "bridge": "${pbr[$1]}", "isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
 "ipMasq": false,
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.${pnet[$1]}.0/24"}]],
          "dataDir": "$state/ipam-$1"}}
JSON
}

# op LABEL COMMAND I TAG: one timed invocation of LABEL's plugin for its pod I, appended
# to the report.
op() {
        LD_LIBRARY_PATH=${plib[$1]} CNI_COMMAND=$2 CNI_CONTAINERID=$1-$3 \
                CNI_NETNS=/run/netns/$1-$3 CNI_IFNAME=eth0 CNI_PATH=$bin \
                "$timeit" -i "$state/$1.conf" -o "$out/$1-$4-$3.json" -r "$rep" -t "$1-$4" \
                -- "$bin/${ptype[$1]}"
}
# version LABEL REPORT: one VERSION call (start-up and a small JSON).
version() {
        LD_LIBRARY_PATH=${plib[$1]} CNI_COMMAND=VERSION "$timeit" -i "$state/version.conf" \
                -o /dev/null -r "$2" -t "$1-version" -- "$bin/${ptype[$1]}"
}

# stats TAG [COLUMN]: "median_ms p90_ms max_rss_kib count failures" of the report lines with
# TAG; the times from COLUMN (2, the default: wall time; 5: CPU time).
stats() {
        awk -v t="$1" -v c="${2:-2}" '$1 == t && $4 != 0 { bad++ } $1 == t && $4 == 0 { print $c, $3 }
                END { print "bad", bad + 0 > "/dev/stderr" }' "$rep" 2>"$state/bad" |
                sort -n | awk -v bad="$(awk '{print $2}' "$state/bad")" '
                { ns[NR] = $1; if ($2 > rss) rss = $2 }
                END {
                        if (NR == 0) { printf "- - - 0 %d\n", bad; exit }
                        med = NR % 2 ? ns[(NR + 1) / 2] : (ns[NR / 2] + ns[NR / 2 + 1]) / 2
                        p = int(0.9 * NR); if (p < 0.9 * NR) p++; if (p < 1) p = 1
                        printf "%.2f %.2f %d %d %d\n", med / 1e6, ns[p] / 1e6, rss, NR, bad
                }'
}

veths() { ip -o link show type veth | wc -l; }
# settle WANT: waits (untimed, up to 10 s) until at most WANT veths are left on the node,
# so that the teardown one plugin leaves to the kernel or to a detached child (podnet's
# deferred DEL) is not billed to the other plugin's next call.
settle() {
        local k
        for ((k = 0; k < 2000; k++)); do
                [ "$(veths)" -gt "$1" ] || return 0
                sleep 0.005
        done
        echo "  FAIL: $(veths) veths left on the node, want at most $1"
        failed=1
}

declare -A wall
failed=0
# seq_ops COUNT COMMAND TAG: COUNT invocations per plugin, one after the other and
# interleaved call by call (baseline pod 1, podnet pod 1, baseline pod 2, ...), so that
# both meet the same node: as many links, the same kernel background work.
seq_ops() {
        local i s left=$((2 * $1))
        for ((i = 1; i <= $1; i++)); do
                for s in "$a" podnet; do
                        op "$s" "$2" "$i" "$3" || failed=1
                        if [ "$2" = DEL ]; then
                                left=$((left - 1))
                                settle "$left"
                        fi
                done
        done
}
# burst LABEL COMMAND TAG: BURST invocations of one plugin all at once (like kubelet
# starting many pods); the wall time of the whole lot in wall[].
burst_ops() {
        local i t0
        t0=$(date +%s%N)
        for ((i = 1; i <= burst; i++)); do
                op "$1" "$2" "$i" "$3" &
        done
        wait
        wall[$1-$3]=$(($(date +%s%N) - t0))
}
# burst LABEL: BURST parallel ADDs, checks, BURST parallel DELs, checks; the node is left
# settled (no veth) for the other plugin.
burst() {
        local dups left on
        burst_ops "$1" ADD burst-add
        dups=$(cat "$out/$1"-burst-add-*.json | jq -r '.ips[]?.address' | sort | uniq -d)
        if [ -n "$dups" ]; then
                echo "  FAIL: $1: duplicate addresses in the burst: $dups"
                failed=1
        fi
        on=$(ip -o link show master "${pbr[$1]}" | wc -l)
        if [ "$on" != "$burst" ]; then
                echo "  FAIL: $1: $on ports on ${pbr[$1]} after $burst parallel ADDs"
                failed=1
        fi
        burst_ops "$1" DEL burst-del
        settle 0
        left=$(find "$state/ipam-$1" -type f | grep -cE '/[0-9a-f.:]+$')
        if [ "$left" != 0 ]; then
                echo "  FAIL: $1: $left leases left after DEL"
                failed=1
        fi
}

echo "== Setting up $((2 * pods)) pod namespaces"
for s in "$a" podnet; do
        conf "$s" >"$state/$s.conf"
        for ((i = 1; i <= pods; i++)); do
                ip netns add "$s-$i"
        done
done
echo '{"cniVersion": "1.0.0"}' >"$state/version.conf"

t_start=$(date +%s)
: >"$rep"
echo "== $a (${ptype[$a]}) and podnet, interleaved call by call: start-up floor," \
        "$n sequential ADD, $n sequential DEL"
for ((i = 1; i <= 5; i++)); do # warm the page cache; not recorded
        for s in "$a" podnet; do version "$s" /dev/null; done
done
for ((i = 1; i <= 50; i++)); do
        for s in "$a" podnet; do version "$s" "$rep"; done
done
seq_ops "$n" ADD add
seq_ops "$n" DEL del
# A burst saturates the CPUs: interleaving two would make each plugin wait for the other's
# processes. They run one after the other instead, each on a settled node.
for s in "$a" podnet; do
        echo "== $s: $burst parallel ADD then DEL"
        burst "$s"
done

echo
echo "== Results: $(nproc) CPUs, kernel $(uname -r), cniVersion 1.0.0, $(date -u +%FT%TZ)"
if [ "$a" = reference ]; then
        echo "   reference = $ref_dir/bridge + host-local; podnet = $podnet_cni"
        short=ref
else
        echo "   baseline = $baseline_cni; podnet = $podnet_cni"
        short=base
fi
echo "   times per invocation (fork+exec to exit, pn-timeit), ms; RSS = peak of the process tree"
echo "   sequential calls and VERSION interleaved call by call; bursts one plugin at a time"
printf '%-20s %19s %19s %8s  %s\n' "operation" "$a med, p90" "podnet med, p90" \
        "$short/pn" "target"
declare -A med
row() { # row TAG TITLE TARGET_RATIO [COLUMN] (the target applies against the reference only)
        local rm rp rb pm pp pb ratio verdict="" _
        read -r rm rp _ _ rb <<<"$(stats "$a-$1" "${4:-2}")"
        read -r pm pp _ _ pb <<<"$(stats "podnet-$1" "${4:-2}")"
        [ -n "${4:-}" ] || med[$a-$1]=$rm med[podnet-$1]=$pm
        ratio=$(awk -v a="$rm" -v b="$pm" 'BEGIN { if (b + 0 > 0) printf "%.2fx", a / b; else print "-" }')
        if [ -n "$3" ] && [ "$a" = reference ]; then
                verdict=$(awk -v a="$rm" -v b="$pm" -v t="$3" \
                        'BEGIN { print (b + 0 > 0 && a / b >= t) ? "met" : "NOT met" }')
                verdict=">= ${3}x: $verdict"
        fi
        printf '%-20s %9s %9s %9s %9s %8s  %s' "$2" "$rm" "$rp" "$pm" "$pp" "$ratio" "$verdict"
        [ "$rb$pb" = 00 ] || printf '  (failures: %s %s, podnet %s)' "$a" "$rb" "$pb"
        echo
        [ "$rb$pb" = 00 ] || failed=1
}
row add "ADD (sequential)" 6
row del "DEL (sequential)" 10
row burst-add "ADD ($burst parallel)" ""
row burst-del "DEL ($burst parallel)" ""
row version "VERSION (start-up)" ""
secs() { awk -v x="$1" 'BEGIN { printf "%.2f", x / 1e9 }'; }
printf '%-20s %19s %19s\n' "burst wall ADD, s" "$(secs "${wall[$a-burst-add]}")" \
        "$(secs "${wall[podnet-burst-add]}")"
printf '%-20s %19s %19s\n' "burst wall DEL, s" "$(secs "${wall[$a-burst-del]}")" \
        "$(secs "${wall[podnet-burst-del]}")"
peak() { # peak LABEL: max RSS over every invocation of LABEL
        awk -v l="$1-" 'index($1, l) == 1 && $3 > m { m = $3 } END { print m + 0 }' "$rep"
}
rref=$(peak "$a")
rpn=$(peak podnet)
verdict=
[ "$a" != reference ] || verdict="podnet <= half: $(awk -v a="$rref" -v b="$rpn" \
        'BEGIN { print (b > 0 && 2 * b <= a) ? "met" : "NOT met" }')"
printf '%-20s %19s %19s %8s  %s\n' "peak RSS, KiB" "$rref" "$rpn" \
        "$(awk -v a="$rref" -v b="$rpn" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')" "$verdict"
floor=${med[podnet-version]}
printf '%-20s %19s %19s %8s  %s\n' "floor (VERSION)" "" "$floor" \
        "$(awk -v a="${med[podnet-add]}" -v b="$floor" \
                'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b }')" \
        "podnet ADD <= 2x floor: $(awk -v a="${med[podnet-add]}" -v b="$floor" \
                'BEGIN { print (b + 0 > 0 && a <= 2 * b) ? "met" : "NOT met" }')"
echo "CPU time (user + system of the plugin and the children it waited for), ms: what a call"
echo "costs the machine; unlike the wall time it does not count waiting for a CPU"
row add "ADD (sequential)" "" 5
row del "DEL (sequential)" "" 5
row version "VERSION (start-up)" "" 5
echo "(total run $(($(date +%s) - t_start)) s)"
if [ "$failed" != 0 ]; then
        echo "Some invocations FAILED; the figures above do not describe working plugins." \
                "First error objects:"
        grep -l '"code"' "$out"/*.json 2>/dev/null | head -3 | xargs -r cat
        exit 1
fi
exit 0
