/*
 * The life of one fetched event, on the loop thread:
 *
 *   decode -> filter -(no)-> ack, counted as filtered
 *     | yes
 *   POST to the subscriber -> 2xx -> [200 with a CloudEvent: store the
 *     |                        reply first] -> ack
 *     | retryable failure and retries left: wait (uv timer), POST again
 *     | otherwise
 *   POST to the dead-letter sink (same policy) -> 2xx -> ack
 *     | no sink, or the sink failed too
 *   term (JetStream never redelivers it), counted and logged
 *
 * The message's in-flight slot is held until then, which is what bounds a
 * trigger's concurrency.  On a graceful stop, events waiting for a retry
 * are naked so that another dispatcher takes them at once.
 */

#include "deliver.h"
#include "reply.h"
#include "retry.h"

#include "base64.h"

#include <eventmesh/codec.h>
#include <eventmesh/filter.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


typedef enum {
    EM_DL_ACK = 0,
    EM_DL_TERM,
    EM_DL_NAK
} em_dl_action_t;


static void em_dl_send(em_dl_t *dl);
static void em_dl_http_done(em_http_req_t *r);


/* ---- end of an event ----------------------------------------------------- */

static void
em_dl_timer_closed(uv_handle_t *h)
{
    free(h);
}


static void
em_dl_finish(em_dl_t *dl, em_dl_action_t action)
{
    em_run_t    *run;
    em_rt_t     *rt;
    natsStatus   s;

    run = dl->run;
    rt = dl->rt;

    switch (action) {

    case EM_DL_ACK:
        s = em_rt_ack(rt, dl->msg, EM_ACK_ACK);
        break;

    case EM_DL_TERM:
        s = em_rt_ack(rt, dl->msg, EM_ACK_TERM);
        break;

    default:
        s = em_rt_ack(rt, dl->msg, EM_ACK_NAK);
        break;
    }

    if (s != NATS_OK) {
        /* JetStream delivers it again after the ack wait */
        em_log_debug("trigger %s/%s: cannot acknowledge stream sequence "
                     "%llu: %s", rt->t->ns, rt->t->name,
                     (unsigned long long) dl->seq, natsStatus_GetText(s));
    }

    if (dl->prev != NULL) {
        dl->prev->next = dl->next;
    } else {
        run->dls = dl->next;
    }

    if (dl->next != NULL) {
        dl->next->prev = dl->prev;
    }

    run->ndls--;
    rt->stats->in_flight--;

    em_run_msg_done(run, rt, dl->msg);
    dl->msg = NULL;

    if (dl->timer != NULL) {
        uv_timer_stop(dl->timer);
        uv_close((uv_handle_t *) dl->timer, em_dl_timer_closed);
    }

    em_http_req_reset(&dl->http);
    em_event_free(dl->ev);
    em_buf_free(&dl->body);
    em_buf_free(&dl->fail_data);
    free(dl->fail_dest);

    /*
     * Kept for the next event: a request of this size makes malloc
     * consolidate its fast bins first, which was a tenth of the loop's
     * time at a few thousand events a second.
     */
    if (run->ndl_free < EM_DL_KEEP) {
        dl->next = run->dl_free;
        run->dl_free = dl;
        run->ndl_free++;

    } else {
        free(dl);
    }

    em_run_check_stopped(run);
}


static void
em_dl_describe(const em_dl_t *dl, char *buf, size_t size)
{
    const char  *id, *type, *source;

    id = dl->ev ? em_event_get(dl->ev, "id") : NULL;
    type = dl->ev ? em_event_get(dl->ev, "type") : NULL;
    source = dl->ev ? em_event_get(dl->ev, "source") : NULL;

    snprintf(buf, size, "event id=%.100s type=%.100s source=%.100s "
             "(stream sequence %llu)", id ? id : "?", type ? type : "?",
             source ? source : "?", (unsigned long long) dl->seq);
}


static void
em_dl_undeliverable(em_dl_t *dl, const char *why)
{
    char  what[400];

    em_dl_describe(dl, what, sizeof(what));
    dl->rt->stats->undeliverable++;

    em_log_warn("trigger %s/%s: %s %s; dropped (undeliverable)",
                dl->rt->t->ns, dl->rt->t->name, what, why);

    em_dl_finish(dl, EM_DL_TERM);
}


/* ---- requests ------------------------------------------------------------ */

/*
 * One request header.  curl reads "Name:" as "do not send Name" and
 * "Name;" as "send Name empty"; value NULL asks for the former.
 */
static int
em_dl_header(em_dl_t *dl, const char *name, const char *value)
{
    struct curl_slist  *l;
    em_buf_t            b;
    int                 rc;

    em_buf_init(&b);

    if (value == NULL) {
        rc = em_buf_printf(&b, "%s:", name);

    } else if (value[0] == '\0') {
        rc = em_buf_printf(&b, "%s;", name);

    } else {
        rc = em_buf_printf(&b, "%s: %s", name, value);
    }

    if (rc != EM_OK) {
        em_buf_free(&b);
        return EM_ERROR;
    }

    l = curl_slist_append(dl->http.headers, b.data);
    em_buf_free(&b);

    if (l == NULL) {
        return EM_ERROR;
    }

    dl->http.headers = l;
    return EM_OK;
}


/*
 * The request for the current phase: headers into dl->http.headers, the
 * body into *body.  EM_EINVALID when the event cannot be put on HTTP.
 */
static int
em_dl_request(em_dl_t *dl, const void **body, size_t *len)
{
    const em_trigger_t  *t;
    em_out_headers_t     oh;
    size_t               i;
    int                  rc, has_ct;

    t = dl->rt->t;

    if (t->delivery.format == EM_FORMAT_JSON) {
        em_buf_reset(&dl->body);

        rc = em_http_encode_structured(dl->ev, &dl->body);
        if (rc != EM_OK) {
            return rc;
        }

        if (em_dl_header(dl, "Content-Type",
                         "application/cloudevents+json; charset=utf-8")
            != EM_OK)
        {
            return EM_ERROR;
        }

        *body = dl->body.data;
        *len = dl->body.len;

    } else {
        memset(&oh, 0, sizeof(oh));

        rc = em_http_encode_binary(dl->ev, &oh);
        if (rc != EM_OK) {
            em_out_headers_free(&oh);
            return rc;
        }

        has_ct = 0;

        for (i = 0; i < oh.n; i++) {
            if (strcasecmp(oh.items[i].name, "Content-Type") == 0) {
                has_ct = 1;
            }

            if (em_dl_header(dl, oh.items[i].name, oh.items[i].value)
                != EM_OK)
            {
                em_out_headers_free(&oh);
                return EM_ERROR;
            }
        }

        em_out_headers_free(&oh);

        /* without datacontenttype there is no Content-Type: not curl's */
        if (!has_ct && em_dl_header(dl, "Content-Type", NULL) != EM_OK) {
            return EM_ERROR;
        }

        *body = dl->ev->data;
        *len = dl->ev->data_len;
    }

    /* the spec: brokers MUST send it to subscribers; not to a sink */
    if (dl->phase == EM_DL_SUBSCRIBER
        && em_dl_header(dl, "Prefer", "reply") != EM_OK)
    {
        return EM_ERROR;
    }

    if (em_dl_header(dl, "Kn-Namespace", t->ns) != EM_OK

        /* no 100-continue round trip before large bodies */
        || em_dl_header(dl, "Expect", NULL) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


/* ---- retries ------------------------------------------------------------- */

static void
em_dl_timer_fired(uv_timer_t *t)
{
    em_dl_t  *dl;

    dl = t->data;
    em_dl_send(dl);
}


static void
em_dl_schedule(em_dl_t *dl, int64_t wait_ns)
{
    uint64_t  ms;

    if (dl->timer == NULL) {
        dl->timer = malloc(sizeof(uv_timer_t));
        if (dl->timer == NULL) {
            em_log_error("out of memory: retrying at once");
            em_dl_send(dl);
            return;
        }

        uv_timer_init(&dl->run->loop, dl->timer);
        dl->timer->data = dl;
    }

    ms = (uint64_t) ((wait_ns + 999999) / 1000000);
    dl->state = EM_DL_WAITING;

    /* even a zero wait goes through the loop: no recursion into curl */
    uv_timer_start(dl->timer, em_dl_timer_fired, ms, 0);
}


static void
em_dl_dead_letter(em_dl_t *dl)
{
    em_buf_t  b;
    char      code[32];
    int       rc;

    em_buf_init(&b);

    snprintf(code, sizeof(code), "%ld", dl->fail_code);

    rc = em_event_set(dl->ev, "knativeerrordest", dl->fail_dest,
                      strlen(dl->fail_dest), EM_TYPE_URI);

    if (rc == EM_OK) {
        rc = em_event_set(dl->ev, "knativeerrorcode", code, strlen(code),
                          EM_TYPE_INTEGER);
    }

    if (rc == EM_OK && dl->fail_data.len > 0) {
        rc = em_base64_encode(&b, dl->fail_data.data, dl->fail_data.len);

        if (rc == EM_OK) {
            rc = em_event_set(dl->ev, "knativeerrordata", b.data, b.len,
                              EM_TYPE_STRING);
        }
    }

    em_buf_free(&b);

    if (rc != EM_OK) {
        em_dl_undeliverable(dl, "could not be prepared for the dead-letter "
                            "sink (out of memory)");
        return;
    }

    dl->phase = EM_DL_DEAD_LETTER;
    dl->attempt = 0;
    em_dl_send(dl);
}


/*
 * An attempt failed.  status decides whether it is retried (0: no HTTP
 * answer); code, data and dest are what a dead-letter sink will be told.
 */
static void
em_dl_failed(em_dl_t *dl, long status, long code, const char *data,
    size_t len, const char *dest)
{
    const em_trigger_t  *t;
    const em_delivery_t *d;
    char                 what[400], why[600];
    int64_t              wait;

    t = dl->rt->t;
    d = &t->delivery;

    if (dl->phase == EM_DL_SUBSCRIBER) {
        em_buf_reset(&dl->fail_data);
        free(dl->fail_dest);
        dl->fail_code = code;
        dl->fail_dest = strdup(dest);

        if (dl->fail_dest == NULL
            || em_buf_append(&dl->fail_data, data,
                             len < EM_DLS_DATA_MAX ? len : EM_DLS_DATA_MAX)
               != EM_OK)
        {
            em_dl_undeliverable(dl, "failed and could not be kept for "
                                "retries (out of memory)");
            return;
        }
    }

    if (dl->run->stopping) {
        em_dl_finish(dl, EM_DL_NAK);
        return;
    }

    if (em_retry_is_retryable(status) && dl->attempt <= d->retry) {
        wait = em_retry_wait(d, dl->attempt, status,
                             em_http_header(&dl->http, "Retry-After"),
                             time(NULL));

        if (em_log_current >= EM_LOG_DEBUG) {
            em_dl_describe(dl, what, sizeof(what));
            em_log_debug("trigger %s/%s: %s: attempt %d to the %s failed "
                         "(%s): retry %d of %d in %lld ms", t->ns, t->name,
                         what, dl->attempt,
                         dl->phase == EM_DL_SUBSCRIBER ? "subscriber"
                                                       : "dead-letter sink",
                         dl->last, dl->attempt, d->retry,
                         (long long) (wait / 1000000));
        }

        em_dl_schedule(dl, wait);
        return;
    }

    em_dl_describe(dl, what, sizeof(what));

    if (dl->phase == EM_DL_SUBSCRIBER && d->dead_letter_uri != NULL) {
        em_log_warn("trigger %s/%s: %s not delivered to %s after %d "
                    "attempt%s (last: %s): sending it to the dead-letter "
                    "sink %s", t->ns, t->name, what, t->subscriber_uri,
                    dl->attempt, dl->attempt == 1 ? "" : "s", dl->last,
                    d->dead_letter_uri);
        em_dl_dead_letter(dl);
        return;
    }

    if (dl->phase == EM_DL_SUBSCRIBER) {
        snprintf(why, sizeof(why), "not delivered to %s after %d attempt%s "
                 "(last: %s) and the trigger has no dead-letter sink",
                 t->subscriber_uri, dl->attempt, dl->attempt == 1 ? "" : "s",
                 dl->last);

    } else {
        snprintf(why, sizeof(why), "refused by the dead-letter sink %s too, "
                 "after %d attempt%s (last: %s)", d->dead_letter_uri,
                 dl->attempt, dl->attempt == 1 ? "" : "s", dl->last);
    }

    dl->rt->stats->undeliverable++;
    em_log_warn("trigger %s/%s: %s %s; dropped (undeliverable)", t->ns,
                t->name, what, why);
    em_dl_finish(dl, EM_DL_TERM);
}


static void
em_dl_transport_failed(em_dl_t *dl, const char *error)
{
    em_rt_t  *rt;
    char      text[CURL_ERROR_SIZE + 32];
    int       n;

    rt = dl->rt;
    n = snprintf(text, sizeof(text), "dispatch error: %s", error);
    snprintf(dl->last, sizeof(dl->last), "%s", error);

    if (dl->phase == EM_DL_SUBSCRIBER) {
        snprintf(rt->last_failure, sizeof(rt->last_failure), "%s", error);

        if (++rt->failures == EM_UNREACHABLE_AFTER) {
            em_log_warn("trigger %s/%s: subscriber %s unreachable: %u "
                        "attempts in a row got no HTTP answer (last: %s)",
                        rt->t->ns, rt->t->name, rt->t->subscriber_uri,
                        rt->failures, error);
        }
    }

    /* Knative: no response is reported as a 500 with this text */
    em_dl_failed(dl, EM_RETRY_TRANSPORT, 500, text,
                 n > 0 ? (size_t) n : 0, rt->t->subscriber_uri);
}


/* ---- attempts ------------------------------------------------------------ */

static void
em_dl_send(em_dl_t *dl)
{
    const em_trigger_t  *t;
    const char          *url;
    const void          *body;
    size_t               len;
    int                  rc;

    t = dl->rt->t;
    url = dl->phase == EM_DL_SUBSCRIBER ? t->subscriber_uri
                                        : t->delivery.dead_letter_uri;

    if (dl->run->stopping) {
        em_dl_finish(dl, EM_DL_NAK);
        return;
    }

    em_http_req_reset(&dl->http);
    dl->http.done = em_dl_http_done;
    dl->http.data = dl;

    body = NULL;
    len = 0;

    rc = em_dl_request(dl, &body, &len);
    if (rc != EM_OK) {
        em_dl_undeliverable(dl, rc == EM_EINVALID
                            ? "cannot be put on HTTP (an attribute name "
                              "is not a header name, or datacontenttype "
                              "holds a control character)"
                            : "could not be encoded (out of memory)");
        return;
    }

    dl->attempt++;
    if (dl->attempt > 1) {
        dl->rt->stats->retried++;
    }

    dl->state = EM_DL_SENDING;

    if (em_http_post(dl->run->http, &dl->http, url, body, len,
                     t->delivery.timeout) != EM_OK)
    {
        em_dl_transport_failed(dl, dl->http.errbuf);
    }
}


static void
em_dl_delivered(em_dl_t *dl)
{
    dl->rt->stats->delivered++;
    em_dl_finish(dl, EM_DL_ACK);
}


static void
em_dl_reply(em_dl_t *dl)
{
    em_rt_t          *rt;
    em_event_t       *reply;
    em_reply_kind_t   kind;
    char              why[300], what[400];
    long              ttl;
    double            now;

    rt = dl->rt;
    kind = em_reply_parse(&dl->http, &reply, why, sizeof(why));

    switch (kind) {

    case EM_REPLY_NONE:
        /*
         * Knative core would fail a non-empty body that is no CloudEvent
         * (502, retried); plain "OK" answers are common, and the event
         * did arrive, so it counts as delivered.
         */
        if (dl->http.body_total > 0) {
            rt->stats->replies_ignored++;
        }

        em_dl_delivered(dl);
        return;

    case EM_REPLY_INVALID:
        /*
         * The subscriber did take the event; retrying would deliver it
         * again for a fault in the answer only.  Counted, and said once
         * in a while.
         */
        rt->stats->replies_invalid++;
        now = (double) uv_now(&dl->run->loop) / 1000;

        if (now - rt->last_warn >= 10 || rt->last_warn == 0) {
            rt->last_warn = now;
            em_log_warn("trigger %s/%s: %s answered 200 with an invalid "
                        "CloudEvent (%s): the reply is ignored (counted in "
                        "em_replies_invalid_total)", rt->t->ns, rt->t->name,
                        rt->t->subscriber_uri, why);
        }

        em_dl_delivered(dl);
        return;

    case EM_REPLY_EVENT:
        break;
    }

    ttl = em_reply_ttl_next(dl->ttl);

    if (ttl <= 0) {
        rt->stats->replies_dropped++;
        em_dl_describe(dl, what, sizeof(what));
        em_log_warn("trigger %s/%s: reply %.100s (type %.100s) to %s "
                    "dropped: hop limit reached (knativebrokerttl), a "
                    "reply loop?", rt->t->ns, rt->t->name,
                    em_event_get(reply, "id"), em_event_get(reply, "type"),
                    what);
        em_event_free(reply);
        em_dl_delivered(dl);
        return;
    }

    dl->state = EM_DL_REPLYING;

    if (em_reply_publish(dl, reply, ttl, why, sizeof(why)) != EM_OK) {
        em_dl_reply_done(dl, 0, why);
    }
}


void
em_dl_reply_done(em_dl_t *dl, int ok, const char *error)
{
    em_buf_t  dest;

    if (ok) {
        dl->rt->stats->replies_published++;
        em_dl_delivered(dl);
        return;
    }

    /*
     * The spec: when the reply cannot be stored the whole delivery fails
     * and is retried; the sink hears of the broker as the destination.
     */
    snprintf(dl->last, sizeof(dl->last), "%s", error);

    em_buf_init(&dest);
    if (em_buf_printf(&dest, "nats:%s", dl->rt->spec.stream) != EM_OK) {
        em_buf_free(&dest);
        em_dl_undeliverable(dl, "reply not stored (out of memory)");
        return;
    }

    em_log_info("trigger %s/%s: %s", dl->rt->t->ns, dl->rt->t->name, error);

    em_dl_failed(dl, 502, 502, error, strlen(error), dest.data);
    em_buf_free(&dest);
}


static void
em_dl_http_done(em_http_req_t *r)
{
    em_dl_t  *dl;
    em_rt_t  *rt;
    long      st;

    dl = r->data;
    rt = dl->rt;
    st = r->status;

    em_metrics_observe(rt->stats, r->seconds);

    if (r->result != CURLE_OK) {
        em_dl_transport_failed(dl, r->errbuf);
        return;
    }

    if (dl->phase == EM_DL_SUBSCRIBER) {
        rt->failures = 0;
    }

    if (em_retry_is_success(st)) {
        if (dl->phase == EM_DL_DEAD_LETTER) {
            rt->stats->dead_lettered++;
            em_dl_finish(dl, EM_DL_ACK);
            return;
        }

        /* the spec: only a 200 carries a reply, never a 202 */
        if (st == 200) {
            em_dl_reply(dl);
            return;
        }

        em_dl_delivered(dl);
        return;
    }

    snprintf(dl->last, sizeof(dl->last), "HTTP %ld", st);

    em_dl_failed(dl, st, st, r->body.data ? r->body.data : "", r->body.len,
                 rt->t->subscriber_uri);
}


/* ---- the start ----------------------------------------------------------- */

/*
 * cnats 3.4.1 cannot parse an empty header value: it skips the CRLF after
 * "ce-x:" and takes the whole next line as the value, so "ce-x: " followed
 * by "Nats-Msg-Id: 1f..." comes back as ce-x = "Nats-Msg-Id: 1f...".  A
 * value as stored never holds a space (the binding percent-encodes it), so
 * a value that is such a header line is split back into the two.  Only
 * the names the ingress writes are recognised, which leaves a value that
 * is literally "ce-y:" as the one ambiguous case.
 */
static int
em_dl_header_line(em_buf_t *b, const char *key, const char *v)
{
    const char  *colon, *p;
    size_t       nlen;

    colon = strchr(v, ':');

    if (colon != NULL && (colon[1] == '\0' || colon[1] == ' ')) {
        nlen = (size_t) (colon - v);

        for (p = v; p < colon; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9') || *p == '-'))
            {
                break;
            }
        }

        if (p == colon
            && ((nlen > 3 && strncasecmp(v, "ce-", 3) == 0)
                || (nlen == 11 && strncasecmp(v, "Nats-Msg-Id", 11) == 0)))
        {
            return em_buf_printf(b, "%s: \r\n%.*s: %s\r\n", key, (int) nlen,
                                 v, colon[1] == ' ' ? colon + 2 : "");
        }
    }

    return em_buf_printf(b, "%s: %s\r\n", key, v);
}


/* The stored header block, rebuilt from cnats's parsed headers. */
static int
em_dl_decode(natsMsg *msg, em_event_t **ev, const char **err)
{
    const char  **keys, **vals;
    int           nkeys, nvals, i, j;
    em_buf_t      b;
    natsStatus    s;
    em_status_t   rc;

    *ev = NULL;
    keys = NULL;
    nkeys = 0;

    s = natsMsgHeader_Keys(msg, &keys, &nkeys);
    if (s == NATS_NOT_FOUND) {
        *err = "the message has no headers";
        return EM_EINVALID;
    }

    if (s != NATS_OK) {
        *err = "its headers cannot be read";
        return EM_EINVALID;
    }

    em_buf_init(&b);
    rc = em_buf_append_str(&b, "NATS/1.0\r\n");

    for (i = 0; i < nkeys && rc == EM_OK; i++) {
        vals = NULL;
        nvals = 0;

        if (natsMsgHeader_Values(msg, keys[i], &vals, &nvals) != NATS_OK) {
            continue;
        }

        for (j = 0; j < nvals && rc == EM_OK; j++) {
            rc = em_dl_header_line(&b, keys[i], vals[j]);
        }

        free((void *) vals);
    }

    free((void *) keys);

    if (rc == EM_OK) {
        rc = em_buf_append_str(&b, "\r\n");
    }

    if (rc != EM_OK) {
        em_buf_free(&b);
        *err = "out of memory";
        return EM_ERROR;
    }

    rc = em_nats_decode(b.data, b.len, natsMsg_GetData(msg),
                        (size_t) natsMsg_GetDataLength(msg), ev, err);
    em_buf_free(&b);

    return rc;
}


void
em_dl_start(em_run_t *run, em_rt_t *rt, natsMsg *msg)
{
    em_dl_t        *dl;
    jsMsgMetaData  *meta;
    const char     *err;
    char            why[300];

    dl = run->dl_free;

    if (dl != NULL) {
        run->dl_free = dl->next;
        run->ndl_free--;
        memset(dl, 0, sizeof(em_dl_t));

    } else {
        dl = calloc(1, sizeof(em_dl_t));
    }

    if (dl == NULL) {
        em_rt_hand_back(rt, msg);
        return;
    }

    dl->run = run;
    dl->rt = rt;
    dl->msg = msg;
    dl->ttl = -1;
    dl->fetched_ms = uv_now(&run->loop);
    dl->progress_ms = dl->fetched_ms;
    em_buf_init(&dl->body);
    em_buf_init(&dl->fail_data);

    dl->next = run->dls;
    if (run->dls != NULL) {
        run->dls->prev = dl;
    }
    run->dls = dl;
    run->ndls++;

    rt->stats->in_flight++;
    rt->stats->received++;

    meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        dl->seq = meta->Sequence.Stream;

        if (meta->NumDelivered > 1) {
            rt->stats->redelivered++;
        }

        jsMsgMetaData_Destroy(meta);
    }

    if (run->stopping) {
        em_dl_finish(dl, EM_DL_NAK);
        return;
    }

    err = "not a CloudEvent";

    switch (em_dl_decode(msg, &dl->ev, &err)) {

    case EM_OK:
        break;

    case EM_ERROR:
        em_log_error("out of memory: an event of trigger %s/%s goes back "
                     "to JetStream", rt->t->ns, rt->t->name);
        em_dl_finish(dl, EM_DL_NAK);
        return;

    default:
        snprintf(why, sizeof(why), "is not a CloudEvent (%s)", err);
        em_dl_undeliverable(dl, why);
        return;
    }

    if (!em_filter_match(rt->t->filter, dl->ev)) {
        rt->stats->filtered++;
        em_dl_finish(dl, EM_DL_ACK);
        return;
    }

    /* the hop count is ours; subscribers never see it */
    dl->ttl = em_reply_ttl_parse(em_event_get(dl->ev, "knativebrokerttl"));
    (void) em_event_remove(dl->ev, "knativebrokerttl");

    dl->phase = EM_DL_SUBSCRIBER;
    em_dl_send(dl);
}


/* ---- housekeeping -------------------------------------------------------- */

void
em_dl_tick(em_run_t *run, uint64_t now_ms)
{
    em_dl_t   *dl;
    uint64_t   half;

    for (dl = run->dls; dl != NULL; dl = dl->next) {
        half = (uint64_t) (dl->rt->spec.ack_wait / 1000000 / 2);

        /* an event kept longer than half the ack wait would come back */
        if (now_ms - dl->progress_ms >= half) {
            dl->progress_ms = now_ms;
            (void) em_rt_ack(dl->rt, dl->msg, EM_ACK_PROGRESS);
        }
    }
}


void
em_dl_stop_waiting(em_run_t *run)
{
    em_dl_t  *dl, *next;

    for (dl = run->dls; dl != NULL; dl = next) {
        next = dl->next;

        if (dl->state == EM_DL_WAITING) {
            em_dl_finish(dl, EM_DL_NAK);
        }
    }
}


void
em_dl_abort_all(em_run_t *run)
{
    em_dl_t  *dl, *next;

    for (dl = run->dls; dl != NULL; dl = next) {
        next = dl->next;

        if (dl->state == EM_DL_SENDING || dl->state == EM_DL_WAITING) {
            em_http_cancel(run->http, &dl->http);
            em_dl_finish(dl, EM_DL_NAK);
        }
    }
}
