
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_module.h"


/*
 * The request body, whole and in memory: the core parses complete
 * documents.  It is read without nginx's buffering so that it never goes
 * to a temporary file (no disk I/O on the request path, no
 * client_body_buffer_size to tune) and so that a body over the limit is
 * refused as soon as it crosses it, chunked or not.
 */


#define NGX_HTTP_EM_BODY_CHUNK  16384


static void ngx_http_event_mesh_body_handler(ngx_http_request_t *r);
static void ngx_http_event_mesh_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_event_mesh_body_take(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
static void ngx_http_event_mesh_body_done(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, ngx_int_t rc);


/*
 * Reads the body into ctx->body (at most ctx->body_limit bytes) and then
 * finalizes the request with ctx->process(); ctx->body_too_large tells it
 * when the limit was crossed, and with ctx->body_keep_prefix the first
 * body_limit bytes are there for it to look at.  Returns what the content
 * handler returns.
 */

ngx_int_t
ngx_http_event_mesh_read_body(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (r->headers_in.content_length_n > (off_t) ctx->body_limit
        && !ctx->body_keep_prefix)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        /* as nginx does for its own 413: the body is not read to its end */
        r->keepalive = 0;
        ctx->body_too_large = 1;

        return ctx->process(r, ctx);
    }

    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_event_mesh_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_event_mesh_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);

    if (r->request_body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_event_mesh_body_take(r, ctx);

    if (rc != NGX_OK) {
        ngx_http_event_mesh_body_done(r, ctx, rc);
        return;
    }

    if (!r->request_body_no_buffering) {
        /* it was all there already */
        ngx_http_event_mesh_body_done(r, ctx, NGX_OK);
        return;
    }

    r->read_event_handler = ngx_http_event_mesh_body_read;

    ngx_http_event_mesh_body_read(r);
}


static void
ngx_http_event_mesh_body_read(ngx_http_request_t *r)
{
    ngx_int_t                   rc, rc2;
    ngx_uint_t                  got;
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);

    /*
     * Without buffering nginx stops reading once its buffer is full and
     * waits for the consumer: keep taking what it read until it has
     * nothing more, or the socket would never signal again.
     */

    for ( ;; ) {
        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE || rc == NGX_ERROR) {
            ngx_http_finalize_request(r, rc);
            return;
        }

        got = (r->request_body->bufs != NULL);

        rc2 = ngx_http_event_mesh_body_take(r, ctx);

        if (rc2 != NGX_OK) {
            ngx_http_event_mesh_body_done(r, ctx, rc2);
            return;
        }

        if (rc == NGX_OK) {
            break;
        }

        if (!got) {
            return;
        }
    }

    ngx_http_event_mesh_body_done(r, ctx, NGX_OK);
}


static void
ngx_http_event_mesh_body_done(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, ngx_int_t rc)
{
    r->read_event_handler = ngx_http_block_reading;

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc == NGX_DECLINED) {
        /* the rest of the body is not read: the connection cannot be kept */
        ctx->body_too_large = 1;
        r->keepalive = 0;
    }

    ngx_http_finalize_request(r, ctx->process(r, ctx));
}


/*
 * Moves what the body filters produced into ctx->body.  NGX_DECLINED:
 * over the limit; NGX_ERROR: out of memory.
 */

static ngx_int_t
ngx_http_event_mesh_body_take(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx)
{
    size_t        n, cap;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_uint_t    over;
    ngx_chain_t  *cl;

    over = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            /* cannot happen without buffering, but never read a file here */
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "event mesh: request body in a file");
            return NGX_ERROR;
        }

        n = b->last - b->pos;

        if (n > ctx->body_limit - ctx->body_len) {
            if (!ctx->body_keep_prefix) {
                return NGX_DECLINED;
            }

            n = ctx->body_limit - ctx->body_len;
            over = 1;
        }

        if (ctx->body_len + n > ctx->body_cap) {
            cap = ngx_max(ctx->body_cap * 2, NGX_HTTP_EM_BODY_CHUNK);

            if (r->headers_in.content_length_n > 0
                && (size_t) r->headers_in.content_length_n > cap)
            {
                cap = r->headers_in.content_length_n;
            }

            cap = ngx_max(cap, ctx->body_len + n);
            cap = ngx_min(cap, ctx->body_limit);

            p = ngx_palloc(r->pool, cap);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (ctx->body_len) {
                ngx_memcpy(p, ctx->body, ctx->body_len);
            }

            if (ctx->body) {
                ngx_pfree(r->pool, ctx->body);
            }

            ctx->body = p;
            ctx->body_cap = cap;
        }

        if (n) {
            ngx_memcpy(ctx->body + ctx->body_len, b->pos, n);
            ctx->body_len += n;
        }

        b->pos = b->last;

        if (over) {
            return NGX_DECLINED;
        }
    }

    r->request_body->bufs = NULL;

    return NGX_OK;
}
