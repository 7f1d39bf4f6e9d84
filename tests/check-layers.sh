#!/bin/sh
# The layering of lib/ (lib/README.md): every `#include "folder/file.h"` of a file under
# lib/ names its folder, and that folder is the file's own or one ranked below it in the
# README's table; and no two modules (a file.c with its file.h) include each other, even
# through others. Run by `make check`; `check-layers.sh DIR` checks another tree (the
# test of this check plants violations in a copy).
set -u
lib=${1:-${top_srcdir:-.}/lib}
readme="$lib/README.md"
rc=0
fail() { echo "FAIL: $*"; rc=1; }

[ -f "$readme" ] || { echo "FAIL: no $readme"; exit 1; }
# "| 0    | `core/`     | ..." -> "core 0"
ranks=$(sed -n 's/^| *\([0-9][0-9]*\) *| *`\([a-z0-9_-]*\)\/` *|.*/\2 \1/p' "$readme")
[ -n "$ranks" ] || { echo "FAIL: no rank table in $readme"; exit 1; }
rank_of() { echo "$ranks" | awk -v f="$1" '$1 == f { print $2 }'; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Every quoted include as "file include" with paths relative to lib/.
(cd "$lib" && find . -name '*.[ch]' | sed 's|^\./||' | sort) >"$tmp/files"
while read -r f; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$lib/$f" |
                while read -r inc; do echo "$f $inc"; done
done <"$tmp/files" >"$tmp/includes"

n=0
while read -r f inc; do
        n=$((n + 1))
        dir=${f%%/*}
        case $f in */*) ;; *) fail "$f: a file directly in lib/, outside every folder"; continue ;; esac
        case $inc in
        podnet/*) continue ;; # the public header
        */*) ;;
        *)
                if grep -qx ".*/$inc" "$tmp/files"; then
                        fail "$f includes \"$inc\": name its folder (\"$(grep -x ".*/$inc" "$tmp/files" | head -n 1)\")"
                fi
                continue
                ;;
        esac
        idir=${inc%%/*}
        if ! grep -qx "$inc" "$tmp/files"; then
                [ -d "$lib/$idir" ] && fail "$f includes \"$inc\", which is not in lib/"
                continue
        fi
        mine=$(rank_of "$dir")
        theirs=$(rank_of "$idir")
        if [ -z "$mine" ]; then
                fail "$f: folder $dir/ has no rank in lib/README.md"
        elif [ -z "$theirs" ]; then
                fail "$f includes \"$inc\": folder $idir/ has no rank in lib/README.md"
        elif [ "$dir" != "$idir" ] && [ "$theirs" -ge "$mine" ]; then
                if [ "$theirs" -eq "$mine" ]; then
                        how="sideways: $dir/ and $idir/ are both rank $mine"
                else
                        how="upward: $dir/ is rank $mine, $idir/ rank $theirs"
                fi
                fail "$f includes \"$inc\" ($how)"
        fi
done <"$tmp/includes"

# Cycles between modules: folder/x.c and folder/x.h are one module "folder/x". tsort
# reports a loop on stderr and fails.
sed 's/\.[ch] / /; s/\.[ch]$//' "$tmp/includes" | grep -v '^podnet/\| podnet/' |
        awk '$1 != $2' >"$tmp/edges"
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/tsort"; then
        fail "a cycle between modules: $(grep -v 'input contains a loop' "$tmp/tsort" | sed 's/^tsort: //' | tr '\n' ' ')"
fi

[ $rc -eq 0 ] && echo "PASS: $n includes in $(wc -l <"$tmp/files") files follow lib/README.md; no cycle"
exit $rc
