#!/bin/bash
# How long a /metrics scrape of podnet-routes run takes while the agent syncs 5,000 peers
# (bench/gen-nodes.sh, the list switched every second between two versions so that the
# passes write), against the same agent idle (--idle: one sync, then nothing). Prints the
# scrape latencies (median, p99, max) and the agent's own sync figures from /metrics.
# Inside private namespaces (tests/netns/lib.sh); never fails on a time.
# Usage (from a build directory): top_srcdir=.. PODNET_ROUTES=$PWD/podnet-routes \
#       bash ../bench/metrics-scrape.sh [--idle] [-n PEERS] [-s SECONDS]
. "$top_srcdir/tests/netns/lib.sh"
idle=0 peers=5000 secs=20
while [ $# -gt 0 ]; do
        case $1 in
        --idle) idle=1; shift ;;
        -n) peers=$2; shift 2 ;;
        -s) secs=$2; shift 2 ;;
        *) echo "metrics-scrape.sh: unknown argument $1" >&2; exit 2 ;;
        esac
done
ip netns add bn
ip -n bn link set lo up
# the peers' addresses on link (192.168.0.0/16 on a veth whose peer end is up)
ip -n bn link add eth0 type veth peer name eth1
ip -n bn link set eth1 up
ip -n bn addr add 192.168.0.1/16 dev eth0
ip -n bn link set eth0 up
"$top_srcdir/bench/gen-nodes.sh" -n "$peers" > "$TMPDIR/a.json"
"$top_srcdir/bench/gen-nodes.sh" -n "$peers" --changed $((peers / 2)) > "$TMPDIR/b.json"
cp "$TMPDIR/a.json" "$TMPDIR/nodes.json"
interval=1
[ $idle = 1 ] && interval=3600
ip netns exec bn "$PODNET_ROUTES" --node-name bench-node --no-cni-conf --no-firewall --overlay never run \
        --nodes-cmd "cat $TMPDIR/nodes.json" --interval $interval \
        --metrics-addr 127.0.0.1:9633 > /dev/null 2> "$TMPDIR/err" &
pid=$!
for i in $(seq 1 600); do
        ip netns exec bn python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:9633/healthz')" \
                2>/dev/null && break
        sleep 0.1
done
flip=
if [ $idle = 0 ]; then
        # (a new file by rename: the command never reads half of one)
        while :; do
                cp "$TMPDIR/b.json" "$TMPDIR/n.tmp" && mv "$TMPDIR/n.tmp" "$TMPDIR/nodes.json"
                sleep 1
                cp "$TMPDIR/a.json" "$TMPDIR/n.tmp" && mv "$TMPDIR/n.tmp" "$TMPDIR/nodes.json"
                sleep 1
        done &
        flip=$!
fi
echo "# $peers peers, $([ $idle = 1 ] && echo idle || echo 'syncing every second'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
ip netns exec bn python3 - "$secs" <<'PY'
import statistics, sys, time, urllib.request
lat, end = [], time.time() + float(sys.argv[1])
while time.time() < end:
    t = time.perf_counter()
    urllib.request.urlopen("http://127.0.0.1:9633/metrics", timeout=10).read()
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.01)
lat.sort()
print("scrapes %d: median %.2f ms, p99 %.2f ms, max %.2f ms"
      % (len(lat), statistics.median(lat), lat[int(len(lat) * 0.99)], lat[-1]))
m = {}
for l in urllib.request.urlopen("http://127.0.0.1:9633/metrics").read().decode().splitlines():
    if not l.startswith("#"):
        k, v = l.rsplit(" ", 1)
        m[k] = float(v)
n = m["podnet_sync_duration_seconds_count"]
print("syncs %d (mean %.1f ms), kernel writes %d, peers ok %d"
      % (n, 1000 * m["podnet_sync_duration_seconds_sum"] / max(n, 1),
         m["podnet_kernel_writes_total"], m['podnet_peers{state="ok",path="direct"}']))
PY
[ -n "$flip" ] && kill "$flip"
kill "$pid"
wait "$pid"
grep -v '^$' "$TMPDIR/err" | head -3 | sed 's/^/# stderr: /'
ok "measured"
finish
