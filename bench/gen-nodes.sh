#!/bin/sh
# Writes a NodeList shaped like `kubectl get nodes -o json` from a v1.31 cluster (keys
# sorted, four-space indent, managedFields included) to standard output: this node,
# bench-node (InternalIP 192.168.0.1, pod CIDR 10.0.0.0/24), and PEERS peers, peer i at
# 192.168.(1 + i/250).(1 + i%250) owning 10.(1 + i/256).(i%256).0/24. Every Node carries
# what a real one does (labels, annotations, managedFields, conditions, the images list,
# nodeInfo), about 10 KB each, so that a parser reads what it would read in a cluster;
# --lean writes only the fields podnet reads (about 0.8 KB a Node). Deterministic: the
# same arguments give the same bytes.
# Usage: bench/gen-nodes.sh [-n PEERS] [--changed I] [--lean]
#   --changed I: peer I has moved to 192.168.255.1 (a node whose address changed)
set -eu
peers=5000
changed=-1
lean=0
while [ $# -gt 0 ]; do
        case $1 in
        -n) peers=${2:?-n needs a number}; shift 2 ;;
        --changed) changed=${2:?--changed needs a peer number}; shift 2 ;;
        --lean) lean=1; shift ;;
        -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "gen-nodes.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
        esac
done
case $peers in '' | *[!0-9]*) echo "gen-nodes.sh: -n takes a number" >&2; exit 2 ;; esac
if [ "$peers" -gt 63000 ]; then
        echo "gen-nodes.sh: at most 63000 peers fit 192.168.1.0-192.168.252.250" >&2
        exit 2
fi

exec awk -v n="$peers" -v changed="$changed" -v lean="$lean" '
# A small linear congruential generator, exact in double arithmetic (69069 * 2^32 < 2^53),
# seeded per node: identifiers look random but every run writes the same bytes.
function rnd() { seed = (seed * 69069 + 1) % 4294967296; return seed }
function hex(len,   s) { s = ""; while (length(s) < len) s = s sprintf("%08x", rnd()); return substr(s, 1, len) }
function uuid() { return hex(8) "-" hex(4) "-4" hex(3) "-a" hex(3) "-" hex(12) }
function ts(day, sec) { return sprintf("2026-11-%02dT%02d:%02d:%02dZ", day, int(sec / 3600) % 24, int(sec / 60) % 60, sec % 60) }
# out(depth, text): one line at four spaces per depth, as kubectl indents.
function out(d, s,   pad) { pad = sprintf("%" (4 * d) "s", ""); print pad s }
function kv(d, k, v, last) { out(d, "\"" k "\": \"" v "\"" (last ? "" : ",")) }
function kn(d, k, v, last) { out(d, "\"" k "\": " v (last ? "" : ",")) }

function lean_node(name, ip, cidr, last) {
        out(2, "{")
        kv(3, "apiVersion", "v1")
        kv(3, "kind", "Node")
        out(3, "\"metadata\": {")
        out(4, "\"labels\": {"); kv(5, "kubernetes.io/hostname", name, 1); out(4, "},")
        kv(4, "name", name, 1)
        out(3, "},")
        out(3, "\"spec\": {"); kv(4, "podCIDR", cidr); out(4, "\"podCIDRs\": ["); out(5, "\"" cidr "\"")
        out(4, "]"); out(3, "},")
        out(3, "\"status\": {"); out(4, "\"addresses\": [")
        out(5, "{"); kv(6, "address", ip); kv(6, "type", "InternalIP", 1); out(5, "},")
        out(5, "{"); kv(6, "address", name); kv(6, "type", "Hostname", 1); out(5, "}")
        out(4, "]"); out(3, "}")
        out(2, "}" (last ? "" : ","))
}

function condition(d, type, status, reason, msg, hb, tr, last) {
        out(d, "{")
        kv(d + 1, "lastHeartbeatTime", hb); kv(d + 1, "lastTransitionTime", tr)
        kv(d + 1, "message", msg); kv(d + 1, "reason", reason); kv(d + 1, "status", status)
        kv(d + 1, "type", type, 1)
        out(d, "}" (last ? "" : ","))
}

function node(idx, name, ip, cidr, last,   created, hb, k, zone, m) {
        seed = idx + 1
        created = 2 * 86400 + (idx * 7) % 86400
        hb = 27 * 86400 + 7200 + idx % 600
        zone = "eu-west-1" substr("abc", idx % 3 + 1, 1)
        out(2, "{")
        kv(3, "apiVersion", "v1")
        kv(3, "kind", "Node")
        out(3, "\"metadata\": {")
        out(4, "\"annotations\": {")
        kv(5, "alpha.kubernetes.io/provided-node-ip", ip)
        kv(5, "csi.volume.kubernetes.io/nodeid", "{\\\"ebs.csi.aws.com\\\":\\\"i-0" hex(16) "\\\"}")
        kv(5, "kubeadm.alpha.kubernetes.io/cri-socket", "unix:///var/run/containerd/containerd.sock")
        kv(5, "node.alpha.kubernetes.io/ttl", "0")
        kv(5, "volumes.kubernetes.io/controller-managed-attach-detach", "true", 1)
        out(4, "},")
        kv(4, "creationTimestamp", ts(20 + int(created / 86400) % 5, created))
        out(4, "\"labels\": {")
        kv(5, "beta.kubernetes.io/arch", "amd64")
        kv(5, "beta.kubernetes.io/instance-type", "m6i.xlarge")
        kv(5, "beta.kubernetes.io/os", "linux")
        kv(5, "failure-domain.beta.kubernetes.io/region", "eu-west-1")
        kv(5, "failure-domain.beta.kubernetes.io/zone", zone)
        kv(5, "kubernetes.io/arch", "amd64")
        kv(5, "kubernetes.io/hostname", name)
        kv(5, "kubernetes.io/os", "linux")
        kv(5, "node.kubernetes.io/instance-type", "m6i.xlarge")
        kv(5, "nodepool.example.com/name", "general-" (idx % 4))
        kv(5, "topology.kubernetes.io/region", "eu-west-1")
        kv(5, "topology.kubernetes.io/zone", zone, 1)
        out(4, "},")
        out(4, "\"managedFields\": [")
        out(5, "{"); kv(6, "apiVersion", "v1"); kv(6, "fieldsType", "FieldsV1")
        out(6, "\"fieldsV1\": {")
        out(7, "\"f:metadata\": {"); out(8, "\"f:annotations\": {")
        out(9, "\"f:kubeadm.alpha.kubernetes.io/cri-socket\": {}"); out(8, "}"); out(7, "}")
        out(6, "},")
        kv(6, "manager", "kubeadm"); kv(6, "operation", "Update")
        kv(6, "time", ts(20, created), 1); out(5, "},")
        out(5, "{"); kv(6, "apiVersion", "v1"); kv(6, "fieldsType", "FieldsV1")
        out(6, "\"fieldsV1\": {")
        out(7, "\"f:metadata\": {"); out(8, "\"f:annotations\": {")
        out(9, "\"f:node.alpha.kubernetes.io/ttl\": {}"); out(8, "}"); out(7, "},")
        out(7, "\"f:spec\": {"); out(8, "\"f:podCIDR\": {},"); out(8, "\"f:podCIDRs\": {")
        out(9, "\".\": {},"); out(9, "\"v:\\\"" cidr "\\\"\": {}"); out(8, "}"); out(7, "}")
        out(6, "},")
        kv(6, "manager", "kube-controller-manager"); kv(6, "operation", "Update")
        kv(6, "time", ts(20, created + 18), 1); out(5, "},")
        out(5, "{"); kv(6, "apiVersion", "v1"); kv(6, "fieldsType", "FieldsV1")
        out(6, "\"fieldsV1\": {")
        out(7, "\"f:status\": {")
        out(8, "\"f:conditions\": {")
        split("DiskPressure MemoryPressure PIDPressure Ready", ct, " ")
        for (k = 1; k <= 4; k++) {
                out(9, "\"k:{\\\"type\\\":\\\"" ct[k] "\\\"}\": {")
                out(10, "\"f:lastHeartbeatTime\": {},"); out(10, "\"f:lastTransitionTime\": {},")
                out(10, "\"f:message\": {},"); out(10, "\"f:reason\": {},"); out(10, "\"f:status\": {}")
                out(9, "}" (k < 4 ? "," : ""))
        }
        out(8, "},")
        out(8, "\"f:images\": {},")
        out(8, "\"f:nodeInfo\": {"); out(9, "\"f:bootID\": {}"); out(8, "}")
        out(7, "}")
        out(6, "},")
        kv(6, "manager", "kubelet"); kv(6, "operation", "Update"); kv(6, "subresource", "status")
        kv(6, "time", ts(27, hb), 1); out(5, "}")
        out(4, "],")
        kv(4, "name", name)
        kn(4, "resourceVersion", "\"" (4000000 + idx * 13) "\"")
        kv(4, "uid", uuid(), 1)
        out(3, "},")
        out(3, "\"spec\": {")
        kv(4, "podCIDR", cidr); out(4, "\"podCIDRs\": ["); out(5, "\"" cidr "\""); out(4, "],")
        kv(4, "providerID", "aws:///" zone "/i-0" hex(16), 1)
        out(3, "},")
        out(3, "\"status\": {")
        out(4, "\"addresses\": [")
        out(5, "{"); kv(6, "address", ip); kv(6, "type", "InternalIP", 1); out(5, "},")
        out(5, "{"); kv(6, "address", name); kv(6, "type", "Hostname", 1); out(5, "},")
        out(5, "{"); kv(6, "address", "ip-" ip ".eu-west-1.compute.internal"); kv(6, "type", "InternalDNS", 1)
        out(5, "}")
        out(4, "],")
        out(4, "\"allocatable\": {")
        kv(5, "cpu", "3920m"); kv(5, "ephemeral-storage", "95491281146"); kv(5, "hugepages-1Gi", "0")
        kv(5, "hugepages-2Mi", "0"); kv(5, "memory", "15147996Ki"); kv(5, "pods", "110", 1)
        out(4, "},")
        out(4, "\"capacity\": {")
        kv(5, "cpu", "4"); kv(5, "ephemeral-storage", "104845292Ki"); kv(5, "hugepages-1Gi", "0")
        kv(5, "hugepages-2Mi", "0"); kv(5, "memory", "16044508Ki"); kv(5, "pods", "110", 1)
        out(4, "},")
        out(4, "\"conditions\": [")
        condition(5, "MemoryPressure", "False", "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available", ts(27, hb), ts(20, created))
        condition(5, "DiskPressure", "False", "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure", ts(27, hb), ts(20, created))
        condition(5, "PIDPressure", "False", "KubeletHasSufficientPID",
                "kubelet has sufficient PID available", ts(27, hb), ts(20, created))
        condition(5, "Ready", "True", "KubeletReady", "kubelet is posting ready status",
                ts(27, hb), ts(20, created + 24), 1)
        out(4, "],")
        out(4, "\"daemonEndpoints\": {"); out(5, "\"kubeletEndpoint\": {"); kn(6, "Port", 10250, 1)
        out(5, "}"); out(4, "},")
        out(4, "\"images\": [")
        for (k = 1; k <= n_images; k++) {
                out(5, "{"); out(6, "\"names\": [")
                out(7, "\"" image[k] "@sha256:" hex(64) "\",")
                out(7, "\"" image[k] ":" tag[k] "\"")
                out(6, "],")
                kn(6, "sizeBytes", size[k] + idx % 1000, 1)
                out(5, "}" (k < n_images ? "," : ""))
        }
        out(4, "],")
        out(4, "\"nodeInfo\": {")
        kv(5, "architecture", "amd64"); kv(5, "bootID", uuid())
        kv(5, "containerRuntimeVersion", "containerd://1.7.24"); kv(5, "kernelVersion", "6.1.0-27-cloud-amd64")
        kv(5, "kubeProxyVersion", "v1.31.4"); kv(5, "kubeletVersion", "v1.31.4"); kv(5, "machineID", hex(32))
        kv(5, "operatingSystem", "linux"); kv(5, "osImage", "Debian GNU/Linux 12 (bookworm)")
        kv(5, "systemUUID", "ec2" hex(5) "-" hex(4) "-" hex(4) "-" hex(4) "-" hex(12), 1)
        out(4, "}")
        out(3, "}")
        out(2, "}" (last ? "" : ","))
}

function emit(idx, name, ip, cidr, last) {
        if (lean)
                lean_node(name, ip, cidr, last)
        else
                node(idx, name, ip, cidr, last)
}

BEGIN {
        # The images a node has pulled: its system pods and a few workloads.
        n_images = split("registry.k8s.io/kube-proxy registry.k8s.io/pause " \
                "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-ebs-csi-driver " \
                "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/csi-node-driver-registrar " \
                "quay.io/prometheus/node-exporter docker.io/fluent/fluent-bit " \
                "ghcr.io/example/api-server ghcr.io/example/worker", image, " ")
        split("v1.31.4 3.10 v1.37.0 v2.12.0 v1.8.2 3.2.2 2.41.0 2.41.0", tag, " ")
        for (k = 1; k <= n_images; k++)
                size[k] = 9000000 + (k * 7919 * 104729) % 180000000
        print "{"
        kv(1, "apiVersion", "v1")
        out(1, "\"items\": [")
        emit(n, "bench-node", "192.168.0.1", "10.0.0.0/24", n == 0)
        for (i = 0; i < n; i++) {
                ip = sprintf("192.168.%d.%d", 1 + int(i / 250), 1 + i % 250)
                if (i == changed)
                        ip = "192.168.255.1"
                emit(i, sprintf("node%d", i), ip,
                     sprintf("10.%d.%d.0/24", 1 + int(i / 256), i % 256), i == n - 1)
        }
        out(1, "],")
        kv(1, "kind", "List")
        out(1, "\"metadata\": {"); kv(2, "resourceVersion", "", 1); out(1, "}")
        print "}"
}'
