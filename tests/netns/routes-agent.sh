#!/bin/bash
# The node agent through the public API from a program of its own (pn-agent-test, linked to
# libpodnet.so): a sync installs the routes and the conflist, a second one changes nothing,
# a list without this node is refused and changes nothing, status reads the peers, run
# restores a deleted route and resyncs when asked between two runs, teardown removes what
# podnet installed.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
routes_setup
T="$top_builddir/tests/netns/pn-agent-test"
N="$TMPDIR/nodes3.txt"
C="$TMPDIR/node1/cni/10-podnet.conflist"
agent() { ip netns exec node1 "$T" node1 "$@"; }

out=$(agent "$N" "$C" sync)
is "sync: exit 0" "$?" 0
is "sync: one full pass, first, 2 writes or more" \
        "$(echo "$out" | sed 's/writes=[2-9][0-9]*/writes=2+/')" \
        "pass full error=0 changed=1 first=1 writes=2+"
is "sync: the routes" "$(routes44 node1 | tr '\n' ' ')" \
        "10.1.2.0/24 via 192.168.1.12 10.1.3.0/24 via 192.168.1.13 "
is "sync: the conflist holds this node's pod CIDR" \
        "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$C")" "10.1.1.0/24"
is "second sync: nothing written" "$(agent "$N" "$C" sync)" \
        "pass full error=0 changed=0 first=1 writes=0"

grep -v '^node1' "$N" > "$TMPDIR/noself.txt"
out=$(agent "$TMPDIR/noself.txt" "$C" sync 2> "$TMPDIR/noself.err")
is "a list without this node: refused (-ENODATA), exit 1" "$?:$out" \
        "1:pass full error=-61 changed=0 first=1 writes=0"
check "  and logged at LOG_ERR" grep -q "^pn-agent-test: <3> .*node1" "$TMPDIR/noself.err"
is "  routes kept" "$(n_routes44 node1)" 2
out=$(agent "$TMPDIR/missing.txt" "$C" sync 2>&1)
check "a missing node file: logged with its name" grep -q "missing.txt" <<< "$out"

is "status: two peers ok" \
        "$(agent "$N" "$C" status | jq -c '[.peers[] | select(.state == "ok") | .name]')" \
        '["node2","node3"]'

# run: stdin is the stop fd; a line "resync" asks for a fetch before the next run
mkfifo "$TMPDIR/ctl"
agent "$N" "$C" run < "$TMPDIR/ctl" > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
exec 7> "$TMPDIR/ctl"
wait_for "run: first full pass" grep -q "^pass full error=0" "$TMPDIR/run.out"
ip -n node1 route del 10.1.3.0/24 proto 44
wait_for "run: a deleted route is restored" has_route 10.1.3.0/24 192.168.1.13
check "run: by a route pass" grep -q "^pass routes error=0 changed=1" "$TMPDIR/run.out"
grep -v '^node3' "$N" > "$TMPDIR/nodes2.txt"
cp "$TMPDIR/nodes2.txt" "$N"
echo resync >&7
wait_for "run: resync asked between runs drops node3's route" \
        test "$(n_routes44 node1)" = 1
check "  said so" grep -q "^resync 1" "$TMPDIR/run.out"
echo stop >&7
exec 7>&-
for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
wait "$pid"
is "run: stops with exit 0 when asked" "$?" 0
check "  after its last words" grep -q "^stopped" "$TMPDIR/run.out"
check_fails "run: nothing logged" grep -q . "$TMPDIR/run.err"

is "teardown: one route, conflist removed" "$(agent "$N" "$C" teardown)" \
        "routes=1 firewall=-125 conf=1"
is "teardown: no route left" "$(n_routes44 node1)" 0
check_fails "teardown: no conflist left" test -e "$C"
finish
