/*
 * Trigger runtimes: the durable pull consumer and its fetching thread.
 *
 * The consumer is created with js_AddConsumer and the subscription binds
 * to it, so that destroying the subscription never deletes it (cnats
 * deletes only what its subscribe call created).  Several dispatcher
 * processes on the same configuration bind to the same durable and
 * JetStream spreads the messages over their pull requests.
 *
 * Fetching keeps latency low and batches under load: a no-wait request
 * for as many messages as there are free slots returns what is there at
 * once; when nothing is, a one-message request waits up to
 * EM_FETCH_WAIT_MS and returns as soon as one arrives.
 */

#include "consumer.h"
#include "log.h"
#include "nats_conn.h"
#include "retry.h"
#include "run.h"

#include <eventmesh/filter.h>
#include <eventmesh/subject.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define EM_JS_CONSUMER_NOT_FOUND  10014
#define EM_JS_STREAM_NOT_FOUND    10059

#define EM_SETUP_RETRY_MIN_MS     250
#define EM_SETUP_RETRY_MAX_MS     5000


int
em_consumer_spec_init(em_consumer_spec_t *spec, const em_trigger_t *t)
{
    em_buf_t     b;
    const char  *type;
    int          rc;

    memset(spec, 0, sizeof(*spec));
    em_buf_init(&b);

    if (em_trigger_consumer_name(t, spec->name, sizeof(spec->name)) != 0) {
        return EM_ERROR;
    }

    rc = em_stream_name(&b, t->ns, strlen(t->ns), t->broker,
                        strlen(t->broker));
    if (rc != EM_OK || (spec->stream = strdup(b.data)) == NULL) {
        em_buf_free(&b);
        return EM_ERROR;
    }

    type = em_filter_exact_type(t->filter);

    if (type != NULL) {
        rc = em_subject_for(&b, t->ns, strlen(t->ns), t->broker,
                            strlen(t->broker), type, strlen(type));
    } else {
        rc = em_subject_wildcard(&b, t->ns, strlen(t->ns), t->broker,
                                 strlen(t->broker));
    }

    if (rc != EM_OK || (spec->filter_subject = strdup(b.data)) == NULL) {
        em_buf_free(&b);
        em_consumer_spec_free(spec);
        return EM_ERROR;
    }

    em_buf_free(&b);

    spec->ack_wait = em_consumer_ack_wait(t);
    spec->max_ack_pending = t->max_in_flight > 0 ? t->max_in_flight : 1;
    spec->inactive = t->broker_conf != NULL
                     ? t->broker_conf->max_inactivity : 0;

    return EM_OK;
}


void
em_consumer_spec_free(em_consumer_spec_t *spec)
{
    free(spec->stream);
    free(spec->filter_subject);
    spec->stream = NULL;
    spec->filter_subject = NULL;
}


int
em_consumer_spec_same(const em_consumer_spec_t *a,
    const em_consumer_spec_t *b)
{
    return strcmp(a->stream, b->stream) == 0
           && strcmp(a->filter_subject, b->filter_subject) == 0
           && strcmp(a->name, b->name) == 0
           && a->ack_wait == b->ack_wait
           && a->max_ack_pending == b->max_ack_pending
           && a->inactive == b->inactive;
}


int64_t
em_consumer_ack_wait(const em_trigger_t *t)
{
    int64_t  budget;

    budget = em_retry_budget(&t->delivery);

    if (budget > EM_ACK_WAIT_MAX - EM_ACK_WAIT_SLACK) {
        return EM_ACK_WAIT_MAX;
    }

    budget += EM_ACK_WAIT_SLACK;

    return budget < EM_ACK_WAIT_MIN ? EM_ACK_WAIT_MIN : budget;
}


/* ---- status, shared with the loop ---------------------------------------- */

static void
em_rt_set_status(em_rt_t *rt, int ready, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
em_rt_set_status(em_rt_t *rt, int ready, const char *reason,
    const char *fmt, ...)
{
    va_list  ap;
    char     msg[sizeof(rt->message)];
    int      changed;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&rt->mu);
    changed = rt->ready != (unsigned) ready
              || strcmp(rt->reason, reason) != 0;
    rt->ready = ready ? 1 : 0;
    snprintf(rt->reason, sizeof(rt->reason), "%s", reason);
    snprintf(rt->message, sizeof(rt->message), "%s", msg);
    pthread_mutex_unlock(&rt->mu);

    if (!changed) {
        return;
    }

    if (ready) {
        em_log_info("trigger %s/%s: consumer %s on stream %s ready (%s)",
                    rt->t->ns, rt->t->name, rt->spec.name, rt->spec.stream,
                    msg);
    } else {
        em_log_warn("trigger %s/%s: not ready: %s: %s", rt->t->ns,
                    rt->t->name, reason, msg);
    }
}


void
em_rt_status(em_rt_t *rt, int *ready, char *reason, size_t rsize,
    char *message, size_t msize)
{
    pthread_mutex_lock(&rt->mu);
    *ready = rt->ready;
    snprintf(reason, rsize, "%s", rt->reason);
    snprintf(message, msize, "%s", rt->message);
    pthread_mutex_unlock(&rt->mu);
}


/* ---- the consumer -------------------------------------------------------- */

static void
em_rt_consumer_config(em_rt_t *rt, jsConsumerConfig *cc, char *desc,
    size_t size)
{
    jsConsumerConfig_Init(cc);

    snprintf(desc, size, "event-mesh trigger %s/%s", rt->t->ns, rt->t->name);

    cc->Durable = rt->spec.name;
    cc->Description = desc;
    cc->AckPolicy = js_AckExplicit;

    /* Knative semantics: a new trigger sees the events from now on */
    cc->DeliverPolicy = js_DeliverNew;
    cc->AckWait = rt->spec.ack_wait;
    cc->MaxAckPending = rt->spec.max_ack_pending;
    cc->FilterSubject = rt->spec.filter_subject;

    /* the seed's autocleaner: JetStream removes a durable idle this long */
    cc->InactiveThreshold = rt->spec.inactive;
}


static int
em_rt_config_differs(const jsConsumerConfig *cur, const jsConsumerConfig *cc)
{
    return cur->AckPolicy != cc->AckPolicy
           || cur->AckWait != cc->AckWait
           || cur->MaxAckPending != cc->MaxAckPending
           || cur->InactiveThreshold != cc->InactiveThreshold
           || strcmp(cur->FilterSubject ? cur->FilterSubject : "",
                     cc->FilterSubject) != 0
           || strcmp(cur->Description ? cur->Description : "",
                     cc->Description) != 0;
}


static void
em_rt_api_failed(em_rt_t *rt, const char *what, natsStatus s,
    jsErrCode code)
{
    if (code == EM_JS_STREAM_NOT_FOUND) {
        em_rt_set_status(rt, 0, "BrokerNotFound", "stream %s of broker "
                         "%s/%s does not exist (is the broker in %s? "
                         "`provision` creates its stream)",
                         rt->spec.stream, rt->t->ns, rt->t->broker,
                         rt->run->config_path);
        return;
    }

    if (!atomic_load(&rt->run->nats_up)) {
        em_rt_set_status(rt, 0, "NATSDisconnected", "cannot %s consumer "
                         "%s: NATS is not connected", what, rt->spec.name);
        return;
    }

    em_rt_set_status(rt, 0, "ConsumerError", "cannot %s consumer %s on "
                     "stream %s: %s", what, rt->spec.name, rt->spec.stream,
                     s == NATS_TIMEOUT ? "JetStream did not answer in time"
                                       : em_nats_error_text(s));
}


/*
 * A configuration JetStream refuses to update in place is replaced by a
 * new consumer of the same name that starts right after the old one's ack
 * floor: nothing stored since is skipped; events acked beyond the floor
 * may come again, which at-least-once allows.
 */
static natsStatus
em_rt_consumer_replace(em_rt_t *rt, jsConsumerConfig *cc,
    const jsConsumerInfo *cur, jsErrCode *code)
{
    jsConsumerInfo  *ci;
    natsStatus       s;

    s = js_DeleteConsumer(rt->run->js, rt->spec.stream, rt->spec.name, NULL,
                          code);
    if (s != NATS_OK && *code != EM_JS_CONSUMER_NOT_FOUND) {
        return s;
    }

    cc->DeliverPolicy = js_DeliverByStartSequence;
    cc->OptStartSeq = cur->AckFloor.Stream + 1;

    ci = NULL;
    *code = 0;
    s = js_AddConsumer(&ci, rt->run->js, rt->spec.stream, cc, NULL, code);
    jsConsumerInfo_Destroy(ci);

    if (s == NATS_OK) {
        em_log_info("trigger %s/%s: consumer %s recreated from stream "
                    "sequence %llu", rt->t->ns, rt->t->name, rt->spec.name,
                    (unsigned long long) cc->OptStartSeq);
    }

    return s;
}


static int
em_rt_consumer_ensure(em_rt_t *rt)
{
    jsConsumerConfig   cc, upd;
    jsConsumerInfo    *ci, *nci;
    jsSubOptions       so;
    jsErrCode          code;
    natsStatus         s;
    char               desc[256];
    const char        *what;

    em_rt_consumer_config(rt, &cc, desc, sizeof(desc));

    ci = NULL;
    code = 0;
    what = "look up";
    s = js_GetConsumerInfo(&ci, rt->run->js, rt->spec.stream, rt->spec.name,
                           NULL, &code);

    if (s == NATS_OK) {
        if (em_rt_config_differs(ci->Config, &cc)) {
            /* where it starts is the consumer's own, not ours to change */
            upd = cc;
            upd.DeliverPolicy = ci->Config->DeliverPolicy;
            upd.OptStartSeq = ci->Config->OptStartSeq;
            upd.OptStartTime = ci->Config->OptStartTime;

            nci = NULL;
            code = 0;
            what = "update";
            s = js_UpdateConsumer(&nci, rt->run->js, rt->spec.stream, &upd,
                                  NULL, &code);
            jsConsumerInfo_Destroy(nci);

            if (s != NATS_OK && code != EM_JS_STREAM_NOT_FOUND
                && atomic_load(&rt->run->nats_up))
            {
                em_log_info("trigger %s/%s: consumer %s cannot be updated in "
                            "place (%s): replacing it", rt->t->ns,
                            rt->t->name, rt->spec.name,
                            em_nats_error_text(s));
                what = "replace";
                code = 0;
                s = em_rt_consumer_replace(rt, &cc, ci, &code);
            }

            if (s == NATS_OK) {
                em_log_info("trigger %s/%s: consumer %s updated", rt->t->ns,
                            rt->t->name, rt->spec.name);
            }
        }

        jsConsumerInfo_Destroy(ci);

    } else if (code == EM_JS_CONSUMER_NOT_FOUND) {
        ci = NULL;
        code = 0;
        what = "create";
        s = js_AddConsumer(&ci, rt->run->js, rt->spec.stream, &cc, NULL,
                           &code);
        jsConsumerInfo_Destroy(ci);

        if (s == NATS_OK) {
            em_log_info("trigger %s/%s: consumer %s created on stream %s",
                        rt->t->ns, rt->t->name, rt->spec.name,
                        rt->spec.stream);
        }
    }

    if (s != NATS_OK) {
        em_rt_api_failed(rt, what, s, code);
        return -1;
    }

    if (rt->sub == NULL) {
        jsSubOptions_Init(&so);
        so.Stream = rt->spec.stream;
        so.Consumer = rt->spec.name;

        code = 0;
        s = js_PullSubscribe(&rt->sub, rt->run->js, rt->spec.filter_subject,
                             rt->spec.name, NULL, &so, &code);
        if (s != NATS_OK) {
            rt->sub = NULL;
            em_rt_api_failed(rt, "subscribe to", s, code);
            return -1;
        }
    }

    em_rt_set_status(rt, 1, "Ready", "filter subject %s, ack wait %llds, "
                     "max in flight %lld", rt->spec.filter_subject,
                     (long long) (rt->spec.ack_wait / 1000000000),
                     (long long) rt->spec.max_ack_pending);
    return 0;
}


/* ---- the thread ---------------------------------------------------------- */

/* Waits on rt->cv for up to ms or until stopped; under rt->mu. */
static void
em_rt_wait_locked(em_rt_t *rt, int64_t ms)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }

    if (!rt->stop) {
        (void) pthread_cond_timedwait(&rt->cv, &rt->mu, &ts);
    }
}


static void
em_rt_pause(em_rt_t *rt, int64_t ms)
{
    pthread_mutex_lock(&rt->mu);
    em_rt_wait_locked(rt, ms);
    pthread_mutex_unlock(&rt->mu);
}


static void
em_rt_hand_over(em_rt_t *rt, natsMsgList *list)
{
    int  i;

    pthread_mutex_lock(&rt->mu);
    rt->held += (unsigned) list->Count;
    pthread_mutex_unlock(&rt->mu);

    for (i = 0; i < list->Count; i++) {
        em_run_handoff(rt->run, EM_HANDOFF_MSG, rt, list->Msgs[i]);

        /* the loop owns it now; the list must not destroy it */
        list->Msgs[i] = NULL;
    }

    natsMsgList_Destroy(list);
}


/* Returns 1 when messages came, 0 when none, -1 on an error. */
static int
em_rt_fetch(em_rt_t *rt, int batch)
{
    natsMsgList     list;
    jsFetchRequest  req;
    jsErrCode       code;
    natsStatus      s;

    memset(&list, 0, sizeof(list));
    jsFetchRequest_Init(&req);
    req.Batch = batch;
    req.NoWait = true;
    req.Expires = (int64_t) EM_FETCH_WAIT_MS * 1000000;

    s = natsSubscription_FetchRequest(&list, rt->sub, &req);

    if (s == NATS_OK && list.Count > 0) {
        em_rt_hand_over(rt, &list);
        return 1;
    }

    natsMsgList_Destroy(&list);

    if (s != NATS_OK && s != NATS_NOT_FOUND && s != NATS_TIMEOUT) {
        return -1;
    }

    code = 0;
    memset(&list, 0, sizeof(list));
    s = natsSubscription_Fetch(&list, rt->sub, 1, EM_FETCH_WAIT_MS, &code);

    if (s == NATS_OK && list.Count > 0) {
        em_rt_hand_over(rt, &list);
        return 1;
    }

    natsMsgList_Destroy(&list);

    return s == NATS_OK || s == NATS_NOT_FOUND || s == NATS_TIMEOUT ? 0 : -1;
}


/* After a fetch error: is the consumer still there? */
static void
em_rt_fetch_failed(em_rt_t *rt, int *setup)
{
    jsConsumerInfo  *ci;
    jsErrCode        code;
    natsStatus       s;

    if (!atomic_load(&rt->run->nats_up)) {
        em_rt_set_status(rt, 0, "NATSDisconnected", "waiting for the NATS "
                         "connection to come back");
        em_rt_pause(rt, EM_SETUP_RETRY_MIN_MS);
        return;
    }

    ci = NULL;
    code = 0;
    s = js_GetConsumerInfo(&ci, rt->run->js, rt->spec.stream, rt->spec.name,
                           NULL, &code);
    jsConsumerInfo_Destroy(ci);

    if (s != NATS_OK
        && (code == EM_JS_CONSUMER_NOT_FOUND
            || code == EM_JS_STREAM_NOT_FOUND))
    {
        em_log_warn("trigger %s/%s: consumer %s is gone from stream %s "
                    "(deleted from outside, or idle longer than "
                    "maxInactivity): setting it up again", rt->t->ns,
                    rt->t->name, rt->spec.name, rt->spec.stream);
        *setup = 1;
        return;
    }

    em_rt_pause(rt, EM_SETUP_RETRY_MIN_MS);
}


static void *
em_rt_thread(void *arg)
{
    em_rt_t    *rt;
    int         setup, batch, rc, del, degraded;
    int64_t     backoff;
    jsErrCode   code;
    natsStatus  s;

    rt = arg;
    setup = 1;
    degraded = 0;
    backoff = EM_SETUP_RETRY_MIN_MS;

    if (rt->t->broker_conf == NULL) {
        em_rt_set_status(rt, 0, "BrokerNotFound", "broker %s/%s is not in "
                         "%s", rt->t->ns, rt->t->broker,
                         rt->run->config_path);
    }

    for ( ;; ) {
        pthread_mutex_lock(&rt->mu);

        if (rt->stop) {
            pthread_mutex_unlock(&rt->mu);
            break;
        }

        if (rt->t->broker_conf == NULL) {
            em_rt_wait_locked(rt, 60000);
            pthread_mutex_unlock(&rt->mu);
            continue;
        }

        if (!setup) {
            while (rt->held >= rt->limit && !rt->stop) {
                pthread_cond_wait(&rt->cv, &rt->mu);
            }
        }

        batch = rt->limit > rt->held ? (int) (rt->limit - rt->held) : 0;
        pthread_mutex_unlock(&rt->mu);

        if (setup) {
            if (em_rt_consumer_ensure(rt) != 0) {
                em_rt_pause(rt, backoff);
                backoff = backoff * 2 < EM_SETUP_RETRY_MAX_MS
                          ? backoff * 2 : EM_SETUP_RETRY_MAX_MS;
                continue;
            }

            setup = 0;
            backoff = EM_SETUP_RETRY_MIN_MS;
            continue;
        }

        if (batch <= 0) {
            continue;
        }

        if (batch > EM_FETCH_BATCH_MAX) {
            batch = EM_FETCH_BATCH_MAX;
        }

        rc = em_rt_fetch(rt, batch);
        if (rc < 0) {
            em_rt_fetch_failed(rt, &setup);
            degraded = !setup;
            continue;
        }

        /* a fetch during an outage waits out its time, it does not fail */
        if (!atomic_load(&rt->run->nats_up)) {
            em_rt_set_status(rt, 0, "NATSDisconnected", "waiting for the "
                             "NATS connection to come back");
            degraded = 1;
            em_rt_pause(rt, EM_SETUP_RETRY_MIN_MS);

        } else if (degraded) {
            degraded = 0;
            em_rt_set_status(rt, 1, "Ready", "fetching from consumer %s "
                             "again", rt->spec.name);
        }
    }

    /* the loop finishes (or naks) what was fetched; then we may go */
    pthread_mutex_lock(&rt->mu);
    while (rt->held > 0) {
        pthread_cond_wait(&rt->cv, &rt->mu);
    }
    del = rt->delete_consumer;
    pthread_mutex_unlock(&rt->mu);

    if (del && rt->t->broker_conf != NULL) {
        code = 0;
        s = js_DeleteConsumer(rt->run->js, rt->spec.stream, rt->spec.name,
                              NULL, &code);

        if (s == NATS_OK) {
            em_log_info("trigger %s/%s: consumer %s deleted from stream %s",
                        rt->t->ns, rt->t->name, rt->spec.name,
                        rt->spec.stream);

        } else if (code != EM_JS_CONSUMER_NOT_FOUND
                   && code != EM_JS_STREAM_NOT_FOUND)
        {
            em_log_warn("trigger %s/%s: cannot delete consumer %s from "
                        "stream %s: %s (JetStream removes it after "
                        "maxInactivity)", rt->t->ns, rt->t->name,
                        rt->spec.name, rt->spec.stream,
                        em_nats_error_text(s));
        }
    }

    /* every message of the subscription is finished: it can go */
    if (rt->sub != NULL) {
        natsSubscription_Destroy(rt->sub);
        rt->sub = NULL;
    }

    em_run_handoff(rt->run, EM_HANDOFF_DONE, rt, NULL);
    return NULL;
}


/* ---- life cycle (loop thread) -------------------------------------------- */

em_rt_t *
em_rt_new(em_run_t *run, em_gen_t *gen, const em_trigger_t *t)
{
    em_rt_t             *rt;
    pthread_condattr_t   ca;

    rt = calloc(1, sizeof(em_rt_t));
    if (rt == NULL) {
        return NULL;
    }

    if (em_consumer_spec_init(&rt->spec, t) != EM_OK) {
        free(rt);
        return NULL;
    }

    rt->stats = em_metrics_acquire(&run->metrics, t->ns, t->name);
    if (rt->stats == NULL) {
        em_consumer_spec_free(&rt->spec);
        free(rt);
        return NULL;
    }

    rt->run = run;
    rt->gen = gen;
    gen->refs++;
    rt->t = t;
    rt->limit = t->max_in_flight > 0 ? t->max_in_flight : 1;

    pthread_mutex_init(&rt->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->cv, &ca);
    pthread_condattr_destroy(&ca);

    snprintf(rt->reason, sizeof(rt->reason), "ConsumerNotReady");
    snprintf(rt->message, sizeof(rt->message), "setting up consumer %s",
             rt->spec.name);

    return rt;
}


int
em_rt_start(em_rt_t *rt)
{
    int  rc;

    rc = pthread_create(&rt->thread, NULL, em_rt_thread, rt);
    if (rc != 0) {
        em_log_error("trigger %s/%s: cannot start its thread: %s",
                     rt->t->ns, rt->t->name, strerror(rc));
        return EM_ERROR;
    }

    rt->thread_started = 1;
    return EM_OK;
}


void
em_rt_stop(em_rt_t *rt, int delete_consumer)
{
    pthread_mutex_lock(&rt->mu);
    rt->stop = 1;
    if (delete_consumer) {
        rt->delete_consumer = 1;
    }
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}


void
em_rt_release(em_rt_t *rt)
{
    pthread_mutex_lock(&rt->mu);
    rt->held--;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}


void
em_rt_free(em_rt_t *rt)
{
    if (rt->thread_started) {
        pthread_join(rt->thread, NULL);
    }

    em_metrics_release(&rt->run->metrics, rt->stats);
    em_consumer_spec_free(&rt->spec);
    pthread_mutex_destroy(&rt->mu);
    pthread_cond_destroy(&rt->cv);
    em_gen_unref(rt->gen);
    free(rt);
}


void
em_rt_refresh_lag(em_rt_t *rt)
{
    jsConsumerInfo  *ci;
    jsErrCode        code;
    natsStatus       s;

    ci = NULL;
    code = 0;
    s = js_GetConsumerInfo(&ci, rt->run->js, rt->spec.stream, rt->spec.name,
                           NULL, &code);

    pthread_mutex_lock(&rt->mu);

    if (s == NATS_OK) {
        rt->pending = ci->NumPending;
        rt->ack_pending = (uint64_t) ci->NumAckPending;
        rt->pending_known = 1;

    } else {
        rt->pending_known = 0;
    }

    pthread_mutex_unlock(&rt->mu);

    jsConsumerInfo_Destroy(ci);
}
