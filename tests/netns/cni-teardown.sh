#!/bin/bash
# DEL's deferred teardown (issue 6, item 13): once DEL returns, the pair carries no
# traffic, and another container's ADD into the same namespace right after it succeeds,
# even under load, by finishing the teardown if it has not run; doomed pairs are parked in link group PARK and deleted
# together; no parked pair is ever picked up by an ADD, and none is left behind.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

T=$top_builddir/tests/netns/pn-net-test
[ -x "$T" ] || { echo "SKIP: $T not built"; exit 77; }
PARK=1347306576 # podnet's link group for doomed veth pairs ("PNDP", podnet-cni(8))
ROUNDS=${PODNET_TEARDOWN_ROUNDS:-20}

parked() { ip -o link show group $PARK | awk -F': ' '{print $2}' | sed 's/@.*//'; }
all_gone() { [ -z "$(host_veths)$(parked)" ]; } # no pod veth, no parked pair
settle_all() { wait_for 200 all_gone; }
conf 1.0.0 >/run/podnet-test/conf.json
run() { # [NICE=N] run VERB ID NS: one plugin call as a runtime makes it; its exit code
        local pre=()
        [ -z "${NICE:-}" ] || pre=(nice -n "$NICE")
        env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$3" \
                CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "${pre[@]}" "$PODNET_CNI" \
                </run/podnet-test/conf.json >"/run/podnet-test/out.$2.$1" 2>&1
}

# --- Once DEL returns, the pair carries no traffic, and another container's ADD into the
# same namespace succeeds: it finishes the teardown if it has not run yet. ---
ip netns add shared
run ADD first shared
is "ADD first" "$?" 0
first_host=$($T veth-name first eth0)
run DEL first shared
is "DEL first" "$?" 0
is "right after DEL, the host end is down or gone" \
        "$(ip -j link show "$first_host" 2>/dev/null | jq -r '.[0].flags | index("UP") != null')" \
        "$(ip link show "$first_host" >/dev/null 2>&1 && echo false)"
run ADD second shared
is "another container's ADD into the same namespace right after the DEL" "$?" 0
is "its eth0 is the new pair's pod end" \
        "$(ip -n shared -j -d link show eth0 | jq -r '.[0].link_index')" \
        "$(ip -j link show "$($T veth-name second eth0)" | jq -r '.[0].ifindex')"
is "the namespace has one default route, through the new eth0" \
        "$(ip -n shared route show default)" "default via 10.1.1.1 dev eth0 "
run DEL second shared

# --- The same with the teardown certainly not run yet: podnet_cni_del_deferred() alone,
# as a DEL leaves things when it returns and before its detached child has run. The
# ADD meets the old pod end under its name and finishes the teardown. ---
for r in 1 2 3; do
        run ADD "late$r" shared
        $T cni-del-deferred "late$r" /run/netns/shared eth0 /run/podnet-test/conf.json >/dev/null
        is "DEL without teardown (round $r): the pair is parked" "$(parked | wc -l)" 1
        run ADD "after$r" shared || echo "# $(cat "/run/podnet-test/out.after$r.ADD")"
        is "another container's ADD into the namespace before the teardown ran (round $r)" "$?" 0
        is "that ADD deleted the parked pair (round $r)" "$(parked | wc -l)" 0
        run DEL "after$r" shared
        wait_for 100 link_gone "$($T veth-name "after$r" eth0)"
        is "its teardown deleted every parked pair, the leftovers too (round $r)" "$(parked | wc -l)" 0
done

# --- DEL(A) then at once ADD(B) into the same namespace, ROUNDS times, on a busy node:
# two CPU hogs (nice 10), and the DEL (with whatever it leaves running) at the lowest
# priority, so that anything DEL leaves to run after it returns may well be late. ---
echo "# $(date +%T) DEL+ADD rounds"
hog() { while [ ! -e /run/podnet-test/stop ]; do :; done; }
rm -f /run/podnet-test/stop
loaders=()
for w in 1 2; do nice -n 10 bash -c "$(declare -f hog); hog" & loaders+=($!); done
failed=0
run ADD churn0 shared || failed=$((failed + 1))
for r in $(seq 1 "$ROUNDS"); do
        NICE=19 run DEL "churn$((r - 1))" shared || { failed=$((failed + 1)); echo "# round $r: DEL failed"; }
        if ! run ADD "churn$r" shared; then
                failed=$((failed + 1))
                echo "# round $r: ADD failed: $(cat "/run/podnet-test/out.churn$r.ADD")"
        fi
done
touch /run/podnet-test/stop
wait "${loaders[@]}"
is "$ROUNDS DEL(A)+ADD(B) rounds into one namespace on a busy node: no failure" "$failed" 0
check "the last container reaches its gateway" ip netns exec shared ping -c1 -W2 10.1.1.1
run DEL "churn$ROUNDS" shared
check "all pairs and parked pairs are gone after the DELs (bounded wait)" settle_all
is "no parked pair left" "$(parked | wc -l)" 0
is "no parked pod end left in the pod namespace" "$(ip -n shared -o link show | grep -vc ': lo:')" 0
is "no lease left" "$(leases | wc -l)" 0

# --- A parked pair is never picked up: an ADD of the same attachment replaces it by a
# new pair outside the group, and a later teardown of the group leaves that one alone. ---
run ADD keep shared
host=$($T veth-name keep eth0)
ip link set "$host" down group $PARK # as a DEL whose teardown has not run yet leaves it
run ADD keep shared
is "ADD of an attachment whose pair is parked succeeds" "$?" 0
is "its new host end is up and outside the park group" \
        "$(ip -d -j link show "$host" | jq -r '.[0] | "\(.flags | index("UP") != null) \(.group)"')" \
        "true default"
ip netns add other
run ADD other other
run DEL other other
check "the other pod's pair is torn down" wait_for 100 link_gone "$($T veth-name other eth0)"
check "the re-added pod still has its pair" ip link show "$host"
check "the re-added pod reaches its gateway" ip netns exec shared ping -c1 -W2 10.1.1.1
run DEL keep shared

# --- GC deletes parked pairs a killed teardown left behind. ---
run ADD orphan other
ip link set "$($T veth-name orphan eth0)" down group $PARK
conf 1.1.0 '."cni.dev/valid-attachments" = []' >/run/podnet-test/gc.json
env -i PATH="$PATH" CNI_COMMAND=GC CNI_PATH=/usr/lib/cni "$PODNET_CNI" </run/podnet-test/gc.json >/dev/null 2>&1
is "GC exits 0" "$?" 0
is "GC deleted the parked pair" "$(parked | wc -l)" 0

echo "# $(date +%T) drain"
# --- A node drain: 40 pods deleted at once; all pairs go, nothing stays parked. ---
N=40
for i in $(seq 1 $N); do ip netns add "d$i"; done
for i in $(seq 1 $N); do run ADD "drain$i" "d$i" & done
wait
is "$N pods attached" "$(host_veths | wc -l)" $N
for i in $(seq 1 $N); do run DEL "drain$i" "d$i" & done
wait
check "all $N pairs gone after the parallel DELs (bounded wait)" settle_all
is "no parked pair left after the drain" "$(parked | wc -l)" 0
for i in $(seq 1 $N); do ip netns del "d$i"; done

for n in shared other; do ip netns del "$n"; done
expect_clean "after the teardown tests"
finish
