#!/bin/bash
# Kubernetes API node source benchmark (issue 10): the fake API server
# (tests/kube/fake-apiserver.py) serves N Nodes of about 10 KB each as JSON; podnet-routes
# run --kube lists and watches them in a private namespace. Prints: the time from start to
# all routes installed, the agent's peak RSS, the bytes the API sends per node change, the
# event-to-route latency (median, p99) of one node change, and, for comparison, one poll of
# the same list as kubectl prints it (bench/gen-nodes.sh) read by --nodes-cmd cat FILE and by
# --nodes FILE (wall time and peak RSS per poll). Never fails on a time. The build under
# test is PODNET_BUILD_DIR's (scripts/lib.sh), so that two builds compare on one machine.
# Usage: bench/kube-bench.sh [-n NODES]... [-s SAMPLES] [-l LOG] [-o MODE] [-R] [-x] [-P]
#   (default -n 5000 -n 63000 -s 200); -l: the agent runs with -v, its log appended to LOG;
#   -o: the agent's --overlay MODE (default never). Every simulated peer is on-link, so
#   cross-subnet routes them all directly, always puts them all on the overlay, and auto
#   probes them: without -R no peer answers (all go over the overlay, "probe failed", and
#   a changed peer's probe waits out its whole budget); -R: a namespace behind the switch
#   answers ARP for every peer address and ICMP echo for every pod address (a network
#   where the direct path works: auto routes the answering peers directly; node1 is given
#   every peer's MAC as a permanent neighbour entry, because the kernel's neighbour table
#   holds at most gc_thresh3 (1,024 by default, one limit for every namespace, a host
#   setting the bench leaves alone) resolved entries, and a real node with thousands of
#   on-link peers has it raised);
#   -x: the peers behind a router (their addresses are not on-link): cross-subnet and auto
#   put them all on the overlay without a probe;
#   -P: no polling comparison (it needs at most 63,001 nodes, and a 63,000-node kubectl
#   list takes minutes to write and read)
set -u
. "$(dirname "$0")/../scripts/lib.sh"
pn_need_root kube-bench.sh
sizes=()
samples=200
log=
poll=1
overlay=never
answer=0
routed=0
args=("$@")
while [ $# -gt 0 ]; do
        case $1 in
        -n) sizes+=("${2:?-n needs a number}"); shift 2 ;;
        -s) samples=${2:?-s needs a number}; shift 2 ;;
        -l) log=${2:?-l needs a file}; shift 2 ;;
        -o) overlay=${2:?-o needs a mode}; shift 2 ;;
        -R) answer=1; shift ;;
        -x) routed=1; shift ;;
        -P) poll=0; shift ;;
        -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "kube-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 63000)
set -- "${args[@]}"
pn_tool podnet-routes routes || exit 1
. "$pn_top/tests/netns/lib.sh"
top_srcdir=$pn_top
. "$pn_top/tests/kube/kube-lib.sh"
# Inside a private network and mount namespace from here on; it plays node1.

state=/run/kube-bench
mkdir -p "$state"
TMPDIR=$state
ip link set lo up
ip link add uplink type veth peer name switch
if [ "$routed" = 1 ]; then
        ip addr add 172.16.0.2/32 dev uplink # node1; the peers behind a router
else
        ip addr add 172.16.0.2/12 dev uplink # node1 of the generated list; every peer on link
fi
ip addr add 192.168.0.1/16 dev uplink # bench-node of gen-nodes.sh
ip link set uplink up
[ "$routed" = 0 ] || ip route add 172.16.0.0/12 via 192.168.0.254 dev uplink
if [ "$answer" = 1 ]; then
        # every peer behind the switch: ARP for any 172.16/12 address and ICMP echo to any
        # 10/8 address answered (local routes in main, so that node1's own are more specific)
        ip netns add peers
        ip link set switch netns peers
        ip -n peers link set lo up
        ip -n peers link set switch up
        ip -n peers addr add 172.31.255.254/32 dev switch
        ip -n peers route add 172.16.0.2/32 dev switch
        ip -n peers route add local 172.16.0.0/12 dev lo table main
        ip -n peers route add local 10.0.0.0/8 dev lo table main
        ip -n peers route add 10.0.0.0/26 via 172.16.0.2 dev switch
        ip netns exec peers sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.switch.rp_filter=0
else
        ip link set switch up
fi
kube_certs
echo bench-token > "$state/server-token"
kubeconfig "$state/kc" https://127.0.0.1:6443 "certificate-authority: $state/ca.crt" "token: bench-token"
echo "# kube-bench: $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'; }

for n in "${sizes[@]}"; do
        peers=$((n - 1))
        : > "$state/api.log"
        t=$(date +%s.%N)
        # generating 10 KB Nodes takes the server about a second per thousand when loaded
        KUBE_START_WAIT=$((200 + n / 10)) kube_serve - 6443 --gen "$n" --pad 10000 || exit 1
        echo "# $n nodes: server ready after $(echo "$(date +%s.%N) - $t" | bc) s"
        if [ "$answer" = 1 ]; then
                mac=$(ip -n peers -j link show switch | jq -r '.[0].address')
                awk -v n="$n" -v mac="$mac" 'BEGIN { for (i = 1; i < n; i++) {
                        a = int(i / 250); b = i % 250
                        printf "neigh replace 172.%d.%d.%d lladdr %s dev uplink nud permanent\n",
                                16 + int(a / 256), a % 256, b + 2, mac } }' | ip -batch -
        fi
        t0=$(date +%s.%N)
        "$routes" --node-name node1 --no-cni-conf --overlay "$overlay" run --no-firewall \
                --kubeconfig "$state/kc" --interval 3600 ${log:+-v} > /dev/null 2> "$state/run.err" &
        pid=$!
        while [ "$(ip route show proto 44 | wc -l)" -lt "$peers" ]; do
                kill -0 "$pid" 2>/dev/null || { echo "# run died:"; tail -n 5 "$state/run.err"; break; }
                sleep 0.2
        done
        t1=$(date +%s.%N)
        printf '%-44s %10.2f s\n' "$n nodes: start to all routes installed" "$(echo "$t1 - $t0" | bc)"
        paths() { ip route show proto 44 | awk '/ dev podnet.vx /{ v++ } END { printf "%d direct, %d over the overlay", NR - v, v }'; }
        printf '%-44s %s\n' "$n nodes: peers' paths after the list" "$(paths)"
        printf '%-44s %10s kB\n' "$n nodes: agent peak RSS (VmHWM) after the list" \
                "$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)"
        b0=$(python3 "$FAKE_API" ctl "$API_URL" stats | jq .bytes)
        python3 "$pn_top/tests/kube/route-latency.py" "$API_URL" "$samples" 2 "$n" > "$state/lat.txt" \
                2> "$state/lat.err" || sed 's/^/# latency: /' "$state/lat.err"
        b1=$(python3 "$FAKE_API" ctl "$API_URL" stats | jq .bytes)
        ok_n=$(grep -vc timeout "$state/lat.txt")
        printf '%-44s %10d B\n' "$n nodes: bytes from the API per node change" $(((b1 - b0) / samples))
        printf '%-44s %10s ms\n' "$n nodes: event to route, median ($ok_n samples)" \
                "$(grep -v timeout "$state/lat.txt" | percentile 50)"
        printf '%-44s %10s ms\n' "$n nodes: event to route, p99" "$(grep -v timeout "$state/lat.txt" | percentile 99)"
        printf '%-44s %s\n' "$n nodes: peers' paths after the changes" "$(paths)"
        [ -z "$log" ] || printf '%-44s %s\n' "$n nodes: passes for the changes" \
                "$(grep -c 'Partial pass: .* writes' "$state/run.err") partial, $(grep -c 'Route sync: .* writes' "$state/run.err") full (the first included)"
        printf '%-44s %10s kB\n' "$n nodes: agent peak RSS after the changes" \
                "$(awk '/VmHWM/ { print $2 }' /proc/$pid/status)"
        kill -TERM "$pid"; wait "$pid"
        [ -n "$log" ] && cat "$state/run.err" >> "$log"
        kill "$API_PID"; wait "$API_PID" 2>/dev/null
        ip route flush proto 44 2>/dev/null
        ip link del podnet.vx 2>/dev/null
        ip neigh flush dev uplink nud permanent 2>/dev/null
        ip -j nexthop show 2>/dev/null | jq -r '.[] | select(.protocol == "44") | .id' |
                sed 's/^/nexthop del id /' | ip -batch - 2>/dev/null
        [ "$poll" = 1 ] && [ "$n" -le 63001 ] || continue

        # polling, for comparison: one read of the same number of Nodes as kubectl prints them
        "$pn_top/bench/gen-nodes.sh" -n "$peers" > "$state/nodes.json"
        printf '%-44s %10s MB\n' "$n nodes: kubectl-format list size" "$(($(stat -c %s "$state/nodes.json") / 1000000))"
        for how in "--nodes-cmd" "--nodes"; do
                arg=$state/nodes.json
                [ "$how" = --nodes-cmd ] && arg="cat $state/nodes.json"
                /usr/bin/time -f "%e %M" -o "$state/time.txt" "$routes" --node-name bench-node \
                        --no-cni-conf --no-firewall --overlay never sync --dry-run "$how" "$arg" \
                        > /dev/null 2> "$state/poll.err" || tail -n 3 "$state/poll.err"
                read -r secs rss < "$state/time.txt"
                printf '%-44s %7s s %9s kB\n' "$n nodes: one poll, sync --dry-run $how" "$secs" "$rss"
        done
        rm -f "$state/nodes.json"
done
