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

# pn_tool NAME: prints the path of the built program NAME (an ELF file: when libtool left a
# wrapper script, its real binary under .libs/ and LD_LIBRARY_PATH pointing at the
# uninstalled library), or explains what is missing and returns 1.
pn_tool() {
        local f=$pn_build/$1
        if [ ! -x "$f" ]; then
                echo "$1 is not built: $f does not exist. Build first (scripts/build.sh)," \
                        "or point PODNET_BUILD_DIR at the build directory" >&2
                return 1
        fi
        if head -c4 "$f" | grep -q ELF; then
                echo "$f"
                return 0
        fi
        if grep -q 'libtool' "$f" 2>/dev/null && [ -x "$pn_build/.libs/$1" ]; then
                export LD_LIBRARY_PATH=$pn_build/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
                echo "$pn_build/.libs/$1"
                return 0
        fi
        echo "$f is neither an executable ELF file nor a libtool wrapper" >&2
        return 1
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
# the result (or error object) goes to standard output.
pn_cni() {
        CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=$4 CNI_PATH=$6 \
                "$6/$7" <"$5"
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
