#!/bin/bash
# A failed podnet-cni ADD leaves nothing behind, whatever system call fails: every
# relevant call of one ADD is made to fail in turn (strace -e inject, one call per
# run), and after each failed ADD there must be a CNI error object with a code of the
# specification (11 for a transient kernel error), no veth in either namespace, no
# lease, no masquerade rule this ADD added, and a normal ADD and DEL must work.
# Some 200 ADDs, each followed by a normal ADD and DEL: allow for a loaded machine.
export PODNET_TEST_TIMEOUT=${PODNET_TEST_TIMEOUT:-1200}
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/cni-lib.sh"

command -v strace >/dev/null || { echo "SKIP: strace not installed"; exit 77; }
command -v iptables-legacy >/dev/null || { echo "SKIP: iptables-legacy not installed"; exit 77; }
# podnet-cni in the build tree is a libtool wrapper script: strace the real program
# (libtool names it and its library path once; running libtool per call is slow).
LIBTOOL=$top_builddir/libtool
[ -x "$LIBTOOL" ] || { echo "FATAL: $LIBTOOL not found" >&2; exit 99; }
read -r CNI_REAL CNI_LDPATH < <("$LIBTOOL" --mode=execute sh -c 'echo "$0 ${LD_LIBRARY_PATH:-}"' "$PODNET_CNI")
[ -x "$CNI_REAL" ] || { echo "FATAL: cannot find the program behind $PODNET_CNI" >&2; exit 99; }

ip netns add p1
ip netns add p0
CONF=/run/podnet-test/faults.json
TRACE=/run/podnet-test/faults.trace
conf 1.0.0 '.ipMasq = true' >"$CONF"
export PODNET_SYNC_DEL=1 # DEL deletes the pair before it returns: no teardown races

# traced_add STRACE-OPTION...: ADD c1 into p1 under strace, like cni() otherwise.
traced_add() {
        CNI_RC=0
        env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/p1 \
                CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni ${CNI_LDPATH:+LD_LIBRARY_PATH="$CNI_LDPATH"} \
                strace -f -qq --seccomp-bpf -o "$TRACE" "$@" "$CNI_REAL" <"$CONF" >"$CNI_OUT" 2>"$CNI_ERR" || CNI_RC=$?
}

masq_rules() {
        iptables-legacy -t nat -S 2>/dev/null | grep -c 'podnet:podnet-test' || true
}

# What a failed ADD of c1 may leave: nothing but the bridge and the IPAM store's
# bookkeeping (lock, last_reserved_ip.*). Prints one word per leftover.
leftovers() {
        local rules
        ip -n p1 -o link show eth0 >/dev/null 2>&1 && echo "eth0-in-p1"
        host_veths | grep -qvx -e "${c0_host:-/}" && echo "host-veth"
        leases | grep -qvx -e "${c0_lease:-/}" && echo "lease"
        ls -A "$DATADIR/podnet-test/.podnet-boot" 2>/dev/null | grep -qvx -e "${c0_lease:-/}" -e "${c0_index:-/}" &&
                echo "podnet-boot-entry"
        rules=$(masq_rules)
        [ "$rules" = "$want_rules" ] || echo "masquerade-rules=$rules"
}

# The system calls of a traced run, one per line ("name" or "name(0" for a call on
# standard input), without resumptions and signals.
syscalls() {
        sed -E -n 's/^[0-9]+ +([a-z0-9_]+)\((0,)?.*/\1(\2/p' "$TRACE" | sed 's/($//; s/(0,$/(0/'
}

# Calls that a program cannot be expected to survive or report (the dynamic loader,
# memory management, signal set-up, exit) or that glibc retries by itself.
skip='^(mmap|mprotect|munmap|brk|madvise|mremap|rt_sigprocmask|rt_sigaction|rt_sigreturn|exit|exit_group|futex|set_robust_list|rseq|prlimit64|arch_prctl|set_tid_address|getrandom|execve|getpid|gettid|close|lseek|clock_gettime|clock_nanosleep|sched_yield|wait4|dup2|fcntl)$'

# A baseline ADD: which calls the program itself makes (from the first read of its
# standard input on, everything before is the dynamic loader's), and how many of each
# name come before that point.
traced_add
expect_ok "baseline ADD under strace"
syscalls | awk '!main && /^read\(0$/ { main = 1 } { sub(/\(0$/, ""); n[$0]++; if (main) m[$0]++ }
        END { for (s in m) print s, n[s] - m[s], m[s] }' | awk -v skip="$skip" '$1 !~ skip' | sort >/run/podnet-test/calls
cni DEL c1 /run/netns/p1 <"$CONF"
expect_ok "baseline DEL"
[ -s /run/podnet-test/calls ] || { fail "no system calls found in the baseline trace"; finish; }
echo "# injecting into: $(awk '{printf "%s(%d) ", $1, $3}' /run/podnet-test/calls)"

# sweep ERRNO WANT-CODE [new-bridge]: every call of every relevant name fails once with
# ERRNO. WANT-CODE is the code the error object must carry ("spec" for any code of the
# specification or podnet-cni(8) other than 999). With new-bridge, every ADD starts
# without the bridge (the path that creates it), otherwise with it in place.
sweep() {
        local errno=$1 want=$2 sys before count n code msg left desc
        while read -r sys before count; do
                for n in $(seq $((before + 1)) $((before + count + 2))); do
                        [ "${3:-}" != new-bridge ] || ip link del cbr0 2>/dev/null
                        traced_add -e trace="$sys" -e inject="$sys:error=$errno:when=$n"
                        if ! grep -q INJECTED "$TRACE"; then
                                # Past the last call: this ADD ran undisturbed.
                                [ "$CNI_RC" -ne 0 ] || cni DEL c1 /run/netns/p1 <"$CONF"
                                break
                        fi
                        desc="$sys #$((n - before)) $errno"
                        if [ "$CNI_RC" -eq 0 ]; then
                                # Tolerated (retried or not needed): it must have worked.
                                if [ -n "$(ip -n p1 -o link show eth0 2>/dev/null)" ]; then
                                        ok "$desc: tolerated, ADD succeeded"
                                else
                                        fail "$desc: ADD succeeded without eth0"
                                fi
                                cni DEL c1 /run/netns/p1 <"$CONF"
                                continue
                        fi
                        read -r code msg < <(jq -r '"\(.code // "") \(.msg // "")"' "$CNI_OUT" 2>/dev/null)
                        left=$(leftovers | tr '\n' ' ')
                        if [ -z "$code" ] || [ -z "$msg" ]; then
                                fail "$desc: no CNI error object on stdout (exit $CNI_RC)${left:+, left behind: $left}"
                                sed 's/^/#   out: /' "$CNI_OUT"; sed 's/^/#   err: /' "$CNI_ERR"
                        elif { [ "$want" = spec ] && ! echo " 1 2 3 4 5 6 7 8 11 100 101 102 103 104 " | grep -q " $code "; } ||
                                { [ "$want" != spec ] && [ "$code" != "$want" ]; }; then
                                fail "$desc: code $code, want $want${left:+, left behind: $left}: $msg"
                        elif [ -n "$left" ]; then
                                fail "$desc: code $code, but left behind: $left($msg)"
                        else
                                ok "$desc: code $code, nothing left: $msg"
                        fi
                        # Whatever the failure left, a normal ADD and DEL must work.
                        cni ADD c1 /run/netns/p1 <"$CONF"
                        if [ "$CNI_RC" -ne 0 ]; then
                                fail "$desc: the next ADD failed: $(cat "$CNI_OUT")"
                                # Clean up so that the next case starts from scratch.
                                ip link del "$(podnet_host c1)" 2>/dev/null
                        fi
                        cni DEL c1 /run/netns/p1 <"$CONF"
                        [ "$CNI_RC" -eq 0 ] || fail "$desc: the DEL after it failed: $(cat "$CNI_OUT")"
                        left=$(leftovers | tr '\n' ' ')
                        [ -z "$left" ] || fail "$desc: the ADD and DEL after it left: $left"
                done
        done </run/podnet-test/calls
}

# The host veth name of attachment (ID, eth0), as the plugin derives it.
podnet_host() {
        ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^pn' | grep -vx "$c0_host" | head -1
}

# Alone on the network: a failed ADD must take its masquerade rule away again.
c0_host="" c0_lease="" c0_index="" want_rules=0
sweep ENOBUFS 11 new-bridge
sweep EIO spec

# Beside a pod that needs the rule: a failed ADD must leave it, and the pod, alone.
cni ADD c0 /run/netns/p0 <"$CONF"
expect_ok "ADD c0"
c0_host=$(host_veths | head -1)
c0_lease=$(leases | head -1)
c0_index=$(ls -A "$DATADIR/podnet-test/.podnet-boot" 2>/dev/null | grep '^attach-' | head -1)
want_rules=$(masq_rules)
is "c0 has its masquerade rule" "$want_rules" 1
grep -E '^(sendmsg|recvfrom) ' /run/podnet-test/calls >/run/podnet-test/calls.net
mv /run/podnet-test/calls.net /run/podnet-test/calls
sweep ENOBUFS 11
is "c0 keeps its lease" "$(leases | tr '\n' ' ')" "$c0_lease "
is "c0 keeps its masquerade rule" "$(masq_rules)" 1
check "c0 keeps its eth0" ip -n p0 link show eth0
cni DEL c0 /run/netns/p0 <"$CONF"
expect_ok "DEL c0"

want_rules=0 c0_host="" c0_lease="" c0_index=""
expect_clean "at the end"
is "no masquerade rule at the end" "$(masq_rules)" 0
ip netns del p1
ip netns del p0
finish
