#!/bin/sh
# Every exported function and every tool has a man page that is distributed, and every
# page renders without groff warnings.
set -u
rc=0
man="$top_srcdir/man"
for sym in $(sed -n 's/^[[:space:]]*\(podnet_[a-z0-9_]*\);.*/\1/p' "$top_srcdir/lib/libpodnet.sym"); do
        if [ ! -f "$man/$sym.3" ]; then
                echo "FAIL: no man page for $sym"; rc=1
        elif ! grep -q "man/$sym.3" "$top_srcdir"/mk/*.am; then
                echo "FAIL: man/$sym.3 is not in dist_man_MANS"; rc=1
        fi
done
for page in libpodnet.3 podnet-cni.8 podnet-routes.8; do
        [ -f "$man/$page" ] || { echo "FAIL: no $page"; rc=1; }
done
n=0
for f in "$man"/*.[38]; do
        n=$((n + 1))
        if grep -q '^\.so ' "$f"; then
                target=$(sed -n 's/^\.so man[38]\///p' "$f")
                [ -f "$man/$target" ] || { echo "FAIL: $f points at missing $target"; rc=1; }
                continue
        fi
        if command -v groff >/dev/null 2>&1; then
                out=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
                [ -z "$out" ] || { echo "FAIL: $f: $out"; rc=1; }
        fi
done
[ $rc -eq 0 ] && echo "PASS: $n pages; every exported function documented; no groff warnings"
exit $rc
