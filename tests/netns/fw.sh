#!/bin/bash
# Firewall family against the kernel's legacy x_tables: per-network masquerade, the node
# chains of podnet-routes, teardown, the xtables lock, forwarding sysctls, and traffic
# through a masquerading router. Runs in the private namespace lib.sh makes.
. "$top_srcdir/tests/netns/lib.sh"

T="$top_builddir/tests/netns/pn-fw-test"
OUT=/run/podnet-test/fw.out
ERR=/run/podnet-test/fw.err

# run VERB ARGS...: the helper's stdout in $OUT, stderr in $ERR, exit status in $RC.
run() {
        "$T" "$@" >"$OUT" 2>"$ERR"
        RC=$?
}
# count PATTERN CMD...: number of lines of CMD's output matching the fixed string.
count() {
        local pat=$1
        shift
        "$@" 2>/dev/null | grep -cF -- "$pat"
}
nat4() { iptables-legacy -w -t nat -S "$@"; }
nat6() { ip6tables-legacy -w -t nat -S "$@"; }
filter4() { iptables-legacy -w -S "$@"; }
filter6() { ip6tables-legacy -w -S "$@"; }

M1='-A PODNET-MASQ -s 10.1.0.0/16 ! -d 10.1.0.0/16 -m comment --comment "podnet:net1" -j MASQUERADE'
M2='-A PODNET-MASQ -s 10.2.0.0/24 ! -d 10.2.0.0/24 -m comment --comment "podnet:net2" -j MASQUERADE'
M6='-A PODNET-MASQ -s fd00:1::/64 ! -d fd00:1::/64 -m comment --comment "podnet:net6" -j MASQUERADE'
JM='-A POSTROUTING -m comment --comment "podnet masquerade" -j PODNET-MASQ'
JF='-A FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD'
JP='-A POSTROUTING -m comment --comment "podnet postrouting" -j PODNET-POSTROUTING'

# ---- per-network masquerade ----
run masq-ensure net1 10.1.0.0/16
is "masq ensure: first call adds the rule (returns 1)" "$RC:$(cat "$OUT")" "0:1"
run masq-ensure net1 10.1.0.0/16
is "masq ensure: second call finds it (returns 0)" "$RC:$(cat "$OUT")" "0:0"
run masq-ensure net1 10.1.0.0/16
is "masq ensure: third call finds it (returns 0)" "$RC:$(cat "$OUT")" "0:0"
is "masq ensure x3: exactly one rule" "$(count "$M1" nat4)" 1
is "masq ensure x3: exactly one rule in PODNET-MASQ" "$(nat4 PODNET-MASQ | grep -c '^-A')" 1
is "masq ensure x3: exactly one jump from POSTROUTING" "$(count "$JM" nat4)" 1
is "masq ensure x3: nothing else jumps to PODNET-MASQ" "$(count '-j PODNET-MASQ' nat4)" 1

run masq-ensure net2 10.2.0.9/24
is "masq ensure: a second network (host bits masked)" "$RC:$(cat "$OUT")" "0:1"
is "two networks: two rules" "$(nat4 PODNET-MASQ | grep -c '^-A')" 2
is "two networks: network 2's rule" "$(count "$M2" nat4)" 1
is "two networks: still one jump" "$(count '-j PODNET-MASQ' nat4)" 1
# Byte-for-byte what iptables(8) would write: its -C finds podnet's entries.
check "iptables-legacy -C finds the masquerade rule" iptables-legacy -w -t nat -C PODNET-MASQ \
        -s 10.1.0.0/16 ! -d 10.1.0.0/16 -m comment --comment podnet:net1 -j MASQUERADE
check "iptables-legacy -C finds the masquerade jump" iptables-legacy -w -t nat -C POSTROUTING \
        -m comment --comment "podnet masquerade" -j PODNET-MASQ

run masq-has net1 10.1.0.0/16
is "masq has: present" "$RC:$(cat "$OUT")" "0:1"
run masq-has net3 10.1.0.0/16
is "masq has: other network name, same subnet: absent" "$RC:$(cat "$OUT")" "0:0"
run masq-has net1 10.9.0.0/16
is "masq has: same network, other subnet: absent" "$RC:$(cat "$OUT")" "0:0"
run masq-has net1 fd00:9::/64
is "masq has: IPv6 without any IPv6 rule: absent" "$RC:$(cat "$OUT")" "0:0"

# Rules are found by content, not position: a foreign rule in front and a duplicate
# written by iptables(8) itself.
iptables-legacy -w -t nat -I PODNET-MASQ 1 -s 10.1.0.0/16 -j RETURN
iptables-legacy -w -t nat -A PODNET-MASQ -s 10.1.0.0/16 ! -d 10.1.0.0/16 \
        -m comment --comment podnet:net1 -j MASQUERADE
is "duplicate written by iptables-legacy is recognised" "$(count "$M1" nat4)" 2
run masq-ensure net1 10.1.0.0/16
is "masq ensure with a duplicate: nothing added" "$RC:$(cat "$OUT")" "0:0"
is "masq ensure with a duplicate: the duplicate is gone" "$(count "$M1" nat4)" 1
is "masq ensure: foreign rule in the chain left alone" \
        "$(count '-A PODNET-MASQ -s 10.1.0.0/16 -j RETURN' nat4)" 1
iptables-legacy -w -t nat -D PODNET-MASQ -s 10.1.0.0/16 -j RETURN

run masq-ensure net6 fd00:1::5/64
is "masq ensure IPv6: added" "$RC:$(cat "$OUT")" "0:1"
is "IPv6 subnet: rule in ip6tables nat" "$(count "$M6" nat6)" 1
is "IPv6 subnet: jump in ip6tables nat" "$(count "$JM" nat6)" 1
check "ip6tables-legacy -C finds the IPv6 masquerade rule" ip6tables-legacy -w -t nat -C \
        PODNET-MASQ -s fd00:1::/64 ! -d fd00:1::/64 -m comment --comment podnet:net6 -j MASQUERADE
is "IPv6 subnet: nothing in iptables nat" "$(count 'fd00:1::' nat4)" 0
run masq-has net6 fd00:1::/64
is "masq has IPv6: present" "$RC:$(cat "$OUT")" "0:1"

run masq-ensure 'bad"name' 10.3.0.0/16
is "masq ensure: a quote in the network name is code 7" "$RC" 1
check "masq ensure: error names the network" grep -qF 'bad"name' "$ERR"
check "masq ensure: error code 7" grep -qF 'code 7' "$ERR"
run masq-ensure "" 10.3.0.0/16
is "masq ensure: empty network name refused" "$RC" 1
run masq-ensure net3 not-a-cidr
is "masq ensure: missing subnet refused" "$RC" 1
check "masq ensure: missing subnet is code 7" grep -qF 'code 7' "$ERR"

run masq-remove net1 10.1.0.0/16
is "masq remove: removed (returns 1)" "$RC:$(cat "$OUT")" "0:1"
is "masq remove: rule gone" "$(count "$M1" nat4)" 0
is "masq remove: other network's rule kept" "$(count "$M2" nat4)" 1
is "masq remove: chain kept while not empty" "$(count '-N PODNET-MASQ' nat4)" 1
run masq-remove net1 10.1.0.0/16
is "masq remove again: absent is success (returns 0)" "$RC:$(cat "$OUT")" "0:0"
run masq-has net1 10.1.0.0/16
is "masq has after remove: absent" "$RC:$(cat "$OUT")" "0:0"
run masq-remove net2 10.2.0.0/24
is "masq remove last rule: removed" "$RC:$(cat "$OUT")" "0:1"
is "masq remove last rule: chain removed" "$(count '-N PODNET-MASQ' nat4)" 0
is "masq remove last rule: jump removed" "$(count 'PODNET-MASQ' nat4)" 0
is "masq remove IPv4: IPv6 chain untouched" "$(count "$M6" nat6)" 1
run masq-remove net6 fd00:1::/64
is "masq remove IPv6: removed" "$RC:$(cat "$OUT")" "0:1"
is "masq remove IPv6: chain and jump gone" "$(count 'PODNET-MASQ' nat6)" 0

# The backend is the context's: chosen by name, an unknown one refused before any call.
run --backend iptables-legacy masq-ensure net7 10.7.0.0/16
is "backend iptables-legacy by name: adds" "$RC:$(cat "$OUT")" "0:1"
is "backend iptables-legacy by name: the same rule" \
        "$(count '-A PODNET-MASQ -s 10.7.0.0/16 ! -d 10.7.0.0/16 -m comment --comment "podnet:net7" -j MASQUERADE' nat4)" 1
run masq-remove net7 10.7.0.0/16
is "backend by default: removes it" "$RC:$(cat "$OUT")" "0:1"
run --backend no-such-backend masq-ensure net7 10.7.0.0/16
is "unknown backend: refused" "$RC" 1
check "unknown backend: said so" grep -qF 'backend no-such-backend' "$ERR"
is "unknown backend: nothing written" "$(count podnet:net7 nat4)" 0

# ---- node chains ----
# Docker-like: a DROP in FORWARD before podnet arrives; our jump must precede it.
iptables-legacy -w -A FORWARD -s 10.99.0.0/16 -j DROP
run masq-ensure net1 10.1.0.0/16
run node-ensure 10.0.0.0/16
is "node ensure: two commits (filter, nat)" "$RC:$(cat "$OUT")" "0:2"
is "node ensure: PODNET-FORWARD exactly as specified" "$(filter4 PODNET-FORWARD)" \
        "-N PODNET-FORWARD
-A PODNET-FORWARD -s 10.0.0.0/16 -j ACCEPT
-A PODNET-FORWARD -d 10.0.0.0/16 -j ACCEPT"
is "node ensure: FORWARD jump is the first rule" "$(filter4 FORWARD | sed -n 2p)" "$JF"
is "node ensure: one FORWARD jump" "$(count '-j PODNET-FORWARD' filter4)" 1
is "node ensure: foreign FORWARD rule kept after the jump" "$(filter4 FORWARD | sed -n 3p)" \
        "-A FORWARD -s 10.99.0.0/16 -j DROP"
is "node ensure: PODNET-POSTROUTING exactly as specified" "$(nat4 PODNET-POSTROUTING)" \
        "-N PODNET-POSTROUTING
-A PODNET-POSTROUTING -s 10.0.0.0/16 -d 10.0.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.0.0.0/16 -j MASQUERADE"
is "node ensure: one POSTROUTING jump" "$(count "$JP" nat4)" 1
is "node ensure: no blanket ACCEPT anywhere" "$(filter4 | grep -c -- '^-A [A-Z-]* -j ACCEPT$')" 0
check "iptables-legacy -C finds the node rules" bash -c '
        iptables-legacy -w -C FORWARD -m comment --comment "podnet forward" -j PODNET-FORWARD &&
        iptables-legacy -w -C PODNET-FORWARD -d 10.0.0.0/16 -j ACCEPT &&
        iptables-legacy -w -t nat -C PODNET-POSTROUTING -s 10.0.0.0/16 -d 10.0.0.0/16 -j RETURN &&
        iptables-legacy -w -t nat -C PODNET-POSTROUTING -s 10.0.0.0/16 -j MASQUERADE'
is "node ensure IPv4 only: nothing in ip6tables" "$(count PODNET ip6tables-legacy -w -S)" 0

before=$(filter4; nat4)
run node-ensure 10.0.0.0/16
is "node ensure again: no commit (returns 0)" "$RC:$(cat "$OUT")" "0:0"
run node-ensure 10.0.0.0/16
is "node ensure a third time: no commit" "$RC:$(cat "$OUT")" "0:0"
is "node ensure again: rules unchanged" "$(filter4; nat4)" "$before"

# Someone else inserts at the top of FORWARD (Docker restarting): the jump moves back.
iptables-legacy -w -I FORWARD 1 -s 10.98.0.0/16 -j DROP
run node-ensure 10.0.0.0/16
is "node ensure after a foreign insert at the top: one commit" "$RC:$(cat "$OUT")" "0:1"
is "node ensure: FORWARD jump first again" "$(filter4 FORWARD | sed -n 2p)" "$JF"
is "node ensure: still one FORWARD jump" "$(count '-j PODNET-FORWARD' filter4)" 1
iptables-legacy -w -D FORWARD -s 10.98.0.0/16 -j DROP

# Tampering inside our chain is repaired.
iptables-legacy -w -D PODNET-FORWARD -d 10.0.0.0/16 -j ACCEPT
iptables-legacy -w -t nat -A PODNET-POSTROUTING -j ACCEPT
run node-ensure 10.0.0.0/16
is "node ensure after tampering: two commits" "$RC:$(cat "$OUT")" "0:2"
is "node ensure after tampering: rules restored" "$(filter4; nat4)" "$before"

run node-ensure 10.7.0.0/16
is "node ensure with a new cluster CIDR: two commits" "$RC:$(cat "$OUT")" "0:2"
is "new cluster CIDR: PODNET-FORWARD replaced" "$(filter4 PODNET-FORWARD)" \
        "-N PODNET-FORWARD
-A PODNET-FORWARD -s 10.7.0.0/16 -j ACCEPT
-A PODNET-FORWARD -d 10.7.0.0/16 -j ACCEPT"
is "new cluster CIDR: PODNET-POSTROUTING replaced" "$(nat4 PODNET-POSTROUTING)" \
        "-N PODNET-POSTROUTING
-A PODNET-POSTROUTING -s 10.7.0.0/16 -d 10.7.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.7.0.0/16 -j MASQUERADE"
is "new cluster CIDR: old CIDR gone everywhere" "$(count 10.0.0.0/16 filter4; count 10.0.0.0/16 nat4)" \
        "0
0"
is "new cluster CIDR: jumps still single" "$(count '-j PODNET-FORWARD' filter4):$(count "$JP" nat4)" "1:1"

run node-ensure --non-masq 10.0.0.0/8 --non-masq 192.168.0.0/16 10.7.0.0/16
is "non-masquerade CIDRs: nat table committed only" "$RC:$(cat "$OUT")" "0:1"
is "non-masquerade CIDRs: RETURN rules before MASQUERADE" "$(nat4 PODNET-POSTROUTING)" \
        "-N PODNET-POSTROUTING
-A PODNET-POSTROUTING -s 10.7.0.0/16 -d 10.0.0.0/8 -j RETURN
-A PODNET-POSTROUTING -s 10.7.0.0/16 -d 192.168.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.7.0.0/16 -j MASQUERADE"

run node-ensure 10.7.0.0/16 10.8.0.0/16 fd10::/56
is "dual-stack, two IPv4 cluster CIDRs: four commits" "$RC:$(cat "$OUT")" "0:4"
is "two cluster CIDRs: PODNET-FORWARD" "$(filter4 PODNET-FORWARD | grep -c '^-A')" 4
is "two cluster CIDRs: each masquerades outside both" "$(nat4 PODNET-POSTROUTING)" \
        "-N PODNET-POSTROUTING
-A PODNET-POSTROUTING -s 10.7.0.0/16 -d 10.7.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.7.0.0/16 -d 10.8.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.7.0.0/16 -j MASQUERADE
-A PODNET-POSTROUTING -s 10.8.0.0/16 -d 10.7.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.8.0.0/16 -d 10.8.0.0/16 -j RETURN
-A PODNET-POSTROUTING -s 10.8.0.0/16 -j MASQUERADE"
is "IPv6 cluster CIDR: ip6tables PODNET-FORWARD" "$(filter6 PODNET-FORWARD)" \
        "-N PODNET-FORWARD
-A PODNET-FORWARD -s fd10::/56 -j ACCEPT
-A PODNET-FORWARD -d fd10::/56 -j ACCEPT"
is "IPv6 cluster CIDR: ip6tables FORWARD jump first" "$(filter6 FORWARD | sed -n 2p)" "$JF"
is "IPv6 cluster CIDR: ip6tables PODNET-POSTROUTING" "$(nat6 PODNET-POSTROUTING)" \
        "-N PODNET-POSTROUTING
-A PODNET-POSTROUTING -s fd10::/56 -d fd10::/56 -j RETURN
-A PODNET-POSTROUTING -s fd10::/56 -j MASQUERADE"
is "IPv6 cluster CIDR: no IPv6 address in iptables" "$(count fd10:: filter4; count fd10:: nat4)" \
        "0
0"
run node-ensure 10.7.0.0/16 10.8.0.0/16 fd10::/56
is "dual-stack resync: no commit" "$RC:$(cat "$OUT")" "0:0"

run dump
is "dump: succeeds" "$RC" 0
check "dump: names each table" grep -qx '# ip6tables -t nat' "$OUT"
check "dump: lists the FORWARD jump" grep -qxF -- "$JF" "$OUT"
check "dump: lists the masquerade rule of a network" grep -qxF -- \
        '-A PODNET-MASQ -s 10.1.0.0/16 ! -d 10.1.0.0/16 -m comment --comment "podnet:net1" -j MASQUERADE' "$OUT"
is "dump: IPv4 filter section equals iptables -S" \
        "$(sed -n '/^# iptables -t filter$/,/^#/p' "$OUT" | grep -v '^#')" \
        "$(filter4 | grep -F PODNET)"
check_fails "dump: no foreign rule" grep -q 10.99.0.0 "$OUT"

run node-ensure --no-masq 10.7.0.0/16
is "masquerade off, 10.8/16 and IPv6 gone: four commits (both tables, both families)" \
        "$RC:$(cat "$OUT")" "0:4"
is "masquerade off: PODNET-POSTROUTING and its jump gone" "$(count PODNET-POSTROUTING nat4)" 0
is "masquerade off: PODNET-FORWARD kept" "$(count '-A PODNET-FORWARD' filter4)" 2
is "IPv6 dropped from the config: ip6tables chains gone" \
        "$(count PODNET ip6tables-legacy -w -S; count PODNET-POSTROUTING nat6)" "0
0"
run node-ensure 10.7.0.0/16 fd10::/56
is "back to dual-stack with masquerade: three commits" "$RC:$(cat "$OUT")" "0:3"
run masq-ensure net6 fd00:1::/64

run node-teardown
is "teardown: four commits (two tables, two families)" "$RC:$(cat "$OUT")" "0:4"
is "teardown: no PODNET-FORWARD left" "$(count PODNET-FORWARD filter4; count PODNET-FORWARD filter6)" \
        "0
0"
is "teardown: no PODNET-POSTROUTING left" \
        "$(count PODNET-POSTROUTING nat4; count PODNET-POSTROUTING nat6)" "0
0"
is "teardown: foreign FORWARD rule kept" "$(count '-A FORWARD -s 10.99.0.0/16 -j DROP' filter4)" 1
is "teardown: PODNET-MASQ (the CNI plugin's) kept, IPv4" "$(count "$M1" nat4):$(count "$JM" nat4)" "1:1"
is "teardown: PODNET-MASQ kept, IPv6" "$(count "$M6" nat6)" 1
run node-teardown
is "teardown again: nothing to do (returns 0)" "$RC:$(cat "$OUT")" "0:0"
run node-ensure
is "node ensure without a cluster CIDR refused" "$RC" 1

# ---- forwarding sysctls (this namespace's) ----
echo 0 >/proc/sys/net/ipv4/ip_forward
run forwarding 4
is "forwarding IPv4: written (returns 1)" "$RC:$(cat "$OUT")" "0:1"
is "forwarding IPv4: net.ipv4.ip_forward = 1" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
run forwarding 4
is "forwarding IPv4 again: already on (returns 0)" "$RC:$(cat "$OUT")" "0:0"
echo 0 >/proc/sys/net/ipv6/conf/all/forwarding
run forwarding 6
is "forwarding IPv6: written" "$RC:$(cat "$OUT")" "0:1"
is "forwarding IPv6: all.forwarding = 1" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
run forwarding 7
is "forwarding: unknown family refused" "$RC" 1

# ---- the xtables lock ----
flock /run/xtables.lock sleep 3 &
holder=$!
sleep 0.3
start=$(date +%s%N)
run masq-ensure net4 10.4.0.0/16
elapsed=$((($(date +%s%N) - start) / 1000000))
is "lock held by another process: ensure still succeeds" "$RC:$(cat "$OUT")" "0:1"
if [ "$elapsed" -ge 1500 ]; then
        ok "lock held by another process: ensure waited (${elapsed} ms)"
else
        fail "lock held by another process: ensure waited (only ${elapsed} ms)"
fi
wait "$holder"

# A rule already in place is confirmed without the lock: no wait, no timeout.
flock /run/xtables.lock sleep 3 &
holder=$!
sleep 0.3
run --lock-timeout 200 masq-ensure net4 10.4.0.0/16
is "lock held, rule in place: ensure succeeds without waiting" "$RC:$(cat "$OUT")" "0:0"
wait "$holder"

flock /run/xtables.lock sleep 3 &
holder=$!
sleep 0.3
run --lock-timeout 200 masq-ensure net5 10.5.0.0/16
is "lock held past the timeout: fails" "$RC" 1
check "lock held past the timeout: EAGAIN and CNI code 11" grep -qF '(errno 11, code 11)' "$ERR"
check "lock held past the timeout: message names the lock file" grep -qF /run/xtables.lock "$ERR"
wait "$holder"
run masq-has net5 10.5.0.0/16
is "lock timeout: nothing was written" "$RC:$(cat "$OUT")" "0:0"

flock /run/other.lock sleep 3 &
holder=$!
sleep 0.3
XTABLES_LOCKFILE=/run/other.lock run --lock-timeout 200 masq-ensure net5 10.5.0.0/16
is "XTABLES_LOCKFILE is honoured" "$RC" 1
check "XTABLES_LOCKFILE: message names that file" grep -qF /run/other.lock "$ERR"
run --lock-timeout 200 masq-ensure net5 10.5.0.0/16
is "default lock file free meanwhile: succeeds" "$RC:$(cat "$OUT")" "0:1"
wait "$holder"
rm -f /run/xtables.lock
run masq-remove net5 10.5.0.0/16
is "missing lock file is created" "$RC:$(stat -c %a /run/xtables.lock 2>&1)" "0:600"

# Concurrent writers (kubelet runs ADDs in parallel): the lock keeps every rule.
iptables-legacy -w -t nat -F PODNET-MASQ
pids=()
for i in $(seq 1 20); do
        "$T" masq-ensure "par$i" "10.$((100 + i)).0.0/16" >/dev/null 2>&1 &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
is "20 parallel ensures: 20 rules, none lost" "$(nat4 PODNET-MASQ | grep -c 'podnet:par')" 20
is "20 parallel ensures: one jump" "$(count '-j PODNET-MASQ' nat4)" 1

# ---- traffic: pod -> router (this namespace) -> outside, masqueraded ----
# "outside" has no route back to the pod network: replies arrive only when the router
# masquerades. Only namespaces made here; no default route anywhere.
iptables-legacy -w -t nat -F PODNET-MASQ
fw_router # pod fwpod 10.6.0.2 -> this namespace -> outside fwout 192.168.60.2 (lib.sh)
iptables-legacy -w -P FORWARD DROP
check "traffic: outside unreachable without podnet's rules" \
        bash -c '! ip netns exec fwpod ping -c1 -W1 192.168.60.2'
"$T" node-ensure --no-masq 10.6.0.0/16 >/dev/null
"$T" masq-ensure trafficnet 10.6.0.0/24 >/dev/null
check "traffic: pod reaches outside through FORWARD accept + masquerade" \
        ip netns exec fwpod ping -c2 -W2 192.168.60.2
pkts=$(iptables-legacy -w -t nat -L PODNET-MASQ -v -x -n | awk '/podnet:trafficnet/ {print $1}')
if [ "${pkts:-0}" -ge 1 ]; then
        ok "traffic: the network's MASQUERADE rule counted $pkts packet(s)"
else
        fail "traffic: the network's MASQUERADE rule counted no packet"
fi
pkts=$(iptables-legacy -w -L PODNET-FORWARD -v -x -n | awk '/ACCEPT/ {s += $1} END {print s + 0}')
if [ "$pkts" -ge 2 ]; then
        ok "traffic: PODNET-FORWARD accepted $pkts packet(s)"
else
        fail "traffic: PODNET-FORWARD accepted $pkts packet(s)"
fi
"$T" masq-remove trafficnet 10.6.0.0/24 >/dev/null
check "traffic: without the masquerade rule, no reply" \
        bash -c '! ip netns exec fwpod ping -c1 -W1 192.168.60.2'
ip netns del fwpod
ip netns del fwout

# ---- through the CNI plugin: the tool passes XTABLES_LOCKFILE, the verb picks the code ----
. "$top_srcdir/tests/netns/cni-lib.sh"
ip netns add fwcni
masqconf=$(conf 1.0.0 '.ipMasq = true')
# cni() gives the plugin a clean environment; this ADD gets XTABLES_LOCKFILE too.
CNI_RC=0
env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=fw1 CNI_NETNS=/run/netns/fwcni \
        CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni XTABLES_LOCKFILE=/run/no-such-dir/xtables.lock \
        "$PODNET_CNI" <<<"$masqconf" >"$CNI_OUT" 2>"$CNI_ERR" || CNI_RC=$?
expect_code "ADD, XTABLES_LOCKFILE in a missing directory: a firewall failure" 103
check "ADD: the message names XTABLES_LOCKFILE's file" grep -qF /run/no-such-dir/xtables.lock "$CNI_OUT"
is "failed ADD: no masquerade rule, no lease left" "$(count podnet:podnet-test nat4):$(leases | wc -l)" "0:0"
echo "$masqconf" | cni ADD fw1 /run/netns/fwcni
expect_ok "ADD with the default lock file"
is "ADD: the network's masquerade rule" "$(count podnet:podnet-test nat4)" 1
echo "$masqconf" | cni DEL fw1 /run/netns/fwcni
expect_ok "DEL: succeeds"
is "DEL: the network's last pod gone, its masquerade rule too" "$(count podnet:podnet-test nat4)" 0
ip netns del fwcni

finish
