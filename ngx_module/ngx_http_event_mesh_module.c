
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_event_mesh_module.h"


static void *ngx_http_event_mesh_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_event_mesh_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_event_mesh_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_event_mesh_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_event_mesh_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_event_mesh_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_event_mesh_init_process(ngx_cycle_t *cycle);
static void ngx_http_event_mesh_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_event_mesh_nats(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_event_mesh_publish(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_event_mesh_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_event_mesh_type_prefix(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
#if (NGX_SSL)
static char *ngx_http_event_mesh_tls_name(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_event_mesh_tls_protocols(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
#endif


static ngx_conf_num_bounds_t  ngx_http_event_mesh_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 100000
};


static ngx_command_t  ngx_http_event_mesh_commands[] = {

    { ngx_string("event_mesh_nats"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_event_mesh_nats,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("event_mesh_nats_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.connect_timeout),
      NULL },

    { ngx_string("event_mesh_nats_reconnect_wait"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.reconnect_wait),
      NULL },

    { ngx_string("event_mesh_nats_reconnect_max_wait"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.reconnect_max_wait),
      NULL },

    { ngx_string("event_mesh_nats_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.ping_interval),
      NULL },

    { ngx_string("event_mesh_nats_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.buffer_size),
      NULL },

    { ngx_string("event_mesh_max_inflight"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.max_pending),
      NULL },

#if (NGX_SSL)

    { ngx_string("event_mesh_nats_tls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls),
      NULL },

    { ngx_string("event_mesh_nats_tls_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_verify),
      NULL },

    { ngx_string("event_mesh_nats_tls_verify_depth"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_verify_depth),
      NULL },

    { ngx_string("event_mesh_nats_tls_protocols"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_event_mesh_tls_protocols,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_protocols),
      &ngx_em_nats_tls_protocols },

    { ngx_string("event_mesh_nats_tls_ciphers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_ciphers),
      NULL },

    { ngx_string("event_mesh_nats_tls_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_event_mesh_tls_name,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_name),
      NULL },

    { ngx_string("event_mesh_nats_tls_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_em_nats_tls_conf_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t,
               nats.tls_trusted_certificate),
      NULL },

    { ngx_string("event_mesh_nats_tls_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_em_nats_tls_conf_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_certificate),
      NULL },

    { ngx_string("event_mesh_nats_tls_certificate_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_em_nats_tls_conf_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_certificate_key),
      NULL },

    { ngx_string("event_mesh_nats_tls_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_em_nats_tls_conf_password_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_main_conf_t, nats.tls_passwords),
      NULL },

#endif

    { ngx_string("event_mesh_publish"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_event_mesh_publish,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("event_mesh_legacy"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_event_mesh_publish,
      NGX_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("event_mesh_legacy_type_prefix"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_event_mesh_type_prefix,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, type_prefix),
      NULL },

    { ngx_string("event_mesh_source"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, source),
      NULL },

    { ngx_string("event_mesh_ack_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, ack_timeout),
      NULL },

    { ngx_string("event_mesh_max_event_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, max_event_size),
      NULL },

    { ngx_string("event_mesh_max_batch_events"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, max_batch_events),
      &ngx_http_event_mesh_batch_bounds },

    { ngx_string("event_mesh_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, batch),
      NULL },

    { ngx_string("event_mesh_check_json_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, check_json_body),
      NULL },

    { ngx_string("event_mesh_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_event_mesh_loc_conf_t, retry_after),
      NULL },

    { ngx_string("event_mesh_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_event_mesh_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_event_mesh_module_ctx = {
    ngx_http_event_mesh_preconfiguration,  /* preconfiguration */
    ngx_http_event_mesh_postconfiguration, /* postconfiguration */

    ngx_http_event_mesh_create_main_conf,  /* create main configuration */
    ngx_http_event_mesh_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_event_mesh_create_loc_conf,   /* create location configuration */
    ngx_http_event_mesh_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_event_mesh_module = {
    NGX_MODULE_V1,
    &ngx_http_event_mesh_module_ctx,       /* module context */
    ngx_http_event_mesh_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_event_mesh_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_event_mesh_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_event_mesh_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_event_mesh_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_event_mesh_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    ngx_em_nats_conf_init(&mcf->nats);

    return mcf;
}


static char *
ngx_http_event_mesh_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_event_mesh_main_conf_t  *mcf = conf;

    return ngx_em_nats_conf_merge(cf, &mcf->nats);
}


static void *
ngx_http_event_mesh_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_event_mesh_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_event_mesh_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lcf->ns = { 0, NULL };
     *     lcf->broker = { 0, NULL };
     *     lcf->source = NULL;
     */

    lcf->ack_timeout = NGX_CONF_UNSET_MSEC;
    lcf->max_event_size = NGX_CONF_UNSET_SIZE;
    lcf->max_batch_events = NGX_CONF_UNSET_UINT;
    lcf->batch = NGX_CONF_UNSET;
    lcf->check_json_body = NGX_CONF_UNSET;
    lcf->retry_after = NGX_CONF_UNSET;
    lcf->legacy = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_event_mesh_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_event_mesh_loc_conf_t  *prev = parent;
    ngx_http_event_mesh_loc_conf_t  *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_msec_value(conf->ack_timeout, prev->ack_timeout, 5000);

    /* the spec's floor: intermediaries MUST forward events up to 64 KiB */
    ngx_conf_merge_size_value(conf->max_event_size, prev->max_event_size,
                              64 * 1024);
    ngx_conf_merge_uint_value(conf->max_batch_events, prev->max_batch_events,
                              100);
    ngx_conf_merge_value(conf->batch, prev->batch, 1);
    ngx_conf_merge_value(conf->check_json_body, prev->check_json_body, 1);
    ngx_conf_merge_sec_value(conf->retry_after, prev->retry_after, 1);

    if (conf->source == NULL) {
        conf->source = prev->source;
    }

    if (conf->legacy == 1 && conf->source == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_legacy\" needs "
                           "\"event_mesh_source\" to name the application, "
                           "e.g. $app from "
                           "location ~ ^/(?<app>[^/]+)/v1/events$");
        return NGX_CONF_ERROR;
    }

    if (conf->type_prefix.data && conf->legacy != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_legacy_type_prefix\" is only "
                           "meaningful with \"event_mesh_legacy\"");
        return NGX_CONF_ERROR;
    }

    if (conf->max_event_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_max_event_size\" must not be zero");
        return NGX_CONF_ERROR;
    }

    if (conf->broker.data == NULL) {
        return NGX_CONF_OK;
    }

    /*
     * The module limits the body itself (event_mesh_max_event_size and
     * event_mesh_max_batch_events, a limit that depends on the mode) and
     * answers 413 with the JSON error of every other refusal.  nginx's own
     * check against client_max_body_size (1m by default) would come first
     * and answer with its HTML page, even for a batch within the module's
     * limits, so it is off here.  The core module's configuration of this
     * location is merged by now.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->client_max_body_size = 0;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_event_mesh_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_event_mesh_add_variables(cf);
}


static ngx_int_t
ngx_http_event_mesh_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_event_mesh_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_event_mesh_module);

    if (mcf->publishers && mcf->nats.servers == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_publish\" needs NATS servers: "
                           "add \"event_mesh_nats\" to the http block");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_event_mesh_init_process(ngx_cycle_t *cycle)
{
    ngx_http_event_mesh_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_event_mesh_module);
    if (mcf == NULL || mcf->nats.servers == NULL) {
        return NGX_OK;
    }

    return ngx_em_nats_init_process(cycle, &mcf->nats);
}


static void
ngx_http_event_mesh_exit_process(ngx_cycle_t *cycle)
{
    ngx_em_nats_exit_process(cycle);
}


static char *
ngx_http_event_mesh_nats(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_event_mesh_main_conf_t  *mcf = conf;

    if (mcf->nats.servers != NULL) {
        return "is duplicate";
    }

    return ngx_em_nats_conf_servers(cf, &mcf->nats);
}


static char *
ngx_http_event_mesh_publish(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_event_mesh_loc_conf_t  *lcf = conf;

    size_t                            slash;
    em_buf_t                          stream;
    ngx_str_t                        *value;
    const char                       *why;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_event_mesh_main_conf_t  *mcf;

    if (lcf->broker.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (!em_broker_ref_parse((const char *) value[1].data, value[1].len,
                             &slash, &why))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid broker \"%V\" in \"%V\" directive: %s",
                           &value[1], &cmd->name, why);
        return NGX_CONF_ERROR;
    }

    lcf->ns.data = value[1].data;
    lcf->ns.len = slash;
    lcf->broker.data = value[1].data + slash + 1;
    lcf->broker.len = value[1].len - slash - 1;
    lcf->legacy = cmd->offset;

    /*
     * The stream the dispatcher provisions for the broker: on NATS's "no
     * responders" JetStream is asked whether it exists (404) or is only
     * without a leader for now (503).
     */

    em_buf_init(&stream);

    if (em_stream_name(&stream, (const char *) lcf->ns.data, lcf->ns.len,
                       (const char *) lcf->broker.data, lcf->broker.len)
        != 0)
    {
        em_buf_free(&stream);
        return NGX_CONF_ERROR;
    }

    lcf->stream.data = ngx_pnalloc(cf->pool, stream.len);
    if (lcf->stream.data == NULL) {
        em_buf_free(&stream);
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(lcf->stream.data, stream.data, stream.len);
    lcf->stream.len = stream.len;

    em_buf_free(&stream);

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_event_mesh_module);
    mcf->publishers++;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = lcf->legacy ? ngx_http_event_mesh_legacy_handler
                                : ngx_http_event_mesh_publish_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_event_mesh_type_prefix(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_event_mesh_loc_conf_t  *lcf = conf;

    ngx_str_t  *value;

    if (lcf->type_prefix.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* Kyma's cleaning may reduce it to nothing: that is its own rule */
    lcf->type_prefix = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_event_mesh_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_event_mesh_status_handler;

    return NGX_CONF_OK;
}


#if (NGX_SSL)

static char *
ngx_http_event_mesh_tls_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *rv;

    ngx_str_t  *value;

    value = cf->args->elts;

    /* an empty name would check nothing and send no SNI */

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty name in \"%V\" directive", &cmd->name);
        return NGX_CONF_ERROR;
    }

    rv = ngx_conf_set_str_slot(cf, cmd, conf);

    return rv;
}


static char *
ngx_http_event_mesh_tls_protocols(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *rv;

    rv = ngx_conf_set_bitmask_slot(cf, cmd, conf);

    /* nginx's own message names the value but not the directive */

    if (rv == NGX_CONF_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value in \"%V\" directive: use "
                           "TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3", &cmd->name);
    }

    return rv;
}

#endif
