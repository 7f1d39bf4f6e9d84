/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bridges: podnet_bridge_ensure() (create, or check and adopt; the MAC address pinned
 * once; the addresses the configuration asks for, and no overlapping others) and
 * podnet_bridge_delete().
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
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
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
            (!l->has_alias && nla_put_string(msg, IFLA_IFALIAS, PN_BRIDGE_PINNED_ALIAS) < 0))
                return -ENOMEM;
        if (set != 1) {
                char mac[18];

                pn_mac_format(l->mac, l->mac_len, mac, sizeof(mac));
                pn_debug(ctx, "Bridge %s: fixing its MAC address %s", l->name, mac);
        }
        return pn_nl_request(sk, nlmsg_hdr(msg), NULL, NULL);
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
                return pn_net_sock_error(err, ns);

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
                r = pn_link_set(sk, l.ifindex, NULL, want, want, cfg.mtu);
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
        r = pn_link_del(sk, l.ifindex, NULL);
        if (r < 0 && r != -ENODEV)
                return pn_error(err, -r, 0, "Deleting bridge %s" PN_NS_FMT, name, PN_NS_ARG(ns));
        return 0;
}
