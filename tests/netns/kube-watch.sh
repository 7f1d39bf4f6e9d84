#!/bin/bash
# podnet-routes run --kube against the fake API server (tests/kube/fake-apiserver.py) on
# 127.0.0.1 in node1's namespace: the first LIST from the watch cache then a WATCH from its
# resourceVersion, node add/change/delete routed from the events, a dropped watch resumed
# from the last resourceVersion, 410 Gone and an ERROR event each answered by exactly one
# relist, the API down (routes kept, said so, `status` showing it) and back, token
# rotation, a bad token and a bad CA refused with a clear error, kubeconfig variants,
# exec credential plugins and in-cluster settings, the public client API (pn-kube-test),
# and a paginated list of thousands of nodes.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
kube_need jq openssl python3
routes_setup
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-1 > "$TMPDIR/server-token"
echo secret-1 > "$TMPDIR/token"
kube_serve node1 6443 --bookmark 1 || exit 1
for i in 1 2 3; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
kubeconfig "$TMPDIR/kc-files" "$API_URL" "certificate-authority: ca.crt" "tokenFile: token"

n_req() { grep -c "$1" "$TMPDIR/api.log"; }
# what `podnet-routes status` (another process) says of the running agent's node source
st() { pr node1 --no-firewall status "$@" 2>/dev/null; }
src() { st --json | jq -r ".source.$1"; }
src_is() { [ "$(src state)" = "$1" ]; }
src_text_has() { st | grep -q "$1"; }
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
wait_for "status: the node source is watching" src_is watching
is "  kind kube, the server named" "$(src kind) $(src server)" "kube $API_URL"
wait_for "  3 nodes known" eval '[ "$(src nodes)" = 3 ]'
is "  its resourceVersion" "$(src resourceVersion)" "$rv"
is "  one list, no relist" "$(src lists) $(src relists)" "1 0"
is "  the agent runs" "$(src agentRunning)" true
check "  and the text says it" src_text_has "^kube $API_URL: watching since"

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
wait_for "  status says the source is backing off" src_is backoff
err=$(src lastError)
check "  with the last error ($err)" test -n "$err" -a "$err" != null
check "  the text too" src_text_has "^last error: "
is "  still 5 nodes known" "$(src nodes)" 5
kctl node1 up
kctl node1 "node?name=node7&cidr=10.1.7.0/24&ip=192.168.1.17"
PN_WAIT=40 wait_for "API back: a new node is routed" has_route 10.1.7.0/24 192.168.1.17
wait_for "  status: watching again" src_is watching
check "  reconnects counted" test "$(src reconnects)" -ge 1

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
is "a stopped agent leaves no source record" "$(src state)" null

# an agent that died: its record is recognised as stale
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run --no-firewall \
        --kubeconfig "$TMPDIR/kc-files" --interval 3600 2> "$TMPDIR/run2.err" &
pid=$!
wait_for "a second agent: watching" src_is watching
kill -KILL "$pid"
wait "$pid" 2>/dev/null
is "  killed: status says its record is stale" "$(src state) $(src agentRunning) $(src lastState)" \
        "stale false watching"
check "  the text says no agent runs" src_text_has "no agent running (the record of pid $pid is stale"

# the public client API (podnet_kube_*) from a program of its own
T="$top_builddir/tests/netns/pn-kube-test"
kubeconfig "$TMPDIR/kc-api" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-2"
ip netns exec node1 "$T" "$TMPDIR/kc-api" get /api/v1/nodes > "$TMPDIR/get.out" 2> "$TMPDIR/get.err"
is "public API, blocking GET: HTTP 200" "$(head -n1 "$TMPDIR/get.out" | cut -d' ' -f1)" 200
is "  the body is the NodeList, node8 in it" \
        "$(sed 1d "$TMPDIR/get.out" | jq -r '.kind, (.items[].metadata.name | select(. == "node8"))' | tr '\n' ' ')" \
        "NodeList node8 "
ip netns exec node1 "$T" "$TMPDIR/kc-api" watch "/api/v1/nodes?watch=1&resourceVersion=0" 3 \
        > "$TMPDIR/watch.out" 2> "$TMPDIR/watch.err"
is "public API, a WATCH in the caller's poll loop: three events" \
        "$(grep -c '"type":"ADDED"' "$TMPDIR/watch.out")" 3
check "  status 200, ended by the data callback" grep -q "^chunks [0-9]* status 200" "$TMPDIR/watch.out"
kubeconfig "$TMPDIR/kc-api-bad" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: wrong"
ip netns exec node1 "$T" "$TMPDIR/kc-api-bad" get /api/v1/nodes > "$TMPDIR/get.out" 2> "$TMPDIR/get.err"
is "public API, a wrong token: HTTP 401" "$(head -n1 "$TMPDIR/get.out" | cut -d' ' -f1)" 401
check "  and the message says it" grep -q "GET $API_URL/api/v1/nodes: HTTP 401: Unauthorized" "$TMPDIR/get.err"

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

# exec credential plugins: the plugin counts its runs, answers the token in plugin-token
# (once "wrong" while plugin-wrong exists) valid for PLUGIN_TTL seconds (an env entry of
# the kubeconfig), fails while plugin-fail exists
cat > "$TMPDIR/get-token" <<'EOS'
#!/bin/sh
d=$(dirname "$0")
echo run >> "$d/plugin-runs"
[ -e "$d/plugin-fail" ] && { echo "the identity provider said no" >&2; exit 1; }
tok=$(cat "$d/plugin-token")
[ -e "$d/plugin-wrong" ] && { rm -f "$d/plugin-wrong"; tok=wrong; }
exp=$(date -u -d "+$PLUGIN_TTL seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$tok" "$exp"
EOS
chmod +x "$TMPDIR/get-token"
echo secret-2 > "$TMPDIR/plugin-token"
exec_kc() {
        kubeconfig "$1" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" \
                "exec: {command: ./get-token, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never, env: [{name: PLUGIN_TTL, value: \"$2\"}]}"
}
runs() { cat "$TMPDIR/plugin-runs" 2>/dev/null | wc -l; }
exec_kc "$TMPDIR/kc-exec" 3600
: > "$TMPDIR/api.log"
check "an exec credential plugin: sync --dry-run with its token" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-exec"
is "  the plugin ran once" "$(runs)" 1
is "  the server saw its token (no 401)" "$(n_req ' 401')" 0
touch "$TMPDIR/plugin-wrong"
ip netns exec node1 "$T" "$TMPDIR/kc-exec" get /api/v1/nodes > "$TMPDIR/get.out" 2> "$TMPDIR/get.err"
is "a refused plugin token (401): the plugin runs again and the request succeeds" \
        "$(head -n1 "$TMPDIR/get.out" | cut -d' ' -f1) $(runs) $(n_req ' 401')" "200 3 1"
if command -v kubectl >/dev/null; then
        is "kubectl takes the same plugin and kubeconfig (the double is faithful)" \
                "$(HOME=$TMPDIR ip netns exec node1 kubectl --kubeconfig "$TMPDIR/kc-exec" get nodes -o name | grep -c node)" 7
fi
exec_kc "$TMPDIR/kc-exec-short" 2
: > "$TMPDIR/plugin-runs"
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run --no-firewall \
        --kubeconfig "$TMPDIR/kc-exec-short" --interval 3600 -v 2> "$TMPDIR/run3.err" &
pid=$!
wait_for "an agent with a plugin: watching" src_is watching
is "  one run" "$(runs)" 1
sleep 2.5
kctl node1 drop
kctl node1 "node?name=node9&cidr=10.1.9.0/24&ip=192.168.1.19"
PN_WAIT=10 wait_for "  after the credential's expiry a new watch runs the plugin again" \
        has_route 10.1.9.0/24 192.168.1.19
check "  (runs: $(runs))" test "$(runs)" -ge 2
kill -TERM "$pid"
wait "$pid"
touch "$TMPDIR/plugin-fail"
fails_with "a failing plugin: a clear error naming it, with its stderr" \
        "Exec credential plugin $TMPDIR/./get-token exited with status 1: the identity provider said no" \
        pr node1 --no-firewall sync --dry-run --kubeconfig "$TMPDIR/kc-exec"
mkdir -p "$TMPDIR/sa"
cp "$TMPDIR/ca.crt" "$TMPDIR/sa/ca.crt"
echo secret-2 > "$TMPDIR/sa/token"
check "in-cluster: KUBERNETES_SERVICE_HOST/PORT and the service account dir, kube by default" \
        env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=6443 KUBECONFIG= \
        ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never --no-firewall \
        --kube-service-account-dir "$TMPDIR/sa" sync --dry-run
check "--nodes still works beside it" pr node1 --no-firewall sync --dry-run --nodes "$TMPDIR/nodes3.txt"
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run --no-firewall \
        --nodes "$TMPDIR/nodes3.txt" --interval 3600 2> "$TMPDIR/run4.err" &
pid=$!
wait_for "a run with a node file: status says the source is a file, polling" src_is polling
is "  kind file, 3 nodes, no server" "$(src kind) $(src nodes) $(src server)" "file 3 null"
check "  the text says it" src_text_has "^file: polling since"
kill -TERM "$pid"
wait "$pid"
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
