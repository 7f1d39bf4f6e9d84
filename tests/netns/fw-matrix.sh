#!/bin/bash
# The firewall matrix of issue 9: three nodes on one switch, five pods attached through
# podnet-cni (2 + 2 + 1, cross- and same-node pairs, 20 ordered pairs), for each host
# firewall set up BEFORE podnet runs:
#   docker-nft     Docker's rules through iptables-nft (FORWARD policy DROP, DOCKER-USER,
#                  DOCKER-ISOLATION-STAGE-1/2, its nat MASQUERADE)
#   docker-legacy  the same through iptables-legacy
#   kube-proxy     kube-proxy-like KUBE-* chains through iptables-nft, FORWARD policy DROP
#   nft-drop       a native nftables ruleset, table inet filter, chain forward policy drop
#                  (sync exits 6 and no pod pair passes), then with --nft-accept-chain
#   switch         Docker's rules in legacy, pods attached, then the host moves them to
#                  iptables-nft: podnet's chains and podnet-cni's masquerade rule follow
# Checked in each: the pod matrix with default flags, podnet's rules in exactly one
# backend, iptables-nft -S / -save reading them without "unsupported", a save | restore
# round trip, run putting podnet's rules back after `iptables -F` and after a restore
# without --noflush (nf_tables: by its events, within a second or so; legacy: the next
# --firewall-interval), podnet-cni's masquerade rule in the chosen backend, and teardown
# leaving the host's own rules exactly as they were (nft list ruleset, iptables-legacy-save
# and ip6tables-legacy-save without counters, before podnet ran and after teardown).
# br_netfilter: where the kernel has it, bridge-nf-call-iptables=1 in every node (per
# network namespace since 5.3) makes same-node pod traffic pass FORWARD as on a
# kube-proxy node; without it same-node pairs cross no firewall (said, not skipped).
# Select scenarios with FW_MATRIX="docker-nft switch".
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh" # (wait_for)
. "$top_srcdir/scripts/lib.sh"
for cmd in iptables-legacy iptables-nft iptables-legacy-save iptables-nft-save \
        iptables-nft-restore iptables-legacy-restore ip6tables-legacy-save nft jq ping; do
        command -v "$cmd" >/dev/null || { echo "SKIP: $cmd not found"; exit 77; }
done
nft list tables >/dev/null 2>&1 || { echo "SKIP: the kernel has no nf_tables"; exit 77; }
D="$top_srcdir/tests/netns/fw-matrix.d"
M=/run/fw-matrix
nodes="node1 node2 node3"
pods="pod1 pod2 pod3 pod4 pod5"
declare -A node_of=([pod1]=node1 [pod2]=node1 [pod3]=node2 [pod4]=node2 [pod5]=node3)
declare -A pn_addr pn_from
plugin_dir=$M/bin
pn_plugin_dir "$plugin_dir" "$PODNET_CNI"
everything() { echo yes; }
nothing() { echo no; }
same_node_only() { [ "${node_of[$1]}" = "${node_of[$2]}" ] && echo yes || echo no; }
FW_MATRIX=" ${FW_MATRIX:-docker-nft docker-legacy kube-proxy nft-drop switch} "
PN_WAIT=3

# --- the cluster ---

setup_nodes() {
        mkdir -p $M
        ip netns add sw
        ip -n sw link add br0 type bridge
        ip -n sw link set br0 up
        : > $M/nodes.txt
        for i in 1 2 3; do
                local n=node$i
                ip netns add $n
                ip -n $n link set lo up
                ip link add name eth0 netns $n type veth peer name p$i netns sw
                ip -n sw link set p$i master br0 up
                ip -n $n addr add 192.168.1.1$i/24 dev eth0
                ip -n $n link set eth0 up
                mkdir -p $M/$n/cni $M/$n/ipam
                echo "$n 10.1.$i.0/24 192.168.1.1$i" >> $M/nodes.txt
                if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
                        ip netns exec $n sh -c 'echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables' 2>/dev/null
                fi
        done
}

teardown_nodes() {
        local n
        for n in $pods $nodes sw; do
                ip netns del $n 2>/dev/null
        done
        rm -rf $M/node? /run/podnet/firewall-backend
}

# rt NODE ARGS...: podnet-routes on NODE with the node list and the conflist (ipMasq)
rt() {
        local n=$1
        shift
        ip netns exec "$n" "$PODNET_ROUTES" --node-name "$n" --cni-conf-dir $M/$n/cni \
                --cni-ip-masq --ipam-data-dir $M/$n/ipam --nodes $M/nodes.txt \
                --cluster-cidr 10.1.0.0/16 "$@"
}

attach_pods() {
        local p n
        for p in $pods; do
                n=${node_of[$p]}
                ip netns add $p
                if ! PN_IN_NS=$n pn_cni_list ADD "m-$p" /run/netns/$p eth0 \
                        $M/$n/cni/10-podnet.conflist "$plugin_dir" > $M/$p.json 2>&1; then
                        fail "$1: CNI ADD of $p on $n"
                        sed 's/^/#   /' $M/$p.json
                        continue
                fi
                pn_addr[$p]=$(jq -r '.ips[0].address' $M/$p.json)
                pn_addr[$p]=${pn_addr[$p]%/*}
                pn_from[$p]=$p
        done
}

detach_pods() {
        local p n bad=0
        for p in $pods; do
                n=${node_of[$p]}
                PN_IN_NS=$n pn_cni_list DEL "m-$p" /run/netns/$p eth0 \
                        $M/$n/cni/10-podnet.conflist "$plugin_dir" > /dev/null 2>&1 || bad=1
                ip netns del $p
        done
        is "$1: CNI DEL of every pod" $bad 0
}

# matrix SCENARIO EXPECT
matrix() {
        pn_matrix "$2" "$pods" "$pods" > $M/matrix.out 2>&1
        local bad=$?
        if [ $bad = 0 ]; then
                ok "$1: pod matrix as expected ($(grep -c . $M/matrix.out) lines, $2)"
        else
                fail "$1: pod matrix: $bad cells not as expected ($2)"
                sed 's/^/#   /' $M/matrix.out
        fi
}

# --- what the firewall holds ---

in1() { ip netns exec node1 "$@"; }
legacy_save() { in1 iptables-legacy-save 2>/dev/null; in1 ip6tables-legacy-save 2>/dev/null; }
nft_save() { in1 iptables-nft-save 2>/dev/null; in1 ip6tables-nft-save 2>/dev/null; }
podnet_in_legacy() { legacy_save | grep -c PODNET; }
podnet_in_nft() { nft_save | grep -c PODNET; }
# the host's own rules: the whole nf_tables ruleset (tables and chains in name order: a
# restore re-creates them in its own order) and the legacy saves, counters and comments
# ("# Generated by") left out
host_dump() {
        local n
        for n in $nodes; do
                echo "## $n"
                # chains keyed by table and chain, sorted stably: rule order kept
                ip netns exec $n nft list ruleset 2>&1 |
                        sed 's/counter packets [0-9]* bytes [0-9]*/counter/' | grep -v '^# Warning' |
                        awk 'NF == 0 {next} /^table /{t=$0; c=""} /^\tchain /{c=$0} /^}/{c="~"} {print t "|" c "|" $0}' |
                        sort -s -t'|' -k1,2
                ip netns exec $n iptables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
                ip netns exec $n ip6tables-legacy-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
        done
}

# checks SCENARIO BACKEND: the rules of node1 where they belong
checks() {
        local s=$1 b=$2 cmd save restore
        if [ "$b" = iptables-nft ]; then
                is "$s: podnet's rules not in legacy" "$(podnet_in_legacy)" 0
                check "$s: podnet's rules in nf_tables" test "$(podnet_in_nft)" -gt 0
                in1 iptables-nft -S > $M/S.out 2>&1
                in1 iptables-nft-save > $M/save.out 2>&1
                check "$s: iptables-nft -S shows PODNET-FORWARD" grep -q -- '-A PODNET-FORWARD -s 10.1.0.0/16' $M/S.out
                check_fails "$s: iptables-nft -S and -save: nothing unsupported" grep -qi unsupported $M/S.out $M/save.out
                check "$s: podnet-cni's masquerade rule in nf_tables" grep -q 'podnet:podnet' $M/save.out
        else
                is "$s: podnet's rules not in nf_tables" "$(podnet_in_nft)" 0
                check "$s: podnet's rules in legacy" test "$(podnet_in_legacy)" -gt 0
                check "$s: podnet-cni's masquerade rule in legacy" sh -c "ip netns exec node1 iptables-legacy-save -t nat | grep -q podnet:podnet"
        fi
        cmd=${b}; save=${b}-save; restore=${b}-restore
        # a round trip through save and restore (what Docker, kube-proxy, firewalld do)
        local before after
        before=$(in1 $save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')
        in1 $save | in1 $restore
        is "$s: $save | $restore exits 0" "$?" 0
        after=$(in1 $save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//')
        is "$s: the round trip keeps every rule" "$after" "$before"
        matrix "$s, after the round trip" everything

        # run puts podnet's rules back after a flush and after a restore without --noflush
        ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --cni-conf-dir $M/node1/cni \
                --cni-ip-masq --ipam-data-dir $M/node1/ipam --nodes $M/nodes.txt \
                --cluster-cidr 10.1.0.0/16 run --interval 3600 > $M/run.out 2> $M/run.err &
        local pid=$!
        jump_ok() { in1 $cmd -S FORWARD | grep -q -- '-j PODNET-FORWARD' && in1 $cmd -S PODNET-FORWARD | grep -q ACCEPT; }
        wait_for "$s: run: chains in place" jump_ok
        in1 $save | grep -v PODNET > $M/nopodnet.rules
        # run is stopped while the host writes, or it may put the rules back before the
        # test has seen them gone (nf_tables' events come at once); its events wait
        kill -STOP $pid
        in1 $cmd -w -F
        check_fails "$s: $cmd -F removed podnet's rules" jump_ok
        kill -CONT $pid
        wait_for "$s: run: back after $cmd -F" jump_ok
        kill -STOP $pid
        in1 $restore < $M/nopodnet.rules
        check_fails "$s: a restore without --noflush removed podnet's jump" jump_ok
        kill -CONT $pid
        wait_for "$s: run: back after a restore without --noflush" jump_ok
        kill $pid
        wait $pid
        # (pn_matrix waits for every job of this shell: after run's end)
        matrix "$s, after run's repairs" everything
}

# sync_all LABEL EXIT [ARGS...]: podnet-routes sync on every node, its exit status checked
sync_all() {
        local label=$1 want=$2 n
        shift 2
        for n in $nodes; do
                rt $n "$@" sync > $M/$n.sync 2>&1
                is "$label: $n: sync $* exits $want" "$?" "$want"
        done
}

# teardown_all LABEL BEFORE: pods detached, podnet-routes teardown on every node, the host's
# rules compared with BEFORE, the nodes deleted
teardown_all() {
        local n
        detach_pods "$1"
        for n in $nodes; do
                rt $n teardown > /dev/null 2>&1
                is "$1: $n: teardown exits 0" "$?" 0
        done
        is "$1: teardown leaves the host's rules exactly as they were" "$(host_dump)" "$2"
        teardown_nodes
}

# scenario NAME SETUP-FUNCTION BACKEND
scenario() {
        local s=$1 setup=$2 b=$3 n before rc
        case $FW_MATRIX in
        *" $s "*) ;;
        *) return ;;
        esac
        setup_nodes
        for n in $nodes; do
                if ! $setup $n > $M/setup.out 2>&1; then
                        echo "# $s: the host firewall cannot be set up here, skipped:"
                        sed 's/^/#   /' $M/setup.out
                        teardown_nodes
                        return
                fi
        done
        before=$(host_dump)
        sync_all "$s" 0
        is "$s: auto chose $b" "$(head -1 /run/podnet/firewall-backend)" "$b"
        attach_pods "$s"
        matrix "$s" everything
        checks "$s" "$b"
        teardown_all "$s" "$before"
}

docker_nft() { ip netns exec "$1" iptables-nft-restore < "$D/docker.rules"; }
docker_legacy() { ip netns exec "$1" iptables-legacy-restore < "$D/docker.rules"; }
kube_proxy() { ip netns exec "$1" iptables-nft-restore < "$D/kube-proxy.rules"; }

scenario docker-nft docker_nft iptables-nft
scenario docker-legacy docker_legacy iptables-legacy
scenario kube-proxy kube_proxy iptables-nft

# --- a native nftables drop ruleset: reported, then opened with --nft-accept-chain ---
case $FW_MATRIX in
*" nft-drop "*)
        s=nft-drop
        setup_nodes
        for n in $nodes; do
                ip netns exec $n nft -f "$D/nft-drop.nft"
        done
        before=$(host_dump)
        sync_all "$s" 6
        check "$s: sync names the chain" grep -q 'nftables chain inet filter forward (policy drop) drops pod traffic' $M/node1.sync
        attach_pods "$s"
        if [ "$(ip netns exec node1 cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
                matrix "$s, without the option (br_netfilter: same-node pairs too)" nothing
        else
                echo "# br_netfilter not in this kernel: same-node pairs cross no firewall"
                matrix "$s, without the option, cross-node pairs" same_node_only
        fi
        sync_all "$s" 0 --nft-accept-chain inet:filter:forward
        matrix "$s, with --nft-accept-chain" everything
        is "$s: two podnet accepts (IPv4 source and destination) in the chain" \
                "$(ip netns exec node1 nft list chain inet filter forward | grep -c 'comment "podnet: ')" 2
        teardown_all "$s" "$before"
        ;;
esac

# --- a host that moves from legacy to nft with pods attached ---
case $FW_MATRIX in
*" switch "*)
        s=switch
        setup_nodes
        for n in $nodes; do
                docker_legacy $n
        done
        sync_all "$s" 0
        is "$s: legacy first" "$(head -1 /run/podnet/firewall-backend)" iptables-legacy
        attach_pods "$s"
        matrix "$s, on legacy" everything
        check "$s: masquerade rule in legacy" sh -c "ip netns exec node1 iptables-legacy-save -t nat | grep -q podnet:podnet"
        # the host's firewall moves: Docker restarted on iptables-nft
        for n in $nodes; do
                ip netns exec $n sh -c 'iptables-legacy-save | grep -v -e DOCKER -e docker0 -e 172.17 |
                        sed "s/^:FORWARD DROP/:FORWARD ACCEPT/" | iptables-legacy-restore'
                docker_nft $n
        done
        before=$(host_dump | grep -v PODNET)
        sync_all "$s, after the move" 0
        is "$s: auto now chose iptables-nft" "$(head -1 /run/podnet/firewall-backend)" iptables-nft
        matrix "$s, on nft" everything
        checks "$s" iptables-nft
        teardown_all "$s" "$before"
        ;;
esac
finish
