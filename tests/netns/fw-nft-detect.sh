#!/bin/bash
# The firewall backend detection (pn_fw_detect): kubelet's hint chains first, else the
# side (legacy x_tables or nf_tables) where other programs have more rules, podnet's own
# not counted, else nf_tables. Every rule set is made here, in the private namespace
# lib.sh makes.
. "$top_srcdir/tests/netns/lib.sh"

for cmd in iptables-nft iptables-legacy nft; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }

DETECT="$top_builddir/tests/netns/fw-nft-detect"
T="$top_builddir/tests/netns/pn-fw-test"

docker_like() {
        "$1" -w -N DOCKER-USER
        "$1" -w -A DOCKER-USER -j RETURN
        "$1" -w -A FORWARD -j DOCKER-USER
        "$1" -w -A FORWARD -o docker0 -j ACCEPT
        "$1" -w -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
}
flush_legacy() {
        for t in filter nat mangle; do
                iptables-legacy -w -t $t -F
                iptables-legacy -w -t $t -X
        done
}

is "empty host: nf_tables" "$("$DETECT")" "iptables-nft: no other program's rules; the kernel has nf_tables"

docker_like iptables-legacy
is "Docker's rules in legacy: legacy" "$("$DETECT")" \
        "iptables-legacy: other programs' rules: 4 in the legacy x_tables, 0 in nf_tables"
"$T" --backend iptables-legacy node-ensure 10.6.0.0/16 fd00:6::/48 >/dev/null
"$T" --backend iptables-legacy masq-ensure n1 10.6.1.0/24 >/dev/null
"$T" --backend iptables-nft node-ensure 10.6.0.0/16 fd00:6::/48 >/dev/null
is "podnet's own rules (both sides) are not counted" "$("$DETECT")" \
        "iptables-legacy: other programs' rules: 4 in the legacy x_tables, 0 in nf_tables"

flush_legacy
docker_like iptables-nft
is "Docker's rules in nf_tables: nft" "$("$DETECT")" \
        "iptables-nft: other programs' rules: at least 1 in nf_tables, 0 in the legacy x_tables"
iptables-nft -F DOCKER-USER
iptables-nft -F FORWARD
iptables-nft -X DOCKER-USER
iptables-nft -t nat -F POSTROUTING
is "only podnet's rules in nf_tables: none counted" "$("$DETECT")" \
        "iptables-nft: no other program's rules; the kernel has nf_tables"

# nf_tables is counted only as far as the decision needs: up to the legacy count.
docker_like iptables-legacy
docker_like iptables-nft
iptables-nft -A FORWARD -j ACCEPT
is "counting nf_tables stops at the legacy count" "$("$DETECT")" \
        "iptables-nft: other programs' rules: at least 4 in nf_tables, 4 in the legacy x_tables"
iptables-legacy -w -A FORWARD -j ACCEPT
iptables-legacy -w -A FORWARD -j ACCEPT
is "more in legacy: nf_tables counted whole" "$("$DETECT")" \
        "iptables-legacy: other programs' rules: 6 in the legacy x_tables, 5 in nf_tables"
flush_legacy
iptables-nft -F FORWARD
iptables-nft -F DOCKER-USER
iptables-nft -X DOCKER-USER
iptables-nft -t nat -F POSTROUTING

# kubelet's hint wins over counts.
docker_like iptables-nft
iptables-legacy -w -t mangle -N KUBE-IPTABLES-HINT
is "kubelet's hint in legacy beats more nf_tables rules" "$("$DETECT")" \
        "iptables-legacy: kubelet's chain KUBE-IPTABLES-HINT is in the legacy x_tables (ip table mangle)"
ip6tables-nft -t mangle -N KUBE-KUBELET-CANARY
is "kubelet's hint in nf_tables comes first" "$("$DETECT")" \
        "iptables-nft: kubelet's chain KUBE-KUBELET-CANARY is in nf_tables (ip6 table mangle)"
finish
