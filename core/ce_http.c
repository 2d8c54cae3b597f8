/*
 * The entry point of CloudEvents ingress: mode from Content-Type (HTTP
 * binding 3), then the mode's parser, then the tracing headers.
 */

#include "ce_internal.h"
#include "mediatype.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>


void
em_ce_limits_default(em_ce_limits_t *lim)
{
    memset(lim, 0, sizeof(*lim));
    lim->max_event_size = 65536;
    lim->max_batch_events = 100;
    lim->allow_batch = 1;
    lim->check_json_body = 1;
    lim->check_extensions = 1;
    lim->trace_from_headers = 1;
}


void
em_batch_free(em_batch_t *b)
{
    size_t  i;

    if (b == NULL) {
        return;
    }

    for (i = 0; i < b->n; i++) {
        em_event_free(b->events[i]);
    }

    free(b->events);
    free(b);
}


static int
em_media_is(const char *e, size_t len, const char *type)
{
    return strlen(type) == len && strncasecmp(e, type, len) == 0;
}


em_status_t
em_ce_detect_mode(const char *ct, size_t ct_len, em_mode_t *mode,
    em_report_t *report)
{
    const char  *e;
    size_t       n;
    char         cs[64];
    int          rc;

    *mode = EM_MODE_BINARY;

    if (ct == NULL || ct_len == 0) {
        report->mode = "binary";
        return EM_OK;
    }

    em_media_essence(ct, ct_len, &e, &n);

    /* batch first: it also starts with application/cloudevents */
    if (em_media_is(e, n, "application/cloudevents-batch+json")) {
        *mode = EM_MODE_BATCH;
        report->mode = "batch";

    } else if (em_media_is(e, n, "application/cloudevents+json")) {
        *mode = EM_MODE_STRUCTURED;
        report->mode = "structured";

    } else if (n >= 23 && strncasecmp(e, "application/cloudevents", 23) == 0)
    {
        if (em_report_add(report, -1, "", "header Content-Type", ct, ct_len,
                "unsupported CloudEvents format %.*s: send "
                "application/cloudevents+json (structured), "
                "application/cloudevents-batch+json (batch) or a binary-mode "
                "event", (int) (n > 100 ? 100 : n), e) != EM_OK)
        {
            return EM_ERROR;
        }
        return EM_EMEDIA;

    } else {
        report->mode = "binary";
        return EM_OK;
    }

    /* JSON is UTF-8 (RFC 8259 8.1); any other charset is refused */
    rc = em_media_param(ct, ct_len, "charset", cs, sizeof(cs));

    if (rc == 0 || (rc == 1 && strcasecmp(cs, "utf-8") == 0)) {
        return EM_OK;
    }

    if (em_report_add(report, -1, "", "header Content-Type", ct, ct_len,
            "%s", rc < 0 ? "the Content-Type parameters do not parse "
            "(RFC 9110 8.3.1); use e.g. application/cloudevents+json; "
            "charset=utf-8" : "unsupported charset: CloudEvents JSON must "
            "be UTF-8 (charset=utf-8 or no charset)") != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_EMEDIA;
}


static const em_header_t *
em_header_find(const em_header_t *h, size_t n, const char *name,
    size_t *count)
{
    const em_header_t  *found;
    size_t              i, len;

    found = NULL;
    *count = 0;
    len = strlen(name);

    for (i = 0; i < n; i++) {
        if (h[i].name_len == len && strncasecmp(h[i].name, name, len) == 0) {
            if (found == NULL) {
                found = &h[i];
            }
            (*count)++;
        }
    }

    return found;
}


/*
 * DESIGN.md 2: an incoming traceparent/tracestate header becomes the
 * distributed-tracing extension of an event that carries none.  A header
 * that is not well-formed is ignored (with a warning): it belongs to the
 * transport, not to the event the sender built.
 */
static em_status_t
em_ce_trace(const em_header_t *headers, size_t nheaders, em_batch_t *b,
    em_report_t *report)
{
    const em_header_t  *tp, *ts;
    const char         *why;
    size_t              i, ntp, nts;
    int                 ts_ok;

    tp = em_header_find(headers, nheaders, "traceparent", &ntp);
    if (tp == NULL) {
        return EM_OK;
    }

    if (ntp > 1 || !em_check_traceparent(tp->value, tp->value_len, &why)) {
        if (em_report_warn(report, -1, "traceparent", "header traceparent",
                tp->value, tp->value_len, "%s",
                ntp > 1 ? "more than one traceparent header; none was "
                          "applied to the event"
                        : "the traceparent header is malformed and was not "
                          "applied to the event") != EM_OK)
        {
            return EM_ERROR;
        }
        return EM_OK;
    }

    ts = em_header_find(headers, nheaders, "tracestate", &nts);
    ts_ok = ts != NULL && nts == 1
            && em_check_tracestate(ts->value, ts->value_len, &why)
            && em_check_string(ts->value, ts->value_len, &why);

    for (i = 0; i < b->n; i++) {
        if (em_event_attr(b->events[i], "traceparent") != NULL) {
            continue;
        }

        if (em_event_set(b->events[i], "traceparent", tp->value,
                         tp->value_len, EM_TYPE_STRING) != EM_OK)
        {
            return EM_ERROR;
        }

        if (ts_ok && em_event_attr(b->events[i], "tracestate") == NULL
            && em_event_set(b->events[i], "tracestate", ts->value,
                            ts->value_len, EM_TYPE_STRING) != EM_OK)
        {
            return EM_ERROR;
        }
    }

    return EM_OK;
}


em_status_t
em_ce_parse_http(const em_header_t *headers, size_t nheaders,
    const unsigned char *body, size_t body_len, const em_ce_limits_t *lim,
    em_batch_t **out, em_report_t *report)
{
    const em_header_t  *ct;
    em_batch_t         *b;
    em_status_t         rc;
    em_event_t         *ev;
    em_mode_t           mode;
    size_t              nct;

    *out = NULL;

    if (body == NULL) {
        body = (const unsigned char *) "";
        body_len = 0;
    }

    ct = em_header_find(headers, nheaders, "content-type", &nct);

    if (nct > 1) {
        return em_report_add(report, -1, "", "header Content-Type", NULL, 0,
                   "Content-Type appears more than once; send exactly one")
               == EM_OK ? EM_EINVALID : EM_ERROR;
    }

    rc = em_ce_detect_mode(ct ? ct->value : NULL, ct ? ct->value_len : 0,
                           &mode, report);
    if (rc != EM_OK) {
        return rc;
    }

    if (mode == EM_MODE_BATCH && !lim->allow_batch) {
        return em_report_add(report, -1, "", "header Content-Type",
                   ct->value, ct->value_len,
                   "batched mode is not enabled on this endpoint (it must "
                   "not be used unless solicited); send one event per "
                   "request") == EM_OK ? EM_EMEDIA : EM_ERROR;
    }

    b = calloc(1, sizeof(em_batch_t));
    if (b == NULL) {
        return EM_ERROR;
    }
    b->mode = mode;

    switch (mode) {

    case EM_MODE_BINARY:
        rc = em_ce_parse_binary(headers, nheaders,
                                ct != NULL && ct->value_len ? ct : NULL,
                                body, body_len, lim, report, &ev);
        break;

    case EM_MODE_STRUCTURED:
        rc = em_ce_parse_structured(body, body_len, lim, report, &ev);
        break;

    default:
        ev = NULL;
        rc = em_ce_parse_batch(body, body_len, lim, report, b);
        break;
    }

    if (rc == EM_OK && mode != EM_MODE_BATCH) {
        b->events = malloc(sizeof(em_event_t *));
        if (b->events == NULL) {
            em_event_free(ev);
            rc = EM_ERROR;

        } else {
            b->events[0] = ev;
            b->n = 1;
        }
    }

    if (rc == EM_OK && lim->trace_from_headers) {
        rc = em_ce_trace(headers, nheaders, b, report);
    }

    if (rc != EM_OK) {
        em_batch_free(b);
        return rc;
    }

    *out = b;
    return EM_OK;
}
