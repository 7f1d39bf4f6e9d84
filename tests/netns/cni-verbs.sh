#!/bin/bash
# podnet-cni end to end: every verb in every supported CNI version, the result
# shapes per version, idempotent DEL, DEL without a namespace, GC and STATUS.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

i=0
for v in 0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
        i=$((i + 1))
        ip netns add "pod$i"
        conf "$v" | cni ADD "ctr$i" "/run/netns/pod$i"
        expect_ok "ADD $v"
        is "ADD $v: result in the configuration's version" "$(jq -r .cniVersion "$CNI_OUT")" "$v"
        if [ "$v" = 0.1.0 ] || [ "$v" = 0.2.0 ]; then
                addr=$(jq -r '.ip4.ip' "$CNI_OUT")
                is "ADD $v: ip4.gateway" "$(jq -r '.ip4.gateway' "$CNI_OUT")" "10.1.1.1"
                is "ADD $v: no interfaces in a 0.x result" "$(jq -r 'has("interfaces")' "$CNI_OUT")" "false"
        else
                addr=$(jq -r '.ips[0].address' "$CNI_OUT")
                is "ADD $v: three interfaces (bridge, host veth, pod)" \
                        "$(jq -r '[.interfaces[].name] | length' "$CNI_OUT")" 3
                is "ADD $v: bridge first" "$(jq -r '.interfaces[0].name' "$CNI_OUT")" cbr0
                is "ADD $v: pod interface has the sandbox" \
                        "$(jq -r '.interfaces[2].sandbox' "$CNI_OUT")" "/run/netns/pod$i"
                is "ADD $v: ip points at the pod interface" "$(jq -r '.ips[0].interface' "$CNI_OUT")" 2
                is "ADD $v: gateway" "$(jq -r '.ips[0].gateway' "$CNI_OUT")" "10.1.1.1"
                is "ADD $v: default route in result" \
                        "$(jq -r '[.routes[] | select(.dst == "0.0.0.0/0")] | length' "$CNI_OUT")" 1
                case $v in
                0.3.*|0.4.0) is "ADD $v: ips carry version" "$(jq -r '.ips[0].version' "$CNI_OUT")" 4 ;;
                *) is "ADD $v: no version field in 1.x ips" "$(jq -r '.ips[0] | has("version")' "$CNI_OUT")" false ;;
                esac
        fi
        case $addr in 10.1.1.*/24) ok "ADD $v: address $addr from the pod CIDR" ;; *) fail "ADD $v: address '$addr'" ;; esac
        is "ADD $v: address configured on eth0 in the pod" \
                "$(ip -n "pod$i" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"')" "$addr"
        is "ADD $v: default route via the bridge" \
                "$(ip -n "pod$i" -j route show default | jq -r '.[0].gateway')" "10.1.1.1"
        is "ADD $v: lease file holds id and ifname" "$(cat "$DATADIR/podnet-test/${addr%/*}" | tr '\r\n' '|-')" "ctr$i|-eth0"
        result=$(cat "$CNI_OUT")

        if [ "$v" = 0.4.0 ] || [ "$v" = 1.0.0 ] || [ "$v" = 1.1.0 ]; then
                conf "$v" ".prevResult = $result" | cni CHECK "ctr$i" "/run/netns/pod$i"
                expect_ok "CHECK $v"
        else
                conf "$v" | cni CHECK "ctr$i" "/run/netns/pod$i"
                expect_code "CHECK $v" 1
        fi

        hveth=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^pn' | head -1)
        conf "$v" | cni DEL "ctr$i" "/run/netns/pod$i"
        expect_ok "DEL $v"
        state=$(ip -j link show "$hveth" 2>/dev/null | jq -r 'if (.[0].flags | index("UP")) then "up" else "down" end')
        is "DEL $v: the pair is down or gone at once" "${state:-gone}" "$([ -n "$state" ] && echo down || echo gone)"
        [ "$state" = up ] && fail "DEL $v: host veth $hveth still up"
        is "DEL $v: lease released at once" "$(leases | wc -l)" 0
        settle_veths
        is "DEL $v: pod interface gone" "$(ip -n "pod$i" -o link show eth0 2>/dev/null)" ""
        conf "$v" | cni DEL "ctr$i" "/run/netns/pod$i"
        expect_ok "DEL $v again (idempotent)"
        expect_clean "after DEL $v"
        ip netns del "pod$i"
done

# PODNET_SYNC_DEL=1: the pair is gone when DEL returns.
ip netns add podsync
conf 1.0.0 | cni ADD sync1 /run/netns/podsync; expect_ok "ADD before a synchronous DEL"
conf 1.0.0 | PODNET_SYNC_DEL=1 cni DEL sync1 /run/netns/podsync; expect_ok "synchronous DEL"
is "synchronous DEL: no host veth, no pod interface at once" \
        "$(host_veths | wc -l)/$(ip -n podsync -o link show eth0 2>/dev/null | wc -l)" "0/0"

# DEL then ADD again at once for the same attachment in the same namespace (a runtime
# retrying): the ADD finishes the pending teardown itself and succeeds.
for round in 1 2 3; do
        conf 1.0.0 | cni ADD again1 /run/netns/podsync; expect_ok "ADD (round $round)"
        conf 1.0.0 | cni DEL again1 /run/netns/podsync; expect_ok "DEL (round $round)"
done
conf 1.0.0 | cni ADD again1 /run/netns/podsync; expect_ok "ADD right after DEL"
check "the re-added pod reaches its gateway" ip netns exec podsync ping -c1 -W2 10.1.1.1
conf 1.0.0 | cni DEL again1 /run/netns/podsync
ip netns del podsync
expect_clean "after DEL/ADD rounds"

# DEL of something never added succeeds.
conf 1.0.0 | cni DEL never-added /run/netns/nothing
expect_ok "DEL of an unknown container"

# DEL with CNI_NETNS empty, and with a namespace that is gone.
for how in empty gone; do
        ip netns add podx
        conf 1.0.0 | cni ADD "ctr-$how" /run/netns/podx
        expect_ok "ADD before DEL with netns $how"
        # Keep the namespace alive elsewhere so that the veth outlives `ip netns del`:
        # DEL must still remove the host end and the lease.
        nsenter --net=/run/netns/podx sleep 30 & holder=$!
        sleep 0.2
        ip netns del podx
        if [ "$how" = empty ]; then nsarg=""; else nsarg=/run/netns/podx; fi
        conf 1.0.0 | cni DEL "ctr-$how" "$nsarg"
        expect_ok "DEL with netns $how"
        kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
        expect_clean "DEL with netns $how"
done

# VERSION
for v in 0.3.1 1.1.0; do
        echo "{\"cniVersion\":\"$v\"}" | cni VERSION "" "" ""
        expect_ok "VERSION $v"
        is "VERSION echoes $v" "$(jq -r .cniVersion "$CNI_OUT")" "$v"
        is "VERSION lists the supported versions" "$(jq -c .supportedVersions "$CNI_OUT")" \
                '["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
done

# GC: leases of attachments the runtime no longer lists are released.
ip netns add gca; ip netns add gcb
conf 1.1.0 | cni ADD gc-a /run/netns/gca; expect_ok "ADD gc-a"
conf 1.1.0 | cni ADD gc-b /run/netns/gcb; expect_ok "ADD gc-b"
is "two leases before GC" "$(leases | wc -l)" 2
conf 1.1.0 '.["cni.dev/valid-attachments"] = [{"containerID":"gc-a","ifname":"eth0"}]' | cni GC "" "" ""
expect_ok "GC with cni.dev/valid-attachments"
is "GC released gc-b's lease only" "$(grep -l gc-b "$DATADIR"/podnet-test/* 2>/dev/null | wc -l)/$(leases | wc -l)" "0/1"
conf 1.1.0 '.["cni.dev/attachments"] = []' | cni GC "" "" ""
expect_ok "GC with the early-1.1 key cni.dev/attachments"
is "GC with no valid attachment released everything" "$(leases | wc -l)" 0
conf 1.0.0 '.["cni.dev/valid-attachments"] = []' | cni GC "" "" ""
expect_code "GC with cniVersion 1.0.0" 1
for c in gc-a gc-b; do conf 1.1.0 | cni DEL "$c" ""; done
ip netns del gca; ip netns del gcb
expect_clean "after GC"

# STATUS
conf 1.1.0 | cni STATUS "" "" ""
expect_ok "STATUS 1.1.0 when ADD can be served"
conf 1.0.0 | cni STATUS "" "" ""
expect_code "STATUS with cniVersion 1.0.0" 1
mkdir -p /run/podnet-test/ro && mount -t tmpfs -o ro tmpfs /run/podnet-test/ro
conf 1.1.0 '.ipam.dataDir = "/run/podnet-test/ro/ipam"' | cni STATUS "" "" ""
expect_code "STATUS with a read-only IPAM directory" 50
umount /run/podnet-test/ro

finish
