#!/bin/bash
# Interoperability with the reference host-local plugin (Debian's containernetworking-plugins):
# both tools share one store, see each other's leases and release each other's. No root needed.
set -u
HOSTLOCAL=${HOSTLOCAL:-/usr/lib/cni/host-local}
TOOL="$top_builddir/tests/unit/pn-ipam-tool"
if [ ! -x "$HOSTLOCAL" ]; then
        echo "SKIP: $HOSTLOCAL not installed (Debian package containernetworking-plugins)"
        exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipam-hostlocal.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
data="$tmp/networks"
net=interop
dir="$data/$net"
failed=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$2', want '$3'"; fi; }

conf() {
        printf '{"cniVersion":"1.0.0","name":"%s","type":"host-local","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.1.1.0/24"}]]}}' \
                "$net" "$data"
}
# hostlocal ADD|DEL ID: runs the reference plugin; prints its address on ADD.
hostlocal() {
        local out
        out=$(conf | env -i CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS=/dev/null \
                CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$HOSTLOCAL") || {
                echo "host-local $1 $2 failed: $out" >&2
                return 1
        }
        [ "$1" = ADD ] && printf '%s\n' "$out" | sed -n 's/.*"address": *"\([^"]*\)".*/\1/p'
        return 0
}

is "host-local allocates first" "$(hostlocal ADD hl1)" "10.1.1.2/24"
is "host-local lease format" "$(od -An -c "$dir/10.1.1.2" | tr -s ' ')" " h l 1 \r \n e t h 0"
is "we allocate the next address after host-local's" \
        "$("$TOOL" alloc "$data" "$net" 10.1.1.0/24 pn1 eth0)" "10.1.1.3/24"
is "we see host-local's lease" "$("$TOOL" lookup "$data" "$net" 10.1.1.0/24 hl1 eth0)" \
        "10.1.1.2/24"
is "our last_reserved_ip" "$(cat "$dir/last_reserved_ip.0")" "10.1.1.3"
is "our lease has host-local's format" "$(od -An -c "$dir/10.1.1.3" | tr -s ' ')" \
        " p n 1 \r \n e t h 0"
# Our attachment index entry for pn1 (see podnet_ipam_open(3)).
index_of() { grep -l "^container_id=$1\$" "$dir"/.podnet-boot/attach-* 2>/dev/null; }
pn1_index=$(index_of pn1)
[ -n "$pn1_index" ] && [ "$(head -n1 "$pn1_index")" = "podnet-index 1" ] &&
        grep -qx 'ip=10.1.1.3' "$pn1_index" && ok "index entry of pn1 lists 10.1.1.3" ||
        fail "index entry of pn1 lists 10.1.1.3: '$pn1_index'"
is "host-local continues round-robin after our lease" "$(hostlocal ADD hl2)" "10.1.1.4/24"
is "we continue after host-local's" "$("$TOOL" alloc "$data" "$net" 10.1.1.0/24 pn2 eth0)" \
        "10.1.1.5/24"
# host-local refuses a second ADD for an attachment that holds an address; with our
# boot sidecars in the directory it must still find our lease by walking it.
dup=$(hostlocal ADD pn1 2>&1)
case "$dup" in
*"10.1.1.3 has been allocated to pn1"*) ok "host-local sees our lease of pn1 (duplicate ADD refused)" ;;
*) fail "host-local sees our lease of pn1: $dup" ;;
esac

# The same lock: while someone (util-linux flock, i.e. flock(2) LOCK_EX like host-local's
# go-filemutex) holds <dir>/lock, our allocation waits.
if command -v flock >/dev/null; then
        flock "$dir/lock" sleep 1 &
        holder=$!
        sleep 0.2
        t0=$(date +%s%N)
        "$TOOL" alloc "$data" "$net" 10.1.1.0/24 pnlock eth0 >/dev/null
        t1=$(date +%s%N)
        wait $holder
        waited=$(((t1 - t0) / 1000000))
        [ "$waited" -ge 500 ] && ok "we wait for the lock file's flock (${waited} ms)" ||
                fail "we did not wait for the lock (${waited} ms)"
        "$TOOL" release "$data" "$net" 10.1.1.0/24 pnlock eth0 >/dev/null
fi

hostlocal DEL pn1 && ok "host-local DEL of our lease" || fail "host-local DEL of our lease"
[ ! -e "$dir/10.1.1.3" ] && ok "our lease removed by host-local" || fail "our lease removed by host-local"
[ -e "$dir/.podnet-boot/10.1.1.5" ] && ok "sidecars survive host-local's walk" ||
        fail "sidecars survive host-local's walk"
[ -n "$(index_of pn2)" ] && ok "index entries survive host-local's walk" ||
        fail "index entries survive host-local's walk"
# pn1's entry now lists a lease host-local released; host-local gives pn1 a new one.
# Our lookup and release must not trust the stale entry and find host-local's lease.
[ -n "$(index_of pn1)" ] && ok "host-local left pn1's (now stale) entry alone" ||
        fail "host-local left pn1's (now stale) entry alone"
is "host-local ADD of pn1 again" "$(hostlocal ADD pn1)" "10.1.1.7/24"
is "we find host-local's lease of pn1 despite the stale entry" \
        "$("$TOOL" lookup "$data" "$net" 10.1.1.0/24 pn1 eth0)" "10.1.1.7/24"
is "we release host-local's lease of pn1" "$("$TOOL" release "$data" "$net" 10.1.1.0/24 pn1 eth0)" 1
[ ! -e "$dir/10.1.1.7" ] && [ -z "$(index_of pn1)" ] &&
        ok "lease and stale entry of pn1 removed" || fail "lease and stale entry of pn1 removed"
is "our release of host-local's lease" "$("$TOOL" release "$data" "$net" 10.1.1.0/24 hl1 eth0)" 1
[ ! -e "$dir/10.1.1.2" ] && ok "host-local's lease removed by us" || fail "host-local's lease removed by us"
hostlocal DEL hl2 && hostlocal DEL pn2 && ok "host-local DEL of the rest" || fail "host-local DEL of the rest"
# host-local's DEL leaves pn2's entry; our allocation for pn2 must not trust it.
is "our pn2 after host-local released it: a new address" \
        "$("$TOOL" alloc "$data" "$net" 10.1.1.0/24 pn2 eth0)" "10.1.1.8/24"
hostlocal DEL pn2 && ok "host-local DEL of pn2 again" || fail "host-local DEL of pn2 again"
left=$(ls "$dir" | grep -cE '^[0-9.]+$')
is "no lease left" "$left" 0
is "host-local still allocates round-robin" "$(hostlocal ADD hl3)" "10.1.1.9/24"
echo "1..$n"
exit $failed
