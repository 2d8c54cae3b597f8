/*
 * What the admin server answers: health, readiness, metrics, the triggers'
 * status and Kyma's subscribed-events list.  Runs on the loop thread, so
 * it reads the runtime state directly.
 */

#include "admin_routes.h"
#include "consumer.h"
#include "metrics.h"
#include "nats_conn.h"
#include "subscribed.h"

#include "json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int
em_routes_text(em_admin_answer_t *ans, int status, const char *text)
{
    ans->status = status;
    return em_buf_append_str(&ans->body, text);
}


static void
em_routes_readyz(em_run_t *run, em_admin_answer_t *ans)
{
    em_buf_t  servers;

    if (run->stopping) {
        (void) em_routes_text(ans, 503, "not ready: stopping\n");
        return;
    }

    if (!run->started) {
        (void) em_routes_text(ans, 503, "not ready: starting (provisioning "
                              "the brokers' streams)\n");
        return;
    }

    if (atomic_load(&run->nats_up) && run->gen != NULL) {
        (void) em_routes_text(ans, 200, "ready\n");
        return;
    }

    em_buf_init(&servers);
    (void) em_nats_servers_text(&run->gen->cf, &servers);

    ans->status = 503;
    (void) em_buf_printf(&ans->body, "not ready: NATS is not connected "
                         "(%s)\n", servers.data ? servers.data : "");
    em_buf_free(&servers);
}


static void
em_routes_status(em_run_t *run, em_rt_t *rt, int *ready, char *reason,
    size_t rsize, char *message, size_t msize)
{
    em_rt_status(rt, ready, reason, rsize, message, msize);

    /* the consumer may be fine while the subscriber is not */
    if (*ready && rt->failures >= EM_UNREACHABLE_AFTER) {
        *ready = 0;
        snprintf(reason, rsize, "SubscriberUnreachable");
        snprintf(message, msize, "%u attempts in a row got no HTTP answer "
                 "from %s (last: %s)", rt->failures, rt->t->subscriber_uri,
                 rt->last_failure);
    }

    (void) run;
}


static int
em_routes_cmp(const void *a, const void *b)
{
    const em_rt_t  *x, *y;
    int             rc;

    x = *(em_rt_t *const *) a;
    y = *(em_rt_t *const *) b;

    rc = strcmp(x->t->ns, y->t->ns);
    return rc != 0 ? rc : strcmp(x->t->name, y->t->name);
}


static int
em_routes_json_field(em_buf_t *b, const char *sep, const char *name,
    const char *value)
{
    if (em_buf_printf(b, "%s\"%s\":", sep, name) != EM_OK) {
        return EM_ERROR;
    }

    if (value == NULL) {
        return em_buf_append_str(b, "null");
    }

    return em_json_append_string(b, value, strlen(value));
}


/*
 * "filter": the pairs of filter.attributes, {} for any other filter; a
 * filters dialect filter, which replaced them, follows as "filters": its
 * canonical text.
 */
static int
em_routes_filter(em_buf_t *b, const em_filter_t *f)
{
    const char  *name, *value;
    size_t       i, n;
    em_buf_t     text;
    int          rc;

    if (em_buf_append_str(b, ",\"filter\":{") != EM_OK) {
        return EM_ERROR;
    }

    n = em_filter_nattrs(f);

    for (i = 0; i < n; i++) {
        if (em_filter_attr_at(f, i, &name, &value) != 0) {
            break;
        }

        if (em_routes_json_field(b, i ? "," : "", name, value) != EM_OK) {
            return EM_ERROR;
        }
    }

    if (em_buf_append_str(b, "}") != EM_OK) {
        return EM_ERROR;
    }

    if (em_filter_kind(f) == EM_FILTER_TRUE
        || em_filter_kind(f) == EM_FILTER_ATTRIBUTES)
    {
        return EM_OK;
    }

    em_buf_init(&text);
    rc = em_filter_write(f, &text);

    if (rc == EM_OK) {
        rc = em_routes_json_field(b, ",", "filters", text.data);
    }

    em_buf_free(&text);
    return rc;
}


static int
em_routes_triggers_json(em_run_t *run, em_buf_t *b)
{
    em_rt_t    **list, *rt;
    size_t       n, i;
    int          ready, rc;
    char         reason[64], message[512];

    n = 0;
    for (rt = run->rts; rt != NULL; rt = rt->next) {
        n += !rt->retired;
    }

    list = calloc(n ? n : 1, sizeof(em_rt_t *));
    if (list == NULL) {
        return EM_ERROR;
    }

    i = 0;
    for (rt = run->rts; rt != NULL; rt = rt->next) {
        if (!rt->retired) {
            list[i++] = rt;
        }
    }

    qsort(list, n, sizeof(em_rt_t *), em_routes_cmp);

    rc = em_buf_append_str(b, "[");

    for (i = 0; i < n && rc == EM_OK; i++) {
        rt = list[i];
        em_routes_status(run, rt, &ready, reason, sizeof(reason), message,
                         sizeof(message));

        rc = em_buf_append_str(b, i ? ",\n{" : "\n{");

        if (rc == EM_OK) {
            rc = em_routes_json_field(b, "", "namespace", rt->t->ns);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "name", rt->t->name);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "broker", rt->t->broker);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "subscriber",
                                      rt->t->subscriber_uri);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "deadLetterSink",
                                      rt->t->delivery.dead_letter_uri);
        }
        if (rc == EM_OK) {
            rc = em_routes_filter(b, rt->t->filter);
        }
        if (rc == EM_OK) {
            rc = em_buf_printf(b, ",\"ready\":%s",
                               ready ? "true" : "false");
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "reason", reason);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "message", message);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "stream", rt->spec.stream);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "consumer", rt->spec.name);
        }
        if (rc == EM_OK) {
            rc = em_routes_json_field(b, ",", "filterSubject",
                                      rt->spec.filter_subject);
        }
        if (rc == EM_OK) {
            rc = em_buf_printf(b, ",\"inFlight\":%u,\"file\":",
                               rt->stats->in_flight);
        }
        if (rc == EM_OK) {
            rc = em_json_append_string(b, rt->t->file, strlen(rt->t->file));
        }
        if (rc == EM_OK) {
            rc = em_buf_printf(b, ",\"line\":%u}", rt->t->line);
        }
    }

    if (rc == EM_OK) {
        rc = em_buf_append_str(b, n ? "\n]\n" : "]\n");
    }

    free(list);
    return rc;
}


static void
em_routes_metrics(em_run_t *run, em_admin_answer_t *ans)
{
    em_rt_t   *rt;
    unsigned   n, ready;
    int        r;
    char       reason[64], message[512];

    n = 0;
    ready = 0;

    for (rt = run->rts; rt != NULL; rt = rt->next) {
        if (rt->retired) {
            continue;
        }

        n++;
        em_routes_status(run, rt, &r, reason, sizeof(reason), message,
                         sizeof(message));
        ready += r ? 1 : 0;
    }

    run->metrics.nats_disconnects = atomic_load(&run->nats_disconnects);

    if (em_metrics_render(&run->metrics, atomic_load(&run->nats_up), n,
                          ready, &ans->body) != EM_OK)
    {
        em_buf_reset(&ans->body);
        (void) em_routes_text(ans, 500, "out of memory\n");
        return;
    }

    ans->status = 200;
    ans->content_type = "text/plain; version=0.0.4; charset=utf-8";
}


static void
em_routes_subscribed(em_run_t *run, const char *app, size_t len,
    em_admin_answer_t *ans)
{
    char  name[EM_ADMIN_TARGET_MAX + 1];

    memcpy(name, app, len);
    name[len] = '\0';

    if (len == 0 || memchr(name, '/', len) != NULL
        || em_admin_pct_decode(name, &len) != 0 || len == 0)
    {
        (void) em_routes_text(ans, 404, "not found: use "
                              "/v1/subscribed/{application}\n");
        return;
    }

    if (em_subscribed_json(&run->gen->set, name, len, &ans->body) != EM_OK) {
        em_buf_reset(&ans->body);
        (void) em_routes_text(ans, 500, "out of memory\n");
        return;
    }

    ans->status = 200;
    ans->content_type = "application/json";
}


void
em_admin_routes(void *ctx, const em_admin_req_t *req, em_admin_answer_t *ans)
{
    em_run_t    *run;
    const char  *p;

    run = ctx;
    p = req->path;

    if (strcmp(p, "/healthz") == 0) {
        (void) em_routes_text(ans, 200, "ok\n");

    } else if (strcmp(p, "/readyz") == 0) {
        em_routes_readyz(run, ans);

    } else if (strcmp(p, "/metrics") == 0) {
        em_routes_metrics(run, ans);

    } else if (strcmp(p, "/triggers") == 0) {
        if (em_routes_triggers_json(run, &ans->body) != EM_OK) {
            em_buf_reset(&ans->body);
            (void) em_routes_text(ans, 500, "out of memory\n");
            return;
        }

        ans->status = 200;
        ans->content_type = "application/json";

    } else if (strncmp(p, "/v1/subscribed/", 15) == 0) {
        em_routes_subscribed(run, p + 15, req->path_len - 15, ans);

    } else {
        (void) em_routes_text(ans, 404, "not found: the paths are "
                              "/healthz, /readyz, /metrics, /triggers and "
                              "/v1/subscribed/{application}\n");
    }
}
