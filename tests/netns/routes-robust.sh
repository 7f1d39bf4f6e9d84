#!/bin/bash
# podnet-routes against bad node lists, hanging node list commands and other writers:
# an empty list, or one without this node, changes nothing (sync exits 4, run keeps
# going); --nodes-cmd is killed with its whole process group after --nodes-timeout, and
# run keeps restoring routes and answering signals while the command runs; podnet's own
# writers are serialised (two syncs at once both succeed, a second run refuses) and a
# sync racing with a foreign writer of protocol 44 retries instead of failing.
# Every wait is bounded: a regression fails, it does not hang.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
N="$TMPDIR/nodes3.txt"
FLAGS="--no-firewall --no-cni-conf --overlay never" # (direct routing under test)

ms_now() { echo $(($(date +%s%N) / 1000000)); }
# n_sleeps: sleep processes left in this test's PID namespace
n_sleeps() { ps -eo comm= | grep -cx sleep; }
two_sleeps() { [ "$(n_sleeps)" = 2 ]; }
# exited_within PID SECONDS: waits at most SECONDS for PID to exit; its status in $rc
exited_within() {
        local i
        for i in $(seq 1 $(($2 * 20))); do
                if ! kill -0 "$1" 2>/dev/null; then
                        wait "$1"
                        rc=$?
                        return 0
                fi
                sleep 0.05
        done
        return 1
}
# term_ok PID: SIGTERM, then exit status 0 within 2 s
term_ok() {
        kill -TERM "$1"
        if exited_within "$1" 2; then
                is "run: SIGTERM exits 0" "$rc" 0
        else
                fail "run: SIGTERM not answered within 2 s"
                kill -KILL "$1"
        fi
}

# --- 4. a node list that is not a valid picture of the cluster changes nothing ----------
pr node1 sync --nodes "$N" $FLAGS > /dev/null
is "baseline: two routes" "$(routes44 node1 | tr '\n' ' ')" \
        "10.1.2.0/24 via 192.168.1.12 10.1.3.0/24 via 192.168.1.13 "
base=$(routes44 node1)

refused() { # refused DESC ARGS...: sync exits 4, says why, keeps every route
        local what=$1
        shift
        timeout 10 ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS sync "$@" \
                > "$TMPDIR/refused.out" 2> "$TMPDIR/refused.err"
        is "$what: sync exits 4" "$?" 4
        check "$what: the reason is on stderr" grep -q "^podnet-routes: .*node list.*refusing" \
                "$TMPDIR/refused.err"
        is "$what: every route kept" "$(routes44 node1)" "$base"
}
refused "empty --nodes-cmd" --nodes-cmd true
echo '{"apiVersion":"v1","kind":"NodeList","items":[],"metadata":{"resourceVersion":"1"}}' \
        > "$TMPDIR/empty.json"
refused "empty NodeList" --nodes "$TMPDIR/empty.json"
printf '# no node here\n\n   # nor here\n' > "$TMPDIR/comments.txt"
refused "static file with only comments" --nodes "$TMPDIR/comments.txt"
grep -v '^node1' "$N" | sed 's/^node3 .*/node4 10.1.4.0\/24 192.168.1.14/' > "$TMPDIR/noself.txt"
refused "list without this node" --nodes "$TMPDIR/noself.txt"
check "the message names the node" grep -q "node1" "$TMPDIR/refused.err"
refused "dry run of an empty list" --nodes "$TMPDIR/comments.txt" --dry-run
# a real cluster shrinking node by node still works
grep -v '^node3' "$N" > "$TMPDIR/nodes2.txt"
pr node1 sync --nodes "$TMPDIR/nodes2.txt" $FLAGS > /dev/null
is "a node leaving a list that holds this node: exit 0" "$?" 0
is "its route goes" "$(routes44 node1)" "10.1.2.0/24 via 192.168.1.12"
grep '^node1' "$N" > "$TMPDIR/nodes1.txt"
pr node1 sync --nodes "$TMPDIR/nodes1.txt" $FLAGS > /dev/null
is "the last peer leaving: exit 0" "$?" 0
is "no route left" "$(n_routes44 node1)" 0
pr node1 sync --nodes "$N" $FLAGS > /dev/null

# run: an invalid list is reported, the previous one kept, and run goes on
cp "$N" "$TMPDIR/live.txt"
ip -n node1 route del 10.1.3.0/24 proto 44 # so that its return shows run's first pass
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS run \
        --nodes-cmd "cat $TMPDIR/live.txt" --interval 3600 \
        > "$TMPDIR/run1.out" 2> "$TMPDIR/run1.err" &
pid=$!
wait_for "run: routes in place" has_route 10.1.3.0/24 192.168.1.13
: > "$TMPDIR/live.txt"
kill -HUP "$pid"
sleep 0.5
check "run: still running after an empty list" kill -0 "$pid"
is "run: every route kept after an empty list" "$(routes44 node1)" "$base"
check "run: the empty list is reported" grep -q "node list.*refusing" "$TMPDIR/run1.err"
cp "$TMPDIR/noself.txt" "$TMPDIR/live.txt"
kill -HUP "$pid"
sleep 0.5
is "run: every route kept after a list without this node" "$(routes44 node1)" "$base"
ip -n node1 route del 10.1.3.0/24 proto 44
wait_for "run: a deleted route is restored from the last valid list" \
        has_route 10.1.3.0/24 192.168.1.13
kill -TERM "$pid"
term_ok "$pid"

# --- 5. --nodes-cmd has a time limit; the command's whole process group goes -----------
# (timed from the command's start: a loaded machine may take a while to start podnet-routes)
timeout 10 ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS sync \
        --nodes-cmd "echo \$((\$(date +%s%N) / 1000000)) > $TMPDIR/t0; sleep 1000 & sleep 1000" \
        --nodes-timeout 1 > /dev/null 2> "$TMPDIR/timeout.err"
rc=$?
el=$(($(ms_now) - $(cat "$TMPDIR/t0" 2>/dev/null || echo 0)))
check "sync with a hanging command returns within 2 s of its start (${el} ms)" test "$el" -lt 2000
is "sync with a hanging command fails: exit 1" "$rc" 1
check "the timeout is reported" grep -qi "timed out\|time limit" "$TMPDIR/timeout.err"
sleep 0.2
is "no process of the command is left (its background child too)" "$(n_sleeps)" 0
is "routes kept after the timeout" "$(routes44 node1)" "$base"
# sync stopped while the command runs: the command's group goes with it
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS sync \
        --nodes-cmd 'sleep 1000 & sleep 1000' > /dev/null 2>&1 &
pid=$!
wait_for "sync: the node list command is running" two_sleeps
kill -TERM "$pid"
exited_within "$pid" 2 || { fail "sync: SIGTERM not answered"; kill -KILL "$pid"; }
is "sync: SIGTERM while the command runs ends it (status 143)" "$rc" 143
sleep 0.2
is "sync: SIGTERM kills the command's group" "$(n_sleeps)" 0
pr node1 sync --nodes-cmd "cat $N" --nodes-timeout 0 $FLAGS > /dev/null 2>&1
is "--nodes-timeout 0 is a usage error" "$?" 2

# run: while the command hangs, routes are restored and signals answered
cp "$N" "$TMPDIR/live.txt"
rm -f "$TMPDIR/hang"
ip -n node1 route del 10.1.3.0/24 proto 44
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS run --interval 3600 \
        --nodes-cmd "if [ -e $TMPDIR/hang ]; then sleep 1000 & sleep 1000; fi; cat $TMPDIR/live.txt" \
        > "$TMPDIR/run2.out" 2> "$TMPDIR/run2.err" &
pid=$!
wait_for "run: routes in place" has_route 10.1.3.0/24 192.168.1.13
touch "$TMPDIR/hang"
kill -HUP "$pid"
wait_for "run: the node list command is running (hangs)" two_sleeps
t0=$(ms_now)
ip -n node1 route del 10.1.3.0/24 proto 44
wait_for "run: a route deleted while the command hangs is restored" \
        has_route 10.1.3.0/24 192.168.1.13
echo "# restored after $(($(ms_now) - t0)) ms"
kill -HUP "$pid" # while a fetch runs: no second one
sleep 0.2
is "run: SIGHUP during a fetch starts no second command" "$(n_sleeps)" 2
t0=$(ms_now)
kill -TERM "$pid"
if exited_within "$pid" 2; then
        is "run: SIGTERM while the command hangs exits 0" "$rc" 0
        echo "# exited after $(($(ms_now) - t0)) ms"
else
        fail "run: SIGTERM while the command hangs not answered within 2 s"
        kill -KILL "$pid"
fi
sleep 0.2
is "run: the command's group is killed on exit" "$(n_sleeps)" 0

# run: the time limit applies too, the previous list is kept
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS run --interval 3600 \
        --nodes-timeout 1 \
        --nodes-cmd "if [ -e $TMPDIR/hang ]; then sleep 1000 & sleep 1000; fi; cat $TMPDIR/live.txt" \
        > "$TMPDIR/run3.out" 2> "$TMPDIR/run3.err" &
pid=$!
sleep 2.5
check "run: a timed-out command is reported" grep -qi "timed out\|time limit" "$TMPDIR/run3.err"
is "run: its group is killed at the time limit" "$(n_sleeps)" 0
check "run: still running" kill -0 "$pid"
rm -f "$TMPDIR/hang"
kill -HUP "$pid"
ip -n node1 route del 10.1.2.0/24 proto 44
wait_for "run: works again when the command does" has_route 10.1.2.0/24 192.168.1.12
kill -TERM "$pid"
term_ok "$pid"

# --- 6. serialised writers ------------------------------------------------------------
pr node1 teardown $FLAGS > /dev/null
# 1200 nodes: node1 and 1199 peers on one /16 (directly reachable from node1)
ip -n node1 addr add 192.168.100.1/16 dev eth0
awk 'BEGIN { print "node1 10.1.1.0/24 192.168.1.11"
        for (i = 0; i < 1199; i++)
                printf "peer%d 10.%d.%d.0/24 192.168.%d.%d\n", i, 100 + int(i / 256), i % 256,
                        101 + int(i / 250), 1 + i % 250 }' > "$TMPDIR/big.txt"
consistent() { # the whole list installed: 1199 routes, each via one of 1199 nexthops of 44
        local r n bad
        r=$(ip -n node1 -j route show proto 44 | jq length)
        n=$(ip -n node1 -j nexthop show | jq '[.[] | select(.protocol == "44")] | length')
        bad=$(ip -n node1 -j route show proto 44 | jq '[.[] | select(.nhid == null)] | length')
        echo "$r routes, $n nexthops, $bad without nexthop"
}
# three rounds (a race needs the two to overlap): teardown, then two cold syncs at once
fails=0
for k in 1 2 3; do
        pr node1 teardown $FLAGS > /dev/null 2>&1
        pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > "$TMPDIR/a.out" 2>&1 &
        a=$!
        pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > "$TMPDIR/b.out" 2>&1 &
        b=$!
        exited_within "$a" 30 || { kill "$a"; rc=timeout; }
        [ "$rc" = 0 ] || fails=$((fails + 1))
        exited_within "$b" 30 || { kill "$b"; rc=timeout; }
        [ "$rc" = 0 ] || fails=$((fails + 1))
        grep -h "^podnet-routes:" "$TMPDIR/a.out" "$TMPDIR/b.out" | head -2 | sed 's/^/# /'
        c=$(consistent)
        [ "$c" = "1199 routes, 1199 nexthops, 0 without nexthop" ] ||
                { fails=$((fails + 1)); echo "# round $k: $c"; }
done
is "two syncs at once, three rounds: all exit 0 with a consistent state" "$fails" 0
out=$(pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS --json)
is "then a no-op" "$(echo "$out" | jq -c '[.summary.kept, .summary.writes]')" "[1199,0]"

# two teardowns and a sync at once
pr node1 teardown $FLAGS > /dev/null 2>&1 &
a=$!
pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > /dev/null 2>&1 &
b=$!
exited_within "$a" 30 || { kill "$a"; rc=timeout; }
is "teardown racing a sync: exit 0" "$rc" 0
exited_within "$b" 30 || { kill "$b"; rc=timeout; }
is "sync racing a teardown: exit 0" "$rc" 0
pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > /dev/null 2>&1

# a second run refuses to start
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS run --nodes "$TMPDIR/big.txt" \
        --interval 3600 > /dev/null 2> "$TMPDIR/runA.err" &
pid=$!
sleep 1
check "first run is running" kill -0 "$pid"
timeout 5 ip netns exec node1 "$PODNET_ROUTES" --node-name node1 $FLAGS run \
        --nodes "$N" --interval 3600 > /dev/null 2> "$TMPDIR/runB.err"
is "second run on the same node: exit 5" "$?" 5
check "second run says why" grep -q "^podnet-routes: .*already running" "$TMPDIR/runB.err"
sed 's/^/# /' "$TMPDIR/runB.err"
is "the first run's routes are untouched" "$(consistent)" "1199 routes, 1199 nexthops, 0 without nexthop"
ip netns exec node2 "$PODNET_ROUTES" --node-name node2 $FLAGS run --nodes "$N" \
        --interval 3600 > /dev/null 2>&1 &
pid2=$!
sleep 0.5
check "a run on another node (network namespace) starts" kill -0 "$pid2"
kill -TERM "$pid" "$pid2"
exited_within "$pid" 2 || fail "first run did not exit"
exited_within "$pid2" 2 || fail "run on node2 did not exit"

# a foreign writer of protocol 44 racing: sync retries instead of failing
pr node1 teardown $FLAGS > /dev/null
pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > /dev/null
ip -n node1 -j nexthop show | jq -r '.[] | select(.protocol == "44") | "\(.id) \(.gateway)"' |
        head -40 > "$TMPDIR/nhs.txt"
pr node1 teardown $FLAGS > /dev/null
# in a process group of its own (setsid), to be stopped as a whole
setsid bash -c '
        echo $$ > "$TMPDIR/writer.pid"
        while :; do
                while read -r id gw; do
                        echo "nexthop add id $id via $gw dev eth0 proto 44"
                done < "$TMPDIR/nhs.txt"
                for i in $(seq 0 40); do
                        echo "route add 10.100.$i.0/24 via 192.168.1.12 proto 44"
                done
                while read -r id gw; do echo "nexthop del id $id"; done < "$TMPDIR/nhs.txt"
                for i in $(seq 0 40); do echo "route del 10.100.$i.0/24 proto 44"; done
                sleep 0.002
        done | ip -n node1 -force -batch -' > /dev/null 2>&1 &
sleep 0.3
writer=$(cat "$TMPDIR/writer.pid")
fails=0 retried=0 miscounted=0
for k in 1 2 3 4 5 6; do
        pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS --json -v > "$TMPDIR/race$k.json" \
                2> "$TMPDIR/race$k.err" ||
                { fails=$((fails + 1)); grep "^podnet-routes: [A-Z]" "$TMPDIR/race$k.err" |
                        grep -v "Route sync" | head -2 | sed 's/^/# /'; }
        # a cold sync: every route written by one pass or another, none found in place
        grep -q "raced with another writer" "$TMPDIR/race$k.err" && retried=$((retried + 1))
        [ "$(jq '.summary.kept' "$TMPDIR/race$k.json")" = 0 ] || miscounted=$((miscounted + 1))
        pr node1 teardown $FLAGS > /dev/null 2>&1 ||
                { fails=$((fails + 1)); echo "# teardown $k failed"; }
done
kill -- -"$writer"
echo "# $retried of 6 syncs raced with the writer and made another pass"
is "six syncs and teardowns racing a foreign writer: none failed" "$fails" 0
is "a retried sync reports what every pass wrote (no route kept in a cold sync)" \
        "$miscounted" 0
pr node1 sync --nodes "$TMPDIR/big.txt" $FLAGS > /dev/null
is "after the race: consistent state" "$(consistent)" "1199 routes, 1199 nexthops, 0 without nexthop"
finish
