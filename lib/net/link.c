/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Links: bridge ensure/delete, veth pairs with the pod end created directly inside the
 * pod namespace under a name derived from (container id, ifname), link lookup and up.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <sys/random.h>

#include "net/net.h"

#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS 0
#endif

void pn_mac_format(const uint8_t *mac, unsigned len, char *buf, size_t size)
{
        size_t off = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        for (unsigned i = 0; i < len && off + (i ? 4 : 3) <= size; i++)
                off += (size_t)snprintf(buf + off, size - off, "%s%02x", i ? ":" : "", mac[i]);
}

int pn_mac_parse(const char *s, uint8_t mac[6])
{
        unsigned v[6];
        char extra;

        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &extra) != 6 ||
            strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)v[i];
        if (mac[0] & 1) /* multicast: no interface may have it */
                return -EINVAL;
        return 0;
}

/* The alias podnet_bridge_ensure() gives a bridge once its MAC address is fixed: every
 * later call sees it in the lookup it makes anyway, so keeping the MAC costs nothing. */
#define BRIDGE_PINNED_ALIAS "podnet: MAC address pinned"

struct link_reply {
        struct pn_link *out;
        bool found;
};

static int link_reply(struct nlmsghdr *hdr, void *userdata)
{
        struct link_reply *lr = userdata;
        struct pn_link *l = lr->out;
        struct nlattr *tb[IFLA_MAX + 1];
        const struct ifinfomsg *ifi;

        if (hdr->nlmsg_type != RTM_NEWLINK || lr->found)
                return 0;
        if (nlmsg_parse(hdr, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
                return -EBADMSG;
        ifi = nlmsg_data(hdr);
        l->ifindex = ifi->ifi_index;
        l->flags = ifi->ifi_flags;
        l->mtu = pn_attr_u32(tb[IFLA_MTU], 0);
        l->master = (int)pn_attr_u32(tb[IFLA_MASTER], 0);
        l->hairpin = -1;
        l->group = pn_attr_u32(tb[IFLA_GROUP], 0);
        l->peer_ifindex = (int)pn_attr_u32(tb[IFLA_LINK], 0);
        if (tb[IFLA_IFALIAS]) {
                char alias[sizeof(BRIDGE_PINNED_ALIAS) + 1];

                pn_attr_str(tb[IFLA_IFALIAS], alias, sizeof(alias));
                l->has_alias = alias[0] != '\0';
                l->mac_pinned = streq(alias, BRIDGE_PINNED_ALIAS);
        }
        pn_attr_str(tb[IFLA_IFNAME], l->name, sizeof(l->name));
        if (tb[IFLA_ADDRESS] && (size_t)nla_len(tb[IFLA_ADDRESS]) <= sizeof(l->mac)) {
                l->mac_len = (unsigned)nla_len(tb[IFLA_ADDRESS]);
                memcpy(l->mac, nla_data(tb[IFLA_ADDRESS]), l->mac_len);
        }
        if (tb[IFLA_LINKINFO]) {
                struct nlattr *li[IFLA_INFO_MAX + 1];
                char slave_kind[16];

                if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
                        return -EBADMSG;
                pn_attr_str(li[IFLA_INFO_KIND], l->kind, sizeof(l->kind));
                pn_attr_str(li[IFLA_INFO_SLAVE_KIND], slave_kind, sizeof(slave_kind));
                if (streq(slave_kind, "bridge")) {
                        struct nlattr *bp[IFLA_BRPORT_MAX + 1] = {0};

                        if (li[IFLA_INFO_SLAVE_DATA] &&
                            nla_parse_nested(bp, IFLA_BRPORT_MAX, li[IFLA_INFO_SLAVE_DATA], NULL) <
                                0)
                                return -EBADMSG;
                        l->hairpin = pn_attr_u8(bp[IFLA_BRPORT_MODE], 0);
                }
        }
        lr->found = true;
        return 0;
}

int pn_link_query(struct nl_sock *sk, const char *name, int ifindex, struct pn_link *out)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct link_reply lr = {.out = out};
        int r;

        memset(out, 0, sizeof(*out));
        msg = pn_nlmsg_new(RTM_GETLINK, 0, &ifi, sizeof(ifi), 32 + (name ? strlen(name) : 0));
        if (!msg || (ifindex <= 0 && nla_put_string(msg, IFLA_IFNAME, name) < 0) ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
                return -ENOMEM;
        r = pn_nl_request(sk, msg, link_reply, &lr);
        if (r < 0)
                return r;
        return lr.found ? 0 : -ENODEV;
}

struct nl_msg *pn_link_msg(int type, int nlflags, int ifindex, const char *name, unsigned flags,
                           unsigned change)
{
        struct ifinfomsg ifi = {
            .ifi_family = AF_UNSPEC,
            .ifi_index = ifindex,
            .ifi_flags = flags,
            .ifi_change = change,
        };
        struct nl_msg *msg = pn_nlmsg_new(type, nlflags, &ifi, sizeof(ifi), 0);

        if (!msg)
                return NULL;
        if (name && nla_put_string(msg, IFLA_IFNAME, name) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

/* Sets IFF_* bits `flags` (within `change`) and, if mtu > 0, the MTU of a link. */
static int link_set(struct nl_sock *sk, int ifindex, const char *name, unsigned flags,
                    unsigned change, unsigned mtu)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_SETLINK, 0, ifindex, ifindex > 0 ? NULL : name, flags, change);
        if (!msg || (mtu && nla_put_u32(msg, IFLA_MTU, mtu) < 0))
                return -ENOMEM;
        return pn_nl_request(sk, msg, NULL, NULL);
}

static int link_del(struct nl_sock *sk, int ifindex, const char *name)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_DELLINK, 0, ifindex, ifindex > 0 ? NULL : name, 0, 0);
        if (!msg)
                return -ENOMEM;
        return pn_nl_request(sk, msg, NULL, NULL);
}

static int sock_error(podnet_error **err, podnet_netns *ns)
{
        return pn_error(err, errno, 0, "Opening a netlink socket" PN_NS_FMT, PN_NS_ARG(ns));
}

int pn_net_sock_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    podnet_error **err)
{
        if (!pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0, "Invalid interface name '%s'",
                                      ifname ? ifname : "");
        *sk = pn_nl_sock(ctx, ns);
        return *sk ? 0 : sock_error(err, ns);
}

int pn_net_link_for(podnet_ctx *ctx, podnet_netns *ns, const char *ifname, struct nl_sock **sk,
                    int *ifindex, podnet_error **err)
{
        struct pn_link l;
        int r;

        r = pn_net_sock_for(ctx, ns, ifname, sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(*sk, ifname, 0, &l);
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up interface %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        *ifindex = l.ifindex;
        return 0;
}

PODNET_EXPORT int podnet_link_get(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                  podnet_link_info *info, podnet_error **err)
{
        podnet_link_info out = {.size = sizeof(out)};
        struct nl_sock *sk;
        struct pn_link l;
        int r;

        if (!info || info->size < sizeof(podnet_link_info))
                return pn_error_plain(err, EINVAL, 0, "podnet_link_get: info missing or too small");
        r = pn_net_sock_for(ctx, ns, ifname, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(sk, ifname, 0, &l);
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up interface %s" PN_NS_FMT, ifname,
                                PN_NS_ARG(ns));
        out.ifindex = l.ifindex;
        snprintf(out.ifname, sizeof(out.ifname), "%s", l.name);
        pn_mac_format(l.mac, l.mac_len, out.mac, sizeof(out.mac));
        out.mtu = l.mtu;
        out.up = l.flags & IFF_UP;
        snprintf(out.kind, sizeof(out.kind), "%s", l.kind);
        out.master_ifindex = l.master;
        out.hairpin = l.hairpin > 0;
        out.promisc = l.flags & IFF_PROMISC;
        return PN_INFO_COPY_OUT(info, out, sizeof(podnet_link_info));
}

PODNET_EXPORT int podnet_link_set_up(podnet_ctx *ctx, podnet_netns *ns, const char *ifname,
                                     podnet_error **err)
{
        struct nl_sock *sk;
        int r;

        r = pn_net_sock_for(ctx, ns, ifname, &sk, err);
        if (r < 0)
                return r;
        r = link_set(sk, 0, ifname, IFF_UP, IFF_UP, 0);
        if (r < 0)
                return pn_error(err, -r, 0, "Setting %s up" PN_NS_FMT, ifname, PN_NS_ARG(ns));
        return 0;
}

/* ---- bridge ---- */

/* A random locally administered unicast address, as the kernel would pick. */
static int random_mac(uint8_t mac[6])
{
        if (getrandom(mac, 6, 0) != 6)
                return errno ? -errno : -EIO;
        mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
        return 0;
}

/* Created with an address of its own: a bridge whose address was never set takes the
 * lowest one among its ports and changes it when that port leaves, and every pod's
 * neighbour entry for the gateway then names a MAC nobody answers for. An address given
 * at creation makes it fixed (addr_assign_type 3) at once. */
static int bridge_create(struct nl_sock *sk, const podnet_bridge_config *cfg)
{
        unsigned flags = IFF_UP | (cfg->promisc ? IFF_PROMISC : 0);
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nlattr *li;
        uint8_t mac[6];
        int r;

        r = random_mac(mac);
        if (r < 0)
                return r;
        msg = pn_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, cfg->name, flags, flags);
        if (!msg || (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) ||
            nla_put(msg, IFLA_ADDRESS, sizeof(mac), mac) < 0)
                return -ENOMEM;
        li = nla_nest_start(msg, IFLA_LINKINFO);
        if (!li || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0)
                return -ENOMEM;
        nla_nest_end(msg, li);
        return pn_nl_request(sk, msg, NULL, NULL);
}

/* Whether the kernel holds the link's MAC address as set rather than inherited:
 * addr_assign_type, which only sysfs shows. 1 set, 0 not, -errno when sysfs cannot tell
 * (absent, or showing another namespace: its link of that name has another index). */
static int link_mac_is_set(const char *name, int ifindex)
{
        char path[64], buf[16];
        const char *attrs[] = {"ifindex", "addr_assign_type"};
        long v[2];

        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                _cleanup_close_ int fd = -1;
                ssize_t n;
                char *end;

                snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, attrs[i]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                n = read(fd, buf, sizeof(buf) - 1);
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                buf[n] = '\0';
                errno = 0;
                v[i] = strtol(buf, &end, 10);
                if (errno || end == buf)
                        return -EIO;
        }
        if (v[0] != ifindex)
                return -ESRCH;
        return v[1] == 3; /* NET_ADDR_SET */
}

/* Makes an existing bridge's MAC address fixed, keeping the address it has now (the
 * pods' neighbour entries for the gateway hold it), and marks it so that later calls
 * know without asking. A bridge podnet created is fixed from the start; one created
 * before (by an older podnet, by hand, by another plugin) is fixed here, once. Setting
 * an address, even the same one, makes the kernel flush the bridge's neighbour entries:
 * never done for a bridge already fixed. */
static int bridge_pin_mac(struct nl_sock *sk, podnet_ctx *ctx, const struct pn_link *l,
                          bool created)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        int set;

        if (l->mac_pinned)
                return 0;
        set = created ? 1 : link_mac_is_set(l->name, l->ifindex);
        /* an alias of someone else's cannot carry our mark: then pin only a bridge whose
         * address is known not to be fixed, and look again next time */
        if (l->has_alias && set != 0)
                return 0;
        msg = pn_link_msg(RTM_SETLINK, 0, l->ifindex, NULL, 0, 0);
        if (!msg ||
            (set != 1 && l->mac_len && nla_put(msg, IFLA_ADDRESS, l->mac_len, l->mac) < 0) ||
            (!l->has_alias && nla_put_string(msg, IFLA_IFALIAS, BRIDGE_PINNED_ALIAS) < 0))
                return -ENOMEM;
        if (set != 1) {
                char mac[18];

                pn_mac_format(l->mac, l->mac_len, mac, sizeof(mac));
                pn_debug(ctx, "Bridge %s: fixing its MAC address %s", l->name, mac);
        }
        return pn_nl_request(sk, msg, NULL, NULL);
}

struct addr_list {
        struct pn_addr *v;
        size_t n, cap;
};

static int addr_list_push(const struct pn_addr *a, void *userdata)
{
        struct addr_list *l = userdata;

        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                struct pn_addr *v = realloc(l->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = *a;
        return 0;
}

/* Adds the gateway addresses of family `family` the bridge lacks; an address of that
 * family in an overlapping subnet is replaced (force_address) or an error. */
static int bridge_addrs_family(struct nl_sock *sk, podnet_netns *ns,
                               const podnet_bridge_config *cfg, int ifindex, int family,
                               podnet_error **err)
{
        struct addr_list have = {0};
        char want_s[PODNET_CIDR_STRLEN], have_s[PODNET_CIDR_STRLEN];
        bool any = false;
        int r;

        for (size_t i = 0; i < cfg->n_addrs; i++)
                any = any || podnet_cidr_family(cfg->addrs[i]) == family;
        if (!any)
                return 0;
        r = pn_addr_dump(sk, family, ifindex, addr_list_push, &have);
        if (r < 0) {
                free(have.v);
                return pn_error(err, -r, 0, "Listing addresses of %s" PN_NS_FMT, cfg->name,
                                PN_NS_ARG(ns));
        }
        for (size_t i = 0; i < cfg->n_addrs && r >= 0; i++) {
                struct pn_addr want;
                bool present = false;

                if (podnet_cidr_family(cfg->addrs[i]) != family)
                        continue;
                pn_addr_from_cidr(&want, cfg->addrs[i], ifindex);
                pn_net_format(family, want.addr, want.prefixlen, want_s, sizeof(want_s));
                for (size_t j = 0; j < have.n && !present; j++)
                        present = have.v[j].prefixlen == want.prefixlen &&
                                  memcmp(have.v[j].addr, want.addr, pn_family_len(family)) == 0;
                if (present)
                        continue;
                for (size_t j = 0; j < have.n && r >= 0; j++) {
                        struct pn_addr *h = &have.v[j];
                        unsigned common =
                            h->prefixlen < want.prefixlen ? h->prefixlen : want.prefixlen;

                        if (h->family == AF_UNSPEC || !pn_prefix_equal(h->addr, want.addr, common))
                                continue;
                        pn_net_format(family, h->addr, h->prefixlen, have_s, sizeof(have_s));
                        if (!cfg->force_address) {
                                r = pn_error_plain(err, EEXIST, 0,
                                                   "Bridge %s" PN_NS_FMT
                                                   " already has address %s, not %s",
                                                   cfg->name, PN_NS_ARG(ns), have_s, want_s);
                                break;
                        }
                        r = pn_addr_send(sk, RTM_DELADDR, 0, h);
                        if (r < 0 && r != -EADDRNOTAVAIL) {
                                r = pn_error(err, -r, 0,
                                             "Removing address %s from bridge %s" PN_NS_FMT, have_s,
                                             cfg->name, PN_NS_ARG(ns));
                                break;
                        }
                        r = 0;
                        h->family = AF_UNSPEC; /* gone */
                }
                if (r < 0)
                        break;
                if (family == AF_INET6 && cfg->ipv6_nodad)
                        want.flags |= IFA_F_NODAD;
                r = pn_addr_send(sk, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &want);
                if (r == -EEXIST) /* a concurrent caller added it */
                        r = 0;
                if (r < 0) {
                        r = pn_error(err, -r, 0, "Adding address %s to bridge %s" PN_NS_FMT, want_s,
                                     cfg->name, PN_NS_ARG(ns));
                        break;
                }
                r = addr_list_push(&want, &have);
        }
        free(have.v);
        return r < 0 ? pn_error(err, -r, 0, "Configuring bridge %s", cfg->name) : 0;
}

PODNET_EXPORT int podnet_bridge_ensure(podnet_ctx *ctx, podnet_netns *ns,
                                       const podnet_bridge_config *config, podnet_error **err)
{
        podnet_bridge_config cfg;
        struct nl_sock *sk;
        struct pn_link l;
        bool created = false;
        unsigned want;
        int r;

        if (PODNET_OPTS_COPY(cfg, config, sizeof(podnet_bridge_config)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Bridge configuration missing or of unknown size");
        if (!pn_ifname_valid(cfg.name))
                return pn_error_plain(err, EINVAL, 0, "Invalid bridge name '%s'",
                                      cfg.name ? cfg.name : "");
        if (cfg.n_addrs && !cfg.addrs)
                return pn_error_plain(err, EINVAL, 0, "Bridge %s: addresses missing", cfg.name);
        for (size_t i = 0; i < cfg.n_addrs; i++) {
                int family = cfg.addrs[i] ? podnet_cidr_family(cfg.addrs[i]) : 0;

                if (family != AF_INET && family != AF_INET6)
                        return pn_error_plain(err, EINVAL, 0, "Bridge %s: invalid address #%zu",
                                              cfg.name, i);
        }
        sk = pn_nl_sock(ctx, ns);
        if (!sk)
                return sock_error(err, ns);

        r = pn_link_query(sk, cfg.name, 0, &l);
        if (r == -ENODEV) {
                r = bridge_create(sk, &cfg);
                if (r < 0 && r != -EEXIST) /* EEXIST: lost a race, look again */
                        return pn_error(err, -r, 0, "Creating bridge %s" PN_NS_FMT, cfg.name,
                                        PN_NS_ARG(ns));
                created = r == 0;
                r = pn_link_query(sk, cfg.name, 0, &l);
        }
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up bridge %s" PN_NS_FMT, cfg.name,
                                PN_NS_ARG(ns));
        if (!streq(l.kind, "bridge"))
                return pn_error_plain(err, EEXIST, 0,
                                      "Interface %s" PN_NS_FMT " exists and is not a bridge (%s)",
                                      cfg.name, PN_NS_ARG(ns), l.kind[0] ? l.kind : "no link kind");
        r = bridge_pin_mac(sk, ctx, &l, created);
        if (r < 0)
                return pn_error(err, -r, 0, "Fixing the MAC address of bridge %s" PN_NS_FMT,
                                cfg.name, PN_NS_ARG(ns));

        want = IFF_UP | (cfg.promisc ? IFF_PROMISC : 0);
        if ((l.flags & want) != want || (cfg.mtu && l.mtu != cfg.mtu)) {
                r = link_set(sk, l.ifindex, NULL, want, want, cfg.mtu);
                if (r < 0)
                        return pn_error(err, -r, 0, "Configuring bridge %s" PN_NS_FMT, cfg.name,
                                        PN_NS_ARG(ns));
        }
        r = bridge_addrs_family(sk, ns, &cfg, l.ifindex, AF_INET, err);
        if (r >= 0)
                r = bridge_addrs_family(sk, ns, &cfg, l.ifindex, AF_INET6, err);
        return r < 0 ? r : l.ifindex;
}

PODNET_EXPORT int podnet_bridge_delete(podnet_ctx *ctx, podnet_netns *ns, const char *name,
                                       podnet_error **err)
{
        struct nl_sock *sk;
        struct pn_link l;
        int r;

        r = pn_net_sock_for(ctx, ns, name, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(sk, name, 0, &l);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Looking up bridge %s" PN_NS_FMT, name, PN_NS_ARG(ns));
        if (!streq(l.kind, "bridge"))
                return pn_error_plain(err, EINVAL, 0,
                                      "Not deleting %s" PN_NS_FMT ": it is not a bridge (%s)", name,
                                      PN_NS_ARG(ns), l.kind[0] ? l.kind : "no link kind");
        r = link_del(sk, l.ifindex, NULL);
        if (r < 0 && r != -ENODEV)
                return pn_error(err, -r, 0, "Deleting bridge %s" PN_NS_FMT, name, PN_NS_ARG(ns));
        return 0;
}

/* ---- veth ---- */

PODNET_EXPORT int podnet_veth_host_name(const char *container_id, const char *ifname, char buf[16])
{
        /* FNV-1a, 64 bit, over "<container id>/<ifname>"; the low 48 bits name the link. */
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        const char *parts[] = {container_id, "/", ifname};

        if (isempty(container_id) || isempty(ifname) || !buf)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
                        h ^= *p;
                        h *= UINT64_C(0x100000001b3);
                }
        snprintf(buf, 16, "pn%012" PRIx64, h & UINT64_C(0xffffffffffff));
        return 0;
}

static int veth_create_msg(struct nl_msg **ret, const podnet_veth_config *cfg, const char *host,
                           int master, const uint8_t *mac)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        /* No IFF_UP here: the kernel configures the peer before the pair is tied together,
         * and opening a veth without its peer fails with ENOTCONN. */
        struct ifinfomsg peer = {.ifi_family = AF_UNSPEC};
        struct nlattr *li, *data, *pe;

        /* One queue each way, asked for explicitly: without IFLA_NUM_*_QUEUES the kernel
         * allocates one per possible CPU and then cuts the real count down to 1, which
         * waits for an expedited RCU grace period per end (veth_init_queues()). One is
         * what a veth uses by default either way. */
        msg = pn_link_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, host, IFF_UP, IFF_UP);
        if (!msg || (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) ||
            (master && nla_put_u32(msg, IFLA_MASTER, (uint32_t)master) < 0) ||
            nla_put_u32(msg, IFLA_NUM_TX_QUEUES, 1) < 0 ||
            nla_put_u32(msg, IFLA_NUM_RX_QUEUES, 1) < 0)
                return -ENOMEM;
        if (!(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_KIND, "veth") < 0 ||
            !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
            !(pe = nla_nest_start(msg, VETH_INFO_PEER)) ||
            nlmsg_append(msg, &peer, sizeof(peer), NLMSG_ALIGNTO) < 0 ||
            nla_put_string(msg, IFLA_IFNAME, cfg->ifname) < 0 ||
            nla_put_u32(msg, IFLA_NET_NS_FD, (uint32_t)cfg->netns->fd) < 0 ||
            nla_put_u32(msg, IFLA_NUM_TX_QUEUES, 1) < 0 ||
            nla_put_u32(msg, IFLA_NUM_RX_QUEUES, 1) < 0 ||
            (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) ||
            (mac && nla_put(msg, IFLA_ADDRESS, 6, mac) < 0))
                return -ENOMEM;
        nla_nest_end(msg, pe);
        nla_nest_end(msg, data);
        nla_nest_end(msg, li);
        *ret = steal_pointer(&msg);
        return 0;
}

/* Bridge port hairpin mode, as `ip link set X type bridge_slave hairpin on` sets it. */
static int veth_set_hairpin(struct nl_sock *sk, const char *host)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nlattr *li, *sd;

        msg = pn_link_msg(RTM_NEWLINK, 0, 0, host, 0, 0);
        if (!msg || !(li = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_SLAVE_KIND, "bridge") < 0 ||
            !(sd = nla_nest_start(msg, IFLA_INFO_SLAVE_DATA)) ||
            nla_put_u8(msg, IFLA_BRPORT_MODE, 1) < 0)
                return -ENOMEM;
        nla_nest_end(msg, sd);
        nla_nest_end(msg, li);
        return pn_nl_request(sk, msg, NULL, NULL);
}

/* The kernel says only EEXIST; find out which end's name is taken. */
static int veth_exists_error(struct nl_sock *sk, const podnet_veth_config *cfg, const char *host,
                             podnet_error **err)
{
        struct pn_link l;

        if (pn_link_query(sk, host, 0, &l) == 0)
                return pn_error_plain(err, EEXIST, 0,
                                      "Interface %s (host end for %s of container %s) already "
                                      "exists",
                                      host, cfg->ifname, cfg->container_id);
        return pn_error_plain(err, EEXIST, 0,
                              "Interface %s already exists in %s", cfg->ifname, cfg->netns->path);
}

PODNET_EXPORT int podnet_veth_create(podnet_ctx *ctx, const podnet_veth_config *config,
                                     podnet_veth_info *info, podnet_error **err)
{
        podnet_veth_config cfg;
        podnet_veth_info out = {.size = sizeof(out)};
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nl_sock *sk, *pod_sk;
        uint8_t mac[6];
        char host[16];
        int master = 0, r;
        struct pn_link l;
        const char *what;

        if (PODNET_OPTS_COPY(cfg, config, sizeof(podnet_veth_config)) < 0)
                return pn_error_plain(err, EINVAL, 0,
                                      "Veth configuration missing or of unknown size");
        if (info && info->size < sizeof(podnet_veth_info))
                return pn_error_plain(err, EINVAL, 0, "podnet_veth_create: info too small");
        if (isempty(cfg.container_id))
                return pn_error_plain(err, EINVAL, 0,
                                      "Creating veth: no container id");
        if (!pn_ifname_valid(cfg.ifname))
                return pn_error_plain(err, EINVAL, 0,
                                      "Invalid interface name '%s'", cfg.ifname ? cfg.ifname : "");
        if (!cfg.netns)
                return pn_error_plain(err, EINVAL, 0, "Creating veth for %s: no pod namespace",
                                      cfg.ifname);
        if (cfg.bridge && !pn_ifname_valid(cfg.bridge))
                return pn_error_plain(err, EINVAL, 0, "Invalid bridge name '%s'", cfg.bridge);
        if (cfg.mac && pn_mac_parse(cfg.mac, mac) < 0)
                return pn_error_plain(err, EINVAL, 0, "Invalid MAC address '%s'", cfg.mac);
        podnet_veth_host_name(cfg.container_id, cfg.ifname, host);

        sk = pn_nl_sock(ctx, NULL);
        if (!sk)
                return sock_error(err, NULL);
        /* Open the pod side first: once the pair exists, nothing may fail for a reason
         * that was knowable before. */
        pod_sk = pn_nl_sock(ctx, cfg.netns);
        if (!pod_sk)
                return sock_error(err, cfg.netns);
        if (cfg.bridge) {
                r = pn_link_query(sk, cfg.bridge, 0, &l);
                if (r < 0)
                        return pn_error(err, -r, 0, "Looking up bridge %s", cfg.bridge);
                master = l.ifindex;
        }

        r = veth_create_msg(&msg, &cfg, host, master, cfg.mac ? mac : NULL);
        if (r < 0)
                return pn_error(err, -r, 0, "Creating veth %s for %s in %s", host, cfg.ifname,
                                cfg.netns->path);
        r = pn_nl_request(sk, msg, NULL, NULL);
        if (r == -EEXIST)
                return veth_exists_error(sk, &cfg, host, err);
        if (r < 0) {
                /* The kernel may have created the pair and only its answer got lost (a
                 * failed receive, a full socket buffer). The host end's name is this
                 * attachment's own, so delete whatever carries it: that takes the pod end
                 * with it. When the pair was not created this finds nothing. */
                (void)link_del(sk, 0, host);
                return pn_error(err, -r, 0, "Creating veth %s for %s in %s", host, cfg.ifname,
                                cfg.netns->path);
        }

        /* From here on, a failure deletes the pair again. */
        what = "Setting hairpin mode on";
        r = cfg.hairpin && master ? veth_set_hairpin(sk, host) : 0;
        if (r >= 0) {
                what = "Setting up";
                r = link_set(pod_sk, 0, cfg.ifname, IFF_UP, IFF_UP, 0);
        }
        if (r >= 0 && info) {
                what = "Looking up";
                r = pn_link_query(sk, host, 0, &l);
                if (r >= 0) {
                        snprintf(out.host_ifname, sizeof(out.host_ifname), "%s", host);
                        pn_mac_format(l.mac, l.mac_len, out.host_mac, sizeof(out.host_mac));
                        out.host_ifindex = l.ifindex;
                        r = pn_link_query(pod_sk, cfg.ifname, 0, &l);
                }
                if (r >= 0) {
                        snprintf(out.pod_ifname, sizeof(out.pod_ifname), "%s", cfg.ifname);
                        pn_mac_format(l.mac, l.mac_len, out.pod_mac, sizeof(out.pod_mac));
                        out.pod_ifindex = l.ifindex;
                }
        }
        if (r < 0) {
                (void)link_del(sk, 0, host);
                return pn_error(err, -r, 0, "%s veth %s for %s in %s", what, host, cfg.ifname,
                                cfg.netns->path);
        }
        if (info)
                (void)PN_INFO_COPY_OUT(info, out, sizeof(podnet_veth_info));
        return 0;
}

/* The host end's name and the context's socket, for the functions below that act on
 * the pair of (container id, ifname) from the host side only. */
static int veth_host_side(podnet_ctx *ctx, const char *container_id, const char *ifname,
                          const char *what, char host[16], struct nl_sock **sk, podnet_error **err)
{
        if (isempty(container_id) || !pn_ifname_valid(ifname))
                return pn_error_plain(err, EINVAL, 0,
                                      "%s veth: invalid container id or interface name", what);
        podnet_veth_host_name(container_id, ifname, host);
        *sk = pn_nl_sock(ctx, NULL);
        if (!*sk)
                return sock_error(err, NULL);
        return 0;
}

/* One RTM_DELLINK for every parked pair: the kernel then waits for its RCU grace
 * periods once for all of them instead of once per pair. -ENODEV: none is parked (a
 * concurrent teardown took them). */
static int park_group_delete(struct nl_sock *sk)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;

        msg = pn_link_msg(RTM_DELLINK, 0, 0, NULL, 0, 0);
        if (!msg || nla_put_u32(msg, IFLA_GROUP, PN_VETH_PARK_GROUP) < 0)
                return -ENOMEM;
        return pn_nl_request(sk, msg, NULL, NULL);
}

int pn_veth_reap_parked(podnet_ctx *ctx)
{
        struct nl_sock *sk = pn_nl_sock(ctx, NULL);
        int r;

        if (!sk)
                return -errno;
        r = park_group_delete(sk);
        return r == -ENODEV ? 0 : r < 0 ? r : 1;
}

PODNET_EXPORT int podnet_veth_delete(podnet_ctx *ctx, const char *container_id, const char *ifname,
                                     podnet_error **err)
{
        struct nl_sock *sk;
        struct pn_link l;
        char host[16];
        int r;

        r = veth_host_side(ctx, container_id, ifname, "Deleting", host, &sk, err);
        if (r < 0)
                return r;
        r = pn_link_query(sk, host, 0, &l);
        if (r >= 0)
                /* A parked pair goes with every other parked pair: they are all doomed,
                 * and together they cost the kernel little more than one. */
                r = l.group == PN_VETH_PARK_GROUP ? park_group_delete(sk)
                                                  : link_del(sk, l.ifindex, NULL);
        if (r < 0 && r != -ENODEV)
                return pn_error(err, -r, 0, "Deleting veth %s (%s of container %s)", host, ifname,
                                container_id);
        return 0;
}

int pn_veth_park(podnet_ctx *ctx, const char *container_id, const char *ifname,
                 podnet_error **err)
{
        _cleanup_nlmsg_ struct nl_msg *msg = NULL;
        struct nl_sock *sk;
        char host[16];
        int r;

        r = veth_host_side(ctx, container_id, ifname, "Detaching", host, &sk, err);
        if (r < 0)
                return r;
        /* Down is enough to stop all traffic through the pair, and unlike deletion it
         * does not wait for RCU grace periods in the kernel; the park group marks the
         * pair as doomed (see PN_VETH_PARK_GROUP). One request, by name: ENODEV says
         * there is no pair. */
        msg = pn_link_msg(RTM_SETLINK, 0, 0, host, 0, IFF_UP);
        if (!msg || nla_put_u32(msg, IFLA_GROUP, PN_VETH_PARK_GROUP) < 0)
                return pn_error(err, ENOMEM, 0, "Detaching veth %s", host);
        r = pn_nl_request(sk, msg, NULL, NULL);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return pn_error(err, -r, 0, "Taking down veth %s (%s of container %s)", host,
                                ifname, container_id);
        return 1;
}

PODNET_EXPORT int podnet_veth_detach(podnet_ctx *ctx, const char *container_id, const char *ifname,
                                     podnet_error **err)
{
        return pn_veth_park(ctx, container_id, ifname, err);
}
