#!/usr/bin/env python3
# A small Kubernetes API server double for podnet's tests and benchmarks: HTTPS (a CA and
# certificate the test makes), bearer-token checks (the token file is re-read on every
# request, so a test rotates it by rewriting the file), Node LIST with limit/continue and
# resourceVersion semantics, WATCH with ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events and
# 410 Gone for a compacted resourceVersion, as https://kubernetes.io/docs/reference/
# using-api/api-concepts/ describes them. Every request is appended to a log the test
# reads. Controlled through /_ctl/* (no token): apply, delete, drop, compact, error,
# down, up, watchclose, truncate, stats. The test runs it on 127.0.0.1 inside its own
# network namespace.
#
#   fake-apiserver.py serve --port P --cert C --key K --token-file T --log L
#                           [--nodes FILE | --gen N] [--pad BYTES] [--bookmark SECONDS]
#   fake-apiserver.py ctl https://127.0.0.1:P COMMAND [JSON]
import argparse
import base64
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request


class State:
    def __init__(self):
        self.lock = threading.Condition()
        self.rv = 100
        self.nodes = {}  # name -> object
        self.events = []  # (rv, type, object)
        self.compacted = 0  # watches from a resourceVersion below this get 410
        self.down = False
        self.generation = 0  # bumped by drop: open watches end
        self.error_gen = 0  # bumped by error: open watches get an ERROR event
        self.stats = {"list": 0, "watch": 0, "bytes": 0}
        self.watch_close = False  # watches end at once, empty (an API server shutting down)
        self.truncate = set()  # paths whose next JSON answer breaks off halfway

    def bump(self):
        self.rv += 1
        return self.rv

    def put(self, obj, etype=None):
        with self.lock:
            name = obj["metadata"]["name"]
            etype = etype or ("MODIFIED" if name in self.nodes else "ADDED")
            rv = self.bump()
            obj["metadata"]["resourceVersion"] = str(rv)
            self.nodes[name] = obj
            self.events.append((rv, etype, obj))
            self.lock.notify_all()

    def delete(self, name):
        with self.lock:
            obj = self.nodes.pop(name, None)
            if obj is None:
                return False
            rv = self.bump()
            obj = json.loads(json.dumps(obj))
            obj["metadata"]["resourceVersion"] = str(rv)
            self.events.append((rv, "DELETED", obj))
            self.lock.notify_all()
            return True


S = State()
ARGS = None


def make_node(name, cidr, ip, pad=0):
    n = {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "uid": "uid-" + name, "resourceVersion": "0",
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {},
        "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                 {"type": "Hostname", "address": name}],
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status"}]},
    }
    if cidr:
        n["spec"]["podCIDR"] = cidr
        n["spec"]["podCIDRs"] = [cidr]
    if pad:
        # images and managedFields make up most of a real Node's 10 KB: one shared string
        # stands for them (the server keeps 65,000 Nodes in memory)
        n["metadata"]["annotations"]["example.com/padding"] = PAD.setdefault(pad, "x" * pad)
    return n


PAD = {}


def gen_nodes(count, pad):
    # node i+1: pod CIDR the i-th /26 of 10.0.0.0/8, address 172.16.a.(b+2) (a, b = i / 250)
    for i in range(count):
        a, b = divmod(i, 250)
        c = i * 64
        S.nodes["node%d" % (i + 1)] = make_node("node%d" % (i + 1),
                                                "10.%d.%d.%d/26" % (c >> 16 & 255, c >> 8 & 255, c & 255),
                                                "172.%d.%d.%d" % (16 + a // 256, a % 256, b + 2), pad)
    for o in S.nodes.values():
        o["metadata"]["resourceVersion"] = str(S.rv)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": ["get", "list", "watch", "patch"], "shortNames": ["no"]}]},
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # as Go's net/http does: a reply's headers and body are two writes, which Nagle's
    # algorithm and the client's delayed ACK would hold back 40 ms on a kept-alive connection
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def record(self, note):
        with open(ARGS.log, "a") as f:
            f.write("%.3f %s %s %s\n" % (time.time(), self.command, self.path, note))

    def send_json(self, code, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        path = urllib.parse.urlsplit(self.path).path
        if path in S.truncate:  # the connection breaks halfway through the body
            S.truncate.discard(path)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.record("truncated after %d of %d bytes" % (len(body) // 2, len(body)))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)
        S.stats["bytes"] += len(body)

    def authorized(self):
        try:
            with open(ARGS.token_file) as f:
                want = f.read().strip()
        except OSError:
            want = None
        got = self.headers.get("Authorization", "")
        return (want and got == "Bearer " + want) or alloc_user(self) is not None

    def do_POST(self):
        self.do_GET()

    def do_PATCH(self):  # (Node PATCH, allocator additions below)
        self.do_GET()

    def do_PUT(self):  # (Lease PUT)
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path.startswith("/_ctl/"):
            return self.control(url.path[6:], q)
        if S.down:
            self.record("down")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if not self.authorized():
            self.record("401")
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if url.path in DISCOVERY:  # what kubectl asks before a `get nodes`
            self.record("200")
            return self.send_json(200, DISCOVERY[url.path])
        if alloc_dispatch(self, url):
            return
        if url.path != "/api/v1/nodes":
            self.record("404")
            return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))
        if q.get("watch") in ("1", "true"):
            return self.watch(q)
        return self.list(q)

    def list(self, q):
        limit = int(q.get("limit", "0") or 0)
        cont = q.get("continue")
        with S.lock:
            S.stats["list"] += 1
            if cont:
                c = json.loads(base64.urlsafe_b64decode(cont.encode()))
                if c["rv"] < S.compacted:
                    self.record("410")
                    return self.send_json(410, status(410, "Expired", "The provided continue parameter is too old"))
                list_rv, start = c["rv"], c["start"]
            else:
                list_rv, start = S.rv, ""
            names = sorted(n for n in S.nodes if n > start)
            items = [S.nodes[n] for n in (names[:limit] if limit else names)]
            more = limit and len(names) > limit
        meta = {"resourceVersion": str(list_rv)}
        if more:
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"rv": list_rv, "start": items[-1]["metadata"]["name"]}).encode()).decode()
        self.record("200 items=%d" % len(items))
        # written item by item, as the API server streams a big list
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        head = '{"kind":"NodeList","apiVersion":"v1","metadata":%s,"items":[' % json.dumps(meta)
        buf = [head]
        size = len(head)
        for i, it in enumerate(items):
            s = ("," if i else "") + json.dumps(it, separators=(",", ":"))
            buf.append(s)
            size += len(s)
            if size > 65536:
                self.chunk("".join(buf).encode())
                buf, size = [], 0
        buf.append("]}")
        self.chunk("".join(buf).encode())
        self.chunk(b"")

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        S.stats["bytes"] += len(data)

    def watch(self, q):
        rv = int(q.get("resourceVersion", "0") or 0)
        timeout = float(q.get("timeoutSeconds", "1800"))
        bookmarks = q.get("allowWatchBookmarks") == "true"
        with S.lock:
            S.stats["watch"] += 1
            if rv and rv < S.compacted:
                self.record("410")
                return self.send_json(410, status(410, "Expired", "too old resource version: %d (%d)" % (rv, S.compacted)))
            gen, err_gen = S.generation, S.error_gen
            if rv == 0:  # "any": start with the current state as ADDED events
                pending = [(S.rv, "ADDED", o) for o in S.nodes.values()]
                rv = S.rv
            else:
                pending = [e for e in S.events if e[0] > rv]
        self.record("200 watch from %d" % rv)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if S.watch_close:  # a complete, empty answer at once
            self.chunk(b"")
            self.wfile.flush()
            return
        end = time.monotonic() + timeout
        last_bookmark = time.monotonic()
        try:
            while True:
                for erv, etype, obj in pending:
                    self.chunk((json.dumps({"type": etype, "object": obj}, separators=(",", ":")) + "\n").encode())
                    rv = max(rv, erv)
                self.wfile.flush()
                with S.lock:
                    S.lock.wait_for(lambda: S.events and S.events[-1][0] > rv or S.generation != gen
                                    or S.error_gen != err_gen or S.down,
                                    timeout=min(0.5, max(0, end - time.monotonic())))
                    if S.generation != gen or S.down:
                        self.record("watch dropped")
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if S.error_gen != err_gen:
                        err_gen = S.error_gen
                        ev = {"type": "ERROR", "object": status(410, "Expired", "too old resource version")}
                        self.chunk((json.dumps(ev) + "\n").encode())
                        self.chunk(b"")
                        self.record("watch error event")
                        return
                    pending = [e for e in S.events if e[0] > rv]
                    cur = S.rv
                if time.monotonic() >= end:
                    self.chunk(b"")
                    self.record("watch timeout")
                    return
                if bookmarks and ARGS.bookmark and time.monotonic() - last_bookmark >= ARGS.bookmark and not pending:
                    last_bookmark = time.monotonic()
                    bm = {"type": "BOOKMARK", "object": {"kind": "Node", "apiVersion": "v1",
                                                         "metadata": {"resourceVersion": str(cur)}}}
                    self.chunk((json.dumps(bm) + "\n").encode())
                    rv = cur
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.record("watch closed by client")

    def control(self, cmd, q):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        res = {"ok": True}
        if cmd == "apply":
            S.put(body)
        elif cmd == "node":  # name, cidr, ip: a new Node, or a change to one (the rest kept)
            with S.lock:
                old = S.nodes.get(q["name"])
            if old:
                o = json.loads(json.dumps(old))
                o["spec"] = {"podCIDR": q["cidr"], "podCIDRs": [q["cidr"]]} if q.get("cidr") else {}
                o["status"]["addresses"][0]["address"] = q["ip"]
            else:
                o = make_node(q["name"], q.get("cidr"), q["ip"], ARGS.pad)
            S.put(o)
        elif cmd == "delete":
            res["ok"] = S.delete(q["name"])
        elif cmd == "drop":
            with S.lock:
                S.generation += 1
                S.lock.notify_all()
        elif cmd == "compact":  # history gone: every resourceVersion known is too old; watches end
            with S.lock:
                S.compacted = S.bump()  # a list now returns this; anything older is gone
                S.generation += 1
                S.lock.notify_all()
        elif cmd == "error":
            with S.lock:
                S.error_gen += 1
                S.lock.notify_all()
        elif cmd == "down":
            with S.lock:
                S.down = True
                S.lock.notify_all()
        elif cmd == "up":
            S.down = False
        elif cmd == "watchclose":  # watchclose?on=1|0: every watch ends at once, empty
            S.watch_close = q.get("on") == "1"
        elif cmd == "truncate":  # truncate?path=P: P's next JSON answer breaks off halfway
            S.truncate.add(q["path"])
        elif alloc_control(self, cmd, q):
            pass
        elif cmd == "stats":
            res = dict(S.stats, rv=S.rv, nodes=len(S.nodes))
        else:
            return self.send_json(404, {"ok": False})
        self.send_json(200, res)


# --- for the pod CIDR allocator (allocate --watch): GET and PATCH of one Node, Leases ---
# PATCH /api/v1/nodes/NAME: merge-patch (RFC 7386), strategic-merge-patch (the same for
# spec.podCIDR(s): a list replaced), json-patch (RFC 6902 test/add/replace/remove; a test of
# a missing member against null passes, as in the API server's json-patch library; a failed
# test is 422), metadata.resourceVersion in a merge patch a precondition (409); the Node's
# resourceVersion bumped and a MODIFIED event sent. Leases under
# /apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]: GET, POST (409 when it exists),
# PUT (409 when metadata.resourceVersion is not the stored one). Every request is logged
# with the user its token names (--user-tokens), and a Lease write with its holder.
LEASES = {}  # (ns, name) -> object
# discovery of the Lease API, so that kubectl reads the Leases the test checks
DISCOVERY["/apis"]["groups"].append({
    "name": "coordination.k8s.io",
    "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}],
    "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}})
DISCOVERY["/apis/coordination.k8s.io/v1"] = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "coordination.k8s.io/v1",
    "resources": [{"name": "leases", "singularName": "lease", "namespaced": True, "kind": "Lease",
                   "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}]}
RACES = {}  # node name -> pod CIDR another writer sets just before our next PATCH of it
FAILS = {}  # node name -> how many of its next PATCHes fail with 500, not applied


def alloc_user(h):
    if not ARGS.user_tokens:
        return None
    got = h.headers.get("Authorization", "")
    try:
        with open(ARGS.user_tokens) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and got == "Bearer " + parts[0]:
                    return parts[1]
    except OSError:
        pass
    return None


def alloc_body(h):
    n = int(h.headers.get("Content-Length", "0") or 0)
    return h.rfile.read(n) if n else b""


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


def json_pointer(doc, path):
    # the parent container and the last key of an RFC 6901 pointer
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur, parts[-1]


def json_patch(doc, ops):
    for op in ops:
        parent, key = json_pointer(doc, op["path"])
        if op["op"] == "test":
            have = parent.get(key) if isinstance(parent, dict) else parent[int(key)]
            if have != op.get("value"):
                raise ValueError("testing value %s failed" % op["path"])
        elif op["op"] in ("add", "replace"):
            if isinstance(parent, list):
                parent.insert(len(parent) if key == "-" else int(key), op["value"])
            else:
                if op["op"] == "replace" and key not in parent:
                    raise ValueError("replace of a missing %s" % op["path"])
                parent[key] = op["value"]
        elif op["op"] == "remove":
            if isinstance(parent, list):
                del parent[int(key)]
            else:
                del parent[key]
        else:
            raise ValueError("unsupported op " + op["op"])
    return doc


def alloc_node(h, name):
    user = alloc_user(h) or "-"
    with S.lock:
        obj = S.nodes.get(name)
    if h.command == "GET":
        if obj is None:
            h.record("404 user=%s" % user)
            return h.send_json(404, status(404, "NotFound", 'nodes "%s" not found' % name))
        h.record("200 user=%s" % user)
        return h.send_json(200, obj)
    if h.command != "PATCH":
        h.record("405")
        return h.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))
    ctype = h.headers.get("Content-Type", "").split(";")[0].strip()
    body = alloc_body(h)
    with S.lock:
        if name in RACES:  # another writer was first
            o = json.loads(json.dumps(S.nodes[name]))
            o["spec"]["podCIDR"] = RACES[name]
            o["spec"]["podCIDRs"] = [RACES.pop(name)]
            S.put(o)
            h.record("race: %s given %s by another writer" % (name, o["spec"]["podCIDR"]))
        obj = S.nodes.get(name)
        if obj is None:
            h.record("404 user=%s" % user)
            return h.send_json(404, status(404, "NotFound", 'nodes "%s" not found' % name))
        if FAILS.get(name, 0) > 0:  # refused before it is applied: an outcome not known
            FAILS[name] -= 1
            h.record("500 user=%s" % user)
            return h.send_json(500, status(500, "InternalError", "etcdserver: request timed out"))
        o = json.loads(json.dumps(obj))
        try:
            patch = json.loads(body)
            if ctype == "application/json-patch+json":
                o = json_patch(o, patch)
            elif ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                want = (patch.get("metadata") or {}).get("resourceVersion")
                if want and want != obj["metadata"]["resourceVersion"]:
                    h.record("409 user=%s" % user)
                    return h.send_json(409, status(409, "Conflict", "the object has been modified"))
                o = merge_patch(o, patch)
            else:
                h.record("415 user=%s" % user)
                return h.send_json(415, status(415, "UnsupportedMediaType", "the body of the request was in an unknown format"))
        except (ValueError, KeyError, IndexError, TypeError) as e:
            h.record("422 user=%s %s" % (user, e))
            return h.send_json(422, status(422, "Invalid", "the server rejected our request due to an error in our request: %s" % e))
        S.put(o)
    h.record("200 user=%s podCIDRs=%s" % (user, ",".join(o["spec"].get("podCIDRs") or [])))
    h.send_json(200, o)


def alloc_lease(h, ns, name):
    user = alloc_user(h) or "-"
    body = alloc_body(h) if h.command in ("POST", "PUT") else b""
    with S.lock:
        cur = LEASES.get((ns, name))
        if h.command == "GET":
            if cur is None:
                h.record("404 user=%s" % user)
                return h.send_json(404, status(404, "NotFound", 'leases.coordination.k8s.io "%s" not found' % name))
            h.record("200 user=%s" % user)
            return h.send_json(200, cur)
        o = json.loads(body)
        holder = (o.get("spec") or {}).get("holderIdentity") or ""
        if h.command == "POST":
            name = o["metadata"]["name"]
            if (ns, name) in LEASES:
                h.record("409 user=%s holder=%s" % (user, holder))
                return h.send_json(409, status(409, "AlreadyExists", 'leases.coordination.k8s.io "%s" already exists' % name))
            code = 201
        elif h.command == "PUT":
            if cur is None:
                h.record("404 user=%s" % user)
                return h.send_json(404, status(404, "NotFound", 'leases.coordination.k8s.io "%s" not found' % name))
            if o.get("metadata", {}).get("resourceVersion") != cur["metadata"]["resourceVersion"]:
                h.record("409 user=%s holder=%s" % (user, holder))
                return h.send_json(409, status(409, "Conflict", "Operation cannot be fulfilled on leases.coordination.k8s.io \"%s\": the object has been modified; please apply your changes to the latest version and try again" % name))
            code = 200
        else:
            h.record("405")
            return h.send_json(405, status(405, "MethodNotAllowed", "method not allowed"))
        o["metadata"]["namespace"] = ns
        o["metadata"]["resourceVersion"] = str(S.bump())
        LEASES[(ns, name)] = o
    h.record("%d user=%s holder=%s" % (code, user, holder))
    h.send_json(code, o)


def alloc_dispatch(h, url):
    parts = url.path.strip("/").split("/")
    if len(parts) == 4 and parts[:3] == ["api", "v1", "nodes"]:
        alloc_node(h, parts[3])
        return True
    if len(parts) in (6, 7) and parts[:4] == ["apis", "coordination.k8s.io", "v1", "namespaces"] \
            and parts[5] == "leases":
        alloc_lease(h, parts[4], parts[6] if len(parts) == 7 else None)
        return True
    return False


def alloc_control(h, cmd, q):
    if cmd == "add":  # add?name=N&ip=IP: a Node without pod CIDRs, its creation logged
        S.put(make_node(q["name"], None, q["ip"], ARGS.pad))
        h.record("add %s" % q["name"])
        return True
    if cmd == "race":  # race?name=N&cidr=C: C is written into N just before the next PATCH of N
        with S.lock:
            RACES[q["name"]] = q["cidr"]
        return True
    if cmd == "patchfail":  # patchfail?name=N&count=K: N's next K PATCHes fail (500), not applied
        with S.lock:
            FAILS[q["name"]] = int(q["count"])
        return True
    return False


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def serve():
    if ARGS.nodes:
        with open(ARGS.nodes) as f:
            for o in json.load(f)["items"]:
                S.nodes[o["metadata"]["name"]] = o
    elif ARGS.gen:
        gen_nodes(ARGS.gen, ARGS.pad)
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if ARGS.ready:
        open(ARGS.ready, "w").close()
    srv.serve_forever()


def ctl():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    data = ARGS.json.encode() if ARGS.json else None
    req = urllib.request.Request(ARGS.url.rstrip("/") + "/_ctl/" + ARGS.cmd, data=data, method="POST")
    print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--token-file", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--nodes")
    s.add_argument("--gen", type=int, default=0)
    s.add_argument("--pad", type=int, default=0)
    s.add_argument("--bookmark", type=float, default=0)
    s.add_argument("--ready")
    s.add_argument("--user-tokens", help="a file of 'TOKEN USER' lines: more accepted tokens, "
                   "the user named in the log of PATCH and Lease requests")
    c = sub.add_parser("ctl")
    c.add_argument("url")
    c.add_argument("cmd")
    c.add_argument("json", nargs="?")
    ARGS = p.parse_args()
    serve() if ARGS.mode == "serve" else ctl()
