#!/usr/bin/env python3
# What kubectl's client dry run does not check in podnet's manifests (its output as JSON,
# `kubectl apply --dry-run=client -o json`, one file per argument): references between
# objects, the rights each role grants, the DaemonSet's placement and probes, and the
# podnet-routes options the containers pass. Prints "ok"/"not ok" lines (TAP bodies) and
# exits 1 if one failed.
# Usage: check-manifests.py HELP_FILE PENDING_OPTIONS MANIFEST.json...
#   HELP_FILE: `podnet-routes --help`; PENDING_OPTIONS: comma-separated options the
#   manifests use that this build need not have yet (they are listed, not failed).
import json
import re
import sys

help_text = open(sys.argv[1]).read()
pending = set(filter(None, sys.argv[2].split(",")))
objs = []
for path in sys.argv[3:]:
    doc = json.load(open(path))
    objs += doc["items"] if doc.get("kind") == "List" else [doc]
failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    failed += not cond


def find(kind, name, ns=None):
    for o in objs:
        m = o["metadata"]
        if o["kind"] == kind and m["name"] == name and (ns is None or m.get("namespace") == ns):
            return o
    return None


def rules_of(kind, name):
    o = find(kind, name)
    return o["rules"] if o else []


def grants(rules, group, resource, verb):
    return any(group in r.get("apiGroups", []) and resource in r.get("resources", []) and
               verb in r.get("verbs", []) for r in rules)


# bindings: their role and service accounts exist
for b in (o for o in objs if o["kind"] in ("ClusterRoleBinding", "RoleBinding")):
    ref = b["roleRef"]
    check(find(ref["kind"], ref["name"]) is not None,
          "%s %s: its %s %s is defined" % (b["kind"], b["metadata"]["name"], ref["kind"], ref["name"]))
    for s in b["subjects"]:
        check(s["kind"] == "ServiceAccount" and find("ServiceAccount", s["name"], s["namespace"]),
              "%s %s: service account %s/%s is defined" % (b["kind"], b["metadata"]["name"],
                                                          s.get("namespace"), s["name"]))

# the node agent's rights: read nodes, nothing else
agent = rules_of("ClusterRole", "podnet-routes")
check(all(grants(agent, "", "nodes", v) for v in ("get", "list", "watch")),
      "podnet-routes may get, list and watch nodes")
check(not any(v not in ("get", "list", "watch") for r in agent for v in r["verbs"]),
      "podnet-routes may do nothing else (no patch: that is the allocator's)")
check(all(r["resources"] == ["nodes"] for r in agent), "podnet-routes: nodes only")
alloc = rules_of("ClusterRole", "podnet-allocator")
check(grants(alloc, "", "nodes", "patch") and grants(alloc, "", "nodes", "watch"),
      "the allocator may watch and patch nodes")
election = rules_of("Role", "podnet-allocator-election")
check(all(grants(election, "coordination.k8s.io", "leases", v) for v in ("get", "create", "update")),
      "the allocator may get, create and update its Lease")

# pods: service accounts, selectors, options
for w in (o for o in objs if o["kind"] in ("DaemonSet", "Deployment")):
    name, ns = w["metadata"]["name"], w["metadata"]["namespace"]
    spec = w["spec"]["template"]["spec"]
    labels = w["spec"]["template"]["metadata"]["labels"]
    sel = w["spec"]["selector"]["matchLabels"]
    check(all(labels.get(k) == v for k, v in sel.items()), "%s: the selector matches its pods" % name)
    check(find("ServiceAccount", spec["serviceAccountName"], ns) is not None,
          "%s: its service account is defined" % name)
    for c in spec.get("initContainers", []) + spec["containers"]:
        cmd = c.get("command", []) + c.get("args", [])
        if not cmd or not cmd[0].endswith("podnet-routes"):
            continue
        for a in cmd[1:]:
            if not a.startswith("--"):
                continue
            opt = a.split("=")[0]
            if opt in pending and not re.search(r"(^|\s)%s\b" % re.escape(opt), help_text):
                print("# %s: %s %s is not in this build yet (pending)" % (name, c["name"], opt))
                continue
            check(re.search(r"(^|\s)%s\b" % re.escape(opt), help_text),
                  "%s: podnet-routes knows %s" % (name, opt))

ds = find("DaemonSet", "podnet-routes")
spec = ds["spec"]["template"]["spec"]
check(spec.get("hostNetwork") is True, "DaemonSet: host network")
check(spec.get("priorityClassName") == "system-node-critical", "DaemonSet: system-node-critical")
check(any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
          for t in spec.get("tolerations", [])), "DaemonSet: tolerates every taint")
main = spec["containers"][0]
addr = [a.split("=", 1)[1] for a in main["args"] if a.startswith("--metrics-addr=")]
port = int(addr[0].rsplit(":", 1)[1]) if addr else None
probes = [main.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
check(port is not None and all(p and p["httpGet"]["path"] == "/healthz" and p["httpGet"]["port"] == port
                               for p in probes),
      "DaemonSet: liveness, readiness and startup probes on /healthz at --metrics-addr's port %s" % port)
caps = main["securityContext"].get("capabilities", {}).get("add", [])
check("NET_ADMIN" in caps and "NET_RAW" in caps, "DaemonSet: NET_ADMIN and NET_RAW")
init = spec["initContainers"][0]
script = init["command"][-1]
check(re.search(r'mktemp "\$dir/', script) and "mv -f" in script and "sync" in script,
      "DaemonSet: the CNI installer writes a temporary file in the same directory, syncs, renames")
mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}
vols = {v["name"]: v.get("hostPath", {}).get("path") for v in spec["volumes"]}
check(vols.get("cni-bin") == "/opt/cni/bin" and mounts.get("cni-bin") == "/host/opt/cni/bin",
      "DaemonSet: the installer writes the host's /opt/cni/bin")

dep = find("Deployment", "podnet-allocator")
check(dep is not None and dep["spec"]["replicas"] == 2, "allocator: two replicas")
dspec = dep["spec"]["template"]["spec"]
check(dspec["securityContext"].get("runAsNonRoot") is True, "allocator: not root")
sys.exit(1 if failed else 0)
