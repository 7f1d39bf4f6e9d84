# shellcheck shell=bash
# Shared by scripts/demo.sh, scripts/lab.sh and bench/*.sh: where the build is, how to find
# the tools, how to call a CNI plugin the way a container runtime does. Source it before
# tests/netns/lib.sh (which moves the caller into its own private namespaces).

pn_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pn_build=${PODNET_BUILD_DIR:-$pn_top/build}
pn_build=$(cd "$pn_build" 2>/dev/null && pwd || echo "$pn_build")

# pn_need_root NAME: a clear message rather than a silent skip, then 77.
pn_need_root() {
        if [ "$(id -u)" != 0 ]; then
                echo "$1: must run as root (it builds private network namespaces of its own;" \
                        "nothing on this machine is touched)" >&2
                exit 77
        fi
}

# pn_tool NAME VAR: sets VAR to the path of the built program NAME (when libtool left a
# wrapper script, its real binary under .libs/, and LD_LIBRARY_PATH pointing at the
# uninstalled library: a wrapper's start-up would distort timings), or explains what is
# missing and returns 1.
pn_tool() {
        local f=$pn_build/$1
        if [ ! -x "$f" ]; then
                echo "$1 is not built: $f does not exist. Build first (scripts/build.sh)," \
                        "or point PODNET_BUILD_DIR at the build directory" >&2
                return 1
        fi
        if ! head -c4 "$f" | grep -q ELF && grep -q 'libtool' "$f" 2>/dev/null &&
                [ -x "$pn_build/.libs/$1" ]; then
                case ":${LD_LIBRARY_PATH:-}:" in
                *":$pn_build/.libs:"*) ;;
                *) export LD_LIBRARY_PATH=$pn_build/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ;;
                esac
                f=$pn_build/.libs/$1
        fi
        printf -v "$2" '%s' "$f"
}

# pn_plugin_dir DIR PATH...: a CNI binary directory holding the given programs (symlinks),
# like /opt/cni/bin on a node.
pn_plugin_dir() {
        local dir=$1 p
        shift
        mkdir -p "$dir"
        for p in "$@"; do
                ln -sf "$p" "$dir/$(basename "$p")"
        done
}

# pn_cni COMMAND CONTAINERID NETNS IFNAME CONFFILE PLUGINDIR TYPE: runs the plugin as a
# runtime does (CNI_* environment, configuration on stdin, CNI_PATH = its directory);
# the result (or error object) goes to standard output. With PN_IN_NS set, the plugin runs
# in that namespace (`ip netns exec`), as on that node.
pn_cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=$4 CNI_PATH=$6 \
                ${PN_IN_NS:+ip netns exec "$PN_IN_NS"} "$6/$7" <"$5"
}

# pn_cni_list COMMAND CONTAINERID NETNS IFNAME CONFLIST PLUGINDIR [TYPE]: runs the plugins of
# a .conflist as a runtime does (in order, each with the previous result as prevResult; DEL
# in reverse order) and prints the last result. TYPE replaces the first plugin's "type" (the
# same network through the reference plugins).
pn_cni_list() {
        local k n order conf prev=null res=
        n=$(jq '.plugins | length' "$5") || return 1
        order=$(seq 0 $((n - 1)))
        [ "$1" != DEL ] || order=$(seq $((n - 1)) -1 0)
        for k in $order; do
                conf=$(mktemp)
                jq --argjson k "$k" --arg type "${7:-}" --argjson prev "$prev" \
                        '.plugins[$k] + {name: .name, cniVersion: .cniVersion}
                         + (if $type != "" and $k == 0 then {type: $type} else {} end)
                         + (if $prev != null then {prevResult: $prev} else {} end)' \
                        "$5" >"$conf"
                if ! res=$(pn_cni "$1" "$2" "$3" "$4" "$conf" "$6" "$(jq -r .type "$conf")"); then
                        rm -f "$conf"
                        echo "$res"
                        return 1
                fi
                rm -f "$conf"
                [ "$1" != ADD ] || prev=$res
        done
        echo "$res"
}

# pn_matrix EXPECT "SOURCES" "DESTINATIONS": pings (ping -c1 -W1, all at once) from each
# source's namespace pn_from[SRC] to each destination's address pn_addr[DST], and prints a
# table. EXPECT SRC DST prints "yes" or "no". Cells: ok (reached, expected), no (not
# reached, expected), FAIL (expected but not reached), UNEXPECTED (reached, not expected).
# Returns the number of FAIL and UNEXPECTED cells.
pn_matrix() {
        local expect=$1 s d dir want cell bad=0
        dir=$(mktemp -d)
        for s in $2; do
                for d in $3; do
                        [ "$s" != "$d" ] || continue
                        (ip netns exec "${pn_from[$s]}" ping -c1 -W1 -q "${pn_addr[$d]}" \
                                >/dev/null 2>&1 && touch "$dir/$s.$d") &
                done
        done
        wait
        printf '  %-8s' "from\\to"
        for d in $3; do printf '%-13s' "$d"; done
        printf '\n  %-8s' ""
        for d in $3; do printf '%-13s' "${pn_addr[$d]}"; done
        echo
        for s in $2; do
                printf '  %-8s' "$s"
                for d in $3; do
                        if [ "$s" = "$d" ]; then
                                cell=-
                        else
                                want=$("$expect" "$s" "$d")
                                if [ -e "$dir/$s.$d" ]; then
                                        cell=ok
                                        [ "$want" = yes ] || cell=UNEXPECTED
                                else
                                        cell=no
                                        [ "$want" = no ] || cell=FAIL
                                fi
                        fi
                        case $cell in FAIL | UNEXPECTED) bad=$((bad + 1)) ;; esac
                        printf '%-13s' "$cell"
                done
                echo
        done
        rm -rf "$dir"
        return $((bad > 255 ? 255 : bad))
}

# pn_kill_jobs: ends the background jobs this shell started (by PID) and waits for them.
pn_kill_jobs() {
        local pids
        pids=$(jobs -p)
        if [ -n "$pids" ]; then
                # shellcheck disable=SC2086
                kill $pids 2>/dev/null
                wait 2>/dev/null
        fi
        return 0
}

# pn_on_exit FUNCTION: runs FUNCTION when the script ends, also on failure or interruption.
pn_on_exit() {
        # shellcheck disable=SC2064
        trap "$1" EXIT
        trap 'exit 130' INT TERM
}

# pn_bench_node STATE: for bench/routes-*.sh, inside tests/netns/lib.sh's private
# namespaces: makes STATE (with an empty STATE/report), removed at exit, and the node's
# uplink, a veth with 192.168.0.1/16 whose peer stands for the switch, so that every peer
# 192.168.x.y is on-link, as on one L2 segment.
pn_bench_node() {
        pn_bench_state=$1
        mkdir -p "$pn_bench_state"
        pn_bench_cleanup() {
                ip link del uplink 2>/dev/null
                rm -rf "$pn_bench_state"
        }
        pn_on_exit pn_bench_cleanup
        : >"$pn_bench_state/report"
        ip link add uplink type veth peer name switch
        ip addr add 192.168.0.1/16 dev uplink
        ip link set switch up
        ip link set uplink up
}
