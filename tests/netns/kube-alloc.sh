#!/bin/bash
# podnet-routes allocate --watch against the fake API server (tests/kube/fake-apiserver.py)
# on 127.0.0.1 in this test's own network namespace: Nodes without pod CIDRs get distinct
# ones (dual-stack), existing ones (also outside the cluster CIDR) are untouched, a node
# added later gets one within a second, a Node given one by another writer between our
# list and our patch is not overwritten, a full cluster CIDR leaves the node waiting until
# a node is deleted; then two replicas at once: exactly one holds the Lease and patches, no
# CIDR is given twice, a stopped leader is replaced after the lease duration and stops
# allocating when it runs again, and a terminated one releases the Lease.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
. "$top_srcdir/tests/kube/alloc-lib.sh"
# PATCHes answered 200 (from line $2 of the log on) by user $1
n_patch() { tail -n +"${2:-1}" "$TMPDIR/api.log" | grep -c "PATCH /api/v1/nodes/.* 200 user=$1 "; }
log_lines() { wc -l < "$TMPDIR/api.log"; }
# seconds from the server's creation of node $1 (kc add) to the PATCH that gave it pod CIDRs
latency() {
        awk -v n="$1" '$2 == "POST" && $3 ~ "^/_ctl/add[?]name=" n "&" { t0 = $1 }
                $2 == "PATCH" && $3 == "/api/v1/nodes/" n && $4 == 200 { t1 = $1 }
                END { if (t0 && t1) printf "%.3f\n", t1 - t0; else print "none" }' "$TMPDIR/api.log"
}
# the time of the first line of the log matching $1 (an awk regular expression)
log_time() { awk -v re="$1" '$0 ~ re { print $1; exit }' "$TMPDIR/api.log"; }
# allocator ID KUBECONFIG CLUSTER-CIDRS: started in the background, $! its pid, log $TMPDIR/ID.err
allocator() {
        "$PODNET_ROUTES" --node-name "$1" allocate --watch --kubeconfig "$2" --cluster-cidr "$3" \
                --node-cidr-mask-size-ipv4 24 --node-cidr-mask-size-ipv6 64 \
                --lease-identity "$1" --lease-namespace kube-system --lease-duration 3 \
                --renew-deadline 2 --retry-period 0.5 > "$TMPDIR/$1.out" 2>> "$TMPDIR/$1.err" &
}

kube_serve - 6443 --user-tokens "$TMPDIR/user-tokens" || exit 1
kubeconfig "$TMPDIR/kc-a" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-a"
kubeconfig "$TMPDIR/kc-b" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-b"
kc "node?name=a1&cidr=10.244.0.0/24&ip=192.168.1.1"
kc "node?name=out1&cidr=192.168.77.0/24&ip=192.168.1.2"
for i in 1 2 3 4; do kc "add?name=n$i&ip=192.168.1.1$i"; done

# --- one replica, dual-stack: 10.244.0.0/21 has 8 /24s, a1 holds the first ---------------
CL=10.244.0.0/21,fd00:244::/61
allocator alloc-a "$TMPDIR/kc-a" $CL
pid_a=$!
wait_for "nodes without pod CIDRs get them" has_cidr n4
is "  n1: the lowest free IPv4 /24 and the first IPv6 /64" "$(cidrs n1)" "10.244.1.0/24,fd00:244::/64"
is "  n4" "$(cidrs n4)" "10.244.4.0/24,fd00:244:0:3::/64"
is "  a1's existing CIDR untouched" "$(cidrs a1)" "10.244.0.0/24"
is "  out1's CIDR outside the cluster CIDR untouched" "$(cidrs out1)" "192.168.77.0/24"
is "  no CIDR given twice" "$(n_dup)" 0
check "  the Lease was created by alloc-a" grep -q "POST /apis/coordination.k8s.io/v1/namespaces/kube-system/leases 201 user=alloc-a holder=alloc-a" "$TMPDIR/api.log"
check "  each node patched with a JSON patch testing it has none (application/json-patch+json)" \
        grep -q "PATCH /api/v1/nodes/n1 200 user=alloc-a podCIDRs=10.244.1.0/24,fd00:244::/64" "$TMPDIR/api.log"

kc "add?name=n5&ip=192.168.1.15"
PN_WAIT=1 wait_for "a node added later gets pod CIDRs within a second" has_cidr n5
lat=$(latency n5)
echo "# n5: $lat s from its creation in the server to the PATCH that gave it pod CIDRs"
check "  (the server's log says $lat s)" python3 -c "import sys; sys.exit(not float(sys.argv[1]) < 1)" "$lat"
is "  the next free ones" "$(cidrs n5)" "10.244.5.0/24,fd00:244:0:4::/64"

# another writer gives n6 10.244.7.0/24 between our list and our patch: not overwritten
kc "race?name=n6&cidr=10.244.7.0/24"
kc "add?name=n6&ip=192.168.1.16"
wait_for "a node given a CIDR by another writer meanwhile" grep -q "race: n6 given" "$TMPDIR/api.log"
sleep 0.5
check "  our patch of it was refused by its test (422)" grep -q "PATCH /api/v1/nodes/n6 422 user=alloc-a" "$TMPDIR/api.log"
is "  and it keeps the other writer's CIDR" "$(cidrs n6)" "10.244.7.0/24"
check "  the allocator says so" grep -q "n6 was given pod CIDRs 10.244.7.0/24 by another writer" "$TMPDIR/alloc-a.err"

# 10.244.6.0/24 is the last free /24: n7 gets it, n8 waits
kc "add?name=n7&ip=192.168.1.17"
wait_for "the last free subnet is given" has_cidr n7
is "  to n7" "$(cidrs n7 | cut -d, -f1)" "10.244.6.0/24"
kc "add?name=n8&ip=192.168.1.18"
sleep 1.5
is "a full cluster CIDR: n8 gets none" "$(cidrs n8)" ""
check "  and the allocator says why" grep -q "Cluster CIDR 10.244.0.0/21 is exhausted: 1 node left without a pod CIDR" "$TMPDIR/alloc-a.err"
kc "delete?name=n3"
wait_for "a node deleted: its CIDR goes to the waiting node" has_cidr n8
is "  n3's 10.244.3.0/24" "$(cidrs n8 | cut -d, -f1)" "10.244.3.0/24"
is "  no CIDR given twice" "$(n_dup)" 0

# the double checked with a real client: kubectl reads the Lease and sends the same JSON
# patch, refused by its test on a node that has pod CIDRs, applied on one that has none
if command -v kubectl >/dev/null; then
        kubeconfig "$TMPDIR/kc-admin" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-admin"
        k() { HOME=$TMPDIR kubectl --kubeconfig "$TMPDIR/kc-admin" "$@"; }
        is "kubectl reads the Lease's holder (the double is faithful)" \
                "$(k -n kube-system get lease podnet-allocator -o jsonpath='{.spec.holderIdentity}')" alloc-a
        tp='[{"op":"test","path":"/spec/podCIDRs","value":null},{"op":"add","path":"/spec/podCIDRs","value":["10.9.0.0/24"]}]'
        fails_with "kubectl's JSON patch testing a node has no pod CIDRs: refused on n1" \
                "error in our request" k patch node n1 --type=json -p "$tp"
        kill -STOP $pid_a # (k1 is for kubectl)
        kc "node?name=k1&ip=192.168.1.99"
        check "  applied on a node without" k patch node k1 --type=json -p "$tp"
        sleep 2.5 # (past alloc-a's renew deadline)
        kill -CONT $pid_a
        is "  k1 keeps kubectl's CIDR" "$(cidrs k1)" "10.9.0.0/24"
        # stopped past its renew deadline, alloc-a stops; alone, it takes its Lease again
        leads_again() { [ "$(grep -c "acquired as alloc-a" "$TMPDIR/alloc-a.err")" -ge 2 ]; }
        wait_for "  alloc-a, resumed, leads again" leads_again
fi

kill -TERM $pid_a
wait $pid_a
is "SIGTERM: exit status 0" "$?" 0
check "  the Lease released (PUT with no holder)" grep -q "PUT /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/podnet-allocator 200 user=alloc-a holder= *$" "$TMPDIR/api.log"
sed 's/^/# alloc-a: /' "$TMPDIR/alloc-a.err" | tail -n 8
kill "$API_PID"
wait "$API_PID" 2>/dev/null

# --- two replicas at once, many nodes ------------------------------------------------------
: > "$TMPDIR/api.log"
: > "$TMPDIR/alloc-a.err"
kube_serve - 6444 --user-tokens "$TMPDIR/user-tokens" || exit 1
kubeconfig "$TMPDIR/kc-a" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-a"
kubeconfig "$TMPDIR/kc-b" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: tok-b"
CL=10.96.0.0/16
allocator alloc-a "$TMPDIR/kc-a" $CL
pid_a=$!
allocator alloc-b "$TMPDIR/kc-b" $CL
pid_b=$!
N=40
for i in $(seq 1 $N); do kc "add?name=m$i&ip=192.168.2.$i"; done
PN_WAIT=30 wait_for "two replicas: all $N nodes get pod CIDRs" has_cidr m$N
sleep 1
is "  every node has one" "$(api /api/v1/nodes | jq '[.items[] | select(.spec.podCIDRs)] | length')" $N
is "  no CIDR given twice" "$(n_dup)" 0
pa=$(n_patch alloc-a)
pb=$(n_patch alloc-b)
echo "# PATCHes: alloc-a $pa, alloc-b $pb"
check "  exactly one replica patched (all $N)" test "$((pa * pb))" = 0 -a "$((pa + pb))" = $N
if [ "$pa" -gt 0 ]; then leader=alloc-a lpid=$pid_a other=alloc-b opid=$pid_b
else leader=alloc-b lpid=$pid_b other=alloc-a opid=$pid_a; fi
is "  and only it ever held the Lease" \
        "$(grep -c "leases.* 20[01] user=$other holder=$other" "$TMPDIR/api.log")" 0

# the leader stopped: the other takes over after the lease duration
from=$(log_lines)
t0=$(date +%s.%N)
kill -STOP $lpid
for i in 1 2 3 4 5; do kc "add?name=s$i&ip=192.168.3.$i"; done
PN_WAIT=20 wait_for "leader stopped: the other replica takes over and allocates" has_cidr s5
t1=$(log_time "PUT .*leases/podnet-allocator 200 user=$other holder=$other")
took=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "${t1:-0}")
echo "# from SIGSTOP of $leader to $other's takeover PUT: $took s (lease duration 3 s, retry period 0.5 s)"
check "  the takeover came after the lease duration (>= 2.5 s: the last renewal may be 0.5 s before the stop) and soon (< 5 s)" \
        python3 -c "import sys; sys.exit(not 2.5 <= float(sys.argv[1]) < 5)" "$took"
is "  the new nodes patched by $other" "$(n_patch $other "$from")" 5
check "  $other took the Lease over with a PUT" grep -q "PUT .*leases/podnet-allocator 200 user=$other holder=$other" "$TMPDIR/api.log"

# the old leader runs again: it stops allocating at once, the new leader goes on
from=$(log_lines)
kill -CONT $lpid
sleep 1.5
kc "add?name=c1&ip=192.168.4.1"
wait_for "after the old leader resumed, a new node is allocated" has_cidr c1
sleep 0.5
is "  by the new leader only: no PATCH from $leader" "$(n_patch $leader "$from")" 0
check "  the old leader said it stopped allocating" grep -Eq "not renewed within the renew deadline|is held by $other now: stopped allocating" "$TMPDIR/$leader.err"

# the new leader terminated: it releases the Lease, the old one takes over at once
from=$(log_lines)
kill -TERM $opid
wait $opid
is "SIGTERM of the leader: exit status 0" "$?" 0
kc "add?name=c2&ip=192.168.4.2"
PN_WAIT=2.5 wait_for "  its Lease released: the other replica allocates within 2.5 s" has_cidr c2
is "  patched by $leader" "$(n_patch $leader "$from")" 1
is "no CIDR given twice over all $((N + 7)) nodes" "$(n_dup)" 0
kill -TERM $lpid
wait $lpid
sed 's/^/# alloc-a: /' "$TMPDIR/alloc-a.err" | tail -n 6
sed 's/^/# alloc-b: /' "$TMPDIR/alloc-b.err" | tail -n 6
kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
