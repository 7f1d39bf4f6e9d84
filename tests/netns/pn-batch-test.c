/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test driver for the netlink layer's pipelined batch (pn_nl_batch()) with requests of
 * every kind the net/ builders make, driven by tests/netns/nl-batch.sh, which checks the
 * kernel's state with ip(8) between the stages:
 *   mixed  one batch: a bridge, two addresses (the second a duplicate), a route via a
 *          gateway, a nexthop object and a route using it, a route via an unreachable
 *          gateway, a lookup, and the deletion of an absent route; prints each answer
 *   many N one batch of N routes (several chunks), then every answer must be 0
 *   clean  one batch deleting the routes, the nexthop object and the bridge
 * Links the internal library: the batch is not public API.
 */
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "net/net.h"

#define BRIDGE_INDEX 4242

static void ip4(uint8_t out[16], const char *text)
{
        memset(out, 0, 16);
        if (inet_pton(AF_INET, text, out) != 1)
                abort();
}

static struct pn_rt route(const char *dst, unsigned len, const char *gw, uint32_t nhid)
{
        struct pn_rt rt = {.family = AF_INET, .dst_len = (uint8_t)len, .nhid = nhid};

        ip4(rt.dst, dst);
        if (gw) {
                ip4(rt.gw, gw);
                rt.has_gw = true;
        }
        return rt;
}

static const struct pn_route_hdr add_hdr = {.protocol = 123, .type = RTN_UNICAST, .table = 254};
static const struct pn_route_hdr del_hdr = {
    .protocol = 123, .scope = RT_SCOPE_NOWHERE, .table = 254};

/* Appends a libnl-built message: links and addresses join a batch this way. */
static void append(struct pn_nlbuf *b, struct nl_msg *msg)
{
        if (!msg)
                abort();
        pn_nlbuf_append(b, nlmsg_hdr(msg), false);
        nlmsg_free(msg);
}

static void bridge(struct pn_nlbuf *b, int cmd)
{
        bool add = cmd == RTM_NEWLINK;
        struct nl_msg *msg = pn_link_msg(cmd, add ? NLM_F_CREATE | NLM_F_EXCL : 0, BRIDGE_INDEX,
                                         add ? "bt0" : NULL, add ? IFF_UP : 0, add ? IFF_UP : 0);
        struct nlattr *li;

        /* created with a fixed index, so that the requests after it in the same batch can
         * name it */
        if (msg && add) {
                li = nla_nest_start(msg, IFLA_LINKINFO);
                if (!li || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0)
                        abort();
                nla_nest_end(msg, li);
        }
        append(b, msg);
}

static void addr(struct pn_nlbuf *b, int cmd, const char *text, unsigned prefixlen)
{
        struct pn_addr a = {.family = AF_INET, .ifindex = BRIDGE_INDEX, .prefixlen = prefixlen};

        ip4(a.addr, text);
        append(b, pn_addr_msg(cmd, cmd == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, &a));
}

static void nexthop(struct pn_nlbuf *b, int cmd, uint32_t id, const char *gw)
{
        struct pn_nh nh = {.id = id, .family = AF_INET, .oif = BRIDGE_INDEX};

        ip4(nh.gw, gw);
        pn_nexthop_put(b, cmd, cmd == RTM_NEWNEXTHOP ? NLM_F_CREATE | NLM_F_EXCL : 0, &nh, 123);
}

static void route_put(struct pn_nlbuf *b, int cmd, struct pn_rt rt)
{
        pn_route_put(b, cmd, cmd == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0, &rt,
                     cmd == RTM_NEWROUTE ? &add_hdr : &del_hdr);
}

struct lookup_seen {
        size_t index;
        struct pn_rt rt;
        int parsed;
};

static int lookup_reply(size_t i, struct nlmsghdr *hdr, void *userdata)
{
        struct lookup_seen *l = userdata;

        l->index = i;
        l->parsed = pn_route_parse(hdr, &l->rt);
        return 0;
}

/* Sends b, prints "i: errno-name" for each request. */
static int run(struct nl_sock *sk, struct pn_nlbuf *b, pn_nl_batch_fn fn, void *userdata,
               bool print)
{
        int r;

        if (b->error < 0) {
                fprintf(stderr, "building the requests failed: %s\n", strerror(-b->error));
                return 1;
        }
        r = pn_nl_batch(sk, b, fn, userdata);
        if (r < 0) {
                fprintf(stderr, "batch: %s\n", strerror(-r));
                return 1;
        }
        for (size_t i = 0; i < b->n && print; i++) {
                int e = pn_nl_req_error(&b->reqs[i]);

                printf("%zu: %s\n", i, e == 0 ? "ok" : strerrorname_np(-e));
        }
        return 0;
}

static int mixed(struct nl_sock *sk)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        struct lookup_seen seen = {.index = SIZE_MAX};
        uint8_t probe[16];
        char gw[INET_ADDRSTRLEN];

        bridge(&b, RTM_NEWLINK);
        addr(&b, RTM_NEWADDR, "10.99.0.1", 24);
        addr(&b, RTM_NEWADDR, "10.99.0.1", 24); /* EEXIST */
        route_put(&b, RTM_NEWROUTE, route("10.98.0.0", 24, "10.99.0.2", 0));
        nexthop(&b, RTM_NEWNEXTHOP, 77, "10.99.0.3");
        route_put(&b, RTM_NEWROUTE, route("10.97.0.0", 24, NULL, 77));
        route_put(&b, RTM_NEWROUTE, route("10.96.0.0", 24, "10.200.0.1", 0));
        ip4(probe, "10.98.0.5");
        pn_route_lookup_put(&b, AF_INET, probe, 0);
        route_put(&b, RTM_DELROUTE, route("10.95.0.0", 24, NULL, 0)); /* ESRCH */
        if (run(sk, &b, lookup_reply, &seen, true))
                return 1;
        inet_ntop(AF_INET, seen.rt.gw, gw, sizeof(gw));
        printf("lookup: index=%zu parsed=%d via=%s oif=%u\n", seen.index, seen.parsed,
               seen.rt.has_gw ? gw : "-", seen.rt.oif);
        return 0;
}

static int many(struct nl_sock *sk, size_t n, int cmd)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};
        size_t failed = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                char dst[32];

                snprintf(dst, sizeof(dst), "10.128.%zu.%zu", i / 256, i % 256);
                route_put(&b, cmd, route(dst, 32, "10.99.0.2", 0));
        }
        r = pn_nl_batch(sk, &b, NULL, NULL);
        for (size_t i = 0; i < b.n; i++)
                failed += pn_nl_req_error(&b.reqs[i]) != 0;
        printf("many: r=%d requests=%zu failed=%zu\n", r, b.n, failed);
        return r < 0;
}

static int clean(struct nl_sock *sk)
{
        _cleanup_nlbuf_ struct pn_nlbuf b = {0};

        route_put(&b, RTM_DELROUTE, route("10.98.0.0", 24, NULL, 0));
        route_put(&b, RTM_DELROUTE, route("10.97.0.0", 24, NULL, 77));
        nexthop(&b, RTM_DELNEXTHOP, 77, "10.99.0.3");
        addr(&b, RTM_DELADDR, "10.99.0.1", 24);
        bridge(&b, RTM_DELLINK);
        return run(sk, &b, NULL, NULL, true);
}

int main(int argc, char **argv)
{
        podnet_ctx *ctx = NULL;
        struct nl_sock *sk;
        int r = 2;

        if (argc < 2 || podnet_ctx_new(&ctx) < 0)
                return 2;
        sk = pn_nl_sock(ctx, NULL);
        if (!sk) {
                perror("pn_nl_sock");
                return 1;
        }
        if (strcmp(argv[1], "mixed") == 0)
                r = mixed(sk);
        else if (strcmp(argv[1], "many") == 0 && argc == 4)
                r = many(sk, strtoul(argv[2], NULL, 10),
                         strcmp(argv[3], "add") == 0 ? RTM_NEWROUTE : RTM_DELROUTE);
        else if (strcmp(argv[1], "clean") == 0)
                r = clean(sk);
        podnet_ctx_unref(ctx);
        return r;
}
