#!/bin/bash
# podnet-routes and a native nftables forward chain it does not own (nftables.service's,
# firewalld's): sync exits 6 and names it, status shows it (text and JSON); with
# --nft-accept-chain podnet's scoped accepts (cluster CIDRs as source or destination, IPv4
# and IPv6, tagged "podnet: ...") go into that chain once, pod traffic passes, run puts
# them back, teardown removes them and leaves the host's table as it was.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
for cmd in nft jq ping; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }
fw_router
N="$TMPDIR/nodes.txt"
echo "router 10.6.0.0/24 192.168.60.1" > "$N"
rt() { "$PODNET_ROUTES" --node-name router --cni-conf-dir "$TMPDIR/cni" --nodes "$N" \
        --cluster-cidr 10.6.0.0/16,fd00:6::/48 "$@"; }
mkdir -p "$TMPDIR/cni"
pod_ping() { ip netns exec fwpod ping -c1 -W1 192.168.60.2 >/dev/null 2>&1; }
podnet_rules() { nft -a list chain inet filter forward | grep -c 'comment "podnet: '; }

nft -f - <<'EON'
table inet filter {
        chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                iifname "nothing0" accept
        }
}
EON
host_before=$(nft list table inet filter)
check_fails "policy drop: the pod cannot reach the outside before podnet runs" pod_ping

# --- found and reported ---
rt sync > "$TMPDIR/s1.out" 2> "$TMPDIR/s1.err"
is "sync exits 6 when a forward chain drops pod traffic" "$?" 6
check "sync names the table and chain" grep -q 'nftables chain inet filter forward (policy drop) drops pod traffic' "$TMPDIR/s1.err"
check "sync names the option that fixes it" grep -q -- '--nft-accept-chain inet:filter:forward' "$TMPDIR/s1.err"
check_fails "still dropped: podnet's rules in its own tables cannot override it" pod_ping
rt status > "$TMPDIR/st1.out" 2>&1
check "status names the chain" grep -q 'pod traffic dropped by nftables chain inet:filter:forward (policy drop)' "$TMPDIR/st1.out"
rt status --json > "$TMPDIR/st1.json" 2>/dev/null
is "status --json: firewallDropChain" "$(jq -r .firewallDropChain "$TMPDIR/st1.json")" inet:filter:forward
is "status --json: firewallDropReason" "$(jq -r .firewallDropReason "$TMPDIR/st1.json")" "policy drop"
is "nothing inserted into the host's chain without the option" "$(nft list table inet filter)" "$host_before"

# --- an option that is not FAMILY:TABLE:CHAIN ---
rt --nft-accept-chain filter:forward sync > "$TMPDIR/bad.out" 2>&1
is "--nft-accept-chain filter:forward fails" "$?" 1
check "the message says what is expected" grep -q 'FAMILY:TABLE:CHAIN' "$TMPDIR/bad.out"
rt --nft-accept-chain inet:filter:nosuch sync > "$TMPDIR/nosuch.out" 2>&1
is "--nft-accept-chain naming a missing chain fails" "$?" 1
check "the message names the chain" grep -q 'inet filter nosuch' "$TMPDIR/nosuch.out"

# --- the accepts ---
for k in 1 2; do
        rt --nft-accept-chain inet:filter:forward sync > "$TMPDIR/a$k.out" 2> "$TMPDIR/a$k.err"
        is "sync $k with --nft-accept-chain exits 0" "$?" 0
done
nft -a list chain inet filter forward > "$TMPDIR/chain.txt"
is "four podnet accepts (IPv4 and IPv6, source and destination)" "$(podnet_rules)" 4
check "IPv4 source accept" grep -q 'ip saddr 10.6.0.0/16 .*accept comment "podnet: pod traffic from 10.6.0.0/16"' "$TMPDIR/chain.txt"
check "IPv4 destination accept" grep -q 'ip daddr 10.6.0.0/16 .*accept comment "podnet: pod traffic to 10.6.0.0/16"' "$TMPDIR/chain.txt"
check "IPv6 source accept" grep -q 'ip6 saddr fd00:6::/48 .*accept comment "podnet: pod traffic from fd00:6::/48"' "$TMPDIR/chain.txt"
check "IPv6 destination accept" grep -q 'ip6 daddr fd00:6::/48 .*accept comment "podnet: pod traffic to fd00:6::/48"' "$TMPDIR/chain.txt"
check_fails "no blanket accept" grep -qE '^[[:space:]]*(counter packets [0-9]+ bytes [0-9]+ )?accept' "$TMPDIR/chain.txt"
check "podnet's accepts at the head of the chain" sh -c "grep -A1 'policy drop' $TMPDIR/chain.txt | tail -1 | grep -q podnet"
check "the host's own rules kept" grep -q 'iifname "nothing0" accept' "$TMPDIR/chain.txt"
check "the second sync committed nothing" grep -q ", 0 firewall commits" "$TMPDIR/a2.out"
check "pod traffic passes the host's drop" pod_ping
rt --nft-accept-chain inet:filter:forward status --json > "$TMPDIR/st2.json" 2>/dev/null
is "status --json with the option: no drop chain" "$(jq -r .firewallDropChain "$TMPDIR/st2.json")" null

# --- a chain of policy accept that drops with a rule; conditional drops are not ---
nft -f - <<'EON'
table ip fw2 {
        chain fwdchain {
                type filter hook forward priority 10; policy accept;
                ct state invalid drop
        }
}
EON
rt --nft-accept-chain inet:filter:forward sync > "$TMPDIR/c1.out" 2> "$TMPDIR/c1.err"
is "a conditional drop is not reported" "$?" 0
nft add rule ip fw2 fwdchain counter drop
rt --nft-accept-chain inet:filter:forward sync > "$TMPDIR/c2.out" 2> "$TMPDIR/c2.err"
is "an unconditional drop rule is reported (exit 6)" "$?" 6
check "named with the rule" grep -q 'nftables chain ip fw2 fwdchain (rule 2 of 2 drops all)' "$TMPDIR/c2.err"
nft delete table ip fw2

# --- run puts them back ---
PN_WAIT=3
all_back() { [ "$(podnet_rules)" = 4 ]; }
# (the program itself in the background, not a function's subshell: $! is its PID)
"$PODNET_ROUTES" --node-name router --cni-conf-dir "$TMPDIR/cni" --nodes "$N" \
        --cluster-cidr 10.6.0.0/16,fd00:6::/48 --nft-accept-chain inet:filter:forward \
        run --interval 3600 > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "run: accepts in place" all_back
h=$(nft -a list chain inet filter forward | grep 'podnet: pod traffic from 10.6' | sed 's/.*# handle //')
nft delete rule inet filter forward handle "$h"
wait_for "run: a deleted accept comes back" all_back
nft flush chain inet filter forward
wait_for "run: accepts back after a flush of the chain" all_back
kill "$pid"
wait "$pid"

# --- teardown: podnet's accepts go, the host's chain is as it was ---
nft flush chain inet filter forward
nft add rule inet filter forward ct state established,related accept
nft add rule inet filter forward iifname "nothing0" accept
rt --nft-accept-chain inet:filter:forward sync > /dev/null 2>&1
rt teardown > "$TMPDIR/td.out" 2>&1
is "teardown exits 0" "$?" 0
is "teardown leaves the host's table as it was" "$(nft list table inet filter)" "$host_before"
ip netns del fwpod
ip netns del fwout
finish
