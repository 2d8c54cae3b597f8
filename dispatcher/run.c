/*
 * The daemon.
 *
 * Architecture
 * ------------
 * One libuv loop thread owns all delivery state: the trigger runtimes, the
 * events in delivery, the counters, the libcurl multi handle (driven by
 * curl_multi_socket_action from uv_poll and uv_timer callbacks), the
 * retry timers, the admin HTTP server and the signals (SIGHUP reloads;
 * SIGTERM and SIGINT stop gracefully).  Nothing on it blocks.
 *
 * Blocking work happens elsewhere and reports back to the loop:
 *
 *   - each trigger has a thread (consumer.c) that owns its JetStream calls:
 *     it creates or updates the durable pull consumer and keeps a window
 *     of pull requests outstanding; the messages arrive on cnats' delivery
 *     thread of the trigger's inbox, which hands them to the loop through
 *     a mutex-protected queue and a uv_async;
 *   - libuv's thread pool runs the rest: reading the configuration on
 *     SIGHUP, provisioning the brokers' streams, storing replies
 *     (js_PublishMsg waits for the PubAck), refreshing consumer lag;
 *   - cnats runs the connection on its own threads; its handlers only flip
 *     an atomic and log.
 *
 * An event holds its in-flight slot from its arrival until it is acked,
 * termed or naked; the consumer's MaxAckPending is that bound, so it holds
 * across several dispatcher processes sharing the durable.
 *
 * Reload builds a new configuration generation off the loop, and on
 * success compares it with the running triggers by (namespace, name):
 * removed triggers stop fetching, finish what they hold and delete their
 * consumer; changed ones are replaced by a runtime of the new generation
 * (the consumer is updated in place, or recreated from its ack floor),
 * while the old runtime finishes its events with the old settings;
 * unchanged ones go on untouched.  A generation lives as long as a
 * runtime uses it.  On any error the running set stays as it is.
 *
 * A graceful stop stops fetching, naks the events waiting for a retry
 * (another dispatcher may take them at once), lets running attempts end
 * for up to EM_RUN_GRACE_MS, naks the rest, and exits once every trigger
 * thread has ended.
 */

#include "run.h"
#include "admin_routes.h"
#include "deliver.h"
#include "provision.h"
#include "run_nats.h"

#include <curl/curl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define EM_RUN_GRACE_MS      10000
#define EM_RUN_TICK_MS       1000
#define EM_RUN_LAG_TICKS     5
#define EM_RUN_PROVISION_RETRY_TICKS  3


typedef struct {
    uv_work_t      work;
    em_run_t      *run;
    em_gen_t      *gen;
    em_diag_t      diag;
    int            rc;
    char          *out;
    size_t         outlen;
    int            reload;
} em_run_job_t;

typedef struct {
    uv_work_t      work;
    em_rt_t       *rt;
} em_run_lag_job_t;


static void em_run_provision(em_run_t *run, em_gen_t *gen, int reload);
static void em_run_reload(em_run_t *run);


uint64_t
em_run_now_ms(void)
{
    return uv_hrtime() / 1000000;
}


/* ---- generations --------------------------------------------------------- */

static em_gen_t *
em_gen_load(const char *path, em_diag_t *diag)
{
    em_gen_t  *gen;

    gen = calloc(1, sizeof(em_gen_t));
    if (gen == NULL) {
        em_diag_add(diag, path, 0, "out of memory");
        return NULL;
    }

    gen->refs = 1;

    if (em_config_load(&gen->cf, path, diag) != 0) {
        em_config_free(&gen->cf);
        free(gen);
        return NULL;
    }

    if (em_triggers_load(&gen->cf, &gen->set, diag) != 0) {
        em_triggers_free(&gen->set);
        em_config_free(&gen->cf);
        free(gen);
        return NULL;
    }

    return gen;
}


void
em_gen_unref(em_gen_t *gen)
{
    if (gen == NULL || --gen->refs > 0) {
        return;
    }

    em_triggers_free(&gen->set);
    em_config_free(&gen->cf);
    free(gen);
}


static void
em_gen_warnings(em_gen_t *gen)
{
    const em_diag_item_t  *w;
    size_t                 i;

    for (i = 0; i < gen->set.warnings.n; i++) {
        w = &gen->set.warnings.items[i];

        if (w->line) {
            em_log_warn("%s:%u: %s", w->file, w->line, w->msg);
        } else {
            em_log_warn("%s: %s", w->file, w->msg);
        }
    }
}


/* ---- finished messages -------------------------------------------------- */

/*
 * cnats frees messages on its garbage-collector thread and wakes that
 * thread for each one handed over while it sleeps: a futex wake-up and a
 * context switch per event.  Finished messages are freed together once
 * per loop iteration instead, and only then are their slots given back
 * (the subscription may go with the last slot).
 */
static void
em_run_msgs_done_cb(uv_check_t *c)
{
    em_run_t  *run;
    size_t     i, n;

    run = c->data;
    n = run->ndone;
    run->ndone = 0;
    uv_check_stop(c);

    for (i = 0; i < n; i++) {
        natsMsg_Destroy(run->done_msgs[i].msg);
    }

    for (i = 0; i < n; i++) {
        em_rt_release(run->done_msgs[i].rt);
    }
}


void
em_run_msg_done(em_run_t *run, em_rt_t *rt, natsMsg *msg)
{
    em_msg_done_t  *r;
    size_t         n;

    if (run->ndone == run->cdone) {
        n = run->cdone ? run->cdone * 2 : 256;
        r = realloc(run->done_msgs, n * sizeof(em_msg_done_t));

        if (r == NULL) {
            natsMsg_Destroy(msg);
            em_rt_release(rt);
            return;
        }

        run->done_msgs = r;
        run->cdone = n;
    }

    run->done_msgs[run->ndone].rt = rt;
    run->done_msgs[run->ndone].msg = msg;

    if (run->ndone++ == 0) {
        uv_check_start(&run->done_check, em_run_msgs_done_cb);
    }
}


/* ---- handoff from other threads ------------------------------------------ */

void
em_run_handoff(em_run_t *run, em_handoff_kind_t kind, em_rt_t *rt,
    natsMsg *msg)
{
    em_handoff_t  *h;

    h = malloc(sizeof(em_handoff_t));

    while (h == NULL) {
        if (kind == EM_HANDOFF_MSG) {
            em_rt_hand_back(rt, msg);
            return;
        }

        /* the end of a thread must not be lost: try again */
        uv_sleep(10);
        h = malloc(sizeof(em_handoff_t));
    }

    h->kind = kind;
    h->rt = rt;
    h->msg = msg;
    h->next = NULL;

    pthread_mutex_lock(&run->ho_mu);

    if (run->ho_tail != NULL) {
        run->ho_tail->next = h;
    } else {
        run->ho_head = h;
    }

    run->ho_tail = h;
    pthread_mutex_unlock(&run->ho_mu);

    uv_async_send(&run->ho_async);
}


static void
em_run_rt_unlink_free(em_run_t *run, em_rt_t *rt)
{
    em_rt_t  **pp;

    for (pp = &run->rts; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == rt) {
            *pp = rt->next;
            break;
        }
    }

    em_rt_free(rt);
}


static void
em_run_rt_maybe_free(em_run_t *run, em_rt_t *rt)
{
    if (rt->done && rt->works == 0) {
        em_run_rt_unlink_free(run, rt);
        em_run_check_stopped(run);
    }
}


static void
em_run_handoff_cb(uv_async_t *a)
{
    em_run_t      *run;
    em_handoff_t  *h, *next;

    run = a->data;

    pthread_mutex_lock(&run->ho_mu);
    h = run->ho_head;
    run->ho_head = NULL;
    run->ho_tail = NULL;
    pthread_mutex_unlock(&run->ho_mu);

    for ( /* void */ ; h != NULL; h = next) {
        next = h->next;

        switch (h->kind) {

        case EM_HANDOFF_MSG:
            em_dl_start(run, h->rt, h->msg);
            break;

        case EM_HANDOFF_DONE:
            h->rt->done = 1;
            em_run_rt_maybe_free(run, h->rt);
            break;
        }

        free(h);
    }
}


/* ---- triggers ------------------------------------------------------------ */

static em_rt_t *
em_run_add_trigger(em_run_t *run, em_gen_t *gen, const em_trigger_t *t)
{
    em_rt_t  *rt, *old;

    rt = em_rt_new(run, gen, t);
    if (rt == NULL) {
        em_log_error("trigger %s/%s: out of memory: not started", t->ns,
                     t->name);
        return NULL;
    }

    /*
     * A trigger removed and added back before its old runtime finished
     * must keep its consumer.
     */
    for (old = run->rts; old != NULL; old = old->next) {
        if (old->retired && strcmp(old->spec.name, rt->spec.name) == 0
            && strcmp(old->spec.stream, rt->spec.stream) == 0)
        {
            pthread_mutex_lock(&old->mu);
            old->delete_consumer = 0;
            pthread_mutex_unlock(&old->mu);
        }
    }

    rt->next = run->rts;
    run->rts = rt;

    if (em_rt_start(rt) != EM_OK) {
        rt->done = 1;
        rt->retired = 1;
        em_run_rt_maybe_free(run, rt);
        return NULL;
    }

    return rt;
}


static void
em_run_retire(em_rt_t *rt, int delete_consumer)
{
    rt->retired = 1;
    em_rt_stop(rt, delete_consumer);
}


static int
em_run_same_trigger(const em_rt_t *rt, const em_trigger_t *t)
{
    em_consumer_spec_t  spec;
    int                 same;

    if (strcmp(rt->t->digest, t->digest) != 0
        || (rt->t->broker_conf == NULL) != (t->broker_conf == NULL))
    {
        return 0;
    }

    if (em_consumer_spec_init(&spec, t) != EM_OK) {
        return 0;
    }

    same = em_consumer_spec_same(&rt->spec, &spec);
    em_consumer_spec_free(&spec);

    return same;
}


static void
em_run_apply(em_run_t *run, em_gen_t *gen)
{
    em_rt_t             *rt, *next;
    const em_trigger_t  *t;
    unsigned char       *kept;
    em_consumer_spec_t   spec;
    unsigned             added, changed, removed, unchanged;
    int                  del;
    size_t               i;

    kept = calloc(gen->set.n ? gen->set.n : 1, 1);
    if (kept == NULL) {
        em_log_error("reload: out of memory: the previous configuration "
                     "stays in force");
        em_gen_unref(gen);
        return;
    }

    added = changed = removed = unchanged = 0;

    for (rt = run->rts; rt != NULL; rt = next) {
        next = rt->next;

        if (rt->retired) {
            continue;
        }

        t = em_trigger_find(&gen->set, rt->t->ns, rt->t->name);

        if (t == NULL) {
            em_log_info("trigger %s/%s removed: its consumer goes once its "
                        "%u event%s in flight are done", rt->t->ns,
                        rt->t->name, rt->stats->in_flight,
                        rt->stats->in_flight == 1 ? "" : "s");
            em_run_retire(rt, 1);
            removed++;
            continue;
        }

        kept[t - gen->set.items] = 1;

        if (em_run_same_trigger(rt, t)) {
            unchanged++;
            continue;
        }

        /* another stream: the old consumer has no future there */
        del = 1;
        if (em_consumer_spec_init(&spec, t) == EM_OK) {
            del = strcmp(spec.stream, rt->spec.stream) != 0;
            em_consumer_spec_free(&spec);
        }

        em_log_info("trigger %s/%s changed (%s:%u)", t->ns, t->name, t->file,
                    t->line);
        em_run_retire(rt, del);
        (void) em_run_add_trigger(run, gen, t);
        changed++;
    }

    for (i = 0; i < gen->set.n; i++) {
        if (!kept[i]) {
            t = &gen->set.items[i];
            em_log_info("trigger %s/%s added (%s:%u): %s", t->ns, t->name,
                        t->file, t->line, t->subscriber_uri);
            (void) em_run_add_trigger(run, gen, t);
            added++;
        }
    }

    free(kept);

    /* compared with what runs: the last file may have said it already */
    if (run->admin_listen != NULL
        && strcmp(run->admin_listen, gen->cf.admin_listen) != 0)
    {
        em_log_warn("reload: admin.listen changed to %s: it takes effect at "
                    "the next start (still on %s)", gen->cf.admin_listen,
                    run->admin_listen);
    }

    em_gen_unref(run->gen);
    run->gen = gen;

    em_log_info("%s %zu trigger%s: %u added, %u changed, %u removed, %u "
                "unchanged", run->started ? "reloaded:" : "started with",
                gen->set.n, gen->set.n == 1 ? "" : "s", added, changed,
                removed, unchanged);

    run->started = 1;
}


/* ---- provisioning and reload (thread pool) ------------------------------- */

static void
em_run_provision_work(uv_work_t *w)
{
    em_run_job_t  *job;
    FILE          *f;

    job = w->data;

    f = open_memstream(&job->out, &job->outlen);
    if (f == NULL) {
        job->rc = -1;
        return;
    }

    job->rc = em_provision(&job->gen->cf, f);
    fclose(f);
}


static void
em_run_provision_after(uv_work_t *w, int status)
{
    em_run_job_t  *job;
    em_run_t      *run;
    char          *line, *save;

    job = w->data;
    run = job->run;

    if (job->out != NULL) {
        for (line = strtok_r(job->out, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save))
        {
            if (strstr(line, " unchanged") != NULL) {
                em_log_debug("%s", line);
            } else {
                em_log_info("%s", line);
            }
        }

        free(job->out);
    }

    if (status != 0 || job->rc != 0) {
        em_log_warn("the brokers' streams could not all be provisioned: "
                    "trying again in %d s", EM_RUN_PROVISION_RETRY_TICKS);
    }

    if (job->gen == run->gen || job->reload || !run->started) {
        run->provisioned = status == 0 && job->rc == 0;
    }

    run->provisioning = 0;

    if (run->stopping) {
        em_gen_unref(job->gen);

    } else if (job->reload || !run->started) {
        /* consumers come after the streams they live in */
        em_run_apply(run, job->gen);

    } else {
        em_gen_unref(job->gen);
    }

    free(job);

    /* a SIGHUP that came while this ran */
    if (run->reload_again && !run->stopping && !run->reloading) {
        run->reload_again = 0;
        em_run_reload(run);
    }

    em_run_check_stopped(run);
}


static void
em_run_provision(em_run_t *run, em_gen_t *gen, int reload)
{
    em_run_job_t  *job;

    job = calloc(1, sizeof(em_run_job_t));
    if (job == NULL) {
        em_log_error("out of memory: streams not provisioned");
        if (reload || !run->started) {
            em_run_apply(run, gen);
        } else {
            em_gen_unref(gen);
        }
        return;
    }

    job->run = run;
    job->gen = gen;
    job->reload = reload;
    job->work.data = job;
    run->provisioning = 1;

    if (uv_queue_work(&run->loop, &job->work, em_run_provision_work,
                      em_run_provision_after) != 0)
    {
        run->provisioning = 0;
        free(job);
        if (reload || !run->started) {
            em_run_apply(run, gen);
        } else {
            em_gen_unref(gen);
        }
    }
}


static void
em_run_reload_work(uv_work_t *w)
{
    em_run_job_t  *job;

    job = w->data;
    job->gen = em_gen_load(job->run->config_path, &job->diag);
}


static void
em_run_reload_after(uv_work_t *w, int status)
{
    em_run_job_t  *job;
    em_run_t      *run;
    size_t         n;

    job = w->data;
    run = job->run;
    run->reloading = 0;

    if (run->stopping) {
        em_gen_unref(job->gen);

    } else if (status != 0 || job->gen == NULL) {
        run->metrics.reload_failures++;
        em_diag_print(&job->diag, stderr);
        n = em_diag_count(&job->diag);
        em_log_error("reload of %s failed (%zu problem%s above): the "
                     "previous configuration stays in force",
                     run->config_path, n, n == 1 ? "" : "s");

    } else {
        run->metrics.reloads++;
        em_gen_warnings(job->gen);

        /* streams first, then the triggers' consumers */
        em_run_provision(run, job->gen, 1);
    }

    em_diag_free(&job->diag);
    free(job);

    if (run->reload_again && !run->stopping && !run->provisioning) {
        run->reload_again = 0;
        em_run_reload(run);
    }

    em_run_check_stopped(run);
}


static void
em_run_reload(em_run_t *run)
{
    em_run_job_t  *job;

    if (run->reloading || run->provisioning) {
        run->reload_again = 1;
        return;
    }

    job = calloc(1, sizeof(em_run_job_t));
    if (job == NULL) {
        em_log_error("reload: out of memory");
        return;
    }

    em_log_info("reloading %s", run->config_path);

    job->run = run;
    job->work.data = job;
    em_diag_init(&job->diag);
    run->reloading = 1;

    if (uv_queue_work(&run->loop, &job->work, em_run_reload_work,
                      em_run_reload_after) != 0)
    {
        run->reloading = 0;
        em_diag_free(&job->diag);
        free(job);
        em_log_error("reload: cannot queue the work");
    }
}


/* ---- housekeeping -------------------------------------------------------- */

static void
em_run_lag_work(uv_work_t *w)
{
    em_run_lag_job_t  *job;

    job = w->data;
    em_rt_refresh_lag(job->rt);
}


static void
em_run_lag_after(uv_work_t *w, int status)
{
    em_run_lag_job_t  *job;
    em_rt_t           *rt;

    (void) status;

    job = w->data;
    rt = job->rt;
    free(job);

    pthread_mutex_lock(&rt->mu);
    rt->stats->pending_known = rt->pending_known;
    rt->stats->pending = rt->pending;
    rt->stats->ack_pending = rt->ack_pending;
    pthread_mutex_unlock(&rt->mu);

    rt->works--;
    rt->lag_busy = 0;
    em_run_rt_maybe_free(rt->run, rt);
}


static void
em_run_refresh_lag(em_run_t *run)
{
    em_run_lag_job_t  *job;
    em_rt_t           *rt;
    int                ready;

    for (rt = run->rts; rt != NULL; rt = rt->next) {
        if (rt->retired || rt->done || rt->lag_busy) {
            continue;
        }

        pthread_mutex_lock(&rt->mu);
        ready = rt->ready;
        pthread_mutex_unlock(&rt->mu);

        if (!ready) {
            continue;
        }

        job = calloc(1, sizeof(em_run_lag_job_t));
        if (job == NULL) {
            return;
        }

        job->rt = rt;
        job->work.data = job;

        if (uv_queue_work(&run->loop, &job->work, em_run_lag_work,
                          em_run_lag_after) != 0)
        {
            free(job);
            return;
        }

        rt->works++;
        rt->lag_busy = 1;
    }
}


static void
em_run_tick(uv_timer_t *t)
{
    em_run_t  *run;

    run = t->data;
    run->ticks++;

    em_dl_tick(run, uv_now(&run->loop));

    if (run->stopping) {
        return;
    }

    if (run->ticks % EM_RUN_LAG_TICKS == 0 && atomic_load(&run->nats_up)) {
        em_run_refresh_lag(run);
    }

    if (!run->provisioned && !run->provisioning && !run->reloading
        && run->started && run->ticks % EM_RUN_PROVISION_RETRY_TICKS == 0
        && atomic_load(&run->nats_up))
    {
        run->gen->refs++;
        em_run_provision(run, run->gen, 0);
    }
}


/* ---- stopping ------------------------------------------------------------ */

static void
em_run_handle_closed(uv_handle_t *h)
{
    (void) h;
}


static void
em_run_admin_closed(void *data)
{
    (void) data;
}


static void
em_run_http_closed(void *data)
{
    (void) data;
}


void
em_run_check_stopped(em_run_t *run)
{
    if (!run->stopping || run->closing || run->rts != NULL
        || run->dls != NULL || run->reloading || run->provisioning)
    {
        return;
    }

    run->closing = 1;

    em_log_info("every event is acked or handed back: exiting");

    em_admin_close(run->admin, em_run_admin_closed, NULL);
    run->admin = NULL;

    if (run->http != NULL) {
        em_http_close(run->http, em_run_http_closed, NULL);
        run->http = NULL;
    }

    uv_timer_stop(&run->tick);
    uv_timer_stop(&run->grace);
    uv_close((uv_handle_t *) &run->tick, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->grace, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->sighup, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->sigterm, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->sigint, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->ho_async, em_run_handle_closed);
    uv_close((uv_handle_t *) &run->done_check, em_run_handle_closed);
}


static void
em_run_grace_over(uv_timer_t *t)
{
    em_run_t  *run;

    run = t->data;

    if (run->dls != NULL) {
        em_log_warn("grace period over: %u event%s still in delivery "
                    "handed back to JetStream", run->ndls,
                    run->ndls == 1 ? "" : "s");
    }

    em_dl_abort_all(run);
}


static void
em_run_stop(em_run_t *run, int signum)
{
    em_rt_t     *rt;
    const char  *name;

    name = signum == SIGINT ? "SIGINT" : "SIGTERM";

    if (run->stopping) {
        em_log_warn("%s again: handing every event back now", name);
        em_dl_abort_all(run);
        return;
    }

    run->stopping = 1;

    em_log_info("%s: stopping (%u event%s in delivery; running attempts "
                "get up to %d s)", name, run->ndls, run->ndls == 1 ? "" : "s",
                EM_RUN_GRACE_MS / 1000);

    for (rt = run->rts; rt != NULL; rt = rt->next) {
        em_rt_stop(rt, 0);
    }

    em_dl_stop_waiting(run);

    uv_timer_start(&run->grace, em_run_grace_over, EM_RUN_GRACE_MS, 0);
    em_run_check_stopped(run);
}


static void
em_run_signal(uv_signal_t *s, int signum)
{
    em_run_t  *run;

    run = s->data;

    if (signum == SIGHUP) {
        if (!run->stopping) {
            em_run_reload(run);
        }
        return;
    }

    em_run_stop(run, signum);
}


/* ---- main ---------------------------------------------------------------- */

static int
em_run_init_loop(em_run_t *run, em_buf_t *err)
{
    em_config_t  *cf;

    cf = &run->gen->cf;

    uv_async_init(&run->loop, &run->ho_async, em_run_handoff_cb);
    run->ho_async.data = run;
    uv_check_init(&run->loop, &run->done_check);
    run->done_check.data = run;

    uv_timer_init(&run->loop, &run->tick);
    run->tick.data = run;
    uv_timer_init(&run->loop, &run->grace);
    run->grace.data = run;

    uv_signal_init(&run->loop, &run->sighup);
    uv_signal_init(&run->loop, &run->sigterm);
    uv_signal_init(&run->loop, &run->sigint);
    run->sighup.data = run;
    run->sigterm.data = run;
    run->sigint.data = run;

    uv_signal_start(&run->sighup, em_run_signal, SIGHUP);
    uv_signal_start(&run->sigterm, em_run_signal, SIGTERM);
    uv_signal_start(&run->sigint, em_run_signal, SIGINT);

    if (em_http_init(&run->http, &run->loop, err) != EM_OK) {
        return EM_ERROR;
    }

    if (em_admin_start(&run->admin, &run->loop, cf->admin_host,
                       cf->admin_port, em_admin_routes, run, err) != EM_OK)
    {
        return EM_ERROR;
    }

    run->admin_listen = strdup(cf->admin_listen);
    if (run->admin_listen == NULL) {
        em_buf_reset(err);
        (void) em_buf_printf(err, "out of memory");
        return EM_ERROR;
    }

    em_log_info("admin HTTP on %s: /healthz /readyz /metrics /triggers "
                "/v1/subscribed/{app}", cf->admin_listen);

    uv_timer_start(&run->tick, em_run_tick, EM_RUN_TICK_MS, EM_RUN_TICK_MS);
    return EM_OK;
}


static void
em_run_walk_close(uv_handle_t *h, void *arg)
{
    (void) arg;

    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}


int
em_run(const char *config_path)
{
    em_run_t   *run;
    em_dl_t    *dl, *next;
    em_diag_t   diag;
    em_buf_t    err;
    size_t      n;
    int         rc, loop_ok;

    em_log_setup(em_log_current, EM_LOG_STYLE_STAMPED);
    signal(SIGPIPE, SIG_IGN);

    run = calloc(1, sizeof(em_run_t));
    if (run == NULL) {
        em_log_error("out of memory");
        return 1;
    }

    run->config_path = config_path;
    em_metrics_init(&run->metrics);
    pthread_mutex_init(&run->ho_mu, NULL);
    atomic_init(&run->nats_up, 0);
    atomic_init(&run->nats_disconnects, 0);
    em_buf_init(&err);
    em_diag_init(&diag);
    loop_ok = 0;
    rc = 1;

    run->gen = em_gen_load(config_path, &diag);
    if (run->gen == NULL) {
        em_diag_print(&diag, stderr);
        n = em_diag_count(&diag);
        em_log_error("%s: %zu problem%s found", config_path, n,
                     n == 1 ? "" : "s");
        goto done;
    }

    em_gen_warnings(run->gen);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        em_log_error("cannot set up libcurl");
        goto done;
    }

    if (uv_loop_init(&run->loop) != 0) {
        em_log_error("cannot set up the event loop");
        curl_global_cleanup();
        goto done;
    }

    loop_ok = 1;

    if (em_run_init_loop(run, &err) != EM_OK) {
        em_log_error("%s", err.data ? err.data : "cannot start");
        goto stop_loop;
    }

    if (em_run_nats_connect(run, &run->gen->cf, &err) != EM_OK) {
        em_log_error("%s", err.data ? err.data : "cannot connect to NATS");
        goto stop_loop;
    }

    /* streams first; the triggers start when they are there */
    run->gen->refs++;
    em_run_provision(run, run->gen, 0);

    uv_run(&run->loop, UV_RUN_DEFAULT);
    rc = run->exit_code;
    goto cleanup;

stop_loop:

    /* a start that failed half way: close whatever was opened */
    em_admin_close(run->admin, NULL, NULL);
    run->admin = NULL;
    if (run->http != NULL) {
        em_http_close(run->http, NULL, NULL);
        run->http = NULL;
    }
    uv_walk(&run->loop, em_run_walk_close, NULL);
    uv_run(&run->loop, UV_RUN_DEFAULT);
    rc = 1;

cleanup:

    if (loop_ok) {
        (void) uv_loop_close(&run->loop);
    }

    em_run_nats_close(run);

    if (loop_ok) {
        curl_global_cleanup();
    }

done:

    /*
     * cnats calls its handlers (with run) from its own threads, even
     * after the connection is destroyed: join them before run goes.
     */
    nats_CloseAndWait(2000);

    em_gen_unref(run->gen);
    free(run->admin_listen);
    em_metrics_free(&run->metrics);
    pthread_mutex_destroy(&run->ho_mu);
    em_diag_free(&diag);
    em_buf_free(&err);
    free(run->done_msgs);

    for (dl = run->dl_free; dl != NULL; dl = next) {
        next = dl->next;
        free(dl);
    }

    free(run);

    return rc;
}
