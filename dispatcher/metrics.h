/*
 * The dispatcher's counters and their Prometheus text exposition (format
 * 0.0.4).  Series are per trigger, keyed by namespace and name, so that a
 * trigger changed by a reload keeps counting where it was.  Everything
 * here belongs to the loop thread.
 */

#ifndef EM_DISPATCHER_METRICS_H
#define EM_DISPATCHER_METRICS_H

#include <eventmesh/em.h>

#include <stdint.h>

/* Delivery duration buckets, seconds (Prometheus's defaults). */
#define EM_METRICS_NBUCKETS  11

typedef struct em_stats_s  em_stats_t;

struct em_stats_s {
    char          *ns;
    char          *name;
    unsigned       refs;

    uint64_t       received;         /* fetched from the consumer */
    uint64_t       delivered;        /* subscriber answered 2xx */
    uint64_t       retried;          /* attempts after the first */
    uint64_t       filtered;         /* did not pass the filter: acked */
    uint64_t       dead_lettered;    /* accepted by the dead-letter sink */
    uint64_t       undeliverable;    /* no sink, or the sink failed: termed */
    uint64_t       replies_published;
    uint64_t       replies_dropped;  /* hop limit reached */
    uint64_t       replies_invalid;  /* claimed to be a CloudEvent, was not */
    uint64_t       replies_ignored;  /* a 200 body that is no CloudEvent */
    uint64_t       redelivered;      /* JetStream delivered it again */

    uint64_t       buckets[EM_METRICS_NBUCKETS];
    uint64_t       count;
    double         sum;

    unsigned       in_flight;
    int            pending_known;
    uint64_t       pending;          /* consumer info num_pending */
    uint64_t       ack_pending;      /* consumer info num_ack_pending */

    em_stats_t    *next;
};

typedef struct {
    em_stats_t    *head;
    uint64_t       reloads;
    uint64_t       reload_failures;
    uint64_t       nats_disconnects;
} em_metrics_t;

void em_metrics_init(em_metrics_t *m);
void em_metrics_free(em_metrics_t *m);

/* The series of a trigger, created on first use; NULL when out of memory. */
em_stats_t *em_metrics_acquire(em_metrics_t *m, const char *ns,
    const char *name);
void em_metrics_release(em_metrics_t *m, em_stats_t *s);

/* One attempt's HTTP duration. */
void em_metrics_observe(em_stats_t *s, double seconds);

/*
 * Appends the exposition.  Series come out in a stable order (namespace,
 * then name).  Returns EM_OK or EM_ERROR when out of memory.
 */
int em_metrics_render(const em_metrics_t *m, int nats_connected,
    unsigned triggers, unsigned triggers_ready, em_buf_t *out);

#endif /* EM_DISPATCHER_METRICS_H */
