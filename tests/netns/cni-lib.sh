# Sourced by the podnet-cni tests after lib.sh: config builders and a runner that
# invokes the plugin the way a container runtime does (clean environment, config on
# stdin, result or error object on stdout).

[ -x "$PODNET_CNI" ] || { echo "FATAL: $PODNET_CNI not built" >&2; exit 99; }
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }

# `conf ... | cni ...` must run cni in this shell so that $CNI_RC survives.
shopt -s lastpipe

DATADIR=/run/podnet-test/ipam
mkdir -p "$DATADIR"
CNI_OUT=/run/podnet-test/cni.out
CNI_ERR=/run/podnet-test/cni.err

# conf VERSION [JQ-EXPR]: a kubenet-like configuration, optionally edited by jq. Its
# ipMasq rules go to iptables-legacy, where these tests look for them (the automatic
# choice is tested by tests/netns/fw-cni-backend.sh).
conf() {
        jq -n --arg v "$1" --arg dd "$DATADIR" '{
                cniVersion: $v, name: "podnet-test", type: "podnet-cni", bridge: "cbr0",
                isGateway: true, isDefaultGateway: true, hairpinMode: true, ipMasq: false,
                firewallBackend: "iptables-legacy",
                ipam: {type: "host-local", ranges: [[{subnet: "10.1.1.0/24"}]], dataDir: $dd}
        }' | jq -c "${2:-.}"
}

# cni COMMAND CONTAINERID NETNS [IFNAME] < conf: sets $CNI_RC, output in $CNI_OUT.
# With CNI_TIMEOUT=SECONDS the plugin is killed after that long (exit 124 or 137), so
# that a test of an input that could make it hang fails instead of hanging.
cni() {
        # PODNET_SYNC_DEL passes through when the caller sets it.
        local sync=${PODNET_SYNC_DEL:+PODNET_SYNC_DEL=1}
        CNI_RC=0
        ${CNI_TIMEOUT:+timeout -k 2 "$CNI_TIMEOUT"} \
                env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$3" \
                CNI_IFNAME="${4-eth0}" CNI_PATH="${CNI_PATH_DIRS:-/usr/lib/cni}" \
                ${CNI_ARGS_VALUE:+CNI_ARGS="$CNI_ARGS_VALUE"} $sync \
                "$PODNET_CNI" >"$CNI_OUT" 2>"$CNI_ERR" || CNI_RC=$?
}

# expect_code "desc" CODE: the last call failed with CNI error CODE, printed on stdout.
expect_code() {
        local got
        got=$(jq -r '.code // empty' "$CNI_OUT" 2>/dev/null)
        if [ "$CNI_RC" -ne 0 ] && [ "$got" = "$2" ] && [ -n "$(jq -r '.msg // empty' "$CNI_OUT")" ]; then
                ok "$1 -> code $2: $(jq -r .msg "$CNI_OUT")"
        else
                fail "$1 (exit $CNI_RC, code '${got}', want $2)"
                sed 's/^/#   out: /' "$CNI_OUT"; sed 's/^/#   err: /' "$CNI_ERR"
        fi
}

expect_ok() {
        if [ "$CNI_RC" -eq 0 ]; then
                ok "$1"
        else
                fail "$1 (exit $CNI_RC)"
                sed 's/^/#   out: /' "$CNI_OUT"; sed 's/^/#   err: /' "$CNI_ERR"
        fi
}

# Lease files in the test network's IPAM directory.
leases() {
        ls "$DATADIR/podnet-test" 2>/dev/null | grep -E '^[0-9a-f.:]+$' | sort || true
}

host_veths() {
        ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^pn' || true
}

# DEL leaves the kernel's teardown of the (already down) veth pair to a detached
# process: wait for it, boundedly (200 parallel teardowns take a few seconds).
settle_veths() {
        local i
        for i in $(seq 1 200); do
                [ -z "$(host_veths)" ] && return 0
                sleep 0.1
        done
        return 1
}

# wait_for TRIES COMMAND...: COMMAND succeeds within TRIES polls 0.05 s apart.
wait_for() {
        local tries=$1 i
        shift
        for ((i = 0; i < tries; i++)); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}
link_gone() { ! ip link show "$1" >/dev/null 2>&1; }

# The test leaks nothing: no pod veth on the host, no lease.
expect_clean() {
        settle_veths || true
        is "$1: no host veth left" "$(host_veths | tr '\n' ' ')" ""
        is "$1: no lease left" "$(leases | tr '\n' ' ')" ""
}
