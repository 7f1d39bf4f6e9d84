#!/bin/bash
# podnet-cni features: traffic between pods, dual-stack, hairpin, masquerade rule
# lifecycle, MTU, requested IP and MAC, leases shared with the reference host-local,
# and chaining the reference portmap, bandwidth and tuning plugins after podnet-cni.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

ds='.ipam.ranges = [[{"subnet": "10.1.1.0/24"}], [{"subnet": "fd00:10:1:1::/64"}]]'

# --- Pod to pod and pod to gateway, dual-stack. ---
for p in a b; do
        ip netns add "pod$p"
        ip -n "pod$p" link set lo up
        conf 1.0.0 "$ds" | cni ADD "ctr-$p" "/run/netns/pod$p"
        expect_ok "dual-stack ADD pod$p"
        cp "$CNI_OUT" "/run/podnet-test/pod$p.json"
        is "pod$p has one IPv4 and one IPv6 address" \
                "$(jq -r '[.ips[].address | contains(":")] | sort | map(tostring) | join(",")' "$CNI_OUT")" "false,true"
done
a4=$(jq -r '.ips[] | select(.address | contains(".")) | .address | split("/")[0]' /run/podnet-test/poda.json)
b4=$(jq -r '.ips[] | select(.address | contains(".")) | .address | split("/")[0]' /run/podnet-test/podb.json)
b6=$(jq -r '.ips[] | select(.address | contains(":")) | .address | split("/")[0]' /run/podnet-test/podb.json)
[ "$a4" != "$b4" ] && ok "distinct IPv4 addresses $a4 $b4" || fail "duplicate address $a4"
check "poda reaches podb over IPv4" ip netns exec poda ping -c1 -W2 "$b4"
check "poda reaches podb over IPv6 (no DAD wait)" ip netns exec poda ping -6 -c1 -W2 "$b6"
check "poda reaches its IPv4 gateway" ip netns exec poda ping -c1 -W2 10.1.1.1
check "poda reaches its IPv6 gateway" ip netns exec poda ping -6 -c1 -W2 fd00:10:1:1::1
is "IPv6 default route in the pod" "$(ip -n poda -6 -j route show default | jq -r '.[0].gateway')" "fd00:10:1:1::1"
is "bridge holds both gateways" "$(ip -j addr show cbr0 | jq -r '[.[0].addr_info[] | select(.scope=="global") | .local] | sort | join(",")')" "10.1.1.1,fd00:10:1:1::1"
is "IPv4 forwarding enabled (isGateway)" "$(cat /proc/sys/net/ipv4/ip_forward)" 1

# --- Hairpin: a frame entering the bridge port must be able to leave by the same
# port. A macvlan on the pod's eth0, moved to another namespace, talks to the pod's own
# address: its frames go out through the veth to the bridge and must come back in. ---
ip netns add hp
ip -n poda link add mv0 link eth0 type macvlan mode bridge
ip -n poda link set mv0 netns hp
ip -n hp addr add 10.1.1.250/24 dev mv0
ip -n hp link set mv0 up
check "hairpin: traffic from the pod's own port back to the pod" ip netns exec hp ping -c1 -W2 "$a4"
hveth=$(jq -r '.interfaces[1].name' /run/podnet-test/poda.json)
is "hairpin flag on the bridge port" "$(ip -d -j link show "$hveth" | jq -r '.[0].linkinfo.info_slave_data.hairpin')" true
ip link set "$hveth" type bridge_slave hairpin off
check_fails "without hairpin the same traffic is dropped" ip netns exec hp ping -c1 -W1 "$a4"
ip link set "$hveth" type bridge_slave hairpin on
ip netns del hp

for p in a b; do conf 1.0.0 "$ds" | cni DEL "ctr-$p" "/run/netns/pod$p"; expect_ok "DEL pod$p"; done
expect_clean "after dual-stack"

# --- Masquerade: one rule per network, not per pod; removed with the last pod. ---
masq='.ipMasq = true'
for p in a b; do conf 1.0.0 "$masq" | cni ADD "m-$p" "/run/netns/pod$p"; expect_ok "ADD with ipMasq pod$p"; done
rules=$(iptables-legacy -t nat -S | grep -c MASQUERADE)
is "one MASQUERADE rule for two pods" "$rules" 1
is "POSTROUTING jumps to podnet's chain once" "$(iptables-legacy -t nat -S POSTROUTING | grep -c PODNET)" 1
iptables-legacy -t nat -S | grep MASQUERADE | grep -q "10.1.1.0/24" && ok "rule covers the pod subnet" || fail "rule covers the pod subnet"
prev=$(cat "$CNI_OUT")
conf 1.0.0 "$masq | .prevResult = $prev" | cni CHECK m-b /run/netns/podb; expect_ok "CHECK with ipMasq"
conf 1.0.0 "$masq" | cni DEL m-a /run/netns/poda; expect_ok "DEL first masqueraded pod"
is "rule stays while a pod remains" "$(iptables-legacy -t nat -S | grep -c MASQUERADE)" 1
iptables-legacy -t nat -F PODNET-MASQ
conf 1.0.0 "$masq | .prevResult = $prev" | cni CHECK m-b /run/netns/podb; expect_code "CHECK notices the missing masquerade rule" 105
conf 1.0.0 "$masq" | cni ADD m-a /run/netns/poda; expect_ok "ADD restores the rule"
is "rule back, once" "$(iptables-legacy -t nat -S | grep -c MASQUERADE)" 1
for p in a b; do conf 1.0.0 "$masq" | cni DEL "m-$p" "/run/netns/pod$p"; done
is "rule removed with the last pod" "$(iptables-legacy -t nat -S | grep -c MASQUERADE)" 0
expect_clean "after masquerade"

# --- MTU: explicit, and by default the MTU of the default-route link. ---
conf 1.0.0 '.mtu = 1400' | cni ADD mtu1 /run/netns/poda; expect_ok "ADD with mtu 1400"
is "pod MTU 1400" "$(ip -n poda -j link show eth0 | jq -r '.[0].mtu')" 1400
conf 1.0.0 | cni DEL mtu1 /run/netns/poda
ip link add uplink type veth peer name uplinkp; ip link set uplink mtu 1450 up; ip link set uplinkp up
ip addr add 192.168.50.2/24 dev uplink; ip route add default via 192.168.50.1 dev uplink
conf 1.0.0 | cni ADD mtu2 /run/netns/poda; expect_ok "ADD without mtu"
is "pod MTU follows the default-route link (1450)" "$(ip -n poda -j link show eth0 | jq -r '.[0].mtu')" 1450
conf 1.0.0 | cni DEL mtu2 /run/netns/poda
ip route del default; ip link del uplink

# --- Requested IP and MAC. ---
CNI_ARGS_VALUE="IP=10.1.1.77" cni ADD ip1 /run/netns/poda < <(conf 1.0.0); expect_ok "ADD with CNI_ARGS IP="
is "requested IP from CNI_ARGS" "$(jq -r '.ips[0].address' "$CNI_OUT")" "10.1.1.77/24"
conf 1.0.0 '.runtimeConfig = {"ips": ["10.1.1.78/24"], "mac": "0a:58:0a:01:01:4e"}' | cni ADD ip2 /run/netns/podb
expect_ok "ADD with runtimeConfig ips and mac"
is "requested IP from runtimeConfig" "$(jq -r '.ips[0].address' "$CNI_OUT")" "10.1.1.78/24"
is "requested MAC applied" "$(ip -n podb -j link show eth0 | jq -r '.[0].address')" "0a:58:0a:01:01:4e"
conf 1.0.0 '.runtimeConfig = {"ips": ["10.1.1.77/24"]}' | cni ADD ip3 /run/netns/podc 2>/dev/null
ip netns add podc
conf 1.0.0 '.runtimeConfig = {"ips": ["10.1.1.77/24"]}' | cni ADD ip3 /run/netns/podc
if [ "$CNI_RC" -ne 0 ] && grep -q 10.1.1.77 "$CNI_OUT"; then ok "a taken requested IP is refused, naming it"; else fail "taken requested IP"; cat "$CNI_OUT"; fi
conf 1.0.0 | cni DEL ip1 /run/netns/poda; conf 1.0.0 | cni DEL ip2 /run/netns/podb
expect_clean "after requested IPs"

# --- Leases are shared with the reference host-local (same directory, same format). ---
if [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ]; then
        conf 1.0.0 '.type = "bridge"' | env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=ref1 \
                CNI_NETNS=/run/netns/poda CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge >"$CNI_OUT" 2>"$CNI_ERR"
        ref=$(jq -r '.ips[0].address' "$CNI_OUT")
        conf 1.0.0 | cni ADD pn1 /run/netns/podb; expect_ok "podnet ADD beside a reference-plugin pod"
        mine=$(jq -r '.ips[0].address' "$CNI_OUT")
        [ "$ref" != "$mine" ] && ok "host-local's lease $ref honoured (podnet got $mine)" || fail "duplicate $ref"
        check "podnet pod reaches the reference pod on the same bridge" ip netns exec podb ping -c1 -W2 "${ref%/*}"
        conf 1.0.0 | cni DEL ref1 /run/netns/poda; expect_ok "podnet DEL releases host-local's lease"
        is "host-local's lease released by podnet" "$(leases | tr '\n' ' ')" "${mine%/*} "
        conf 1.0.0 '.type = "bridge"' | env -i PATH="$PATH" CNI_COMMAND=DEL CNI_CONTAINERID=pn1 \
                CNI_NETNS=/run/netns/podb CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge >/dev/null 2>&1
        is "reference DEL releases podnet's lease" "$(leases | wc -l)" 0
        conf 1.0.0 | cni DEL pn1 /run/netns/podb
        ip link del "$(ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^veth' | head -1)" 2>/dev/null || true
else
        echo "# reference bridge/host-local not installed: interop part not run"
fi
expect_clean "after host-local interop"

# --- Chaining: the reference portmap, bandwidth and tuning run after podnet-cni with
# its result as prevResult (reference plugins speak CNI up to 1.0.0). ---
conf 1.0.0 | cni ADD chain1 /run/netns/poda; expect_ok "ADD for chaining"
prev=$(cat "$CNI_OUT")
chain() { # plugin conf-json
        env -i PATH="$PATH" CNI_COMMAND="${3:-ADD}" CNI_CONTAINERID=chain1 CNI_NETNS=/run/netns/poda \
                CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "/usr/lib/cni/$1" <<<"$2" >"$CNI_OUT" 2>"$CNI_ERR"
}
for p in portmap bandwidth tuning; do
        [ -x "/usr/lib/cni/$p" ] || { echo "# $p not installed"; continue; }
        case $p in
        portmap) pc='{"type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"snat":true}' ;;
        bandwidth) pc='{"type":"bandwidth","ingressRate":1000000,"ingressBurst":100000}' ;;
        tuning) pc='{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.rp_filter":"2"}}' ;;
        esac
        c=$(jq -c --argjson prev "$prev" '. + {cniVersion:"1.0.0", name:"podnet-test", prevResult:$prev}' <<<"$pc")
        if chain "$p" "$c"; then
                ok "chained $p ADD succeeds after podnet-cni"
                prev=$(jq -c . "$CNI_OUT")
        else
                fail "chained $p ADD"; sed 's/^/#   /' "$CNI_OUT" "$CNI_ERR"
        fi
done
is "tuning applied its sysctl inside the pod" "$(ip netns exec poda cat /proc/sys/net/ipv4/conf/eth0/rp_filter)" 2
conf 1.0.0 ".prevResult = $prev" | cni CHECK chain1 /run/netns/poda; expect_ok "podnet CHECK tolerates what chained plugins added"
for p in tuning bandwidth portmap; do
        [ -x "/usr/lib/cni/$p" ] || continue
        case $p in
        portmap) pc='{"type":"portmap","capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"snat":true}' ;;
        bandwidth) pc='{"type":"bandwidth","ingressRate":1000000,"ingressBurst":100000}' ;;
        tuning) pc='{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.rp_filter":"2"}}' ;;
        esac
        chain "$p" "$(jq -c --argjson prev "$prev" '. + {cniVersion:"1.0.0", name:"podnet-test", prevResult:$prev}' <<<"$pc")" DEL \
                && ok "chained $p DEL" || fail "chained $p DEL"
done
conf 1.0.0 | cni DEL chain1 /run/netns/poda; expect_ok "DEL after chaining"
expect_clean "after chaining"

ip netns del poda; ip netns del podb; ip netns del podc
finish
