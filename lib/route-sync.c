/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reconciles the routes tagged with podnet's route protocol against the node list: one
 * dump, an in-memory diff, then only the difference written, pipelined over a raw
 * NETLINK_ROUTE socket; the sync report; flush; and the route event monitor.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "routes.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* Receive buffer we ask for: with one ack per request this bounds a chunk. */
#define NL_RCVBUF (8 * 1024 * 1024)
/* Requests sent with one sendmsg(); each ack costs ~1 KiB of receive buffer (skb truesize). */
#define NL_CHUNK_MAX 1024
#define NL_CHUNK_MIN 16
/* Slots per recvmmsg() and bytes per slot (an ack or a single route reply). */
#define NL_SLOTS 256
#define NL_SLOT_SIZE 1024
#define NL_DUMP_BUF (64 * 1024)

/* --- report ------------------------------------------------------------------------- */

struct report_entry {
        podnet_sync_action action;
        char *node;
        podnet_cidr *dst, *via;
        char *reason;
};

struct podnet_sync_report {
        struct report_entry *e;
        size_t n, cap;
        size_t writes;
};

PODNET_EXPORT podnet_sync_report *podnet_sync_report_free(podnet_sync_report *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++) {
                free(r->e[i].node);
                podnet_cidr_free(r->e[i].dst);
                podnet_cidr_free(r->e[i].via);
                free(r->e[i].reason);
        }
        free(r->e);
        free(r);
        return NULL;
}

PODNET_EXPORT size_t podnet_sync_report_count(const podnet_sync_report *r)
{
        return r ? r->n : 0;
}

PODNET_EXPORT size_t podnet_sync_report_count_action(const podnet_sync_report *r,
                                                     podnet_sync_action action)
{
        size_t n = 0;

        for (size_t i = 0; r && i < r->n; i++)
                if (r->e[i].action == action)
                        n++;
        return n;
}

PODNET_EXPORT size_t podnet_sync_report_writes(const podnet_sync_report *r)
{
        return r ? r->writes : 0;
}

PODNET_EXPORT podnet_sync_action podnet_sync_report_action(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].action : PODNET_SYNC_FAILED;
}

PODNET_EXPORT const char *podnet_sync_report_node(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].node : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_sync_report_dst(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].dst : NULL;
}

PODNET_EXPORT const podnet_cidr *podnet_sync_report_via(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].via : NULL;
}

PODNET_EXPORT const char *podnet_sync_report_reason(const podnet_sync_report *r, size_t i)
{
        return r && i < r->n ? r->e[i].reason : NULL;
}

PODNET_EXPORT const char *podnet_sync_action_name(podnet_sync_action action)
{
        static const char *const names[] = {
            [PODNET_SYNC_KEPT] = "kept",
            [PODNET_SYNC_ADDED] = "added",
            [PODNET_SYNC_REPLACED] = "replaced",
            [PODNET_SYNC_DELETED] = "deleted",
            [PODNET_SYNC_UNREACHABLE] = "unreachable",
            [PODNET_SYNC_SKIPPED] = "skipped",
            [PODNET_SYNC_FAILED] = "failed",
        };
        if ((unsigned)action >= ELEMENTSOF(names))
                return NULL;
        return names[action];
}

podnet_sync_report *pn_sync_report_new(void)
{
        return calloc(1, sizeof(podnet_sync_report));
}

static int report_add(podnet_sync_report *r, podnet_sync_action action, const char *node,
                      const struct pn_rt *rt, const char *reason_fmt, ...) _printf_(5, 6);

static int report_add(podnet_sync_report *r, podnet_sync_action action, const char *node,
                      const struct pn_rt *rt, const char *reason_fmt, ...)
{
        struct report_entry *e;
        int ret;

        if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 64;
                e = realloc(r->e, cap * sizeof(*e));
                if (!e)
                        return -ENOMEM;
                r->e = e;
                r->cap = cap;
        }
        e = &r->e[r->n];
        memset(e, 0, sizeof(*e));
        e->action = action;
        if (node && !(e->node = strdup(node)))
                return -ENOMEM;
        r->n++; /* from here the entry is freed with the report */
        if (rt) {
                ret = podnet_cidr_new(&e->dst, rt->family, rt->dst, rt->dst_len);
                if (ret < 0)
                        return ret;
                if (rt->has_gw) {
                        ret = podnet_cidr_new(&e->via, rt->family, rt->gw,
                                              rt->family == AF_INET ? 32 : 128);
                        if (ret < 0)
                                return ret;
                }
        }
        if (reason_fmt) {
                va_list ap;
                va_start(ap, reason_fmt);
                ret = vasprintf(&e->reason, reason_fmt, ap);
                va_end(ap);
                if (ret < 0) {
                        e->reason = NULL;
                        return -ENOMEM;
                }
        }
        return 0;
}

/* --- diff ----------------------------------------------------------------------------- */

int pn_rt_compare_dst(const struct pn_rt *a, const struct pn_rt *b)
{
        int r;

        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        r = memcmp(a->dst, b->dst, a->family == AF_INET ? 4 : 16);
        if (r != 0)
                return r;
        if (a->dst_len != b->dst_len)
                return a->dst_len < b->dst_len ? -1 : 1;
        return 0;
}

static int rt_qsort_compare(const void *a, const void *b)
{
        int r = pn_rt_compare_dst(a, b);
        const struct pn_rt *x = a, *y = b;

        if (r != 0)
                return r;
        /* stable order within one destination: by metric */
        if (x->priority != y->priority)
                return x->priority < y->priority ? -1 : 1;
        return 0;
}

static int rt_node_compare(const void *a, const void *b)
{
        int r = pn_rt_compare_dst(a, b);
        const struct pn_rt *x = a, *y = b;

        if (r != 0)
                return r;
        return x->node < y->node ? -1 : x->node > y->node;
}

static bool rt_equal(const struct pn_rt *want, const struct pn_rt *have)
{
        size_t alen = want->family == AF_INET ? 4 : 16;

        return have->type == RTN_UNICAST && !have->multipath && have->has_gw == want->has_gw &&
               have->priority == want->priority &&
               (!want->has_gw || memcmp(have->gw, want->gw, alen) == 0);
}

int pn_route_diff(struct pn_rt *want, size_t n_want, struct pn_rt *have, size_t n_have,
                  struct pn_op **ret, size_t *n_ret)
{
        struct pn_op *ops;
        size_t n = 0, i = 0, j = 0;

        if (!ret || !n_ret || (n_want && !want) || (n_have && !have))
                return -EINVAL;
        ops = calloc(n_want + n_have + 1, sizeof(*ops));
        if (!ops)
                return -ENOMEM;
        qsort(want, n_want, sizeof(*want), rt_qsort_compare);
        qsort(have, n_have, sizeof(*have), rt_qsort_compare);
        for (size_t k = 1; k < n_want; k++)
                if (pn_rt_compare_dst(&want[k - 1], &want[k]) == 0) {
                        free(ops);
                        return -EINVAL;
                }

        while (i < n_want || j < n_have) {
                int c;
                size_t g_end, match = SIZE_MAX;
                bool kept = false;

                if (i >= n_want)
                        c = 1;
                else if (j >= n_have)
                        c = -1;
                else
                        c = pn_rt_compare_dst(&want[i], &have[j]);
                if (c < 0) {
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                        i++;
                        continue;
                }
                /* the group of existing routes with this destination */
                for (g_end = j; g_end < n_have && pn_rt_compare_dst(&have[j], &have[g_end]) == 0;
                     g_end++)
                        ;
                if (c > 0) {
                        for (; j < g_end; j++)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[j]};
                        continue;
                }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (rt_equal(&want[i], &have[k])) {
                                match = k;
                                kept = true;
                        }
                for (size_t k = j; k < g_end && match == SIZE_MAX; k++)
                        if (have[k].priority == want[i].priority)
                                match = k;
                for (size_t k = j; k < g_end; k++)
                        if (k != match)
                                ops[n++] = (struct pn_op){PN_OP_DELETE, NULL, &have[k]};
                if (match == SIZE_MAX)
                        ops[n++] = (struct pn_op){PN_OP_ADD, &want[i], NULL};
                else
                        ops[n++] = (struct pn_op){kept ? PN_OP_KEEP : PN_OP_REPLACE, &want[i],
                                                  &have[match]};
                i++;
                j = g_end;
        }
        *ret = ops;
        *n_ret = n;
        return 0;
}

/* --- raw netlink ------------------------------------------------------------------------ */

struct nlsk {
        int fd;
        uint32_t seq;
        size_t chunk;
        char *dumpbuf;
        char *slots; /* NL_SLOTS * NL_SLOT_SIZE */
};

static void nlsk_close(struct nlsk *s)
{
        if (s->fd >= 0)
                close(s->fd);
        free(s->dumpbuf);
        free(s->slots);
        s->fd = -1;
        s->dumpbuf = s->slots = NULL;
}

static int nlsk_open(struct nlsk *s)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        int one = 1, size = NL_RCVBUF, got = 0;
        socklen_t len = sizeof(got);

        memset(s, 0, sizeof(*s));
        s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (s->fd < 0)
                return -errno;
        if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                nlsk_close(s);
                return r;
        }
        /* FORCE needs CAP_NET_ADMIN, which a writer has anyway; fall back for readers */
        if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        /* lets the kernel filter the dump by protocol and table (>= 4.20); we filter too */
        (void)setsockopt(s->fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
        if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
                got = 212992;
        s->chunk = (size_t)got / 2048;
        if (s->chunk > NL_CHUNK_MAX)
                s->chunk = NL_CHUNK_MAX;
        if (s->chunk < NL_CHUNK_MIN)
                s->chunk = NL_CHUNK_MIN;
        s->seq = (uint32_t)time(NULL) << 8;
        s->dumpbuf = malloc(NL_DUMP_BUF);
        s->slots = malloc((size_t)NL_SLOTS * NL_SLOT_SIZE);
        if (!s->dumpbuf || !s->slots) {
                nlsk_close(s);
                return -ENOMEM;
        }
        return 0;
}

struct msgbuf {
        char *buf;
        size_t len, cap;
};

static void *msgbuf_put(struct msgbuf *b, size_t len)
{
        size_t need = b->len + NLMSG_ALIGN(len);
        void *p;

        if (need > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 16384;
                while (cap < need)
                        cap *= 2;
                p = realloc(b->buf, cap);
                if (!p)
                        return NULL;
                b->buf = p;
                b->cap = cap;
        }
        p = b->buf + b->len;
        memset(p, 0, NLMSG_ALIGN(len));
        b->len = need;
        return p;
}

static int msg_attr(struct msgbuf *b, struct nlmsghdr *nlh, uint16_t type, const void *data,
                    size_t len)
{
        size_t off = (char *)nlh - b->buf;
        struct rtattr *rta = msgbuf_put(b, RTA_LENGTH(len));

        if (!rta)
                return -ENOMEM;
        nlh = (struct nlmsghdr *)(b->buf + off);
        rta->rta_type = type;
        rta->rta_len = (unsigned short)RTA_LENGTH(len);
        memcpy(RTA_DATA(rta), data, len);
        nlh->nlmsg_len = (uint32_t)(b->len - off);
        return 0;
}

/* Appends one route request; for RTM_GETROUTE only the destination (a host) is used. */
static int msg_route(struct msgbuf *b, uint16_t type, uint16_t flags, uint32_t seq,
                     const struct pn_rt *rt, unsigned protocol, unsigned table)
{
        size_t off = b->len, alen = rt->family == AF_INET ? 4 : 16;
        struct nlmsghdr *nlh = msgbuf_put(b, NLMSG_LENGTH(sizeof(struct rtmsg)));
        struct rtmsg *rtm;
        uint32_t t32 = table;
        int r;

        if (!nlh)
                return -ENOMEM;
        nlh->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        rtm = NLMSG_DATA(nlh);
        rtm->rtm_family = rt->family;
        if (type == RTM_GETROUTE) {
                rtm->rtm_dst_len = (unsigned char)(alen * 8);
                return msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_DST, rt->dst, alen);
        }
        rtm->rtm_dst_len = rt->dst_len;
        rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
        rtm->rtm_protocol = (unsigned char)protocol;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = type == RTM_DELROUTE ? rt->type : RTN_UNICAST;
        r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_DST, rt->dst, alen);
        if (r >= 0)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_TABLE, &t32, sizeof(t32));
        if (r >= 0 && rt->has_gw)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_GATEWAY, rt->gw, alen);
        if (r >= 0 && rt->priority)
                r = msg_attr(b, (struct nlmsghdr *)(b->buf + off), RTA_PRIORITY, &rt->priority,
                             sizeof(rt->priority));
        return r;
}

/* Parses a route message; returns false for what is not a plain route of table `table`
 * (table 0: any). */
static bool parse_route(const struct nlmsghdr *nlh, struct pn_rt *rt, unsigned *protocol,
                        unsigned *table)
{
        const struct rtmsg *rtm = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
        size_t alen;

        if (len < 0 || (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
                return false;
        alen = rtm->rtm_family == AF_INET ? 4 : 16;
        memset(rt, 0, sizeof(*rt));
        rt->family = rtm->rtm_family;
        rt->dst_len = rtm->rtm_dst_len;
        rt->type = rtm->rtm_type;
        rt->node = SIZE_MAX;
        *protocol = rtm->rtm_protocol;
        *table = rtm->rtm_table;
        for (const struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
                size_t plen = RTA_PAYLOAD(rta);
                switch (rta->rta_type) {
                case RTA_DST:
                        if (plen == alen)
                                memcpy(rt->dst, RTA_DATA(rta), alen);
                        break;
                case RTA_GATEWAY:
                        if (plen == alen) {
                                memcpy(rt->gw, RTA_DATA(rta), alen);
                                rt->has_gw = true;
                        }
                        break;
                case RTA_PRIORITY:
                        if (plen == 4)
                                memcpy(&rt->priority, RTA_DATA(rta), 4);
                        break;
                case RTA_TABLE:
                        if (plen == 4)
                                memcpy(table, RTA_DATA(rta), 4);
                        break;
                case RTA_MULTIPATH:
                        rt->multipath = true;
                        break;
                default:
                        break;
                }
        }
        return !(rtm->rtm_flags & RTM_F_CLONED);
}

static int nl_send(int fd, const void *buf, size_t len)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        ssize_t k;

        do
                k = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        return (size_t)k == len ? 0 : -EIO;
}

/* Dumps the routes of `protocol` in `table` (both families). */
static int nl_dump(struct nlsk *s, unsigned protocol, unsigned table, struct pn_rt **ret,
                   size_t *n_ret)
{
        for (int attempt = 0; attempt < 5; attempt++) {
                struct {
                        struct nlmsghdr nlh;
                        struct rtmsg rtm;
                        struct rtattr rta;
                        uint32_t table;
                } req = {0};
                struct pn_rt *v = NULL;
                size_t n = 0, cap = 0;
                bool done = false, intr = false;
                uint32_t seq = ++s->seq;
                int r = 0;

                req.nlh.nlmsg_len = sizeof(req);
                req.nlh.nlmsg_type = RTM_GETROUTE;
                req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
                req.nlh.nlmsg_seq = seq;
                req.rtm.rtm_family = AF_UNSPEC;
                req.rtm.rtm_protocol = (unsigned char)protocol;
                req.rtm.rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
                req.rta.rta_type = RTA_TABLE;
                req.rta.rta_len = RTA_LENGTH(sizeof(uint32_t));
                req.table = table;
                r = nl_send(s->fd, &req, sizeof(req));
                if (r < 0)
                        return r;
                while (!done && r >= 0) {
                        ssize_t k = recv(s->fd, s->dumpbuf, NL_DUMP_BUF, 0);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0) {
                                r = -errno;
                                break;
                        }
                        int len = (int)k;
                        for (struct nlmsghdr *nlh = (struct nlmsghdr *)s->dumpbuf;
                             NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
                                struct pn_rt rt;
                                unsigned proto, tbl;

                                if (nlh->nlmsg_seq != seq)
                                        continue;
                                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                                        intr = true;
                                if (nlh->nlmsg_type == NLMSG_DONE) {
                                        done = true;
                                        break;
                                }
                                if (nlh->nlmsg_type == NLMSG_ERROR) {
                                        const struct nlmsgerr *e = NLMSG_DATA(nlh);
                                        r = e->error ? e->error : -EIO;
                                        break;
                                }
                                if (nlh->nlmsg_type != RTM_NEWROUTE)
                                        continue;
                                if (!parse_route(nlh, &rt, &proto, &tbl) || proto != protocol ||
                                    tbl != table)
                                        continue;
                                if (n == cap) {
                                        size_t c2 = cap ? cap * 2 : 256;
                                        struct pn_rt *v2 = realloc(v, c2 * sizeof(*v2));
                                        if (!v2) {
                                                r = -ENOMEM;
                                                break;
                                        }
                                        v = v2;
                                        cap = c2;
                                }
                                v[n++] = rt;
                        }
                }
                if (r < 0 || intr) {
                        free(v);
                        if (r < 0 && r != -ENOBUFS)
                                return r;
                        /* interrupted by a concurrent change or overrun: dump again */
                        if (r == -ENOBUFS || intr)
                                continue;
                }
                *ret = v;
                *n_ret = n;
                return 0;
        }
        return -EAGAIN;
}

struct nlreq {
        uint16_t type, flags;
        const struct pn_rt *rt;
        int error; /* kernel's answer, 0 or -errno */
        bool answered;
        struct pn_rt reply;  /* RTM_GETROUTE */
        const char *ext_msg; /* unused; kept NULL */
};

/* Sends the requests in chunks with one sendmsg each and collects exactly one answer
 * per request: an ack (writes) or a route (lookups). */
static int nl_batch(struct nlsk *s, struct nlreq *reqs, size_t n, unsigned protocol, unsigned table)
{
        struct msgbuf b = {0};
        struct mmsghdr mm[NL_SLOTS];
        struct iovec iov[NL_SLOTS];
        int r = 0;

        for (size_t i = 0; i < NL_SLOTS; i++) {
                iov[i].iov_base = s->slots + i * NL_SLOT_SIZE;
                iov[i].iov_len = NL_SLOT_SIZE;
        }
        for (size_t start = 0; start < n && r >= 0; start += s->chunk) {
                size_t end = start + s->chunk < n ? start + s->chunk : n, left = end - start;
                uint32_t base = s->seq + 1;

                b.len = 0;
                for (size_t i = start; i < end && r >= 0; i++)
                        r = msg_route(&b, reqs[i].type, reqs[i].flags, base + (uint32_t)(i - start),
                                      reqs[i].rt, protocol, table);
                s->seq += (uint32_t)(end - start);
                if (r >= 0)
                        r = nl_send(s->fd, b.buf, b.len);
                while (r >= 0 && left > 0) {
                        int got;

                        memset(mm, 0, sizeof(mm));
                        for (size_t i = 0; i < NL_SLOTS; i++) {
                                mm[i].msg_hdr.msg_iov = &iov[i];
                                mm[i].msg_hdr.msg_iovlen = 1;
                        }
                        got = recvmmsg(s->fd, mm, left < NL_SLOTS ? (unsigned)left : NL_SLOTS, 0,
                                       NULL);
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got < 0) {
                                r = -errno;
                                break;
                        }
                        for (int m = 0; m < got; m++) {
                                int len = (int)mm[m].msg_len;
                                for (struct nlmsghdr *nlh = iov[m].iov_base; NLMSG_OK(nlh, len);
                                     nlh = NLMSG_NEXT(nlh, len)) {
                                        uint32_t idx = nlh->nlmsg_seq - base;
                                        struct nlreq *q;
                                        unsigned proto, tbl;

                                        if (nlh->nlmsg_seq < base || idx >= end - start)
                                                continue;
                                        q = &reqs[start + idx];
                                        if (q->answered)
                                                continue;
                                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                                const struct nlmsgerr *e = NLMSG_DATA(nlh);
                                                q->error = e->error;
                                        } else if (nlh->nlmsg_type == RTM_NEWROUTE) {
                                                parse_route(nlh, &q->reply, &proto, &tbl);
                                        } else {
                                                continue;
                                        }
                                        q->answered = true;
                                        left--;
                                }
                        }
                }
        }
        free(b.buf);
        return r;
}

/* --- sync --------------------------------------------------------------------------- */

static double ms_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void fmt_addr(int family, const void *a, char *buf, size_t size)
{
        if (!inet_ntop(family, a, buf, (socklen_t)size))
                snprintf(buf, size, "?");
}

static void fmt_rt(const struct pn_rt *rt, char *buf, size_t size)
{
        char a[INET6_ADDRSTRLEN];

        fmt_addr(rt->family, rt->dst, a, sizeof(a));
        snprintf(buf, size, "%s/%u", a, rt->dst_len);
}

static uint32_t default_priority(int family)
{
        /* what the kernel records for a route added without a metric */
        return family == AF_INET6 ? 1024 : 0;
}

struct lookup {
        uint8_t family;
        uint8_t addr[16];
        int error;
        struct pn_rt reply;
};

static int lookup_compare(const void *a, const void *b)
{
        const struct lookup *x = a, *y = b;

        if (x->family != y->family)
                return x->family < y->family ? -1 : 1;
        return memcmp(x->addr, y->addr, 16);
}

/* Why `gw` is not usable as a next hop, or NULL when it is. *why is the caller's. */
static int unreachable_reason(const struct lookup *l, char **why)
{
        char a[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];
        int r = 0;

        *why = NULL;
        fmt_addr(l->family, l->addr, a, sizeof(a));
        if (l->error)
                r = asprintf(why, "no route to %s (%s): not routable on this network", a,
                             strerror(-l->error));
        else if (l->reply.type == RTN_LOCAL)
                r = asprintf(why, "%s is an address of this node", a);
        else if (l->reply.type != RTN_UNICAST)
                r = asprintf(why,
                             "the route to %s is not a unicast route: not routable on "
                             "this network",
                             a);
        else if (l->reply.has_gw) {
                fmt_addr(l->family, l->reply.gw, g, sizeof(g));
                r = asprintf(why,
                             "%s is reached via gateway %s, not directly: not routable on "
                             "this network",
                             a, g);
        }
        return r < 0 ? -ENOMEM : 0;
}

static const struct lookup *lookup_find(const struct lookup *v, size_t n, const struct pn_rt *rt)
{
        struct lookup key = {.family = rt->family};

        memcpy(key.addr, rt->gw, rt->family == AF_INET ? 4 : 16);
        return bsearch(&key, v, n, sizeof(*v), lookup_compare);
}

struct sync_state {
        podnet_ctx *ctx;
        const podnet_nodes *nodes;
        podnet_sync_config cfg;
        podnet_sync_report *report;
        struct pn_rt *want, *have;
        size_t n_want, n_have;
        struct pn_op *ops;
        size_t n_ops;
        struct lookup *lookups;
        size_t n_lookups;
        char **why; /* per op: unreachable reason, or NULL */
        struct nlreq *reqs;
        size_t n_reqs;
        size_t *req_op; /* op index of each request */
        struct nlsk sk;
};

static void sync_state_done(struct sync_state *st)
{
        free(st->want);
        free(st->have);
        free(st->ops);
        free(st->lookups);
        for (size_t i = 0; st->why && i < st->n_ops; i++)
                free(st->why[i]);
        free(st->why);
        free(st->reqs);
        free(st->req_op);
        nlsk_close(&st->sk);
        podnet_sync_report_free(st->report);
}

static const char *node_name_of(const struct sync_state *st, const struct pn_rt *rt)
{
        if (!rt || rt->node == SIZE_MAX)
                return NULL;
        return podnet_nodes_name(st->nodes, rt->node);
}

/* The desired routes; nodes that get none are reported SKIPPED here. */
int pn_routes_desired(const podnet_nodes *nodes, const char *node_name, podnet_sync_report *report,
                      struct pn_rt **ret, size_t *n_ret, podnet_error **err)
{
        struct pn_rt *want = NULL;
        size_t total = 0, n_want = 0;
        int self = -1;
        int r;

        if (node_name)
                self = podnet_nodes_find(nodes, node_name);
        for (size_t i = 0; i < podnet_nodes_count(nodes); i++)
                total += podnet_nodes_n_pod_cidrs(nodes, i);
        want = calloc(total + 1, sizeof(*want));
        if (!want)
                goto oom;

        for (size_t i = 0; i < podnet_nodes_count(nodes); i++) {
                const char *name = podnet_nodes_name(nodes, i);
                size_t n = podnet_nodes_n_pod_cidrs(nodes, i);

                if (self >= 0 && (size_t)self == i)
                        continue;
                if (n == 0) {
                        r = report_add(report, PODNET_SYNC_SKIPPED, name, NULL, "no pod CIDR");
                        if (r < 0)
                                goto oom;
                        continue;
                }
                for (size_t j = 0; j < n; j++) {
                        const podnet_cidr *c = podnet_nodes_pod_cidr(nodes, i, j);
                        int family = podnet_cidr_family(c);
                        const podnet_cidr *via = podnet_nodes_address(nodes, i, family);
                        struct pn_rt rt = {
                            .family = (uint8_t)family, .type = RTN_UNICAST, .node = i};
                        const char *clash = NULL;

                        rt.dst_len = (uint8_t)podnet_cidr_prefixlen(c);
                        memcpy(rt.dst, podnet_cidr_addr(c), family == AF_INET ? 4 : 16);
                        rt.priority = default_priority(family);
                        if (!via) {
                                r = report_add(report, PODNET_SYNC_SKIPPED, name, &rt,
                                               "node %s has no %s address", name,
                                               family == AF_INET ? "IPv4" : "IPv6");
                                if (r < 0)
                                        goto oom;
                                continue;
                        }
                        rt.has_gw = true;
                        memcpy(rt.gw, podnet_cidr_addr(via), family == AF_INET ? 4 : 16);
                        if (self >= 0)
                                for (size_t k = 0; k < podnet_nodes_n_pod_cidrs(nodes, self); k++)
                                        if (podnet_cidr_overlaps(
                                                podnet_nodes_pod_cidr(nodes, self, k), c) > 0)
                                                clash = node_name;
                        if (clash) {
                                char d[PODNET_CIDR_STRLEN + 8];
                                fmt_rt(&rt, d, sizeof(d));
                                r = report_add(report, PODNET_SYNC_SKIPPED, name, &rt,
                                               "pod CIDR %s is also claimed by node %s", d, clash);
                                if (r < 0)
                                        goto oom;
                                continue;
                        }
                        want[n_want++] = rt;
                }
        }
        /* a CIDR claimed by two peers: the first in list order keeps it */
        qsort(want, n_want, sizeof(*want), rt_node_compare);
        size_t kept = 0;
        for (size_t k = 0; k < n_want; k++) {
                if (kept > 0 && pn_rt_compare_dst(&want[kept - 1], &want[k]) == 0) {
                        char d[PODNET_CIDR_STRLEN + 8];
                        const char *name = podnet_nodes_name(nodes, want[k].node);
                        fmt_rt(&want[k], d, sizeof(d));
                        r = report_add(report, PODNET_SYNC_SKIPPED, name, &want[k],
                                       "pod CIDR %s is also claimed by node %s", d,
                                       podnet_nodes_name(nodes, want[kept - 1].node));
                        if (r < 0)
                                goto oom;
                        continue;
                }
                want[kept++] = want[k];
        }
        *ret = want;
        *n_ret = kept;
        return 0;
oom:
        free(want);
        return pn_error(err, ENOMEM, 0, "Computing the desired routes");
}

/* Resolves the next hop of every route about to be written (RTM_GETROUTE per address,
 * pipelined). Routes already installed are not looked up again: the kernel checked their
 * gateway when they were added. */
static int resolve_next_hops(struct sync_state *st, podnet_error **err)
{
        _cleanup_free_ struct nlreq *reqs = NULL;
        _cleanup_free_ struct pn_rt *hosts = NULL;
        size_t n = 0, u = 0;
        int r;

        st->why = calloc(st->n_ops + 1, sizeof(*st->why));
        st->lookups = calloc(st->n_ops + 1, sizeof(*st->lookups));
        if (!st->why || !st->lookups)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct pn_rt *w = st->ops[i].want;
                if (st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE)
                        continue;
                st->lookups[n].family = w->family;
                memcpy(st->lookups[n].addr, w->gw, w->family == AF_INET ? 4 : 16);
                n++;
        }
        if (n == 0)
                return 0;
        qsort(st->lookups, n, sizeof(*st->lookups), lookup_compare);
        for (size_t i = 0; i < n; i++)
                if (u == 0 || lookup_compare(&st->lookups[u - 1], &st->lookups[i]) != 0)
                        st->lookups[u++] = st->lookups[i];
        st->n_lookups = u;

        reqs = calloc(u, sizeof(*reqs));
        hosts = calloc(u, sizeof(*hosts));
        if (!reqs || !hosts)
                return pn_error(err, ENOMEM, 0, "Resolving next hops");
        for (size_t i = 0; i < u; i++) {
                hosts[i].family = st->lookups[i].family;
                memcpy(hosts[i].dst, st->lookups[i].addr, 16);
                reqs[i].type = RTM_GETROUTE;
                reqs[i].rt = &hosts[i];
        }
        r = nl_batch(&st->sk, reqs, u, 0, 0);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Looking up routes to peers");
        for (size_t i = 0; i < u; i++) {
                st->lookups[i].error = reqs[i].error;
                st->lookups[i].reply = reqs[i].reply;
        }
        for (size_t i = 0; i < st->n_ops; i++) {
                const struct lookup *l;
                if (st->ops[i].kind != PN_OP_ADD && st->ops[i].kind != PN_OP_REPLACE)
                        continue;
                l = lookup_find(st->lookups, st->n_lookups, st->ops[i].want);
                if (l && unreachable_reason(l, &st->why[i]) < 0)
                        return pn_error(err, ENOMEM, 0, "Resolving next hops");
        }
        return 0;
}

/* Queues the writes: deletes first, then replacements, then additions. */
static int plan_writes(struct sync_state *st, podnet_error **err)
{
        static const enum pn_op_kind order[] = {PN_OP_DELETE, PN_OP_REPLACE, PN_OP_ADD};

        st->reqs = calloc(st->n_ops + 1, sizeof(*st->reqs));
        st->req_op = calloc(st->n_ops + 1, sizeof(*st->req_op));
        if (!st->reqs || !st->req_op)
                return pn_error(err, ENOMEM, 0, "Planning route changes");
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < st->n_ops; i++) {
                        const struct pn_op *op = &st->ops[i];
                        struct nlreq *q = &st->reqs[st->n_reqs];
                        bool unreachable = st->why[i] != NULL;

                        if (op->kind == PN_OP_KEEP)
                                continue;
                        /* an unreachable replacement still removes the stale route */
                        if (order[o] == PN_OP_DELETE &&
                            (op->kind == PN_OP_DELETE ||
                             (op->kind == PN_OP_REPLACE && unreachable))) {
                                q->type = RTM_DELROUTE;
                                q->rt = op->have;
                        } else if (order[o] == PN_OP_REPLACE && op->kind == PN_OP_REPLACE &&
                                   !unreachable) {
                                q->type = RTM_NEWROUTE;
                                q->flags = NLM_F_CREATE | NLM_F_REPLACE;
                                q->rt = op->want;
                        } else if (order[o] == PN_OP_ADD && op->kind == PN_OP_ADD && !unreachable) {
                                q->type = RTM_NEWROUTE;
                                q->flags = NLM_F_CREATE | NLM_F_EXCL;
                                q->rt = op->want;
                        } else {
                                continue;
                        }
                        q->flags |= NLM_F_ACK;
                        st->req_op[st->n_reqs++] = i;
                }
        return 0;
}

static int request_error_of_op(const struct sync_state *st, size_t op, bool deletion)
{
        for (size_t k = 0; k < st->n_reqs; k++)
                if (st->req_op[k] == op && (st->reqs[k].type == RTM_DELROUTE) == deletion)
                        return st->reqs[k].answered ? st->reqs[k].error : -EIO;
        return 0;
}

static int build_report(struct sync_state *st, podnet_error **err)
{
        int first_error = 0;
        int r = 0;

        for (size_t i = 0; i < st->n_ops && r >= 0; i++) {
                const struct pn_op *op = &st->ops[i];
                const struct pn_rt *rt = op->want ? op->want : op->have;
                const char *node = node_name_of(st, op->want);
                char d[PODNET_CIDR_STRLEN + 8], g[INET6_ADDRSTRLEN];
                int e;

                fmt_rt(rt, d, sizeof(d));
                if (rt->has_gw)
                        fmt_addr(rt->family, rt->gw, g, sizeof(g));
                else
                        snprintf(g, sizeof(g), "-");
                if (op->kind == PN_OP_KEEP) {
                        r = report_add(st->report, PODNET_SYNC_KEPT, node, rt, NULL);
                        continue;
                }
                if (op->kind == PN_OP_DELETE || (op->kind == PN_OP_REPLACE && st->why[i])) {
                        e = st->cfg.dry_run ? 0 : request_error_of_op(st, i, true);
                        if (e == -ESRCH || e == -ENOENT)
                                e = 0; /* already gone */
                        if (e < 0) {
                                if (!first_error)
                                        first_error = pn_error(err, -e, PODNET_CNI_ERR_NETLINK,
                                                               "Deleting route %s via %s", d, g);
                                r = report_add(st->report, PODNET_SYNC_FAILED, node, op->have,
                                               "deleting: %s", strerror(-e));
                        } else {
                                r = report_add(st->report, PODNET_SYNC_DELETED, node, op->have,
                                               op->kind == PN_OP_DELETE ? "stale"
                                                                        : "peer address changed");
                        }
                        if (r < 0 || op->kind == PN_OP_DELETE)
                                continue;
                }
                if (st->why[i]) {
                        r = report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt, "%s",
                                       st->why[i]);
                        continue;
                }
                e = st->cfg.dry_run ? 0 : request_error_of_op(st, i, false);
                if (e == -ENETUNREACH || e == -EHOSTUNREACH) {
                        r = report_add(st->report, PODNET_SYNC_UNREACHABLE, node, rt,
                                       "the kernel refused gateway %s: %s", g, strerror(-e));
                } else if (e == -EEXIST) {
                        if (!first_error)
                                first_error = pn_error_plain(
                                    err, EEXIST, PODNET_CNI_ERR_NETLINK,
                                    "Adding route %s via %s: a route to %s that podnet "
                                    "does not own exists",
                                    d, g, d);
                        r = report_add(st->report, PODNET_SYNC_FAILED, node, rt,
                                       "a route to %s that podnet does not own exists", d);
                } else if (e < 0) {
                        if (!first_error)
                                first_error =
                                    pn_error(err, -e, PODNET_CNI_ERR_NETLINK, "%s route %s via %s",
                                             op->kind == PN_OP_ADD ? "Adding" : "Replacing", d, g);
                        r = report_add(st->report, PODNET_SYNC_FAILED, node, rt, "%s",
                                       strerror(-e));
                } else {
                        r = report_add(st->report,
                                       op->kind == PN_OP_ADD ? PODNET_SYNC_ADDED
                                                             : PODNET_SYNC_REPLACED,
                                       node, rt, NULL);
                }
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Reporting");
        return first_error;
}

PODNET_EXPORT int podnet_routes_sync(podnet_ctx *ctx, const podnet_nodes *nodes,
                                     const podnet_sync_config *config, podnet_sync_report **ret,
                                     podnet_error **err)
{
        struct sync_state st = {.ctx = ctx, .nodes = nodes, .sk = {.fd = -1}};
        struct timespec t0;
        int r;

        if (!ctx || !nodes ||
            PODNET_OPTS_COPY(st.cfg, config,
                             offsetof(podnet_sync_config, dry_run) + sizeof(st.cfg.dry_run)) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid route sync configuration");
        if (st.cfg.protocol == 0)
                st.cfg.protocol = PODNET_ROUTE_PROTOCOL;
        if (st.cfg.table == 0)
                st.cfg.table = RT_TABLE_MAIN;
        if (st.cfg.protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route protocol %u is not in 1..255",
                                      st.cfg.protocol);
        st.report = pn_sync_report_new();
        if (!st.report) {
                r = pn_error(err, ENOMEM, 0, "Syncing routes");
                goto out;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = pn_routes_desired(nodes, st.cfg.node_name, st.report, &st.want, &st.n_want, err);
        if (r < 0)
                goto out;
        r = nlsk_open(&st.sk);
        if (r < 0) {
                r = pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Opening a netlink route socket");
                goto out;
        }
        r = nl_dump(&st.sk, st.cfg.protocol, st.cfg.table, &st.have, &st.n_have);
        if (r < 0) {
                r = pn_error(err, -r, PODNET_CNI_ERR_NETLINK,
                             "Dumping routes of protocol %u in table %u", st.cfg.protocol,
                             st.cfg.table);
                goto out;
        }
        pn_debug(ctx, "Route sync: %zu wanted, %zu installed (%.2f ms)", st.n_want, st.n_have,
                 ms_since(&t0));
        r = pn_route_diff(st.want, st.n_want, st.have, st.n_have, &st.ops, &st.n_ops);
        if (r < 0) {
                r = pn_error(err, -r, 0, "Comparing routes");
                goto out;
        }
        r = resolve_next_hops(&st, err);
        if (r < 0)
                goto out;
        pn_debug(ctx, "Route sync: diffed, %zu next hops resolved (%.2f ms)", st.n_lookups,
                 ms_since(&t0));
        r = plan_writes(&st, err);
        if (r < 0)
                goto out;
        if (!st.cfg.dry_run && st.n_reqs > 0) {
                r = nl_batch(&st.sk, st.reqs, st.n_reqs, st.cfg.protocol, st.cfg.table);
                for (size_t k = 0; k < st.n_reqs; k++)
                        if (st.reqs[k].answered)
                                st.report->writes++;
                if (r < 0) {
                        r = pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Writing routes");
                        /* the report still says what happened */
                }
        }
        pn_debug(ctx, "Route sync: %zu writes in chunks of %zu (%.2f ms)", st.n_reqs, st.sk.chunk,
                 ms_since(&t0));
        {
                int r2 = build_report(&st, err);
                if (r >= 0)
                        r = r2;
        }
out:
        if (ret && st.report)
                *ret = steal_pointer(&st.report);
        sync_state_done(&st);
        return r < 0 ? r : 0;
}

PODNET_EXPORT int podnet_routes_flush(podnet_ctx *ctx, unsigned protocol, unsigned table,
                                      podnet_error **err)
{
        struct nlsk sk = {.fd = -1};
        _cleanup_free_ struct pn_rt *have = NULL;
        _cleanup_free_ struct nlreq *reqs = NULL;
        size_t n = 0, deleted = 0;
        int r;

        if (!ctx)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        if (protocol == 0)
                protocol = PODNET_ROUTE_PROTOCOL;
        if (table == 0)
                table = RT_TABLE_MAIN;
        if (protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route protocol %u is not in 1..255",
                                      protocol);
        r = nlsk_open(&sk);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Opening a netlink route socket");
        r = nl_dump(&sk, protocol, table, &have, &n);
        if (r < 0) {
                nlsk_close(&sk);
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK,
                                "Dumping routes of protocol %u in table %u", protocol, table);
        }
        reqs = calloc(n + 1, sizeof(*reqs));
        if (!reqs) {
                nlsk_close(&sk);
                return pn_error(err, ENOMEM, 0, "Flushing routes");
        }
        for (size_t i = 0; i < n; i++) {
                reqs[i].type = RTM_DELROUTE;
                reqs[i].flags = NLM_F_ACK;
                reqs[i].rt = &have[i];
        }
        r = nl_batch(&sk, reqs, n, protocol, table);
        nlsk_close(&sk);
        if (r < 0)
                return pn_error(err, -r, PODNET_CNI_ERR_NETLINK, "Deleting routes of protocol %u",
                                protocol);
        for (size_t i = 0; i < n; i++) {
                char d[PODNET_CIDR_STRLEN + 8];
                if (reqs[i].error == 0) {
                        deleted++;
                        continue;
                }
                if (reqs[i].error == -ESRCH || reqs[i].error == -ENOENT)
                        continue;
                fmt_rt(&have[i], d, sizeof(d));
                return pn_error(err, -reqs[i].error, PODNET_CNI_ERR_NETLINK, "Deleting route %s",
                                d);
        }
        return (int)deleted;
}

/* --- route monitor ------------------------------------------------------------------- */

struct podnet_route_monitor {
        podnet_ctx *ctx;
        int fd;
        unsigned protocol;
        char *buf;
};

PODNET_EXPORT podnet_route_monitor *podnet_route_monitor_free(podnet_route_monitor *m)
{
        if (!m)
                return NULL;
        if (m->fd >= 0)
                close(m->fd);
        free(m->buf);
        podnet_ctx_unref(m->ctx);
        free(m);
        return NULL;
}

PODNET_EXPORT int podnet_route_monitor_new(podnet_ctx *ctx, podnet_route_monitor **ret,
                                           unsigned protocol, podnet_error **err)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                                 .nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE};
        podnet_route_monitor *m;
        int size = NL_RCVBUF;

        if (!ctx || !ret)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        if (protocol == 0)
                protocol = PODNET_ROUTE_PROTOCOL;
        if (protocol > 255)
                return pn_error_plain(err, EINVAL, 0, "Route protocol %u is not in 1..255",
                                      protocol);
        m = calloc(1, sizeof(*m));
        if (!m)
                return pn_error(err, ENOMEM, 0, "Creating a route monitor");
        m->protocol = protocol;
        m->buf = malloc(NL_DUMP_BUF);
        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (!m->buf || m->fd < 0 || bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = m->buf ? errno : ENOMEM;
                podnet_route_monitor_free(m);
                return pn_error(err, e, PODNET_CNI_ERR_NETLINK,
                                "Subscribing to route change notifications");
        }
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        m->ctx = podnet_ctx_ref(ctx);
        *ret = m;
        return 0;
}

PODNET_EXPORT int podnet_route_monitor_fd(const podnet_route_monitor *m)
{
        return m ? m->fd : -EINVAL;
}

PODNET_EXPORT int podnet_route_monitor_process(podnet_route_monitor *m, podnet_error **err)
{
        int events = 0;

        if (!m)
                return pn_error_plain(err, EINVAL, 0, "Invalid arguments");
        for (;;) {
                ssize_t k = recv(m->fd, m->buf, NL_DUMP_BUF, MSG_DONTWAIT);
                int len;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (k < 0 && errno == ENOBUFS) {
                        /* notifications were lost: the caller must resync */
                        events++;
                        continue;
                }
                if (k < 0)
                        return pn_error(err, errno, PODNET_CNI_ERR_NETLINK,
                                        "Reading route change notifications");
                len = (int)k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf; NLMSG_OK(nlh, len);
                     nlh = NLMSG_NEXT(nlh, len)) {
                        const struct rtmsg *rtm;
                        if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
                                continue;
                        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
                                continue;
                        rtm = NLMSG_DATA(nlh);
                        if (rtm->rtm_protocol == m->protocol)
                                events++;
                }
        }
        return events;
}
