# Sourced by tests/netns/kube-alloc*.sh after lib.sh and kube-lib.sh: the allocator tests'
# set-up (certificates, the admin token, two replicas' tokens), helpers reading Nodes
# through the fake API server, and wait_for (PN_WAIT seconds, default 10).
kube_need jq openssl python3 curl
ip link set lo up
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-admin > "$TMPDIR/server-token"
printf 'tok-a alloc-a\ntok-b alloc-b\n' > "$TMPDIR/user-tokens"

api() { curl -sf --cacert "$TMPDIR/ca.crt" -H "Authorization: Bearer secret-admin" "$API_URL$1"; }
kc() { python3 "$FAKE_API" ctl "$API_URL" "$@" >/dev/null; }
cidrs() { api "/api/v1/nodes/$1" | jq -r '(.spec.podCIDRs // []) | join(",")'; }
has_cidr() { [ -n "$(cidrs "$1")" ]; }
# every pod CIDR of every node, one a line
all_cidrs() { api /api/v1/nodes | jq -r '.items[].spec.podCIDRs // [] | .[]'; }
n_dup() { all_cidrs | sort | uniq -d | wc -l; }
# wait_for DESC CMD...: polls CMD every 50 ms for up to PN_WAIT seconds (default 10)
wait_for() {
        local what=$1 i
        shift
        for i in $(seq 1 "$(awk "BEGIN { print int(${PN_WAIT:-10} * 20) }")"); do
                "$@" && { ok "$what"; return 0; }
                sleep 0.05
        done
        fail "$what (not within ${PN_WAIT:-10} s)"
        return 1
}
