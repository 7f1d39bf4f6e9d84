#!/bin/bash
# The Kubernetes client and node source against an API server that misbehaves in ways a
# real one (or a proxy in front of it) does, with the fake API server
# (tests/kube/fake-apiserver.py) on 127.0.0.1 in node1's namespace: watches that end at
# once with an empty answer (an API server shutting down) are started again with a
# backoff, not in a loop that hammers the server and stops the agent's own loop; an answer
# whose body breaks off is an error, not a success with half a body.
. "$top_srcdir/tests/netns/lib.sh"
. "$top_srcdir/tests/netns/routes-lib.sh"
. "$top_srcdir/tests/kube/kube-lib.sh"
kube_need jq openssl python3 curl
routes_setup
kube_certs || { echo "SKIP: openssl could not make certificates"; exit 77; }
echo secret-1 > "$TMPDIR/server-token"
kube_serve node1 6443 || exit 1
for i in 1 2; do kctl node1 "node?name=node$i&cidr=10.1.$i.0/24&ip=192.168.1.1$i"; done
kubeconfig "$TMPDIR/kc" "$API_URL" "certificate-authority: $TMPDIR/ca.crt" "token: secret-1"
n_watch() { grep -c 'GET /api/v1/nodes?watch=1' "$TMPDIR/api.log"; }
PN_WAIT=10

ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --no-firewall --kubeconfig "$TMPDIR/kc" --interval 3600 -v \
        > "$TMPDIR/run.out" 2> "$TMPDIR/run.err" &
pid=$!
wait_for "the listed node is routed" has_route 10.1.2.0/24 192.168.1.12

# --- watches that end at once --------------------------------------------------------
kctl node1 "watchclose?on=1"
kctl node1 drop
before=$(n_watch)
sleep 3
n=$(($(n_watch) - before))
echo "# $n watches in 3 s while each one ended at once"
check "watches ending at once: started again with a backoff (at most 10 in 3 s, got $n)" \
        test "$n" -le 10
check "  the agent says why" grep -q "ended the watch at once, with no event; retrying in" "$TMPDIR/run.err"
check "  the agent still runs" kill -0 "$pid"
check "  routes kept" has_route 10.1.2.0/24 192.168.1.12
kctl node1 "watchclose?on=0"
kctl node1 "node?name=node3&cidr=10.1.3.0/24&ip=192.168.1.13"
wait_for "  a normal watch again: a node added then is routed" has_route 10.1.3.0/24 192.168.1.13
kill "$pid"
wait "$pid" 2>/dev/null

# --- an answer that breaks off ---------------------------------------------------------
T="$top_builddir/tests/netns/pn-kube-test"
kctl node1 "truncate?path=/api/v1/nodes/node2"
ip netns exec node1 "$T" "$TMPDIR/kc" get /api/v1/nodes/node2 > "$TMPDIR/get.out" 2> "$TMPDIR/get.err"
rc=$?
check "the server broke the answer off halfway" grep -q "truncated after" "$TMPDIR/api.log"
is "  podnet_kube_request() fails, no 200 with half a body" "$rc $(head -c 4 "$TMPDIR/get.out")" "1 "
check "  and says the body broke off" grep -q "broke off" "$TMPDIR/get.err"
sed 's/^/# /' "$TMPDIR/get.err"
ip netns exec node1 "$T" "$TMPDIR/kc" get /api/v1/nodes/node2 > "$TMPDIR/get.out" 2> "$TMPDIR/get.err"
is "  the next GET is whole" "$(sed 1d "$TMPDIR/get.out" | jq -r .metadata.name)" node2

# --- a quiet cluster: the watch is up from its answer's headers, not from its first event -----
# (no --bookmark: an API server sends a bookmark about once a minute, and no event may come
# for much longer; /healthz must not fail a watch that is established)
addr=127.0.0.1:9633
# get PATH: "STATUS BODY"
get() { ip netns exec node1 curl -s -m 5 -o "$TMPDIR/body" -w '%{http_code}' "http://$addr$1" && echo " $(cat "$TMPDIR/body")"; }
healthy() { [ "$(get /healthz)" = "200 ok" ]; }
ip netns exec node1 "$PODNET_ROUTES" --node-name node1 --no-cni-conf --overlay never run \
        --no-firewall --kubeconfig "$TMPDIR/kc" --interval 3600 --metrics-addr "$addr" \
        --healthz-source-timeout 2 > "$TMPDIR/run3.out" 2> "$TMPDIR/run3.err" &
pid=$!
wait_for "a quiet cluster: /healthz 200 once listed" healthy
sleep 4
get /healthz > "$TMPDIR/hz"
is "  still 200 4 s later, with no event and no bookmark (timeout 2 s)" "$(cat "$TMPDIR/hz")" "200 ok"
get /metrics > /dev/null
is "  podnet_node_source_up 1" "$(awk '$1 == "podnet_node_source_up" { print $2 }' "$TMPDIR/body")" 1
kctl node1 compact
sleep 4
get /healthz > "$TMPDIR/hz"
is "  a relist (410): 200 4 s after it, with no event and no bookmark" "$(cat "$TMPDIR/hz")" "200 ok"
kill "$pid"
wait "$pid" 2>/dev/null

kill "$API_PID"
wait "$API_PID" 2>/dev/null
finish
