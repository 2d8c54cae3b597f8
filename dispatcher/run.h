/*
 * The daemon: `event-mesh-dispatcher -c FILE`.  See run.c for the
 * architecture.
 */

#ifndef EM_DISPATCHER_RUN_H
#define EM_DISPATCHER_RUN_H

#include "admin.h"
#include "config.h"
#include "consumer.h"
#include "log.h"
#include "metrics.h"
#include "trigger.h"

#include <nats/nats.h>
#include <uv.h>

#include <pthread.h>
#include <stdatomic.h>

typedef struct em_dl_s    em_dl_t;
typedef struct em_http_s  em_http_t;

/* One loaded configuration: dispatcher.yaml and its Trigger files. */
struct em_gen_s {
    em_config_t        cf;
    em_trigger_set_t   set;
    unsigned           refs;            /* loop thread */
};

typedef enum {
    EM_HANDOFF_MSG = 0,     /* a fetched message for rt */
    EM_HANDOFF_DONE         /* rt's thread has ended */
} em_handoff_kind_t;

typedef struct em_handoff_s  em_handoff_t;

typedef struct {
    em_rt_t            *rt;
    natsMsg            *msg;
} em_msg_done_t;

struct em_handoff_s {
    em_handoff_kind_t   kind;
    em_rt_t            *rt;
    natsMsg            *msg;
    em_handoff_t       *next;
};

struct em_run_s {
    uv_loop_t           loop;
    const char         *config_path;
    em_gen_t           *gen;            /* the configuration in force */
    char               *admin_listen;   /* where admin listens, as started */
    em_rt_t            *rts;            /* current and retiring triggers */
    em_dl_t            *dls;            /* events in delivery */
    unsigned            ndls;
    em_dl_t            *dl_free;        /* kept for the next events */
    unsigned            ndl_free;

    natsConnection     *nc;
    jsCtx              *js;
    atomic_int          nats_up;
    atomic_ulong        nats_disconnects;

    /* cnats threads -> loop */
    pthread_mutex_t     ho_mu;
    em_handoff_t       *ho_head;
    em_handoff_t       *ho_tail;
    uv_async_t          ho_async;

    /* finished messages, freed once per loop iteration */
    em_msg_done_t      *done_msgs;
    size_t              ndone;
    size_t              cdone;
    uv_check_t          done_check;

    em_http_t          *http;
    em_admin_t         *admin;
    em_metrics_t        metrics;

    uv_timer_t          tick;           /* 1 s housekeeping */
    uv_timer_t          grace;          /* graceful stop deadline */
    uv_signal_t         sighup;
    uv_signal_t         sigterm;
    uv_signal_t         sigint;

    uint64_t            ticks;
    unsigned            reloading:1;
    unsigned            reload_again:1;
    unsigned            stopping:1;
    unsigned            closing:1;
    unsigned            started:1;      /* first triggers created */
    unsigned            provisioning:1;
    unsigned            provisioned:1;  /* the streams of gen are there */
    int                 exit_code;
};

/* Runs the daemon until SIGTERM or SIGINT; returns the exit status. */
int em_run(const char *config_path);

/* From any thread: hands a message or an event to the loop thread. */
void em_run_handoff(em_run_t *run, em_handoff_kind_t kind, em_rt_t *rt,
    natsMsg *msg);

/* Milliseconds on the loop's monotonic clock, from any thread. */
/*
 * msg of rt is finished (acked, termed or naked): frees it and gives its
 * slot back, at the end of this loop iteration.  Loop thread.
 */
void em_run_msg_done(em_run_t *run, em_rt_t *rt, natsMsg *msg);

uint64_t em_run_now_ms(void);

void em_gen_unref(em_gen_t *gen);

/* The loop may be able to exit now (stopping, nothing left in flight). */
void em_run_check_stopped(em_run_t *run);

#endif /* EM_DISPATCHER_RUN_H */
