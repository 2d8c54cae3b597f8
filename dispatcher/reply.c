/*
 * Replies.  Storing one is a blocking JetStream publish (it waits for the
 * PubAck), so it runs on libuv's thread pool and the original event is
 * acked only after the reply is stored: a crash in between delivers the
 * original again, and the reply's Nats-Msg-Id (a digest of its source and
 * id) keeps a second copy out of the stream within the duplicate window.
 */

#include "reply.h"
#include "log.h"
#include "nats_conn.h"

#include <eventmesh/ce_http.h>
#include <eventmesh/codec.h>
#include <eventmesh/report.h>
#include <eventmesh/subject.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


typedef struct {
    uv_work_t       work;
    em_dl_t        *dl;
    jsCtx          *js;
    char           *subject;
    char           *stream;
    em_buf_t        hdrs;
    em_event_t     *ev;
    natsStatus      status;
    jsErrCode       code;
    char            error[256];
} em_reply_job_t;


static int
em_reply_claims_ce(const em_http_req_t *r)
{
    const char  *ct;

    if (em_http_header(r, "ce-specversion") != NULL) {
        return 1;
    }

    ct = em_http_header(r, "Content-Type");

    return ct != NULL && strncasecmp(ct, "application/cloudevents", 23) == 0;
}


em_reply_kind_t
em_reply_parse(const em_http_req_t *r, em_event_t **ev, char *why,
    size_t size)
{
    em_header_t      hs[EM_HTTP_HEADERS_MAX];
    em_ce_limits_t   lim;
    em_report_t      rep;
    em_batch_t      *batch;
    em_status_t      rc;
    size_t           i;

    *ev = NULL;

    if (!em_reply_claims_ce(r)) {
        return EM_REPLY_NONE;
    }

    if (r->body_total > r->body.len) {
        snprintf(why, size, "the body is larger than %d bytes",
                 EM_HTTP_BODY_MAX);
        return EM_REPLY_INVALID;
    }

    for (i = 0; i < r->nheaders; i++) {
        hs[i].name = r->hnames[i];
        hs[i].name_len = strlen(r->hnames[i]);
        hs[i].value = r->hvalues[i];
        hs[i].value_len = strlen(r->hvalues[i]);
    }

    em_ce_limits_default(&lim);
    em_report_init(&rep);
    batch = NULL;

    rc = em_ce_parse_http(hs, r->nheaders,
                          (const unsigned char *) r->body.data, r->body.len,
                          &lim, &batch, &rep);

    if (rc == EM_OK && batch != NULL && batch->n == 1) {
        *ev = batch->events[0];
        batch->events[0] = NULL;
        batch->n = 0;
        em_batch_free(batch);
        em_report_free(&rep);
        return EM_REPLY_EVENT;
    }

    if (rc == EM_OK) {
        snprintf(why, size, "not exactly one event");

    } else if (rep.n > 0) {
        snprintf(why, size, "%s: %s", rep.items[0].location,
                 rep.items[0].rule);

    } else {
        snprintf(why, size, "%s", rc == EM_ERROR ? "out of memory"
                                                 : "not a CloudEvent");
    }

    em_batch_free(batch);
    em_report_free(&rep);
    return EM_REPLY_INVALID;
}


long
em_reply_ttl_parse(const char *v)
{
    long  n;

    if (v == NULL || *v == '\0') {
        return -1;
    }

    /* Knative: a value that is not an integer counts as absent */
    if (*v == '-') {
        v++;
        if (*v < '0' || *v > '9') {
            return -1;
        }
        while (*v >= '0' && *v <= '9') {
            v++;
        }
        return *v == '\0' ? 0 : -1;
    }

    n = 0;

    for ( /* void */ ; *v != '\0'; v++) {
        if (*v < '0' || *v > '9') {
            return -1;
        }

        if (n < 1000000) {
            n = n * 10 + (*v - '0');
        }
    }

    return n;
}


long
em_reply_ttl_next(long ttl)
{
    return ttl < 0 ? EM_REPLY_TTL_MAX - 1 : ttl - 1;
}


/* The header block em_nats_encode_headers() wrote, onto a cnats message. */
static natsStatus
em_reply_headers(natsMsg *m, const em_buf_t *hdrs)
{
    const char  *p, *end, *eol, *colon;
    char         name[256], *value;
    natsStatus   s;
    size_t       nlen;

    p = hdrs->data;
    end = p + hdrs->len;

    /* skip "NATS/1.0\r\n" */
    eol = strstr(p, "\r\n");
    if (eol == NULL) {
        return NATS_INVALID_ARG;
    }

    for (p = eol + 2; p < end; p = eol + 2) {
        eol = strstr(p, "\r\n");
        if (eol == NULL || eol == p) {
            break;
        }

        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon == NULL || (size_t) (colon - p) >= sizeof(name)) {
            return NATS_INVALID_ARG;
        }

        nlen = (size_t) (colon - p);
        memcpy(name, p, nlen);
        name[nlen] = '\0';

        colon++;
        if (colon < eol && *colon == ' ') {
            colon++;
        }

        value = strndup(colon, (size_t) (eol - colon));
        if (value == NULL) {
            return NATS_NO_MEMORY;
        }

        s = natsMsgHeader_Add(m, name, value);
        free(value);

        if (s != NATS_OK) {
            return s;
        }
    }

    return NATS_OK;
}


static void
em_reply_work(uv_work_t *w)
{
    em_reply_job_t  *job;
    natsMsg         *m;
    jsPubAck        *pa;
    jsPubOptions     po;
    natsStatus       s;

    job = w->data;
    m = NULL;
    pa = NULL;

    s = natsMsg_Create(&m, job->subject, NULL, (const char *) job->ev->data,
                       (int) job->ev->data_len);

    if (s == NATS_OK) {
        s = em_reply_headers(m, &job->hdrs);
    }

    if (s == NATS_OK) {
        jsPubOptions_Init(&po);
        po.MaxWait = EM_NATS_API_TIMEOUT_MS;

        /* only the broker's own stream may take it */
        po.ExpectStream = job->stream;

        s = js_PublishMsg(&pa, job->js, m, &po, &job->code);
    }

    job->status = s;

    if (s != NATS_OK) {
        snprintf(job->error, sizeof(job->error), "%s",
                 s == NATS_TIMEOUT ? "JetStream did not answer in time"
                 : s == NATS_NO_RESPONDERS ? "no stream takes the subject"
                 : em_nats_error_text(s));
    }

    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
}


static void
em_reply_job_free(em_reply_job_t *job)
{
    free(job->subject);
    free(job->stream);
    em_buf_free(&job->hdrs);
    em_event_free(job->ev);
    free(job);
}


static void
em_reply_after(uv_work_t *w, int status)
{
    em_reply_job_t  *job;
    em_dl_t         *dl;
    char             error[300];
    int              ok;

    job = w->data;
    dl = job->dl;

    ok = status == 0 && job->status == NATS_OK;

    if (!ok) {
        snprintf(error, sizeof(error), "reply not stored on %s: %s",
                 job->subject,
                 status != 0 ? "cancelled" : job->error);
    }

    dl->reply = NULL;
    em_reply_job_free(job);
    em_dl_reply_done(dl, ok, ok ? NULL : error);
}


int
em_reply_publish(em_dl_t *dl, em_event_t *reply, long ttl, char *why,
    size_t size)
{
    em_reply_job_t    *job;
    const em_trigger_t *t;
    const char        *type;
    em_buf_t           b;
    char               v[32];

    t = dl->rt->t;

    job = calloc(1, sizeof(em_reply_job_t));
    if (job == NULL) {
        em_event_free(reply);
        snprintf(why, size, "out of memory");
        return EM_ERROR;
    }

    job->ev = reply;
    job->dl = dl;
    job->js = dl->run->js;
    em_buf_init(&job->hdrs);
    em_buf_init(&b);

    snprintf(v, sizeof(v), "%ld", ttl);
    type = em_event_get(reply, "type");

    if (em_event_set(reply, "knativebrokerttl", v, strlen(v),
                     EM_TYPE_INTEGER) != EM_OK
        || em_subject_for(&b, t->ns, strlen(t->ns), t->broker,
                          strlen(t->broker), type, strlen(type)) != EM_OK
        || (job->subject = strdup(b.data)) == NULL
        || (job->stream = strdup(dl->rt->spec.stream)) == NULL)
    {
        em_buf_free(&b);
        em_reply_job_free(job);
        snprintf(why, size, "out of memory");
        return EM_ERROR;
    }

    em_buf_free(&b);

    switch (em_nats_encode_headers(reply, &job->hdrs)) {

    case EM_OK:
        break;

    case EM_EINVALID:
        em_reply_job_free(job);
        snprintf(why, size, "an attribute name cannot be a NATS header");
        return EM_ERROR;

    default:
        em_reply_job_free(job);
        snprintf(why, size, "out of memory");
        return EM_ERROR;
    }

    job->work.data = job;
    dl->reply = job;

    if (uv_queue_work(&dl->run->loop, &job->work, em_reply_work,
                      em_reply_after) != 0)
    {
        dl->reply = NULL;
        em_reply_job_free(job);
        snprintf(why, size, "cannot queue the publish");
        return EM_ERROR;
    }

    return EM_OK;
}
