#!/usr/bin/env python3
# Event-to-route latency for bench/kube-bench.sh: for each sample, tells the fake API
# server (tests/kube/fake-apiserver.py) that a node got a new pod CIDR and times until the
# kernel announces the route to it (RTM_NEWROUTE on an rtnetlink socket of this network
# namespace). Prints one latency in milliseconds per line.
#   route-latency.py URL SAMPLES FIRST-NODE LAST-NODE
import random
import socket
import ssl
import struct
import sys
import time
import http.client
import urllib.parse

RTMGRP_IPV4_ROUTE = 0x40
RTM_NEWROUTE = 24
RTA_DST = 1

url, samples, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
nl.bind((0, RTMGRP_IPV4_ROUTE))
nl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
rnd = random.Random(7)
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)  # kept open


def new_route_dsts(data):
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if mtype == RTM_NEWROUTE:
            dst_len = data[off + 16 + 1]
            a = off + 16 + 12
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype == RTA_DST:
                    yield "%s/%d" % (socket.inet_ntoa(data[a + 4:a + 8]), dst_len)
                a += (alen + 3) & ~3
        off += (length + 3) & ~3


for k in range(samples):
    i = rnd.randint(first, last)
    cidr = "10.%d.%d.0/24" % (200 + (k >> 8 & 31), k & 255)  # beyond the generated /26s
    a, b = divmod(i - 1, 250)
    ip = "172.%d.%d.%d" % (16 + a // 256, a % 256, b + 2)
    t0 = time.monotonic()
    conn.request("POST", "/_ctl/node?name=node%d&cidr=%s&ip=%s" % (i, cidr, ip))
    conn.getresponse().read()
    done = False
    nl.settimeout(10)
    while not done:
        try:
            data = nl.recv(1 << 20)
        except socket.timeout:
            print("timeout", flush=True)
            break
        done = cidr in new_route_dsts(data)
    if done:
        print("%.2f" % ((time.monotonic() - t0) * 1000), flush=True)
    time.sleep(0.1)
