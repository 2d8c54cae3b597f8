
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
    ngx_str_t                  broker;       /* or event_mesh_legacy */
    ngx_str_t                  stream;       /* EM_<ns>_<broker> */
    ngx_flag_t                 legacy;       /* event_mesh_legacy */
    ngx_str_t                  type_prefix;  /* event_mesh_legacy_type_prefix */
    ngx_http_complex_value_t  *source;       /* event_mesh_source */
    ngx_msec_t                 ack_timeout;  /* event_mesh_ack_timeout */
    size_t                     max_event_size;
    ngx_uint_t                 max_batch_events;
    ngx_flag_t                 batch;        /* event_mesh_batch */
    ngx_flag_t                 check_json_body;
    time_t                     retry_after;  /* event_mesh_retry_after */
} ngx_http_event_mesh_loc_conf_t;


typedef struct ngx_http_event_mesh_ctx_s  ngx_http_event_mesh_ctx_t;

typedef ngx_int_t (*ngx_http_event_mesh_step_pt)(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);


/* What the channel did with one event. */
typedef enum {
    NGX_HTTP_EM_PENDING = 0,
    NGX_HTTP_EM_STORED,
    NGX_HTTP_EM_NO_STREAM,       /* no stream takes the broker's subjects */
    NGX_HTTP_EM_NO_LEADER,       /* the stream exists but does not answer */
    NGX_HTTP_EM_TIMEOUT,         /* no ack in time: it may be stored */
    NGX_HTTP_EM_NOT_CONNECTED,
    NGX_HTTP_EM_OVERLOADED,      /* in-flight or write buffer limit */
    NGX_HTTP_EM_SHUTDOWN,        /* the worker is exiting */
    NGX_HTTP_EM_FULL,            /* the stream's limits refuse it */
    NGX_HTTP_EM_TOO_LARGE,       /* over the server's max_payload */
    NGX_HTTP_EM_HEADERS_TOO_LARGE, /* over JetStream's 64 KiB of headers */
    NGX_HTTP_EM_CHANNEL_ERROR,   /* any other JetStream API error */
    NGX_HTTP_EM_INTERNAL
} ngx_http_event_mesh_outcome_e;


typedef struct {
    ngx_http_event_mesh_ctx_t      *ctx;
    ngx_em_nats_pub_t              *pub;
    ngx_uint_t                      index;
    ngx_http_event_mesh_outcome_e   outcome;
    uint64_t                        seq;
    ngx_uint_t                      api_code;
    ngx_uint_t                      err_code;
    ngx_str_t                       reason;
} ngx_http_event_mesh_pub_t;


struct ngx_http_event_mesh_ctx_s {
    ngx_http_request_t           *request;

    ngx_http_event_mesh_step_pt   process;  /* the body is read */
    ngx_http_event_mesh_step_pt   answer;   /* the channel has answered */

    u_char                       *body;     /* the whole request body */
    size_t                        body_len;
    size_t                        body_cap;
    size_t                        body_limit;

    ngx_http_event_mesh_pub_t    *pubs;
    ngx_uint_t                    npubs;
    ngx_uint_t                    outstanding;

    ngx_str_t                     id;       /* $event_mesh_id */
    ngx_str_t                     type;     /* $event_mesh_type */
    ngx_str_t                     source;   /* $event_mesh_source */
    ngx_str_t                     error;    /* $event_mesh_error */

    unsigned                      body_too_large:1;
    /* over the limit, keep the first body_limit bytes (Go's MaxBytesReader) */
    unsigned                      body_keep_prefix:1;
};


extern ngx_module_t  ngx_http_event_mesh_module;


ngx_int_t ngx_http_event_mesh_publish_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_event_mesh_read_body(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx);
ngx_int_t ngx_http_event_mesh_publish_events(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, em_event_t **events, size_t n);
ngx_http_event_mesh_pub_t *ngx_http_event_mesh_first_failure(
    ngx_http_event_mesh_ctx_t *ctx);
ngx_int_t ngx_http_event_mesh_legacy_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_event_mesh_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_event_mesh_add_variables(ngx_conf_t *cf);

ngx_int_t ngx_http_event_mesh_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *json, size_t len);
ngx_int_t ngx_http_event_mesh_set_vars(ngx_http_request_t *r,
    ngx_http_event_mesh_ctx_t *ctx, em_event_t *ev);
ngx_int_t ngx_http_event_mesh_copy_str(ngx_pool_t *pool, ngx_str_t *dst,
    const char *src);
ngx_int_t ngx_http_event_mesh_retry_after(ngx_http_request_t *r);
ngx_int_t ngx_http_event_mesh_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, const char *rule);


#endif /* _NGX_HTTP_EVENT_MESH_MODULE_H_INCLUDED_ */
