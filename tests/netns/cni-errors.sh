#!/bin/bash
# podnet-cni's unhappy paths: every CNI error code the plugin can return is provoked
# here, checked on stdout with a message, and leaves nothing behind.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

ip netns add p1
ip netns add p2

# 1: incompatible version.
conf 0.9.9 | cni ADD c1 /run/netns/p1;   expect_code "unsupported cniVersion 0.9.9" 1
conf 0.3.1 | cni CHECK c1 /run/netns/p1; expect_code "CHECK with cniVersion 0.3.1" 1

# 2: unsupported field (unknown CNI_ARGS key without IgnoreUnknown).
CNI_ARGS_VALUE="FOO=bar" cni ADD c1 /run/netns/p1 < <(conf 1.0.0); expect_code "unknown CNI_ARGS key" 2
CNI_ARGS_VALUE="IgnoreUnknown=true;FOO=bar" cni ADD c1 /run/netns/p1 < <(conf 1.0.0)
expect_ok "unknown CNI_ARGS key with IgnoreUnknown=true"
conf 1.0.0 | cni DEL c1 /run/netns/p1; expect_ok "DEL c1"

# 3: the container's namespace does not exist.
conf 1.0.0 | cni ADD c1 /run/netns/nonexistent; expect_code "ADD into a missing netns" 3

# 4: invalid environment.
conf 1.0.0 | cni ADD "" /run/netns/p1;             expect_code "CNI_CONTAINERID missing" 4
conf 1.0.0 | cni ADD c1 "";                        expect_code "CNI_NETNS missing for ADD" 4
conf 1.0.0 | cni ADD c1 /run/netns/p1 "";          expect_code "CNI_IFNAME missing" 4
conf 1.0.0 | cni ADD c1 /run/netns/p1 eth0123456789abc; expect_code "CNI_IFNAME of 16 bytes" 4
conf 1.0.0 | cni ADD c1 /run/netns/p1 "a/b";       expect_code "CNI_IFNAME with a slash" 4
conf 1.0.0 | cni ADD ../../etc /run/netns/p1;      expect_code "container id escaping dataDir" 4
conf 1.0.0 | cni FROB c1 /run/netns/p1;            expect_code "unknown CNI_COMMAND" 4
CNI_RC=0; conf 1.0.0 | env -i PATH="$PATH" "$PODNET_CNI" >"$CNI_OUT" 2>"$CNI_ERR" || CNI_RC=$?
expect_code "CNI_COMMAND missing" 4

# 6: undecodable configuration.
echo '{"cniVersion": "1.0.0", "name": ' | cni ADD c1 /run/netns/p1; expect_code "truncated JSON" 6

# 7: invalid configuration, naming the key.
conf 1.0.0 '.mtu = "1500"' | cni ADD c1 /run/netns/p1; expect_code "mtu as a string" 7
grep -q mtu "$CNI_OUT" && ok "message names the key mtu" || fail "message names the key mtu"
conf 1.0.0 '.ipam.ranges[0][0].subnet = "10.1.1.0/33"' | cni ADD c1 /run/netns/p1; expect_code "bad subnet" 7
conf 1.0.0 '.name = "../evil"' | cni ADD c1 /run/netns/p1; expect_code "network name escaping dataDir" 7
conf 1.0.0 '.bridge = "a-very-long-bridge-name"' | cni ADD c1 /run/netns/p1; expect_code "bridge name too long" 7
conf 1.0.0 'del(.name)' | cni ADD c1 /run/netns/p1; expect_code "missing name" 7
conf 1.0.0 | cni CHECK c1 /run/netns/p1; expect_code "CHECK without prevResult" 7

# 8: the plugin's own namespace.
conf 1.0.0 | cni ADD c1 /proc/self/ns/net; expect_code "CNI_NETNS is the plugin's own namespace" 8
is "nothing created in the plugin's namespace" "$(ip -o link show eth0 2>/dev/null)" ""

# Inputs that could make the plugin hang or eat memory fail at once (each run is
# bounded, so that a regression fails here instead of hanging), and create nothing.
links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')
mkfifo /run/podnet-test/fifo
export CNI_TIMEOUT=20
# 8: CNI_NETNS naming a FIFO (opening it would wait for a writer) or a device.
conf 1.0.0 | cni ADD c1 /run/podnet-test/fifo; expect_code "CNI_NETNS is a FIFO" 8
grep -q "/run/podnet-test/fifo is not a network namespace" "$CNI_OUT" && ok "message names the FIFO" || fail "message names the FIFO"
conf 1.0.0 '.prevResult = {"cniVersion": "1.0.0"}' | cni CHECK c1 /run/podnet-test/fifo
expect_code "CHECK with CNI_NETNS a FIFO" 8
conf 1.0.0 | cni ADD c1 /dev/null; expect_code "CNI_NETNS is a device" 8
conf 1.0.0 | cni ADD c1 /proc/self/ns/mnt; expect_code "CNI_NETNS is a mount namespace" 8
# 7: resolvConf that is not a regular file (/dev/zero never ends, a FIFO blocks) or is
# larger than the 64 KiB a resolv.conf could need.
conf 1.0.0 '.ipam.resolvConf = "/dev/zero"' | cni ADD c1 /run/netns/p1; expect_code "resolvConf /dev/zero" 7
grep -q "Refusing resolvConf /dev/zero: not a regular file" "$CNI_OUT" && ok "message names /dev/zero" || fail "message names /dev/zero"
conf 1.0.0 '.ipam.resolvConf = "/run/podnet-test/fifo"' | cni ADD c1 /run/netns/p1; expect_code "resolvConf is a FIFO" 7
{ echo "nameserver 10.0.0.53"; yes '#' | head -c $((65536 - 21)); } >/run/podnet-test/resolv-64k
{ cat /run/podnet-test/resolv-64k; echo; } >/run/podnet-test/resolv-big
is "the 64 KiB resolv.conf is 65536 bytes" "$(stat -c %s /run/podnet-test/resolv-64k)" 65536
conf 1.0.0 '.ipam.resolvConf = "/run/podnet-test/resolv-big"' | cni ADD c1 /run/netns/p1; expect_code "resolvConf of 64 KiB + 1 byte" 7
grep -q "larger than 64 KiB" "$CNI_OUT" && ok "message names the 64 KiB limit" || fail "message names the 64 KiB limit"
conf 1.0.0 '.ipam.resolvConf = "/run/podnet-test/resolv-64k"' | cni ADD c1 /run/netns/p1; expect_ok "resolvConf of exactly 64 KiB"
is "its nameserver is in the result" "$(jq -r '.dns.nameservers[0]' "$CNI_OUT")" 10.0.0.53
PODNET_SYNC_DEL=1 cni DEL c1 /run/netns/p1 < <(conf 1.0.0); expect_ok "DEL c1"
# 7 and 4: interface names with '%', which the kernel takes for a name template ("%d"
# picks a free number: a new bridge per ADD, a pod interface of another name).
conf 1.0.0 '.bridge = "br%d"' | cni ADD c1 /run/netns/p1; expect_code "bridge name with %d" 7
grep -q "br%d" "$CNI_OUT" && ok "message names the bridge" || fail "message names the bridge"
conf 1.0.0 '.bridge = "br%d"' | cni ADD c2 /run/netns/p2; expect_code "bridge name with %d, again" 7
conf 1.0.0 | cni ADD c1 /run/netns/p1 'eth%d'; expect_code "CNI_IFNAME with %d" 4
conf 1.0.0 | cni ADD c1 /run/netns/p1 'e%s'; expect_code "CNI_IFNAME with %s" 4
is "no pod interface made from a template" "$(ip -n p1 -o link show | grep -vc ': lo:')" 0
# 7: a configuration larger than the 16 MiB stdin limit is refused, naming the limit.
CNI_RC=0
head -c 100000000 /dev/zero | timeout -k 2 20 env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=c1 \
        CNI_NETNS=/run/netns/p1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$PODNET_CNI" >"$CNI_OUT" 2>"$CNI_ERR" || CNI_RC=$?
expect_code "100 MB on stdin" 7
grep -q "larger than 16 MiB" "$CNI_OUT" && ok "message names the 16 MiB limit" || fail "message names the 16 MiB limit"
unset CNI_TIMEOUT
is "no link created by any of these" "$(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')" "$links_before"

expect_clean "after configuration errors"

# 101: range exhausted; the failed ADD leaves nothing.
tiny='.ipam.ranges = [[{"subnet": "10.9.9.0/30"}]] | .name = "tiny"'
conf 1.0.0 "$tiny" | cni ADD t1 /run/netns/p1; expect_ok "ADD into a /30 (one address)"
conf 1.0.0 "$tiny" | cni ADD t2 /run/netns/p2; expect_code "second ADD into a /30" 101
is "failed ADD left no eth0 in p2" "$(ip -n p2 -o link show eth0 2>/dev/null)" ""
is "failed ADD left no host veth" "$(host_veths | wc -l)" 1
conf 1.0.0 "$tiny" | cni DEL t1 /run/netns/p1; expect_ok "DEL t1"

# 102: ADD twice for the same attachment; the first stays intact.
conf 1.0.0 | cni ADD c1 /run/netns/p1; expect_ok "ADD c1"
first=$(jq -r '.ips[0].address' "$CNI_OUT")
conf 1.0.0 | cni ADD c1 /run/netns/p1; expect_code "ADD of an existing interface" 102
is "the existing pod keeps its lease" "$(leases | tr '\n' ' ')" "${first%/*} "
is "the existing pod keeps its address" \
        "$(ip -n p1 -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')" "${first%/*}"

# 105: CHECK finds what is wrong and names it.
prev=$(conf 1.0.0 | cni ADD c2 /run/netns/p2; cat "$CNI_OUT")
conf 1.0.0 ".prevResult = $prev" | cni CHECK c2 /run/netns/p2; expect_ok "CHECK of a healthy pod"
addr2=$(echo "$prev" | jq -r '.ips[0].address')
ip -n p2 route del default
conf 1.0.0 ".prevResult = $prev" | cni CHECK c2 /run/netns/p2; expect_code "CHECK without the default route" 105
grep -q "0.0.0.0/0" "$CNI_OUT" && ok "message names the route" || fail "message names the route"
ip -n p2 addr del "$addr2" dev eth0
conf 1.0.0 ".prevResult = $prev" | cni CHECK c2 /run/netns/p2; expect_code "CHECK without the address" 105
grep -q "${addr2%/*}" "$CNI_OUT" && ok "message names the address" || fail "message names the address"
ip -n p2 link set eth0 mtu 1400
conf 1.0.0 ".prevResult = $prev" | cni CHECK c2 /run/netns/p2; expect_code "CHECK with a wrong MTU" 105
conf 1.0.0 | cni DEL c2 /run/netns/p2; expect_ok "DEL c2"
conf 1.0.0 ".prevResult = $(conf 1.0.0 | cni ADD c2 /run/netns/p2; cat "$CNI_OUT")" >/run/podnet-test/c2.conf
rm -f "$DATADIR/podnet-test/${addr2%/*}" "$DATADIR"/podnet-test/10.1.1.*[0-9]
cni CHECK c2 /run/netns/p2 </run/podnet-test/c2.conf; expect_code "CHECK with the lease gone" 105
conf 1.0.0 | cni DEL c2 /run/netns/p2
conf 1.0.0 | cni DEL c1 /run/netns/p1

# 104: a delegated IPAM plugin that is missing or fails.
conf 1.0.0 '.ipam = {"type": "no-such-ipam"}' | cni ADD c3 /run/netns/p1
if [ "$CNI_RC" -ne 0 ] && jq -e '.code and .msg' "$CNI_OUT" >/dev/null && grep -q no-such-ipam "$CNI_OUT"; then
        ok "missing IPAM plugin -> code $(jq .code "$CNI_OUT") naming it"
else
        fail "missing IPAM plugin"; cat "$CNI_OUT"
fi
mkdir -p /run/podnet-test/bin
cat > /run/podnet-test/bin/failing-ipam <<'IPAM'
#!/bin/sh
echo '{"cniVersion":"1.0.0","code":11,"msg":"pool busy, try later"}'
exit 1
IPAM
chmod +x /run/podnet-test/bin/failing-ipam
CNI_PATH_DIRS=/run/podnet-test/bin cni ADD c3 /run/netns/p1 < <(conf 1.0.0 '.ipam = {"type": "failing-ipam"}')
expect_code "IPAM plugin error propagated" 11
is "no veth after a failed IPAM" "$(ip -n p1 -o link show eth0 2>/dev/null)" ""

# A delegated IPAM plugin that succeeded is called again with DEL when a later step
# fails (the spec's rule), and with DEL on our DEL.
cat > /run/podnet-test/bin/logging-ipam <<'IPAM'
#!/bin/sh
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" >> /run/podnet-test/ipam-calls
cat >/dev/null
case $CNI_COMMAND in
ADD) echo '{"cniVersion":"1.0.0","ips":[{"address":"10.7.0.5/24","gateway":"10.7.0.1"}]}' ;;
esac
IPAM
chmod +x /run/podnet-test/bin/logging-ipam
ip link add cbr8 type veth peer name cbr8p
CNI_PATH_DIRS=/run/podnet-test/bin cni ADD d1 /run/netns/p1 < <(conf 1.0.0 '.bridge = "cbr8" | .ipam = {"type": "logging-ipam"}')
if [ "$CNI_RC" -ne 0 ]; then ok "ADD fails after the delegated IPAM succeeded (bridge name taken)"; else fail "ADD should fail"; fi
is "delegated IPAM got ADD then DEL" "$(tr '\n' ';' < /run/podnet-test/ipam-calls)" "ADD d1 eth0;DEL d1 eth0;"
is "no eth0 left in p1" "$(ip -n p1 -o link show eth0 2>/dev/null)" ""
ip link del cbr8
: > /run/podnet-test/ipam-calls
CNI_PATH_DIRS=/run/podnet-test/bin cni ADD d2 /run/netns/p1 < <(conf 1.0.0 '.ipam = {"type": "logging-ipam"}')
expect_ok "ADD with a delegated IPAM plugin"
is "the delegated address is configured" \
        "$(ip -n p1 -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')" 10.7.0.5
CNI_PATH_DIRS=/run/podnet-test/bin cni DEL d2 /run/netns/p1 < <(conf 1.0.0 '.ipam = {"type": "logging-ipam"}')
expect_ok "DEL with a delegated IPAM plugin"
is "delegated IPAM got ADD then DEL" "$(tr '\n' ';' < /run/podnet-test/ipam-calls)" "ADD d2 eth0;DEL d2 eth0;"
ip link del cbr0 2>/dev/null # the delegated pod's bridge holds 10.7.0.1; start clean

# 100: the kernel refuses: the bridge name is taken by a non-bridge link.
ip link add cbr9 type veth peer name cbr9p
conf 1.0.0 '.bridge = "cbr9"' | cni ADD c4 /run/netns/p1
if [ "$CNI_RC" -ne 0 ] && grep -q cbr9 "$CNI_OUT"; then ok "bridge name taken by a veth -> code $(jq .code "$CNI_OUT")"; else fail "bridge name taken"; cat "$CNI_OUT"; fi
ip link del cbr9
expect_clean "after kernel refusal"

# 5: I/O failure: the IPAM data directory is a file.
touch /run/podnet-test/notadir
conf 1.0.0 '.ipam.dataDir = "/run/podnet-test/notadir"' | cni ADD c5 /run/netns/p1; expect_code "dataDir is a file" 5
is "nothing left after the I/O failure" "$(ip -n p1 -o link show eth0 2>/dev/null)" ""

expect_clean "at the end"
ip netns del p1; ip netns del p2
finish
