#!/bin/bash
# IPAM through podnet_cni_ipam_*() (tests/unit/cni-ipam-run): delegation to a fake
# plugin and to the reference host-local, and the in-process host-local. No root.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
RUN="$top_builddir/tests/unit/cni-ipam-run"
FAKE_DIR="$top_srcdir/tests/data/fake-ipam"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cni-ipam.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
command -v jq >/dev/null || { echo "jq is missing"; exit 77; }

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
jqe() { jq -e "$@" >/dev/null; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', want '$3')"; fi; }

# run VERB CONF [VAR=VALUE...]: runs the helper; sets $out and $rc.
run() {
	local verb=$1 conf=$2
	shift 2
	out=$(env CNI_COMMAND="$verb" CNI_CONTAINERID="${ID:-c1}" CNI_NETNS=/run/netns/p1 \
		CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH_T" CNI_ARGS="${ARGS:-}" "$@" "$RUN" <<<"$conf")
	rc=$?
}

CNI_PATH_T="/nonexistent:$FAKE_DIR"
LOG="$TMP/log"
conf_fake='{"cniVersion": "1.0.0", "name": "fake-net", "type": "podnet-cni",
	"ipam": {"type": "fake-ipam", "anything": [1, 2]}}'

# --- delegation to the fake plugin -----------------------------------------------
ARGS="K8S_POD_NAME=web-0" run ADD "$conf_fake" FAKE_IPAM_MODE=ok FAKE_IPAM_LOG="$LOG"
is "ADD delegated: exit 0" "$rc" 0
is "ADD result address" "$(jq -r '.ips[0].address' <<<"$out")" "10.1.2.5/24"
is "ADD result gateway" "$(jq -r '.ips[0].gateway' <<<"$out")" "10.1.2.1"
is "ADD result dns" "$(jq -r '.dns.nameservers[0]' <<<"$out")" "10.0.0.10"
is "ADD result in the configuration's version" "$(jq -r .cniVersion <<<"$out")" "1.0.0"
check "plugin got the whole configuration on stdin" \
	jqe --argjson want "$conf_fake" '. == $want' "$LOG.ADD.stdin"
is "plugin got CNI_COMMAND=ADD" "$(grep '^CNI_COMMAND=' "$LOG.ADD.env")" "CNI_COMMAND=ADD"
is "plugin got CNI_CONTAINERID" "$(grep '^CNI_CONTAINERID=' "$LOG.ADD.env")" "CNI_CONTAINERID=c1"
is "plugin got CNI_NETNS" "$(grep '^CNI_NETNS=' "$LOG.ADD.env")" "CNI_NETNS=/run/netns/p1"
is "plugin got CNI_IFNAME" "$(grep '^CNI_IFNAME=' "$LOG.ADD.env")" "CNI_IFNAME=eth0"
is "plugin got CNI_ARGS" "$(grep '^CNI_ARGS=' "$LOG.ADD.env")" "CNI_ARGS=K8S_POD_NAME=web-0"
is "plugin got CNI_PATH" "$(grep '^CNI_PATH=' "$LOG.ADD.env")" "CNI_PATH=$CNI_PATH_T"
# ls itself opens one descriptor (3) for the directory listing.
is "plugin inherited only stdin, stdout, stderr" "$(grep -vx 3 "$LOG.ADD.fds" | tr '\n' ' ')" "0 1 2 "

run ADD "${conf_fake/1.0.0/0.4.0}" FAKE_IPAM_MODE=ok FAKE_IPAM_VERSION=0.4.0 FAKE_IPAM_LOG="$LOG"
is "0.4.0 ADD: exit 0" "$rc" 0
is "0.4.0 result carries ip version" "$(jq -r '.ips[0].version' <<<"$out")" "4"

run ADD "$conf_fake" FAKE_IPAM_MODE=noread
is "plugin that never reads stdin: exit 0" "$rc" 0
is "plugin that never reads stdin: result" "$(jq -r '.ips[0].address' <<<"$out")" "10.1.2.5/24"

run ADD "$conf_fake" FAKE_IPAM_MODE=fail
is "failing plugin: exit 1" "$rc" 1
is "failing plugin: its code" "$(jq -r .code <<<"$out")" 11
is "failing plugin: its message" "$(jq -r .msg <<<"$out")" "Store busy, try later"
is "failing plugin: its details" "$(jq -r .details <<<"$out")" "lock held"

run ADD "$conf_fake" FAKE_IPAM_MODE=garbage
is "plugin printing garbage: code 104" "$(jq -r .code <<<"$out")" 104
check "plugin printing garbage: message names the exit status" \
	grep -q "fake-ipam failed with exit status 3" <<<"$(jq -r .msg <<<"$out")"
is "plugin printing garbage: output in details" "$(jq -r .details <<<"$out")" \
	"panic: something went wrong"

run ADD "$conf_fake" FAKE_IPAM_MODE=kill
is "plugin killed: code 104" "$(jq -r .code <<<"$out")" 104
check "plugin killed: message names the signal" grep -q "signal 9" <<<"$out"

run DEL "$conf_fake" FAKE_IPAM_MODE=ok FAKE_IPAM_LOG="$LOG"
is "DEL delegated: exit 0" "$rc" 0
is "DEL prints nothing" "$out" ""
is "plugin got CNI_COMMAND=DEL" "$(grep '^CNI_COMMAND=' "$LOG.DEL.env")" "CNI_COMMAND=DEL"
check "DEL forwarded the configuration" jqe '.ipam.type == "fake-ipam"' "$LOG.DEL.stdin"
run DEL "$conf_fake" FAKE_IPAM_MODE=fail
is "DEL failure propagated" "$(jq -r .code <<<"$out")" 11

run CHECK "$conf_fake" FAKE_IPAM_MODE=ok FAKE_IPAM_LOG="$LOG"
is "CHECK delegated" "$rc/$(grep '^CNI_COMMAND=' "$LOG.CHECK.env")" "0/CNI_COMMAND=CHECK"
run GC "${conf_fake/1.0.0/1.1.0}" FAKE_IPAM_MODE=ok FAKE_IPAM_LOG="$LOG"
is "GC delegated" "$rc/$(grep '^CNI_COMMAND=' "$LOG.GC.env")" "0/CNI_COMMAND=GC"

run ADD "${conf_fake/fake-ipam/no-such-ipam}"
is "plugin not found: code 7" "$(jq -r .code <<<"$out")" 7
check "plugin not found: message names type and path" \
	grep -q "no-such-ipam not found in CNI_PATH $CNI_PATH_T" <<<"$(jq -r .msg <<<"$out")"
CNI_PATH_T="" run ADD "$conf_fake"
is "no CNI_PATH: code 4" "$(jq -r .code <<<"$out")" 4
run ADD "${conf_fake/fake-ipam/..\/fake-ipam\/fake-ipam}"
is "ipam type with a slash: code 7" "$(jq -r .code <<<"$out")" 7

# --- in-process host-local ---------------------------------------------------------
STORE="$TMP/store"
printf 'nameserver 10.0.0.10\nsearch default.svc.cluster.local svc.cluster.local\n# comment\noptions ndots:5\ndomain cluster.local\n' > "$TMP/resolv.conf"
conf_hl='{"cniVersion": "1.1.0", "name": "podnet", "type": "podnet-cni",
	"ipam": {"type": "host-local", "dataDir": "'"$STORE"'", "resolvConf": "'"$TMP/resolv.conf"'",
		"ranges": [[{"subnet": "10.1.2.0/24"}], [{"subnet": "fd00:1::/64"}]],
		"routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}}'
ID=c1 run ADD "$conf_hl"
is "in-process ADD: exit 0" "$rc" 0
is "in-process ADD: one address per set" "$(jq -r '[.ips[].address] | join(" ")' <<<"$out")" \
	"10.1.2.2/24 fd00:1::2/64"
is "in-process ADD: gateways" "$(jq -r '[.ips[].gateway] | join(" ")' <<<"$out")" \
	"10.1.2.1 fd00:1::1"
is "in-process ADD: routes" "$(jq -r '[.routes[].dst] | join(" ")' <<<"$out")" "0.0.0.0/0 ::/0"
is "in-process ADD: dns from resolvConf" "$(jq -c .dns <<<"$out")" \
	'{"nameservers":["10.0.0.10"],"domain":"cluster.local","search":["default.svc.cluster.local","svc.cluster.local"],"options":["ndots:5"]}'
check "lease file in host-local's format" \
	bash -c "[ \"\$(cat '$STORE/podnet/10.1.2.2')\" = \"\$(printf 'c1\r\neth0')\" ]"
first=$out
ID=c1 run ADD "$conf_hl"
is "repeated ADD returns the same addresses" "$(jq -c .ips <<<"$out")" "$(jq -c .ips <<<"$first")"
ID=c2 ARGS="IP=10.1.2.50" run ADD "$conf_hl"
is "CNI_ARGS IP= honoured" "$(jq -r '.ips[0].address' <<<"$out")" "10.1.2.50/24"
ID=c3 ARGS="IP=10.1.2.50" run ADD "$conf_hl"
is "requested address taken: fails" "$rc" 1
check "requested address taken: no lease left for c3" \
	bash -c "! grep -rqs '^c3' '$STORE/podnet'"
ID=c3 ARGS="IP=10.7.0.1" run ADD "$conf_hl"
is "requested address outside the ranges: code 7" "$(jq -r .code <<<"$out")" 7
ID=c1 run CHECK "$conf_hl"
is "CHECK with a lease: exit 0" "$rc" 0
ID=c9 run CHECK "$conf_hl"
is "CHECK without a lease: code 105" "$(jq -r .code <<<"$out")" 105
check "CHECK without a lease: message names the container" grep -q "container c9" <<<"$out"
ID=c2 run DEL "$conf_hl"
is "DEL: exit 0" "$rc" 0
check "DEL released c2's lease" test ! -e "$STORE/podnet/10.1.2.50"
ID=c2 run DEL "$conf_hl"
is "DEL again: still exit 0" "$rc" 0
gc_conf=$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$conf_hl")
ID=c1 run GC "$(jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "eth0"}]}' <<<"$conf_hl")"
is "GC keeping c1: exit 0" "$rc" 0
check "GC kept c1's lease" test -e "$STORE/podnet/10.1.2.2"
ID=c1 run GC "$gc_conf"
is "GC with no valid attachment: exit 0" "$rc" 0
check "GC released c1's lease" test ! -e "$STORE/podnet/10.1.2.2"
ID=c1 run GC "$conf_hl"
is "GC without the attachment list is refused: code 7" "$(jq -r .code <<<"$out")" 7

# A set that cannot allocate after the first did: nothing is left behind.
conf_small='{"cniVersion": "1.0.0", "name": "small", "type": "podnet-cni",
	"ipam": {"type": "host-local", "dataDir": "'"$STORE"'",
		"ranges": [[{"subnet": "10.3.0.0/24"}], [{"subnet": "10.4.0.0/30"}]]}}'
ID=s1 run ADD "$conf_small"
is "small network: first ADD" "$rc" 0
ID=s2 run ADD "$conf_small"
is "second set exhausted: code 101" "$(jq -r .code <<<"$out")" 101
check "second set exhausted: s2 holds no lease in the first set" \
	bash -c "! grep -rqs '^s2' '$STORE/small'"

# --- the reference host-local, delegated --------------------------------------------
if [ -x /usr/lib/cni/host-local ]; then
	mkdir -p "$TMP/ref"
	ln -s /usr/lib/cni/host-local "$TMP/ref/ref-host-local"
	CNI_PATH_T="$TMP/ref"
	conf_ref='{"cniVersion": "1.0.0", "name": "shared", "type": "podnet-cni",
		"ipam": {"type": "ref-host-local", "dataDir": "'"$STORE"'",
			"ranges": [[{"subnet": "10.5.0.0/24"}]]}}'
	ID=r1 run ADD "$conf_ref"
	is "reference host-local via CNI_PATH: exit 0" "$rc" 0
	is "reference host-local: address" "$(jq -r '.ips[0].address' <<<"$out")" "10.5.0.2/24"
	# The same store through the in-process host-local: the reference's lease is seen.
	ID=r2 run ADD "${conf_ref/ref-host-local/host-local}"
	is "in-process after reference: next address" "$(jq -r '.ips[0].address' <<<"$out")" \
		"10.5.0.3/24"
	ID=r2 run DEL "$conf_ref"
	is "reference DEL of an in-process lease: exit 0" "$rc" 0
	check "reference DEL released it" test ! -e "$STORE/shared/10.5.0.3"
	ID=r9 run CHECK "$conf_ref"
	check "reference CHECK failure propagated" test "$rc" = 1 -a "$(jq -r .code <<<"$out")" != null
	ID=r1 run DEL "${conf_ref/ref-host-local/host-local}"
	check "in-process DEL of the reference's lease" test ! -e "$STORE/shared/10.5.0.2"
else
	echo "# /usr/lib/cni/host-local is absent: skipping the reference host-local checks"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
