/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The allocator's pure parts: the Lease decisions of client-go's leader election on a
 * fake clock (create, wait for the holder's lease to run out by our own clock, take over,
 * renew, the renew deadline, a released Lease), the Lease's JSON both ways, and the
 * taken set (CIDRs listed, patched but not seen yet, read back from another writer; a
 * deleted node's CIDR freed; a full cluster CIDR serving the first nodes only). */
#include "agent/allocator.h"
#include "agent/nodes.h"
#include "core/internal.h"
#include "kube/lease.h"
#include "tap.h"

static void test_lease_decide(void)
{
        struct pn_lease a, b;
        struct pn_lease_opts oa = {.ns = "kube-system",
                                   .name = "podnet-allocator",
                                   .identity = "a_1",
                                   .duration_ms = 15000,
                                   .renew_deadline_ms = 10000,
                                   .retry_period_ms = 2000};
        struct pn_lease_opts ob = oa;
        struct pn_lease_record rec, held;
        podnet_error *err = NULL;

        ob.identity = "b_2";
        ok(pn_lease_init(&a, &oa, NULL) == 0 && pn_lease_init(&b, &ob, NULL) == 0,
           "lease: two candidates");
        oa.renew_deadline_ms = 20000;
        ok(pn_lease_init(&a, &oa, &err) == -EINVAL && err,
           "  a renew deadline over the duration refused");
        podnet_error_free(err);
        oa.renew_deadline_ms = 10000;
        oa.identity = "bad\"id";
        ok(pn_lease_init(&a, &oa, NULL) == -EINVAL, "  an identity with a quote refused");
        oa.identity = "a_1";
        pn_lease_init(&a, &oa, NULL);

        /* a: no Lease yet at t=1000 */
        is_int(pn_lease_decide(&a, NULL, NULL, 1000), PN_LEASE_CREATE, "no Lease: create it");
        pn_lease_next(&a, PN_LEASE_CREATE, "2026-11-29T20:00:00.000000Z", &rec);
        is_str(rec.holder, "a_1", "  holding it");
        is_int(rec.duration_s, 15, "  for 15 s");
        is_int(rec.transitions, 0, "  no transition");
        pn_lease_won(&a, &rec, "7", 1000);
        ok(pn_lease_valid(&a, 1000) && pn_lease_valid(&a, 10999), "  a leads until the deadline");
        ok(!pn_lease_valid(&a, 11000), "  and not after it without a renewal");

        /* b reads a's record at t=5000 (b's clock): it waits 15 s from its observation */
        held = rec;
        is_int(pn_lease_decide(&b, &held, "7", 5000), PN_LEASE_WAIT, "b sees a's Lease: waits");
        is_int(pn_lease_decide(&b, &held, "7", 19999), PN_LEASE_WAIT,
               "  still 14.999 s after it first saw that record");
        /* a renewed: a new record, b's count starts again */
        snprintf(held.renew_time, sizeof(held.renew_time), "2026-11-29T20:00:02.000000Z");
        is_int(pn_lease_decide(&b, &held, "8", 19999), PN_LEASE_WAIT, "a renewed: b waits again");
        is_int(pn_lease_decide(&b, &held, "8", 34998), PN_LEASE_WAIT, "  until 15 s after that");
        is_int(pn_lease_decide(&b, &held, "8", 35000), PN_LEASE_TAKE,
               "  then takes it over (by its own clock, whatever renewTime says)");
        pn_lease_next(&b, PN_LEASE_TAKE, "2026-11-29T20:00:40.000000Z", &rec);
        is_int(rec.transitions, 1, "  a transition");
        is_str(rec.acquire_time, "2026-11-29T20:00:40.000000Z", "  acquired now");
        is_str(b.rv, "8", "  written over resourceVersion 8 (a PUT with it)");

        /* a renews its own record: acquireTime and transitions kept */
        is_int(pn_lease_decide(&a, &held, "8", 3000), PN_LEASE_RENEW, "a's own record: renew");
        pn_lease_next(&a, PN_LEASE_RENEW, "2026-11-29T20:00:04.000000Z", &rec);
        is_str(rec.acquire_time, "2026-11-29T20:00:00.000000Z", "  acquireTime kept");

        /* released: no holder, b takes it at once */
        held.holder[0] = '\0';
        held.duration_s = 1;
        is_int(pn_lease_decide(&b, &held, "9", 36000), PN_LEASE_TAKE,
               "a released Lease: taken at once");
}

static void test_lease_json(void)
{
        struct pn_lease l;
        struct pn_lease_opts o = {.ns = "kube-system",
                                  .name = "podnet-allocator",
                                  .identity = "host_42",
                                  .duration_ms = 3000,
                                  .renew_deadline_ms = 2000,
                                  .retry_period_ms = 500};
        struct pn_lease_record rec, back;
        char *json, rv[64];
        const char *in = "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                         "\"metadata\":{\"name\":\"x\",\"namespace\":\"y\",\"resourceVersion\":"
                         "\"1234\",\"managedFields\":[{\"a\":1}]},\"spec\":{\"holderIdentity\":"
                         "\"other_7\",\"leaseDurationSeconds\":15,\"acquireTime\":"
                         "\"2026-11-29T20:00:00.000000Z\",\"renewTime\":null,"
                         "\"leaseTransitions\":3}}";

        pn_lease_init(&l, &o, NULL);
        pn_lease_next(&l, PN_LEASE_CREATE, "2026-11-29T20:00:00.123456Z", &rec);
        json = pn_lease_format(&l, &rec, "55");
        ok(json && pn_lease_parse(json, strlen(json), &back, rv, sizeof(rv)) == 0,
           "lease JSON: written and read back");
        is_str(back.holder, "host_42", "  holder");
        is_int(back.duration_s, 3, "  duration");
        is_str(back.renew_time, "2026-11-29T20:00:00.123456Z", "  renewTime");
        is_str(rv, "55", "  resourceVersion");
        free(json);
        /* the server's resourceVersion is opaque: a quote in it stays a quote */
        json = pn_lease_format(&l, &rec, "5\"5\\");
        ok(json && pn_lease_parse(json, strlen(json), &back, rv, sizeof(rv)) == 0,
           "lease JSON: a resourceVersion with a quote and a backslash, escaped");
        is_str(rv, "5\"5\\", "  read back as it was");
        free(json);
        ok(pn_lease_parse(in, strlen(in), &back, rv, sizeof(rv)) == 0,
           "an API server's Lease read");
        is_str(back.holder, "other_7", "  holder");
        is_int(back.transitions, 3, "  transitions");
        is_str(back.renew_time, "", "  renewTime null");
        is_str(rv, "1234", "  resourceVersion");
        ok(pn_lease_parse("[1]", 3, &back, rv, sizeof(rv)) == -EBADMSG, "  not an object: refused");
}

static podnet_nodes *nodes_of(const char *json)
{
        podnet_nodes *n = NULL;

        if (podnet_nodes_parse(&n, json, strlen(json), NULL) < 0)
                return NULL;
        return n;
}

#define NODE(name, cidrs) "{\"metadata\":{\"name\":\"" name "\"},\"spec\":{" cidrs "}}"

static char *assign_text(const struct pn_alloc_assign *as, size_t n)
{
        static char buf[1024];
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=", i ? " " : "",
                                        as[i].name);
                for (size_t j = 0; j < as[i].n_cidrs; j++) {
                        char c[PODNET_CIDR_STRLEN];
                        podnet_cidr_format(as[i].cidrs[j], c, sizeof(c));
                        off +=
                            (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", j ? "," : "", c);
                }
        }
        return buf;
}

static void test_plan(void)
{
        podnet_cidr *c4 = NULL, *c6 = NULL, *p = NULL;
        const podnet_cidr *cl[2];
        unsigned masks[2] = {24, 64};
        struct pn_alloc_state st = {0};
        struct pn_alloc_assign *as = NULL;
        podnet_error *err = NULL;
        podnet_nodes *n;
        size_t n_as, left;

        podnet_cidr_parse(&c4, "10.0.0.0/22");
        podnet_cidr_parse(&c6, "fd00:10::/62");
        cl[0] = c4;
        cl[1] = c6;
        n = nodes_of(
            "{\"kind\":\"NodeList\",\"items\":[" NODE("a", "\"podCIDR\":\"10.0.0.0/24\"") "," NODE(
                "b", "") "," NODE("c", "") "," NODE("out", "\"podCIDR\":\"192.168.0.0/24\"") "]}");
        ok(n != NULL, "plan: a list of 4 nodes, a and out (outside the cluster CIDR) with CIDRs");
        ok(pn_alloc_plan(n, &st, cl, masks, 1, &as, &n_as, &left, NULL) == 0, "  planned");
        is_str(assign_text(as, n_as), "b=10.0.1.0/24 c=10.0.2.0/24",
               "  the free subnets after a's, in name order; a and out untouched");
        /* b patched (its event not back yet): a new list still shows b without CIDRs */
        pn_alloc_pending_add(&st, "b", (const podnet_cidr *const *)as[0].cidrs, 1, true, false, 0);
        pn_alloc_assign_free(as, n_as);
        is_int(pn_alloc_reconcile(&st, n), 0, "reconcile: b's entry kept while the list lags");
        pn_alloc_plan(n, &st, cl, masks, 1, &as, &n_as, &left, NULL);
        is_str(assign_text(as, n_as), "c=10.0.2.0/24",
               "  b's CIDR stays taken: c gets the next one, never b's");
        pn_alloc_assign_free(as, n_as);
        podnet_nodes_free(n);

        /* b's event came back: the entry goes, the list says it */
        n = nodes_of(
            "{\"kind\":\"NodeList\",\"items\":[" NODE("a", "\"podCIDR\":\"10.0.0.0/24\"") "," NODE(
                "b", "\"podCIDR\":\"10.0.1.0/24\"") "," NODE("c", "") "]}");
        is_int(pn_alloc_reconcile(&st, n), 1, "b listed with its CIDR: its entry forgotten");
        podnet_nodes_free(n);

        /* another writer's CIDR for c, read back, not listed yet; d gets none of it */
        podnet_cidr_parse(&p, "10.0.3.0/24");
        pn_alloc_pending_add(&st, "c", (const podnet_cidr *const *)&p, 1, true, false, 0);
        n = nodes_of(
            "{\"kind\":\"NodeList\",\"items\":[" NODE("a", "\"podCIDR\":\"10.0.0.0/24\"") "," NODE(
                "b", "\"podCIDR\":\"10.0.1.0/24\"") "," NODE("c",
                                                             "") "," NODE("d",
                                                                          "") "," NODE("e",
                                                                                       "") "]}");
        ok(pn_alloc_plan(n, &st, cl, masks, 1, &as, &n_as, &left, &err) == 0,
           "a full cluster CIDR: planned");
        is_str(assign_text(as, n_as), "d=10.0.2.0/24", "  d gets the last free /24 (c's is taken)");
        is_int(left, 1, "  e is left without one");
        ok(err && strstr(podnet_error_message(err), "10.0.0.0/22"),
           "  the error names the cluster CIDR: %s", err ? podnet_error_message(err) : "none");
        err = podnet_error_free(err);
        pn_alloc_assign_free(as, n_as);

        /* a retried patch's CIDRs given to another node meanwhile (e's 10.0.2.0/23 covers
         * c's entry 10.0.3.0/24; b is listed with 10.0.1.0/24): not free */
        {
                podnet_cidr *q = NULL;
                struct pn_alloc_pending *e;
                podnet_cidr_parse(&q, "10.0.2.0/23");
                pn_alloc_pending_add(&st, "e", (const podnet_cidr *const *)&q, 1, true, true, 0);
                e = pn_alloc_pending_find(&st, "e");
                is_str(e ? pn_alloc_pending_holder(&st, n, e) : NULL, "c",
                       "a retry whose CIDR overlaps another entry's: held by it");
                pn_alloc_pending_drop(&st, "c");
                e = pn_alloc_pending_find(&st, "e");
                ok(e && !pn_alloc_pending_holder(&st, n, e),
                   "  free once that entry is gone (the list shows d without one)");
                podnet_cidr_free(q);
                podnet_cidr_parse(&q, "10.0.1.0/24");
                pn_alloc_pending_add(&st, "e", (const podnet_cidr *const *)&q, 1, true, true, 0);
                e = pn_alloc_pending_find(&st, "e");
                is_str(e ? pn_alloc_pending_holder(&st, n, e) : NULL, "b",
                       "  a CIDR a listed node holds: held by it");
                podnet_cidr_free(q);
        }
        podnet_nodes_free(n);

        /* a deleted: its CIDR free for e; c's entry from a LIST not shown yet stays */
        pn_alloc_state_done(&st);
        pn_alloc_pending_add(&st, "f", (const podnet_cidr *const *)&p, 1, false, false, 0);
        n = nodes_of(
            "{\"kind\":\"NodeList\",\"items\":[" NODE("b", "\"podCIDR\":\"10.0.1.0/24\"") "," NODE(
                "d", "\"podCIDR\":\"10.0.2.0/24\"") "," NODE("e", "") "]}");
        is_int(pn_alloc_reconcile(&st, n), 0, "an entry of a node no list has shown yet stays");
        pn_alloc_plan(n, &st, cl, masks, 1, &as, &n_as, &left, NULL);
        is_str(assign_text(as, n_as), "e=10.0.0.0/24",
               "a deleted node's CIDR given to the next one");
        pn_alloc_assign_free(as, n_as);
        podnet_nodes_free(n);
        pn_alloc_state_done(&st);

        /* dual-stack: one of each family per node */
        n = nodes_of("{\"kind\":\"NodeList\",\"items\":[" NODE("x", "") "," NODE("y", "") "]}");
        pn_alloc_plan(n, &st, cl, masks, 2, &as, &n_as, &left, NULL);
        is_str(assign_text(as, n_as), "x=10.0.0.0/24,fd00:10::/64 y=10.0.1.0/24,fd00:10:0:1::/64",
               "dual-stack: an IPv4 and an IPv6 subnet each");
        pn_alloc_assign_free(as, n_as);
        masks[0] = 16;
        ok(pn_alloc_plan(n, &st, cl, masks, 2, &as, &n_as, &left, NULL) == -EINVAL,
           "a mask shorter than the cluster CIDR's refused");
        podnet_nodes_free(n);
        podnet_cidr_free(c4);
        podnet_cidr_free(c6);
        podnet_cidr_free(p);
}

int main(void)
{
        test_lease_decide();
        test_lease_json();
        test_plan();
        return done_testing();
}
