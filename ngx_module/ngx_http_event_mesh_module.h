
/*
 * Copyright (C) nginx Event Mesh authors
 */


#ifndef _NGX_HTTP_EVENT_MESH_MODULE_H_INCLUDED_
#define _NGX_HTTP_EVENT_MESH_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_nats.h"

#include <eventmesh/ce_http.h>
#include <eventmesh/codec.h>
#include <eventmesh/subject.h>


typedef struct {
    ngx_em_nats_conf_t         nats;         /* event_mesh_nats* */
    ngx_uint_t                 publishers;   /* event_mesh_publish count */
} ngx_http_event_mesh_main_conf_t;


typedef struct {
    ngx_str_t                  ns;           /* event_mesh_publish NS/... */
    ngx_str_t                  broker;
    ngx_http_complex_value_t  *source;       /* event_mesh_source */
    ngx_msec_t                 ack_timeout;  /* event_mesh_ack_timeout */
    size_t                     max_event_size;
    ngx_uint_t                 max_batch_events;
    ngx_flag_t                 batch;        /* event_mesh_batch */
    ngx_flag_t                 check_json_body;
    time_t                     retry_after;  /* event_mesh_retry_after */
} ngx_http_event_mesh_loc_conf_t;


typedef struct ngx_http_event_mesh_ctx_s  ngx_http_event_mesh_ctx_t;


typedef struct {
    ngx_http_event_mesh_ctx_t *ctx;
    ngx_em_nats_pub_t         *pub;
    ngx_em_pub_result_t        result;
    ngx_uint_t                 index;
    unsigned                   done:1;
} ngx_http_event_mesh_pub_t;


struct ngx_http_event_mesh_ctx_s {
    ngx_http_request_t        *request;

    u_char                    *body;         /* the whole request body */
    size_t                     body_len;
    size_t                     body_cap;
    size_t                     body_limit;

    ngx_http_event_mesh_pub_t *pubs;
    ngx_uint_t                 npubs;
    ngx_uint_t                 outstanding;

    ngx_str_t                  id;           /* $event_mesh_id */
    ngx_str_t                  type;         /* $event_mesh_type */
    ngx_str_t                  source;       /* $event_mesh_source */
    ngx_str_t                  error;        /* $event_mesh_error */
    uint64_t                   stream_seq;   /* $event_mesh_stream_seq */
    unsigned                   has_seq:1;
};


extern ngx_module_t  ngx_http_event_mesh_module;


ngx_int_t ngx_http_event_mesh_publish_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_event_mesh_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_event_mesh_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_event_mesh_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *json, size_t len);
ngx_int_t ngx_http_event_mesh_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *rule);


#endif /* _NGX_HTTP_EVENT_MESH_MODULE_H_INCLUDED_ */
