#!/bin/bash
# The iptables-nft firewall backend against the kernel's nf_tables: podnet's chains read
# by iptables-nft exactly as the rules iptables-nft itself writes (same expressions, same
# -S text as the legacy backend's), survival of a save/restore round trip, idempotence
# (same handles), removal, a Docker-like DROP policy in nf_tables with traffic through a
# router namespace, a conflicting chain of the same name, and concurrent writers. Runs in
# the private namespace lib.sh makes; reference rule sets go into namespaces made here.
. "$top_srcdir/tests/netns/lib.sh"

for cmd in nft iptables-nft ip6tables-nft iptables-nft-save iptables-nft-restore iptables-legacy; do
        if ! command -v "$cmd" >/dev/null; then
                echo "SKIP: $cmd not found (scripts/deps.sh installs nftables and iptables)"
                exit 77
        fi
done
if ! nft list tables >/dev/null 2>&1; then
        echo "SKIP: the kernel has no nf_tables"
        exit 77
fi

T="$top_builddir/tests/netns/pn-fw-test"
DUMP="$top_builddir/tests/netns/fw-nft-dump"
D=/run/podnet-test
OUT=$D/fwnft.out
ERR=$D/fwnft.err

run() {
        "$T" --backend iptables-nft "$@" >"$OUT" 2>"$ERR"
        RC=$?
}
# The expressions of every rule, as nft's debug listing prints them: one line per rule,
# handles and positions dropped, sorted (chains' order in a table is creation order).
exprs() {
        nft --debug=netlink list ruleset 2>/dev/null | grep -v '^#' |
                awk 'BEGIN { RS = "" } /^ip6? / { gsub(/\n/, " "); print }' |
                sed -E 's/^(ip6? [a-z]+ [A-Za-z-]+)( [0-9]+)+ /\1 /' | sort
}
save_nc() { "$1" 2>&1 | grep -v '^#' | sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'; }
all_s() { for t in filter nat; do iptables-nft -t $t -S; ip6tables-nft -t $t -S; done 2>&1; }
all_s_legacy() { for t in filter nat; do iptables-legacy -t $t -S; ip6tables-legacy -t $t -S; done 2>&1; }

CL4=10.240.0.0/12 CL6=fd00:10::/60 NM4=192.168.0.0/16
podnet_rules() {
        "$T" --backend "$1" node-ensure --non-masq $CL4 --non-masq $NM4 --non-masq $CL6 $CL4 $CL6 &&
                "$T" --backend "$1" masq-ensure net1 10.244.1.0/24 &&
                "$T" --backend "$1" masq-ensure net6 fd00:1::/64
}
# What podnet's rules are when iptables-nft writes them by hand.
reference_rules() {
        local ipt c m n
        for ipt in iptables-nft ip6tables-nft; do
                if [ $ipt = iptables-nft ]; then c=$CL4 m=10.244.1.0/24 n=net1; else c=$CL6 m=fd00:1::/64 n=net6; fi
                $ipt -t filter -N PODNET-FORWARD
                $ipt -t filter -I FORWARD 1 -m comment --comment "podnet forward" -j PODNET-FORWARD
                $ipt -t filter -A PODNET-FORWARD -s $c -j ACCEPT
                $ipt -t filter -A PODNET-FORWARD -d $c -j ACCEPT
                $ipt -t nat -N PODNET-POSTROUTING
                $ipt -t nat -A POSTROUTING -m comment --comment "podnet postrouting" -j PODNET-POSTROUTING
                $ipt -t nat -A PODNET-POSTROUTING -s $c -d $c -j RETURN
                [ $ipt = iptables-nft ] && $ipt -t nat -A PODNET-POSTROUTING -s $c -d $NM4 -j RETURN
                $ipt -t nat -A PODNET-POSTROUTING -s $c -j MASQUERADE
                $ipt -t nat -N PODNET-MASQ
                $ipt -t nat -A POSTROUTING -m comment --comment "podnet masquerade" -j PODNET-MASQ
                $ipt -t nat -A PODNET-MASQ -s $m ! -d $m -m comment --comment "podnet:$n" -j MASQUERADE
        done
}

# ---- the reference (iptables-nft itself) and the legacy backend, in their own namespaces ----
ip netns add ref
ip netns add leg
ip netns exec ref bash -c "$(declare -f reference_rules); CL4=$CL4 CL6=$CL6 NM4=$NM4; reference_rules" \
        2>$ERR
check "legacy backend writes the same plan" ip netns exec leg bash -c \
        "$(declare -f podnet_rules); T=$T CL4=$CL4 CL6=$CL6 NM4=$NM4; podnet_rules iptables-legacy"
REF_EXPRS=$(ip netns exec ref bash -c "$(declare -f exprs); exprs")
REF_ATTRS=$(ip netns exec ref "$DUMP" | sort)
REF_SAVE=$(ip netns exec ref bash -c "$(declare -f save_nc); save_nc iptables-nft-save; save_nc ip6tables-nft-save")
LEG_S=$(ip netns exec leg bash -c "$(declare -f all_s_legacy); all_s_legacy")

# ---- podnet's rules through the nft backend ----
check "nft backend: ensure node chains and two masquerade rules" podnet_rules iptables-nft
is "same expressions, rule by rule, as iptables-nft writes" "$(exprs)" "$REF_EXPRS"
if [ "$(exprs)" != "$REF_EXPRS" ]; then
        diff <(echo "$REF_EXPRS") <(exprs) | sed 's/^/#   /'
fi
is "byte for byte: every table, chain and rule attribute as iptables-nft writes them" \
        "$("$DUMP" | sort)" "$REF_ATTRS"
is "the attribute dump covers 4 tables, 10 chains, 17 rules" \
        "$("$DUMP" | cut -d' ' -f1 | sort | uniq -c | tr -s ' ' | tr '\n' ,)" " 10 chain, 17 rule, 4 table,"
E=$(exprs)
check "the expressions include a bitwise prefix (/12), the xt comment and MASQUERADE" \
        bash -c "grep -q bitwise <<<'$E' && grep -q 'match name comment rev 0' <<<'$E' &&
                 grep -q 'target name MASQUERADE rev 0' <<<'$E'"
is "iptables-nft-save and ip6tables-nft-save: identical to the reference" \
        "$(save_nc iptables-nft-save; save_nc ip6tables-nft-save)" "$REF_SAVE"
is "iptables-nft -S reads exactly what iptables-legacy -S reads from the legacy backend" \
        "$(all_s)" "$LEG_S"
check_fails "no 'unsupported' or warning in iptables-nft's output" \
        bash -c "{ for t in filter nat; do iptables-nft -t \$t -S; ip6tables-nft -t \$t -S; done;
                   iptables-nft-save; ip6tables-nft-save; } 2>&1 | grep -Ei 'unsupported|warning'"
check "iptables-nft -C finds the masquerade rule" iptables-nft -t nat -C PODNET-MASQ \
        -s 10.244.1.0/24 ! -d 10.244.1.0/24 -m comment --comment podnet:net1 -j MASQUERADE
check "ip6tables-nft -C finds the forward jump" ip6tables-nft -C FORWARD \
        -m comment --comment "podnet forward" -j PODNET-FORWARD

# ---- idempotence: nothing written, handles unchanged ----
before=$(nft -a list ruleset 2>/dev/null)
run node-ensure --non-masq $CL4 --non-masq $NM4 --non-masq $CL6 $CL4 $CL6
is "second ensure: no commit" "$RC:$(cat $OUT)" "0:0"
run masq-ensure net1 10.244.1.0/24
is "second masq ensure: present (0)" "$RC:$(cat $OUT)" "0:0"
is "second ensure: nft -a list ruleset identical (handles too)" "$(nft -a list ruleset 2>/dev/null)" "$before"
run masq-has net6 fd00:1::/64
is "masq has (IPv6): 1" "$RC:$(cat $OUT)" "0:1"
run dump
check "dump lists podnet's chains in iptables -S syntax" grep -qxF \
        -- '-A PODNET-MASQ -s 10.244.1.0/24 ! -d 10.244.1.0/24 -m comment --comment "podnet:net1" -j MASQUERADE' $OUT

# ---- save/restore round trip ----
saved4=$(iptables-nft-save) saved6=$(ip6tables-nft-save)
echo "$saved4" | iptables-nft-restore
echo "$saved6" | ip6tables-nft-restore
is "after iptables-nft-save | iptables-nft-restore: same rules" \
        "$(save_nc iptables-nft-save; save_nc ip6tables-nft-save)" "$REF_SAVE"
run node-ensure --non-masq $CL4 --non-masq $NM4 --non-masq $CL6 $CL4 $CL6
is "after the round trip, ensure finds everything in place" "$RC:$(cat $OUT)" "0:0"
run masq-ensure net6 fd00:1::/64
is "after the round trip, the masquerade rule is found" "$RC:$(cat $OUT)" "0:0"

# ---- repair: a flushed chain, a lost jump, a duplicate ----
iptables-nft -F PODNET-FORWARD
iptables-nft -D FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD
iptables-nft -t nat -A PODNET-MASQ -s 10.244.1.0/24 ! -d 10.244.1.0/24 -m comment --comment podnet:net1 -j MASQUERADE
run node-ensure --non-masq $CL4 --non-masq $NM4 --non-masq $CL6 $CL4 $CL6
is "ensure after a flush: one commit" "$RC:$(cat $OUT)" "0:1"
run masq-ensure net1 10.244.1.0/24
is "masq ensure with a duplicate: 0 (present)" "$RC:$(cat $OUT)" "0:0"
is "repaired: the same rules as the reference again" \
        "$(save_nc iptables-nft-save; save_nc ip6tables-nft-save)" "$REF_SAVE"

# ---- removal: exactly podnet's rules and chains ----
run masq-remove net1 10.244.1.0/24
is "masq remove: 1" "$RC:$(cat $OUT)" "0:1"
run masq-remove net1 10.244.1.0/24
is "masq remove again: 0" "$RC:$(cat $OUT)" "0:0"
is "last masquerade rule gone: chain PODNET-MASQ gone" "$(iptables-nft -t nat -S | grep -c PODNET-MASQ)" 0
run masq-remove net6 fd00:1::/64
run node-teardown
is "teardown: one commit" "$RC:$(cat $OUT)" "0:1"
is "teardown: nothing of podnet in nf_tables" "$(nft list ruleset | grep -ci podnet)" 0
run node-teardown
is "teardown again: nothing to do" "$RC:$(cat $OUT)" "0:0"

# ---- a host with Docker-like rules in nf_tables before podnet ----
nft flush ruleset
iptables-nft -P FORWARD DROP
iptables-nft -N DOCKER-USER
iptables-nft -A DOCKER-USER -j RETURN
iptables-nft -A FORWARD -j DOCKER-USER
iptables-nft -A FORWARD -o docker0 -j ACCEPT
iptables-nft -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
host_before=$(nft -s list ruleset 2>/dev/null)
run node-ensure 10.6.0.0/16
is "Docker-like host: ensure commits" "$RC:$(cat $OUT)" "0:1"
is "Docker-like host: podnet's jump is FORWARD's first rule" "$(iptables-nft -S FORWARD | sed -n 2p)" \
        '-A FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD'
is "Docker-like host: the DROP policy stays" "$(iptables-nft -S FORWARD | sed -n 1p)" "-P FORWARD DROP"
is "Docker-like host: Docker's rules stay" "$(iptables-nft -S FORWARD | grep -c DOCKER-USER)" 1

# Traffic through this namespace as a router: pod 10.6.0.2 -> outside 192.168.60.2.
fw_router # pod fwpod 10.6.0.2 -> this namespace -> outside fwout 192.168.60.2 (lib.sh)
check "traffic: pod reaches outside through the nf_tables FORWARD DROP policy" \
        ip netns exec fwpod ping -c2 -W2 192.168.60.2
pkts=$(iptables-nft -L PODNET-FORWARD -v -x -n | awk '/ACCEPT/ {s += $1} END {print s + 0}')
if [ "$pkts" -ge 2 ]; then ok "traffic: PODNET-FORWARD counted $pkts packet(s)"; else fail "traffic: PODNET-FORWARD counted $pkts"; fi
run node-teardown
check "traffic: after teardown, the DROP policy drops it" bash -c '! ip netns exec fwpod ping -c1 -W1 192.168.60.2'
is "teardown leaves the host's nf_tables rules exactly as they were" "$(nft -s list ruleset 2>/dev/null)" "$host_before"
ip netns del fwpod
ip netns del fwout

# ---- unhappy path: a chain of podnet's name that is not podnet's ----
nft add chain ip filter PODNET-FORWARD '{ type filter hook forward priority 5; policy accept; }'
before=$(nft -a list ruleset 2>/dev/null)
run node-ensure 10.6.0.0/16
is "a base chain named PODNET-FORWARD: refused" "$RC" 1
check "the error names the chain and the table" grep -q 'PODNET-FORWARD of ip table filter is a base chain' $ERR
is "nothing written (no jump, no nat chain)" "$(nft -a list ruleset 2>/dev/null)" "$before"
nft delete chain ip filter PODNET-FORWARD

# ---- concurrent writers: another program rewriting FORWARD and nat meanwhile ----
nft flush ruleset
(
        for i in $(seq 200); do
                iptables-nft -A FORWARD -s 10.99.0.$((i % 250))/32 -j ACCEPT
                iptables-nft -t nat -A POSTROUTING -s 10.98.0.$((i % 250))/32 -j RETURN
                iptables-nft -D FORWARD -s 10.99.0.$((i % 250))/32 -j ACCEPT
        done
) >/dev/null 2>&1 &
writer=$!
bad=0
for i in $(seq 30); do
        "$T" --backend iptables-nft node-ensure 10.6.0.0/16 >/dev/null 2>>$ERR.conc || bad=$((bad + 1))
        "$T" --backend iptables-nft masq-ensure cnet 10.6.$((i % 4)).0/24 >/dev/null 2>>$ERR.conc || bad=$((bad + 1))
        "$T" --backend iptables-nft masq-remove cnet 10.6.$(((i + 2) % 4)).0/24 >/dev/null 2>>$ERR.conc || bad=$((bad + 1))
done
wait $writer
is "concurrent writers: every call succeeded" "$bad" 0
[ "$bad" -eq 0 ] || sed 's/^/#   /' $ERR.conc | head -5
is "concurrent writers: one forward jump" "$(iptables-nft -S FORWARD | grep -c PODNET-FORWARD)" 1
is "concurrent writers: one masquerade jump" "$(iptables-nft -t nat -S POSTROUTING | grep -c 'j PODNET-MASQ')" 1
is "concurrent writers: PODNET-FORWARD has its two rules" "$(iptables-nft -S PODNET-FORWARD | grep -c '^-A')" 2
is "concurrent writers: no duplicate masquerade rule" \
        "$(iptables-nft -t nat -S PODNET-MASQ | grep '^-A' | sort | uniq -d | wc -l)" 0

ip netns del ref
ip netns del leg
finish
