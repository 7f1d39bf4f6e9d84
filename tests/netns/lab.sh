#!/bin/bash
# The three-node lab (scripts/lab.sh) as a test: passes if and only if the lab exits 0.
. "$top_srcdir/tests/netns/lib.sh"

# The lab makes private namespaces of its own (nested in this test's), so that its mounts
# over /run do not hide this test's.
env -u PODNET_PRIVATE_NS PODNET_BUILD_DIR="$top_builddir" /bin/bash "$top_srcdir/scripts/lab.sh"
rc=$?
is "scripts/lab.sh exits 0 (every expected reachability held)" "$rc" 0
finish
