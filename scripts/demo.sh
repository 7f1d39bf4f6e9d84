#!/bin/bash
# The demo: one node with its bridge cbr0 and three pods attached through podnet-cni (as a
# container runtime would call it), their addresses, and a reachability table. Runs entirely
# inside private namespaces. Usage: scripts/demo.sh [--plugin-dir DIR --type NAME]
# (e.g. --plugin-dir /usr/lib/cni --type bridge for the reference plugins).
set -u
. "$(dirname "$0")/lib.sh"
pn_need_root demo.sh

plugin_dir=
type=podnet-cni
args=("$@") # tests/netns/lib.sh re-executes us with the original arguments
while [ $# -gt 0 ]; do
        case $1 in
        --plugin-dir) plugin_dir=${2:?--plugin-dir needs a directory}; shift 2 ;;
        --type) type=${2:?--type needs a plugin name}; shift 2 ;;
        -h | --help)
                sed -n '2,6p' "$0"
                exit 0
                ;;
        *)
                echo "demo.sh: unknown argument '$1' (see --help)" >&2
                exit 2
                ;;
        esac
done
if [ -z "$plugin_dir" ]; then
        pn_tool podnet-cni podnet_cni || exit 1
elif [ ! -x "$plugin_dir/$type" ]; then
        echo "demo.sh: no plugin $plugin_dir/$type" >&2
        exit 1
fi

set -- "${args[@]}"
. "$pn_top/tests/netns/lib.sh"
# From here on we are inside a private network and mount namespace: this namespace is the node.

state=/run/demo
pods="pod1 pod2 pod3"
mkdir -p "$state/net.d"
if [ -z "$plugin_dir" ]; then
        plugin_dir=$state/bin
        pn_plugin_dir "$plugin_dir" "$podnet_cni"
fi
conf=$state/net.d/10-demo.conf
cat >"$conf" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "demo",
  "type": "$type",
  "bridge": "cbr0",
  "isGateway": true,
  "isDefaultGateway": true,
  "hairpinMode": true,
  "ipMasq": false,
  "ipam": {
    "type": "host-local",
    "ranges": [[{"subnet": "10.1.1.0/24"}]],
    "dataDir": "$state/ipam"
  }
}
JSON

cleanup() {
        local p
        for p in $pods; do
                [ -e "/run/netns/$p" ] || continue
                pn_cni DEL "demo-$p" "/run/netns/$p" eth0 "$conf" "$plugin_dir" "$type" \
                        >/dev/null 2>&1
                ip netns del "$p" 2>/dev/null
        done
        ip link del cbr0 2>/dev/null
        rm -rf "$state"
}
pn_on_exit cleanup

rc=0
echo "== Network configuration (plugin $(readlink -f "$plugin_dir/$type"))"
cat "$conf"
echo
echo "== Attaching three pods (CNI ADD)"
declare -A addr
gw=
for p in $pods; do
        ip netns add "$p"
        if ! pn_cni ADD "demo-$p" "/run/netns/$p" eth0 "$conf" "$plugin_dir" "$type" \
                >"$state/$p.json"; then
                echo "ADD $p failed:"
                cat "$state/$p.json"
                exit 1
        fi
        addr[$p]=$(jq -r '.ips[0].address' "$state/$p.json")
        gw=$(jq -r '.ips[0].gateway' "$state/$p.json")
        printf '  %-5s eth0 %-15s gateway %s (node side: %s)\n' "$p" "${addr[$p]}" "$gw" \
                "$(jq -r '[.interfaces[] | select(.sandbox == null) | .name] | join(", ")' \
                        "$state/$p.json")"
done
dups=$(printf '%s\n' "${addr[@]}" | sort | uniq -d)
if [ -n "$dups" ]; then
        echo "Duplicate pod addresses: $dups"
        rc=1
fi
echo
echo "== Node (this private namespace)"
ip -br addr show dev cbr0
echo "  bridge ports: $(ip -o link show master cbr0 | awk -F': ' '{print $2}' | cut -d@ -f1 |
        tr '\n' ' ')"
echo

echo "== Reachability (ping -c1 -W1 from each pod to every other pod and to the gateway)"
declare -A pn_addr pn_from
for p in $pods; do
        pn_addr[$p]=${addr[$p]%/*}
        pn_from[$p]=$p
done
pn_addr[gateway]=$gw
everything() { echo yes; }
pn_matrix everything "$pods" "$pods gateway" || rc=1
echo

echo "== Detaching the pods (CNI DEL)"
for p in $pods; do
        if ! pn_cni DEL "demo-$p" "/run/netns/$p" eth0 "$conf" "$plugin_dir" "$type" \
                >"$state/$p.del"; then
                echo "DEL $p failed:"
                cat "$state/$p.del"
                rc=1
        fi
        ip netns del "$p"
done
left_veths=$(ip -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ')
left_leases=$(find "$state/ipam" -type f 2>/dev/null | grep -E '/[0-9a-f.:]+$' | tr '\n' ' ')
if [ -n "$left_veths" ]; then
        echo "  FAIL: veths left on the node: $left_veths"
        rc=1
else
        echo "  ok: no veth left on the node"
fi
if [ -n "$left_leases" ]; then
        echo "  FAIL: leases left: $left_leases"
        rc=1
else
        echo "  ok: no lease left in $state/ipam"
fi
echo
if [ $rc -eq 0 ]; then
        echo "Demo passed: three pods got distinct addresses, reached each other and the gateway," \
                "and left nothing behind."
else
        echo "Demo FAILED (see above)."
fi
exit $rc
