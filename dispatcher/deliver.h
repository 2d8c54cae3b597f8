/*
 * Delivery of events to subscribers and dead-letter sinks: HTTP POSTs with
 * libcurl's multi interface driven by the libuv loop, and the life of one
 * event from the moment it is fetched until it is acked, termed or naked.
 */

#ifndef EM_DISPATCHER_DELIVER_H
#define EM_DISPATCHER_DELIVER_H

#include "run.h"

#include <eventmesh/event.h>

#include <curl/curl.h>
#include <uv.h>

#include <stddef.h>
#include <stdint.h>

/* Response bytes kept; a longer body is read to its end and cut here. */
#define EM_HTTP_BODY_MAX     (256 * 1024)
#define EM_HTTP_HEADERS_MAX  100

/* Bytes of a failed response that go into knativeerrordata (before base64). */
#define EM_DLS_DATA_MAX      768

/* finished em_dl_t kept for reuse */
#define EM_DL_KEEP           1024

/* ---- HTTP (deliver_http.c) ----------------------------------------------- */

typedef struct em_http_req_s  em_http_req_t;

struct em_http_req_s {
    CURL                *easy;
    struct curl_slist   *headers;
    char                 errbuf[CURL_ERROR_SIZE];

    /* the outcome */
    CURLcode             result;
    long                 status;            /* 0 without an HTTP answer */
    double               seconds;
    em_buf_t             body;
    size_t               body_total;        /* bytes received, kept or not */
    char                *hnames[EM_HTTP_HEADERS_MAX];
    char                *hvalues[EM_HTTP_HEADERS_MAX];
    size_t               nheaders;
    unsigned             headers_cut:1;

    uint64_t             started_ms;
    void               (*done)(em_http_req_t *r);
    void                *data;
};

/*
 * The multi handle and its integration with the loop: curl tells which
 * sockets to watch (uv_poll) and when to call back (uv_timer).
 */
int em_http_init(em_http_t **h, uv_loop_t *loop, em_buf_t *err);

/*
 * POSTs body to url with the request's headers list; r->done is called on
 * the loop when it ends.  timeout_ns <= 0: no limit.  EM_OK, or EM_ERROR
 * with the reason in r->errbuf (done is then not called).
 */
int em_http_post(em_http_t *h, em_http_req_t *r, const char *url,
    const void *body, size_t len, int64_t timeout_ns);

/* Stops a transfer without calling done. */
void em_http_cancel(em_http_t *h, em_http_req_t *r);

/* Frees what a finished request holds, ready for the next one. */
void em_http_req_reset(em_http_req_t *r);

/* A response header's value (the last one of that name), or NULL. */
const char *em_http_header(const em_http_req_t *r, const char *name);

/* Transfers still running. */
unsigned em_http_running(const em_http_t *h);

/* Closes the handles; done(data) runs once the loop has let them go. */
void em_http_close(em_http_t *h, void (*done)(void *data), void *data);

/* ---- deliveries (deliver.c) ------------------------------------------- */

typedef enum {
    EM_DL_SENDING = 0,      /* an HTTP attempt is running */
    EM_DL_WAITING,          /* a retry timer is running */
    EM_DL_REPLYING,         /* the reply is being stored */
    EM_DL_FINISHED
} em_dl_state_t;

typedef enum {
    EM_DL_SUBSCRIBER = 0,
    EM_DL_DEAD_LETTER
} em_dl_phase_t;

struct em_dl_s {
    em_run_t            *run;
    em_rt_t             *rt;
    natsMsg             *msg;
    em_event_t          *ev;
    long                 ttl;               /* knativebrokerttl; -1 none */
    uint64_t             seq;               /* stream sequence */

    em_dl_state_t        state;
    em_dl_phase_t        phase;
    int                  attempt;           /* made in this phase */
    em_buf_t             body;              /* structured mode body */
    em_http_req_t        http;
    uv_timer_t          *timer;             /* retry wait, made on demand */

    /* the subscriber's last failure, for the dead-letter extensions */
    long                 fail_code;
    em_buf_t             fail_data;
    char                *fail_dest;
    char                 last[256];         /* the last failure, for logs */

    /* the reply being stored (reply.c) */
    void                *reply;

    uint64_t             fetched_ms;
    uint64_t             progress_ms;       /* last ack-wait extension */

    em_dl_t             *prev;
    em_dl_t             *next;
};

/* Takes a fetched message of rt (the loop owns msg from here on). */
void em_dl_start(em_run_t *run, em_rt_t *rt, natsMsg *msg);

/* Storing the reply ended: ok, or failed with the reason. */
void em_dl_reply_done(em_dl_t *dl, int ok, const char *error);

/*
 * Graceful stop: deliveries waiting for a retry are naked now (another
 * dispatcher may take them at once); running attempts may finish.
 */
void em_dl_stop_waiting(em_run_t *run);

/* End of the grace period: every delivery still running is naked. */
void em_dl_abort_all(em_run_t *run);

/* Housekeeping tick: keeps long deliveries' messages with InProgress. */
void em_dl_tick(em_run_t *run, uint64_t now_ms);

#endif /* EM_DISPATCHER_DELIVER_H */
