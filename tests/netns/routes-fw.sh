#!/bin/bash
# podnet-routes and the firewall: chains present exactly once after repeated syncs, the
# rules scoped to the cluster CIDR, all gone after teardown; other rules untouched.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v iptables-legacy >/dev/null || { echo "SKIP: iptables-legacy not found"; exit 77; }
routes_setup
N="$TMPDIR/nodes3.txt"
ipt() { ip netns exec node1 iptables-legacy "$@"; }

ipt -A FORWARD -s 172.16.0.0/12 -j DROP
for k in 1 2 3; do
        pr node1 sync --nodes "$N" --cluster-cidr 10.1.0.0/16 > "$TMPDIR/sync$k.out" 2>&1
        is "sync $k exits 0" "$?" 0
done
is "one jump to PODNET-FORWARD in FORWARD" "$(ipt -S FORWARD | grep -c -- '-j PODNET-FORWARD')" 1
is "one jump to PODNET-POSTROUTING in nat POSTROUTING" \
        "$(ipt -t nat -S POSTROUTING | grep -c -- '-j PODNET-POSTROUTING')" 1
check "PODNET-FORWARD accepts the cluster CIDR" sh -c \
        "ip netns exec node1 iptables-legacy -S PODNET-FORWARD | grep -q -- '10.1.0.0/16.*ACCEPT'"
check_fails "no blanket accept" sh -c \
        "ip netns exec node1 iptables-legacy -S PODNET-FORWARD | grep -qx -- '-A PODNET-FORWARD -j ACCEPT'"
check "PODNET-POSTROUTING masquerades" sh -c \
        "ip netns exec node1 iptables-legacy -t nat -S PODNET-POSTROUTING | grep -q MASQUERADE"
rules=$(ipt -S PODNET-FORWARD | wc -l)
pr node1 sync --nodes "$N" --cluster-cidr 10.1.0.0/16 > /dev/null 2>&1
is "rule count stable over syncs" "$(ipt -S PODNET-FORWARD | wc -l)" "$rules"
check "third sync made no firewall commit" grep -q ", 0 firewall commits" "$TMPDIR/sync3.out"

pr node1 status --nodes "$N" > "$TMPDIR/status.out"
check "status lists the chains" grep -q PODNET-FORWARD "$TMPDIR/status.out"

pr node1 sync --nodes "$N" > "$TMPDIR/nocidr.out" 2>&1
check "without --cluster-cidr the firewall is skipped with a warning" \
        grep -q "Warning: no --cluster-cidr" "$TMPDIR/nocidr.out"

# run repairs firewall damage within about a second (x_tables gives no events: a check
# every --firewall-interval seconds, default 1, that writes nothing when all is in place)
PN_WAIT=3
fwd_ok() { ipt -S FORWARD | grep -q -- '-j PODNET-FORWARD' && ipt -S PODNET-FORWARD | grep -q ACCEPT; }
nat_ok() { ipt -t nat -S POSTROUTING | grep -q -- '-j PODNET-POSTROUTING'; }
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --cni-conf-dir "$TMPDIR/node1/cni" run \
        --nodes "$N" --cluster-cidr 10.1.0.0/16 --interval 3600 \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "run: chains in place" fwd_ok
sleep 2.2
check_fails "run: checks that find everything in place commit nothing" \
        grep -q "^firewall" "$TMPDIR/run.out"
# run is stopped while the chain is deleted by hand, or on a busy machine its check may put
# the chain back before the test has seen it gone
kill -STOP "$pid"
ipt -D FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD
ipt -F PODNET-FORWARD
ipt -X PODNET-FORWARD
check_fails "PODNET-FORWARD deleted by hand" ipt -S PODNET-FORWARD
kill -CONT "$pid"
wait_for "run: deleted PODNET-FORWARD and its jump come back" fwd_ok
ipt -D FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD
wait_for "run: a deleted jump to PODNET-FORWARD comes back" fwd_ok
ipt -t nat -D POSTROUTING -m comment --comment "podnet postrouting" -j PODNET-POSTROUTING
ipt -t nat -F PODNET-POSTROUTING
ipt -t nat -X PODNET-POSTROUTING
wait_for "run: deleted PODNET-POSTROUTING comes back" nat_ok
check "run: the repair is reported" grep -q "^firewall" "$TMPDIR/run.out"
is "one jump to PODNET-FORWARD after the repairs" "$(ipt -S FORWARD | grep -c -- '-j PODNET-FORWARD')" 1
# another program holding the xtables lock: the checks do not wait for it, and routes are
# still restored at once a second after the lock was taken (a check that waited for the
# lock would hold run up until the holder lets go, 5 s after it took it)
ip netns exec node1 flock /run/xtables.lock sleep 5 &
holder=$!
sleep 1.3
ip -n node1 route del 10.1.3.0/24 proto 44
has3() { ip -n node1 route show 10.1.3.0/24 proto 44 | grep -q via; }
PN_WAIT=1 wait_for "run: a route deleted while the xtables lock is held elsewhere is restored" has3
wait "$holder"
kill -TERM "$pid"
wait "$pid"
is "run: SIGTERM exits 0" "$?" 0

pr node1 teardown > /dev/null
is "teardown exits 0" "$?" 0
is "jump rule gone" "$(ipt -S FORWARD | grep -c PODNET)" 0
is "nat jump gone" "$(ipt -t nat -S POSTROUTING | grep -c PODNET)" 0
check_fails "chain gone" ipt -S PODNET-FORWARD
check "other rules untouched" sh -c \
        "ip netns exec node1 iptables-legacy -S FORWARD | grep -q -- '-s 172.16.0.0/12 -j DROP'"
is "routes gone" "$(n_routes44 node1)" 0
finish
