
/*
 * Copyright (C) nginx Event Mesh authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <jansson.h>

#include <eventmesh/nats_proto.h>

#include "ngx_http_event_mesh_nats.h"


#ifndef NGX_EM_NATS_VERSION
#define NGX_EM_NATS_VERSION          "0.1.0"
#endif

#define NGX_EM_NATS_DEFAULT_PORT     4222

/*
 * nats-server refuses client control lines longer than 4096 bytes
 * (max_control_line) and drops the connection; our own HPUB lines must
 * stay below it.  The server's own lines are the reader's business.
 */
#define NGX_EM_NATS_MAX_CLIENT_LINE  4096

#define NGX_EM_NATS_READ_SIZE        (16 * 1024)
#define NGX_EM_NATS_CHUNK_SIZE       (32 * 1024)
#define NGX_EM_NATS_SPARE_CHUNKS     4

#define NGX_EM_NATS_INBOX_RANDOM     22
#define NGX_EM_NATS_INBOX_LEN        (sizeof("_INBOX.") - 1                  \
                                      + NGX_EM_NATS_INBOX_RANDOM + 1)
#define NGX_EM_NATS_SID              "1"

/* JetStream's "stream not found" */
#define NGX_EM_NATS_JS_NO_STREAM     10059

#define NGX_EM_NATS_STREAM_INFO      "$JS.API.STREAM.INFO."

/*
 * A failure is an error, except that further attempts of an outage that
 * was already reported (every server failed) log at the info level.
 */
#define NGX_EM_NATS_ERR(st)                                                   \
    (((st)->state != NGX_EM_NATS_READY && (st)->failures >= (st)->naddrs)     \
     ? NGX_LOG_INFO : NGX_LOG_ERR)


typedef enum {
    NGX_EM_NATS_DISCONNECTED = 0,
    NGX_EM_NATS_CONNECTING,          /* TCP handshake in progress */
    NGX_EM_NATS_WAIT_INFO,
    NGX_EM_NATS_TLS_HANDSHAKE,       /* INFO asked for it, or we do */
    NGX_EM_NATS_WAIT_PONG,           /* CONNECT, SUB and PING are sent */
    NGX_EM_NATS_READY,
    NGX_EM_NATS_CLOSED               /* worker exiting: no reconnects */
} ngx_em_nats_state_e;


struct ngx_em_nats_pub_s {
    ngx_rbtree_node_t         node;       /* key: publish id */
    uint64_t                  id;
    ngx_event_t               timer;      /* ack timeout, not cancelable */
    ngx_em_pub_handler_pt     handler;
    void                     *data;
    ngx_em_nats_pub_t        *next;       /* free list */
    ngx_str_t                *stream;     /* asked about on no responders */

    /*
     * Held until the server has answered the handshake: the whole
     * operation, and its size.  It goes out right behind CONNECT, and the
     * copy stays until PONG, so that a handshake that fails does not lose
     * it: the next connection sends it again (the stream drops a copy it
     * already has, by Nats-Msg-Id).
     */
    u_char                   *held;
    size_t                    held_len;
    size_t                    held_size;  /* headers and payload */
    ngx_queue_t               queue;      /* in st->held, oldest first */

    unsigned                  active:1;
    unsigned                  probing:1;  /* waiting for STREAM.INFO */
    unsigned                  sent:1;     /* the held copy went out */
};


typedef struct {
    ngx_chain_t               cl;
    ngx_buf_t                 buf;
    /* NGX_EM_NATS_CHUNK_SIZE bytes of data follow */
} ngx_em_nats_chunk_t;


typedef struct {
    ngx_em_nats_conf_t       *conf;
    ngx_pool_t               *pool;       /* worker lifetime */
    ngx_log_t                 log;        /* cycle log + NATS context */

    ngx_peer_connection_t     peer;
    ngx_addr_t              **addrs;      /* every address of every server */
    ngx_str_t               **names;      /* the TLS name of each address */
    ngx_uint_t                cur_addr;
    ngx_uint_t                naddrs;
    ngx_uint_t                next_addr;
    ngx_uint_t                failures;   /* attempts since the last READY,
                                             slow ones not counted */
    ngx_uint_t                slow;       /* handshake timeouts since then */
    ngx_str_t                *server;     /* current or last address */

    ngx_em_nats_state_e       state;
    unsigned                  ever_ready:1;
    unsigned                  auth_required:1;
    unsigned                  timed_out:1;  /* the attempt ending was slow */

    ngx_msec_t                backoff;
    ngx_msec_t                ready_time;
    ngx_event_t               handshake_ev;
    ngx_event_t               ping_ev;
    ngx_event_t               reconnect_ev;
    ngx_uint_t                pings_out;

    size_t                    max_payload;

    u_char                   *rbuf;
    u_char                   *rpos;
    u_char                   *rlast;
    u_char                   *rend;
    em_nats_reader_t          reader;

    ngx_chain_t              *out;        /* unsent bytes, oldest first */
    ngx_chain_t              *out_tail;
    ngx_chain_t              *spare;
    ngx_uint_t                nspare;
    size_t                    buffered;

    ngx_queue_t               held;       /* publishes waiting for CONNECT */
    size_t                    held_bytes;

    u_char                    inbox[NGX_EM_NATS_INBOX_LEN];

    uint64_t                  next_id;
    ngx_rbtree_t              pending;
    ngx_rbtree_node_t         sentinel;
    ngx_uint_t                npending;
    ngx_em_nats_pub_t        *free_pubs;

    uint64_t                  published;
    uint64_t                  acked;
    uint64_t                  failed;
    uint64_t                  timeouts;
    uint64_t                  reconnects;

    unsigned                  no_leader:1;  /* reported, no ack since */
} ngx_em_nats_t;


static void ngx_em_nats_connect(ngx_em_nats_t *st);
static ngx_int_t ngx_em_nats_get_peer(ngx_peer_connection_t *pc, void *data);
static void ngx_em_nats_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state);
static ngx_int_t ngx_em_nats_test_connect(ngx_em_nats_t *st);
static void ngx_em_nats_close(ngx_em_nats_t *st, ngx_em_pub_status_e status);
static void ngx_em_nats_schedule_reconnect(ngx_em_nats_t *st);
static void ngx_em_nats_fail_pending(ngx_em_nats_t *st,
    ngx_em_pub_status_e status);

static void ngx_em_nats_reconnect_handler(ngx_event_t *ev);
static void ngx_em_nats_handshake_handler(ngx_event_t *ev);
static void ngx_em_nats_ping_handler(ngx_event_t *ev);
static void ngx_em_nats_ack_timeout_handler(ngx_event_t *ev);
static void ngx_em_nats_read_handler(ngx_event_t *rev);
static void ngx_em_nats_write_handler(ngx_event_t *wev);

static ngx_int_t ngx_em_nats_read_space(ngx_em_nats_t *st);
static ngx_int_t ngx_em_nats_parse(ngx_em_nats_t *st);
static ngx_int_t ngx_em_nats_process(ngx_em_nats_t *st, em_nats_frame_t *f);
static ngx_int_t ngx_em_nats_process_info(ngx_em_nats_t *st,
    em_nats_span_t *json);
static ngx_int_t ngx_em_nats_process_err(ngx_em_nats_t *st,
    em_nats_span_t *text);
static void ngx_em_nats_deliver(ngx_em_nats_t *st, em_nats_frame_t *f);
static void ngx_em_nats_pub_ack(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    em_nats_span_t *data);
static ngx_int_t ngx_em_nats_probe(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub);
static void ngx_em_nats_probe_answer(ngx_em_nats_t *st,
    ngx_em_nats_pub_t *pub, em_nats_span_t *data);
static void ngx_em_nats_no_leader(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    ngx_str_t *why);
static ngx_int_t ngx_em_nats_may_hold(ngx_em_nats_t *st);
static ngx_int_t ngx_em_nats_send_held(ngx_em_nats_t *st);
static void ngx_em_nats_release_held(ngx_em_nats_t *st);
static void ngx_em_nats_fail_held_over(ngx_em_nats_t *st, size_t max);
static void ngx_em_nats_ready(ngx_em_nats_t *st);
#if (NGX_SSL)
static void ngx_em_nats_tls_handshake(ngx_em_nats_t *st);
static void ngx_em_nats_tls_handshaked(ngx_connection_t *c);
#endif
static void ngx_em_nats_close_connection(ngx_connection_t *c);
static ngx_int_t ngx_em_nats_send_connect(ngx_em_nats_t *st,
    ngx_uint_t auth_required);

static ngx_int_t ngx_em_nats_reserve(ngx_em_nats_t *st, size_t len);
static void ngx_em_nats_append(ngx_em_nats_t *st, u_char *data, size_t len);
static void ngx_em_nats_post_write(ngx_em_nats_t *st);
static void ngx_em_nats_flush(ngx_em_nats_t *st);
static void ngx_em_nats_release_chunk(ngx_em_nats_t *st, ngx_chain_t *cl);
static void ngx_em_nats_drop_output(ngx_em_nats_t *st);

static ngx_em_nats_pub_t *ngx_em_nats_lookup(ngx_em_nats_t *st, uint64_t id);
static void ngx_em_nats_complete(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    ngx_em_pub_result_t *res);
static void ngx_em_nats_forget(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub);

static ngx_int_t ngx_em_nats_parse_uint64(u_char *p, size_t len,
    uint64_t *value);
static void ngx_em_nats_random(ngx_em_nats_t *st, u_char *buf, size_t n);
static u_char *ngx_em_nats_log_error(ngx_log_t *log, u_char *buf, size_t len);
static ngx_int_t ngx_em_nats_conf_credential(ngx_conf_t *cf, ngx_str_t *value,
    const char *name, ngx_str_t *field);


/* one client per worker process */
static ngx_em_nats_t  *ngx_em_nats;


/* configuration */


char *
ngx_em_nats_conf_servers(ngx_conf_t *cf, ngx_em_nats_conf_t *nc)
{
    u_char                *at;
    ngx_str_t             *value, s;
    ngx_url_t              u;
    ngx_uint_t             i;
    ngx_em_nats_server_t  *server;

    value = cf->args->elts;

    nc->servers = ngx_array_create(cf->pool, 2, sizeof(ngx_em_nats_server_t));
    if (nc->servers == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            if (ngx_em_nats_conf_credential(cf, &value[i], "user", &nc->user)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            if (ngx_em_nats_conf_credential(cf, &value[i], "password",
                                            &nc->password)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "token=", 6) == 0) {
            if (ngx_em_nats_conf_credential(cf, &value[i], "token",
                                            &nc->token)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        s = value[i];

        if (s.len >= 7 && ngx_strncasecmp(s.data, (u_char *) "nats://", 7)
                          == 0)
        {
            s.data += 7;
            s.len -= 7;

        } else if (s.len >= 6
                   && ngx_strncasecmp(s.data, (u_char *) "tls://", 6) == 0)
        {
            /* the NATS clients' way of asking for TLS */
            s.data += 6;
            s.len -= 6;

            if (nc->tls_url.data == NULL) {
                nc->tls_url = value[i];
            }

        } else if (ngx_strlcasestrn(s.data, s.data + s.len,
                                    (u_char *) "://", 3 - 1)
                   != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid NATS server \"%V\" in "
                               "\"event_mesh_nats\" directive: only "
                               "\"nats://\" and \"tls://\" URLs are "
                               "supported", &value[i]);
            return NGX_CONF_ERROR;
        }

        at = ngx_strlchr(s.data, s.data + s.len, '@');

        if (at != NULL) {
            /* the part before "@" may be a password: never echo it */
            s.len -= at + 1 - s.data;
            s.data = at + 1;

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid NATS server \"...@%V\" in "
                               "\"event_mesh_nats\" directive: credentials "
                               "in the URL are not supported, use the "
                               "\"user=\" and \"password=\" or \"token=\" "
                               "parameters", &s);
            return NGX_CONF_ERROR;
        }

        if (s.len >= 5 && ngx_strncasecmp(s.data, (u_char *) "unix:", 5)
                          == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid NATS server \"%V\" in "
                               "\"event_mesh_nats\" directive: NATS does not "
                               "listen on UNIX-domain sockets", &value[i]);
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = s;
        u.default_port = NGX_EM_NATS_DEFAULT_PORT;

        if (s.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid NATS server \"%V\" in "
                               "\"event_mesh_nats\" directive: %s",
                               &value[i], u.err ? u.err : "empty host");
            return NGX_CONF_ERROR;
        }

        if (u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid NATS server \"%V\" in "
                               "\"event_mesh_nats\" directive: host has no "
                               "address", &value[i]);
            return NGX_CONF_ERROR;
        }

        server = ngx_array_push(nc->servers);
        if (server == NULL) {
            return NGX_CONF_ERROR;
        }

        server->url = u;

        /* what its certificate must name: "[::1]" holds "::1" */

        s = u.host;

        if (s.len > 2 && s.data[0] == '[' && s.data[s.len - 1] == ']') {
            s.data++;
            s.len -= 2;
        }

        server->host.data = ngx_pnalloc(cf->pool, s.len + 1);
        if (server->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(server->host.data, s.data, s.len);
        server->host.data[s.len] = '\0';
        server->host.len = s.len;
    }

    if (nc->servers->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no NATS server in \"event_mesh_nats\" directive");
        return NGX_CONF_ERROR;
    }

    if (nc->password.data != NULL && nc->user.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"password=\" needs \"user=\" in "
                           "\"event_mesh_nats\" directive");
        return NGX_CONF_ERROR;
    }

    if (nc->user.data != NULL && nc->password.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"user=\" needs \"password=\" in "
                           "\"event_mesh_nats\" directive");
        return NGX_CONF_ERROR;
    }

    if (nc->token.data != NULL && nc->user.data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"token=\" and \"user=\" exclude each other in "
                           "\"event_mesh_nats\" directive");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_em_nats_conf_credential(ngx_conf_t *cf, ngx_str_t *value,
    const char *name, ngx_str_t *field)
{
    size_t   skip;
    json_t  *check;

    skip = ngx_strlen(name) + 1;

    if (field->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate \"%s=\" parameter in "
                           "\"event_mesh_nats\" directive", name);
        return NGX_ERROR;
    }

    if (value->len == skip) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty \"%s=\" parameter in "
                           "\"event_mesh_nats\" directive", name);
        return NGX_ERROR;
    }

    /* CONNECT carries it as a JSON string, which must be UTF-8 */

    check = json_stringn((const char *) value->data + skip, value->len - skip);
    if (check == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s=\" parameter of \"event_mesh_nats\" "
                           "directive is not valid UTF-8", name);
        return NGX_ERROR;
    }

    json_decref(check);

    field->data = value->data + skip;
    field->len = value->len - skip;

    return NGX_OK;
}


void
ngx_em_nats_conf_init(ngx_em_nats_conf_t *nc)
{
    /* "event_mesh_nats" is unset while servers is NULL */
    nc->servers = NULL;

    ngx_str_null(&nc->user);
    ngx_str_null(&nc->password);
    ngx_str_null(&nc->token);
    ngx_str_null(&nc->name);

    nc->connect_timeout = NGX_CONF_UNSET_MSEC;
    nc->reconnect_wait = NGX_CONF_UNSET_MSEC;
    nc->reconnect_max_wait = NGX_CONF_UNSET_MSEC;
    nc->ping_interval = NGX_CONF_UNSET_MSEC;
    nc->max_pings_out = NGX_CONF_UNSET_UINT;
    nc->buffer_size = NGX_CONF_UNSET_SIZE;
    nc->max_pending = NGX_CONF_UNSET_UINT;

    ngx_em_nats_tls_conf_init(nc);
}


char *
ngx_em_nats_conf_merge(ngx_conf_t *cf, ngx_em_nats_conf_t *nc)
{
    ngx_conf_init_msec_value(nc->connect_timeout, 2000);
    ngx_conf_init_msec_value(nc->reconnect_wait, 100);
    ngx_conf_init_msec_value(nc->reconnect_max_wait, 5000);
    ngx_conf_init_msec_value(nc->ping_interval, 30000);
    ngx_conf_init_uint_value(nc->max_pings_out, 2);
    ngx_conf_init_size_value(nc->buffer_size, 8 * 1024 * 1024);
    ngx_conf_init_uint_value(nc->max_pending, 10000);

    if (nc->name.data == NULL) {
        ngx_str_set(&nc->name, "nginx-event-mesh");
    }

    if (nc->connect_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_nats_connect_timeout\" must not be "
                           "zero");
        return NGX_CONF_ERROR;
    }

    /* a zero wait would reconnect in a busy loop while NATS is down */

    if (nc->reconnect_wait == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_nats_reconnect_wait\" must not be "
                           "zero");
        return NGX_CONF_ERROR;
    }

    if (nc->reconnect_max_wait < nc->reconnect_wait) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_nats_reconnect_max_wait\" (%M ms) "
                           "must not be less than "
                           "\"event_mesh_nats_reconnect_wait\" (%M ms)",
                           nc->reconnect_max_wait, nc->reconnect_wait);
        return NGX_CONF_ERROR;
    }

    if (nc->ping_interval == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_nats_ping_interval\" must not be "
                           "zero");
        return NGX_CONF_ERROR;
    }

    if (nc->max_pings_out == 0) {
        nc->max_pings_out = 1;
    }

    if (nc->buffer_size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_nats_buffer_size\" must not be "
                           "zero");
        return NGX_CONF_ERROR;
    }

    if (nc->max_pending == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"event_mesh_max_inflight\" must not be zero");
        return NGX_CONF_ERROR;
    }

    return ngx_em_nats_tls_conf_merge(cf, nc);
}


/* worker life cycle */


ngx_int_t
ngx_em_nats_init_process(ngx_cycle_t *cycle, ngx_em_nats_conf_t *nc)
{
    u_char                *p;
    ngx_uint_t             i, j, n;
    ngx_em_nats_t         *st;
    ngx_em_nats_server_t  *server;

    if (nc == NULL || nc->servers == NULL || nc->servers->nelts == 0) {
        return NGX_OK;
    }

    /* the cache manager and loader run init_process too */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    st = ngx_pcalloc(cycle->pool, sizeof(ngx_em_nats_t));
    if (st == NULL) {
        return NGX_ERROR;
    }

    st->conf = nc;
    st->pool = cycle->pool;

    st->log = *cycle->log;
    st->log.handler = ngx_em_nats_log_error;
    st->log.data = st;
    st->log.action = NULL;

    server = nc->servers->elts;

    n = 0;
    for (i = 0; i < nc->servers->nelts; i++) {
        n += server[i].url.naddrs;
    }

    st->addrs = ngx_palloc(cycle->pool, n * sizeof(ngx_addr_t *));
    if (st->addrs == NULL) {
        return NGX_ERROR;
    }

    st->names = ngx_palloc(cycle->pool, n * sizeof(ngx_str_t *));
    if (st->names == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < nc->servers->nelts; i++) {
        for (j = 0; j < server[i].url.naddrs; j++) {
            st->names[st->naddrs] = nc->tls_name.data ? &nc->tls_name
                                                      : &server[i].host;
            st->addrs[st->naddrs++] = &server[i].url.addrs[j];
        }
    }

    /* workers start on different servers to spread the load */
    st->next_addr = ngx_worker % st->naddrs;

    st->rbuf = ngx_alloc(NGX_EM_NATS_READ_SIZE, cycle->log);
    if (st->rbuf == NULL) {
        return NGX_ERROR;
    }

    st->rpos = st->rbuf;
    st->rlast = st->rbuf;
    st->rend = st->rbuf + NGX_EM_NATS_READ_SIZE;

    em_nats_reader_init(&st->reader);

    ngx_rbtree_init(&st->pending, &st->sentinel, ngx_rbtree_insert_value);
    st->next_id = 1;

    ngx_queue_init(&st->held);

    /*
     * The inbox must be unique across every worker of every nginx talking
     * to the same NATS, or acks would reach the wrong process.
     */

    p = ngx_cpymem(st->inbox, "_INBOX.", sizeof("_INBOX.") - 1);
    ngx_em_nats_random(st, p, NGX_EM_NATS_INBOX_RANDOM);
    p[NGX_EM_NATS_INBOX_RANDOM] = '.';

    /*
     * Timers that only keep the connection alive are cancelable, so a
     * graceful shutdown does not wait for them; ack timers are not.
     */

    st->reconnect_ev.handler = ngx_em_nats_reconnect_handler;
    st->reconnect_ev.data = st;
    st->reconnect_ev.log = &st->log;
    st->reconnect_ev.cancelable = 1;

    st->handshake_ev.handler = ngx_em_nats_handshake_handler;
    st->handshake_ev.data = st;
    st->handshake_ev.log = &st->log;
    st->handshake_ev.cancelable = 1;

    st->ping_ev.handler = ngx_em_nats_ping_handler;
    st->ping_ev.data = st;
    st->ping_ev.log = &st->log;
    st->ping_ev.cancelable = 1;

    st->backoff = nc->reconnect_wait;
    st->state = NGX_EM_NATS_DISCONNECTED;

    ngx_em_nats = st;

    ngx_em_nats_connect(st);

    return NGX_OK;
}


void
ngx_em_nats_exit_process(ngx_cycle_t *cycle)
{
    ngx_chain_t        *cl;
    ngx_em_nats_t      *st;
    ngx_em_nats_pub_t  *pub;

    st = ngx_em_nats;

    if (st == NULL) {
        return;
    }

    /*
     * Requests still waiting are not answered: the process is going away
     * and so are they.  Closing the socket here keeps nginx from reporting
     * it as left open.
     */

    st->state = NGX_EM_NATS_CLOSED;

    if (st->peer.connection) {
        ngx_em_nats_close_connection(st->peer.connection);
        st->peer.connection = NULL;
    }

    ngx_em_nats_drop_output(st);

    while (!ngx_queue_empty(&st->held)) {
        pub = ngx_queue_data(ngx_queue_head(&st->held), ngx_em_nats_pub_t,
                             queue);
        ngx_queue_remove(&pub->queue);
        ngx_free(pub->held);
        pub->held = NULL;
    }

    st->held_bytes = 0;

    while (st->spare) {
        cl = st->spare;
        st->spare = cl->next;
        ngx_free(cl);
    }

    st->nspare = 0;

    ngx_free(st->rbuf);
    st->rbuf = NULL;

    ngx_em_nats = NULL;
}


/* connection management */


static void
ngx_em_nats_connect(ngx_em_nats_t *st)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    ngx_memzero(&st->peer, sizeof(ngx_peer_connection_t));

    st->peer.get = ngx_em_nats_get_peer;
    st->peer.free = ngx_em_nats_free_peer;
    st->peer.data = st;
    st->peer.tries = 1;
    st->peer.log = &st->log;

    /*
     * Once every server has failed and that was reported, further failures
     * of the same outage go to the info level: an outage must not flood the
     * log with a line per attempt and worker.
     */

    st->peer.log_error = (st->failures >= st->naddrs) ? NGX_ERROR_INFO
                                                      : NGX_ERROR_ERR;

    st->state = NGX_EM_NATS_CONNECTING;
    st->log.action = "connecting to NATS";

    rc = ngx_event_connect_peer(&st->peer);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &st->log, 0,
                   "nats connect: %i", rc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        /* ngx_event_connect_peer() has logged why and closed the socket */
        st->peer.connection = NULL;
        st->peer.free(&st->peer, st->peer.data, NGX_PEER_FAILED);
        st->state = NGX_EM_NATS_DISCONNECTED;
        ngx_em_nats_schedule_reconnect(st);

        /*
         * A connect() that fails at once (no route, no local port or
         * descriptor left) never reaches ngx_em_nats_close(): publishes
         * held between attempts end here if that was the last server.
         */

        if (!ngx_em_nats_may_hold(st)) {
            ngx_em_nats_fail_pending(st, NGX_EM_PUB_DISCONNECTED);
        }
        return;
    }

    c = st->peer.connection;

    c->data = st;
    c->read->handler = ngx_em_nats_read_handler;
    c->write->handler = ngx_em_nats_write_handler;

    ngx_add_timer(&st->handshake_ev, st->conf->connect_timeout);

    if (rc == NGX_OK) {
        (void) ngx_em_nats_test_connect(st);
    }

    /* NGX_AGAIN: the write event reports the outcome */
}


static ngx_int_t
ngx_em_nats_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_em_nats_t  *st = data;

    ngx_addr_t  *addr;

    st->cur_addr = st->next_addr;
    addr = st->addrs[st->next_addr];
    st->next_addr = (st->next_addr + 1) % st->naddrs;

    pc->sockaddr = addr->sockaddr;
    pc->socklen = addr->socklen;
    pc->name = &addr->name;

    st->server = &addr->name;

    return NGX_OK;
}


static void
ngx_em_nats_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_em_nats_t  *st = data;

    char  *action;

    if (!(state & NGX_PEER_FAILED)) {
        return;
    }

    if (st->timed_out) {
        /* a slow server is no unreachable one: see the handshake handler */
        st->timed_out = 0;
        return;
    }

    st->failures++;

    if (st->failures == st->naddrs) {
        action = st->log.action;
        st->log.action = NULL;

        ngx_log_error(NGX_LOG_ERR, &st->log, 0,
                      "no NATS server is reachable (%ui tried), publishing "
                      "answers 503 until one is; retrying with backoff",
                      st->naddrs);

        st->log.action = action;
    }
}


static ngx_int_t
ngx_em_nats_test_connect(ngx_em_nats_t *st)
{
    int                err;
    socklen_t          len;
    ngx_connection_t  *c;

    c = st->peer.connection;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return NGX_ERROR;
    }

    /* PINGs and small HPUBs must not wait for Nagle's delayed ACK */
    (void) ngx_tcp_nodelay(c);

    st->state = NGX_EM_NATS_WAIT_INFO;
    st->log.action = "waiting for INFO from NATS";

    return NGX_OK;
}


/*
 * The one place a connection ends: every pending publish fails with the
 * given status, and unless the worker is exiting a reconnect is scheduled.
 */

static void
ngx_em_nats_close(ngx_em_nats_t *st, ngx_em_pub_status_e status)
{
    ngx_uint_t          was_ready;
    ngx_queue_t        *q;
    ngx_em_nats_pub_t  *pub;

    was_ready = (st->state == NGX_EM_NATS_READY);

    if (st->peer.connection) {
        if (!was_ready) {
            st->peer.free(&st->peer, st->peer.data, NGX_PEER_FAILED);
        }

        ngx_em_nats_close_connection(st->peer.connection);
        st->peer.connection = NULL;
    }

    if (st->handshake_ev.timer_set) {
        ngx_del_timer(&st->handshake_ev);
    }

    if (st->ping_ev.timer_set) {
        ngx_del_timer(&st->ping_ev);
    }

    ngx_em_nats_drop_output(st);

    if (st->rend - st->rbuf > NGX_EM_NATS_READ_SIZE) {
        /* a large message grew the buffer; do not keep it while idle */
        ngx_free(st->rbuf);

        st->rbuf = ngx_alloc(NGX_EM_NATS_READ_SIZE, &st->log);
        st->rend = st->rbuf ? st->rbuf + NGX_EM_NATS_READ_SIZE : NULL;
    }

    st->rpos = st->rbuf;
    st->rlast = st->rbuf;
    em_nats_reader_reset(&st->reader);
    st->pings_out = 0;
    st->log.action = NULL;

    if (status == NGX_EM_PUB_SHUTDOWN) {
        st->state = NGX_EM_NATS_CLOSED;

        if (st->reconnect_ev.timer_set) {
            ngx_del_timer(&st->reconnect_ev);
        }

    } else {
        st->state = NGX_EM_NATS_DISCONNECTED;

        if (was_ready) {
            ngx_log_error(NGX_LOG_NOTICE, &st->log, 0,
                          "disconnected from NATS, %ui publish(es) awaiting "
                          "an ack failed", st->npending);

            /*
             * A server that accepts us and then drops us at once must not
             * be hammered: only a connection that lasted restarts the
             * backoff.
             */

            if (ngx_current_msec - st->ready_time
                >= st->conf->reconnect_max_wait)
            {
                st->backoff = st->conf->reconnect_wait;

            } else {
                st->backoff = ngx_min(st->backoff * 2,
                                      st->conf->reconnect_max_wait);
            }
        }

        ngx_em_nats_schedule_reconnect(st);
    }

    /*
     * Before READY every publish is held: never sent, or sent behind a
     * CONNECT that got no answer.  They wait for the next attempt as long
     * as publishes may be held at all.
     */

    if (was_ready || !ngx_em_nats_may_hold(st)) {
        ngx_em_nats_fail_pending(st, status);
        return;
    }

    /* they go out again behind the next CONNECT */

    for (q = ngx_queue_head(&st->held);
         q != ngx_queue_sentinel(&st->held);
         q = ngx_queue_next(q))
    {
        pub = ngx_queue_data(q, ngx_em_nats_pub_t, queue);
        pub->sent = 0;
    }
}


static void
ngx_em_nats_close_connection(ngx_connection_t *c)
{
    ngx_pool_t  *pool;

    /* only TLS gives the connection a pool */
    pool = c->pool;

#if (NGX_SSL)
    if (c->ssl) {
        ngx_em_nats_tls_close(c);
    }
#endif

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_em_nats_schedule_reconnect(ngx_em_nats_t *st)
{
    ngx_msec_t  delay;

    if (st->state != NGX_EM_NATS_DISCONNECTED
        || st->reconnect_ev.timer_set)
    {
        return;
    }

    if (st->rbuf == NULL) {
        /* out of memory; ngx_alloc() logged it, the next try may succeed */
        st->rbuf = ngx_alloc(NGX_EM_NATS_READ_SIZE, &st->log);
        if (st->rbuf != NULL) {
            st->rpos = st->rbuf;
            st->rlast = st->rbuf;
            st->rend = st->rbuf + NGX_EM_NATS_READ_SIZE;
        }
    }

    /*
     * Jitter keeps the workers of every nginx from reconnecting in step
     * when a server comes back.
     */

    delay = st->backoff / 2
            + (ngx_msec_t) ngx_random() % (st->backoff / 2 + 1);

    /* wait longer only once every server has had its turn */

    if (st->failures && st->failures % st->naddrs == 0) {
        st->backoff = ngx_min(st->backoff * 2, st->conf->reconnect_max_wait);
    }

    ngx_log_error(NGX_LOG_INFO, &st->log, 0,
                  "next NATS connection attempt in %M ms", delay);

    ngx_add_timer(&st->reconnect_ev, delay);
}


static void
ngx_em_nats_fail_pending(ngx_em_nats_t *st, ngx_em_pub_status_e status)
{
    ngx_em_nats_pub_t    *pub;
    ngx_rbtree_node_t    *node;
    ngx_em_pub_result_t   res;

    /*
     * A handler may cancel other publishes (a batch gives up on its
     * siblings), so the tree is re-read after each call.
     */

    while (st->pending.root != st->pending.sentinel) {
        node = ngx_rbtree_min(st->pending.root, st->pending.sentinel);
        pub = ngx_rbtree_data(node, ngx_em_nats_pub_t, node);

        ngx_memzero(&res, sizeof(ngx_em_pub_result_t));
        res.status = status;

        if (status == NGX_EM_PUB_SHUTDOWN) {
            ngx_str_set(&res.description, "the worker is shutting down");

        } else {
            ngx_str_set(&res.description, "lost the connection to NATS");
        }

        ngx_em_nats_complete(st, pub, &res);
    }
}


static void
ngx_em_nats_reconnect_handler(ngx_event_t *ev)
{
    ngx_em_nats_t  *st = ev->data;

    if (st->state != NGX_EM_NATS_DISCONNECTED) {
        return;
    }

    if (st->rbuf == NULL) {
        ngx_em_nats_schedule_reconnect(st);
        return;
    }

    ngx_em_nats_connect(st);
}


static void
ngx_em_nats_handshake_handler(ngx_event_t *ev)
{
    ngx_em_nats_t  *st = ev->data;

    ngx_uint_t  level;

    /*
     * A server that took the connection and did not answer in time is
     * there but slow (or this worker was not given the CPU, as under load
     * right after a reload).  That is not an outage: the attempt does not
     * count towards "every server failed", and publishes keep waiting,
     * each up to its ack timeout, while the next one is made.  A TCP
     * handshake that never completed is an unreachable server.
     */

    if (st->state > NGX_EM_NATS_CONNECTING) {
        st->slow++;
        st->timed_out = 1;
        level = (st->slow > 1) ? NGX_LOG_INFO : NGX_EM_NATS_ERR(st);

    } else {
        level = NGX_EM_NATS_ERR(st);
    }

    ngx_log_error(level, &st->log, NGX_ETIMEDOUT,
                  "NATS server did not complete the handshake within %M ms",
                  st->conf->connect_timeout);

    ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
}


static void
ngx_em_nats_ping_handler(ngx_event_t *ev)
{
    ngx_em_nats_t  *st = ev->data;

    if (st->state != NGX_EM_NATS_READY) {
        return;
    }

    if (st->pings_out >= st->conf->max_pings_out) {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS connection is stale: %ui PINGs unanswered",
                      st->pings_out);
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return;
    }

    if (ngx_em_nats_reserve(st, sizeof("PING" CRLF) - 1) == NGX_OK) {
        ngx_em_nats_append(st, (u_char *) "PING" CRLF,
                           sizeof("PING" CRLF) - 1);
        ngx_em_nats_post_write(st);
        st->pings_out++;
    }

    ngx_add_timer(&st->ping_ev, st->conf->ping_interval);
}


/* reading */


static void
ngx_em_nats_read_handler(ngx_event_t *rev)
{
    ssize_t            n;
    ngx_em_nats_t     *st;
    ngx_connection_t  *c;

    c = rev->data;
    st = c->data;

    if (c->close) {
        /* worker_shutdown_timeout expired with publishes still pending */
        ngx_log_error(NGX_LOG_INFO, &st->log, 0,
                      "closing NATS connection on worker shutdown, "
                      "%ui publish(es) awaiting an ack failed",
                      st->npending);
        ngx_em_nats_close(st, NGX_EM_PUB_SHUTDOWN);
        return;
    }

    if (st->state == NGX_EM_NATS_CONNECTING
        && ngx_em_nats_test_connect(st) != NGX_OK)
    {
        return;
    }

    while (rev->ready) {

        if (ngx_em_nats_read_space(st) != NGX_OK) {
            ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
            return;
        }

        n = c->recv(c, st->rlast, st->rend - st->rlast);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0) {
            ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                          "NATS server closed the connection");
            ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
            return;
        }

        if (n == NGX_ERROR) {
            /* c->recv() has logged it */
            ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
            return;
        }

        st->rlast += n;

        if (ngx_em_nats_parse(st) != NGX_OK) {
            ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
            return;
        }

#if (NGX_SSL)
        if (st->state == NGX_EM_NATS_TLS_HANDSHAKE) {
            /* the socket is TLS's from here on: read no clear text */
            ngx_em_nats_tls_handshake(st);
            return;
        }
#endif
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
    }
}


static ngx_int_t
ngx_em_nats_read_space(ngx_em_nats_t *st)
{
    u_char  *p;
    size_t   used, size, max;

    if (st->rpos == st->rlast) {
        st->rpos = st->rbuf;
        st->rlast = st->rbuf;
    }

    if (st->rlast < st->rend) {
        return NGX_OK;
    }

    used = st->rlast - st->rpos;

    if (st->rpos > st->rbuf) {
        ngx_memmove(st->rbuf, st->rpos, used);
        st->rpos = st->rbuf;
        st->rlast = st->rbuf + used;
        return NGX_OK;
    }

    /* one operation fills the buffer: grow it up to the largest legal one */

    size = st->rend - st->rbuf;
    max = em_nats_reader_max_op(&st->reader);

    if (size >= max) {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS protocol error: an operation exceeds %uz bytes",
                      max);
        return NGX_ERROR;
    }

    size = ngx_min(size * 2, max);

    p = ngx_alloc(size, &st->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, st->rpos, used);
    ngx_free(st->rbuf);

    st->rbuf = p;
    st->rpos = p;
    st->rlast = p + used;
    st->rend = p + size;

    return NGX_OK;
}


/*
 * Consumes every complete operation in the buffer; a partial one stays
 * for the next read.  The reader remembers how far it has searched for
 * the end of the line, so a line arriving byte by byte costs O(n).
 */

static ngx_int_t
ngx_em_nats_parse(ngx_em_nats_t *st)
{
    size_t            used;
    ngx_int_t         rc;
    em_nats_rc_t      n;
    em_nats_frame_t   f;

    for ( ;; ) {

        if (st->state == NGX_EM_NATS_DISCONNECTED
            || st->state == NGX_EM_NATS_CLOSED)
        {
            return NGX_ERROR;
        }

        n = em_nats_read(&st->reader, (const char *) st->rpos,
                         st->rlast - st->rpos, &f, &used);

        if (n == EM_NATS_AGAIN) {
            return NGX_OK;
        }

        if (n == EM_NATS_EPROTO) {
            ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                          "NATS protocol error: %s", st->reader.error);
            return NGX_ERROR;
        }

        st->rpos += used;

        rc = ngx_em_nats_process(st, &f);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        if (st->state == NGX_EM_NATS_TLS_HANDSHAKE) {

            /* clear text after INFO would be taken for TLS records */

            if (st->rpos != st->rlast) {
                ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                              "NATS protocol error: %uz bytes after INFO "
                              "before the TLS handshake",
                              (size_t) (st->rlast - st->rpos));
                return NGX_ERROR;
            }

            return NGX_OK;
        }
    }
}


static ngx_int_t
ngx_em_nats_process(ngx_em_nats_t *st, em_nats_frame_t *f)
{
    switch (f->op) {

    case EM_NATS_OP_MSG:

        if (f->sid.len != sizeof(NGX_EM_NATS_SID) - 1
            || ngx_strncmp(f->sid.data, NGX_EM_NATS_SID,
                           sizeof(NGX_EM_NATS_SID) - 1)
               != 0)
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &st->log, 0,
                           "nats: message for unknown sid \"%*s\" ignored",
                           f->sid.len, f->sid.data);
            return NGX_OK;
        }

        ngx_em_nats_deliver(st, f);

        return NGX_OK;

    case EM_NATS_OP_PING:

        if (ngx_em_nats_reserve(st, sizeof("PONG" CRLF) - 1) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_em_nats_append(st, (u_char *) "PONG" CRLF,
                           sizeof("PONG" CRLF) - 1);
        ngx_em_nats_post_write(st);

        return NGX_OK;

    case EM_NATS_OP_PONG:

        if (st->state == NGX_EM_NATS_WAIT_PONG) {
            /* the server has accepted CONNECT and SUB */
            ngx_em_nats_ready(st);

        } else if (st->pings_out) {
            st->pings_out--;
        }

        return NGX_OK;

    case EM_NATS_OP_OK:
        return NGX_OK;

    case EM_NATS_OP_ERR:
        return ngx_em_nats_process_err(st, &f->text);

    default: /* EM_NATS_OP_INFO */
        return ngx_em_nats_process_info(st, &f->text);
    }
}


static ngx_int_t
ngx_em_nats_process_info(ngx_em_nats_t *st, em_nats_span_t *json)
{
    em_nats_info_t  info;
    char            err[EM_NATS_ERROR_SIZE];

    if (em_nats_info_parse(json->data, json->len, &info, err, sizeof(err))
        != EM_OK)
    {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS protocol error: %s", err);
        return NGX_ERROR;
    }

    if (info.max_payload) {
        st->max_payload = info.max_payload;

    } else if (st->max_payload == 0) {
        st->max_payload = EM_NATS_DEFAULT_PAYLOAD;
    }

    st->reader.max_payload = st->max_payload;

    if (st->state == NGX_EM_NATS_WAIT_INFO) {
        ngx_em_nats_fail_held_over(st, st->max_payload);
    }

    if (st->state != NGX_EM_NATS_WAIT_INFO) {
        /* an update: cluster membership, or lame duck mode */

        if (info.ldm) {
            ngx_log_error(NGX_LOG_NOTICE, &st->log, 0,
                          "NATS server is entering lame duck mode");
        }

        return NGX_OK;
    }

    if (info.tls_required && !st->conf->tls) {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS server requires TLS: turn it on with "
                      "\"event_mesh_nats_tls on\" or a tls:// URL");
        return NGX_ERROR;
    }

    /* credentials never go out in clear text when TLS was asked for */

    if (st->conf->tls && !info.tls_required && !info.tls_available) {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS server does not offer TLS, but "
                      "\"event_mesh_nats_tls\" is on");
        return NGX_ERROR;
    }

    if (!info.headers) {
        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "NATS server %s does not support message headers; "
                      "nats-server 2.2 or newer with JetStream is needed",
                      info.version[0] ? info.version : "(unknown version)");
        return NGX_ERROR;
    }

    if (st->conf->tls) {
        st->auth_required = info.auth_required ? 1 : 0;
        st->state = NGX_EM_NATS_TLS_HANDSHAKE;
        return NGX_OK;
    }

    return ngx_em_nats_send_connect(st, info.auth_required);
}


#if (NGX_SSL)

static void
ngx_em_nats_tls_handshake(ngx_em_nats_t *st)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    c = st->peer.connection;

    st->log.action = "TLS handshaking with NATS";

    if (ngx_em_nats_tls_start(c, st->conf, st->names[st->cur_addr])
        != NGX_OK)
    {
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_em_nats_tls_handshaked;
        return;
    }

    ngx_em_nats_tls_handshaked(c);
}


static void
ngx_em_nats_tls_handshaked(ngx_connection_t *c)
{
    ngx_em_nats_t  *st = c->data;

    if (!c->ssl->handshaked) {
        /* ngx_ssl_handshake() has logged why */
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return;
    }

    if (ngx_em_nats_tls_check(c, st->conf, st->names[st->cur_addr],
                              NGX_EM_NATS_ERR(st), &st->log)
        != NGX_OK)
    {
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return;
    }

    c->read->handler = ngx_em_nats_read_handler;
    c->write->handler = ngx_em_nats_write_handler;

    if (ngx_em_nats_send_connect(st, st->auth_required) != NGX_OK) {
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
        return;
    }

    /* records that came with the handshake may wait in OpenSSL's buffer */
    ngx_post_event(c->read, &ngx_posted_events);
}

#endif


static ngx_int_t
ngx_em_nats_send_connect(ngx_em_nats_t *st, ngx_uint_t auth_required)
{
    char                *dump;
    size_t               len;
    json_t              *connect;
    ngx_em_nats_conf_t  *nc;

    nc = st->conf;

    if (auth_required && nc->user.data == NULL && nc->token.data == NULL) {
        ngx_log_error(NGX_LOG_WARN, &st->log, 0,
                      "NATS server requires authentication, but "
                      "\"event_mesh_nats\" has no \"user=\" or \"token=\"");
    }

    connect = json_object();
    if (connect == NULL) {
        return NGX_ERROR;
    }

    if (json_object_set_new(connect, "verbose", json_false()) != 0
        || json_object_set_new(connect, "tls_required",
                               nc->tls ? json_true() : json_false())
           != 0
        || json_object_set_new(connect, "pedantic", json_false()) != 0
        || json_object_set_new(connect, "headers", json_true()) != 0
        || json_object_set_new(connect, "no_responders", json_true()) != 0
        || json_object_set_new(connect, "lang", json_string("c-nginx")) != 0
        || json_object_set_new(connect, "version",
                               json_string(NGX_EM_NATS_VERSION))
           != 0
        || json_object_set_new(connect, "protocol", json_integer(1)) != 0
        || json_object_set_new(connect, "name",
                               json_stringn((const char *) nc->name.data,
                                            nc->name.len))
           != 0)
    {
        goto failed;
    }

    if (nc->user.data != NULL
        && (json_object_set_new(connect, "user",
                                json_stringn((const char *) nc->user.data,
                                             nc->user.len))
            != 0
            || json_object_set_new(connect, "pass",
                                   json_stringn((const char *)
                                                nc->password.data,
                                                nc->password.len))
               != 0))
    {
        goto failed;
    }

    if (nc->token.data != NULL
        && json_object_set_new(connect, "auth_token",
                               json_stringn((const char *) nc->token.data,
                                            nc->token.len))
           != 0)
    {
        goto failed;
    }

    dump = json_dumps(connect, JSON_COMPACT);
    json_decref(connect);

    if (dump == NULL) {
        ngx_log_error(NGX_LOG_CRIT, &st->log, 0,
                      "could not build the NATS CONNECT line");
        return NGX_ERROR;
    }

    len = ngx_strlen(dump);

    /*
     * The wildcard subscription for every PubAck of this worker goes in
     * the same write; the PONG to our PING then proves the server has
     * accepted both.
     */

    if (ngx_em_nats_reserve(st, sizeof("CONNECT " CRLF) - 1 + len
                                + sizeof("SUB " "* " NGX_EM_NATS_SID CRLF) - 1
                                + NGX_EM_NATS_INBOX_LEN
                                + sizeof("PING" CRLF) - 1)
        != NGX_OK)
    {
        ngx_memzero(dump, len);
        free(dump);
        return NGX_ERROR;
    }

    ngx_em_nats_append(st, (u_char *) "CONNECT ", sizeof("CONNECT ") - 1);
    ngx_em_nats_append(st, (u_char *) dump, len);
    ngx_em_nats_append(st, (u_char *) CRLF "SUB ", sizeof(CRLF "SUB ") - 1);
    ngx_em_nats_append(st, st->inbox, NGX_EM_NATS_INBOX_LEN);
    ngx_em_nats_append(st, (u_char *) "* " NGX_EM_NATS_SID CRLF "PING" CRLF,
                       sizeof("* " NGX_EM_NATS_SID CRLF "PING" CRLF) - 1);

    /* the line holds the password: do not leave it in freed memory */
    ngx_memzero(dump, len);
    free(dump);

    st->state = NGX_EM_NATS_WAIT_PONG;
    st->log.action = "logging in to NATS";

    /*
     * CONNECT must be the first thing the server reads; the publishes
     * that arrived during the handshake follow it and the SUB of the
     * inbox, in order, in the same write.
     */

    if (ngx_em_nats_send_held(st) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_em_nats_post_write(st);

    return NGX_OK;

failed:

    json_decref(connect);

    ngx_log_error(NGX_LOG_CRIT, &st->log, 0,
                  "could not build the NATS CONNECT line");

    return NGX_ERROR;
}


static void
ngx_em_nats_ready(ngx_em_nats_t *st)
{
    if (st->handshake_ev.timer_set) {
        ngx_del_timer(&st->handshake_ev);
    }

    ngx_em_nats_release_held(st);

    st->state = NGX_EM_NATS_READY;
    st->log.action = NULL;
    st->pings_out = 0;
    st->failures = 0;
    st->slow = 0;
    st->ready_time = ngx_current_msec;

    if (st->ever_ready) {
        st->reconnects++;
        ngx_log_error(NGX_LOG_NOTICE, &st->log, 0, "reconnected to NATS");

    } else {
        ngx_log_error(NGX_LOG_NOTICE, &st->log, 0,
                      "connected to NATS, max_payload %uz", st->max_payload);
    }

    st->ever_ready = 1;

    ngx_add_timer(&st->ping_ev, st->conf->ping_interval);
}


static ngx_int_t
ngx_em_nats_process_err(ngx_em_nats_t *st, em_nats_span_t *text)
{
    char  buf[EM_NATS_QUOTE_MAX + 4];

    /*
     * The server keeps the connection after a permissions violation; only
     * the refused operation is lost, and its publish times out.
     */

    ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                  "NATS server error: %s",
                  em_nats_printable(buf, sizeof(buf), text->data, text->len,
                                    EM_NATS_QUOTE_MAX));

    if (text->len > 22
        && ngx_strncasecmp((u_char *) text->data,
                           (u_char *) "'Permissions Violation", 22)
           == 0)
    {
        return NGX_OK;
    }

    return NGX_ERROR;
}


static void
ngx_em_nats_deliver(ngx_em_nats_t *st, em_nats_frame_t *f)
{
    uint64_t              id;
    unsigned              status;
    ngx_em_nats_pub_t    *pub;
    em_nats_span_t        text;
    ngx_em_pub_result_t   res;

    if (f->subject.len <= NGX_EM_NATS_INBOX_LEN
        || ngx_strncmp(f->subject.data, st->inbox, NGX_EM_NATS_INBOX_LEN) != 0
        || ngx_em_nats_parse_uint64((u_char *) f->subject.data
                                    + NGX_EM_NATS_INBOX_LEN,
                                    f->subject.len - NGX_EM_NATS_INBOX_LEN,
                                    &id)
           != NGX_OK)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, &st->log, 0,
                       "nats: message on \"%*s\" ignored",
                       f->subject.len, f->subject.data);
        return;
    }

    pub = ngx_em_nats_lookup(st, id);

    if (pub == NULL) {
        /* its publish timed out or was cancelled before the ack came */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &st->log, 0,
                       "nats: late ack for publish %uL ignored", id);
        return;
    }

    if (f->headers.len) {
        ngx_memzero(&res, sizeof(ngx_em_pub_result_t));

        if (em_nats_status_parse(f->headers.data, f->headers.len, &status,
                                 &text)
            != EM_OK)
        {
            res.status = NGX_EM_PUB_API_ERROR;
            ngx_str_set(&res.description,
                        "malformed headers in the answer from NATS");

            ngx_em_nats_complete(st, pub, &res);
            return;
        }

        if (status == 503 && pub->probing) {
            ngx_str_set(&res.description,
                        "no responders for the JetStream API either");
            ngx_em_nats_no_leader(st, pub, &res.description);
            return;
        }

        if (status == 503) {

            /*
             * No responders: nothing listens on the subject.  That is a
             * broker without a stream, but also a stream electing its
             * leader or a server still recovering its streams; JetStream
             * itself tells them apart.
             */

            if (pub->stream != NULL && ngx_em_nats_probe(st, pub) == NGX_OK)
            {
                return;
            }

            res.status = NGX_EM_PUB_NO_STREAM;
            res.code = 503;
            ngx_str_set(&res.description, "no responders");

            ngx_em_nats_complete(st, pub, &res);
            return;
        }

        if (status != 0 && pub->probing) {
            res.description.data = (u_char *) text.data;
            res.description.len = text.len;
            ngx_em_nats_no_leader(st, pub, &res.description);
            return;
        }

        if (status != 0) {
            res.status = NGX_EM_PUB_API_ERROR;
            res.code = status;
            res.description.data = (u_char *) text.data;
            res.description.len = text.len;

            ngx_em_nats_complete(st, pub, &res);
            return;
        }
    }

    if (pub->probing) {
        ngx_em_nats_probe_answer(st, pub, &f->payload);
        return;
    }

    ngx_em_nats_pub_ack(st, pub, &f->payload);
}


/*
 * Asks JetStream about the publish's stream, under a new id so that a late
 * answer to the publish itself cannot be taken for the answer.  The
 * publish keeps its timer: the question costs no more time than the ack
 * could have.
 */

static ngx_int_t
ngx_em_nats_probe(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub)
{
    u_char  *p;
    size_t   len;
    u_char   id[NGX_INT64_LEN];

    p = ngx_sprintf(id, "%uL", st->next_id);

    len = sizeof("PUB " NGX_EM_NATS_STREAM_INFO " ") - 1 + pub->stream->len
          + NGX_EM_NATS_INBOX_LEN + (p - id) + sizeof(" 0" CRLF CRLF) - 1;

    if (len > NGX_EM_NATS_MAX_CLIENT_LINE
        || ngx_em_nats_reserve(st, len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_em_nats_append(st, (u_char *) "PUB " NGX_EM_NATS_STREAM_INFO,
                       sizeof("PUB " NGX_EM_NATS_STREAM_INFO) - 1);
    ngx_em_nats_append(st, pub->stream->data, pub->stream->len);
    ngx_em_nats_append(st, (u_char *) " ", 1);
    ngx_em_nats_append(st, st->inbox, NGX_EM_NATS_INBOX_LEN);
    ngx_em_nats_append(st, id, p - id);
    ngx_em_nats_append(st, (u_char *) " 0" CRLF CRLF,
                       sizeof(" 0" CRLF CRLF) - 1);

    ngx_rbtree_delete(&st->pending, &pub->node);

    pub->id = st->next_id++;
    pub->node.key = (ngx_rbtree_key_t) pub->id;
    pub->probing = 1;

    ngx_rbtree_insert(&st->pending, &pub->node);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pub->timer.log, 0,
                   "nats: no responders, asking about stream \"%V\" as %uL",
                   pub->stream, pub->id);

    ngx_em_nats_post_write(st);

    return NGX_OK;
}


static void
ngx_em_nats_probe_answer(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    em_nats_span_t *data)
{
    ngx_str_t             why;
    em_nats_puback_t      ans;
    ngx_em_pub_result_t   res;

    /* a JetStream API answer: an error object, or the stream's info */

    if (em_nats_puback_parse(data->data, data->len, &ans)
        == EM_NATS_PUBACK_API_ERROR
        && ans.err_code == NGX_EM_NATS_JS_NO_STREAM)
    {
        ngx_memzero(&res, sizeof(ngx_em_pub_result_t));
        res.status = NGX_EM_PUB_NO_STREAM;
        res.code = (ngx_uint_t) ans.code;
        res.err_code = (ngx_uint_t) ans.err_code;
        res.description.data = (u_char *) ans.description.data;
        res.description.len = ans.description.len;

        ngx_em_nats_complete(st, pub, &res);

        em_nats_puback_free(&ans);
        return;
    }

    if (ans.kind == EM_NATS_PUBACK_API_ERROR) {
        why.data = (u_char *) ans.description.data;
        why.len = ans.description.len;

    } else {
        ngx_str_set(&why, "the stream exists but did not answer");
    }

    ngx_em_nats_no_leader(st, pub, &why);

    em_nats_puback_free(&ans);
}


static void
ngx_em_nats_no_leader(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    ngx_str_t *why)
{
    ngx_em_pub_result_t  res;

    /* once per episode: an election answers hundreds of publishes */

    if (!st->no_leader) {
        st->no_leader = 1;

        ngx_log_error(NGX_LOG_WARN, &st->log, 0,
                      "JetStream stream \"%V\" has no responder (%V), "
                      "publishing to it answers 503 until it has one",
                      pub->stream, why);
    }

    ngx_memzero(&res, sizeof(ngx_em_pub_result_t));
    res.status = NGX_EM_PUB_NO_LEADER;
    res.code = 503;
    res.description = *why;

    ngx_em_nats_complete(st, pub, &res);
}


static void
ngx_em_nats_pub_ack(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    em_nats_span_t *data)
{
    em_nats_puback_t      ack;
    ngx_em_pub_result_t   res;

    ngx_memzero(&res, sizeof(ngx_em_pub_result_t));

    switch (em_nats_puback_parse(data->data, data->len, &ack)) {

    case EM_NATS_PUBACK_STORED:

        if (st->no_leader) {
            st->no_leader = 0;
            ngx_log_error(NGX_LOG_NOTICE, &st->log, 0,
                          "JetStream stores events again");
        }

        res.status = NGX_EM_PUB_ACK;
        res.stream.data = (u_char *) ack.stream.data;
        res.stream.len = ack.stream.len;
        res.seq = ack.seq;
        res.duplicate = ack.duplicate ? 1 : 0;
        break;

    case EM_NATS_PUBACK_API_ERROR:
        res.status = NGX_EM_PUB_API_ERROR;
        res.code = (ngx_uint_t) ack.code;
        res.err_code = (ngx_uint_t) ack.err_code;
        res.description.data = (u_char *) ack.description.data;
        res.description.len = ack.description.len;
        break;

    default: /* EM_NATS_PUBACK_MALFORMED */

        /* code 0 tells the caller it is neither a size nor an internal one */
        res.status = NGX_EM_PUB_API_ERROR;
        res.description.data = (u_char *) ack.description.data;
        res.description.len = ack.description.len;

        ngx_log_error(NGX_EM_NATS_ERR(st), &st->log, 0,
                      "malformed PubAck from NATS for publish %uL", pub->id);
        break;
    }

    ngx_em_nats_complete(st, pub, &res);

    em_nats_puback_free(&ack);
}


/* writing */


ngx_int_t
ngx_em_nats_publish(ngx_str_t *subject, ngx_str_t *stream,
    ngx_str_t *headers, ngx_str_t *payload, ngx_msec_t timeout,
    ngx_em_pub_handler_pt handler, void *data, ngx_em_nats_pub_t **pub,
    ngx_log_t *log)
{
    u_char             *p, *end, *q;
    size_t              total, line_len, max;
    ngx_str_t           parts[9];
    ngx_uint_t          i, hold;
    ngx_em_nats_t      *st;
    ngx_em_nats_pub_t  *rec;
    u_char              id[NGX_INT64_LEN];
    u_char              sizes[2 * NGX_SIZE_T_LEN + sizeof("  " CRLF)];

    st = ngx_em_nats;

    if (st == NULL) {
        return NGX_DECLINED;
    }

    hold = 0;

    if (st->state != NGX_EM_NATS_READY) {

        if (!ngx_em_nats_may_hold(st)) {
            return NGX_DECLINED;
        }

        hold = 1;
    }

    if (st->npending >= st->conf->max_pending
        || st->buffered + st->held_bytes > st->conf->buffer_size)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                       "nats publish busy: %ui pending, %uz buffered",
                       st->npending, st->buffered + st->held_bytes);
        return NGX_BUSY;
    }

    total = headers->len + payload->len;

    /* before the first INFO, the server's default; checked again on INFO */
    max = st->max_payload ? st->max_payload : EM_NATS_DEFAULT_PAYLOAD;

    if (total > max) {
        return NGX_ABORT;
    }

    /* a space or line break in the subject would corrupt the stream */

    end = subject->data + subject->len;

    for (p = subject->data; p < end; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            break;
        }
    }

    if (subject->len == 0 || p != end) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "invalid NATS subject \"%V\"", subject);
        return NGX_ERROR;
    }

    p = ngx_sprintf(id, "%uL", st->next_id);

    if (headers->len) {
        end = ngx_sprintf(sizes, " %uz %uz" CRLF, headers->len, total);

    } else {
        end = ngx_sprintf(sizes, " %uz" CRLF, total);
    }

    line_len = sizeof("HPUB  ") - 1 + subject->len + NGX_EM_NATS_INBOX_LEN
               + (p - id) + (end - sizes);

    if (line_len > NGX_EM_NATS_MAX_CLIENT_LINE) {
        return NGX_ABORT;
    }

    /* the operation's pieces, sent in place or held until CONNECT */

    if (headers->len) {
        ngx_str_set(&parts[0], "HPUB ");

    } else {
        ngx_str_set(&parts[0], "PUB ");
    }

    parts[1] = *subject;
    ngx_str_set(&parts[2], " ");
    parts[3].data = st->inbox;
    parts[3].len = NGX_EM_NATS_INBOX_LEN;
    parts[4].data = id;
    parts[4].len = p - id;
    parts[5].data = sizes;
    parts[5].len = end - sizes;
    parts[6] = *headers;
    parts[7] = *payload;
    ngx_str_set(&parts[8], CRLF);

    rec = st->free_pubs;

    if (rec != NULL) {
        st->free_pubs = rec->next;

    } else {
        rec = ngx_palloc(st->pool, sizeof(ngx_em_nats_pub_t));
        if (rec == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_memzero(rec, sizeof(ngx_em_nats_pub_t));

    if (hold) {
        rec->held_len = line_len + total + 2;

        rec->held = ngx_alloc(rec->held_len, log);
        if (rec->held == NULL) {
            goto failed;
        }

        q = rec->held;

        for (i = 0; i < 9; i++) {
            /* an empty part (no data) may have no pointer: not memcpy's */
            if (parts[i].len) {
                q = ngx_cpymem(q, parts[i].data, parts[i].len);
            }
        }

        rec->held_size = total;

        /* once CONNECT is out, a publish follows it at once */

        if (st->state == NGX_EM_NATS_WAIT_PONG) {
            if (ngx_em_nats_reserve(st, rec->held_len) != NGX_OK) {
                goto failed;
            }

            ngx_em_nats_append(st, rec->held, rec->held_len);
            rec->sent = 1;
        }

        ngx_queue_insert_tail(&st->held, &rec->queue);
        st->held_bytes += rec->held_len;

    } else {
        if (ngx_em_nats_reserve(st, line_len + total + 2) != NGX_OK) {
            goto failed;
        }

        for (i = 0; i < 9; i++) {
            ngx_em_nats_append(st, parts[i].data, parts[i].len);
        }
    }

    rec->id = st->next_id++;
    rec->node.key = (ngx_rbtree_key_t) rec->id;
    rec->handler = handler;
    rec->data = data;
    rec->stream = stream;
    rec->active = 1;

    rec->timer.handler = ngx_em_nats_ack_timeout_handler;
    rec->timer.data = rec;
    rec->timer.log = log;

    ngx_rbtree_insert(&st->pending, &rec->node);
    st->npending++;
    st->published++;

    ngx_add_timer(&rec->timer, timeout);

    if (!hold || rec->sent) {
        /* a posted write sends every publish of this loop turn in one writev */
        ngx_em_nats_post_write(st);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, log, 0,
                   "nats publish %uL to \"%V\", %uz bytes%s",
                   rec->id, subject, total,
                   hold ? ", held for the handshake" : "");

    *pub = rec;

    return NGX_OK;

failed:

    if (rec->held) {
        ngx_free(rec->held);
        rec->held = NULL;
    }

    rec->next = st->free_pubs;
    st->free_pubs = rec;

    return NGX_ERROR;
}


/*
 * A publish may wait for the connection being made: a worker just started
 * (or by a reload) or one whose connection broke has its first attempts
 * under way.  Between two attempts it waits too if the worker has never
 * been connected or the last server was only slow.  Once every server has
 * failed since the last working connection, the outage is real and
 * publishing answers 503 at once.  An exiting worker holds nothing new.
 */

static ngx_int_t
ngx_em_nats_may_hold(ngx_em_nats_t *st)
{
    if (st->state == NGX_EM_NATS_DISCONNECTED) {
        if (!st->reconnect_ev.timer_set || (st->ever_ready && !st->slow)) {
            return 0;
        }

    } else if (st->state < NGX_EM_NATS_CONNECTING
               || st->state > NGX_EM_NATS_WAIT_PONG)
    {
        return 0;
    }

    if (st->failures >= st->naddrs || ngx_exiting || ngx_terminate
        || ngx_quit)
    {
        return 0;
    }

    return 1;
}


/* after CONNECT: the held publishes, oldest first */

static ngx_int_t
ngx_em_nats_send_held(ngx_em_nats_t *st)
{
    ngx_queue_t        *q;
    ngx_em_nats_pub_t  *pub;

    if (ngx_queue_empty(&st->held)) {
        return NGX_OK;
    }

    if (ngx_em_nats_reserve(st, st->held_bytes) != NGX_OK) {
        /* the connection is closed and every held publish fails */
        return NGX_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, &st->log, 0,
                   "nats: %uz held bytes follow CONNECT", st->held_bytes);

    /* the copies stay until PONG: see ngx_em_nats_pub_s */

    for (q = ngx_queue_head(&st->held);
         q != ngx_queue_sentinel(&st->held);
         q = ngx_queue_next(q))
    {
        pub = ngx_queue_data(q, ngx_em_nats_pub_t, queue);

        ngx_em_nats_append(st, pub->held, pub->held_len);
        pub->sent = 1;
    }

    return NGX_OK;
}


/*
 * PONG to the handshake's PING: the connection works, and the publishes
 * sent behind it are from now on like any other awaiting its ack.
 */

static void
ngx_em_nats_release_held(ngx_em_nats_t *st)
{
    ngx_queue_t        *q;
    ngx_em_nats_pub_t  *pub;

    while (!ngx_queue_empty(&st->held)) {
        q = ngx_queue_head(&st->held);
        pub = ngx_queue_data(q, ngx_em_nats_pub_t, queue);

        ngx_queue_remove(q);

        ngx_free(pub->held);
        pub->held = NULL;
        pub->sent = 0;
    }

    st->held_bytes = 0;
}


/*
 * A held publish was checked against the last server's max_payload, or
 * NATS's default before any INFO; the new server's may be smaller.
 */

static void
ngx_em_nats_fail_held_over(ngx_em_nats_t *st, size_t max)
{
    ngx_queue_t          *q;
    ngx_em_nats_pub_t    *pub;
    ngx_em_pub_result_t   res;

    /*
     * A handler may cancel other held publishes (a batch gives up on its
     * siblings), so the queue is searched again after each call.
     */

    for ( ;; ) {
        pub = NULL;

        for (q = ngx_queue_head(&st->held);
             q != ngx_queue_sentinel(&st->held);
             q = ngx_queue_next(q))
        {
            pub = ngx_queue_data(q, ngx_em_nats_pub_t, queue);

            if (pub->held_size > max) {
                break;
            }

            pub = NULL;
        }

        if (pub == NULL) {
            return;
        }

        ngx_log_error(NGX_LOG_WARN, &st->log, 0,
                      "a publish of %uz bytes held for the handshake is "
                      "larger than the server's max_payload %uz",
                      pub->held_size, max);

        ngx_memzero(&res, sizeof(ngx_em_pub_result_t));
        res.status = NGX_EM_PUB_API_ERROR;
        ngx_str_set(&res.description,
                    "the event is larger than the NATS server's "
                    "max_payload");

        ngx_em_nats_complete(st, pub, &res);
    }
}


void
ngx_em_nats_cancel(ngx_em_nats_pub_t *pub)
{
    ngx_em_nats_t  *st;

    st = ngx_em_nats;

    if (st == NULL || pub == NULL || !pub->active) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pub->timer.log, 0,
                   "nats publish %uL cancelled", pub->id);

    ngx_em_nats_forget(st, pub);

    pub->next = st->free_pubs;
    st->free_pubs = pub;
}


static void
ngx_em_nats_ack_timeout_handler(ngx_event_t *ev)
{
    ngx_em_nats_pub_t  *pub = ev->data;

    ngx_em_nats_t        *st;
    ngx_em_pub_result_t   res;

    st = ngx_em_nats;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "nats publish %uL timed out", pub->id);

    ngx_memzero(&res, sizeof(ngx_em_pub_result_t));

    if (pub->held && !pub->sent) {
        /* never sent: it is certainly not stored */
        res.status = NGX_EM_PUB_DISCONNECTED;
        ngx_str_set(&res.description,
                    "no connection to NATS within the ack timeout");

    } else if (pub->probing) {
        /* no responders to the publish: it is certainly not stored */
        ngx_str_set(&res.description,
                    "JetStream did not say in time whether the stream "
                    "exists");
        ngx_em_nats_no_leader(st, pub, &res.description);
        return;

    } else {
        res.status = NGX_EM_PUB_TIMEOUT;
        ngx_str_set(&res.description, "no ack from NATS in time");
    }

    ngx_em_nats_complete(st, pub, &res);
}


static ngx_em_nats_pub_t *
ngx_em_nats_lookup(ngx_em_nats_t *st, uint64_t id)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;
    ngx_em_nats_pub_t  *pub;

    key = (ngx_rbtree_key_t) id;
    node = st->pending.root;
    sentinel = st->pending.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        pub = ngx_rbtree_data(node, ngx_em_nats_pub_t, node);

        return (pub->id == id) ? pub : NULL;
    }

    return NULL;
}


static void
ngx_em_nats_forget(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub)
{
    ngx_rbtree_delete(&st->pending, &pub->node);

    if (pub->timer.timer_set) {
        ngx_del_timer(&pub->timer);
    }

    if (pub->held) {
        ngx_queue_remove(&pub->queue);
        st->held_bytes -= pub->held_len;
        ngx_free(pub->held);
        pub->held = NULL;
    }

    pub->active = 0;
    st->npending--;
}


/*
 * The record leaves the tree before the handler runs, so a cancel from
 * inside the handler is a no-op, and it is reused only after the handler
 * returns.
 */

static void
ngx_em_nats_complete(ngx_em_nats_t *st, ngx_em_nats_pub_t *pub,
    ngx_em_pub_result_t *res)
{
    /* the status endpoint's counters follow from the outcome */

    switch (res->status) {

    case NGX_EM_PUB_ACK:
        st->acked++;
        break;

    case NGX_EM_PUB_TIMEOUT:
        st->timeouts++;
        break;

    default:
        st->failed++;
        break;
    }

    ngx_em_nats_forget(st, pub);

    pub->handler(res, pub->data);

    pub->next = st->free_pubs;
    st->free_pubs = pub;
}


static void
ngx_em_nats_write_handler(ngx_event_t *wev)
{
    ngx_em_nats_t     *st;
    ngx_connection_t  *c;

    c = wev->data;
    st = c->data;

    if (st->state == NGX_EM_NATS_CONNECTING) {
        (void) ngx_em_nats_test_connect(st);
        return;
    }

    ngx_em_nats_flush(st);
}


static void
ngx_em_nats_post_write(ngx_em_nats_t *st)
{
    if (st->peer.connection) {
        ngx_post_event(st->peer.connection->write, &ngx_posted_events);
    }
}


static void
ngx_em_nats_flush(ngx_em_nats_t *st)
{
    off_t              sent;
    ngx_chain_t       *cl, *ln;
    ngx_connection_t  *c;

    c = st->peer.connection;

    if (st->out != NULL) {
        sent = c->sent;

        cl = c->send_chain(c, st->out, 0);

        if (cl == NGX_CHAIN_ERROR) {
            /* c->send_chain() has logged it */
            ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
            return;
        }

        st->buffered -= (size_t) (c->sent - sent);

        while (st->out != cl) {
            ln = st->out;
            st->out = ln->next;
            ngx_em_nats_release_chunk(st, ln);
        }

        if (st->out == NULL) {
            st->out_tail = NULL;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "nats flush: %O sent, %uz left",
                       c->sent - sent, st->buffered);
    }

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_em_nats_close(st, NGX_EM_PUB_DISCONNECTED);
    }
}


/*
 * Output is a chain of fixed-size chunks: appending never moves bytes
 * already queued, and c->send_chain() writes many chunks in one writev().
 * Space is reserved before an operation is appended, so an allocation
 * failure never leaves half an operation in the stream.
 */

static ngx_int_t
ngx_em_nats_reserve(ngx_em_nats_t *st, size_t len)
{
    size_t                avail;
    ngx_em_nats_chunk_t  *ch;

    avail = st->nspare * NGX_EM_NATS_CHUNK_SIZE;

    if (st->out_tail) {
        avail += st->out_tail->buf->end - st->out_tail->buf->last;
    }

    while (avail < len) {
        ch = ngx_alloc(sizeof(ngx_em_nats_chunk_t) + NGX_EM_NATS_CHUNK_SIZE,
                       &st->log);
        if (ch == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(&ch->buf, sizeof(ngx_buf_t));

        ch->buf.start = (u_char *) (ch + 1);
        ch->buf.pos = ch->buf.start;
        ch->buf.last = ch->buf.start;
        ch->buf.end = ch->buf.start + NGX_EM_NATS_CHUNK_SIZE;
        ch->buf.temporary = 1;

        ch->cl.buf = &ch->buf;
        ch->cl.next = st->spare;

        st->spare = &ch->cl;
        st->nspare++;

        avail += NGX_EM_NATS_CHUNK_SIZE;
    }

    return NGX_OK;
}


static void
ngx_em_nats_append(ngx_em_nats_t *st, u_char *data, size_t len)
{
    size_t        n;
    ngx_chain_t  *cl;

    while (len) {
        cl = st->out_tail;

        if (cl == NULL || cl->buf->last == cl->buf->end) {
            cl = st->spare;
            st->spare = cl->next;
            st->nspare--;

            cl->next = NULL;

            if (st->out_tail) {
                st->out_tail->next = cl;

            } else {
                st->out = cl;
            }

            st->out_tail = cl;
        }

        n = ngx_min(len, (size_t) (cl->buf->end - cl->buf->last));

        cl->buf->last = ngx_cpymem(cl->buf->last, data, n);

        data += n;
        len -= n;
        st->buffered += n;
    }
}


static void
ngx_em_nats_release_chunk(ngx_em_nats_t *st, ngx_chain_t *cl)
{
    if (st->nspare >= NGX_EM_NATS_SPARE_CHUNKS) {
        ngx_free(cl);
        return;
    }

    cl->buf->pos = cl->buf->start;
    cl->buf->last = cl->buf->start;
    cl->next = st->spare;

    st->spare = cl;
    st->nspare++;
}


static void
ngx_em_nats_drop_output(ngx_em_nats_t *st)
{
    ngx_chain_t  *cl;

    while (st->out) {
        cl = st->out;
        st->out = cl->next;
        ngx_em_nats_release_chunk(st, cl);
    }

    st->out_tail = NULL;
    st->buffered = 0;
}


void
ngx_em_nats_get_stats(ngx_em_nats_stats_t *stats)
{
    ngx_em_nats_t  *st;

    ngx_memzero(stats, sizeof(ngx_em_nats_stats_t));

    st = ngx_em_nats;

    if (st == NULL) {
        return;
    }

    stats->connected = (st->state == NGX_EM_NATS_READY);

    if (st->server) {
        stats->server = *st->server;
    }

    stats->pending = st->npending;
    stats->buffered = st->buffered;
    stats->published = st->published;
    stats->acked = st->acked;
    stats->failed = st->failed;
    stats->timeouts = st->timeouts;
    stats->reconnects = st->reconnects;
    stats->max_payload = st->max_payload;
}


/* helpers */


static ngx_int_t
ngx_em_nats_parse_uint64(u_char *p, size_t len, uint64_t *value)
{
    uint64_t  v;

    if (len == 0 || len > NGX_INT64_LEN) {
        return NGX_ERROR;
    }

    v = 0;

    while (len--) {
        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        if (v > (UINT64_MAX - (*p - '0')) / 10) {
            return NGX_ERROR;
        }

        v = v * 10 + (*p++ - '0');
    }

    *value = v;

    return NGX_OK;
}


static void
ngx_em_nats_random(ngx_em_nats_t *st, u_char *buf, size_t n)
{
    size_t                 i;
    ssize_t                got;
    ngx_fd_t               fd;
    static const u_char    alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    got = -1;

    fd = ngx_open_file("/dev/urandom", NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd != NGX_INVALID_FILE) {
        got = read(fd, buf, n);

        if (ngx_close_file(fd) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, &st->log, ngx_errno,
                          ngx_close_file_n " \"/dev/urandom\" failed");
        }
    }

    if (got != (ssize_t) n) {
        ngx_log_error(NGX_LOG_WARN, &st->log, ngx_errno,
                      "reading \"/dev/urandom\" failed, "
                      "the NATS inbox uses random()");

        for (i = 0; i < n; i++) {
            buf[i] = (u_char) (ngx_random() ^ (ngx_pid >> (i % 16)));
        }
    }

    for (i = 0; i < n; i++) {
        buf[i] = alphabet[buf[i] % (sizeof(alphabet) - 1)];
    }
}


static u_char *
ngx_em_nats_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    u_char         *p;
    ngx_em_nats_t  *st;

    p = buf;

    if (log->action) {
        p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= p - buf;
    }

    st = log->data;

    if (st != NULL && st->server != NULL) {
        p = ngx_snprintf(p, len, ", NATS server: %V", st->server);
    }

    return p;
}
