/*
 * The admin server on libuv: accept, read one request head at a time,
 * answer, keep the connection for the next request or close it.  Requests
 * sent back to back (pipelining) are answered in order.  A connection that
 * sends no complete request within EM_ADMIN_IDLE_MS is closed, so that
 * idle or slow clients cannot hold the EM_ADMIN_CONNS_MAX slots.
 */

#include "admin.h"
#include "log.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>


typedef struct em_admin_conn_s  em_admin_conn_t;

struct em_admin_s {
    uv_loop_t            *loop;
    uv_tcp_t              listener;
    em_admin_handler_pt   handler;
    void                 *ctx;
    em_admin_conn_t      *conns;
    unsigned              nconns;
    unsigned              closing;      /* handles still to close */
    int                   stopped;
    void                (*done)(void *data);
    void                 *done_data;
};

struct em_admin_conn_s {
    uv_tcp_t              tcp;
    uv_timer_t            timer;
    uv_write_t            wreq;
    em_admin_t           *admin;
    em_admin_conn_t      *prev, *next;
    char                  in[EM_ADMIN_HEAD_MAX];
    size_t                len;
    em_buf_t              out;
    unsigned              writing:1;
    unsigned              close_after:1;
    unsigned              closing:1;
    unsigned              handles;      /* open handles of this conn */
};


static void em_admin_conn_process(em_admin_conn_t *c);


static void
em_admin_maybe_done(em_admin_t *a)
{
    if (a->stopped && a->closing == 0 && a->nconns == 0) {
        if (a->done != NULL) {
            a->done(a->done_data);
        }
        free(a);
    }
}


static void
em_admin_conn_closed(uv_handle_t *h)
{
    em_admin_conn_t  *c;
    em_admin_t       *a;

    c = h->data;

    if (--c->handles > 0) {
        return;
    }

    a = c->admin;

    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        a->conns = c->next;
    }

    if (c->next != NULL) {
        c->next->prev = c->prev;
    }

    a->nconns--;
    em_buf_free(&c->out);
    free(c);

    em_admin_maybe_done(a);
}


static void
em_admin_conn_close(em_admin_conn_t *c)
{
    if (c->closing) {
        return;
    }

    c->closing = 1;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *) &c->timer, em_admin_conn_closed);
    uv_close((uv_handle_t *) &c->tcp, em_admin_conn_closed);
}


static void
em_admin_conn_timeout(uv_timer_t *t)
{
    em_admin_conn_close(t->data);
}


static void
em_admin_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    em_admin_conn_t  *c;

    (void) suggested;

    c = h->data;
    buf->base = c->in + c->len;
    buf->len = sizeof(c->in) - c->len;
}


static void
em_admin_written(uv_write_t *w, int status)
{
    em_admin_conn_t  *c;

    c = w->data;
    c->writing = 0;
    em_buf_reset(&c->out);

    if (status < 0 || c->close_after) {
        em_admin_conn_close(c);
        return;
    }

    em_admin_conn_process(c);
}


static void
em_admin_send(em_admin_conn_t *c, em_admin_answer_t *ans, int head_only,
    int keep_alive)
{
    uv_buf_t  b;

    em_buf_reset(&c->out);

    if (em_admin_write_response(&c->out, ans, head_only, keep_alive)
        != EM_OK)
    {
        em_log_error("admin: out of memory answering a request");
        em_admin_conn_close(c);
        return;
    }

    c->close_after = !keep_alive;
    c->writing = 1;
    c->wreq.data = c;
    b = uv_buf_init(c->out.data, (unsigned) c->out.len);

    if (uv_write(&c->wreq, (uv_stream_t *) &c->tcp, &b, 1, em_admin_written)
        != 0)
    {
        c->writing = 0;
        em_admin_conn_close(c);
    }
}


static void
em_admin_refuse(em_admin_conn_t *c, int status, const char *why,
    int head_only)
{
    em_admin_answer_t  ans;

    memset(&ans, 0, sizeof(ans));
    ans.status = status;
    ans.allow = status == 405 ? "GET, HEAD" : NULL;
    em_buf_init(&ans.body);
    (void) em_buf_printf(&ans.body, "%s\n", why);

    /* after a malformed request the stream cannot be trusted: close */
    em_admin_send(c, &ans, head_only, 0);
    em_buf_free(&ans.body);
}


static void
em_admin_conn_process(em_admin_conn_t *c)
{
    em_admin_req_t     req;
    em_admin_answer_t  ans;
    const char        *why;
    int                rc;

    if (c->writing || c->closing || c->len == 0) {
        return;
    }

    rc = em_admin_parse(c->in, c->len, &req, &why);

    if (rc == 0) {
        if (c->len == sizeof(c->in)) {
            em_admin_refuse(c, 431, "request head too large", 0);
        }
        return;
    }

    if (rc < 0) {
        em_admin_refuse(c, -rc, why, req.method == EM_ADMIN_HEAD);
        return;
    }

    memmove(c->in, c->in + rc, c->len - (size_t) rc);
    c->len -= (size_t) rc;

    memset(&ans, 0, sizeof(ans));
    em_buf_init(&ans.body);
    ans.status = 500;

    c->admin->handler(c->admin->ctx, &req, &ans);

    uv_timer_again(&c->timer);

    em_admin_send(c, &ans, req.method == EM_ADMIN_HEAD,
                  req.keep_alive && !c->admin->stopped);
    em_buf_free(&ans.body);
}


static void
em_admin_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    em_admin_conn_t  *c;

    (void) buf;

    c = s->data;

    if (n < 0) {
        em_admin_conn_close(c);
        return;
    }

    c->len += (size_t) n;
    em_admin_conn_process(c);
}


static void
em_admin_accept(uv_stream_t *server, int status)
{
    em_admin_t       *a;
    em_admin_conn_t  *c;

    a = server->data;

    if (status < 0) {
        em_log_warn("admin: accept failed: %s", uv_strerror(status));
        return;
    }

    c = calloc(1, sizeof(em_admin_conn_t));
    if (c == NULL) {
        em_log_error("admin: out of memory accepting a connection");
        return;
    }

    c->admin = a;
    em_buf_init(&c->out);
    uv_tcp_init(a->loop, &c->tcp);
    uv_timer_init(a->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;

    c->next = a->conns;
    if (a->conns != NULL) {
        a->conns->prev = c;
    }
    a->conns = c;
    a->nconns++;

    if (uv_accept(server, (uv_stream_t *) &c->tcp) != 0) {
        em_admin_conn_close(c);
        return;
    }

    if (a->nconns > EM_ADMIN_CONNS_MAX || a->stopped) {
        em_admin_conn_close(c);
        return;
    }

    uv_timer_start(&c->timer, em_admin_conn_timeout, EM_ADMIN_IDLE_MS,
                   EM_ADMIN_IDLE_MS);

    if (uv_read_start((uv_stream_t *) &c->tcp, em_admin_alloc, em_admin_read)
        != 0)
    {
        em_admin_conn_close(c);
    }
}


static int
em_admin_resolve(const char *host, unsigned port, struct sockaddr_storage *ss,
    em_buf_t *err)
{
    struct addrinfo   hints, *res;
    char              service[16];
    int               rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(service, sizeof(service), "%u", port);

    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        em_buf_reset(err);
        (void) em_buf_printf(err, "admin.listen: cannot resolve \"%s\": %s",
                             host, gai_strerror(rc));
        return EM_ERROR;
    }

    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return EM_OK;
}


static void
em_admin_free_closed(uv_handle_t *h)
{
    free(h->data);
}


int
em_admin_start(em_admin_t **ap, uv_loop_t *loop, const char *host,
    unsigned port, em_admin_handler_pt handler, void *ctx, em_buf_t *err)
{
    em_admin_t               *a;
    struct sockaddr_storage   ss;
    int                       rc;

    *ap = NULL;

    if (em_admin_resolve(host, port, &ss, err) != EM_OK) {
        return EM_ERROR;
    }

    a = calloc(1, sizeof(em_admin_t));
    if (a == NULL) {
        em_buf_reset(err);
        (void) em_buf_printf(err, "out of memory");
        return EM_ERROR;
    }

    a->loop = loop;
    a->handler = handler;
    a->ctx = ctx;

    uv_tcp_init(loop, &a->listener);
    a->listener.data = a;

    rc = uv_tcp_bind(&a->listener, (const struct sockaddr *) &ss, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *) &a->listener, 128, em_admin_accept);
    }

    if (rc != 0) {
        em_buf_reset(err);
        (void) em_buf_printf(err, "admin.listen: cannot listen on %s port "
                             "%u: %s%s", host, port, uv_strerror(rc),
                             rc == UV_EADDRINUSE
                             ? " (another process has it: pick another "
                               "port in admin.listen)" : "");
        /* the loop frees it when it runs the close callback */
        uv_close((uv_handle_t *) &a->listener, em_admin_free_closed);
        return EM_ERROR;
    }

    *ap = a;
    return EM_OK;
}


static void
em_admin_listener_closed(uv_handle_t *h)
{
    em_admin_t  *a;

    a = h->data;
    a->closing--;
    em_admin_maybe_done(a);
}


void
em_admin_close(em_admin_t *a, void (*done)(void *data), void *data)
{
    em_admin_conn_t  *c, *next;

    if (a == NULL) {
        if (done != NULL) {
            done(data);
        }
        return;
    }

    a->stopped = 1;
    a->done = done;
    a->done_data = data;
    a->closing = 1;
    uv_close((uv_handle_t *) &a->listener, em_admin_listener_closed);

    for (c = a->conns; c != NULL; c = next) {
        next = c->next;

        /* an answer being written is cut short; the process is stopping */
        em_admin_conn_close(c);
    }
}
