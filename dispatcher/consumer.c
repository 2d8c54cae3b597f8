/*
 * Trigger runtimes: the durable pull consumer and the pull requests that
 * feed it to the loop.
 *
 * The consumer is created with js_AddConsumer; messages come to a plain
 * subscription on an inbox of ours, through pull requests we publish to
 * the consumer's MSG.NEXT subject.  Several dispatcher processes on the
 * same configuration send pull requests to the same durable and JetStream
 * spreads the messages over them.
 *
 * A window of requests stays outstanding (between half and all of the
 * trigger's in-flight bound), so JetStream sends the next message the
 * moment an ack frees a slot under the consumer's MaxAckPending, with no
 * fetch round trip between an ack and the next delivery: a blocking fetch
 * per free slot made the pull itself the bottleneck.  MaxAckPending is
 * what bounds the events in delivery, across every dispatcher.  Requests
 * expire after EM_PULL_EXPIRES_MS; JetStream reports what an expired one
 * left undelivered, and after a reconnect, or a silence longer than a
 * request can live, the window is assumed lost and sent again (a request
 * too many is harmless, one too few would stall the trigger).
 *
 * Messages are acked by publishing to their reply subject, as cnats'
 * natsMsg_Ack does for messages of its own JetStream subscriptions.
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

/* how long a stopping runtime waits for the server to confirm its UNSUB */
#define EM_RT_DRAIN_MS            5000

/* JetStream's answers to pull requests (the Status header) */
#define EM_PULL_HEARTBEAT         "100"
#define EM_PULL_NO_RESPONDERS     "503"


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


/* ---- pull requests and what they bring ----------------------------------- */

natsStatus
em_rt_ack(em_rt_t *rt, natsMsg *msg, const char *what)
{
    const char  *reply;

    reply = natsMsg_GetReply(msg);
    if (reply == NULL || reply[0] == '\0') {
        return NATS_INVALID_ARG;
    }

    return natsConnection_PublishString(rt->run->nc, reply, what);
}


void
em_rt_hand_back(em_rt_t *rt, natsMsg *msg)
{
    em_log_error("out of memory: an event of trigger %s/%s goes back to "
                 "JetStream", rt->t->ns, rt->t->name);

    (void) em_rt_ack(rt, msg, EM_ACK_NAK);
    natsMsg_Destroy(msg);
    em_rt_release(rt);
}


/*
 * How many messages to ask for now, counted as requested: the window is
 * topped up to the in-flight bound once half of it has arrived.  Under
 * rt->mu.
 */
static int64_t
em_rt_want_locked(em_rt_t *rt, uint64_t now)
{
    int64_t  limit, want;

    if (!rt->pulling || rt->stop || now < rt->pull_pause_until) {
        return 0;
    }

    limit = (int64_t) rt->limit;

    if (rt->requested * 2 > limit) {
        return 0;
    }

    want = limit - rt->requested;
    rt->requested += want;

    return want;
}


static void
em_rt_pull(em_rt_t *rt, int64_t n)
{
    natsStatus  s;
    char        req[96];
    int         len;

    len = snprintf(req, sizeof(req), "{\"batch\":%lld,\"expires\":%lld}",
                   (long long) n,
                   (long long) EM_PULL_EXPIRES_MS * 1000000);

    s = natsConnection_PublishRequest(rt->run->nc, rt->next_subject,
                                      rt->inbox, req, len);
    if (s == NATS_OK) {
        return;
    }

    /* the thread sends it again on its next round */
    pthread_mutex_lock(&rt->mu);
    rt->requested = rt->requested > n ? rt->requested - n : 0;
    pthread_mutex_unlock(&rt->mu);

    em_log_debug("trigger %s/%s: cannot send a pull request: %s",
                 rt->t->ns, rt->t->name, natsStatus_GetText(s));
}


/* A message without a reply subject: JetStream's word on our requests. */
static void
em_rt_on_status(em_rt_t *rt, natsMsg *msg)
{
    const char  *status, *desc, *pending;
    long long    n;
    int          gone;

    status = NULL;
    desc = NULL;
    pending = NULL;

    if (natsMsgHeader_Get(msg, "Status", &status) != NATS_OK
        || status == NULL)
    {
        return;
    }

    (void) natsMsgHeader_Get(msg, "Description", &desc);
    (void) natsMsgHeader_Get(msg, "Nats-Pending-Messages", &pending);

    gone = strcmp(status, EM_PULL_NO_RESPONDERS) == 0
           || (desc != NULL
               && (strcasestr(desc, "consumer deleted") != NULL
                   || strcasestr(desc, "push based") != NULL));

    pthread_mutex_lock(&rt->mu);

    rt->seen_ms = em_run_now_ms();

    if (strcmp(status, EM_PULL_HEARTBEAT) == 0) {
        pthread_mutex_unlock(&rt->mu);
        return;
    }

    if (gone) {
        rt->resetup = 1;
        rt->pulling = 0;
        rt->requested = 0;

    } else if (pending != NULL) {
        /* an expired request: what it did not bring */
        n = strtoll(pending, NULL, 10);
        rt->requested = n > 0 && n < rt->requested ? rt->requested - n : 0;

    } else {
        /* a refused request (too many waiting, leadership change, ...):
           ask again, but not at once */
        rt->requested = 0;
        rt->pull_pause_until = rt->seen_ms + EM_SETUP_RETRY_MIN_MS * 4;
    }

    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);

    if (gone) {
        em_log_warn("trigger %s/%s: consumer %s is gone from stream %s "
                    "(deleted from outside, or idle longer than "
                    "maxInactivity): setting it up again", rt->t->ns,
                    rt->t->name, rt->spec.name, rt->spec.stream);

    } else if (pending == NULL) {
        em_log_info("trigger %s/%s: JetStream refused a pull request of "
                    "consumer %s: %s %s", rt->t->ns, rt->t->name,
                    rt->spec.name, status, desc != NULL ? desc : "");
    }
}


/* cnats' delivery thread of rt's subscription */
static void
em_rt_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *closure)
{
    em_rt_t     *rt;
    const char  *reply;
    int64_t      want;
    uint64_t     now;
    int          stop;

    (void) nc;
    (void) sub;

    rt = closure;
    reply = natsMsg_GetReply(msg);

    if (reply == NULL || reply[0] == '\0') {
        em_rt_on_status(rt, msg);
        natsMsg_Destroy(msg);
        return;
    }

    now = em_run_now_ms();

    pthread_mutex_lock(&rt->mu);

    rt->seen_ms = now;
    if (rt->requested > 0) {
        rt->requested--;
    }

    stop = rt->stop;
    if (!stop) {
        rt->held++;
    }

    want = em_rt_want_locked(rt, now);
    pthread_mutex_unlock(&rt->mu);

    if (stop) {
        /* the trigger's new runtime, or another dispatcher, takes it */
        (void) em_rt_ack(rt, msg, EM_ACK_NAK);
        natsMsg_Destroy(msg);
        return;
    }

    em_run_handoff(rt->run, EM_HANDOFF_MSG, rt, msg);

    if (want > 0) {
        em_rt_pull(rt, want);
    }
}


/*
 * Ends a stopping runtime's interest in its inbox.  JetStream drops the
 * pull requests of an inbox nobody listens to, so the events handed back
 * from then on go to another runtime or dispatcher instead of bouncing
 * back to us.  A plain unsubscribe would lose the events the server sent
 * before it saw the UNSUB: the client discards them, and they would stay
 * unacked for a whole ack wait.  Draining keeps them coming to
 * em_rt_on_msg(), which naks them, until the server has confirmed.
 */
static void
em_rt_close_inbox(natsSubscription *sub)
{
    if (natsSubscription_DrainTimeout(sub, EM_RT_DRAIN_MS) != NATS_OK) {
        /* no connection to drain over: nothing more can arrive anyway */
        (void) natsSubscription_Unsubscribe(sub);
    }
}


/* no callback of rt's subscription runs from now on */
static void
em_rt_sub_closed(void *closure)
{
    em_rt_t  *rt;

    rt = closure;

    pthread_mutex_lock(&rt->mu);
    rt->sub_open = 0;
    pthread_cond_broadcast(&rt->cv);
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
    natsSubscription  *sub;
    jsErrCode          code;
    int                stop;
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
        sub = NULL;
        s = natsConnection_Subscribe(&sub, rt->run->nc, rt->inbox,
                                     em_rt_on_msg, rt);
        if (s == NATS_OK) {
            s = natsSubscription_SetOnCompleteCB(sub, em_rt_sub_closed, rt);
        }

        if (s != NATS_OK) {
            natsSubscription_Destroy(sub);
            em_rt_api_failed(rt, "subscribe to", s, 0);
            return -1;
        }

        pthread_mutex_lock(&rt->mu);
        rt->sub = sub;
        rt->sub_open = 1;
        stop = rt->stop;
        pthread_mutex_unlock(&rt->mu);

        /* em_rt_stop() came before there was anything to close */
        if (stop) {
            em_rt_close_inbox(sub);
            return -1;
        }
    }

    pthread_mutex_lock(&rt->mu);
    rt->requested = 0;
    pthread_mutex_unlock(&rt->mu);

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


/*
 * Waits until the subscription's callbacks are over (em_rt_stop() closed
 * it) and frees it.
 */
static void
em_rt_unsubscribe(em_rt_t *rt)
{
    if (rt->sub == NULL) {
        return;
    }

    pthread_mutex_lock(&rt->mu);
    rt->pulling = 0;
    while (rt->sub_open) {
        pthread_cond_wait(&rt->cv, &rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);

    natsSubscription_Destroy(rt->sub);
    rt->sub = NULL;
}


static void *
em_rt_thread(void *arg)
{
    em_rt_t    *rt;
    int         setup, del, degraded;
    int64_t     backoff, want;
    uint64_t    now;
    unsigned long  epoch, disconnects;
    jsErrCode   code;
    natsStatus  s;

    rt = arg;
    setup = 1;
    degraded = 0;
    epoch = 0;
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

        if (rt->resetup) {
            rt->resetup = 0;
            setup = 1;
        }

        pthread_mutex_unlock(&rt->mu);

        if (setup) {
            if (em_rt_consumer_ensure(rt) != 0) {
                em_rt_pause(rt, backoff);
                backoff = backoff * 2 < EM_SETUP_RETRY_MAX_MS
                          ? backoff * 2 : EM_SETUP_RETRY_MAX_MS;
                continue;
            }

            setup = 0;
            degraded = 0;
            backoff = EM_SETUP_RETRY_MIN_MS;
            epoch = atomic_load(&rt->run->nats_disconnects);

            pthread_mutex_lock(&rt->mu);
            rt->pulling = 1;
            rt->seen_ms = em_run_now_ms();
            pthread_mutex_unlock(&rt->mu);
        }

        disconnects = atomic_load(&rt->run->nats_disconnects);
        now = em_run_now_ms();

        pthread_mutex_lock(&rt->mu);

        /*
         * JetStream forgets the requests of a connection that went away,
         * and a lost expiry notice would leave the window counted but
         * empty: both mean asking again.
         */
        if (disconnects != epoch
            || now - rt->seen_ms > EM_PULL_EXPIRES_MS + EM_PULL_SLACK_MS)
        {
            epoch = disconnects;
            rt->requested = 0;
            rt->seen_ms = now;
        }

        want = atomic_load(&rt->run->nats_up) ? em_rt_want_locked(rt, now)
                                              : 0;
        pthread_mutex_unlock(&rt->mu);

        if (want > 0) {
            em_rt_pull(rt, want);
        }

        if (!atomic_load(&rt->run->nats_up)) {
            em_rt_set_status(rt, 0, "NATSDisconnected", "waiting for the "
                             "NATS connection to come back");
            degraded = 1;

        } else if (degraded) {
            degraded = 0;
            em_rt_set_status(rt, 1, "Ready", "pulling from consumer %s "
                             "again", rt->spec.name);
        }

        pthread_mutex_lock(&rt->mu);
        if (!rt->resetup) {
            em_rt_wait_locked(rt, 1000);
        }
        pthread_mutex_unlock(&rt->mu);
    }

    em_rt_unsubscribe(rt);

    /* the loop finishes (or naks) what it was given; then we may go */
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

    em_run_handoff(rt->run, EM_HANDOFF_DONE, rt, NULL);
    return NULL;
}


/* ---- life cycle (loop thread) -------------------------------------------- */

/* where pull requests for the consumer go (JetStream's default API prefix) */
static int
em_rt_next_subject(em_rt_t *rt)
{
    size_t  n;

    n = sizeof("$JS.API.CONSUMER.MSG.NEXT..") + strlen(rt->spec.stream)
        + strlen(rt->spec.name);

    rt->next_subject = malloc(n);
    if (rt->next_subject == NULL) {
        return EM_ERROR;
    }

    snprintf(rt->next_subject, n, "$JS.API.CONSUMER.MSG.NEXT.%s.%s",
             rt->spec.stream, rt->spec.name);

    return EM_OK;
}


em_rt_t *
em_rt_new(em_run_t *run, em_gen_t *gen, const em_trigger_t *t)
{
    em_rt_t             *rt;
    natsInbox           *inbox;
    pthread_condattr_t   ca;

    rt = calloc(1, sizeof(em_rt_t));
    if (rt == NULL) {
        return NULL;
    }

    if (em_consumer_spec_init(&rt->spec, t) != EM_OK) {
        free(rt);
        return NULL;
    }

    inbox = NULL;
    if (natsInbox_Create(&inbox) != NATS_OK
        || strlen(inbox) >= sizeof(rt->inbox)
        || em_rt_next_subject(rt) != EM_OK)
    {
        natsInbox_Destroy(inbox);
        em_consumer_spec_free(&rt->spec);
        free(rt->next_subject);
        free(rt);
        return NULL;
    }

    memcpy(rt->inbox, inbox, strlen(inbox) + 1);
    natsInbox_Destroy(inbox);

    rt->stats = em_metrics_acquire(&run->metrics, t->ns, t->name);
    if (rt->stats == NULL) {
        em_consumer_spec_free(&rt->spec);
        free(rt->next_subject);
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
    natsSubscription  *sub;

    pthread_mutex_lock(&rt->mu);

    sub = !rt->stop && rt->sub_open ? rt->sub : NULL;
    rt->stop = 1;
    rt->pulling = 0;
    if (delete_consumer) {
        rt->delete_consumer = 1;
    }

    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);

    if (sub != NULL) {
        em_rt_close_inbox(sub);
    }
}


void
em_rt_release(em_rt_t *rt)
{
    pthread_mutex_lock(&rt->mu);
    rt->held--;

    /* only a stopping thread waits for slots to come back */
    if (rt->stop && rt->held == 0) {
        pthread_cond_broadcast(&rt->cv);
    }

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
    free(rt->next_subject);
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
