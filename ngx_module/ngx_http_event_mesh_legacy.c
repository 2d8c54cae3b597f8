
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <eventmesh/legacy.h>

#include "ngx_http_event_mesh_module.h"


/*
 * Kyma's legacy endpoint, POST /{application}/v1/events: applications
 * written before CloudEvents keep their requests and get Kyma's answers
 * byte for byte (reference/kyma-publisher.md), while their events enter
 * the broker as CloudEvents.  The core does the validation and the
 * conversion and writes every body; this file only reads, publishes and
 * chooses which body to send.
 */


static ngx_int_t ngx_http_event_mesh_legacy_process(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
static ngx_int_t ngx_http_event_mesh_legacy_answer(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
static ngx_int_t ngx_http_event_mesh_legacy_send(ngx_http_request_t *r,
    ngx_uint_t status, em_buf_t *body);
static void ngx_http_event_mesh_event_cleanup(void *data);


ngx_int_t
ngx_http_event_mesh_legacy_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_event_mesh_ctx_t       *ctx;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    if (r->method != NGX_HTTP_POST) {
        /* Kyma's router: a known path with another method, empty body */
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_event_mesh_send_json(r, NGX_HTTP_NOT_ALLOWED,
                                             NULL, 0);
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_event_mesh_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->process = ngx_http_event_mesh_legacy_process;
    ctx->answer = ngx_http_event_mesh_legacy_answer;

    /*
     * Kyma reads the body through Go's MaxBytesReader: a JSON value that
     * ends within the limit is accepted whatever follows it, so the first
     * body_limit bytes are kept for the core to decide.
     */
    ctx->body_limit = lcf->max_event_size;
    ctx->body_keep_prefix = 1;

    ngx_http_set_ctx(r, ctx, ngx_http_event_mesh_module);

    return ngx_http_event_mesh_read_body(r, ctx);
}


static ngx_int_t
ngx_http_event_mesh_legacy_process(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    int                              status;
    em_buf_t                         body;
    ngx_int_t                        rc;
    ngx_str_t                        app;
    em_event_t                      *ev;
    em_status_t                      st;
    em_legacy_opts_t                 opts;
    ngx_pool_cleanup_t              *cln;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    if (ngx_http_complex_value(r, lcf->source, &app) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    em_legacy_opts_default(&opts);
    opts.max_body = lcf->max_event_size;
    opts.body_truncated = ctx->body_too_large;

    if (lcf->type_prefix.data) {
        opts.type_prefix = (const char *) lcf->type_prefix.data;
        opts.type_prefix_len = lcf->type_prefix.len;
    }

    em_buf_init(&body);
    ev = NULL;
    status = NGX_HTTP_INTERNAL_SERVER_ERROR;

    st = em_legacy_to_event((const char *) app.data, app.len, ctx->body,
                            ctx->body_len, &opts, &ev, &status, &body);

    if (st != EM_OK) {
        if (st == EM_ERROR) {
            ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                          "event mesh: out of memory while converting a "
                          "legacy event");
        }

        ngx_str_set(&ctx->error, "invalid legacy event");

        rc = ngx_http_event_mesh_legacy_send(r, status, &body);
        em_buf_free(&body);
        return rc;
    }

    em_buf_free(&body);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        em_event_free(ev);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_event_mesh_event_cleanup;
    cln->data = ev;

    if (ngx_http_event_mesh_set_vars(r, ctx, ev) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_event_mesh_publish_events(r, ctx, &ev, 1);
}


static ngx_int_t
ngx_http_event_mesh_legacy_answer(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    int                         status;
    em_buf_t                    body;
    ngx_int_t                   rc;
    const char                 *message;
    em_legacy_backend_t         kind;
    ngx_http_event_mesh_pub_t  *pub;

    em_buf_init(&body);
    status = NGX_HTTP_INTERNAL_SERVER_ERROR;

    pub = ngx_http_event_mesh_first_failure(ctx);

    if (pub == NULL) {
        if (em_legacy_ok_body((const char *) ctx->id.data, &body) != 0) {
            em_buf_free(&body);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_event_mesh_legacy_send(r, NGX_HTTP_OK, &body);
        em_buf_free(&body);
        return rc;
    }

    message = NULL;

    switch (pub->outcome) {

    case NGX_HTTP_EM_NOT_CONNECTED:
        kind = EM_LEGACY_BACKEND_NOT_CONNECTED;
        break;

    case NGX_HTTP_EM_NO_STREAM:
        kind = EM_LEGACY_BACKEND_NO_STREAM;
        break;

    case NGX_HTTP_EM_TIMEOUT:
        kind = EM_LEGACY_BACKEND_TIMEOUT;
        break;

    case NGX_HTTP_EM_FULL:
        kind = EM_LEGACY_BACKEND_FULL;
        break;

    case NGX_HTTP_EM_CHANNEL_ERROR:
        kind = EM_LEGACY_BACKEND_API;
        break;

    /* Kyma has no answer for these: its shape, with our reason */

    case NGX_HTTP_EM_OVERLOADED:
        message = "too many events in flight";
        break;

    case NGX_HTTP_EM_SHUTDOWN:
        message = "the server is shutting down";
        break;

    case NGX_HTTP_EM_NO_LEADER:
        message = "the broker's stream does not answer for now";
        break;

    default:
        kind = EM_LEGACY_BACKEND_INTERNAL;
        break;
    }

    if (message) {
        ngx_str_set(&ctx->error, "channel unavailable");

        if (ngx_http_event_mesh_retry_after(r) != NGX_OK
            || em_legacy_error_body(NGX_HTTP_SERVICE_UNAVAILABLE, message,
                                    ngx_strlen(message), &body)
               != 0)
        {
            em_buf_free(&body);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_event_mesh_legacy_send(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             &body);
        em_buf_free(&body);
        return rc;
    }

    ngx_str_set(&ctx->error, "channel error");

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "event mesh: legacy event not stored: outcome %d: %V "
                  "(code %ui, err_code %ui)", (int) pub->outcome,
                  &pub->reason, pub->api_code, pub->err_code);

    if (em_legacy_backend_body(kind, (int) pub->api_code,
                               (const char *) pub->reason.data,
                               pub->reason.len, &status, &body)
        != 0)
    {
        em_buf_free(&body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_event_mesh_legacy_send(r, status, &body);
    em_buf_free(&body);

    return rc;
}


static ngx_int_t
ngx_http_event_mesh_legacy_send(ngx_http_request_t *r, ngx_uint_t status,
    em_buf_t *body)
{
    u_char  *p;

    if (body->len == 0) {
        return status;
    }

    p = ngx_pnalloc(r->pool, body->len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, body->data, body->len);

    return ngx_http_event_mesh_send_json(r, status, p, body->len);
}


static void
ngx_http_event_mesh_event_cleanup(void *data)
{
    em_event_free(data);
}
