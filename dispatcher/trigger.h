/*
 * Triggers: Knative-style YAML files (eventing.knative.dev/v1 and the
 * v1alpha1 form Kyma used) read from the triggers directory, resolved
 * against dispatcher.yaml (broker, subscriber template) into what the
 * delivery engine needs.
 */

#ifndef EM_DISPATCHER_TRIGGER_H
#define EM_DISPATCHER_TRIGGER_H

#include "config.h"
#include "diag.h"

#include <eventmesh/filter.h>

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EM_BACKOFF_NONE = 0,        /* policy or delay missing: no wait */
    EM_BACKOFF_LINEAR,          /* wait before retry k: delay * (k - 1) */
    EM_BACKOFF_EXPONENTIAL      /* wait before retry k: delay * 2^(k - 1) */
} em_backoff_policy_t;

typedef enum {
    EM_FORMAT_BINARY = 0,       /* default */
    EM_FORMAT_JSON              /* delivery.format: json (structured) */
} em_delivery_format_t;

typedef struct {
    int                    retry;            /* retries after the first */
    em_backoff_policy_t    backoff_policy;
    int64_t                backoff_delay;    /* ns */
    int64_t                timeout;          /* ns, per attempt */
    int64_t                retry_after_max;  /* ns; -1 unset: ignore
                                                Retry-After, 0 ignore */
    char                  *dead_letter_uri;  /* NULL when none */
    em_delivery_format_t   format;
} em_delivery_t;

typedef struct {
    char              *file;           /* the Trigger's file */
    unsigned           line;           /* line of its document */

    char              *api_version;    /* eventing.knative.dev/v1 or v1alpha1 */
    char              *ns;             /* metadata.namespace (default) */
    char              *name;           /* metadata.name */
    char              *broker;         /* spec.broker (v1alpha1: default) */
    const em_broker_conf_t *broker_conf;  /* NULL: BrokerNotFound */

    em_filter_t       *filter;         /* compiled; never NULL */
    char              *subscriber_uri; /* resolved uri or ref */
    em_delivery_t      delivery;
    unsigned           max_in_flight;  /* deliveries at once; default 64 */

    char              *digest;         /* of the resolved spec: a change of
                                          it means the trigger changed */
} em_trigger_t;

typedef struct {
    em_trigger_t      *items;
    size_t             n;

    /*
     * Things worth saying that do not stop a load ("file:line: reason"):
     * BrokerNotFound, deprecated v1alpha1 forms, settings that have no
     * effect.  Filled even when the load fails.
     */
    em_diag_t          warnings;
} em_trigger_set_t;

/* Defaults and bounds (reference/knative-trigger-delivery.md section 3). */
#define EM_TRIGGER_DEFAULT_TIMEOUT        (INT64_C(600) * 1000000000)
#define EM_TRIGGER_MAX_RETRY              100
#define EM_TRIGGER_DEFAULT_MAX_IN_FLIGHT  64
#define EM_TRIGGER_MAX_IN_FLIGHT          10000
#define EM_TRIGGER_MAX_IN_FLIGHT_KEY      "eventmesh.io/max-in-flight"

/* Enough for every name em_trigger_consumer_name() writes. */
#define EM_TRIGGER_CONSUMER_NAME_SIZE     128

/*
 * Reads every *.yaml / *.yml file of cf->triggers_dir (one or more
 * documents each, kind: Trigger).  Returns 0, or -1 with every problem
 * recorded in diag as "file:line: reason"; *set is then empty.
 */
int em_triggers_load(const em_config_t *cf, em_trigger_set_t *set,
    em_diag_t *diag);

/* The same, from one document in memory (tests, fuzzing). */
int em_triggers_load_string(const em_config_t *cf, const char *name,
    const char *data, size_t len, em_trigger_set_t *set, em_diag_t *diag);

void em_triggers_free(em_trigger_set_t *set);

/*
 * Durable consumer name of a trigger: stable, valid for JetStream.
 * "em_<namespace>_<name>" with bytes JetStream refuses written "~XX"; a
 * name that would be longer than EM_TRIGGER_CONSUMER_NAME_SIZE - 1 is cut
 * and ends with a hash of the whole.  Returns 0, or -1 when size is too
 * small.
 */
int em_trigger_consumer_name(const em_trigger_t *t, char *out, size_t size);

/* The trigger named namespace/name, or NULL. */
const em_trigger_t *em_trigger_find(const em_trigger_set_t *set,
    const char *ns, const char *name);

/*
 * An ISO 8601 duration as Knative's delivery spec writes them: PT0.2S,
 * PT1M30S, P1D, P1W; weeks, days, hours, minutes and seconds, a decimal
 * fraction on the last one.  Years and months are refused (no fixed
 * length).  Returns 0 and sets *ns, or -1 with *why, a reason to follow
 * the quoted value.
 */
int em_iso8601_duration_parse(const char *s, size_t len, int64_t *ns,
    const char **why);

/* The shortest ISO 8601 spelling of ns: "PT0.2S", "PT1M30S", "P1DT2H". */
void em_iso8601_duration_format(int64_t ns, char *buf, size_t size);

#define EM_ISO8601_FORMAT_SIZE  48

#endif /* EM_DISPATCHER_TRIGGER_H */
