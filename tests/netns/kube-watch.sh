#!/bin/bash
# podnet-routes run --kube against the fake API server (tests/kube/fake-apiserver.py) on
# 127.0.0.1 in node1's namespace: the first LIST from the watch cache then a WATCH from its
# resourceVersion, node add/change/delete routed from the events, a dropped watch resumed
# from the last resourceVersion, 410 Gone and an ERROR event each answered by exactly one
# relist, the API down (routes kept, said so) and back, token rotation, a bad token and a
# bad CA refused with a clear error, kubeconfig variants and in-cluster settings, and a
# paginated list of thousands of nodes.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq not found"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl not found"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
routes_setup
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-1 > "$TMPDIR/server-token"
echo secret-1 > "$TMPDIR/token"
kube_serve node1 6443 --bookmark 1 || exit 1
for i in 1 2 3; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
kubeconfig "$TMPDIR/kc-files" "$API_URL" "certificate-authority: ca.crt" "tokenFile: token"

n_req() { grep -c "$1" "$TMPDIR/api.log"; }
no_route() { ! has_route "$@"; }
PN_WAIT=5

ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run --no-firewall \
        --kubeconfig "$TMPDIR/kc-files" --interval 3600 -v \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "the listed nodes are routed: node2" has_route 10.1.2.0/24 192.168.1.12
wait_for "  and node3" has_route 10.1.3.0/24 192.168.1.13
is "one LIST" "$(n_req 'GET /api/v1/nodes?limit')" 1
check "  served from the watch cache (resourceVersion=0, NotOlderThan)" \
        grep -q 'GET /api/v1/nodes?limit=500&resourceVersion=0&resourceVersionMatch=NotOlderThan 200' \
        "$TMPDIR/api.log"
rv=$(ip netns exec node1 python3 "$FAKE_API" ctl "$API_URL" stats | jq .rv)
check "a WATCH from the list's resourceVersion with bookmarks and a server timeout" \
        grep -Eq "watch=1&allowWatchBookmarks=true&resourceVersion=$rv&timeoutSeconds=[0-9]+ 200" \
        "$TMPDIR/api.log"

kctl node1 "node?name=node4&cidr=10.1.4.0/24&ip=192.168.1.14"
wait_for "an ADDED node is routed" has_route 10.1.4.0/24 192.168.1.14
kctl node1 "node?name=node3&cidr=10.1.33.0/24&ip=192.168.1.13"
wait_for "a MODIFIED node's new pod CIDR is routed" has_route 10.1.33.0/24 192.168.1.13
wait_for "  and its old one removed" no_route 10.1.3.0/24 192.168.1.13
kctl node1 "delete?name=node4"
wait_for "a DELETED node's route is removed" no_route 10.1.4.0/24 192.168.1.14
lists=$(n_req 'GET /api/v1/nodes?limit')
is "no LIST for the events" "$lists" 1

# a dropped watch resumes from the last resourceVersion, no relist
rv=$(ip netns exec node1 python3 "$FAKE_API" ctl "$API_URL" stats | jq .rv)
kctl node1 drop
sleep 0.3
kctl node1 "node?name=node5&cidr=10.1.5.0/24&ip=192.168.1.15"
wait_for "after a dropped watch, a new node is routed" has_route 10.1.5.0/24 192.168.1.15
check "  the watch resumed from resourceVersion $rv (or a later bookmark)" \
        awk -v rv="$rv" 'index($0, "watch=1") && match($0, /resourceVersion=[0-9]+/) {
                v = substr($0, RSTART + 16, RLENGTH - 16) + 0; if (v >= rv) f = 1 } END { exit !f }' \
        "$TMPDIR/api.log"
is "  and listed nothing again" "$(n_req 'GET /api/v1/nodes?limit')" 1

# 410 Gone: compacted history, the watch dropped: exactly one relist
kctl node1 compact
sleep 1.5
is "410 Gone: exactly one relist" "$(n_req 'GET /api/v1/nodes?limit')" 2
check "  the server answered a WATCH with 410" grep -q 'watch=1.* 410' "$TMPDIR/api.log"
kctl node1 "node?name=node6&cidr=10.1.6.0/24&ip=192.168.1.16"
wait_for "  and the new watch routes a new node" has_route 10.1.6.0/24 192.168.1.16

# an ERROR event: one relist
kctl node1 error
sleep 1.5
is "ERROR event: exactly one relist" "$(n_req 'GET /api/v1/nodes?limit')" 3

# the API down: routes stay, the agent says so; back: a new node is routed
kctl node1 down
sleep 2
is "API down: node2's route kept" "$(ip -n node1 route show 10.1.2.0/24 proto 44 | wc -l)" 1
is "  all routes kept" "$(n_routes44 node1)" 4
check "  the agent says the API does not answer and that it keeps the nodes" \
        grep -q "retrying in .*keeping the 5 nodes known" "$TMPDIR/run.err"
kctl node1 up
kctl node1 "node?name=node7&cidr=10.1.7.0/24&ip=192.168.1.17"
PN_WAIT=40 wait_for "API back: a new node is routed" has_route 10.1.7.0/24 192.168.1.17

# token rotation: the server accepts only the new token; the client's file is rewritten
echo secret-2 > "$TMPDIR/server-token"
echo secret-2 > "$TMPDIR/token.new"
mv "$TMPDIR/token.new" "$TMPDIR/token"
kctl node1 drop
kctl node1 "node?name=node8&cidr=10.1.8.0/24&ip=192.168.1.18"
PN_WAIT=10 wait_for "a rotated token file: its new token is used" has_route 10.1.8.0/24 192.168.1.18
check "  and logged" grep -q "API token .* changed" "$TMPDIR/run.err"

kill -TERM "$pid"
wait "$pid"
is "SIGTERM: exit status 0" "$?" 0
sed 's/^/# run: /' "$TMPDIR/run.err" | tail -n 20

# one-shot commands and configuration variants
cat > "$TMPDIR/kc-inline" <<EOK
apiVersion: v1
kind: Config
current-context: inline
clusters:
- name: c
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 < "$TMPDIR/ca.crt")
contexts:
- name: inline
  context: {cluster: c, user: u}
users:
- name: u
  user:
    token: secret-2
EOK
check "kubeconfig with inline CA data and token: sync --dry-run" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-inline"
kubeconfig "$TMPDIR/kc-bad-token" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: wrong"
fails_with "a wrong token: a clear error" "HTTP 401: Unauthorized" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-bad-token"
kubeconfig "$TMPDIR/kc-bad-ca" "$API_URL" "certificate-authority: $TMPDIR/other-ca.crt" "token: secret-2"
fails_with "a CA that did not sign the server's certificate: a clear error" "certificate" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-bad-ca"
kubeconfig "$TMPDIR/kc-exec" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" \
        "exec: {command: get-token, apiVersion: client.authentication.k8s.io/v1}"
fails_with "an exec credential plugin: refused with a reason" "exec credential plugin" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-exec"
mkdir -p "$TMPDIR/sa"
cp "$TMPDIR/ca.crt" "$TMPDIR/sa/ca.crt"
echo secret-2 > "$TMPDIR/sa/token"
check "in-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account dir, kube by default" \
        env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 KUBECONFIG= \
        ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never --no-firewall \
        --kube-service-account-dir "$TMPDIR/sa" sync --dry-run
check "--nodes still works beside it" pr node1 --no-firewall sync --dry-run --nodes "$TMPDIR/nodes3.txt"
kill "$API_PID"
wait "$API_PID" 2>/dev/null

# thousands of nodes, paginated: 3,000 in pages of 500
: > "$TMPDIR/api.log"
kube_serve node1 6444 --gen 3000 || exit 1
kubeconfig "$TMPDIR/kc-big" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-2"
pr node1 --no-firewall sync --dry-run --json --kubeconfig "$TMPDIR/kc-big" > "$TMPDIR/big.json" 2> "$TMPDIR/big.err"
is "3,000 nodes: six pages" "$(n_req 'GET /api/v1/nodes?limit=500')" 6
is "  five of them with a continue token" "$(n_req 'continue=')" 5
check "  the dry run saw them" grep -q "node2999" "$TMPDIR/big.json"
# the double checked with a real client: kubectl pages through the same list
if command -v kubectl >/dev/null; then
        is "kubectl reads the fake server's paginated list (the double is faithful)" \
                "$(HOME=$TMPDIR ip netns exec node1 kubectl --kubeconfig "$TMPDIR/kc-big" \
                get nodes --chunk-size=700 -o name | wc -l)" 3000
fi
kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
