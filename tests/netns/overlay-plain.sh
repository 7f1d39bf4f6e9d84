#!/bin/bash
# overlay-sync.sh with plain routes (PODNET_NO_NEXTHOP=1: no nexthop objects, what a
# kernel without them gets): each mode on the routed network, address change, a peer
# leaving, repair of hand-deleted routes, neighbour and FDB entries by sync and by run,
# teardown leaving nothing.
export PODNET_NO_NEXTHOP=1
. "$top_srcdir/tests/netns/overlay-sync.sh"
