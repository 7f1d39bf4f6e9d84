#!/usr/bin/env python3
# A Kubernetes API server double for `kubectl apply --dry-run=client` (tests/contrib-manifests.sh):
# the legacy discovery documents (/api, /api/v1, /apis, /apis/GROUP/VERSION) of the kinds
# podnet's manifests use, and 404 Status for every object and for the OpenAPI documents.
# Plain HTTP on 127.0.0.1 (the test runs it in a network namespace of its own), an
# ephemeral port written to PORT_FILE, every request appended to LOG_FILE.
# Usage: discovery-server.py PORT_FILE LOG_FILE
import http.server
import json
import os
import sys

port_file, log_file = sys.argv[1], sys.argv[2]
def res(name, kind, namespaced, verbs=("create","delete","get","list","patch","update","watch"), short=()):
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": list(verbs), "shortNames": list(short)}
groups = {
    "apps/v1": [res("daemonsets", "DaemonSet", True, short=["ds"]), res("deployments", "Deployment", True, short=["deploy"])],
    "rbac.authorization.k8s.io/v1": [res("clusterroles", "ClusterRole", False), res("clusterrolebindings", "ClusterRoleBinding", False),
                                     res("roles", "Role", True), res("rolebindings", "RoleBinding", True)],
    "coordination.k8s.io/v1": [res("leases", "Lease", True)],
}
core = [res("namespaces", "Namespace", False, short=["ns"]), res("nodes", "Node", False, short=["no"]),
        res("serviceaccounts", "ServiceAccount", True, short=["sa"]), res("pods", "Pod", True, short=["po"])]
def doc(path):
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": "127.0.0.1:%d" % port}]}
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": core}
    if path == "/apis":
        gl = []
        for gv in groups:
            g, v = gv.split("/")
            gl.append({"name": g, "versions": [{"groupVersion": gv, "version": v}],
                       "preferredVersion": {"groupVersion": gv, "version": v}})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": gl}
    if path.startswith("/apis/") and path[6:] in groups:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": path[6:], "resources": groups[path[6:]]}
    return None
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        with open(log_file, "a") as f:
            f.write("%s %s\n" % (self.command, self.path))
        d = doc(path)
        code = 200
        if d is None:
            code = 404
            d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                 "message": "%s not found" % path, "reason": "NotFound", "code": 404}
        body = json.dumps(d).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    # a client dry run writes nothing: any write is an error the test sees in the log
    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
port = s.server_address[1]
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
