#!/bin/bash
# The three-node lab: kubenet1..3 on one switch, pod CIDRs allocated by `podnet-routes
# allocate`, five pods attached through podnet-cni with the configuration podnet-routes wrote,
# then node routes by `podnet-routes sync` -- shown step by step, checked at every step.
# Then issue 8's three networks (scripts/lab-networks.sh), each with five pods and
# podnet-routes' default flags: one switch (all direct), node3 behind a router (the
# overlay to node3 only), a cloud-like switch that drops pod-addressed frames (the
# probe notices: the overlay everywhere); each pod matrix, each peer's path, and a
# full-size DF ping across the overlay.
# Runs entirely inside private namespaces. Exits non-zero if any expected reachability fails.
# Usage: scripts/lab.sh [--plugin-dir DIR --type NAME] (e.g. /usr/lib/cni bridge: the pods
# through the reference plugins, with the same configuration)
set -u -o pipefail
. "$(dirname "$0")/lib.sh"
pn_need_root lab.sh

plugin_dir=
type=
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        --plugin-dir) plugin_dir=${2:?--plugin-dir needs a directory}; shift 2 ;;
        --type) type=${2:?--type needs a plugin name}; shift 2 ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "lab.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
set -- "${args[@]}"
pn_tool podnet-routes routes || exit 1
if [ -z "$plugin_dir" ]; then
        pn_tool podnet-cni podnet_cni || exit 1
elif [ -z "$type" ] || [ ! -x "$plugin_dir/$type" ]; then
        echo "lab.sh: --plugin-dir needs --type naming a plugin in it" >&2
        exit 2
fi

. "$pn_top/tests/netns/lib.sh"
# Inside a private network and mount namespace from here on; every node, pod and the switch
# is a namespace made below.

lab=/run/lab
nodes="kubenet1 kubenet2 kubenet3"
pods="pod1 pod2 pod3 pod4 pod5"
declare -A node_of=([pod1]=kubenet1 [pod2]=kubenet1 [pod3]=kubenet2 [pod4]=kubenet2
        [pod5]=kubenet3)
declare -A node_ip=([kubenet1]=192.168.1.11 [kubenet2]=192.168.1.12 [kubenet3]=192.168.1.13)
declare -A attached pn_addr pn_from
mkdir -p "$lab"
if [ -z "$plugin_dir" ]; then
        plugin_dir=$lab/bin # the nodes' /opt/cni/bin
        pn_plugin_dir "$plugin_dir" "$podnet_cni"
fi

cleanup() {
        local p n
        for p in "${!attached[@]}"; do
                PN_IN_NS=${node_of[$p]} pn_cni_list DEL "lab-$p" "/run/netns/$p" eth0 \
                        "$lab/${node_of[$p]}/net.d/10-podnet.conflist" "$plugin_dir" $type \
                        >/dev/null 2>&1
        done
        for n in $nodes; do
                [ -e "/run/netns/$n" ] || continue
                ip netns exec "$n" "$routes" teardown --cni-conf-dir "$lab/$n/net.d" \
                        >/dev/null 2>&1
        done
        for n in $pods $nodes switch; do
                ip netns del "$n" 2>/dev/null
        done
        declare -F lab_net_cleanup >/dev/null && lab_net_cleanup
        rm -rf "$lab"
}
pn_on_exit cleanup

rc=0
step=0
say() { # say TITLE: a numbered step
        step=$((step + 1))
        echo
        echo "== $step. $*"
}
show() { # show NODE COMMAND...: prints the command as typed on NODE, then runs it there
        local n=$1
        shift
        echo "[$n]\$ ${*/#$routes/podnet-routes}"
        ip netns exec "$n" "$@" | sed 's/^/  /'
}
expect_ok() { # expect_ok MESSAGE CONDITION...: one checked outcome of the lab
        local msg=$1
        shift
        if "$@"; then
                echo "  ok: $msg"
        else
                echo "  FAIL: $msg"
                rc=1
        fi
}

say "Three nodes on one switch (192.168.1.0/24), each in its own namespace"
ip netns add switch
ip -n switch link add name sw0 type bridge
ip -n switch link set sw0 up
for n in $nodes; do
        ip netns add "$n"
        ip link add "sw-$n" type veth peer name eth0 netns "$n"
        ip link set "sw-$n" netns switch
        ip -n switch link set "sw-$n" master sw0 up
        ip -n "$n" link set lo up
        ip -n "$n" addr add "${node_ip[$n]}/24" dev eth0
        ip -n "$n" link set eth0 up
        mkdir -p "$lab/$n/net.d" "$lab/$n/ipam"
        echo "  $n: eth0 ${node_ip[$n]}/24 (no default route: nothing leaves the lab)"
done

say "The cluster's node list, as \`kubectl get nodes -o json\` prints it (no pod CIDRs yet)"
# shellcheck disable=SC2016
jq -n --arg ips "${node_ip[kubenet1]} ${node_ip[kubenet2]} ${node_ip[kubenet3]}" '
        {apiVersion: "v1", kind: "List", metadata: {resourceVersion: ""},
         items: [($ips | split(" ") | to_entries[]) as $e |
                 ("kubenet\($e.key + 1)") as $name |
                 {apiVersion: "v1", kind: "Node",
                  metadata: {name: $name, labels: {"kubernetes.io/hostname": $name,
                                                  "kubernetes.io/os": "linux"}},
                  spec: {},
                  status: {addresses: [{type: "InternalIP", address: $e.value},
                                       {type: "Hostname", address: $name}]}}]}' \
        >"$lab/nodes.json"
jq -r '.items[] | "  \(.metadata.name)  InternalIP \(.status.addresses[0].address)" +
        "  podCIDR \(.spec.podCIDR // "<none>")"' "$lab/nodes.json"

say "Pod CIDRs from the cluster CIDR (what kube-controller-manager --allocate-node-cidrs does)"
echo "\$ podnet-routes allocate --nodes nodes.json --cluster-cidr 10.1.0.0/16" \
        "--node-cidr-mask-size 24 --write-nodes nodes-alloc.json"
if ! "$routes" allocate --nodes "$lab/nodes.json" --cluster-cidr 10.1.0.0/16 \
        --node-cidr-mask-size 24 --write-nodes "$lab/nodes-alloc.json" | sed 's/^/  /'; then
        echo "FAIL: podnet-routes allocate"
        exit 1
fi
declare -A cidr
for n in $nodes; do
        cidr[$n]=$(jq -r --arg n "$n" '.items[] | select(.metadata.name == $n) |
                .spec.podCIDR // empty' "$lab/nodes-alloc.json")
        echo "  $n: ${cidr[$n]:-<none>}"
done
expect_ok "every node has a pod CIDR, all distinct" test \
        "$(printf '%s\n' "${cidr[@]}" | grep -c .)" = 3 -a \
        "$(printf '%s\n' "${cidr[@]}" | sort -u | grep -c .)" = 3

say "Each node's CNI configuration, written by podnet-routes (the node knows only itself yet)"
for n in $nodes; do
        jq --arg n "$n" '.items |= map(select(.metadata.name == $n))' "$lab/nodes-alloc.json" \
                >"$lab/$n/self.json"
        if ! show "$n" "$routes" sync --nodes "$lab/$n/self.json" --node-name "$n" \
                --cluster-cidr 10.1.0.0/16 --cni-conf-dir "$lab/$n/net.d" \
                --ipam-data-dir "$lab/$n/ipam"; then
                echo "FAIL: podnet-routes sync on $n"
                exit 1
        fi
done
echo "$lab/kubenet1/net.d/10-podnet.conflist:"
sed 's/^/  /' "$lab/kubenet1/net.d/10-podnet.conflist"

say "Five pods attached through ${type:-podnet-cni} (2 on kubenet1, 2 on kubenet2, 1 on kubenet3)"
for p in $pods; do
        n=${node_of[$p]}
        ip netns add "$p"
        if ! PN_IN_NS=$n pn_cni_list ADD "lab-$p" "/run/netns/$p" eth0 \
                "$lab/$n/net.d/10-podnet.conflist" "$plugin_dir" $type >"$lab/$p.json"; then
                echo "FAIL: CNI ADD of $p on $n:"
                cat "$lab/$p.json"
                exit 1
        fi
        attached[$p]=1
        pn_addr[$p]=$(jq -r '.ips[0].address' "$lab/$p.json")
        pn_addr[$p]=${pn_addr[$p]%/*}
        pn_from[$p]=$p
        printf '  %s on %s: %s (gateway %s)\n' "$p" "$n" "${pn_addr[$p]}" \
                "$(jq -r '.ips[0].gateway' "$lab/$p.json")"
done
expect_ok "the five pod addresses are distinct" test \
        "$(printf '%s\n' "${pn_addr[@]}" | sort -u | wc -l)" = 5

same_node() { [ "${node_of[$1]}" = "${node_of[$2]}" ] && echo yes || echo no; }
everything() { echo yes; }

say "Before routes: pods reach pods on their own node only"
for n in $nodes; do
        echo "[$n]\$ ip route"
        ip -n "$n" route | sed 's/^/  /'
done
pn_matrix same_node "$pods" "$pods"
expect_ok "same-node traffic works, cross-node traffic fails (no route to the other pod CIDRs)" \
        test $? = 0

say "podnet-routes sync on every node, with the whole node list"
for n in $nodes; do
        if ! show "$n" "$routes" sync --nodes "$lab/nodes-alloc.json" --node-name "$n" \
                --cluster-cidr 10.1.0.0/16 --cni-conf-dir "$lab/$n/net.d" \
                --ipam-data-dir "$lab/$n/ipam"; then
                echo "FAIL: podnet-routes sync on $n"
                rc=1
        fi
done
for n in $nodes; do
        echo "[$n]\$ ip route show proto 44"
        ip -n "$n" route show proto 44 | sed 's/^/  /'
done
pn_matrix everything "$pods" "$pods"
expect_ok "after sync every pod reaches every other pod" test $? = 0

say "kubenet3 leaves the cluster: its pod is deleted, it leaves the node list, kubenet1 and" \
        "kubenet2 sync"
if ! PN_IN_NS=kubenet3 pn_cni_list DEL lab-pod5 /run/netns/pod5 eth0 \
        "$lab/kubenet3/net.d/10-podnet.conflist" "$plugin_dir" $type >/dev/null; then
        echo "  FAIL: CNI DEL of pod5"
        rc=1
fi
unset 'attached[pod5]'
show kubenet3 "$routes" teardown --cni-conf-dir "$lab/kubenet3/net.d" || rc=1
expect_ok "kubenet3: no podnet route and no podnet conflist left" test -z \
        "$(ip -n kubenet3 route show proto 44; ls "$lab/kubenet3/net.d")"
jq '.items |= map(select(.metadata.name != "kubenet3"))' "$lab/nodes-alloc.json" \
        >"$lab/nodes-2.json"
for n in kubenet1 kubenet2; do
        show "$n" "$routes" sync --nodes "$lab/nodes-2.json" --node-name "$n" \
                --cluster-cidr 10.1.0.0/16 --cni-conf-dir "$lab/$n/net.d" \
                --ipam-data-dir "$lab/$n/ipam" || rc=1
done
for n in kubenet1 kubenet2; do
        other=kubenet1
        [ "$n" != kubenet1 ] || other=kubenet2
        got=$(ip -n "$n" -j route show proto 44 | jq -r '[.[].dst] | sort | join(" ")')
        echo "[$n]\$ ip -j route show proto 44 -> $got"
        expect_ok "$n: no route to kubenet3's ${cidr[kubenet3]}, one to $other's ${cidr[$other]}" \
                test "$got" = "${cidr[$other]}"
done
pn_matrix everything "pod1 pod2 pod3 pod4" "pod1 pod2 pod3 pod4"
expect_ok "the four remaining pods still reach each other" test $? = 0

# ---- issue 8: the three networks, podnet-routes' default flags (--overlay auto) ----
for p in "${!attached[@]}"; do
        PN_IN_NS=${node_of[$p]} pn_cni_list DEL "lab-$p" "/run/netns/$p" eth0 \
                "$lab/${node_of[$p]}/net.d/10-podnet.conflist" "$plugin_dir" $type >/dev/null 2>&1
        unset "attached[$p]"
done
for n in $pods $nodes switch; do ip netns del "$n" 2>/dev/null; done
if ! "$routes" --help 2>&1 | grep -q -- --overlay; then
        say "The three networks of issue 8: skipped (this podnet-routes has no --overlay yet)"
else
        . "$pn_top/scripts/lab-networks.sh"
fi

echo
if [ $rc -eq 0 ]; then
        echo "Lab passed: every expected reachability held at every step."
else
        echo "Lab FAILED (see FAIL above)."
fi
exit $rc
