#!/bin/bash
# podnet-routes run --metrics-addr: /healthz 200 after good syncs, 503 with the reason
# after a refused node list and while the node source fails past
# --healthz-source-timeout, 200 again after each recovery; /metrics valid in the
# Prometheus text format on every scrape, its counters growing with the passes, its
# histogram cumulative with +Inf = count; a bad or busy address a clear error.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
routes_setup
cp "$TMPDIR/nodes3.txt" "$TMPDIR/live.txt"
addr=127.0.0.1:9633

# get PATH: "STATUS BODY" of http://$addr/PATH from inside node1
get() {
        ip netns exec node1 python3 - "http://$addr$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(r.status, r.read().decode(), end="")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode(), end="")
PY
}
# validate FILE: every line a HELP, TYPE or sample line of the family last typed, in
# the text format 0.0.4; histograms cumulative with +Inf = _count. Prints what is wrong.
validate() {
        python3 - "$1" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)(\{(%s(,%s)*)?\})? (\S+)$" % (name, label, label))
value = re.compile(r"^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$")
text = open(sys.argv[1]).read()
bad = 0 if text.endswith("\n") else print("no final newline") or 1
types, fam, hist = {}, None, {}
for l in text.splitlines():
    m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % name, l)
    if m:
        if m.group(1) == "TYPE":
            if m.group(2) in types or m.group(3) not in ("counter", "gauge", "histogram", "summary", "untyped"):
                print("bad TYPE:", l); bad += 1
            types[m.group(2)] = m.group(3); fam = m.group(2)
        continue
    m = sample.match(l)
    if not m or not value.match(m.group(5)) or not fam or not m.group(1).startswith(fam):
        print("bad line:", l); bad += 1; continue
    if types[fam] == "counter" and not m.group(1).endswith("_total"):
        print("counter without _total:", l); bad += 1
    if types[fam] == "histogram":
        h = hist.setdefault(fam, {"b": [], "count": None})
        if m.group(1) == fam + "_bucket":
            le = re.search(r'le="([^"]*)"', m.group(2)).group(1)
            h["b"].append((float(le), float(m.group(5))))
        elif m.group(1) == fam + "_count":
            h["count"] = float(m.group(5))
for f, h in hist.items():
    les = [b[0] for b in h["b"]]; vals = [b[1] for b in h["b"]]
    if les != sorted(les) or les[-1] != float("inf"):
        print(f, "buckets not ordered or no +Inf"); bad += 1
    if vals != sorted(vals):
        print(f, "buckets not cumulative", vals); bad += 1
    if vals[-1] != h["count"]:
        print(f, "+Inf bucket", vals[-1], "!= count", h["count"]); bad += 1
sys.exit(1 if bad else 0)
PY
}
# metric FILE KEY: the value of the sample written KEY (name and labels) in FILE
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
healthy() { [ "$(get /healthz)" = "200 ok" ]; }
unhealthy_with() { get /healthz > "$TMPDIR/hz"; grep -q "^503 .*$1" "$TMPDIR/hz"; }

fails_with "a bad --metrics-addr: usage error" 'Invalid value for --metrics-addr: "localhost"' \
        pr node1 --no-cni-conf run --nodes "$TMPDIR/live.txt" --metrics-addr localhost
pr node1 --no-cni-conf run --nodes "$TMPDIR/live.txt" --metrics-addr 127.0.0.1:99999 \
        > /dev/null 2>&1
is "a port out of range: exit status 2" "$?" 2
fails_with "--metrics-addr is for run only" "for run only" \
        pr node1 --no-cni-conf sync --nodes "$TMPDIR/live.txt" --metrics-addr "$addr"

# the node command fails while $TMPDIR/broken exists
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --nodes-cmd "test ! -e $TMPDIR/broken && cat $TMPDIR/live.txt" --no-firewall \
        --interval 1 --metrics-addr "$addr" --healthz-source-timeout 4 \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "run routes node2" has_route 10.1.2.0/24 192.168.1.12
PN_WAIT=5 wait_for "/healthz: 200 ok after a good sync" healthy
fails_with "a second server on the same port: a clear error" "Cannot serve metrics on $addr" \
        pr node1 --no-cni-conf run --nodes "$TMPDIR/live.txt" --no-firewall --metrics-addr "$addr"
nope=$(get /nope)
is "an unknown path: 404" "${nope:0:3}" 404

get /metrics > "$TMPDIR/m1.txt"
check "/metrics answers 200" grep -q "^200 " "$TMPDIR/m1.txt"
sed -i '1s/^200 //' "$TMPDIR/m1.txt"
check "/metrics: every line valid exposition format" validate "$TMPDIR/m1.txt"
is "build info carries the version" \
        "$(metric "$TMPDIR/m1.txt" "podnet_build_info{version=\"$("$PODNET_ROUTES" --version | cut -d' ' -f2)\"}")" 1
is "peers: node2 and node3 routed directly" \
        "$(metric "$TMPDIR/m1.txt" 'podnet_peers{state="ok",path="direct"}')" 2
is "peers: none through the overlay" \
        "$(metric "$TMPDIR/m1.txt" 'podnet_peers{state="ok",path="vxlan"}')" 0
is "watch counters registered (no watch: 0)" \
        "$(metric "$TMPDIR/m1.txt" podnet_watch_reconnects_total) $(metric "$TMPDIR/m1.txt" podnet_relists_total)" "0 0"
check "kernel writes counted (two routes at least)" \
        test "$(metric "$TMPDIR/m1.txt" podnet_kernel_writes_total)" -ge 2
last=$(metric "$TMPDIR/m1.txt" podnet_last_sync_success_timestamp_seconds)
check "last success is a recent unix time" \
        python3 -c "import sys,time; sys.exit(not (0 < time.time() - $last < 60))"

# a route deleted by hand: a route pass restores it, counted with its write
ip -n node1 route del 10.1.3.0/24 proto 44
wait_for "route restored" has_route 10.1.3.0/24 192.168.1.13
sleep 2.2 # (two more full passes, one a second)
get /metrics | sed '1s/^200 //' > "$TMPDIR/m2.txt"
check "second scrape valid too" validate "$TMPDIR/m2.txt"
full1=$(metric "$TMPDIR/m1.txt" 'podnet_syncs_total{kind="full",result="ok"}')
full2=$(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="full",result="ok"}')
check "full syncs counted: $full1, then $full2" test "$full2" -ge $((full1 + 2))
check "the route pass counted" \
        test "$(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="routes",result="ok"}')" -ge 1
check "kernel writes grew with the restore" test \
        "$(metric "$TMPDIR/m2.txt" podnet_kernel_writes_total)" -gt \
        "$(metric "$TMPDIR/m1.txt" podnet_kernel_writes_total)"
count=$(metric "$TMPDIR/m2.txt" podnet_sync_duration_seconds_count)
is "histogram count = full + route syncs" "$count" \
        $(($(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="full",result="ok"}') +
           $(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="full",result="error"}') +
           $(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="routes",result="ok"}') +
           $(metric "$TMPDIR/m2.txt" 'podnet_syncs_total{kind="routes",result="error"}')))
is "+Inf bucket = count" \
        "$(metric "$TMPDIR/m2.txt" 'podnet_sync_duration_seconds_bucket{le="+Inf"}')" "$count"

# a node list without this node is refused: the sync fails, nothing changes
grep -v '^node1 ' "$TMPDIR/nodes3.txt" > "$TMPDIR/live.txt"
PN_WAIT=5 wait_for "/healthz: 503 after a refused node list" unhealthy_with "refused the node list"
sed 's/^/# /' "$TMPDIR/hz"
get /metrics | sed '1s/^200 //' > "$TMPDIR/m3.txt"
check "the failed sync counted" \
        test "$(metric "$TMPDIR/m3.txt" 'podnet_syncs_total{kind="full",result="error"}')" -ge 1
check "routes kept" has_route 10.1.2.0/24 192.168.1.12
cp "$TMPDIR/nodes3.txt" "$TMPDIR/live.txt"
PN_WAIT=5 wait_for "/healthz: 200 again after a good sync" healthy

# the node source fails: the previous list is kept (healthy) until the threshold (4 s)
touch "$TMPDIR/broken"
t0=$(date +%s.%N)
PN_WAIT=3 wait_for "node source down in the metrics" \
        sh -c "$(declare -f get); addr=$addr; get /metrics | grep -qx 'podnet_node_source_up 0'"
get /healthz > "$TMPDIR/hz"
if python3 -c "import sys,time; sys.exit(time.time() - $t0 > 3)"; then
        is "still healthy within the threshold" "$(cat "$TMPDIR/hz")" "200 ok"
else
        ok "# SKIP still healthy within the threshold: this machine took over 3 s to look"
fi
PN_WAIT=8 wait_for "/healthz: 503 once the source has failed longer than 4 s" \
        unhealthy_with "node source has failed for"
sed 's/^/# /' "$TMPDIR/hz"
check "routes kept while the source is down" has_route 10.1.3.0/24 192.168.1.13
rm -f "$TMPDIR/broken"
PN_WAIT=5 wait_for "/healthz: 200 after the source recovered" healthy
get /metrics | sed '1s/^200 //' > "$TMPDIR/m4.txt"
check "source failures counted" test "$(metric "$TMPDIR/m4.txt" podnet_node_source_failures_total)" -ge 2
check "final scrape valid" validate "$TMPDIR/m4.txt"

kill -TERM "$pid"
wait "$pid"
is "SIGTERM with the server running: exit status 0" "$?" 0
check_fails "the server is gone" get /healthz
sed 's/^/# stderr: /' "$TMPDIR/run.err"

# the overlay: peers the sync sends through VXLAN are counted with path="vxlan"
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay always run \
        --nodes "$TMPDIR/live.txt" --no-firewall --interval 3600 --metrics-addr "$addr" \
        > "$TMPDIR/vx.out" 2> "$TMPDIR/vx.err" &
pid=$!
PN_WAIT=5 wait_for "--overlay always: /healthz 200" healthy
get /metrics | sed '1s/^200 //' > "$TMPDIR/m5.txt"
is "--overlay always: node2 and node3 counted through the overlay" \
        "$(metric "$TMPDIR/m5.txt" 'podnet_peers{state="ok",path="vxlan"}')" 2
is "--overlay always: none counted as direct" \
        "$(metric "$TMPDIR/m5.txt" 'podnet_peers{state="ok",path="direct"}')" 0
kill -TERM "$pid"
wait "$pid"
is "--overlay always: exit status 0 after SIGTERM" "$?" 0
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf teardown --no-firewall \
        > /dev/null 2>&1

# --kube: the watch's reconnects and relists as the source counts them, the API down
# past the threshold failing /healthz with the source's reason (tests/kube/fake-apiserver.py)
if [ -f "$top_srcdir/tests/kube/kube-lib.sh" ] && command -v openssl >/dev/null; then
        . "$top_srcdir/tests/kube/kube-lib.sh"
        kube_certs || { fail "openssl could not make certificates"; finish; }
        echo secret-1 > "$TMPDIR/server-token"
        echo secret-1 > "$TMPDIR/token"
        kube_serve node1 6443 --bookmark 1 || { fail "fake API server"; finish; }
        for i in 1 2 3; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
        kubeconfig "$TMPDIR/kc" "$API_URL" "certificate-authority: ca.crt" "tokenFile: token"
        ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never \
                run --no-firewall --kubeconfig "$TMPDIR/kc" --interval 3600 --metrics-addr "$addr" \
                --healthz-source-timeout 2 > "$TMPDIR/kube.out" 2> "$TMPDIR/kube.err" &
        pid=$!
        PN_WAIT=5 wait_for "--kube: /healthz 200 once listed and watching" healthy
        kmetric() { get /metrics | sed '1s/^200 //' | awk -v k="$1" '$1 == k { print $2 }'; }
        is "--kube: no reconnect, no relist yet" \
                "$(kmetric podnet_watch_reconnects_total) $(kmetric podnet_relists_total)" "0 0"
        kctl node1 drop
        PN_WAIT=5 wait_for "a dropped watch: podnet_watch_reconnects_total 1" \
                sh -c "$(declare -f get); addr=$addr; get /metrics | grep -qx 'podnet_watch_reconnects_total 1'"
        kctl node1 compact
        PN_WAIT=5 wait_for "410 Gone: podnet_relists_total 1" \
                sh -c "$(declare -f get); addr=$addr; get /metrics | grep -qx 'podnet_relists_total 1'"
        PN_WAIT=5 wait_for "healthy again after the relist" healthy
        kctl node1 down
        PN_WAIT=10 wait_for "API down over 2 s: /healthz 503 with the source's reason" \
                unhealthy_with "node source has failed for .*: "
        sed 's/^/# /' "$TMPDIR/hz"
        is "the API down: podnet_node_source_up 0" "$(kmetric podnet_node_source_up)" 0
        check "routes kept while the API is down" has_route 10.1.2.0/24 192.168.1.12
        kctl node1 up
        PN_WAIT=15 wait_for "the API back: /healthz 200" healthy
        kill -TERM "$pid"
        wait "$pid"
        is "--kube: SIGTERM, exit status 0" "$?" 0
        kill "$API_PID" 2>/dev/null
        wait "$API_PID" 2>/dev/null
fi
finish
