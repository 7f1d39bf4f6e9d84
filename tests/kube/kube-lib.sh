# Sourced by tests/netns/kube-*.sh and bench/kube-bench.sh after lib.sh: a CA and a server
# certificate for 127.0.0.1 made with openssl in $TMPDIR, the fake API server
# (tests/kube/fake-apiserver.py) started in a network namespace, kubeconfig files.

FAKE_API="$top_srcdir/tests/kube/fake-apiserver.py"

# kube_need TOOL...: skips the test (77) unless every TOOL is on PATH
kube_need() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null || { echo "SKIP: $c not found"; exit 77; }
        done
}

# kube_certs: $TMPDIR/ca.crt, server.crt/key (for IP 127.0.0.1); other-ca.crt (a CA that
# did not sign it)
kube_certs() {
        local d=$TMPDIR
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
                -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
                -keyout "$d/other-ca.key" -out "$d/other-ca.crt" 2>/dev/null || return 1
        openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
                -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/san.ext"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
                -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
}

# kube_serve NETNS PORT ARGS...: starts the server in NETNS ("-": this one; token $TMPDIR/server-token,
# log $TMPDIR/api.log); waits until it listens; $API_PID is its pid.
kube_serve() {
        local ns=$1 port=$2 i
        shift 2
        rm -f "$TMPDIR/api.ready"
        local in=(ip netns exec "$ns")
        [ "$ns" = - ] && in=()
        "${in[@]}" python3 "$FAKE_API" serve --port "$port" --cert "$TMPDIR/server.crt" \
                --key "$TMPDIR/server.key" --token-file "$TMPDIR/server-token" \
                --log "$TMPDIR/api.log" --ready "$TMPDIR/api.ready" "$@" \
                2> "$TMPDIR/api.err" &
        API_PID=$!
        API_URL=https://127.0.0.1:$port
        for i in $(seq 1 ${KUBE_START_WAIT:-200}); do
                [ -e "$TMPDIR/api.ready" ] && return 0
                sleep 0.05
        done
        echo "# the fake API server did not start:"; sed 's/^/# /' "$TMPDIR/api.err"
        return 1
}

# kctl NETNS COMMAND [JSON]: a control command to the server
kctl() {
        ip netns exec "$1" python3 "$FAKE_API" ctl "$API_URL" "$2" ${3:+"$3"} >/dev/null
}

# kubeconfig FILE SERVER CA-LINE USER-LINES...: writes a kubeconfig
kubeconfig() {
        local f=$1 server=$2 ca=$3
        shift 3
        {
                printf 'apiVersion: v1\nkind: Config\ncurrent-context: test\n'
                printf 'clusters:\n- name: c1\n  cluster:\n    server: %s\n    %s\n' "$server" "$ca"
                printf 'contexts:\n- name: other\n  context: {cluster: none, user: none}\n'
                printf -- '- name: test\n  context:\n    cluster: c1\n    user: u1\n'
                printf 'users:\n- name: u1\n  user:\n'
                for l in "$@"; do printf '    %s\n' "$l"; done
        } > "$f"
}
