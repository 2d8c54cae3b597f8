/*
 * libcurl multi on the libuv loop (curl's "multi_socket" integration):
 * curl says through the socket callback which descriptors to watch and
 * through the timer callback when it wants to run; both end in
 * curl_multi_socket_action(), after which finished transfers are reaped.
 * Connections stay in the multi handle's cache between transfers, so a
 * subscriber gets keep-alive without any pooling of our own.
 *
 * Between two transfers on a kept connection curl stops watching it
 * (CURL_POLL_REMOVE) and forgets our pointer.  Closing and re-creating the
 * poll handle each time cost an ioctl, two or three epoll_ctl calls and an
 * allocation per event, so a socket's handle is parked instead: it stays
 * registered for reading, is found again by descriptor when curl reuses
 * the connection, and is closed only when curl closes the descriptor (the
 * close-socket callback).  A parked socket that turns readable was closed
 * or spoken to by the peer: it is no longer watched, and curl's liveness
 * check drops the connection before the next request.  Easy handles are
 * reused for the same reason.
 */

#include "deliver.h"
#include "log.h"
#include "version.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>


/* easy handles kept for reuse; more are cleaned up */
#define EM_HTTP_EASY_KEEP  256


typedef struct em_http_sock_s  em_http_sock_t;

struct em_http_s {
    uv_loop_t          *loop;
    CURLM              *multi;
    uv_timer_t          timer;
    unsigned            running;
    em_http_sock_t     *socks;
    em_http_sock_t    **byfd;       /* open sockets by descriptor */
    size_t              nbyfd;
    CURL               *easy[EM_HTTP_EASY_KEEP];
    unsigned            neasy;
    unsigned            handles;    /* open uv handles, timer included */
    void              (*done)(void *data);
    void               *done_data;
    unsigned            closing:1;
};

struct em_http_sock_s {
    uv_poll_t           poll;
    curl_socket_t       fd;
    int                 events;     /* what the poll handle watches */
    unsigned            parked:1;   /* curl does not watch it now */
    unsigned            owned:1;    /* made by em_http_open_socket() */
    em_http_t          *h;
    em_http_sock_t     *prev, *next;
};


static void em_http_reap(em_http_t *h);


static void
em_http_handle_closed(uv_handle_t *handle)
{
    em_http_t       *h;
    em_http_sock_t  *sk;

    if (handle->type == UV_POLL) {
        sk = handle->data;
        h = sk->h;
        free(sk);

    } else {
        h = handle->data;
    }

    if (--h->handles == 0 && h->closing) {
        if (h->done != NULL) {
            h->done(h->done_data);
        }

        free(h->byfd);
        free(h);
    }
}


static void
em_http_sock_close(em_http_t *h, em_http_sock_t *sk)
{
    if (sk->prev != NULL) {
        sk->prev->next = sk->next;

    } else {
        h->socks = sk->next;
    }

    if (sk->next != NULL) {
        sk->next->prev = sk->prev;
    }

    if ((size_t) sk->fd < h->nbyfd && h->byfd[sk->fd] == sk) {
        h->byfd[sk->fd] = NULL;
    }

    uv_poll_stop(&sk->poll);
    uv_close((uv_handle_t *) &sk->poll, em_http_handle_closed);
}


static void
em_http_poll(uv_poll_t *p, int status, int events)
{
    em_http_sock_t  *sk;
    em_http_t       *h;
    int              flags, running;

    sk = p->data;
    h = sk->h;

    if (sk->parked) {
        /* level-triggered: stop, or this fires on every iteration */
        uv_poll_stop(&sk->poll);
        sk->events = 0;
        return;
    }

    flags = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;

    } else {
        if (events & UV_READABLE) {
            flags |= CURL_CSELECT_IN;
        }

        if (events & UV_WRITABLE) {
            flags |= CURL_CSELECT_OUT;
        }
    }

    curl_multi_socket_action(h->multi, sk->fd, flags, &running);
    em_http_reap(h);
}


/* A poll handle for s, which has none: filed under its number. */
static em_http_sock_t *
em_http_sock_alloc(em_http_t *h, curl_socket_t s)
{
    em_http_sock_t   *sk, **byfd;
    size_t            n;

    if (s < 0) {
        return NULL;
    }

    if ((size_t) s >= h->nbyfd) {
        n = h->nbyfd ? h->nbyfd : 64;
        while (n <= (size_t) s) {
            n *= 2;
        }

        byfd = realloc(h->byfd, n * sizeof(em_http_sock_t *));
        if (byfd == NULL) {
            return NULL;
        }

        memset(byfd + h->nbyfd, 0, (n - h->nbyfd) * sizeof(*byfd));
        h->byfd = byfd;
        h->nbyfd = n;
    }

    sk = calloc(1, sizeof(em_http_sock_t));
    if (sk == NULL) {
        return NULL;
    }

    if (uv_poll_init_socket(h->loop, &sk->poll, s) != 0) {
        free(sk);
        return NULL;
    }

    sk->poll.data = sk;
    sk->fd = s;
    sk->h = h;
    h->handles++;

    sk->next = h->socks;
    if (h->socks != NULL) {
        h->socks->prev = sk;
    }
    h->socks = sk;
    h->byfd[s] = sk;

    return sk;
}


/*
 * A new handle for a descriptor curl has not told us about.  A handle
 * still filed under its number belongs to a socket closed without our
 * callback (a resolver's socket pair, say): the number was reused and the
 * old registration went with the old socket.
 */
static em_http_sock_t *
em_http_sock_new(em_http_t *h, curl_socket_t s, int owned)
{
    em_http_sock_t  *sk;

    if ((size_t) s < h->nbyfd && h->byfd[s] != NULL) {
        em_http_sock_close(h, h->byfd[s]);
    }

    sk = em_http_sock_alloc(h, s);
    if (sk != NULL) {
        sk->owned = owned ? 1 : 0;
    }

    return sk;
}


static int
em_http_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
    em_http_t       *h;
    em_http_sock_t  *sk;
    int              events;

    (void) easy;

    h = userp;
    sk = socketp;

    if (sk == NULL && (size_t) s < h->nbyfd) {
        sk = h->byfd[s];
    }

    if (what == CURL_POLL_REMOVE) {
        if (sk == NULL) {
            return 0;
        }

        curl_multi_assign(h->multi, s, NULL);

        if (!sk->owned) {
            em_http_sock_close(h, sk);
            return 0;
        }

        /* a kept connection: see the top of the file */
        sk->parked = 1;

        if (sk->events != UV_READABLE) {
            sk->events = UV_READABLE;
            return uv_poll_start(&sk->poll, UV_READABLE, em_http_poll) == 0
                   ? 0 : -1;
        }

        return 0;
    }

    if (sk == NULL || (socketp == NULL && !sk->owned)) {
        sk = em_http_sock_new(h, s, 0);
        if (sk == NULL) {
            return -1;
        }
    }

    if (socketp == NULL) {
        curl_multi_assign(h->multi, s, sk);
    }

    sk->parked = 0;

    events = 0;

    if (what & CURL_POLL_IN) {
        events |= UV_READABLE;
    }

    if (what & CURL_POLL_OUT) {
        events |= UV_WRITABLE;
    }

    /* every uv_poll_start costs epoll_ctl calls, even for the same set */
    if (events == sk->events) {
        return 0;
    }

    sk->events = events;

    return uv_poll_start(&sk->poll, events, em_http_poll) == 0 ? 0 : -1;
}


/*
 * Connection sockets are made here so that they are known as ours: curl
 * closes them through em_http_close_socket(), which is what lets their
 * handles be parked.
 */
static curl_socket_t
em_http_open_socket(void *data, curlsocktype purpose,
    struct curl_sockaddr *addr)
{
    em_http_t      *h;
    curl_socket_t   s;

    (void) purpose;

    h = data;

    s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (s == CURL_SOCKET_BAD) {
        return CURL_SOCKET_BAD;
    }

    if (em_http_sock_new(h, s, 1) == NULL) {
        close(s);
        return CURL_SOCKET_BAD;
    }

    return s;
}


static int
em_http_close_socket(void *data, curl_socket_t s)
{
    em_http_t  *h;

    h = data;

    /* the handle goes first: the descriptor's number may come back at once */
    if ((size_t) s < h->nbyfd && h->byfd[s] != NULL) {
        em_http_sock_close(h, h->byfd[s]);
    }

    return close(s);
}


static void
em_http_timeout(uv_timer_t *t)
{
    em_http_t  *h;
    int         running;

    h = t->data;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    em_http_reap(h);
}


static int
em_http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    em_http_t  *h;

    (void) multi;

    h = userp;

    if (timeout_ms < 0) {
        uv_timer_stop(&h->timer);
        return 0;
    }

    /* 0 means "as soon as possible": the next loop iteration */
    uv_timer_start(&h->timer, em_http_timeout, (uint64_t) timeout_ms, 0);
    return 0;
}


/*
 * An easy handle done with, kept for the next transfer.  Not reset:
 * em_http_post() sets every option each time, and curl_easy_reset() frees
 * the handle's buffers, whose 64 KiB made every free consolidate malloc's
 * heap.
 */
static void
em_http_easy_put(em_http_t *h, CURL *e)
{
    if (h->neasy == EM_HTTP_EASY_KEEP) {
        curl_easy_cleanup(e);
        return;
    }

    h->easy[h->neasy++] = e;
}


static void
em_http_reap(em_http_t *h)
{
    CURLMsg        *m;
    em_http_req_t  *r;
    curl_off_t      us;
    int             left;

    while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }

        r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &r);

        r->result = m->data.result;
        r->status = 0;

        if (r->result == CURLE_OK) {
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
                              &r->status);
        }

        us = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &us);
        r->seconds = (double) us / 1e6;

        if (r->result != CURLE_OK && r->errbuf[0] == '\0') {
            snprintf(r->errbuf, sizeof(r->errbuf), "%s",
                     curl_easy_strerror(r->result));
        }

        curl_multi_remove_handle(h->multi, m->easy_handle);
        em_http_easy_put(h, m->easy_handle);
        r->easy = NULL;
        h->running--;

        /* m is not valid past the next curl call, which done may make */
        r->done(r);
    }
}


int
em_http_init(em_http_t **hp, uv_loop_t *loop, em_buf_t *err)
{
    em_http_t  *h;

    *hp = NULL;

    h = calloc(1, sizeof(em_http_t));
    if (h == NULL) {
        (void) em_buf_printf(err, "out of memory");
        return EM_ERROR;
    }

    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        free(h);
        (void) em_buf_printf(err, "cannot set up libcurl");
        return EM_ERROR;
    }

    h->loop = loop;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->handles = 1;

    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, em_http_socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, em_http_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);

    /* idle keep-alive connections kept for the subscribers */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 1024L);

    *hp = h;
    return EM_OK;
}


static size_t
em_http_write(char *p, size_t size, size_t n, void *data)
{
    em_http_req_t  *r;
    size_t          len, room;

    r = data;
    len = size * n;
    r->body_total += len;

    room = r->body.len < EM_HTTP_BODY_MAX ? EM_HTTP_BODY_MAX - r->body.len : 0;
    if (room > 0
        && em_buf_append(&r->body, p, len < room ? len : room) != EM_OK)
    {
        /* a short count makes curl fail the transfer: retried later */
        return 0;
    }

    return len;
}


static void
em_http_headers_clear(em_http_req_t *r)
{
    size_t  i;

    for (i = 0; i < r->nheaders; i++) {
        free(r->hnames[i]);
        free(r->hvalues[i]);
    }

    r->nheaders = 0;
    r->headers_cut = 0;
}


static size_t
em_http_header_cb(char *p, size_t size, size_t n, void *data)
{
    em_http_req_t  *r;
    size_t          len, nlen;
    const char     *colon, *v, *end;

    r = data;
    len = size * n;
    end = p + len;

    /* each response (a 100 Continue, then the real one) starts afresh */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        em_http_headers_clear(r);
        return len;
    }

    while (end > p && (end[-1] == '\r' || end[-1] == '\n')) {
        end--;
    }

    colon = memchr(p, ':', (size_t) (end - p));

    /* the blank line, or an obsolete folded line: nothing to keep */
    if (colon == NULL || colon == p || p[0] == ' ' || p[0] == '\t') {
        return len;
    }

    if (r->nheaders == EM_HTTP_HEADERS_MAX) {
        r->headers_cut = 1;
        return len;
    }

    nlen = (size_t) (colon - p);
    v = colon + 1;

    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }

    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    r->hnames[r->nheaders] = strndup(p, nlen);
    r->hvalues[r->nheaders] = strndup(v, (size_t) (end - v));

    if (r->hnames[r->nheaders] == NULL || r->hvalues[r->nheaders] == NULL) {
        free(r->hnames[r->nheaders]);
        free(r->hvalues[r->nheaders]);
        return 0;
    }

    r->nheaders++;
    return len;
}


const char *
em_http_header(const em_http_req_t *r, const char *name)
{
    size_t  i;

    for (i = r->nheaders; i > 0; i--) {
        if (strcasecmp(r->hnames[i - 1], name) == 0) {
            return r->hvalues[i - 1];
        }
    }

    return NULL;
}


void
em_http_req_reset(em_http_req_t *r)
{
    em_http_headers_clear(r);
    em_buf_free(&r->body);
    em_buf_init(&r->body);
    r->body_total = 0;
    r->status = 0;
    r->result = CURLE_OK;
    r->seconds = 0;
    r->errbuf[0] = '\0';

    if (r->headers != NULL) {
        curl_slist_free_all(r->headers);
        r->headers = NULL;
    }
}


int
em_http_post(em_http_t *h, em_http_req_t *r, const char *url,
    const void *body, size_t len, int64_t timeout_ns)
{
    CURL      *e;
    CURLMcode  mc;
    long       ms;

    r->errbuf[0] = '\0';
    r->status = 0;
    r->result = CURLE_OK;

    e = h->neasy > 0 ? h->easy[--h->neasy] : curl_easy_init();
    if (e == NULL) {
        snprintf(r->errbuf, sizeof(r->errbuf), "cannot set up a transfer");
        return EM_ERROR;
    }

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT,
                     "event-mesh-dispatcher/" EM_DISPATCHER_VERSION);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, em_http_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, em_http_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, em_http_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, em_http_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, h);

    /* always: a reused handle keeps what the last transfer set */
    ms = timeout_ns > 0 ? (long) ((timeout_ns + 999999) / 1000000) : 0;
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);

    em_buf_init(&r->body);
    r->body_total = 0;
    r->started_ms = uv_now(h->loop);

    mc = curl_multi_add_handle(h->multi, e);
    if (mc != CURLM_OK) {
        snprintf(r->errbuf, sizeof(r->errbuf), "%s",
                 curl_multi_strerror(mc));
        em_http_easy_put(h, e);
        return EM_ERROR;
    }

    r->easy = e;
    h->running++;
    return EM_OK;
}


void
em_http_cancel(em_http_t *h, em_http_req_t *r)
{
    if (r->easy == NULL) {
        return;
    }

    curl_multi_remove_handle(h->multi, r->easy);
    em_http_easy_put(h, r->easy);
    r->easy = NULL;
    h->running--;
}


unsigned
em_http_running(const em_http_t *h)
{
    return h->running;
}


void
em_http_close(em_http_t *h, void (*done)(void *data), void *data)
{
    em_http_sock_t  *sk;

    h->closing = 1;
    h->done = done;
    h->done_data = data;

    /*
     * Stop watching while the descriptors are still open, then let curl
     * close its cached connections: the close-socket callback finds no
     * handle left and only closes.
     */
    while ((sk = h->socks) != NULL) {
        em_http_sock_close(h, sk);
    }

    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, NULL);
    curl_multi_cleanup(h->multi);
    h->multi = NULL;

    while (h->neasy > 0) {
        curl_easy_cleanup(h->easy[--h->neasy]);
    }

    uv_timer_stop(&h->timer);
    uv_close((uv_handle_t *) &h->timer, em_http_handle_closed);
}
