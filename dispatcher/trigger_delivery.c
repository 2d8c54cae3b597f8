/*
 * spec.delivery (Knative DeliverySpec): retry, backoffPolicy, backoffDelay,
 * timeout, retryAfterMax, deadLetterSink, format.  A Trigger's delivery is
 * taken as a whole; what it leaves out gets our defaults, never values
 * from elsewhere (Knative replaces the Broker's delivery the same way).
 */

#include "trigger_int.h"

#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Decimal digits only: Kubernetes refuses "3" (a string) for an int32 too. */
static int
em_tdoc_int(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    long min, long max, long *out)
{
    const em_yaml_node_t  *v;
    char                   q[EM_CONF_QUOTE_SIZE];
    size_t                 i;
    long                   n;

    v = em_conf_scalar(&d->ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    em_conf_quote(q, sizeof(q), v);

    if (v->len > 0 && v->value[0] == '-') {
        em_conf_error(&d->ctx, v->line, "%s: %s must not be negative (%ld "
                      "to %ld)", path, q, min, max);
        return -1;
    }

    n = 0;
    for (i = 0; i < v->len; i++) {
        if (v->value[i] < '0' || v->value[i] > '9') {
            break;
        }

        if (n <= max) {
            n = n * 10 + (v->value[i] - '0');
        }
    }

    if (v->len == 0 || i < v->len) {
        em_conf_error(&d->ctx, v->line, "%s: %s is not a whole number (%ld "
                      "to %ld)", path, q, min, max);
        return -1;
    }

    if (n < min || n > max) {
        em_conf_error(&d->ctx, v->line, "%s: %s is out of range (%ld to %ld)",
                      path, q, min, max);
        return -1;
    }

    *out = n;
    return 0;
}


static int
em_tdoc_iso_duration(em_tdoc_t *d, const em_conf_field_t *f,
    const char *path, int zero_ok, int64_t *out)
{
    const em_yaml_node_t  *v;
    const char            *why, *why_go;
    char                   q[EM_CONF_QUOTE_SIZE];
    char                   iso[EM_ISO8601_FORMAT_SIZE];
    int64_t                ns;

    v = em_conf_scalar(&d->ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    em_conf_quote(q, sizeof(q), v);

    if (em_iso8601_duration_parse(v->value, v->len, &ns, &why) != 0) {
        /* dispatcher.yaml takes Go durations: say how to write this one */
        if (v->len > 0 && v->value[0] != 'P'
            && em_duration_parse(v->value, v->len, &ns, &why_go) == 0)
        {
            em_iso8601_duration_format(ns, iso, sizeof(iso));
            em_conf_error(&d->ctx, v->line,
                          "%s: %s is not an ISO 8601 duration: Trigger "
                          "files use Knative's form, write %s", path, q, iso);
            return -1;
        }

        em_conf_error(&d->ctx, v->line, "%s: %s %s", path, q, why);
        return -1;
    }

    if (ns == 0 && !zero_ok) {
        em_conf_error(&d->ctx, v->line, "%s: must be longer than 0", path);
        return -1;
    }

    *out = ns;
    return 0;
}


int
em_tdelivery_parse(em_tdoc_t *d, const em_conf_field_t *f, const char *ns,
    em_delivery_t *dl)
{
    const em_yaml_node_t  *map, *v;
    char                   q[EM_CONF_QUOTE_SIZE];
    size_t                 errors;
    long                   n;
    em_conf_field_t        df[] = {
        { "retry", NULL, NULL },
        { "backoffPolicy", NULL, NULL },
        { "backoffDelay", NULL, NULL },
        { "timeout", NULL, NULL },
        { "retryAfterMax", NULL, NULL },
        { "deadLetterSink", NULL, NULL },
        { "format", NULL, NULL },
    };

    memset(dl, 0, sizeof(*dl));
    dl->backoff_policy = EM_BACKOFF_NONE;
    dl->timeout = EM_TRIGGER_DEFAULT_TIMEOUT;
    dl->retry_after_max = -1;
    dl->format = EM_FORMAT_BINARY;

    map = em_conf_mapping(&d->ctx, f, "spec.delivery");
    if (map == NULL) {
        return f->value != NULL && !em_yaml_is_null(f->value) ? -1 : 0;
    }

    errors = d->ctx.errors;
    em_conf_fields(&d->ctx, map, "spec.delivery", df,
                   sizeof(df) / sizeof(df[0]));

    if (df[0].value != NULL
        && em_tdoc_int(d, &df[0], "spec.delivery.retry", 0,
                       EM_TRIGGER_MAX_RETRY, &n) == 0)
    {
        dl->retry = (int) n;
    }

    if (df[1].value != NULL) {
        v = em_conf_scalar(&d->ctx, df[1].value, df[1].key->line,
                           "spec.delivery.backoffPolicy");
        if (v != NULL) {
            if (strcmp(v->value, "linear") == 0) {
                dl->backoff_policy = EM_BACKOFF_LINEAR;

            } else if (strcmp(v->value, "exponential") == 0) {
                dl->backoff_policy = EM_BACKOFF_EXPONENTIAL;

            } else {
                em_conf_quote(q, sizeof(q), v);
                em_conf_error(&d->ctx, v->line,
                              "spec.delivery.backoffPolicy: %s is not "
                              "linear or exponential", q);
            }
        }
    }

    if (df[2].value != NULL) {
        em_tdoc_iso_duration(d, &df[2], "spec.delivery.backoffDelay", 1,
                             &dl->backoff_delay);
    }

    if (df[3].value != NULL) {
        em_tdoc_iso_duration(d, &df[3], "spec.delivery.timeout", 0,
                             &dl->timeout);
    }

    if (df[4].value != NULL) {
        em_tdoc_iso_duration(d, &df[4], "spec.delivery.retryAfterMax", 1,
                             &dl->retry_after_max);
    }

    if (df[5].value != NULL) {
        em_tdest_parse(d, &df[5], "spec.delivery.deadLetterSink", ns,
                       &dl->dead_letter_uri);
    }

    if (df[6].value != NULL) {
        v = em_conf_scalar(&d->ctx, df[6].value, df[6].key->line,
                           "spec.delivery.format");
        if (v != NULL) {
            if (strcmp(v->value, "json") == 0) {
                dl->format = EM_FORMAT_JSON;

            } else if (strcmp(v->value, "binary") == 0) {
                dl->format = EM_FORMAT_BINARY;

            } else {
                em_conf_quote(q, sizeof(q), v);
                em_conf_error(&d->ctx, v->line,
                              "spec.delivery.format: %s is not json "
                              "(structured mode) or binary", q);
            }
        }
    }

    if (d->ctx.errors != errors) {
        free(dl->dead_letter_uri);
        dl->dead_letter_uri = NULL;
        return -1;
    }

    /* Knative waits only when both are given; say so rather than surprise */
    if (df[1].value != NULL && df[2].value == NULL) {
        em_tdoc_warn(d, df[1].key->line,
                     "spec.delivery.backoffPolicy without backoffDelay: "
                     "retries follow each other without waiting (add "
                     "backoffDelay, e.g. PT0.2S)");
        dl->backoff_policy = EM_BACKOFF_NONE;

    } else if (df[2].value != NULL && df[1].value == NULL) {
        em_tdoc_warn(d, df[2].key->line,
                     "spec.delivery.backoffDelay without backoffPolicy: "
                     "retries follow each other without waiting (add "
                     "backoffPolicy: exponential or linear)");
    }

    if (dl->retry == 0 && (df[1].value != NULL || df[2].value != NULL)) {
        em_tdoc_warn(d, f->key->line,
                     "spec.delivery: a backoff is set but retry is 0, so "
                     "there is no retry to wait for");
    }

    return 0;
}
