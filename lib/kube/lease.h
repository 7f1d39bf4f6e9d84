/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libpodnet: leader election on a coordination.k8s.io/v1 Lease, the way
 * client-go's leaderelection does it (lease.c). The decision is a pure function of the
 * record read and our own monotonic clock, so that it is tested on a fake clock; the
 * calls (GET, POST, PUT with the resourceVersion) are in pn_lease_step().
 */
#ifndef PODNET_KUBE_LEASE_H
#define PODNET_KUBE_LEASE_H

#include <stdbool.h>

#include "kube/kube.h"

/* The Lease's spec as read or written. Times are the API's MicroTime text; they are
 * written for other readers, never compared with our clock. */
struct pn_lease_record {
        char holder[256]; /* "": nobody (released) */
        unsigned duration_s;
        unsigned transitions;
        char acquire_time[40], renew_time[40];
};

struct pn_lease_opts {
        const char *ns, *name, *identity;
        double duration_ms, renew_deadline_ms, retry_period_ms;
};

/* One candidate's state. */
struct pn_lease {
        char ns[254], name[254], identity[256];
        double duration_ms, renew_deadline_ms, retry_period_ms;
        struct pn_lease_record observed; /* the last record read or written */
        bool have_observed;
        double observed_at; /* our clock when `observed` last changed */
        char rv[64];        /* the observed record's resourceVersion */
        bool leading;
        double renewed_at; /* our clock at the start of the last successful acquire or renew */
};

/* 0, or -EINVAL (a name or identity missing or too long, durations not ordered as
 * client-go asks: duration > renew deadline > retry period > 0). */
int pn_lease_init(struct pn_lease *l, const struct pn_lease_opts *o, podnet_error **err);

enum pn_lease_verdict {
        PN_LEASE_CREATE, /* no Lease: create it holding it */
        PN_LEASE_WAIT,   /* another holder whose lease has not run out by our clock */
        PN_LEASE_TAKE,   /* free or run out: take it over (a transition) */
        PN_LEASE_RENEW,  /* ours: renew it */
};

/* The decision for the record read at `now` (NULL: there is no Lease); notes the record
 * (and `now` when it differs from the one observed before). */
enum pn_lease_verdict pn_lease_decide(struct pn_lease *l, const struct pn_lease_record *got,
                                      const char *rv, double now);
/* The record to write for a CREATE, TAKE or RENEW verdict, wall_time its times. */
void pn_lease_next(const struct pn_lease *l, enum pn_lease_verdict v, const char *wall_time,
                   struct pn_lease_record *out);
/* A write of rec (with resourceVersion rv) succeeded at `started` (our clock when the
 * attempt began): we lead, until renew_deadline after it. */
void pn_lease_won(struct pn_lease *l, const struct pn_lease_record *rec, const char *rv,
                  double started);
/* Whether we may act as the leader at `now`: we lead and renewed within the deadline. */
bool pn_lease_valid(const struct pn_lease *l, double now);

/* The Lease object for rec as JSON (rv NULL: for a create); the caller's, NULL when out
 * of memory. */
char *pn_lease_format(const struct pn_lease *l, const struct pn_lease_record *rec, const char *rv);
/* Reads a Lease object: its spec into *rec and metadata.resourceVersion into rv. 0 or
 * -EBADMSG. */
int pn_lease_parse(const char *body, size_t len, struct pn_lease_record *rec, char *rv,
                   size_t rv_size);
/* The API's MicroTime for CLOCK_REALTIME now: 2006-01-02T15:04:05.000000Z. */
void pn_lease_wall_time(char *buf, size_t size);

/* One try of client-go's tryAcquireOrRenew: GET the Lease, decide, and POST or PUT.
 * 1: we lead (acquired or renewed), 0: another holds it or won the race (409), -errno
 * when the API did not answer as it should (*err says why; a leader's deadline runs). */
int pn_lease_step(struct pn_lease *l, pn_kube *k, podnet_error **err);
/* Gives the Lease up if we hold it (client-go's ReleaseOnCancel: no holder, renewTime
 * now, a duration of 1 s) so that another candidate takes over at once. 0 or -errno. */
int pn_lease_release(struct pn_lease *l, pn_kube *k, podnet_error **err);

#endif
