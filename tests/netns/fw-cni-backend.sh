#!/bin/bash
# podnet-cni's ipMasq and its "firewallBackend" key: a backend by name, or "auto" (the
# default) which takes the decision podnet-routes recorded in /run/podnet/firewall-backend
# and detects only when there is none; ADD, CHECK, DEL and STATUS in the chosen backend;
# an unknown name refused with code 7 and nothing left behind; a conflist written by
# podnet-routes puts the masquerade rule where podnet-routes put its chains.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"
for cmd in iptables-legacy iptables-nft iptables-legacy-save iptables-nft-save; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }

STATE=/run/podnet/firewall-backend
in_legacy() { iptables-legacy-save -t nat 2>/dev/null | grep -c -- "podnet:$1\""; }
in_nft() { iptables-nft-save -t nat 2>/dev/null | grep -c -- "podnet:$1\""; }
# conf for network NAME with ipMasq, firewallBackend as JQ sets it (default: absent)
mconf() { conf "${3:-1.0.0}" ".ipMasq = true | del(.firewallBackend) | .name = \"$1\" | ${2:-.}"; }
for p in a b c d e f g; do
        ip netns add "pod$p"
done

# --- auto without a recorded decision, on a host without other rules: nf_tables ---
mconf net-a | cni ADD ctr-a /run/netns/poda
expect_ok "ADD, key absent, nothing recorded"
is "detected: the rule is in nf_tables" "$(in_nft net-a)" 1
is "detected: nothing in legacy" "$(in_legacy net-a)" 0
prev=$(cat "$CNI_OUT")
mconf net-a ".prevResult = $prev" | cni CHECK ctr-a /run/netns/poda
expect_ok "CHECK finds the rule in nf_tables"
mconf net-a '.firewallBackend = "iptables-legacy"' | jq -c ".prevResult = $prev" | cni CHECK ctr-a /run/netns/poda
[ "$CNI_RC" -ne 0 ] && grep -q "Masquerade rule.*missing" "$CNI_OUT" &&
        ok "CHECK against iptables-legacy misses the rule" ||
        fail "CHECK against iptables-legacy misses the rule (exit $CNI_RC)"
mconf net-a '.' 1.1.0 | cni STATUS "" "" ""
expect_ok "STATUS with auto"
mconf net-a | cni DEL ctr-a /run/netns/poda
expect_ok "DEL"
is "DEL removed the rule from nf_tables" "$(in_nft net-a)" 0

# --- auto with podnet-routes' recorded decision: that backend, whatever the detection ---
printf 'iptables-legacy\nconfigured\n' > "$STATE"
mconf net-b | cni ADD ctr-b /run/netns/podb
expect_ok "ADD, key absent, iptables-legacy recorded"
is "recorded legacy: the rule is in legacy" "$(in_legacy net-b)" 1
is "recorded legacy: nothing in nf_tables" "$(in_nft net-b)" 0
mconf net-b '.firewallBackend = "auto"' | cni DEL ctr-b /run/netns/podb
expect_ok "DEL with \"auto\" spelled out"
is "DEL removed it from legacy" "$(in_legacy net-b)" 0

# --- a name overrides the record ---
mconf net-c '.firewallBackend = "iptables-nft"' | cni ADD ctr-c /run/netns/podc
expect_ok "ADD, firewallBackend iptables-nft, legacy recorded"
is "named nft: the rule is in nf_tables" "$(in_nft net-c)" 1
is "named nft: nothing in legacy" "$(in_legacy net-c)" 0

# --- a record that is not one falls back to the detection ---
printf 'nftables\n' > "$STATE"
mconf net-e | cni ADD ctr-e /run/netns/pode
expect_ok "ADD with a garbled record"
is "garbled record: detected nf_tables" "$(in_nft net-e)" 1

# --- podnet-routes' choice moves while a network has pods: its rule is in both until
# the last lease goes, then in neither ---
printf 'iptables-legacy\nconfigured\n' > "$STATE"
mconf net-g | cni ADD ctr-g1 /run/netns/podg
expect_ok "ADD with legacy recorded"
printf 'iptables-nft\nconfigured\n' > "$STATE"
ip netns add podh
mconf net-g | cni ADD ctr-g2 /run/netns/podh
expect_ok "ADD after the record moved to nf_tables"
is "moved: the rule in nf_tables" "$(in_nft net-g)" 1
is "moved: the old rule still in legacy" "$(in_legacy net-g)" 1
PODNET_SYNC_DEL=1
mconf net-g | cni DEL ctr-g2 /run/netns/podh
expect_ok "DEL of one pod"
is "a lease left: the rule stays in nf_tables" "$(in_nft net-g)" 1
mconf net-g | cni DEL ctr-g1 /run/netns/podg
expect_ok "DEL of the last pod"
is "last lease: gone from nf_tables" "$(in_nft net-g)" 0
is "last lease: gone from legacy too" "$(in_legacy net-g)" 0
unset PODNET_SYNC_DEL

# --- an unknown name: code 7, nothing left behind ---
mconf net-d '.firewallBackend = "nftables"' | cni ADD ctr-d /run/netns/podd
expect_code "firewallBackend nftables" 7
check "the message names the key" grep -q firewallBackend "$CNI_OUT"
is "no lease for the refused ADD" "$(ls "$DATADIR/net-d" 2>/dev/null | grep -c '^10\.')" 0
is "no pod interface for the refused ADD" "$(ip -n podd -o link show | grep -vc ': lo:')" 0
is "no rule for the refused ADD" "$(( $(in_nft net-d) + $(in_legacy net-d) ))" 0
mconf net-d '.firewallBackend = 7' | cni ADD ctr-d /run/netns/podd
expect_code "firewallBackend not a string" 7

# --- podnet-routes and podnet-cni on one node: the same backend ---
rm -f "$STATE"
iptables-legacy -w -N DOCKER-USER
iptables-legacy -w -A FORWARD -j DOCKER-USER
mkdir -p "$TMPDIR/cni"
echo "self 10.1.7.0/24 192.168.7.1" > "$TMPDIR/nodes.txt"
"$PODNET_ROUTES" --node-name self --cni-conf-dir "$TMPDIR/cni" --cni-ip-masq \
        --bridge cbr7 --ipam-data-dir "$DATADIR" sync --nodes "$TMPDIR/nodes.txt" --cluster-cidr 10.1.0.0/16 \
        > "$TMPDIR/routes.out" 2>&1
is "podnet-routes sync (auto) exits 0" "$?" 0
is "podnet-routes chose legacy (Docker's rules there)" "$(head -1 "$STATE")" iptables-legacy
is "its conflist asks podnet-cni for auto" \
        "$(jq -r '.plugins[0].firewallBackend' "$TMPDIR/cni/10-podnet.conflist")" auto
jq -c '.plugins[0] + {cniVersion, name}' "$TMPDIR/cni/10-podnet.conflist" | cni ADD ctr-f /run/netns/podf
expect_ok "ADD with podnet-routes' conflist"
is "the masquerade rule is where podnet-routes' chains are" "$(in_legacy podnet)" 1
is "and not in nf_tables" "$(in_nft podnet)" 0
check "podnet-routes' chains are in legacy" sh -c "iptables-legacy -S FORWARD | grep -q PODNET-FORWARD"
finish
