/*
 * One Trigger document: eventing.knative.dev/v1, or v1alpha1 as Kyma 1.x
 * wrote it.  Everything under spec is checked the way Knative's webhook
 * would (unknown keys are errors); metadata and status may hold what
 * `kubectl get -o yaml` prints, and only name, namespace and our
 * annotation are read from them.
 */

#include "trigger_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define EM_API_V1        "eventing.knative.dev/v1"
#define EM_API_V1ALPHA1  "eventing.knative.dev/v1alpha1"


void
em_tdoc_warn(em_tdoc_t *d, unsigned line, const char *fmt, ...)
{
    va_list  ap;
    char     msg[1024];

    if (d->warnings == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    em_diag_add(d->warnings, d->ctx.file, line, "%s", msg);
}


int
em_k8s_label_valid(const char *s, size_t len, const char **why)
{
    size_t  i;

    if (len == 0) {
        *why = "must not be empty";
        return 0;
    }

    if (len > 63) {
        *why = "must be at most 63 characters";
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-'))
        {
            *why = "must consist of lower-case letters, digits and '-'";
            return 0;
        }
    }

    if (s[0] == '-' || s[len - 1] == '-') {
        *why = "must start and end with a letter or digit";
        return 0;
    }

    return 1;
}


int
em_k8s_subdomain_valid(const char *s, size_t len, const char **why)
{
    size_t  i, start;

    if (len == 0) {
        *why = "must not be empty";
        return 0;
    }

    if (len > 253) {
        *why = "must be at most 253 characters";
        return 0;
    }

    start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!((s[i] >= 'a' && s[i] <= 'z')
                  || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            {
                *why = "must consist of lower-case letters, digits, '-' "
                       "and '.'";
                return 0;
            }
            continue;
        }

        if (i == start) {
            *why = "must not have an empty part between dots";
            return 0;
        }

        if (s[start] == '-' || s[i - 1] == '-') {
            *why = "must start and end with a letter or digit (around "
                   "each dot too)";
            return 0;
        }

        start = i + 1;
    }

    return 1;
}


int
em_tdoc_name(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    int subdomain, char **out)
{
    const em_yaml_node_t  *v;
    const char            *why;
    char                   q[EM_CONF_QUOTE_SIZE];
    int                    ok;

    v = em_conf_scalar(&d->ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    why = NULL;
    ok = subdomain ? em_k8s_subdomain_valid(v->value, v->len, &why)
                   : em_k8s_label_valid(v->value, v->len, &why);

    if (!ok) {
        em_conf_quote(q, sizeof(q), v);
        em_conf_error(&d->ctx, v->line, "%s: %s is not a valid name: %s",
                      path, q, why);
        return -1;
    }

    *out = strdup(v->value);
    if (*out == NULL) {
        em_conf_error(&d->ctx, v->line, "%s: out of memory", path);
        return -1;
    }

    return 0;
}


static void
em_tdoc_annotations(em_tdoc_t *d, const em_conf_field_t *f, em_trigger_t *t)
{
    const em_yaml_node_t  *map, *key, *v;
    char                   q[EM_CONF_QUOTE_SIZE];
    size_t                 i, k;
    unsigned long          n;

    map = em_conf_mapping(&d->ctx, f, "metadata.annotations");
    if (map == NULL) {
        return;
    }

    for (i = 0; i + 1 < map->n; i += 2) {
        key = map->items[i];

        if (strcmp(key->value, EM_TRIGGER_MAX_IN_FLIGHT_KEY) != 0) {
            continue;
        }

        v = em_conf_scalar(&d->ctx, map->items[i + 1], key->line,
                           "metadata.annotations."
                           EM_TRIGGER_MAX_IN_FLIGHT_KEY);
        if (v == NULL) {
            return;
        }

        n = 0;
        for (k = 0; k < v->len && v->value[k] >= '0' && v->value[k] <= '9';
             k++)
        {
            if (n <= EM_TRIGGER_MAX_IN_FLIGHT) {
                n = n * 10 + (unsigned long) (v->value[k] - '0');
            }
        }

        if (v->len == 0 || k < v->len || n < 1
            || n > EM_TRIGGER_MAX_IN_FLIGHT)
        {
            em_conf_quote(q, sizeof(q), v);
            em_conf_error(&d->ctx, v->line,
                          "metadata.annotations." EM_TRIGGER_MAX_IN_FLIGHT_KEY
                          ": %s is not a whole number from 1 to %d (events "
                          "delivered at once)", q, EM_TRIGGER_MAX_IN_FLIGHT);
            return;
        }

        t->max_in_flight = (unsigned) n;
    }
}


static void
em_tdoc_metadata(em_tdoc_t *d, const em_conf_field_t *f, unsigned root_line,
    em_trigger_t *t)
{
    const em_yaml_node_t  *map;
    em_conf_field_t        mf[] = {
        { "name", NULL, NULL },
        { "namespace", NULL, NULL },
        { "annotations", NULL, NULL },
        /* read by nothing, but there in a `kubectl get -o yaml` dump */
        { "labels", NULL, NULL },
        { "uid", NULL, NULL },
        { "resourceVersion", NULL, NULL },
        { "generation", NULL, NULL },
        { "creationTimestamp", NULL, NULL },
        { "generateName", NULL, NULL },
        { "managedFields", NULL, NULL },
        { "finalizers", NULL, NULL },
        { "ownerReferences", NULL, NULL },
        { "selfLink", NULL, NULL },
        { "deletionTimestamp", NULL, NULL },
        { "deletionGracePeriodSeconds", NULL, NULL },
    };

    if (f->value == NULL || em_yaml_is_null(f->value)) {
        em_conf_error(&d->ctx, f->key ? f->key->line : root_line,
                      "metadata: missing (metadata.name names the Trigger)");
        return;
    }

    map = em_conf_mapping(&d->ctx, f, "metadata");
    if (map == NULL) {
        return;
    }

    em_conf_fields(&d->ctx, map, "metadata", mf, sizeof(mf) / sizeof(mf[0]));

    if (mf[0].value == NULL) {
        em_conf_error(&d->ctx, f->key->line,
                      "metadata.name: missing (every Trigger needs a name)");

    } else {
        em_tdoc_name(d, &mf[0], "metadata.name", 1, &t->name);
    }

    if (mf[1].value == NULL) {
        t->ns = strdup("default");
        if (t->ns == NULL) {
            em_conf_error(&d->ctx, map->line, "out of memory");
        }

    } else {
        em_tdoc_name(d, &mf[1], "metadata.namespace", 0, &t->ns);
    }

    if (mf[2].value != NULL) {
        em_tdoc_annotations(d, &mf[2], t);
    }

    if (mf[3].value != NULL && !em_yaml_is_null(mf[3].value)
        && mf[3].value->kind != EM_YAML_MAPPING)
    {
        em_conf_error(&d->ctx, mf[3].value->line,
                      "metadata.labels: expected a mapping, found %s",
                      em_yaml_kind_name(mf[3].value));
    }
}


/* spec.broker, or spec.brokerRef naming a broker of the same namespace. */
static void
em_tdoc_broker(em_tdoc_t *d, const em_conf_field_t *broker,
    const em_conf_field_t *ref, unsigned spec_line, em_trigger_t *t)
{
    const em_yaml_node_t  *map, *v;
    char                   q[EM_CONF_QUOTE_SIZE];
    char                  *ns;
    em_conf_field_t        rf[] = {
        { "apiVersion", NULL, NULL },
        { "kind", NULL, NULL },
        { "name", NULL, NULL },
        { "namespace", NULL, NULL },
    };

    if (broker->value != NULL && ref->value != NULL) {
        em_conf_error(&d->ctx, ref->key->line,
                      "spec.brokerRef: give spec.broker or spec.brokerRef, "
                      "not both");
        return;
    }

    if (broker->value != NULL) {
        em_tdoc_name(d, broker, "spec.broker", 0, &t->broker);
        return;
    }

    if (ref->value == NULL) {
        if (d->v1alpha1) {
            /* v1alpha1 defaulted it, as the namespace label did in Kyma */
            t->broker = strdup("default");
            if (t->broker == NULL) {
                em_conf_error(&d->ctx, spec_line, "out of memory");
            }

        } else {
            em_conf_error(&d->ctx, spec_line,
                          "spec.broker: missing (the broker's name in the "
                          "Trigger's namespace, e.g. broker: default)");
        }
        return;
    }

    map = em_conf_mapping(&d->ctx, ref, "spec.brokerRef");
    if (map == NULL) {
        if (em_yaml_is_null(ref->value)) {
            em_conf_error(&d->ctx, ref->key->line,
                          "spec.brokerRef: no value");
        }
        return;
    }

    em_conf_fields(&d->ctx, map, "spec.brokerRef", rf,
                   sizeof(rf) / sizeof(rf[0]));

    if (rf[1].value != NULL) {
        v = em_conf_scalar(&d->ctx, rf[1].value, rf[1].key->line,
                           "spec.brokerRef.kind");
        if (v != NULL && strcmp(v->value, "Broker") != 0) {
            em_conf_quote(q, sizeof(q), v);
            em_conf_error(&d->ctx, v->line,
                          "spec.brokerRef.kind: %s: only Broker is "
                          "supported", q);
        }
    }

    if (rf[0].value != NULL) {
        v = em_conf_scalar(&d->ctx, rf[0].value, rf[0].key->line,
                           "spec.brokerRef.apiVersion");
        if (v != NULL && strcmp(v->value, EM_API_V1) != 0) {
            em_conf_quote(q, sizeof(q), v);
            em_conf_error(&d->ctx, v->line,
                          "spec.brokerRef.apiVersion: %s: only "
                          EM_API_V1 " is supported", q);
        }
    }

    if (rf[3].value != NULL) {
        ns = NULL;
        if (em_tdoc_name(d, &rf[3], "spec.brokerRef.namespace", 0, &ns) == 0
            && t->ns != NULL && strcmp(ns, t->ns) != 0)
        {
            em_conf_error(&d->ctx, rf[3].value->line,
                          "spec.brokerRef.namespace: a broker in another "
                          "namespace (%s) is not supported: a Trigger "
                          "reaches the brokers of its own namespace (%s)",
                          ns, t->ns);
        }
        free(ns);
    }

    if (rf[2].value == NULL) {
        em_conf_error(&d->ctx, ref->key->line,
                      "spec.brokerRef.name: missing");
        return;
    }

    em_tdoc_name(d, &rf[2], "spec.brokerRef.name", 0, &t->broker);
}


typedef struct {
    const char  *names[EM_TRIGGER_MAX_ATTRS];
    const char  *values[EM_TRIGGER_MAX_ATTRS];
    size_t       n;
} em_tdoc_attrs_t;


static void
em_tdoc_attr_add(em_tdoc_t *d, em_tdoc_attrs_t *a, const em_yaml_node_t *key,
    const em_yaml_node_t *value, const char *where)
{
    char  name[EM_CONF_QUOTE_SIZE];

    em_diag_quote_name(name, sizeof(name), key->value, key->len,
                       EM_CONF_QUOTE_MAX);

    if (!em_filter_name_valid(key->value, key->len)) {
        em_conf_error(&d->ctx, key->line,
                      "%s: %s is not a valid attribute name (lower-case "
                      "letters and digits, starting with a letter)",
                      where, name);
        return;
    }

    if (value != NULL && !em_yaml_is_null(value)
        && value->kind != EM_YAML_SCALAR)
    {
        em_conf_error(&d->ctx, value->line,
                      "%s.%s: expected a single value, found %s", where,
                      key->value, em_yaml_kind_name(value));
        return;
    }

    if (value != NULL && !em_yaml_is_null(value)
        && memchr(value->value, '\0', value->len) != NULL)
    {
        em_conf_error(&d->ctx, value->line, "%s.%s: contains a NUL byte",
                      where, key->value);
        return;
    }

    if (a->n == EM_TRIGGER_MAX_ATTRS) {
        em_conf_error(&d->ctx, key->line,
                      "%s: more than %d attributes", where,
                      EM_TRIGGER_MAX_ATTRS);
        return;
    }

    if (value == NULL || em_yaml_is_null(value)) {
        /* a null string is "" to Kubernetes: any non-empty value */
        em_tdoc_warn(d, key->line,
                     "%s.%s has no value: it matches every event where "
                     "%s is set (write \"\" to say so)", where, key->value,
                     key->value);
        a->names[a->n] = key->value;
        a->values[a->n] = "";
        a->n++;
        return;
    }

    a->names[a->n] = key->value;
    a->values[a->n] = value->value;
    a->n++;
}


static void
em_tdoc_filter(em_tdoc_t *d, const em_conf_field_t *f, em_trigger_t *t)
{
    const em_yaml_node_t  *map, *attrs, *st;
    const char            *err;
    em_tdoc_attrs_t        a;
    size_t                 i, errors;
    em_conf_field_t        ff[] = {
        { "attributes", NULL, NULL },
        { "sourceAndType", NULL, NULL },
    };
    em_conf_field_t        sf[] = {
        { "type", NULL, NULL },
        { "source", NULL, NULL },
    };

    a.n = 0;
    errors = d->ctx.errors;

    map = f->value != NULL ? em_conf_mapping(&d->ctx, f, "spec.filter")
                           : NULL;

    if (map != NULL) {
        /* sourceAndType is v1alpha1's; v1 does not know it */
        em_conf_fields(&d->ctx, map, "spec.filter", ff,
                       d->v1alpha1 ? 2 : 1);
    }

    if (ff[0].value != NULL && ff[1].value != NULL) {
        em_conf_error(&d->ctx, ff[1].key->line,
                      "spec.filter: give attributes or sourceAndType, not "
                      "both");
    }

    if (ff[0].value != NULL) {
        attrs = em_conf_mapping(&d->ctx, &ff[0], "spec.filter.attributes");

        if (attrs != NULL) {
            for (i = 0; i + 1 < attrs->n; i += 2) {
                em_tdoc_attr_add(d, &a, attrs->items[i], attrs->items[i + 1],
                                 "spec.filter.attributes");
            }
        }

        if (d->v1alpha1 && (attrs == NULL || attrs->n == 0)
            && (em_yaml_is_null(ff[0].value)
                || ff[0].value->kind == EM_YAML_MAPPING))
        {
            em_conf_error(&d->ctx, ff[0].key->line,
                          "spec.filter.attributes: empty; v1alpha1 needs at "
                          "least one (leave out spec.filter to receive "
                          "every event)");
        }
    }

    if (ff[1].value != NULL) {
        em_tdoc_warn(d, ff[1].key->line,
                     "spec.filter.sourceAndType is deprecated: write "
                     "spec.filter.attributes with type and source");

        st = em_conf_mapping(&d->ctx, &ff[1], "spec.filter.sourceAndType");
        if (st != NULL) {
            em_conf_fields(&d->ctx, st, "spec.filter.sourceAndType", sf, 2);

            /* an empty value was Knative's "Any": no condition at all */
            for (i = 0; i < 2; i++) {
                if (sf[i].value != NULL && !em_yaml_is_null(sf[i].value)
                    && !(sf[i].value->kind == EM_YAML_SCALAR
                         && sf[i].value->len == 0))
                {
                    em_tdoc_attr_add(d, &a, sf[i].key, sf[i].value,
                                     "spec.filter.sourceAndType");
                }
            }
        }
    }

    if (d->ctx.errors != errors) {
        return;
    }

    t->filter = em_filter_attributes(a.names, a.values, a.n, &err);
    if (t->filter == NULL) {
        em_conf_error(&d->ctx, f->key ? f->key->line : 0,
                      "spec.filter: %s", err);
    }
}


/*
 * A non-empty spec.filters replaces spec.filter whole (Knative's rule, not
 * an AND), which users have mistaken for a bug (knative/eventing#8018):
 * say so when both are given.
 */
static void
em_tdoc_filters(em_tdoc_t *d, const em_conf_field_t *filters,
    const em_conf_field_t *filter, em_trigger_t *t)
{
    em_filter_t  *f;

    if (filters->value == NULL || em_tfilters_parse(d, filters, &f) != 0
        || f == NULL)
    {
        return;
    }

    if (t->filter != NULL && em_filter_kind(t->filter) != EM_FILTER_TRUE) {
        em_tdoc_warn(d, filter->key->line,
                     "spec.filter is ignored: spec.filters is given and "
                     "replaces it (Knative's rule); move its attributes "
                     "into an exact filter, or remove it");
    }

    em_filter_free(t->filter);
    t->filter = f;
}


static void
em_tdoc_spec(em_tdoc_t *d, const em_conf_field_t *f, unsigned root_line,
    em_trigger_t *t)
{
    const em_yaml_node_t  *map;
    em_conf_field_t       *broker_ref, *filters;
    em_conf_field_t        sf[] = {
        { "broker", NULL, NULL },
        { "filter", NULL, NULL },
        { "subscriber", NULL, NULL },
        { "delivery", NULL, NULL },
        { "brokerRef", NULL, NULL },
        { "filters", NULL, NULL },
    };
    em_conf_field_t        none = { "filter", NULL, NULL };
    em_conf_field_t        no_ref = { "brokerRef", NULL, NULL };

    if (f->value == NULL || em_yaml_is_null(f->value)) {
        em_conf_error(&d->ctx, f->key ? f->key->line : root_line,
                      "spec: missing (broker, filter and subscriber)");
        return;
    }

    map = em_conf_mapping(&d->ctx, f, "spec");
    if (map == NULL) {
        return;
    }

    /*
     * brokerRef is v1's.  filters is too, but Kyma's v1alpha1 files take
     * it as well: rewriting the apiVersion to get a prefix filter helps
     * nobody.
     */
    broker_ref = &sf[4];
    filters = &sf[5];

    if (d->v1alpha1) {
        sf[4].name = "filters";
        filters = &sf[4];
        broker_ref = &no_ref;
    }

    em_conf_fields(&d->ctx, map, "spec", sf,
                   d->v1alpha1 ? 5 : sizeof(sf) / sizeof(sf[0]));

    em_tdoc_broker(d, &sf[0], broker_ref, f->key->line, t);

    em_tdoc_filter(d, sf[1].value != NULL ? &sf[1] : &none, t);
    em_tdoc_filters(d, filters, &sf[1], t);

    if (sf[2].value == NULL) {
        em_conf_error(&d->ctx, f->key->line,
                      "spec.subscriber: missing (uri: http://host/path, or "
                      "ref: {kind: Service, name: ...})");

    } else {
        /* with a broken namespace, still report what else is wrong */
        em_tdest_parse(d, &sf[2], "spec.subscriber",
                       t->ns ? t->ns : "default", &t->subscriber_uri);
    }

    em_tdelivery_parse(d, &sf[3], t->ns ? t->ns : "default", &t->delivery);
}


static int
em_tdoc_head(em_tdoc_t *d, const em_conf_field_t *api,
    const em_conf_field_t *kind, unsigned root_line, em_trigger_t *t)
{
    const em_yaml_node_t  *v;
    char                   q[EM_CONF_QUOTE_SIZE];

    if (api->value == NULL) {
        em_conf_error(&d->ctx, root_line,
                      "apiVersion: missing (" EM_API_V1 ", or "
                      EM_API_V1ALPHA1 " for Kyma's form)");
        return -1;
    }

    v = em_conf_scalar(&d->ctx, api->value, api->key->line, "apiVersion");
    if (v == NULL) {
        return -1;
    }

    if (strcmp(v->value, EM_API_V1) == 0) {
        d->v1alpha1 = 0;

    } else if (strcmp(v->value, EM_API_V1ALPHA1) == 0) {
        d->v1alpha1 = 1;

    } else {
        em_conf_quote(q, sizeof(q), v);
        em_conf_error(&d->ctx, v->line,
                      "apiVersion: %s is not supported (use " EM_API_V1
                      ", or " EM_API_V1ALPHA1 " for Kyma's form)", q);
        return -1;
    }

    t->api_version = strdup(v->value);
    if (t->api_version == NULL) {
        em_conf_error(&d->ctx, v->line, "out of memory");
        return -1;
    }

    if (kind->value == NULL) {
        em_conf_error(&d->ctx, root_line, "kind: missing (kind: Trigger)");
        return -1;
    }

    v = em_conf_scalar(&d->ctx, kind->value, kind->key->line, "kind");
    if (v == NULL) {
        return -1;
    }

    if (strcmp(v->value, "Trigger") != 0) {
        em_conf_quote(q, sizeof(q), v);
        em_conf_error(&d->ctx, v->line,
                      "kind: %s: only Trigger objects belong in the triggers "
                      "directory (brokers are declared in dispatcher.yaml)",
                      q);
        return -1;
    }

    return 0;
}


int
em_trigger_from_doc(em_tdoc_t *d, const em_yaml_node_t *root,
    em_trigger_t *t)
{
    size_t           errors;
    em_conf_field_t  f[] = {
        { "apiVersion", NULL, NULL },
        { "kind", NULL, NULL },
        { "metadata", NULL, NULL },
        { "spec", NULL, NULL },
        { "status", NULL, NULL },
    };

    memset(t, 0, sizeof(*t));
    t->max_in_flight = EM_TRIGGER_DEFAULT_MAX_IN_FLIGHT;
    t->delivery.timeout = EM_TRIGGER_DEFAULT_TIMEOUT;
    t->delivery.retry_after_max = -1;

    errors = d->ctx.errors;

    if (root->kind != EM_YAML_MAPPING) {
        em_conf_error(&d->ctx, root->line,
                      "expected a Trigger (a mapping with apiVersion, kind, "
                      "metadata and spec), found %s",
                      em_yaml_kind_name(root));
        return -1;
    }

    t->line = root->line;
    t->file = strdup(d->ctx.file);
    if (t->file == NULL) {
        em_conf_error(&d->ctx, root->line, "out of memory");
        return -1;
    }

    em_conf_fields(&d->ctx, root, "", f, sizeof(f) / sizeof(f[0]));

    if (em_tdoc_head(d, &f[0], &f[1], root->line, t) == 0) {
        em_tdoc_metadata(d, &f[2], root->line, t);
        em_tdoc_spec(d, &f[3], root->line, t);
    }

    if (d->ctx.errors != errors) {
        em_trigger_free(t);
        return -1;
    }

    return 0;
}
