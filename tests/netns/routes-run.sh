#!/bin/bash
# podnet-routes run: restores a deleted podnet route or nexthop promptly (netlink events),
# resyncs on SIGHUP, re-runs --nodes-cmd, and exits 0 on SIGTERM leaving routes in place.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
cp "$TMPDIR/nodes3.txt" "$TMPDIR/live.txt"

# not through a shell function: $! must be podnet-routes itself (ip netns exec execs it)
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --nodes-cmd "cat $TMPDIR/live.txt" --no-firewall --interval 3600 \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "run installs node2's route" has_route 10.1.2.0/24 192.168.1.12
wait_for "run installs node3's route" has_route 10.1.3.0/24 192.168.1.13

ip -n node1 route del 10.1.3.0/24 proto 44
wait_for "route deleted by hand is restored" has_route 10.1.3.0/24 192.168.1.13
ip -n node1 route replace 10.1.2.0/24 via 192.168.1.13 proto 44
wait_for "route changed by hand is put back" has_route 10.1.2.0/24 192.168.1.12
nid=$(ip -n node1 -j route show 10.1.3.0/24 proto 44 | jq '.[0].nhid')
check "node3's route uses a nexthop object" test "$nid" -gt 0
ip -n node1 nexthop del id "$nid"
wait_for "nexthop deleted by hand (its route went with it) is restored" \
        has_route 10.1.3.0/24 192.168.1.13
is "restored with its nexthop object" "$(ip -n node1 -j nexthop show id "$nid" |
        jq -r '.[0] | "\(.gateway) \(.protocol)"')" "192.168.1.13 44"

echo "node4 10.1.4.0/24 192.168.1.14" >> "$TMPDIR/live.txt"
sleep 0.2
check_fails "new node not routed before SIGHUP" has_route 10.1.4.0/24 192.168.1.14
kill -HUP "$pid"
wait_for "SIGHUP re-runs the node command and resyncs" has_route 10.1.4.0/24 192.168.1.14
check "still running after SIGHUP" kill -0 "$pid"
is "the process is podnet-routes" "$(cat /proc/$pid/comm)" podnet-routes

kill -TERM "$pid"
wait "$pid"
is "SIGTERM: exit status 0" "$?" 0
is "routes stay after exit" "$(n_routes44 node1)" 3
check_fails "no error output" grep -q . "$TMPDIR/run.err"
sed 's/^/# stderr: /' "$TMPDIR/run.err"

# SIGINT too (once run is up: it has restored a route; a shell starts background
# commands with SIGINT ignored, so one sent before run set up its handling is lost)
ip -n node1 route del 10.1.3.0/24 proto 44
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --nodes "$TMPDIR/live.txt" --no-firewall --interval 1 > /dev/null 2>&1 &
pid=$!
wait_for "run is up" has_route 10.1.3.0/24 192.168.1.13
kill -INT "$pid"
for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
        fail "SIGINT not answered within 2 s"
        kill -KILL "$pid"
else
        wait "$pid"
        is "SIGINT: exit status 0" "$?" 0
fi
finish
