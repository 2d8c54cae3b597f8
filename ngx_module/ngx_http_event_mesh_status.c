
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_module.h"


/*
 * event_mesh_status: the state of the worker that answers.  Each worker
 * has its own NATS connection, so figures are per worker (the "pid" says
 * which one).
 */

ngx_int_t
ngx_http_event_mesh_status_handler(ngx_http_request_t *r)
{
    u_char               *p, *last;
    size_t                len;
    ngx_int_t             rc;
    ngx_em_nats_stats_t   st;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memzero(&st, sizeof(ngx_em_nats_stats_t));
    ngx_em_nats_get_stats(&st);

    len = sizeof("{\"pid\":,\"nats\":{\"connected\":false,\"server\":\"\","
                 "\"pending\":,\"buffered\":,\"published\":,\"acked\":,"
                 "\"failed\":,\"timeouts\":,\"reconnects\":,"
                 "\"max_payload\":}}\n")
          + NGX_INT64_LEN
          + ngx_escape_json(NULL, st.server.data, st.server.len)
          + st.server.len
          + 9 * NGX_INT64_LEN;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(p, "{\"pid\":%P,\"nats\":{\"connected\":%s,"
                       "\"server\":\"",
                       ngx_pid, st.connected ? "true" : "false");

    last = (u_char *) ngx_escape_json(last, st.server.data, st.server.len);

    last = ngx_sprintf(last, "\",\"pending\":%ui,\"buffered\":%uz,"
                       "\"published\":%uL,\"acked\":%uL,\"failed\":%uL,"
                       "\"timeouts\":%uL,\"reconnects\":%uL,"
                       "\"max_payload\":%uz}}\n",
                       st.pending, st.buffered, st.published, st.acked,
                       st.failed, st.timeouts, st.reconnects,
                       st.max_payload);

    return ngx_http_event_mesh_send_json(r, NGX_HTTP_OK, p, last - p);
}
