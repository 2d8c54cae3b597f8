/*
 * Counters and the Prometheus text exposition.
 */

#include "metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const double  em_metrics_bounds[EM_METRICS_NBUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static const char *const  em_metrics_le[EM_METRICS_NBUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
    "5", "10"
};


void
em_metrics_init(em_metrics_t *m)
{
    memset(m, 0, sizeof(*m));
}


static void
em_stats_free(em_stats_t *s)
{
    free(s->ns);
    free(s->name);
    free(s);
}


void
em_metrics_free(em_metrics_t *m)
{
    em_stats_t  *s, *next;

    for (s = m->head; s != NULL; s = next) {
        next = s->next;
        em_stats_free(s);
    }

    m->head = NULL;
}


static int
em_stats_cmp(const em_stats_t *a, const char *ns, const char *name)
{
    int  rc;

    rc = strcmp(a->ns, ns);
    return rc != 0 ? rc : strcmp(a->name, name);
}


em_stats_t *
em_metrics_acquire(em_metrics_t *m, const char *ns, const char *name)
{
    em_stats_t  **pp, *s;
    int           rc;

    /* kept sorted, so that the exposition is stable */
    for (pp = &m->head; *pp != NULL; pp = &(*pp)->next) {
        rc = em_stats_cmp(*pp, ns, name);
        if (rc == 0) {
            (*pp)->refs++;
            return *pp;
        }

        if (rc > 0) {
            break;
        }
    }

    s = calloc(1, sizeof(em_stats_t));
    if (s == NULL) {
        return NULL;
    }

    s->ns = strdup(ns);
    s->name = strdup(name);
    if (s->ns == NULL || s->name == NULL) {
        em_stats_free(s);
        return NULL;
    }

    s->refs = 1;
    s->next = *pp;
    *pp = s;

    return s;
}


void
em_metrics_release(em_metrics_t *m, em_stats_t *s)
{
    em_stats_t  **pp;

    if (s == NULL || --s->refs > 0) {
        return;
    }

    for (pp = &m->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }

    em_stats_free(s);
}


void
em_metrics_observe(em_stats_t *s, double seconds)
{
    int  i;

    if (seconds < 0) {
        seconds = 0;
    }

    /* buckets are cumulative in the exposition, not here */
    for (i = 0; i < EM_METRICS_NBUCKETS; i++) {
        if (seconds <= em_metrics_bounds[i]) {
            s->buckets[i]++;
            break;
        }
    }

    s->count++;
    s->sum += seconds;
}


/* Label values: backslash, double quote and newline are escaped. */
static int
em_metrics_label(em_buf_t *out, const char *v)
{
    for ( /* void */ ; *v != '\0'; v++) {
        switch (*v) {

        case '\\':
            if (em_buf_append(out, "\\\\", 2) != EM_OK) {
                return EM_ERROR;
            }
            break;

        case '"':
            if (em_buf_append(out, "\\\"", 2) != EM_OK) {
                return EM_ERROR;
            }
            break;

        case '\n':
            if (em_buf_append(out, "\\n", 2) != EM_OK) {
                return EM_ERROR;
            }
            break;

        default:
            if (em_buf_append(out, v, 1) != EM_OK) {
                return EM_ERROR;
            }
        }
    }

    return EM_OK;
}


static int
em_metrics_labels(em_buf_t *out, const em_stats_t *s)
{
    if (em_buf_append_str(out, "{namespace=\"") != EM_OK
        || em_metrics_label(out, s->ns) != EM_OK
        || em_buf_append_str(out, "\",trigger=\"") != EM_OK
        || em_metrics_label(out, s->name) != EM_OK
        || em_buf_append_str(out, "\"") != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


typedef struct {
    const char  *name;
    const char  *type;
    const char  *help;
    size_t       offset;
} em_metrics_counter_t;


#define em_off(field)  offsetof(em_stats_t, field)

static const em_metrics_counter_t  em_metrics_counters[] = {
    { "em_events_received_total", "counter",
      "Events fetched from the trigger's consumer.", em_off(received) },
    { "em_events_delivered_total", "counter",
      "Events the subscriber accepted with a 2xx.", em_off(delivered) },
    { "em_events_retried_total", "counter",
      "Delivery attempts after the first, to the subscriber or the "
      "dead-letter sink.", em_off(retried) },
    { "em_events_filtered_total", "counter",
      "Events that did not pass the trigger's filter.", em_off(filtered) },
    { "em_events_dead_lettered_total", "counter",
      "Events the dead-letter sink accepted after the last attempt.",
      em_off(dead_lettered) },
    { "em_events_undeliverable_total", "counter",
      "Events given up on: no dead-letter sink, or the sink failed too.",
      em_off(undeliverable) },
    { "em_events_redelivered_total", "counter",
      "Events JetStream delivered more than once (after a crash or an "
      "expired ack wait).", em_off(redelivered) },
    { "em_replies_published_total", "counter",
      "Reply events stored in the trigger's broker.",
      em_off(replies_published) },
    { "em_replies_dropped_total", "counter",
      "Reply events dropped by the hop limit (knativebrokerttl).",
      em_off(replies_dropped) },
    { "em_replies_invalid_total", "counter",
      "200 responses that claimed to carry a CloudEvent but did not "
      "(delivered; the reply is ignored).", em_off(replies_invalid) },
    { "em_replies_ignored_total", "counter",
      "200 responses with a body that is not a CloudEvent (delivered; no "
      "reply).", em_off(replies_ignored) },
};


static int
em_metrics_u64(em_buf_t *out, const em_stats_t *s, const char *name,
    const char *extra, uint64_t v)
{
    if (em_buf_append_str(out, name) != EM_OK
        || em_metrics_labels(out, s) != EM_OK
        || (extra != NULL && em_buf_append_str(out, extra) != EM_OK)
        || em_buf_printf(out, "} %llu\n", (unsigned long long) v) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


static int
em_metrics_histograms(const em_metrics_t *m, em_buf_t *out)
{
    const em_stats_t  *s;
    uint64_t           cum;
    char               le[32];
    int                i;

    if (em_buf_append_str(out,
            "# HELP em_delivery_duration_seconds Duration of each HTTP "
            "attempt to a subscriber or dead-letter sink.\n"
            "# TYPE em_delivery_duration_seconds histogram\n") != EM_OK)
    {
        return EM_ERROR;
    }

    for (s = m->head; s != NULL; s = s->next) {
        cum = 0;

        for (i = 0; i < EM_METRICS_NBUCKETS; i++) {
            cum += s->buckets[i];
            snprintf(le, sizeof(le), ",le=\"%s\"", em_metrics_le[i]);

            if (em_metrics_u64(out, s, "em_delivery_duration_seconds_bucket",
                               le, cum) != EM_OK)
            {
                return EM_ERROR;
            }
        }

        if (em_metrics_u64(out, s, "em_delivery_duration_seconds_bucket",
                           ",le=\"+Inf\"", s->count) != EM_OK
            || em_buf_append_str(out, "em_delivery_duration_seconds_sum")
               != EM_OK
            || em_metrics_labels(out, s) != EM_OK
            || em_buf_printf(out, "} %.6f\n", s->sum) != EM_OK
            || em_metrics_u64(out, s, "em_delivery_duration_seconds_count",
                              NULL, s->count) != EM_OK)
        {
            return EM_ERROR;
        }
    }

    return EM_OK;
}


int
em_metrics_render(const em_metrics_t *m, int nats_connected,
    unsigned triggers, unsigned triggers_ready, em_buf_t *out)
{
    const em_metrics_counter_t  *c;
    const em_stats_t            *s;
    size_t                       i;

    if (em_buf_append(out, "", 0) != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < sizeof(em_metrics_counters) / sizeof(*c); i++) {
        c = &em_metrics_counters[i];

        if (em_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", c->name,
                          c->help, c->name, c->type) != EM_OK)
        {
            return EM_ERROR;
        }

        for (s = m->head; s != NULL; s = s->next) {
            if (em_metrics_u64(out, s, c->name, NULL,
                    *(const uint64_t *) ((const char *) s + c->offset))
                != EM_OK)
            {
                return EM_ERROR;
            }
        }
    }

    if (em_metrics_histograms(m, out) != EM_OK) {
        return EM_ERROR;
    }

    if (em_buf_append_str(out,
            "# HELP em_events_in_flight Events held by the dispatcher: "
            "in delivery, waiting for a retry or for their reply to be "
            "stored.\n# TYPE em_events_in_flight gauge\n") != EM_OK)
    {
        return EM_ERROR;
    }

    for (s = m->head; s != NULL; s = s->next) {
        if (em_metrics_u64(out, s, "em_events_in_flight", NULL, s->in_flight)
            != EM_OK)
        {
            return EM_ERROR;
        }
    }

    if (em_buf_append_str(out,
            "# HELP em_consumer_pending Events in the broker's stream the "
            "trigger's consumer has not fetched yet (its lag).\n"
            "# TYPE em_consumer_pending gauge\n") != EM_OK)
    {
        return EM_ERROR;
    }

    for (s = m->head; s != NULL; s = s->next) {
        if (s->pending_known
            && em_metrics_u64(out, s, "em_consumer_pending", NULL,
                              s->pending) != EM_OK)
        {
            return EM_ERROR;
        }
    }

    if (em_buf_append_str(out,
            "# HELP em_consumer_ack_pending Events fetched from the "
            "trigger's consumer, by any dispatcher, and not acknowledged "
            "yet.\n# TYPE em_consumer_ack_pending gauge\n") != EM_OK)
    {
        return EM_ERROR;
    }

    for (s = m->head; s != NULL; s = s->next) {
        if (s->pending_known
            && em_metrics_u64(out, s, "em_consumer_ack_pending", NULL,
                              s->ack_pending) != EM_OK)
        {
            return EM_ERROR;
        }
    }

    if (em_buf_printf(out,
            "# HELP em_nats_connected 1 while the NATS connection is up.\n"
            "# TYPE em_nats_connected gauge\n"
            "em_nats_connected %d\n"
            "# HELP em_nats_disconnects_total Times the NATS connection "
            "was lost.\n"
            "# TYPE em_nats_disconnects_total counter\n"
            "em_nats_disconnects_total %llu\n"
            "# HELP em_triggers Triggers in the configuration.\n"
            "# TYPE em_triggers gauge\n"
            "em_triggers %u\n"
            "# HELP em_triggers_ready Triggers whose consumer is ready.\n"
            "# TYPE em_triggers_ready gauge\n"
            "em_triggers_ready %u\n"
            "# HELP em_reloads_total Configuration reloads (SIGHUP).\n"
            "# TYPE em_reloads_total counter\n"
            "em_reloads_total{result=\"ok\"} %llu\n"
            "em_reloads_total{result=\"failed\"} %llu\n",
            nats_connected ? 1 : 0,
            (unsigned long long) m->nats_disconnects, triggers,
            triggers_ready, (unsigned long long) m->reloads,
            (unsigned long long) m->reload_failures) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}
