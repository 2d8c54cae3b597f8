
/*
 * Copyright (C) nginx Event Mesh authors
 */


#ifndef _NGX_HTTP_EVENT_MESH_NATS_H_INCLUDED_
#define _NGX_HTTP_EVENT_MESH_NATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>


/*
 * A NATS client that lives inside the worker's event loop: one connection
 * per worker, no threads, no blocking call.  It speaks the slice of the
 * client protocol a JetStream publisher needs (INFO, CONNECT, PING/PONG,
 * SUB, HPUB, MSG/HMSG, -ERR) and matches PubAcks to publishes through one
 * wildcard inbox subscription.
 */


typedef struct {
    ngx_url_t                 url;        /* host:port, nats:// stripped */
    ngx_str_t                 host;       /* NUL-terminated, no brackets */
} ngx_em_nats_server_t;


typedef struct {
    ngx_array_t              *servers;    /* ngx_em_nats_server_t */
    ngx_str_t                 user;
    ngx_str_t                 password;
    ngx_str_t                 token;
    ngx_str_t                 name;       /* CONNECT "name" */

    ngx_msec_t                connect_timeout;
    ngx_msec_t                reconnect_wait;      /* first backoff step */
    ngx_msec_t                reconnect_max_wait;  /* backoff ceiling */
    ngx_msec_t                ping_interval;
    ngx_uint_t                max_pings_out;

    size_t                    buffer_size;  /* write buffer high-water mark */
    ngx_uint_t                max_pending;  /* publishes awaiting an ack */

    ngx_flag_t                tls;
    ngx_flag_t                tls_verify;
    ngx_uint_t                tls_verify_depth;
    ngx_uint_t                tls_protocols;
    ngx_str_t                 tls_ciphers;
    ngx_str_t                 tls_name;     /* default: each server's host */
    ngx_str_t                 tls_trusted_certificate;
    ngx_str_t                 tls_certificate;
    ngx_str_t                 tls_certificate_key;
    ngx_array_t              *tls_passwords;
    ngx_str_t                 tls_url;      /* the first tls:// server */
#if (NGX_SSL)
    ngx_ssl_t                *ssl;
#endif
} ngx_em_nats_conf_t;


typedef enum {
    NGX_EM_PUB_ACK = 0,        /* stored; stream, seq, duplicate are set */
    NGX_EM_PUB_NO_STREAM,      /* JetStream says the stream does not exist */
    NGX_EM_PUB_NO_LEADER,      /* no responders, but the stream was not
                                  denied: leader election, recovery, or
                                  JetStream itself unavailable */
    NGX_EM_PUB_API_ERROR,      /* JetStream API error: code, err_code, text */
    NGX_EM_PUB_TIMEOUT,        /* no answer within the ack timeout */
    NGX_EM_PUB_DISCONNECTED,   /* connection lost before the answer */
    NGX_EM_PUB_SHUTDOWN        /* worker is exiting */
} ngx_em_pub_status_e;


typedef struct {
    ngx_em_pub_status_e       status;
    ngx_str_t                 stream;       /* valid during the callback */
    uint64_t                  seq;
    unsigned                  duplicate:1;
    ngx_uint_t                code;         /* API error "code", e.g. 503 */
    ngx_uint_t                err_code;     /* JetStream "err_code" */
    ngx_str_t                 description;  /* valid during the callback */
} ngx_em_pub_result_t;


typedef void (*ngx_em_pub_handler_pt)(ngx_em_pub_result_t *res, void *data);

typedef struct ngx_em_nats_pub_s  ngx_em_nats_pub_t;


typedef struct {
    ngx_uint_t                connected;    /* 1 when READY */
    ngx_str_t                 server;       /* current or last server */
    ngx_uint_t                pending;      /* publishes awaiting an answer */
    size_t                    buffered;     /* bytes not yet written */
    uint64_t                  published;
    uint64_t                  acked;
    uint64_t                  failed;
    uint64_t                  timeouts;
    uint64_t                  reconnects;
    size_t                    max_payload;  /* from INFO; 0 before it */
} ngx_em_nats_stats_t;


/* "event_mesh_nats URL ... [user=U] [password=P] [token=T]" */
char *ngx_em_nats_conf_servers(ngx_conf_t *cf, ngx_em_nats_conf_t *nc);
void ngx_em_nats_conf_init(ngx_em_nats_conf_t *nc);
char *ngx_em_nats_conf_merge(ngx_conf_t *cf, ngx_em_nats_conf_t *nc);

/*
 * TLS towards NATS (ngx_http_event_mesh_nats_tls.c): the directives'
 * checks, the SSL context, and each connection's handshake and checks.
 */
void ngx_em_nats_tls_conf_init(ngx_em_nats_conf_t *nc);
char *ngx_em_nats_tls_conf_merge(ngx_conf_t *cf, ngx_em_nats_conf_t *nc);

#if (NGX_SSL)

extern ngx_conf_bitmask_t  ngx_em_nats_tls_protocols[];

/* a file directive: refused at once when the file cannot be read */
char *ngx_em_nats_tls_conf_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_em_nats_tls_conf_password_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* SSL on the connected socket, with SNI unless name is an address */
ngx_int_t ngx_em_nats_tls_start(ngx_connection_t *c, ngx_em_nats_conf_t *nc,
    ngx_str_t *name);

/*
 * After the handshake: the certificate chain and the name, unless
 * verification is off.  NGX_ERROR has been logged at the given level.
 */
ngx_int_t ngx_em_nats_tls_check(ngx_connection_t *c, ngx_em_nats_conf_t *nc,
    ngx_str_t *name, ngx_uint_t level, ngx_log_t *log);

/* frees the connection's SSL without waiting for the peer */
void ngx_em_nats_tls_close(ngx_connection_t *c);

#endif

/* init_process / exit_process of the worker */
ngx_int_t ngx_em_nats_init_process(ngx_cycle_t *cycle,
    ngx_em_nats_conf_t *nc);
void ngx_em_nats_exit_process(ngx_cycle_t *cycle);

/*
 * Queues HPUB <subject> <inbox.N> with the given header block ("NATS/1.0
 * \r\n...\r\n\r\n") and payload; both are copied.  On NGX_OK the handler
 * is called exactly once, later, from the event loop (never from inside
 * this call), unless ngx_em_nats_cancel() is called first.
 *
 * While a connection attempt is under way and not every server has failed
 * since the last working connection, the publish is held and goes out
 * right after CONNECT; a held publish fails with NGX_EM_PUB_DISCONNECTED
 * when the attempt fails or its timeout comes first, never having been
 * sent.
 *
 * stream names the JetStream stream that should take the subject; it must
 * live as long as the configuration.  On NATS's "no responders" JetStream
 * is asked about it (STREAM.INFO) within the same timeout: NO_STREAM only
 * when it says the stream does not exist, NO_LEADER otherwise.  NULL: no
 * responders is NO_STREAM at once.
 *
 * NGX_DECLINED: not connected; NGX_BUSY: too many pending publishes or the
 * write buffer is over its mark; NGX_ABORT: the message is larger than the
 * server's max_payload, or the subject makes the HPUB line longer than the
 * 4096 bytes a server accepts; NGX_ERROR: out of memory, or a subject with
 * a blank or control byte.
 */
ngx_int_t ngx_em_nats_publish(ngx_str_t *subject, ngx_str_t *stream,
    ngx_str_t *headers, ngx_str_t *payload, ngx_msec_t timeout,
    ngx_em_pub_handler_pt handler, void *data, ngx_em_nats_pub_t **pub,
    ngx_log_t *log);

/* The caller goes away: the handler will not be called. */
void ngx_em_nats_cancel(ngx_em_nats_pub_t *pub);

void ngx_em_nats_get_stats(ngx_em_nats_stats_t *st);


#endif /* _NGX_HTTP_EVENT_MESH_NATS_H_INCLUDED_ */
