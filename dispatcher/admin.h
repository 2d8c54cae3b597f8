/*
 * The admin HTTP server: a small, strict HTTP/1.1 server on the loop
 * thread for GET and HEAD of a few paths (/healthz, /readyz, /metrics,
 * /triggers, /v1/subscribed/{app}).  Bodies are built synchronously by a
 * handler, from state that only the loop thread touches.
 */

#ifndef EM_DISPATCHER_ADMIN_H
#define EM_DISPATCHER_ADMIN_H

#include <eventmesh/em.h>

#include <uv.h>

#include <stddef.h>

#define EM_ADMIN_HEAD_MAX     8192    /* request line and headers */
#define EM_ADMIN_TARGET_MAX   1024    /* request target */
#define EM_ADMIN_HEADERS_MAX  64
#define EM_ADMIN_CONNS_MAX    64
#define EM_ADMIN_IDLE_MS      10000   /* a connection without a request */

typedef enum {
    EM_ADMIN_GET = 0,
    EM_ADMIN_HEAD
} em_admin_method_t;

typedef struct {
    em_admin_method_t  method;
    char               path[EM_ADMIN_TARGET_MAX + 1];  /* no query */
    size_t             path_len;
    unsigned           http11:1;
    unsigned           keep_alive:1;
} em_admin_req_t;

/*
 * Parses one request head at the start of buf.
 *   > 0  a complete request head of that many bytes
 *   0    incomplete: more bytes are needed (a head cannot be longer than
 *        EM_ADMIN_HEAD_MAX: past that the caller answers 431)
 *   < 0  the request is refused with status -rc: 400 malformed (or a
 *        body, which these paths never take), 405 a method other than GET
 *        and HEAD, 414 target too long, 431 too many headers, 505 an HTTP
 *        version other than 1.0 and 1.1
 * *why (static) says why on < 0.
 */
int em_admin_parse(const char *buf, size_t len, em_admin_req_t *req,
    const char **why);

/* Decodes %XX in place for one path segment; -1 on a bad escape or NUL. */
int em_admin_pct_decode(char *s, size_t *len);

typedef struct {
    int          status;
    const char  *content_type;      /* NULL: text/plain; charset=utf-8 */
    const char  *allow;             /* Allow header for 405, or NULL */
    em_buf_t     body;
} em_admin_answer_t;

/* Status line reason phrase. */
const char *em_admin_reason(int status);

/*
 * Appends the whole response (head, and body unless head_only) to out.
 */
int em_admin_write_response(em_buf_t *out, const em_admin_answer_t *ans,
    int head_only, int keep_alive);

typedef void (*em_admin_handler_pt)(void *ctx, const em_admin_req_t *req,
    em_admin_answer_t *ans);

typedef struct em_admin_s  em_admin_t;

/*
 * Listens on host:port (a numeric IPv4 or IPv6 address, or a name that
 * resolves to one).  Returns EM_OK, or EM_ERROR with err set.
 */
int em_admin_start(em_admin_t **a, uv_loop_t *loop, const char *host,
    unsigned port, em_admin_handler_pt handler, void *ctx, em_buf_t *err);

/*
 * Closes the listener and every connection; the memory goes when the
 * loop has run the close callbacks.  done (may be NULL) is called then.
 */
void em_admin_close(em_admin_t *a, void (*done)(void *data), void *data);

#endif /* EM_DISPATCHER_ADMIN_H */
