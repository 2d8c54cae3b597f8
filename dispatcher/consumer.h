/*
 * A trigger's runtime: its durable JetStream pull consumer, the thread
 * that sets it up, and the pull requests that bring its messages.
 *
 * The thread owns every blocking JetStream call of the trigger (create,
 * update or delete the consumer) so that the loop thread never waits for
 * NATS.  Messages arrive on cnats' delivery thread of the trigger's inbox
 * subscription, which hands them to the loop (em_run_handoff()) and keeps
 * a window of pull requests outstanding (consumer.c explains why).
 */

#ifndef EM_DISPATCHER_CONSUMER_H
#define EM_DISPATCHER_CONSUMER_H

#include "metrics.h"
#include "trigger.h"

#include <nats/nats.h>

#include <pthread.h>
#include <stdint.h>

#define EM_CONSUMER_NAME_MAX   128

/* a pull request lives this long; silence beyond it plus the slack means
   the window was lost */
#define EM_PULL_EXPIRES_MS     20000
#define EM_PULL_SLACK_MS       5000

/* what em_rt_ack() publishes to a message's reply subject */
#define EM_ACK_ACK             "+ACK"
#define EM_ACK_NAK             "-NAK"
#define EM_ACK_TERM            "+TERM"
#define EM_ACK_PROGRESS        "+WPI"

/* Bounds of the consumer's ack wait (see em_consumer_ack_wait()). */
#define EM_ACK_WAIT_MIN   (INT64_C(5) * 1000000000)
#define EM_ACK_WAIT_MAX   (INT64_C(60) * 1000000000)
#define EM_ACK_WAIT_SLACK (INT64_C(2) * 1000000000)

/* Consecutive transport failures that make a subscriber "unreachable". */
#define EM_UNREACHABLE_AFTER  3

typedef struct em_run_s  em_run_t;
typedef struct em_gen_s  em_gen_t;
typedef struct em_rt_s   em_rt_t;

/* The consumer a trigger needs; a change of any field is a change. */
typedef struct {
    char          *stream;          /* EM_<ns>_<broker> */
    char          *filter_subject;  /* exact type pushed down, or wildcard */
    char           name[EM_CONSUMER_NAME_MAX];
    int64_t        ack_wait;        /* ns */
    int64_t        max_ack_pending;
    int64_t        inactive;        /* ns; the broker's maxInactivity */
} em_consumer_spec_t;

struct em_rt_s {
    em_run_t              *run;
    em_gen_t              *gen;         /* keeps t and its broker alive */
    const em_trigger_t    *t;
    em_stats_t            *stats;
    em_consumer_spec_t     spec;
    unsigned               limit;       /* in-flight bound */

    pthread_t              thread;
    pthread_mutex_t        mu;
    pthread_cond_t         cv;

    char                   inbox[64];   /* where our messages come */
    char                  *next_subject; /* where pull requests go */

    /* under mu */
    unsigned               held;        /* given to the loop, not finished */
    int64_t                requested;   /* asked for, not arrived */
    uint64_t               seen_ms;     /* last message or status */
    uint64_t               pull_pause_until;
    unsigned               pulling:1;   /* the consumer is set up */
    unsigned               resetup:1;   /* it is gone: set it up again */
    unsigned               sub_open:1;  /* callbacks may still come */
    unsigned               stop:1;      /* stop fetching, then end */
    unsigned               delete_consumer:1;
    unsigned               ready:1;
    unsigned               pending_known:1;
    char                   reason[32];
    char                   message[384];
    uint64_t               pending;
    uint64_t               ack_pending;

    /* loop thread only */
    unsigned               thread_started:1;
    unsigned               done:1;      /* the thread has ended */
    unsigned               retired:1;   /* gone from the configuration */
    unsigned               lag_busy:1;
    unsigned               works;       /* thread pool jobs using rt */
    unsigned               failures;    /* consecutive transport errors */
    char                   last_failure[256];
    double                 last_warn;   /* rate limit of repeated warnings */
    em_rt_t               *next;

    /* thread only */
    natsSubscription      *sub;
};

/*
 * The consumer a trigger needs under cf.  Returns EM_OK, or EM_ERROR when
 * out of memory.  Free with em_consumer_spec_free().
 */
int em_consumer_spec_init(em_consumer_spec_t *spec, const em_trigger_t *t);
void em_consumer_spec_free(em_consumer_spec_t *spec);
int em_consumer_spec_same(const em_consumer_spec_t *a,
    const em_consumer_spec_t *b);

/*
 * The ack wait of a trigger's consumer: every attempt and wait of one
 * event (em_retry_budget()) plus slack, within [EM_ACK_WAIT_MIN,
 * EM_ACK_WAIT_MAX].  Deliveries that take longer keep their message with
 * natsMsg_InProgress(), so the cap only bounds how long a crashed
 * dispatcher's events wait before JetStream hands them to another one.
 */
int64_t em_consumer_ack_wait(const em_trigger_t *t);

/* Allocates a runtime for t (stopped); NULL when out of memory. */
em_rt_t *em_rt_new(em_run_t *run, em_gen_t *gen, const em_trigger_t *t);

/* Starts the fetching thread.  EM_OK or EM_ERROR. */
int em_rt_start(em_rt_t *rt);

/*
 * Asks the thread to stop fetching; once every message it fetched is
 * finished it deletes the consumer when delete_consumer, and ends
 * (EM_HANDOFF_DONE).
 */
void em_rt_stop(em_rt_t *rt, int delete_consumer);

/* The loop finished one message of rt (acked, termed or naked). */
void em_rt_release(em_rt_t *rt);

/*
 * Acks, naks, terms or extends msg (EM_ACK_*): a publish to its reply
 * subject on the shared connection, never a wait for the server.
 */
natsStatus em_rt_ack(em_rt_t *rt, natsMsg *msg, const char *what);

/*
 * Out of memory for msg of rt: logs it, naks it (JetStream offers it again
 * at once), frees it and gives its slot back.  Any thread.
 */
void em_rt_hand_back(em_rt_t *rt, natsMsg *msg);

/* Status for /triggers, copied under the lock. */
void em_rt_status(em_rt_t *rt, int *ready, char *reason, size_t rsize,
    char *message, size_t msize);

/* Joins the ended thread and frees rt. */
void em_rt_free(em_rt_t *rt);

/* Thread pool job: refreshes rt's lag from the consumer info. */
void em_rt_refresh_lag(em_rt_t *rt);

#endif /* EM_DISPATCHER_CONSUMER_H */
