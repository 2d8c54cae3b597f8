
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_module.h"


/*
 * Publishing a request's events to the broker's channel and collecting
 * the channel's answer for each one; when the last answer is in, the
 * request is finalized with ctx->answer().  What each answer means is
 * decided here once (ngx_http_event_mesh_outcome_e), so the CloudEvents
 * and the legacy endpoints only choose how to say it.
 */


/* JetStream's "store failed" errors: limits reached with discard new */
#define NGX_HTTP_EM_JS_STORE_FAILED  10077
#define NGX_HTTP_EM_JS_INSUFFICIENT  10023

/* JetStream stores no message with more than 64 KiB of headers */
#define NGX_HTTP_EM_JS_HEADERS_TOO_BIG  10097


static void ngx_http_event_mesh_pub_handler(ngx_em_pub_result_t *res,
    void *data);
static void ngx_http_event_mesh_channel_cleanup(void *data);


ngx_int_t
ngx_http_event_mesh_publish_events(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, em_event_t **events, size_t n)
{
    size_t                           i;
    em_buf_t                         subject, headers;
    ngx_str_t                        subj, hdrs, payload;
    ngx_int_t                        rc;
    em_event_t                      *ev;
    const char                      *type;
    ngx_pool_cleanup_t              *cln;
    ngx_http_event_mesh_pub_t       *pub;
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_event_mesh_module);

    ctx->pubs = ngx_pcalloc(r->pool, n * sizeof(ngx_http_event_mesh_pub_t));
    if (ctx->pubs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_event_mesh_channel_cleanup;
    cln->data = ctx;

    ctx->npubs = n;

    em_buf_init(&subject);
    em_buf_init(&headers);

    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        ev = events[i];
        pub = &ctx->pubs[i];
        pub->ctx = ctx;
        pub->index = i;

        type = em_event_get(ev, "type");

        em_buf_reset(&subject);
        em_buf_reset(&headers);

        if (type == NULL
            || em_subject_for(&subject, (const char *) lcf->ns.data,
                              lcf->ns.len, (const char *) lcf->broker.data,
                              lcf->broker.len, type, ngx_strlen(type))
               != 0
            || em_nats_encode_headers(ev, &headers) != 0)
        {
            rc = NGX_ERROR;
            break;
        }

        subj.data = (u_char *) subject.data;
        subj.len = subject.len;
        hdrs.data = (u_char *) headers.data;
        hdrs.len = headers.len;
        payload.data = ev->data;
        payload.len = ev->has_data ? ev->data_len : 0;

        rc = ngx_em_nats_publish(&subj, &lcf->stream, &hdrs, &payload,
                                 lcf->ack_timeout,
                                 ngx_http_event_mesh_pub_handler, pub,
                                 &pub->pub, r->connection->log);
        if (rc != NGX_OK) {
            break;
        }

        ctx->outstanding++;
    }

    em_buf_free(&subject);
    em_buf_free(&headers);

    if (rc != NGX_OK) {

        /*
         * Nothing from event i on was sent.  Events before it are in
         * flight and their answers are awaited; a client that sends the
         * whole request again is safe, the channel de-duplicates by
         * source and id.
         */

        for ( /* void */ ; i < n; i++) {
            pub = &ctx->pubs[i];
            pub->ctx = ctx;
            pub->index = i;

            switch (rc) {
            case NGX_DECLINED:
                pub->outcome = NGX_HTTP_EM_NOT_CONNECTED;
                break;
            case NGX_BUSY:
                pub->outcome = NGX_HTTP_EM_OVERLOADED;
                break;
            case NGX_ABORT:
                pub->outcome = NGX_HTTP_EM_TOO_LARGE;
                break;
            default:
                pub->outcome = NGX_HTTP_EM_INTERNAL;
                break;
            }
        }
    }

    if (ctx->outstanding) {
        /* the answer is sent when the last ack arrives */
        r->main->count++;
        return NGX_DONE;
    }

    return ctx->answer(r, ctx);
}


static void
ngx_http_event_mesh_pub_handler(ngx_em_pub_result_t *res, void *data)
{
    ngx_http_event_mesh_pub_t  *pub = data;

    u_char                     *p;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = pub->ctx;
    r = ctx->request;
    c = r->connection;

    pub->pub = NULL;

    switch (res->status) {

    case NGX_EM_PUB_ACK:
        pub->outcome = NGX_HTTP_EM_STORED;
        pub->seq = res->seq;
        break;

    case NGX_EM_PUB_NO_STREAM:
        pub->outcome = NGX_HTTP_EM_NO_STREAM;
        break;

    case NGX_EM_PUB_NO_LEADER:
        pub->outcome = NGX_HTTP_EM_NO_LEADER;
        break;

    case NGX_EM_PUB_TIMEOUT:
        pub->outcome = NGX_HTTP_EM_TIMEOUT;
        break;

    case NGX_EM_PUB_DISCONNECTED:
        pub->outcome = NGX_HTTP_EM_NOT_CONNECTED;
        break;

    case NGX_EM_PUB_SHUTDOWN:
        pub->outcome = NGX_HTTP_EM_SHUTDOWN;
        break;

    default: /* NGX_EM_PUB_API_ERROR */
        if (res->err_code == NGX_HTTP_EM_JS_STORE_FAILED
            || res->err_code == NGX_HTTP_EM_JS_INSUFFICIENT)
        {
            pub->outcome = NGX_HTTP_EM_FULL;

        } else if (res->err_code == NGX_HTTP_EM_JS_HEADERS_TOO_BIG) {
            /* the client's event, not the channel, is at fault */
            pub->outcome = NGX_HTTP_EM_HEADERS_TOO_LARGE;

        } else {
            pub->outcome = NGX_HTTP_EM_CHANNEL_ERROR;
        }

        pub->api_code = res->code;
        pub->err_code = res->err_code;
        break;
    }

    /* the description lives only during the callback */
    if (res->description.len) {
        p = ngx_pnalloc(r->pool, res->description.len);
        if (p != NULL) {
            ngx_memcpy(p, res->description.data, res->description.len);
            pub->reason.data = p;
            pub->reason.len = res->description.len;
        }
    }

    if (--ctx->outstanding) {
        return;
    }

    ngx_http_finalize_request(r, ctx->answer(r, ctx));
    ngx_http_run_posted_requests(c);
}


ngx_http_event_mesh_pub_t *
ngx_http_event_mesh_first_failure(ngx_http_event_mesh_ctx_t *ctx)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->npubs; i++) {
        if (ctx->pubs[i].outcome != NGX_HTTP_EM_STORED) {
            return &ctx->pubs[i];
        }
    }

    return NULL;
}


static void
ngx_http_event_mesh_channel_cleanup(void *data)
{
    ngx_http_event_mesh_ctx_t  *ctx = data;

    ngx_uint_t  i;

    /* the request is going away before every answer came: forget them */

    for (i = 0; i < ctx->npubs; i++) {
        if (ctx->pubs[i].pub) {
            ngx_em_nats_cancel(ctx->pubs[i].pub);
            ctx->pubs[i].pub = NULL;
        }
    }
}
