#!/bin/bash
# CNI benchmark (issue 2): podnet-cni against the reference bridge + host-local plugins, same
# machine, same run, same configuration (only "type" differs), inside private namespaces.
# Prints medians, p90, peak RSS, ratios and the start-up floor. Never fails on a time.
# Usage: bench/cni-bench.sh [-n SEQUENTIAL] [-b BURST] [--reference-dir DIR]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root cni-bench.sh

n=100
burst=200
ref_dir=/usr/lib/cni
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        -n) n=${2:?-n needs a number}; shift 2 ;;
        -b) burst=${2:?-b needs a number}; shift 2 ;;
        --reference-dir) ref_dir=${2:?--reference-dir needs a directory}; shift 2 ;;
        -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "cni-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
if [ "$burst" -gt 250 ]; then
        echo "cni-bench.sh: at most 250 pods fit the /24 of the benchmark network" >&2
        exit 2
fi
# PODNET_CNI (as in the test environment) may name another build of the plugin.
if [ -n "${PODNET_CNI:-}" ] && head -c4 "$PODNET_CNI" 2>/dev/null | grep -q ELF; then
        podnet_cni=$PODNET_CNI
else
        pn_tool podnet-cni podnet_cni || exit 1
fi
pn_tool bench/pn-timeit timeit || exit 1
for p in bridge host-local; do
        if [ ! -x "$ref_dir/$p" ]; then
                echo "cni-bench.sh: reference plugin $ref_dir/$p missing" \
                        "(Debian: apt-get install containernetworking-plugins)" >&2
                exit 1
        fi
done

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; it plays the node.

state=/run/cni-bench
bin=$state/bin # like /opt/cni/bin: the reference plugins and podnet-cni side by side
out=$state/out
rep=$state/report
mkdir -p "$bin" "$out"
pn_plugin_dir "$bin" "$ref_dir"/* "$podnet_cni"
[ "$(basename "$podnet_cni")" = podnet-cni ] || ln -sf "$podnet_cni" "$bin/podnet-cni"
pods=$((n > burst ? n : burst))

cleanup() {
        local i
        pn_kill_jobs
        for ((i = 1; i <= pods; i++)); do
                ip netns del "bp$i" 2>/dev/null
        done
        ip link del cbr0 2>/dev/null
        rm -rf "$state"
}
pn_on_exit cleanup

conf() { # conf TYPE: the kubenet-style configuration, identical but for "type"
        cat <<JSON
{"cniVersion": "1.0.0", "name": "bench", "type": "$1", "bridge": "cbr0",
 "isGateway": true, "isDefaultGateway": true, "hairpinMode": true, "ipMasq": false,
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.1.0/24"}]],
          "dataDir": "$state/ipam"}}
JSON
}

# op LABEL TYPE COMMAND I TAG: one timed invocation for pod I, appended to the report.
op() {
        CNI_COMMAND=$3 CNI_CONTAINERID=bench$4 CNI_NETNS=/run/netns/bp$4 CNI_IFNAME=eth0 \
                CNI_PATH=$bin "$timeit" -i "$state/$1.conf" -o "$out/$1-$5-$4.json" \
                -r "$rep" -t "$1-$5" -- "$bin/$2"
}

# stats TAG: "median_ms p90_ms max_rss_kib count failures" of the report lines with TAG.
stats() {
        awk -v t="$1" '$1 == t && $4 != 0 { bad++ } $1 == t && $4 == 0 { print $2, $3 }
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

echo "== Setting up $pods pod namespaces"
for ((i = 1; i <= pods; i++)); do
        ip netns add "bp$i"
done
echo '{"cniVersion": "1.0.0"}' >"$state/version.conf"

declare -A wall
failed=0
# ops COUNT seq|par LABEL TYPE COMMAND TAG: COUNT invocations, one after the other or all
# at once (like kubelet starting many pods); the wall time of the whole lot in wall[].
ops() {
        local i t0
        t0=$(date +%s%N)
        for ((i = 1; i <= $1; i++)); do
                if [ "$2" = par ]; then
                        op "$3" "$4" "$5" "$i" "$6" &
                else
                        op "$3" "$4" "$5" "$i" "$6" || failed=1
                fi
        done
        wait
        wall[$3-$6]=$(($(date +%s%N) - t0))
}
run_plugin() { # run_plugin LABEL TYPE
        local label=$1 type=$2 i left
        conf "$type" >"$state/$label.conf"
        echo "== $label ($type): start-up floor, $n sequential ADD, $n sequential DEL," \
                "$burst parallel ADD then DEL"
        for ((i = 1; i <= 5; i++)); do # warm the page cache; not recorded
                CNI_COMMAND=VERSION "$timeit" -i "$state/version.conf" -r /dev/null -- \
                        "$bin/$type"
        done
        for ((i = 1; i <= 50; i++)); do
                CNI_COMMAND=VERSION "$timeit" -i "$state/version.conf" -o /dev/null \
                        -r "$rep" -t "$label-version" -- "$bin/$type"
        done
        ops "$n" seq "$label" "$type" ADD add
        ops "$n" seq "$label" "$type" DEL del
        ops "$burst" par "$label" "$type" ADD burst-add
        local dups
        dups=$(cat "$out/$label"-burst-add-*.json | jq -r '.ips[]?.address' | sort | uniq -d)
        if [ -n "$dups" ]; then
                echo "  FAIL: duplicate addresses in the burst: $dups"
                failed=1
        fi
        if [ "$(ip -o link show master cbr0 | wc -l)" != "$burst" ]; then
                echo "  FAIL: $(ip -o link show master cbr0 | wc -l) ports on cbr0 after" \
                        "$burst parallel ADDs"
                failed=1
        fi
        ops "$burst" par "$label" "$type" DEL burst-del
        left=$(ip -o link show type veth | wc -l)
        if [ "$left" != 0 ]; then
                echo "  FAIL: $left veths left after DEL"
                failed=1
        fi
        left=$(find "$state/ipam" -type f | grep -cE '/[0-9a-f.:]+$')
        if [ "$left" != 0 ]; then
                echo "  FAIL: $left leases left after DEL"
                failed=1
        fi
        ip link del cbr0 2>/dev/null
        rm -rf "$state/ipam"
}

t_start=$(date +%s)
: >"$rep"
run_plugin reference bridge
run_plugin podnet podnet-cni

echo
echo "== Results: $(nproc) CPUs, kernel $(uname -r), cniVersion 1.0.0, $(date -u +%FT%TZ)"
echo "   reference = $ref_dir/bridge + host-local; podnet = $podnet_cni"
echo "   times per invocation (fork+exec to exit, pn-timeit), ms; RSS = peak of the process tree"
printf '%-20s %19s %19s %8s  %s\n' "operation" "reference med, p90" "podnet med, p90" \
        "ref/pn" "target"
declare -A med
row() { # row TAG TITLE TARGET_RATIO
        local rm rp rb pm pp pb ratio verdict="" _
        read -r rm rp _ _ rb <<<"$(stats "reference-$1")"
        read -r pm pp _ _ pb <<<"$(stats "podnet-$1")"
        med[reference-$1]=$rm med[podnet-$1]=$pm
        ratio=$(awk -v a="$rm" -v b="$pm" 'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b; else print "-" }')
        if [ -n "$3" ]; then
                verdict=$(awk -v a="$rm" -v b="$pm" -v t="$3" \
                        'BEGIN { print (b + 0 > 0 && a / b >= t) ? "met" : "NOT met" }')
                verdict=">= ${3}x: $verdict"
        fi
        printf '%-20s %9s %9s %9s %9s %8s  %s' "$2" "$rm" "$rp" "$pm" "$pp" "$ratio" "$verdict"
        [ "$rb$pb" = 00 ] || printf '  (failures: reference %s, podnet %s)' "$rb" "$pb"
        echo
        [ "$rb$pb" = 00 ] || failed=1
}
row add "ADD (sequential)" 6
row del "DEL (sequential)" 10
row burst-add "ADD ($burst parallel)" ""
row burst-del "DEL ($burst parallel)" ""
row version "VERSION (start-up)" ""
printf '%-20s %19s %19s\n' "burst wall ADD, s" \
        "$(awk -v x="${wall[reference-burst-add]}" 'BEGIN { printf "%.2f", x / 1e9 }')" \
        "$(awk -v x="${wall[podnet-burst-add]}" 'BEGIN { printf "%.2f", x / 1e9 }')"
printf '%-20s %19s %19s\n' "burst wall DEL, s" \
        "$(awk -v x="${wall[reference-burst-del]}" 'BEGIN { printf "%.2f", x / 1e9 }')" \
        "$(awk -v x="${wall[podnet-burst-del]}" 'BEGIN { printf "%.2f", x / 1e9 }')"
peak() { # peak LABEL: max RSS over every invocation of LABEL
        awk -v l="$1-" 'index($1, l) == 1 && $3 > m { m = $3 } END { print m + 0 }' "$rep"
}
rref=$(peak reference)
rpn=$(peak podnet)
printf '%-20s %19s %19s %8s  %s\n' "peak RSS, KiB" "$rref" "$rpn" \
        "$(awk -v a="$rref" -v b="$rpn" 'BEGIN { if (b > 0) printf "%.1fx", a / b }')" \
        "podnet <= half: $(awk -v a="$rref" -v b="$rpn" \
                'BEGIN { print (b > 0 && 2 * b <= a) ? "met" : "NOT met" }')"
floor=${med[podnet-version]}
printf '%-20s %19s %19s %8s  %s\n' "floor (VERSION)" "" "$floor" \
        "$(awk -v a="${med[podnet-add]}" -v b="$floor" \
                'BEGIN { if (b + 0 > 0) printf "%.1fx", a / b }')" \
        "podnet ADD <= 2x floor: $(awk -v a="${med[podnet-add]}" -v b="$floor" \
                'BEGIN { print (b + 0 > 0 && a <= 2 * b) ? "met" : "NOT met" }')"
echo "(total run $(($(date +%s) - t_start)) s)"
if [ "$failed" != 0 ]; then
        echo "Some invocations FAILED; the figures above do not describe working plugins." \
                "First error objects:"
        grep -l '"code"' "$out"/*.json 2>/dev/null | head -3 | xargs -r cat
        exit 1
fi
exit 0
