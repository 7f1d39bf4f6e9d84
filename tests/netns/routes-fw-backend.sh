#!/bin/bash
# podnet-routes --firewall: the backend by flag (iptables-legacy, iptables-nft, none) and
# by detection (auto, the default), podnet's chains in exactly one backend after every
# switch (legacy -> nft -> legacy, by flag and because the host changed, in sync and in
# run), the decision recorded for podnet-cni and written into the conflist, status
# naming the backend and why, teardown clearing both, the host's own rules untouched.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
for cmd in iptables-legacy iptables-nft iptables-legacy-save iptables-nft-save jq; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
routes_setup
ip netns exec node1 nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }
N="$TMPDIR/nodes3.txt"
STATE=/run/podnet/firewall-backend
CONF="$TMPDIR/node1/cni/10-podnet.conflist"
in1() { ip netns exec node1 "$@"; }
# podnet's lines in each backend's full save, both families
in_legacy() { { in1 iptables-legacy-save; in1 ip6tables-legacy-save; } 2>/dev/null | grep -c PODNET; }
in_nft() { { in1 iptables-nft-save; in1 ip6tables-nft-save; } 2>/dev/null | grep -c PODNET; }
# the host's own rules and policies (filter and nat, both backends), podnet's left out
host_rules() {
        local c t
        for c in iptables-legacy iptables-nft; do
                for t in filter nat; do
                        echo "# $c $t"
                        in1 "$c" -w -t "$t" -S 2>/dev/null | grep -v PODNET
                done
        done
}
sync1() { pr node1 sync --nodes "$N" --cluster-cidr 10.1.0.0/16 --cni-ip-masq "$@"; }

# --- unhappy paths: an unknown name is a usage error, nothing written ---
pr node1 --firewall nftables sync --nodes "$N" --cluster-cidr 10.1.0.0/16 > "$TMPDIR/bad.out" 2>&1
is "--firewall nftables: usage error" "$?" 2
check "the message names the choices" grep -q 'iptables-legacy, iptables-nft or none' "$TMPDIR/bad.out"
is "nothing in legacy after the refused flag" "$(in_legacy)" 0
is "nothing in nf_tables after the refused flag" "$(in_nft)" 0
check_fails "no state file after the refused flag" test -e "$STATE"

# --- by flag: legacy -> nft -> legacy, never in both ---
sync1 --firewall iptables-legacy > "$TMPDIR/s1.out" 2>&1
is "sync --firewall iptables-legacy exits 0" "$?" 0
check "legacy: jump to PODNET-FORWARD" sh -c "ip netns exec node1 iptables-legacy -S FORWARD | grep -q -- '-j PODNET-FORWARD'"
is "legacy: nothing of podnet's in nf_tables" "$(in_nft)" 0
is "state file: iptables-legacy, configured" "$(cat $STATE | tr '\n' '|')" "iptables-legacy|configured|"
is "conflist: firewallBackend iptables-legacy" "$(jq -r '.plugins[0].firewallBackend' "$CONF")" iptables-legacy
legacy_lines=$(in_legacy)

sync1 --firewall iptables-nft > "$TMPDIR/s2.out" 2>&1
is "sync --firewall iptables-nft exits 0" "$?" 0
check "nft: jump to PODNET-FORWARD in iptables-nft" sh -c "ip netns exec node1 iptables-nft -S FORWARD | grep -q -- '-j PODNET-FORWARD'"
check "nft: PODNET-POSTROUTING in iptables-nft's nat" sh -c "ip netns exec node1 iptables-nft -t nat -S PODNET-POSTROUTING | grep -q MASQUERADE"
is "nft: nothing of podnet's left in legacy" "$(in_legacy)" 0
is "nft: as many lines as legacy had" "$(in_nft)" "$legacy_lines"
is "state file: iptables-nft" "$(head -1 $STATE)" iptables-nft
is "conflist: firewallBackend iptables-nft" "$(jq -r '.plugins[0].firewallBackend' "$CONF")" iptables-nft

sync1 --firewall iptables-legacy > "$TMPDIR/s3.out" 2>&1
is "back to iptables-legacy exits 0" "$?" 0
is "back to legacy: podnet's lines in legacy" "$(in_legacy)" "$legacy_lines"
is "back to legacy: nothing left in nf_tables" "$(in_nft)" 0

# --- none: nothing touched, no key in the conflist ---
sync1 --firewall none > /dev/null 2>&1
is "--firewall none leaves legacy's chains" "$(in_legacy)" "$legacy_lines"
is "--firewall none: no firewallBackend in the conflist" "$(jq -r '.plugins[0].firewallBackend' "$CONF")" null
check_fails "--firewall none: no recorded choice left for podnet-cni" test -e "$STATE"
sync1 --no-firewall > /dev/null 2>&1
is "--no-firewall is none" "$(in_nft)" 0

# --- auto on a host without other rules: nf_tables, and status says why ---
sync1 > "$TMPDIR/s4.out" 2>&1
is "auto sync exits 0" "$?" 0
is "auto, empty host: podnet's lines moved to nf_tables" "$(in_nft)" "$legacy_lines"
is "auto, empty host: none left in legacy" "$(in_legacy)" 0
is "state file: detected nf_tables" "$(cat $STATE | tr '\n' '|')" \
        "iptables-nft|detected: no other program's rules; the kernel has nf_tables|"
is "conflist: firewallBackend auto" "$(jq -r '.plugins[0].firewallBackend' "$CONF")" auto
pr node1 status > "$TMPDIR/st.out" 2>&1
check "status names the backend and why" grep -q "^backend iptables-nft (recorded in $STATE: detected: no other program's rules" "$TMPDIR/st.out"
check "status lists the nf_tables chains" grep -q -- "-A FORWARD.*-j PODNET-FORWARD" "$TMPDIR/st.out"
pr node1 status --json > "$TMPDIR/st.json" 2>/dev/null
is "status --json: firewallBackend" "$(jq -r .firewallBackend "$TMPDIR/st.json")" iptables-nft
check "status --json: firewallReason" sh -c "jq -r .firewallReason '$TMPDIR/st.json' | grep -q 'detected: no other'"
pr node1 --firewall iptables-legacy status --json > "$TMPDIR/st2.json" 2>/dev/null
is "status --firewall iptables-legacy: configured" "$(jq -r '.firewallBackend + " " + .firewallReason' "$TMPDIR/st2.json")" \
        "iptables-legacy configured"

# --- the host changes: Docker-like rules appear in legacy, then kubelet's hint in nf_tables ---
in1 iptables-legacy -w -N DOCKER-USER
in1 iptables-legacy -w -A DOCKER-USER -j RETURN
in1 iptables-legacy -w -A FORWARD -j DOCKER-USER
in1 iptables-legacy -w -P FORWARD DROP
before=$(host_rules)
sync1 > "$TMPDIR/s5.out" 2>&1
is "host now legacy: sync exits 0" "$?" 0
check "the switch is a warning" grep -q "Warning: Firewall backend now iptables-legacy (was" "$TMPDIR/s5.out"
is "host now legacy: podnet's lines in legacy" "$(in_legacy)" "$legacy_lines"
is "host now legacy: none left in nf_tables" "$(in_nft)" 0
check "host now legacy: PODNET-FORWARD ahead of DOCKER-USER" sh -c \
        "ip netns exec node1 iptables-legacy -S FORWARD | sed -n 2p | grep -q PODNET-FORWARD"

# run: the host changes under it; the next full pass (every --interval) moves the chains
# (podnet-routes itself in the background, not a subshell running it, to get its pid)
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --cni-conf-dir "$TMPDIR/node1/cni" run \
        --nodes "$N" --cluster-cidr 10.1.0.0/16 --interval 1 > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
PN_WAIT=3
sleep 0.5
in1 iptables-nft -t mangle -N KUBE-IPTABLES-HINT
moved() { [ "$(in_nft)" = "$legacy_lines" ] && [ "$(in_legacy)" = 0 ]; }
wait_for "run: kubelet's hint in nf_tables moves podnet's chains there" moved
check "run: the state file follows" sh -c "head -1 $STATE | grep -qx iptables-nft"
check "run: the reason names kubelet's chain" grep -q "KUBE-IPTABLES-HINT is in nf_tables" "$STATE"
# run's checks every second restore the jump in the backend it chose
in1 iptables-nft -D FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD
back() { in1 iptables-nft -S FORWARD | grep -q -- '-j PODNET-FORWARD'; }
wait_for "run: a deleted nf_tables jump comes back" back
in1 iptables-nft -t mangle -X KUBE-IPTABLES-HINT
in1 iptables-legacy -w -t mangle -N KUBE-IPTABLES-HINT
moved_back() { [ "$(in_legacy)" = "$legacy_lines" ] && [ "$(in_nft)" = 0 ]; }
wait_for "run: the hint moved to legacy takes podnet's chains back" moved_back
kill -TERM "$pid"
wait "$pid"
is "run: SIGTERM exits 0" "$?" 0
in1 iptables-legacy -w -t mangle -X KUBE-IPTABLES-HINT

# --- run with nf_tables: its notifications bring the jumps back within a second, long
# before the next check (--firewall-interval 3600) ---
nft_ok() {
        in1 iptables-nft -S FORWARD | grep -q -- '-j PODNET-FORWARD' &&
                in1 iptables-nft -S PODNET-FORWARD | grep -q ACCEPT &&
                in1 iptables-nft -t nat -S POSTROUTING | grep -q -- '-j PODNET-POSTROUTING'
}
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --cni-conf-dir "$TMPDIR/node1/cni" run \
        --nodes "$N" --cluster-cidr 10.1.0.0/16 --firewall iptables-nft --interval 3600 \
        --firewall-interval 3600 > "$TMPDIR/run2.out" 2> "$TMPDIR/run2.err" &
pid=$!
PN_WAIT=3 wait_for "run (nft): chains in place" nft_ok
is "run (nft): nothing of podnet's left in legacy" "$(in_legacy)" 0
sleep 0.3
PN_WAIT=1
in1 iptables-nft -D FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD
wait_for "run (nft): a deleted jump is back within a second" nft_ok
in1 iptables-nft -F FORWARD
wait_for "run (nft): back within a second after iptables -F FORWARD" nft_ok
in1 iptables-nft -t nat -F POSTROUTING
wait_for "run (nft): the nat jump is back within a second after a flush" nft_ok
in1 iptables-nft-save | grep -v PODNET > "$TMPDIR/nopodnet.rules"
in1 iptables-nft-restore < "$TMPDIR/nopodnet.rules"
wait_for "run (nft): back within a second after the restore" nft_ok
is "run (nft): the four repairs are reported" \
        "$(grep -c '^firewall chains repaired' "$TMPDIR/run2.out")" 4
is "run (nft): one jump to PODNET-FORWARD after the repairs" \
        "$(in1 iptables-nft -S FORWARD | grep -c -- '-j PODNET-FORWARD')" 1
kill -TERM "$pid"
wait "$pid"
is "run (nft): SIGTERM exits 0" "$?" 0

# --- teardown: both backends cleared, the record gone, the host's rules as they were ---
sync1 --firewall iptables-nft > /dev/null 2>&1
in1 iptables-legacy -w -N PODNET-FORWARD # a stale chain of an older choice
pr node1 teardown > "$TMPDIR/td.out" 2>&1
is "teardown exits 0" "$?" 0
is "teardown: nothing of podnet's in legacy" "$(in_legacy)" 0
is "teardown: nothing of podnet's in nf_tables" "$(in_nft)" 0
check_fails "teardown: the state file is gone" test -e "$STATE"
is "teardown: the host's own rules as they were" "$(host_rules)" "$before"
finish
