#!/bin/bash
# Switching podnet-routes' firewall backend moves podnet-cni's per-network masquerade
# rules (ipMasq, IPv4 and IPv6, several networks) with podnet's chains, so that podnet's
# rules are never in both backends: added to the new one, then removed from the old one,
# PODNET-MASQ and its jump gone from the old one; pods attached before the switch are
# deleted cleanly after it; a second sync moves nothing; the host's rules untouched.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"
for cmd in iptables-legacy iptables-nft iptables-legacy-save iptables-nft-save ip6tables-legacy-save ip6tables-nft-save; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }

STATE=/run/podnet/firewall-backend
saves_legacy() { iptables-legacy-save -t nat 2>/dev/null; ip6tables-legacy-save -t nat 2>/dev/null; }
saves_nft() { iptables-nft-save -t nat 2>/dev/null; ip6tables-nft-save -t nat 2>/dev/null; }
in_legacy() { saves_legacy | grep -c -- "podnet:$1\""; }
in_nft() { saves_nft | grep -c -- "podnet:$1\""; }
masq_chain_legacy() { saves_legacy | grep -c 'PODNET-MASQ'; }
masq_chain_nft() { saves_nft | grep -c 'PODNET-MASQ'; }
mkdir -p "$TMPDIR/cni"
echo "self 10.1.7.0/24 192.168.7.1" > "$TMPDIR/nodes.txt"
rt() { "$PODNET_ROUTES" --node-name self --cni-conf-dir "$TMPDIR/cni" --cni-ip-masq \
        --bridge cbr7 --ipam-data-dir "$DATADIR" --nodes "$TMPDIR/nodes.txt" \
        --cluster-cidr 10.1.0.0/16,fd00:9::/48 "$@"; }
# a network of podnet-cni's with ipMasq and firewallBackend auto: NAME [JQ]
mconf() { conf 1.0.0 ".ipMasq = true | .firewallBackend = \"auto\" | .name = \"$1\" | ${2:-.}"; }
v6='.ipam.ranges = [[{subnet: "fd00:9:1::/64"}]] | .bridge = "cbr6"'
for p in a b c d; do
        ip netns add "pod$p"
done
# the host's own rules in the legacy nat table (Docker's), kept as they were
iptables-legacy -w -t nat -N DOCKER
iptables-legacy -w -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
host_legacy=$(saves_legacy | grep -v PODNET | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')

rt --firewall iptables-legacy sync > "$TMPDIR/s1.out" 2>&1
is "sync --firewall iptables-legacy exits 0" "$?" 0
jq -c '.plugins[0] + {cniVersion, name}' "$TMPDIR/cni/10-podnet.conflist" | cni ADD ctr-a /run/netns/poda
expect_ok "ADD with podnet-routes' conflist"
mconf net-x | cni ADD ctr-b /run/netns/podb
expect_ok "ADD on a second network"
mconf net-6 "$v6" | cni ADD ctr-c /run/netns/podc
expect_ok "ADD on an IPv6 network"
is "legacy: network podnet masqueraded there" "$(in_legacy podnet)" 1
is "legacy: network net-x masqueraded there" "$(in_legacy net-x)" 1
is "legacy: network net-6 masqueraded there (ip6tables)" "$(in_legacy net-6)" 1
is "legacy: nothing in nf_tables" "$(in_nft 'net-[x6]')" 0

# --- the switch ---
rt --firewall iptables-nft -v sync > "$TMPDIR/s2.out" 2>&1
is "sync --firewall iptables-nft exits 0" "$?" 0
is "moved: network podnet in nf_tables" "$(in_nft podnet)" 1
is "moved: network net-x in nf_tables" "$(in_nft net-x)" 1
is "moved: network net-6 in nf_tables (ip6)" "$(in_nft net-6)" 1
is "moved: none left in legacy" "$(( $(in_legacy podnet) + $(in_legacy net-x) + $(in_legacy net-6) ))" 0
is "moved: PODNET-MASQ and its jumps gone from legacy" "$(masq_chain_legacy)" 0
check "moved: the jump to PODNET-MASQ in nf_tables' POSTROUTING" sh -c "iptables-nft -t nat -S POSTROUTING | grep -q -- '-j PODNET-MASQ'"
is "the sync said what it moved" "$(grep -c 'Moved the masquerade rule of network' "$TMPDIR/s2.out")" 3
check_fails "no warning about the moves" grep -q "Warning: Moving" "$TMPDIR/s2.out"
check "iptables-nft -t nat -S shows them, nothing unsupported" sh -c "iptables-nft -t nat -S PODNET-MASQ 2>&1 | grep -q 'podnet:net-x' && ! iptables-nft -t nat -S 2>&1 | grep -qi unsupported"
is "the host's legacy rules as they were" "$(saves_legacy | grep -v PODNET | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')" "$host_legacy"

rt --firewall iptables-nft -v sync > "$TMPDIR/s3.out" 2>&1
is "second sync exits 0" "$?" 0
check_fails "second sync moves nothing" grep -q 'Moved the masquerade' "$TMPDIR/s3.out"
is "still once in nf_tables" "$(in_nft net-x)" 1

# --- pods attached before the switch go cleanly after it ---
PODNET_SYNC_DEL=1
mconf net-x | cni DEL ctr-b /run/netns/podb
expect_ok "DEL of net-x's pod after the switch"
is "net-x's rule gone from nf_tables" "$(in_nft net-x)" 0
is "and from legacy" "$(in_legacy net-x)" 0
unset PODNET_SYNC_DEL

# --- back to legacy through the automatic choice (Docker's rules are there) ---
rt -v sync > "$TMPDIR/s4.out" 2>&1
is "auto sync exits 0" "$?" 0
is "auto chose legacy" "$(head -1 "$STATE")" iptables-legacy
is "back: network podnet in legacy" "$(in_legacy podnet)" 1
is "back: network net-6 in legacy" "$(in_legacy net-6)" 1
is "back: nothing of podnet-cni's left in nf_tables" "$(( $(in_nft podnet) + $(in_nft net-6) ))" 0
is "back: PODNET-MASQ gone from nf_tables" "$(masq_chain_nft)" 0
PODNET_SYNC_DEL=1
jq -c '.plugins[0] + {cniVersion, name}' "$TMPDIR/cni/10-podnet.conflist" | cni DEL ctr-a /run/netns/poda
expect_ok "DEL of network podnet's pod"
mconf net-6 "$v6" | cni DEL ctr-c /run/netns/podc
expect_ok "DEL of net-6's pod"
unset PODNET_SYNC_DEL
rt teardown > /dev/null 2>&1
is "after DELs and teardown: nothing of podnet's in legacy" "$(saves_legacy | grep -c PODNET)" 0
is "after DELs and teardown: nothing of podnet's in nf_tables" "$(saves_nft | grep -c PODNET)" 0
is "the host's legacy rules as they were at the end" "$(saves_legacy | grep -v PODNET | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')" "$host_legacy"
finish
