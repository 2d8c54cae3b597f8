
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_event_mesh_module.h"


/*
 * The CloudEvents endpoint: the body is validated with the core (binary,
 * structured or batch mode), every event is published to the broker's
 * channel, and the client is answered only when the channel has answered
 * for each one: a 202 means every event is stored.
 */


static ngx_int_t ngx_http_event_mesh_process(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
static ngx_int_t ngx_http_event_mesh_check_source(ngx_http_request_t *r,
    em_batch_t *batch);
static ngx_int_t ngx_http_event_mesh_answer(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
static void ngx_http_event_mesh_batch_cleanup(void *data);
static ngx_int_t ngx_http_event_mesh_headers(ngx_http_request_t *r,
    em_header_t **headers, size_t *n);
static ngx_int_t ngx_http_event_mesh_send_report(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, em_report_t *report);
static ngx_int_t ngx_http_event_mesh_unavailable(ngx_http_request_t *r,
    const char *reason);
static ngx_int_t ngx_http_event_mesh_send_jansson(ngx_http_request_t *r,
    ngx_uint_t status, json_t *body);


ngx_int_t
ngx_http_event_mesh_publish_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    em_mode_t                        mode;
    em_report_t                      report;
    ngx_table_elt_t                 *allow;
    ngx_http_event_mesh_ctx_t       *ctx;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        allow = ngx_list_push(&r->headers_out.headers);
        if (allow == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        allow->hash = 1;
        ngx_str_set(&allow->key, "Allow");
        ngx_str_set(&allow->value, "POST");

        return ngx_http_event_mesh_send_error(r, NGX_HTTP_NOT_ALLOWED,
                   "method not allowed",
                   "events are sent with POST");
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_event_mesh_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->process = ngx_http_event_mesh_process;
    ctx->answer = ngx_http_event_mesh_answer;
    ngx_http_set_ctx(r, ctx, ngx_http_event_mesh_module);

    /*
     * A batch may be as large as all of its events; anything else is one
     * event.  The mode's own errors (415) are reported after the body is
     * read, together with the rest.
     */

    ctx->body_limit = lcf->max_event_size;

    if (r->headers_in.content_type) {
        em_report_init(&report);

        if (em_ce_detect_mode((const char *) r->headers_in.content_type
                                                            ->value.data,
                              r->headers_in.content_type->value.len,
                              &mode, &report)
            == EM_OK
            && mode == EM_MODE_BATCH && lcf->batch)
        {
            ctx->body_limit = lcf->max_event_size * lcf->max_batch_events
                              + 2 * lcf->max_batch_events + 2;
        }

        em_report_free(&report);
    }

    return ngx_http_event_mesh_read_body(r, ctx);
}


static ngx_int_t
ngx_http_event_mesh_process(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    size_t                           nheaders;
    ngx_int_t                        rc;
    em_batch_t                      *batch;
    em_status_t                      st;
    em_header_t                     *headers;
    em_report_t                      report;
    em_ce_limits_t                   lim;
    ngx_pool_cleanup_t              *cln;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    if (ctx->body_too_large) {
        ngx_str_set(&ctx->error, "request body too large");

        return ngx_http_event_mesh_send_error(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, "request body too large",
                   "the body is larger than event_mesh_max_event_size "
                   "(times event_mesh_max_batch_events for a batch)");
    }

    if (ngx_http_event_mesh_headers(r, &headers, &nheaders) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    em_ce_limits_default(&lim);
    lim.max_event_size = lcf->max_event_size;
    lim.max_batch_events = lcf->max_batch_events;
    lim.allow_batch = lcf->batch ? 1 : 0;
    lim.check_json_body = lcf->check_json_body ? 1 : 0;

    em_report_init(&report);
    report.no_warnings = 1;
    batch = NULL;

    st = em_ce_parse_http(headers, nheaders, ctx->body, ctx->body_len, &lim,
                          &batch, &report);

    if (st != EM_OK && st != EM_ERROR) {
        /* refused: once more, for a report with the warnings too */
        em_report_free(&report);
        em_report_init(&report);

        st = em_ce_parse_http(headers, nheaders, ctx->body, ctx->body_len,
                              &lim, &batch, &report);
    }

    switch (st) {

    case EM_OK:
        break;

    case EM_EINVALID:
        ngx_str_set(&ctx->error, "invalid CloudEvent");
        rc = ngx_http_event_mesh_send_report(r, NGX_HTTP_BAD_REQUEST,
                                             "invalid CloudEvent", &report);
        em_report_free(&report);
        return rc;

    case EM_ETOOBIG:
        ngx_str_set(&ctx->error, "event too large");
        rc = ngx_http_event_mesh_send_report(r,
                                             NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                             "event too large", &report);
        em_report_free(&report);
        return rc;

    case EM_EMEDIA:
        ngx_str_set(&ctx->error, "unsupported media type");
        rc = ngx_http_event_mesh_send_report(r,
                                       NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                       "unsupported media type", &report);
        em_report_free(&report);
        return rc;

    default:
        em_report_free(&report);
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                      "event mesh: out of memory while parsing an event");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    em_report_free(&report);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        em_batch_free(batch);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_event_mesh_batch_cleanup;
    cln->data = batch;

    if (batch->n == 0) {
        /* an empty batch is valid and stores nothing */
        return ngx_http_event_mesh_send_json(r, NGX_HTTP_ACCEPTED, NULL, 0);
    }

    if (ngx_http_event_mesh_set_vars(r, ctx, batch->events[0]) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_event_mesh_check_source(r, batch);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_event_mesh_publish_events(r, ctx, batch->events,
                                              batch->n);
}


/*
 * event_mesh_source binds the location to one application: an event
 * claiming to come from elsewhere is refused, whole batch included.
 * NGX_DECLINED: every event may pass; otherwise the answer was sent.
 */

static ngx_int_t
ngx_http_event_mesh_check_source(ngx_http_request_t *r, em_batch_t *batch)
{
    size_t                           i, len;
    ngx_str_t                        allowed;
    const char                      *src;
    em_report_t                      report;
    ngx_int_t                        rc;
    ngx_http_event_mesh_ctx_t       *ctx;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    if (lcf->source == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_complex_value(r, lcf->source, &allowed) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    em_report_init(&report);
    report.mode = batch->mode == EM_MODE_BATCH ? "batch"
                  : batch->mode == EM_MODE_STRUCTURED ? "structured"
                  : "binary";

    for (i = 0; i < batch->n; i++) {
        src = em_event_get(batch->events[i], "source");
        len = src ? ngx_strlen(src) : 0;

        if (len == allowed.len
            && ngx_strncmp(src, allowed.data, len) == 0)
        {
            continue;
        }

        if (em_report_add(&report,
                          batch->mode == EM_MODE_BATCH ? (long) i : -1,
                          "source",
                          batch->mode == EM_MODE_BINARY ? "header ce-source"
                                                        : "body",
                          src, len,
                          "this endpoint accepts only events whose source "
                          "is \"%.*s\"",
                          (int) ngx_min(allowed.len, 256), allowed.data)
            != 0)
        {
            em_report_free(&report);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (report.n == 0) {
        em_report_free(&report);
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);
    ngx_str_set(&ctx->error, "source not allowed");

    rc = ngx_http_event_mesh_send_report(r, NGX_HTTP_FORBIDDEN,
                                         "source not allowed", &report);
    em_report_free(&report);

    return rc;
}


static ngx_int_t
ngx_http_event_mesh_answer(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    json_t                     *body, *stored;
    ngx_uint_t                  i, status, level;
    const char                 *error, *rule;
    ngx_http_event_mesh_pub_t  *pub;

    pub = ngx_http_event_mesh_first_failure(ctx);

    if (pub == NULL) {
        return ngx_http_event_mesh_send_json(r, NGX_HTTP_ACCEPTED, NULL, 0);
    }

    rule = NULL;

    switch (pub->outcome) {

    case NGX_HTTP_EM_NO_STREAM:
        status = NGX_HTTP_NOT_FOUND;
        error = "unknown broker";
        rule = "no stream of the channel takes this broker's events: "
               "create it with \"event-mesh-dispatcher provision\"";
        break;

    case NGX_HTTP_EM_NO_LEADER:
        return ngx_http_event_mesh_unavailable(r,
                   "the broker's stream does not answer for now (a leader "
                   "election or a restart); the event is not stored, "
                   "send it again later");

    case NGX_HTTP_EM_TIMEOUT:
        status = NGX_HTTP_GATEWAY_TIME_OUT;
        error = "channel ack timeout";
        rule = "the channel did not confirm in time; the event may be "
               "stored, and sending it again is safe";
        break;

    case NGX_HTTP_EM_NOT_CONNECTED:
        return ngx_http_event_mesh_unavailable(r,
                                        "not connected to the channel");

    case NGX_HTTP_EM_OVERLOADED:
        return ngx_http_event_mesh_unavailable(r,
                                        "too many events in flight");

    case NGX_HTTP_EM_SHUTDOWN:
        return ngx_http_event_mesh_unavailable(r,
                   "the server is shutting down; the event may be stored, "
                   "and sending it again is safe");

    case NGX_HTTP_EM_FULL:
        status = NGX_HTTP_INSUFFICIENT_STORAGE;
        error = "channel full";
        break;

    case NGX_HTTP_EM_TOO_LARGE:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        error = "event too large";
        rule = "the event is larger than the NATS server's max_payload";
        break;

    case NGX_HTTP_EM_HEADERS_TOO_LARGE:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        error = "event too large";
        rule = "the event's attributes take more than the 64 KiB of "
               "headers JetStream stores with a message";
        break;

    case NGX_HTTP_EM_CHANNEL_ERROR:
        status = NGX_HTTP_BAD_GATEWAY;
        error = "channel error";
        break;

    default:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        error = "internal error";
        break;
    }

    ctx->error.data = (u_char *) error;
    ctx->error.len = ngx_strlen(error);

    level = (status == NGX_HTTP_INTERNAL_SERVER_ERROR
             || status == NGX_HTTP_BAD_GATEWAY) ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0,
                  "event mesh: %s: %V (code %ui, err_code %ui)",
                  error, &pub->reason, pub->api_code, pub->err_code);

    body = json_object();
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json_object_set_new(body, "error", json_string(error));

    if (pub->reason.len) {
        json_object_set_new(body, "reason",
                            json_stringn((const char *) pub->reason.data,
                                         pub->reason.len));
    }

    if (rule) {
        json_object_set_new(body, "rule", json_string(rule));
    }

    if (ctx->npubs > 1) {
        json_object_set_new(body, "index", json_integer(pub->index));

        stored = json_array();
        for (i = 0; i < ctx->npubs; i++) {
            if (ctx->pubs[i].outcome == NGX_HTTP_EM_STORED) {
                json_array_append_new(stored, json_integer(i));
            }
        }

        json_object_set_new(body, "stored", stored);
    }

    return ngx_http_event_mesh_send_jansson(r, status, body);
}


static ngx_int_t
ngx_http_event_mesh_unavailable(ngx_http_request_t *r, const char *reason)
{
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);

    if (ctx) {
        ngx_str_set(&ctx->error, "channel unavailable");
    }

    if (ngx_http_event_mesh_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_event_mesh_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "channel unavailable", reason);
}


ngx_int_t
ngx_http_event_mesh_retry_after(ngx_http_request_t *r)
{
    ngx_table_elt_t                 *h;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.len = ngx_sprintf(h->value.data, "%T", lcf->retry_after)
                   - h->value.data;

    return NGX_OK;
}


static void
ngx_http_event_mesh_batch_cleanup(void *data)
{
    em_batch_free(data);
}


static ngx_int_t
ngx_http_event_mesh_headers(ngx_http_request_t *r, em_header_t **headers,
    size_t *n)
{
    ngx_uint_t        i, count;
    em_header_t      *hs;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    count = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        count += part->nelts;
    }

    hs = ngx_palloc(r->pool, (count ? count : 1) * sizeof(em_header_t));
    if (hs == NULL) {
        return NGX_ERROR;
    }

    count = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            hs[count].name = (const char *) h[i].key.data;
            hs[count].name_len = h[i].key.len;
            hs[count].value = (const char *) h[i].value.data;
            hs[count].value_len = h[i].value.len;
            count++;
        }
    }

    *headers = hs;
    *n = count;

    return NGX_OK;
}


/* $event_mesh_id, $event_mesh_type and $event_mesh_source of an event */

ngx_int_t
ngx_http_event_mesh_set_vars(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, em_event_t *ev)
{
    if (ngx_http_event_mesh_copy_str(r->pool, &ctx->id,
                                     em_event_get(ev, "id")) != NGX_OK
        || ngx_http_event_mesh_copy_str(r->pool, &ctx->type,
                                        em_event_get(ev, "type")) != NGX_OK
        || ngx_http_event_mesh_copy_str(r->pool, &ctx->source,
                                        em_event_get(ev, "source"))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_event_mesh_copy_str(ngx_pool_t *pool, ngx_str_t *dst,
    const char *src)
{
    size_t  len;

    if (src == NULL) {
        dst->len = 0;
        dst->data = NULL;
        return NGX_OK;
    }

    len = ngx_strlen(src);

    /* NUL-terminated too: the core takes C strings */
    dst->data = ngx_pnalloc(pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len + 1);
    dst->len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_event_mesh_send_report(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, em_report_t *report)
{
    u_char    *p;
    size_t     len;
    em_buf_t   out;

    em_buf_init(&out);

    if (em_report_to_json(report, error, &out) != 0) {
        em_buf_free(&out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, out.len);
    if (p == NULL) {
        em_buf_free(&out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, out.data, out.len);
    len = out.len;

    em_buf_free(&out);

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "event mesh: %s: %*s", error, ngx_min(len, 512), p);

    return ngx_http_event_mesh_send_json(r, status, p, len);
}


ngx_int_t
ngx_http_event_mesh_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, const char *rule)
{
    json_t  *body;

    body = json_pack("{s:s, s:s}", "error", error, "rule", rule);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_NOT_ALLOWED) {
        json_object_set_new(body, "method",
                            json_stringn((const char *) r->method_name.data,
                                         r->method_name.len));
    }

    return ngx_http_event_mesh_send_jansson(r, status, body);
}


/* Sends a JSON document built with jansson; takes the reference. */

static ngx_int_t
ngx_http_event_mesh_send_jansson(ngx_http_request_t *r, ngx_uint_t status,
    json_t *body)
{
    u_char  *p;
    char    *dump;
    size_t   len;

    dump = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    if (dump == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(dump);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        free(dump);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, dump, len);
    free(dump);

    return ngx_http_event_mesh_send_json(r, status, p, len);
}


ngx_int_t
ngx_http_event_mesh_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *json, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (len) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || len == 0) {
        return rc == NGX_OK && len == 0 ? ngx_http_send_special(r,
                                                      NGX_HTTP_LAST)
                                        : rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = json;
    b->last = json + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
