#!/bin/sh
# Configures and builds podnet out of tree in ./build (or $PODNET_BUILD_DIR).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PODNET_BUILD_DIR:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ -f Makefile.in ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix=/usr/local
make -j"$(nproc)"
