#!/bin/bash
# contrib/: every manifest accepted by `kubectl apply --dry-run=client` against a small
# discovery server of our own (tests/contrib/discovery-server.py, in this test's network
# namespace), a wrong kind and broken YAML refused by the same command; what a dry run
# does not check (tests/contrib/check-manifests.py: references, rights, placement,
# probes, podnet-routes options); the init container's CNI installer run for real over a
# podnet-cni that is executing; contrib/Containerfile parsed and its packages checked
# against what the built programs load (tests/contrib/check-containerfile.py).
#
# kubectl checks objects against the server's OpenAPI schemas unless --validate=false;
# the schemas of the real API cannot be served here (no API server, no copy of its
# OpenAPI documents), so this test passes --validate=false and checks what matters to
# podnet itself in check-manifests.py.
command -v kubectl >/dev/null 2>&1 ||
        { echo "SKIP: kubectl not found (scripts/deps.sh installs kubernetes-client)"; exit 77; }
# needed_pkgs: the Debian packages of the shared libraries podnet-routes, libpodnet and
# podnet-cni load. Before the namespaces are made: inside, /var/lib (dpkg's database)
# is a fresh tmpfs.
needed_pkgs() {
        local f so p
        for f in "$top_builddir/.libs/podnet-routes" "$top_builddir"/.libs/libpodnet.so.0 \
                "$top_builddir/podnet-cni"; do
                readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
        done | sort -u | while read -r so; do
                case $so in libc.so.* | ld-linux* | libpodnet.so.*) continue ;; esac
                p=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
                p=$(readlink -f "$p")
                # (usrmerge: dpkg may know the file under /lib rather than /usr/lib)
                dpkg -S "$p" 2>/dev/null | sed 's/:.*//' | grep . ||
                        dpkg -S "${p#/usr}" 2>/dev/null | sed 's/:.*//' | grep . ||
                        echo "unknown:$so"
        done | sort -u
}
[ -n "${PODNET_PRIVATE_NS:-}" ] || PODNET_CONTRIB_PKGS=$(needed_pkgs)
export PODNET_CONTRIB_PKGS
. "$top_srcdir/tests/netns/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
contrib=$top_srcdir/contrib
tdir=$top_srcdir/tests/contrib

# tap_from CMD...: the command's "ok - "/"not ok - " lines counted as this test's
tap_from() {
        local l
        while IFS= read -r l; do
                case $l in
                "ok - "*) ok "${l#ok - }" ;;
                "not ok - "*) fail "${l#not ok - }" ;;
                *) echo "$l" ;;
                esac
        done < <("$@" 2>&1)
}

python3 "$tdir/discovery-server.py" "$TMPDIR/port" "$TMPDIR/requests" &
srv=$!
for i in $(seq 1 200); do [ -s "$TMPDIR/port" ] && break; sleep 0.05; done
port=$(cat "$TMPDIR/port" 2>/dev/null)
check "discovery server up on 127.0.0.1:$port" test -n "$port"
cat > "$TMPDIR/kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "http://127.0.0.1:$port"}}]
users: [{name: test, user: {token: not-checked}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
EOK
export KUBECONFIG=$TMPDIR/kubeconfig
dry() { kubectl apply --dry-run=client --validate=false "$@"; }

manifests=("$contrib"/*.yaml)
check "manifests found" test "${#manifests[@]}" -ge 2
for f in "${manifests[@]}"; do
        b=$(basename "$f")
        n=$(grep -c '^kind:' "$f")
        dry -f "$f" > "$TMPDIR/out" 2>&1
        is "$b: kubectl apply --dry-run=client accepts it" "$?" 0
        is "$b: all $n objects created (dry run)" "$(grep -c 'created (dry run)$' "$TMPDIR/out")" "$n"
        grep -q 'created (dry run)$' "$TMPDIR/out" || sed 's/^/#   /' "$TMPDIR/out"
        dry -o json -f "$f" > "$TMPDIR/$b.json" 2> "$TMPDIR/out"
done
check "the dry runs only read (GET) from the server" sh -c "! grep -v '^GET ' '$TMPDIR/requests'"
check "kubectl asked the server's discovery" grep -q '^GET /apis/apps/v1' "$TMPDIR/requests"

# the same command refuses what a cluster would refuse
sed 's/^kind: DaemonSet$/kind: DaemonSett/' "$contrib/podnet.yaml" > "$TMPDIR/wrong-kind.yaml"
fails_with "a kind the API does not have is refused" 'no matches for kind "DaemonSett"' \
        dry -f "$TMPDIR/wrong-kind.yaml"
sed 's/^  namespace: kube-system$/ namespace: kube-system/' "$contrib/podnet.yaml" > "$TMPDIR/bad.yaml"
check_fails "broken YAML is refused" dry -f "$TMPDIR/bad.yaml"

"$PODNET_ROUTES" --help > "$TMPDIR/help"
# the API source (--kube) and allocate --watch with its Lease come with other branches of
# issue 10: listed while this build lacks them
tap_from python3 "$tdir/check-manifests.py" "$TMPDIR/help" \
        --kube,--watch,--lease-namespace,--lease-name,--lease-identity "$TMPDIR"/*.yaml.json

# the init container's installer, run as written over a podnet-cni being executed:
# copying over it would fail ("Text file busy"), a rename replaces it
jq -r '.items[] | select(.kind == "DaemonSet") | .spec.template.spec.initContainers[0].command[2]' \
        "$TMPDIR/podnet.yaml.json" > "$TMPDIR/install.sh"
mkdir -p "$TMPDIR/host/opt/cni/bin" "$TMPDIR/image"
printf '#!/bin/sh\necho new podnet-cni\n' > "$TMPDIR/image/podnet-cni"
cp /bin/sleep "$TMPDIR/host/opt/cni/bin/podnet-cni"
"$TMPDIR/host/opt/cni/bin/podnet-cni" 30 &
old=$!
sleep 0.2
check_fails "cp over the running binary fails (why the installer renames)" \
        cp "$TMPDIR/image/podnet-cni" "$TMPDIR/host/opt/cni/bin/podnet-cni"
sed -e "s|/host/opt/cni/bin|$TMPDIR/host/opt/cni/bin|g" \
        -e "s|/usr/lib/podnet/cni/podnet-cni|$TMPDIR/image/podnet-cni|g" "$TMPDIR/install.sh" \
        > "$TMPDIR/install-here.sh"
check "the installer succeeds" sh "$TMPDIR/install-here.sh"
is "the new podnet-cni is in place and runs" "$("$TMPDIR/host/opt/cni/bin/podnet-cni")" \
        "new podnet-cni"
is "mode 0755" "$(stat -c %a "$TMPDIR/host/opt/cni/bin/podnet-cni")" 755
is "no temporary file left" "$(ls -A "$TMPDIR/host/opt/cni/bin")" podnet-cni
check "the old binary kept running" kill -0 "$old"
kill "$old"
wait "$old" 2>/dev/null

pkgs=${PODNET_CONTRIB_PKGS:-}
# the Containerfile: structure, COPY sources, and the packages of what the programs load
check "the libraries the programs load map to packages ($(echo $pkgs))" \
        sh -c "[ -n '$pkgs' ] && ! echo '$pkgs' | grep -q unknown:"
# shellcheck disable=SC2086
tap_from python3 "$tdir/check-containerfile.py" "$contrib/Containerfile" "$top_srcdir" \
        "$top_srcdir/scripts/deps.sh" $pkgs

kill "$srv"
wait "$srv" 2>/dev/null
finish
