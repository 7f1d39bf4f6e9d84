#!/bin/bash
# The CNI codes of the in-process host-local: the address store (lib/ipam/) reports an
# errno and a message, and the CNI verbs (lib/cni/cni-ipam.c) choose the code from the
# errno and from what they asked (tests/unit/cni-ipam-run). No root.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
RUN="$top_builddir/tests/unit/cni-ipam-run"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cni-ipam-codes.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
command -v jq >/dev/null || { echo "jq is missing"; exit 77; }

n=0 failed=0
is() { n=$((n + 1)); if [ "$2" = "$3" ]; then echo "ok $n - $1"; else failed=$((failed + 1)); echo "not ok $n - $1 (got '$2', want '$3')"; fi; }

# run VERB ID CONF: the helper's exit code in $rc, its CNI error code (or "none") in $code.
run() {
	out=$(env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS=/run/netns/p1 \
		CNI_IFNAME=eth0 CNI_PATH=/nonexistent CNI_ARGS="${ARGS:-}" "$RUN" <<<"$3")
	rc=$?
	code=$(jq -r '.code // "none"' <<<"${out:-{\}}" 2>/dev/null)
}
conf() {
	echo '{"cniVersion": "1.0.0", "name": "codes", "type": "podnet-cni",
		"ipam": {"type": "host-local", "dataDir": "'"$1"'", "ranges": [[{"subnet": "'"$2"'"}]]}}'
}

tiny=$(conf "$TMP/store" 10.7.0.0/30) # one usable address: 10.7.0.2
run ADD a "$tiny"; is "ADD into a /30" "$rc:$code" "0:none"
run ADD b "$tiny"; is "second ADD into a /30: no address left (ENOSPC)" "$rc:$code" "1:101"
ARGS="IP=10.7.0.2" run ADD b "$tiny"
is "requested address held by another (EEXIST)" "$rc:$code" "1:101"
ARGS="IP=10.7.0.2" run ADD a "$tiny"; is "repeated ADD with its own address" "$rc:$code" "0:none"
ARGS="IP=10.7.0.1" run ADD c "$tiny"; is "requested address is the gateway (EEXIST)" "$rc:$code" "1:101"
ARGS="IP=10.8.0.1" run ADD c "$tiny"; is "requested address outside the range (ERANGE)" "$rc:$code" "1:7"
run ADD "c$(printf '%01100d' 0)" "$tiny"
is "container id over the store's 1024 bytes (EINVAL)" "$rc:$code" "1:4"
run DEL a "$tiny"; is "DEL" "$rc:$code" "0:none"

: >"$TMP/file"
run ADD a "$(conf "$TMP/file" 10.7.0.0/24)"; is "dataDir is a file (ENOTDIR)" "$rc:$code" "1:5"
run ADD a "$(conf "$TMP/store" 10.7.0.0/31)"; is "a /31 range (EINVAL from the store's set-up)" "$rc:$code" "1:7"

echo "1..$n"
[ "$failed" -eq 0 ]
