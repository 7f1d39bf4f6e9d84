#!/bin/sh
# tests/check-layers.sh catches what it is for: a violation planted in a copy of lib/
# makes it fail, naming the file; the copy as it is passes.
set -u
src=${top_srcdir:-.}
check="$src/tests/check-layers.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0 rc=0

# plant DESCRIPTION FILE LINE EXPECTED: adds LINE to FILE of a fresh copy; the check must
# fail with EXPECTED in its output.
plant() {
        n=$((n + 1))
        rm -rf "$tmp/lib" && cp -r "$src/lib" "$tmp/lib" || exit 1
        printf '%s\n' "$3" >>"$tmp/lib/$2"
        out=$(sh "$check" "$tmp/lib" 2>&1)
        if [ $? -ne 0 ] && printf '%s' "$out" | grep -q "$4"; then
                echo "ok $n - $1"
        else
                echo "not ok $n - $1"; printf '%s\n' "$out" | sed 's/^/# /'; rc=1
        fi
}

n=$((n + 1))
if sh "$check" "$src/lib" >/dev/null; then echo "ok $n - the tree passes"; else echo "not ok $n - the tree passes"; rc=1; fi
plant "upward include" core/ctx.c '#include "netlink/net.h"' 'core/ctx.c includes "netlink/net.h" (upward'
plant "upward include to an existing header" core/cidr.c '#include "cni/cni.h"' 'core/cidr.c includes "cni/cni.h" (upward'
plant "sideways include" ipam/ipam.h '#include "firewall/fw.h"' 'sideways'
plant "include without folder" cni/cni-args.c '#include "cidr.h"' 'name its folder'
n=$((n + 1))
rm -rf "$tmp/lib" && cp -r "$src/lib" "$tmp/lib"
echo '#include "core/cidr.h"' >"$tmp/lib/core/loop-b.h"
echo '#include "core/loop-b.h"' >>"$tmp/lib/core/cidr.h"
if out=$(sh "$check" "$tmp/lib" 2>&1); then
        echo "not ok $n - a cycle through two headers"; rc=1
else
        printf '%s' "$out" | grep -q 'cycle' && echo "ok $n - a cycle through two headers" ||
                { echo "not ok $n - a cycle through two headers"; printf '%s\n' "$out" | sed 's/^/# /'; rc=1; }
fi
echo "1..$n"
exit $rc
