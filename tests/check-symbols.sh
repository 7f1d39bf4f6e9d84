#!/bin/sh
# libpodnet.so exports exactly the symbols of lib/libpodnet.sym, all under a
# PODNET_ version node, and every function the public header declares.
set -eu
so=$(ls "$top_builddir"/.libs/libpodnet.so.* 2>/dev/null | head -n1)
[ -n "$so" ] || { echo "libpodnet.so not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' \
        | grep -v '^PODNET_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(podnet_[a-z0-9_]*\);.*/\1/p' "$top_srcdir/lib/libpodnet.sym" | sort -u > "$tmp/script"
# Preprocessed, so that names in comments do not count.
${CPP:-cpp} -P -I"$top_srcdir/include" -I"$top_builddir/include" "$top_srcdir/include/podnet/podnet.h" \
        | grep -oE '\bpodnet_[a-z0-9_]+ *\(' | tr -d '( ' | sort -u > "$tmp/header"
rc=0
if ! diff -u "$tmp/script" "$tmp/exported"; then
        echo "FAIL: exported symbols differ from lib/libpodnet.sym (- script, + exported)"; rc=1
fi
if ! diff -u "$tmp/header" "$tmp/script"; then
        echo "FAIL: header declarations differ from lib/libpodnet.sym (- header, + script)"; rc=1
fi
if nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^PODNET_' | grep -v '@@\?PODNET_0\.' ; then
        echo "FAIL: symbols above are not in a PODNET_ version node"; rc=1
fi
[ $rc -eq 0 ] && echo "PASS: $(wc -l < "$tmp/exported") symbols, all versioned, all declared"
exit $rc
