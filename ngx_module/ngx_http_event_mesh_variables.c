
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_module.h"


static ngx_int_t ngx_http_event_mesh_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_event_mesh_seq_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_event_mesh_vars[] = {

    { ngx_string("event_mesh_id"), NULL,
      ngx_http_event_mesh_str_variable,
      offsetof(ngx_http_event_mesh_ctx_t, id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("event_mesh_type"), NULL,
      ngx_http_event_mesh_str_variable,
      offsetof(ngx_http_event_mesh_ctx_t, type),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("event_mesh_source"), NULL,
      ngx_http_event_mesh_str_variable,
      offsetof(ngx_http_event_mesh_ctx_t, source),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("event_mesh_error"), NULL,
      ngx_http_event_mesh_str_variable,
      offsetof(ngx_http_event_mesh_ctx_t, error),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("event_mesh_stream_seq"), NULL,
      ngx_http_event_mesh_seq_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_event_mesh_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_event_mesh_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_event_mesh_str_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                  *s;
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_event_mesh_seq_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                     *p;
    ngx_http_event_mesh_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_event_mesh_module);

    if (ctx == NULL || ctx->npubs == 0
        || ctx->pubs[0].outcome != NGX_HTTP_EM_STORED)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%uL", ctx->pubs[0].seq) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}
