#!/bin/bash
# Fault injection: podnet-cni ADD and DEL killed (SIGKILL, by strace) at every
# invocation of every syscall that changes something (file writes, renames, unlinks,
# mkdir, netlink requests, iptables commits), one kill point per run: a kill at the
# entry of each of them reaches every state a kill anywhere can leave. After each kill,
# what a runtime does:
#  - killed ADD: another pod is added meanwhile, then the ADD is repeated, then DEL.
#    The repeated ADD succeeds with the address the killed one leased (if it leased
#    one), and the other pod never gets that address. One exception, by the plugin's
#    rule (podnet-cni(8)): once the killed ADD had brought the host veth up, the pod
#    looks attached and a repeated ADD is refused with code 102 until DEL;
#  - killed DEL: DEL is repeated and succeeds.
# Then nothing is left: no lease, sidecar, index entry or temporary, no 0-byte file,
# no veth, no masquerade rule (it goes with the network's last lease).
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

command -v strace >/dev/null || { echo "SKIP: strace not installed"; exit 77; }

# strace counts the syscalls of the process it starts: run the plugin itself, not
# libtool's wrapper script around it (a statically linked podnet-cni has none; a
# .libs/podnet-cni beside it is then left over from an earlier shared build).
BIN=$PODNET_CNI
LIBS=
if ! head -c4 "$PODNET_CNI" | grep -q ELF && [ -x "$(dirname "$PODNET_CNI")/.libs/podnet-cni" ]; then
        BIN=$(dirname "$PODNET_CNI")/.libs/podnet-cni
        LIBS=$(dirname "$PODNET_CNI")/.libs
fi
# Check strace can trace here (ptrace may be forbidden in some sandboxes).
strace -f -o /dev/null true 2>/dev/null || { echo "SKIP: strace cannot trace here"; exit 77; }

conf 1.0.0 '.ipMasq = true' >/run/podnet-test/conf.json
NET="$DATADIR/podnet-test"
ip netns add crash
ip netns add other
MAX_N=${PODNET_CRASH_MAX_N:-120}
SYSCALLS=${PODNET_CRASH_SYSCALLS:-write renameat renameat2 linkat unlinkat mkdir mkdirat sendmsg sendto setsockopt}

# plugin VERB ID NETNS [strace injection]: exit status in $RC, stdout in $OUT.
OUT=/run/podnet-test/crash.out
plugin() {
        local inject=()
        [ -n "${4-}" ] && inject=(strace -f -o /dev/null -e "inject=$4")
        RC=0
        # In braces so that bash's "Killed" notice goes to /dev/null too.
        { env -i PATH="$PATH" ${LIBS:+LD_LIBRARY_PATH="$LIBS"} CNI_COMMAND="$1" \
                CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$3" CNI_IFNAME=eth0 \
                CNI_PATH=/usr/lib/cni "${inject[@]}" "$BIN" \
                </run/podnet-test/conf.json >"$OUT"; } 2>/dev/null || RC=$?
}

# Addresses whose lease file names container $1.
leased_to() {
        local f
        for f in $(leases); do
                [ "$(cat "$NET/$f" 2>/dev/null)" = "$1"$'\r\n'"eth0" ] && echo "$f"
        done
        return 0
}

# The host veth the last error message names exists and is up.
host_veth_up() {
        local name
        name=$(jq -r .msg "$OUT" | sed -n 's/^Host interface \(pn[0-9a-f]*\) .*/\1/p')
        [ -n "$name" ] && ip -j link show dev "$name" | jq -e '.[0].flags | index("UP")' >/dev/null
}

address() { jq -r '.ips[0].address // empty | split("/")[0]' "$OUT" 2>/dev/null; }

# What is left in the store besides `lock` and last_reserved_ip.*, one per line.
leftovers() {
        [ -d "$NET" ] || return 0
        (cd "$NET" && find . -mindepth 1 ! -name lock ! -name 'last_reserved_ip.*' \
                ! -path ./.podnet-boot | sed 's|^\./||')
        # 0-byte files among all of them (lock is empty by design).
        (cd "$NET" && find . -type f -empty ! -name lock | sed 's|^\./|empty: |')
}

# Everything is gone once both pods are deleted; prints what is not.
check_clean() {
        local left
        settle_veths || echo "veths: $(host_veths | tr '\n' ' ')"
        left=$(leftovers | tr '\n' ' ')
        [ -z "$left" ] || echo "store: $left"
        [ "$(iptables-legacy -t nat -S | grep -c MASQUERADE)" = 0 ] ||
                echo "masquerade rule left"
        return 0
}

# Removes whatever a failed point left, so that the next point starts clean.
reset() {
        plugin DEL crash crash
        plugin DEL other other
        settle_veths || true
        rm -rf "$NET"
        iptables-legacy -t nat -S | grep -q MASQUERADE &&
                iptables-legacy -t nat -F 2>/dev/null
        return 0
}

# problem_unless_ok "what": adds to $p the last call's error object if it failed.
problem_unless_ok() {
        [ "$RC" -eq 0 ] || p+="$1 failed: $(cat "$OUT")"$'\n'
}

n_points=0
n_failed=0
# point "what" problems...: one TAP line per kill point.
point() {
        local what=$1 problems=$2
        n_points=$((n_points + 1))
        if [ -z "$problems" ]; then
                ok "$what"
        else
                n_failed=$((n_failed + 1))
                fail "$what"
                echo "$problems" | sed 's/^/#   /'
                reset
        fi
}

start=$SECONDS
for sc in $SYSCALLS; do
        for n in $(seq 1 "$MAX_N"); do
                plugin ADD crash crash "$sc:signal=KILL:when=$n"
                if [ "$RC" -eq 0 ]; then
                        # Ran to completion: no more invocations of $sc to kill.
                        plugin DEL crash crash
                        break
                fi
                p=""
                if [ "$RC" -ne 137 ]; then
                        p+="killed ADD exited $RC, not by SIGKILL"$'\n'
                fi
                held=$(leased_to crash | xargs)
                plugin ADD other other
                other=$(address)
                problem_unless_ok "ADD of another pod after the kill"
                case " $held " in *" $other "*) p+="other pod got $other, still leased to the killed one"$'\n' ;; esac
                plugin ADD crash crash
                again=$(address)
                note=""
                if [ "$RC" -ne 0 ] && [ "$(jq -r .code "$OUT" 2>/dev/null)" = 102 ] &&
                        [ -n "$held" ] && host_veth_up; then
                        note=" (repeated ADD refused: host veth up, code 102)"
                elif [ "$RC" -ne 0 ]; then
                        p+="repeated ADD failed: $(cat "$OUT")"$'\n'
                elif [ -n "$held" ] && [ "$held" != "$again" ]; then
                        p+="repeated ADD got $again, the killed one leased $held"$'\n'
                fi
                [ -n "$again" ] && [ "$again" = "$other" ] && p+="both pods got $again"$'\n'
                n_leases=$(leases | wc -l)
                [ "$n_leases" = 2 ] || p+="$n_leases leases for two pods: $(leases | tr '\n' ' ')"$'\n'
                plugin DEL crash crash
                problem_unless_ok DEL
                plugin DEL other other
                problem_unless_ok "DEL of the other pod"
                p+=$(check_clean)
                point "ADD killed at $sc #$n${held:+ (had leased $held)}$note" "$p"
        done
done
add_points=$n_points
add_failed=$n_failed

for sc in $SYSCALLS; do
        for n in $(seq 1 "$MAX_N"); do
                plugin ADD crash crash
                if [ "$RC" -ne 0 ]; then
                        point "DEL at $sc #$n: setting up" "ADD failed: $(cat "$OUT")"
                        break
                fi
                plugin DEL crash crash "$sc:signal=KILL:when=$n"
                if [ "$RC" -eq 0 ]; then
                        plugin DEL crash crash
                        break
                fi
                p=""
                [ "$RC" -eq 137 ] || p+="killed DEL exited $RC, not by SIGKILL"$'\n'
                plugin DEL crash crash
                problem_unless_ok "repeated DEL"
                p+=$(check_clean)
                point "DEL killed at $sc #$n" "$p"
        done
done

echo "# ADD: $add_failed of $add_points kill points failed;" \
        "DEL: $((n_failed - add_failed)) of $((n_points - add_points)) failed;" \
        "$((SECONDS - start)) s"
# A bound on the loops that were meant to end by themselves.
[ "$n_points" -gt 20 ] && ok "$n_points kill points exercised" || fail "only $n_points kill points"
finish
