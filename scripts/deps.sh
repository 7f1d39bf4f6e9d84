#!/bin/sh
# Installs everything podnet's build, tests, demo and benchmarks use (Debian 12), as
# root. Idempotent: does nothing when all packages are present.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config libnl-3-dev libnl-route-3-dev \
libjansson-dev libiptc-dev libnftnl-dev libmnl-dev nftables iptables iproute2 iputils-ping util-linux procps jq \
containernetworking-plugins time g++ xz-utils groff-base strace \
libcurl4-openssl-dev libyaml-dev openssl python3"
# podnet-routes --metrics-addr (libmicrohttpd)
pkgs="$pkgs libmicrohttpd-dev"
# kubectl for tests/contrib-manifests.sh: Debian's kubernetes-client only where no kubectl
# is on PATH (it conflicts with the kubectl package of Kubernetes' own repository)
command -v kubectl >/dev/null 2>&1 || pkgs="$pkgs kubernetes-client"
missing=""
for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "deps.sh: missing packages:$missing; run as root" >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing
fi
