#!/bin/bash
# Node drain benchmark (issue 6, item 13): N pods attached by podnet-cni, then all DELs at
# once (parallel) or one after the other (sequential); the figures are the wall time from
# the first DEL until the last DEL returned, and until the kernel has destroyed every pod
# veth (polled every 5 ms), medians of R rounds each way. Inside private namespaces; never fails on a time.
# Usage: bench/cni-drain.sh [-n PODS] [-r ROUNDS]   (PODNET_CNI may name another build)
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root cni-drain.sh

n=100
rounds=3
args=("$@")
while [ $# -gt 0 ]; do
        case $1 in
        -n) n=${2:?-n needs a number}; shift 2 ;;
        -r) rounds=${2:?-r needs a number}; shift 2 ;;
        -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "cni-drain.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
[ "$n" -le 250 ] || { echo "cni-drain.sh: at most 250 pods fit the /24" >&2; exit 2; }
if [ -n "${PODNET_CNI:-}" ] && head -c4 "$PODNET_CNI" 2>/dev/null | grep -q ELF; then
        cni=$PODNET_CNI
else
        pn_tool podnet-cni cni || exit 1
fi

. "$pn_top/tests/netns/lib.sh"

state=/run/cni-drain
mkdir -p "$state"
cat >"$state/conf" <<JSON
{"cniVersion": "1.0.0", "name": "drain", "type": "podnet-cni", "bridge": "cbr0",
 "isGateway": true, "isDefaultGateway": true, "hairpinMode": true, "ipMasq": false,
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.1.0/24"}]],
          "dataDir": "$state/ipam"}}
JSON
for ((i = 1; i <= n; i++)); do ip netns add "dp$i"; done

call() { # call COMMAND I
        CNI_COMMAND=$1 CNI_CONTAINERID=drain$2 CNI_NETNS=/run/netns/dp$2 CNI_IFNAME=eth0 \
                CNI_PATH=/usr/lib/cni "$cni" <"$state/conf" >/dev/null 2>&1
}
veths() { ip -o link show type veth | wc -l; }

# drain par|seq: prints the wall times in ms until the DELs returned and until no pod
# veth is left.
drain() {
        local i t0 t1 pids=()
        for ((i = 1; i <= n; i++)); do call ADD "$i" & pids+=($!); done
        wait "${pids[@]}"
        [ "$(veths)" = "$n" ] || { echo "cni-drain.sh: $(veths) veths after $n ADDs" >&2; exit 1; }
        t0=$(date +%s%N)
        pids=()
        for ((i = 1; i <= n; i++)); do
                if [ "$1" = par ]; then call DEL "$i" & pids+=($!); else call DEL "$i"; fi
        done
        [ "${#pids[@]}" = 0 ] || wait "${pids[@]}"
        t1=$(date +%s%N)
        for ((i = 0; i < 6000; i++)); do
                [ "$(veths)" = 0 ] && break
                sleep 0.005
        done
        echo $(((t1 - t0) / 1000000)) $((($(date +%s%N) - t0) / 1000000))
}
median() { # median COLUMN < rows
        awk -v c="$1" '{ print $c }' | sort -n |
                awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== $n pods, $rounds rounds each; podnet-cni = $cni; $(nproc) CPUs, kernel $(uname -r)"
for mode in par seq; do
        : >"$state/$mode"
        for ((r = 1; r <= rounds; r++)); do drain "$mode" >>"$state/$mode"; done
        printf '%-11s DELs returned: median %5s ms; all veths gone: median %5s ms  (rounds: %s)\n' \
                "$([ $mode = par ] && echo parallel || echo sequential)" "$(median 1 <"$state/$mode")" \
                "$(median 2 <"$state/$mode")" "$(tr '\n' ',' <"$state/$mode")"
done
left=$(ip -o link show group 1347306576 | wc -l)
[ "$left" = 0 ] || echo "cni-drain.sh: $left parked links left" >&2
for ((i = 1; i <= n; i++)); do ip netns del "dp$i"; done
