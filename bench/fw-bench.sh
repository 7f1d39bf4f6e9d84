#!/bin/bash
# Firewall benchmark (issue 9), inside private namespaces; prints figures, never fails on
# a time.
#  (a) podnet-cni ADD and DEL with ipMasq true on each backend (firewallBackend
#      iptables-legacy, iptables-nft, and auto with podnet-routes' recorded choice) against
#      another podnet-cni build (--baseline-cni, e.g. main at cac1a65 installed under
#      /tmp/pn-fw-base), calls interleaved A/B, medians of wall and CPU time.
#  (b) podnet-routes' firewall on a host with RULES kube-proxy-like rules in nf_tables
#      (one iptables-nft-restore): the no-op check of run (-vv "Firewall check" times), the
#      whole sync pass (A/B against --baseline-routes when given, interleaved), and the
#      bytes podnet-routes receives from netlink in a sync (strace) against what a full
#      ruleset dump (nft list ruleset) receives: podnet must not read the whole ruleset.
# Usage: [PODNET_ROUTES=P [PODNET_ROUTES_LIB=D] PODNET_CNI=P] bench/fw-bench.sh [-n PODS] [-r RULES]
#        [--baseline-cni PATH] [--baseline-routes PATH]
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root fw-bench.sh

n=40
rules=20000
baseline_cni=
baseline_routes=
args=("$@")
while [ $# -gt 0 ]; do
        case $1 in
        -n) n=${2:?-n needs a number}; shift 2 ;;
        -r) rules=${2:?-r needs a number}; shift 2 ;;
        --baseline-cni) baseline_cni=${2:?}; shift 2 ;;
        --baseline-routes) baseline_routes=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "fw-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
[ "$n" -le 120 ] || { echo "fw-bench.sh: at most 120 pods" >&2; exit 2; }
# PODNET_ROUTES and PODNET_CNI may name installed builds (e.g. under /tmp/pn-fw-new)
# (PODNET_ROUTES_LIB: the library directory of that podnet-routes, when its RUNPATH does
# not name it; given to its calls alone)
routes=${PODNET_ROUTES:-}
routes_lib=${PODNET_ROUTES_LIB:-}
podnet_cni=${PODNET_CNI:-}
[ -n "$routes" ] || pn_tool podnet-routes routes || exit 1
[ -n "$podnet_cni" ] || pn_tool podnet-cni podnet_cni || exit 1
pn_tool bench/pn-timeit timeit || exit 1
. "$pn_top/tests/netns/lib.sh"

state=/run/fw-bench
mkdir -p $state/bin $state/out
ln -sf "$podnet_cni" $state/bin/podnet-cni
[ -z "$baseline_cni" ] || ln -sf "$baseline_cni" $state/bin/podnet-baseline
rt_prio=
if command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null; then
        rt_prio="chrt -f 10"
fi
echo "# fw-bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), ${rt_prio:-no chrt}"

# median FILE COLUMN: of the numbers in COLUMN (ns) as ms with 3 decimals
median() {
        sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {if (NR) printf "%.3f", v[int((NR+1)/2)]/1e6; else printf "-"}'
}

# ---- (a) podnet-cni ADD/DEL with ipMasq ----
conf() { # conf SIDE BACKEND NET
        cat <<JSON
{"cniVersion": "1.0.0", "name": "fwb$3", "type": "$1", "bridge": "fwb$3",
 "isGateway": true, "ipMasq": true, "firewallBackend": "$2",
 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.9.$3.0/24"}]], "dataDir": "$state/ipam"}}
JSON
}
cni_op() { # cni_op SIDE CMD I TAG REPORT
        CNI_COMMAND=$2 CNI_CONTAINERID=$1-$3 CNI_NETNS=/run/netns/$1-$3 CNI_IFNAME=eth0 \
                CNI_PATH=$state/bin $rt_prio "$timeit" -i $state/$1.conf -o /dev/null -r "$5" \
                -t "$4" -- $state/bin/$1
}
sides="podnet-cni"
[ -z "$baseline_cni" ] || sides="podnet-baseline podnet-cni"
# a host with Docker's FORWARD policy DROP in both backends is not needed: the masquerade
# rule's cost is the same; the nat tables exist as on any node
iptables-legacy -t nat -S >/dev/null 2>&1
iptables-nft -t nat -S >/dev/null 2>&1
echo
echo "(a) podnet-cni ADD / DEL with ipMasq, $n pods per side and backend, A/B interleaved"
printf '%-16s %-16s %12s %12s %12s %12s\n' backend side "ADD wall ms" "ADD cpu ms" "DEL wall ms" "DEL cpu ms"
net=0
for be in iptables-legacy iptables-nft auto; do
        if [ $be = auto ]; then
                printf 'iptables-nft\nbench\n' > /run/podnet/firewall-backend
        fi
        for s in $sides; do
                net=$((net + 1))
                conf $s $be $net > $state/$s.conf
                for i in $(seq 1 "$n"); do ip netns add $s-$i; done
                : > $state/out/$be-$s
        done
        for i in $(seq 1 "$n"); do
                for s in $sides; do cni_op $s ADD $i add $state/out/$be-$s; done
        done
        for i in $(seq 1 "$n"); do
                for s in $sides; do cni_op $s DEL $i del $state/out/$be-$s; done
        done
        for s in $sides; do
                f=$state/out/$be-$s
                fails=$(awk '$4 != 0' "$f" | wc -l)
                grep '^add' "$f" > $f.add
                grep '^del' "$f" > $f.del
                printf '%-16s %-16s %12s %12s %12s %12s%s\n' $be $s "$(median $f.add 2)" \
                        "$(median $f.add 5)" "$(median $f.del 2)" "$(median $f.del 5)" \
                        "$([ "$fails" = 0 ] || echo "  ($fails failed)")"
                for i in $(seq 1 "$n"); do ip netns del $s-$i; done
        done
done
rm -f /run/podnet/firewall-backend

# ---- (b) podnet-routes on a host with a large nf_tables ruleset ----
echo
echo "(b) podnet-routes' firewall with $rules kube-proxy-like rules in nf_tables"
svc=$((rules / 4))
{
        echo "*nat"
        echo ":KUBE-SERVICES - [0:0]"
        echo ":KUBE-MARK-MASQ - [0:0]"
        for i in $(seq 1 $svc); do
                echo ":KUBE-SVC-$i - [0:0]"
                echo ":KUBE-SEP-$i - [0:0]"
        done
        echo "-A PREROUTING -j KUBE-SERVICES"
        echo "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
        for i in $(seq 1 $svc); do
                a=$((i / 250)).$((i % 250))
                echo "-A KUBE-SERVICES -d 10.96.$a/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-$i"
                echo "-A KUBE-SVC-$i -j KUBE-SEP-$i"
                echo "-A KUBE-SEP-$i -s 10.1.$a/32 -j KUBE-MARK-MASQ"
                echo "-A KUBE-SEP-$i -p tcp -m tcp -j DNAT --to-destination 10.1.$a:80"
        done
        echo "COMMIT"
        echo "*filter"
        echo ":FORWARD DROP [0:0]"
        echo ":KUBE-FORWARD - [0:0]"
        echo "-A FORWARD -j KUBE-FORWARD"
        echo "-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT"
        echo "COMMIT"
} > $state/kube.rules
t0=$(date +%s.%N)
iptables-nft-restore < $state/kube.rules || { echo "iptables-nft-restore failed"; exit 1; }
echo "ruleset loaded in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo ?) s:" \
        "$(nft list ruleset | grep -c 'jump\|masquerade\|dnat\|meta mark\|accept') rules"
echo "self 10.1.0.0/24 192.168.7.1" > $state/nodes.txt
rargs=(--node-name self --no-cni-conf --nodes $state/nodes.txt --cluster-cidr 10.1.0.0/16)
# the build under test without the overlay (its default, auto, would probe the simulated
# peers): the passes compare firewall work only; a build before the overlay has no option
nargs=()
LD_LIBRARY_PATH=$routes_lib "$routes" --help 2>&1 | grep -q -- --overlay && nargs=(--overlay never)
LD_LIBRARY_PATH=$routes_lib "$routes" "${rargs[@]}" "${nargs[@]}" --firewall iptables-nft sync > /dev/null 2>&1
echo "first sync exit $? (podnet's chains installed)"

# run's no-op firewall checks (each reads podnet's chains and their base chains only)
LD_LIBRARY_PATH=$routes_lib timeout 7 "$routes" "${rargs[@]}" "${nargs[@]}" --firewall iptables-nft -vv run --interval 3600 \
        > /dev/null 2> $state/run.err
grep -o 'Firewall check: [0-9.]* ms' $state/run.err | awk '{print $3 * 1e6}' | sort -n > $state/checks
echo "run's no-op firewall check: median $(awk '{print "x", $1}' $state/checks | median /dev/stdin 2) ms over $(wc -l < $state/checks) checks"

# whole sync passes, A/B interleaved
sync_time() { # BINARY REPORT TAG [LIBDIR [ARGS...]]
        local bin=$1 report=$2 tag=$3 lib=${4:-}
        shift $(($# < 4 ? $# : 4))
        LD_LIBRARY_PATH=$lib $rt_prio "$timeit" -o /dev/null -r "$report" -t "$tag" -- "$bin" \
                "${rargs[@]}" "$@" --firewall iptables-nft sync
}
: > $state/sync
for i in $(seq 1 15); do
        [ -z "$baseline_routes" ] || sync_time "$baseline_routes" $state/sync baseline
        sync_time "$routes" $state/sync podnet "$routes_lib" "${nargs[@]}"
done
for tag in baseline podnet; do
        grep "^$tag " $state/sync > $state/sync.$tag || continue
        echo "sync pass ($tag): median wall $(median $state/sync.$tag 2) ms, cpu $(median $state/sync.$tag 5) ms ($(wc -l < $state/sync.$tag) runs)"
done

# bytes from netlink: a sync of podnet's against a full ruleset dump
if command -v strace >/dev/null; then
        nl_bytes() { # PROGRAM ARGS...: bytes returned by recv* on all sockets
                strace -f -qq -e trace=recvmsg,recvfrom -o $state/strace.out "$@" > /dev/null 2>&1
                awk -F'= ' '/recv/ && $NF ~ /^[0-9]+/ {s += $NF} END {print s + 0}' $state/strace.out
        }
        echo "netlink bytes received: podnet-routes sync $(nl_bytes env LD_LIBRARY_PATH=$routes_lib "$routes" "${rargs[@]}" "${nargs[@]}" --firewall iptables-nft sync)," \
                "nft list ruleset $(nl_bytes nft list ruleset)"
else
        echo "strace not installed: no byte count"
fi
