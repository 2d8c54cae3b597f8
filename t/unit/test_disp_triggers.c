/*
 * Trigger files (dispatcher/trigger.h): both apiVersions, every spec key
 * accepted and refused with its line, destination resolution, delivery
 * defaults and ISO 8601 durations, duplicates, BrokerNotFound, digests,
 * consumer names, a real triggers directory, and the Kyma
 * /v1/subscribed/{app} answer computed from the set.
 */

#include "config.h"
#include "diag.h"
#include "subscribed.h"
#include "trigger.h"

#include <eventmesh/event.h>

#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define SEC  INT64_C(1000000000)


static em_config_t  cf;

static const char  conf_text[] =
    "brokers:\n"
    "  - namespace: default\n"
    "    name: default\n"
    "  - namespace: shop\n"
    "    name: orders\n"
    "  - namespace: shop\n"
    "    name: default\n";


typedef struct {
    int               rc;
    em_trigger_set_t  set;
    em_diag_t         diag;
} load_t;


static void
load(load_t *l, const char *text)
{
    em_diag_init(&l->diag);
    l->rc = em_triggers_load_string(&cf, "t.yaml", text, strlen(text),
                                    &l->set, &l->diag);
}


static void
unload(load_t *l)
{
    em_triggers_free(&l->set);
    em_diag_free(&l->diag);
}


static void
dump(const em_diag_t *d, const char *what)
{
    size_t  i;

    for (i = 0; i < d->n; i++) {
        diag("%s %s:%u: %s", what, d->items[i].file, d->items[i].line,
             d->items[i].msg);
    }
}


/* An item of d at line (0: any) whose message holds frag. */
static int
has(const em_diag_t *d, unsigned line, const char *frag)
{
    size_t  i;

    for (i = 0; i < d->n; i++) {
        if ((line == 0 || d->items[i].line == line)
            && strstr(d->items[i].msg, frag) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


/* The text loads, with no problem. */
static int
loads(load_t *l, const char *text, const char *name)
{
    load(l, text);

    if (!ok(l->rc == 0 && l->diag.n == 0, "%s: loads", name)) {
        dump(&l->diag, "error");
        return 0;
    }

    return 1;
}


/* The text is refused with exactly one problem, at line, holding frag. */
static void
refuses(const char *text, unsigned line, const char *frag, const char *name)
{
    load_t  l;

    load(&l, text);

    if (!ok(l.rc == -1 && l.set.n == 0 && l.set.items == NULL
            && l.diag.n == 1 && l.diag.items[0].line == line
            && strstr(l.diag.items[0].msg, frag) != NULL,
            "%s: refused at line %u with \"%s\"", name, line, frag))
    {
        diag("rc %d, %zu trigger(s)", l.rc, l.set.n);
        dump(&l.diag, "got");
    }

    unload(&l);
}


/* A v1 Trigger with the given lines added under spec (2-space indent). */
#define V1(spec)                                                             \
    "apiVersion: eventing.knative.dev/v1\n"                                  \
    "kind: Trigger\n"                                                        \
    "metadata:\n"                                                            \
    "  name: t\n"                                                            \
    "spec:\n"                                                                \
    "  broker: default\n"                                                    \
    spec

#define SUB  "  subscriber:\n    uri: http://sub.example/\n"


static const char  kyma[] =
    "apiVersion: eventing.knative.dev/v1alpha1\n"
    "kind: Trigger\n"
    "metadata:\n"
    "  name: test-trigger\n"
    "  namespace: default\n"
    "spec:\n"
    "  broker: default\n"
    "  filter:\n"
    "    attributes:\n"
    "      type: user.created\n"
    "      eventtypeversion: v1\n"
    "      source: mock\n"
    "  subscriber:\n"
    "    ref:\n"
    "      apiVersion: serving.knative.dev/v1\n"
    "      kind: Service\n"
    "      name: test-function\n";


static em_event_t *
user_created(const char *version, const char *source)
{
    em_event_t  *ev = em_event_new();

    em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING);
    em_event_set(ev, "id", "1", 1, EM_TYPE_STRING);
    em_event_set(ev, "source", source, strlen(source), EM_TYPE_URI_REF);
    em_event_set(ev, "type", "user.created", 12, EM_TYPE_STRING);
    if (version != NULL) {
        em_event_set(ev, "eventtypeversion", version, strlen(version),
                     EM_TYPE_STRING);
    }

    return ev;
}


static void
test_kyma_form(void)
{
    load_t               l;
    const em_trigger_t  *t;
    em_event_t          *ev;
    size_t               i;
    int                  hex;

    if (!loads(&l, kyma, "Kyma's v1alpha1 example")) {
        unload(&l);
        return;
    }

    is_long((long) l.set.n, 1, "one trigger");
    t = &l.set.items[0];

    is_str(t->file, "t.yaml", "file");
    is_long(t->line, 1, "line of its document");
    is_str(t->api_version, "eventing.knative.dev/v1alpha1", "apiVersion");
    is_str(t->ns, "default", "namespace");
    is_str(t->name, "test-trigger", "name");
    is_str(t->broker, "default", "broker");
    ok(t->broker_conf == &cf.brokers[0], "broker_conf is default/default");
    is_str(t->subscriber_uri,
           "http://test-function.default.svc.cluster.local/",
           "ref through the default subscriberTemplate");
    is_str(em_filter_exact_type(t->filter), "user.created",
           "exact type pushed down");

    ev = user_created("v1", "mock");
    ok(em_filter_match(t->filter, ev), "matches user.created v1 from mock");
    em_event_free(ev);
    ev = user_created("v2", "mock");
    ok(!em_filter_match(t->filter, ev), "not v2");
    em_event_free(ev);
    ev = user_created("v1", "other");
    ok(!em_filter_match(t->filter, ev), "not from another application");
    em_event_free(ev);
    ev = user_created(NULL, "mock");
    ok(!em_filter_match(t->filter, ev), "not without eventtypeversion");
    em_event_free(ev);

    /* the defaults */
    is_long(t->delivery.retry, 0, "default: no retries");
    is_long(t->delivery.backoff_policy, EM_BACKOFF_NONE, "default: no backoff");
    is_long((long) (t->delivery.timeout / SEC), 600,
            "default: 10 minutes per attempt");
    is_long((long) t->delivery.retry_after_max, -1,
            "default: Retry-After ignored");
    ok(t->delivery.dead_letter_uri == NULL, "default: no dead-letter sink");
    is_long(t->delivery.format, EM_FORMAT_BINARY, "default: binary mode");
    is_long(t->max_in_flight, 64, "default: 64 in flight");

    hex = t->digest != NULL && strlen(t->digest) == 64;
    for (i = 0; hex && i < 64; i++) {
        hex = strchr("0123456789abcdef", t->digest[i]) != NULL;
    }
    ok(hex, "digest: 64 hex digits");

    is_long((long) l.set.warnings.n, 0, "no warnings");
    ok(em_trigger_find(&l.set, "default", "test-trigger") == t,
       "em_trigger_find finds it");
    ok(em_trigger_find(&l.set, "shop", "test-trigger") == NULL,
       "not in another namespace");

    unload(&l);
}


static void
test_head_and_metadata(void)
{
    load_t  l;

    refuses("kind: Trigger\nmetadata: {name: t}\n", 1,
            "apiVersion: missing", "no apiVersion");
    refuses("apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\n", 1,
            "\"eventing.knative.dev/v1beta1\" is not supported",
            "apiVersion v1beta1");
    refuses("apiVersion: v1\nkind: Trigger\n", 1,
            "(use eventing.knative.dev/v1, or eventing.knative.dev/v1alpha1",
            "apiVersion v1");
    refuses("apiVersion: eventing.knative.dev/v1\n", 1,
            "kind: missing", "no kind");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Broker\n", 2,
            "only Trigger objects", "kind Broker");
    refuses("- a\n- b\n", 1, "expected a Trigger (a mapping", "a list");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 1,
            "metadata: missing", "no metadata");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {namespace: default}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "metadata.name: missing", "no name");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: T1}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "metadata.name: \"T1\" is not a valid name: must consist of "
            "lower-case", "upper-case name");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: -t}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "must start and end with a letter or digit", "name starts with -");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: a..b}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "empty part between dots", "name a..b");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t, namespace: a.b}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "metadata.namespace: \"a.b\" is not a valid name",
            "dotted namespace");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t, nme: x}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n", 3,
            "unknown key 'nme' in metadata", "unknown metadata key");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n"
            "extra: 1\n", 5, "unknown key 'extra' at the top level",
            "unknown top-level key");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n", 1, "spec: missing", "no spec");

    {
        char  name[300];

        memset(name, 'a', 254);
        name[254] = '\0';
        char  text[600];
        snprintf(text, sizeof(text),
                 "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
                 "metadata: {name: %s}\n"
                 "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n",
                 name);
        refuses(text, 3, "at most 253 characters", "name of 254 characters");
    }

    /* what `kubectl get -o yaml` adds is tolerated, status is ignored */
    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1\n"
              "kind: Trigger\n"
              "metadata:\n"
              "  name: my.trigger\n"
              "  namespace: shop\n"
              "  labels: {app: x}\n"
              "  annotations:\n"
              "    kubectl.kubernetes.io/last-applied-configuration: '{}'\n"
              "    eventmesh.io/max-in-flight: \"8\"\n"
              "  uid: 6c0e2a4e\n"
              "  resourceVersion: \"123\"\n"
              "  generation: 2\n"
              "  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
              "  managedFields: [{manager: kubectl}]\n"
              "spec:\n"
              "  broker: orders\n"
              "  subscriber: {uri: 'https://sub.example:8443/in'}\n"
              "status:\n"
              "  conditions: [{type: Ready, status: \"True\"}]\n"
              "  anything: [goes, {here: 1}]\n",
              "kubectl dump"))
    {
        is_str(l.set.items[0].ns, "shop", "namespace shop");
        is_str(l.set.items[0].name, "my.trigger", "a dotted name is valid");
        ok(l.set.items[0].broker_conf == &cf.brokers[1], "broker shop/orders");
        is_long(l.set.items[0].max_in_flight, 8,
                "eventmesh.io/max-in-flight: 8");
        is_str(l.set.items[0].subscriber_uri, "https://sub.example:8443/in",
               "https uri with a port");
    }
    unload(&l);

    refuses(V1("  subscriber: {uri: 'http://x/'}\n")
            "metadata2: x\n", 8, "unknown key 'metadata2'", "typo at top");
}


static void
test_in_flight(void)
{
    load_t  l;

#define INFLIGHT(v)                                                          \
    "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"                   \
    "metadata:\n  name: t\n  annotations:\n"                                 \
    "    eventmesh.io/max-in-flight: " v "\n"                                \
    "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n"

    if (loads(&l, INFLIGHT("1"), "max-in-flight 1")) {
        is_long(l.set.items[0].max_in_flight, 1, "1 in flight");
    }
    unload(&l);

    if (loads(&l, INFLIGHT("10000"), "max-in-flight 10000")) {
        is_long(l.set.items[0].max_in_flight, 10000, "10000 in flight");
    }
    unload(&l);

    refuses(INFLIGHT("0"), 6, "\"0\" is not a whole number from 1 to 10000",
            "max-in-flight 0");
    refuses(INFLIGHT("10001"), 6, "\"10001\" is not a whole number",
            "max-in-flight 10001");
    refuses(INFLIGHT("99999999999999999999"), 6, "is not a whole number",
            "max-in-flight overflowing");
    refuses(INFLIGHT("\"8x\""), 6, "\"8x\" is not a whole number",
            "max-in-flight 8x");
    refuses(INFLIGHT("[1]"), 6, "expected a single value",
            "max-in-flight a list");

#undef INFLIGHT
}


static void
test_broker(void)
{
    load_t  l;

    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n  subscriber: {uri: 'http://x/'}\n", 4,
            "spec.broker: missing", "v1 needs a broker");

    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
              "metadata: {name: t}\n"
              "spec:\n  subscriber: {uri: 'http://x/'}\n",
              "v1alpha1 without broker"))
    {
        is_str(l.set.items[0].broker, "default", "defaults to default");
    }
    unload(&l);

    refuses(V1("  subscriber: {uri: 'http://x/'}\n"
               "  brokerRef: {name: default}\n"), 8,
            "give spec.broker or spec.brokerRef, not both", "both");

    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
              "metadata: {name: t, namespace: shop}\n"
              "spec:\n"
              "  brokerRef:\n"
              "    apiVersion: eventing.knative.dev/v1\n"
              "    kind: Broker\n"
              "    name: orders\n"
              "    namespace: shop\n"
              "  subscriber: {uri: 'http://x/'}\n",
              "brokerRef in the same namespace"))
    {
        is_str(l.set.items[0].broker, "orders", "brokerRef.name is the broker");
        ok(l.set.items[0].broker_conf == &cf.brokers[1], "shop/orders found");
    }
    unload(&l);

    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t, namespace: shop}\n"
            "spec:\n"
            "  brokerRef: {kind: Broker, name: default, namespace: default}\n"
            "  subscriber: {uri: 'http://x/'}\n", 5,
            "a broker in another namespace (default) is not supported",
            "brokerRef to another namespace");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  brokerRef: {kind: KafkaBroker, name: default}\n"
            "  subscriber: {uri: 'http://x/'}\n", 5,
            "only Broker is supported", "brokerRef of another kind");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  brokerRef: {kind: Broker}\n"
            "  subscriber: {uri: 'http://x/'}\n", 5,
            "spec.brokerRef.name: missing", "brokerRef without name");
    refuses("apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  brokerRef: {kind: Broker, name: default}\n"
            "  subscriber: {uri: 'http://x/'}\n", 5,
            "unknown key 'brokerRef' in spec", "v1alpha1 has no brokerRef");
    refuses(V1(SUB) "  broker2: x\n", 9, "unknown key 'broker2' in spec",
            "unknown spec key");
    refuses("apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec: {broker: Default, subscriber: {uri: 'http://x/'}}\n", 4,
            "spec.broker: \"Default\" is not a valid name", "bad broker name");

    /* a broker missing from dispatcher.yaml is not a load error */
    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
              "metadata: {name: t}\n"
              "spec: {broker: nope, subscriber: {uri: 'http://x/'}}\n",
              "unknown broker"))
    {
        ok(l.set.items[0].broker_conf == NULL, "broker_conf NULL");
        ok(has(&l.set.warnings, 1, "broker default/nope is not in "
               "dispatcher.yaml") && has(&l.set.warnings, 1,
                                         "(BrokerNotFound)"),
           "a BrokerNotFound warning at the document's line");
    }
    unload(&l);
}


static void
test_filter(void)
{
    load_t       l;
    em_event_t  *ev;

    if (loads(&l, V1(SUB), "no filter")) {
        is_long(em_filter_kind(l.set.items[0].filter), EM_FILTER_TRUE,
                "no filter: matches everything");
    }
    unload(&l);

    if (loads(&l, V1(SUB "  filter: {}\n"), "filter {}")) {
        is_long(em_filter_kind(l.set.items[0].filter), EM_FILTER_TRUE,
                "empty filter: matches everything");
    }
    unload(&l);

    if (loads(&l, V1(SUB "  filter:\n    attributes: {}\n"),
              "v1 attributes {}"))
    {
        is_long(em_filter_kind(l.set.items[0].filter), EM_FILTER_TRUE,
                "v1 empty attributes: matches everything");
    }
    unload(&l);

    refuses("apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  filter:\n    attributes: {}\n"
            "  subscriber: {uri: 'http://x/'}\n", 6,
            "empty; v1alpha1 needs at least one",
            "v1alpha1 attributes {}");

    refuses(V1(SUB "  filter:\n    attributes:\n      Type: x\n"), 11,
            "'Type' is not a valid attribute name", "upper-case key");
    refuses(V1(SUB "  filter:\n    attributes:\n      event-type: x\n"), 11,
            "'event-type' is not a valid attribute name", "key with a dash");
    refuses(V1(SUB "  filter:\n    attributes:\n      1x: x\n"), 11,
            "'1x' is not a valid attribute name",
            "key starting with a digit");
    refuses(V1(SUB "  filter:\n    attributes:\n      type: [a, b]\n"), 11,
            "spec.filter.attributes.type: expected a single value, found a "
            "list", "list value");
    refuses(V1(SUB "  filter:\n    attributes: [type]\n"), 10,
            "spec.filter.attributes: expected a mapping", "attributes a list");
    refuses(V1(SUB "  filter:\n    attributes:\n      type: \"a\\0b\"\n"), 11,
            "contains a NUL byte", "NUL in a value");
    refuses(V1(SUB "  filter:\n    sourceAndType: {type: a}\n"), 10,
            "unknown key 'sourceAndType' in spec.filter", "v1: sourceAndType");
    refuses(V1(SUB "  filter:\n    attribute: {type: a}\n"), 10,
            "unknown key 'attribute' in spec.filter (expected attributes)",
            "typo in filter");

    /* a null value is "" for Kubernetes: any non-empty value, and a warning */
    if (loads(&l, V1(SUB "  filter:\n    attributes:\n      myext:\n"),
              "null attribute value"))
    {
        ev = user_created("v1", "mock");
        ok(!em_filter_match(l.set.items[0].filter, ev),
           "myext: (null) needs myext present");
        em_event_set(ev, "myext", "x", 1, EM_TYPE_STRING);
        ok(em_filter_match(l.set.items[0].filter, ev),
           "and matches any non-empty value");
        em_event_free(ev);
        ok(has(&l.set.warnings, 11, "has no value: it matches every event "
               "where myext is set"), "with a warning at its line");
    }
    unload(&l);

    /* YAML's typed scalars are strings to a filter */
    if (loads(&l, V1(SUB "  filter:\n    attributes:\n      count: 5\n"
                     "      flag: true\n"), "typed scalars"))
    {
        is_str(em_filter_attribute(l.set.items[0].filter, "count"), "5",
               "count: 5 is \"5\"");
        is_str(em_filter_attribute(l.set.items[0].filter, "flag"), "true",
               "flag: true is \"true\"");
    }
    unload(&l);

    /* v1alpha1 sourceAndType: deprecated, still accepted */
    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
              "metadata: {name: t}\n"
              "spec:\n"
              "  filter:\n"
              "    sourceAndType: {type: user.created, source: mock}\n"
              "  subscriber: {uri: 'http://x/'}\n", "sourceAndType"))
    {
        is_str(em_filter_exact_type(l.set.items[0].filter), "user.created",
               "sourceAndType.type is the type");
        is_str(em_filter_attribute(l.set.items[0].filter, "source"), "mock",
               "sourceAndType.source is the source");
        ok(has(&l.set.warnings, 6, "sourceAndType is deprecated"),
           "with a deprecation warning");
    }
    unload(&l);

    if (loads(&l,
              "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
              "metadata: {name: t}\n"
              "spec:\n"
              "  filter:\n"
              "    sourceAndType: {type: \"\", source: mock}\n"
              "  subscriber: {uri: 'http://x/'}\n", "sourceAndType Any"))
    {
        ok(em_filter_exact_type(l.set.items[0].filter) == NULL,
           "type \"\" (Any) adds no condition");
        is_long((long) em_filter_nattrs(l.set.items[0].filter), 1,
                "only source remains");
    }
    unload(&l);

    refuses("apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  filter:\n"
            "    attributes: {type: a}\n"
            "    sourceAndType: {type: a}\n"
            "  subscriber: {uri: 'http://x/'}\n", 7,
            "give attributes or sourceAndType, not both",
            "attributes and sourceAndType");

    /* the filters dialect: test_filters_dialect() */
    if (loads(&l, V1(SUB "  filters: []\n"), "filters: []")) {
        is_long(em_filter_kind(l.set.items[0].filter), EM_FILTER_TRUE,
                "an empty filters list changes nothing");
    }
    unload(&l);
}


static void
test_subscriber(void)
{
    load_t       l;
    em_config_t  c2;
    em_diag_t    d;
    const char  *c2_text =
        "subscriberTemplate: \"https://{namespace}.fn.example/{name}\"\n"
        "brokers:\n  - {namespace: default, name: default}\n";

#define SUBSCRIBER(s)  V1("  subscriber:\n" s)

    if (loads(&l, SUBSCRIBER("    ref: {kind: Service, name: fn}\n"
                             "    uri: /update\n"), "ref and uri"))
    {
        is_str(l.set.items[0].subscriber_uri,
               "http://fn.default.svc.cluster.local/update",
               "uri resolved against the ref's URL");
    }
    unload(&l);

    if (loads(&l, SUBSCRIBER("    ref: {kind: Service, name: fn, "
                             "namespace: shop}\n"
                             "    uri: \"a/b?x=1#f\"\n"), "ref ns + rel"))
    {
        is_str(l.set.items[0].subscriber_uri,
               "http://fn.shop.svc.cluster.local/a/b?x=1#f",
               "ref.namespace and a relative path with a query");
    }
    unload(&l);

    if (loads(&l, SUBSCRIBER("    ref: {kind: Service, name: fn}\n"
                             "    uri: http://elsewhere:9000/x\n"),
              "ref and absolute uri"))
    {
        is_str(l.set.items[0].subscriber_uri, "http://elsewhere:9000/x",
               "an absolute uri wins over the ref");
    }
    unload(&l);

    if (loads(&l, SUBSCRIBER("    uri: HTTP://Host.Example\n"), "host only")) {
        is_str(l.set.items[0].subscriber_uri, "http://Host.Example/",
               "written back normalised, with its path");
    }
    unload(&l);

    refuses(SUBSCRIBER("    uri: /relative\n"), 8,
            "spec.subscriber.uri: \"/relative\" is not an absolute URL",
            "relative uri without ref");
    refuses(SUBSCRIBER("    uri: ftp://x/\n"), 8,
            "must be an http:// or https:// URL", "ftp uri");
    refuses(SUBSCRIBER("    uri: \"http://bob:pw@x/\"\n"), 8,
            "holds credentials", "credentials in the uri");
    refuses(SUBSCRIBER("    uri: \"http://x y/\"\n"), 8,
            "spec.subscriber.uri: \"http://x y/\"", "space in the uri");
    refuses(SUBSCRIBER("    uri: \"\"\n"), 8, "must not be empty",
            "empty uri");
    refuses(SUBSCRIBER("    ref: {kind: Service}\n"), 8,
            "spec.subscriber.ref.name: missing", "ref without name");
    refuses(SUBSCRIBER("    ref: {name: fn}\n"), 8,
            "spec.subscriber.ref.kind: missing", "ref without kind");
    refuses(SUBSCRIBER("    ref: {kind: Service, name: Fn_1}\n"), 8,
            "spec.subscriber.ref.name: \"Fn_1\" is not a valid name",
            "bad ref name");
    refuses(SUBSCRIBER("    ref: {kind: Service, name: fn, group: x}\n"), 8,
            "unknown key 'group' in spec.subscriber.ref", "unknown ref key");
    refuses(SUBSCRIBER("    uri: http://x/\n    CACerts: abc\n"), 9,
            "CACerts: custom CA certificates are not supported yet",
            "CACerts");
    refuses(SUBSCRIBER("    uri: http://x/\n    audience: abc\n"), 9,
            "audience: OIDC audiences are not supported", "audience");
    refuses(SUBSCRIBER("    {}\n"), 7, "give uri (http://host/path) or ref",
            "empty subscriber");
    refuses(V1("  subscriber:\n"), 7, "spec.subscriber: no value",
            "null subscriber");
    refuses(V1("  filter: {}\n"), 5, "spec.subscriber: missing",
            "no subscriber");

    /* the template comes from dispatcher.yaml */
    em_diag_init(&d);
    if (ok(em_config_load_string(&c2, "c2.yaml", c2_text, strlen(c2_text),
                                 &d) == 0, "a config with a template"))
    {
        static const char  text[] =
            V1("  subscriber:\n    ref: {kind: Service, name: fn}\n");

        l.rc = em_triggers_load_string(&c2, "t.yaml", text, strlen(text),
                                       &l.set, &d);
        ok(l.rc == 0 && l.set.n == 1
           && strcmp(l.set.items[0].subscriber_uri,
                     "https://default.fn.example/fn") == 0,
           "ref through subscriberTemplate: %s",
           l.set.n ? l.set.items[0].subscriber_uri : "(none)");
        em_triggers_free(&l.set);
        em_config_free(&c2);
    }
    em_diag_free(&d);

#undef SUBSCRIBER
}


static void
test_delivery(void)
{
    load_t               l;
    const em_delivery_t *dl;

#define DELIVERY(s)  V1(SUB "  delivery:\n" s)

    if (loads(&l, DELIVERY("    retry: 5\n"
                           "    backoffPolicy: exponential\n"
                           "    backoffDelay: PT0.2S\n"
                           "    timeout: PT30S\n"
                           "    retryAfterMax: PT2M\n"
                           "    deadLetterSink:\n"
                           "      uri: http://dls.example/dead\n"
                           "    format: json\n"), "every delivery key"))
    {
        dl = &l.set.items[0].delivery;
        is_long(dl->retry, 5, "retry 5");
        is_long(dl->backoff_policy, EM_BACKOFF_EXPONENTIAL, "exponential");
        is_long((long) dl->backoff_delay, 200000000, "backoffDelay PT0.2S");
        is_long((long) (dl->timeout / SEC), 30, "timeout PT30S");
        is_long((long) (dl->retry_after_max / SEC), 120, "retryAfterMax PT2M");
        is_str(dl->dead_letter_uri, "http://dls.example/dead",
               "deadLetterSink uri");
        is_long(dl->format, EM_FORMAT_JSON, "format json");
        is_long((long) l.set.warnings.n, 0, "no warnings");
    }
    unload(&l);

    if (loads(&l, DELIVERY("    retry: 100\n    backoffPolicy: linear\n"
                           "    backoffDelay: PT1S\n    retryAfterMax: PT0S\n"
                           "    format: binary\n"
                           "    deadLetterSink:\n"
                           "      ref: {kind: Service, name: dls}\n"),
              "linear, DLS ref"))
    {
        dl = &l.set.items[0].delivery;
        is_long(dl->retry, 100, "retry 100 (the maximum)");
        is_long(dl->backoff_policy, EM_BACKOFF_LINEAR, "linear");
        is_long((long) dl->retry_after_max, 0, "retryAfterMax PT0S: 0");
        is_long(dl->format, EM_FORMAT_BINARY, "format binary");
        is_str(dl->dead_letter_uri, "http://dls.default.svc.cluster.local/",
               "deadLetterSink ref through the template");
    }
    unload(&l);

    if (loads(&l, DELIVERY("    retry: 3\n    backoffPolicy: linear\n"),
              "policy without delay"))
    {
        is_long(l.set.items[0].delivery.backoff_policy, EM_BACKOFF_NONE,
                "policy without delay: no wait (Knative)");
        ok(has(&l.set.warnings, 11, "backoffPolicy without backoffDelay"),
           "and a warning saying so");
    }
    unload(&l);

    if (loads(&l, DELIVERY("    retry: 3\n    backoffDelay: PT1S\n"),
              "delay without policy"))
    {
        is_long(l.set.items[0].delivery.backoff_policy, EM_BACKOFF_NONE,
                "delay without policy: no wait");
        ok(has(&l.set.warnings, 11, "backoffDelay without backoffPolicy"),
           "and a warning saying so");
    }
    unload(&l);

    if (loads(&l, DELIVERY("    backoffPolicy: linear\n"
                           "    backoffDelay: PT1S\n"), "backoff, no retry"))
    {
        ok(has(&l.set.warnings, 9, "retry is 0"),
           "a backoff without retries is pointed out");
    }
    unload(&l);

    refuses(DELIVERY("    retry: 101\n"), 10,
            "spec.delivery.retry: \"101\" is out of range (0 to 100)",
            "retry 101");
    refuses(DELIVERY("    retry: -1\n"), 10, "\"-1\" must not be negative",
            "retry -1");
    refuses(DELIVERY("    retry: three\n"), 10,
            "\"three\" is not a whole number", "retry three");
    refuses(DELIVERY("    retry: 1.5\n"), 10, "\"1.5\" is not a whole number",
            "retry 1.5");
    refuses(DELIVERY("    backoffPolicy: Linear\n"), 10,
            "\"Linear\" is not linear or exponential", "policy Linear");
    refuses(DELIVERY("    backoffDelay: 200ms\n"), 10,
            "\"200ms\" is not an ISO 8601 duration: Trigger files use "
            "Knative's form, write PT0.2S", "Go duration with a hint");
    refuses(DELIVERY("    backoffDelay: P1M\n"), 10,
            "years or months, which have no fixed length",
            "months refused");
    refuses(DELIVERY("    timeout: PT0S\n"), 10,
            "spec.delivery.timeout: must be longer than 0", "timeout 0");
    refuses(DELIVERY("    timeout: -PT1S\n"), 10, "must not be negative",
            "negative timeout");
    refuses(DELIVERY("    retryAfterMax: 10\n"), 10,
            "\"10\" is not an ISO 8601 duration", "retryAfterMax 10");
    refuses(DELIVERY("    format: JSON\n"), 10,
            "\"JSON\" is not json (structured mode) or binary", "format JSON");
    refuses(DELIVERY("    deadLetterSink: {uri: ftp://x/}\n"), 10,
            "spec.delivery.deadLetterSink.uri: \"ftp://x/\" must be an "
            "http:// or https:// URL", "DLS ftp");
    refuses(DELIVERY("    deadLetterSink: {}\n"), 10,
            "spec.delivery.deadLetterSink: give uri", "DLS empty");
    refuses(DELIVERY("    retries: 3\n"), 10,
            "unknown key 'retries' in spec.delivery (expected retry, "
            "backoffPolicy, backoffDelay, timeout, retryAfterMax, "
            "deadLetterSink or format)", "typo in delivery");
    refuses(V1(SUB "  delivery: [retry]\n"), 9,
            "spec.delivery: expected a mapping", "delivery a list");

#undef DELIVERY
}


static void
test_iso8601(void)
{
    static const struct {
        const char  *s;
        int64_t      ns;
    } good[] = {
        { "PT0S", 0 },
        { "PT0.2S", 200000000 },
        { "PT0,5S", 500000000 },
        { "PT1S", SEC },
        { "PT1M", 60 * SEC },
        { "PT1M30S", 90 * SEC },
        { "PT1.5M", 90 * SEC },
        { "PT2H", 7200 * SEC },
        { "P1D", 86400 * SEC },
        { "P1W", 7 * 86400 * SEC },
        { "P1DT12H", 36 * 3600 * SEC },
        { "PT0.000000001S", 1 },
        { "PT0.0000000019S", 1 },
        { "PT100000S", 100000 * SEC },
    };
    static const struct {
        const char  *s;
        const char  *why;
    } bad[] = {
        { "", "is not an ISO 8601 duration" },
        { "P", "is not an ISO 8601 duration" },
        { "PT", "has a 'T' with nothing after it" },
        { "1S", "is not an ISO 8601 duration" },
        { "P1S", "needs a 'T' before hours" },
        { "P1H", "needs a 'T' before hours" },
        { "P1Y", "years or months" },
        { "P1M", "years or months" },
        { "P1Y2M", "years or months" },
        { "pt1s", "is not an ISO 8601 duration" },
        { "PT1s", "upper-case designators" },
        { "PT1", "a number without a unit" },
        { "PTS", "is not an ISO 8601 duration" },
        { "PT1S1M", "is not an ISO 8601 duration" },
        { "PT1.5M30S", "a fraction before its last component" },
        { "PT1.S", "is not an ISO 8601 duration" },
        { "PT1TS", "is not an ISO 8601 duration" },
        { "-PT1S", "must not be negative" },
        { "PT1S ", "is not an ISO 8601 duration" },
        { "P999999999999D", "is too long" },
        { "PT99999999999999999999S", "is too long" },
    };
    size_t       i;
    int64_t      ns;
    const char  *why;
    char         buf[EM_ISO8601_FORMAT_SIZE];

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ns = -1;
        why = NULL;
        ok(em_iso8601_duration_parse(good[i].s, strlen(good[i].s), &ns,
                                     &why) == 0 && ns == good[i].ns,
           "ISO 8601 %s = %lld ns (got %lld%s%s)", good[i].s,
           (long long) good[i].ns, (long long) ns, why ? ", " : "",
           why ? why : "");
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        ok(em_iso8601_duration_parse(bad[i].s, strlen(bad[i].s), &ns,
                                     &why) == -1
           && why != NULL && strstr(why, bad[i].why) != NULL,
           "ISO 8601 \"%s\" refused: %s", bad[i].s, why ? why : "accepted");
    }

    em_iso8601_duration_format(200000000, buf, sizeof(buf));
    is_str(buf, "PT0.2S", "format 0.2 s");
    em_iso8601_duration_format(0, buf, sizeof(buf));
    is_str(buf, "PT0S", "format 0");
    em_iso8601_duration_format(90 * SEC, buf, sizeof(buf));
    is_str(buf, "PT1M30S", "format 90 s");
    em_iso8601_duration_format(86400 * SEC + 7200 * SEC, buf, sizeof(buf));
    is_str(buf, "P1DT2H", "format a day and 2 hours");
    em_iso8601_duration_format(INT64_MAX, buf, sizeof(buf));
    ok(em_iso8601_duration_parse(buf, strlen(buf), &ns, &why) == 0
       && ns == INT64_MAX, "format(INT64_MAX) = %s parses back", buf);
}


static void
test_documents(void)
{
    load_t  l;

    if (loads(&l,
              "---\n"
              "# the first document is empty\n"
              "---\n"
              "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
              "metadata: {name: a}\n"
              "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n"
              "---\n"
              "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
              "metadata: {name: b}\n"
              "spec: {broker: default, subscriber: {uri: 'http://y/'}}\n"
              "...\n",
              "several documents"))
    {
        is_long((long) l.set.n, 2, "two triggers, the empty document skipped");
        is_str(l.set.items[0].name, "a", "in order: a");
        is_long(l.set.items[0].line, 4, "a starts at line 4");
        is_str(l.set.items[1].name, "b", "then b");
        is_long(l.set.items[1].line, 9, "b starts at line 9");
    }
    unload(&l);

    if (loads(&l, "", "an empty file")) {
        is_long((long) l.set.n, 0, "no triggers");
    }
    unload(&l);

    /* every document's problems, then nothing loaded */
    load(&l,
         "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
         "metadata: {name: a}\n"
         "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n"
         "---\n"
         "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
         "metadata: {name: b}\n"
         "spec: {broker: default, subscriber: {uri: 'x'}}\n"
         "---\n"
         "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
         "metadata: {name: c}\n"
         "spec: {broker: default, subscriber: {uri: 'y'}}\n");
    ok(l.rc == -1 && l.set.n == 0 && l.diag.n == 2
       && has(&l.diag, 9, "\"x\" is not an absolute URL")
       && has(&l.diag, 14, "\"y\" is not an absolute URL"),
       "two broken documents of three: both reported, none loaded");
    unload(&l);

    /* the same name twice */
    load(&l,
         "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
         "metadata: {name: a}\n"
         "spec: {broker: default, subscriber: {uri: 'http://x/'}}\n"
         "---\n"
         "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
         "metadata: {name: a, namespace: default}\n"
         "spec: {subscriber: {uri: 'http://y/'}}\n"
         "---\n"
         "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
         "metadata: {name: a, namespace: shop}\n"
         "spec: {broker: default, subscriber: {uri: 'http://y/'}}\n");
    ok(l.rc == -1 && l.diag.n == 1
       && has(&l.diag, 6, "Trigger default/a is defined twice: first at "
              "t.yaml:1"),
       "a duplicate names both places; the same name in another namespace "
       "is fine");
    if (l.diag.n != 1) {
        dump(&l.diag, "got");
    }
    unload(&l);

    /* the YAML reader's limits hold for Trigger files too */
    refuses("apiVersion: &v eventing.knative.dev/v1\nkind: *v\n", 2,
            "YAML aliases (*", "aliases");
    refuses("apiVersion: eventing.knative.dev/v1\n kind: Trigger\n", 2,
            "YAML syntax error", "a syntax error");
    refuses("apiVersion: eventing.knative.dev/v1\napiVersion: x\n", 2,
            "duplicate key 'apiVersion' (first at line 1)", "duplicate key");
}


static const em_trigger_t *
only(load_t *l, const char *text, const char *name)
{
    if (!loads(l, text, name) || l->set.n != 1) {
        return NULL;
    }

    return &l->set.items[0];
}


static void
test_digest(void)
{
    load_t               a, b;
    const em_trigger_t  *ta, *tb;
    size_t               i;

    static const char  base[] =
        V1("  filter:\n    attributes: {type: a, source: s}\n"
           "  subscriber: {uri: 'http://x/'}\n"
           "  delivery: {retry: 2}\n");

    static const struct {
        const char  *text;
        int          same;
        const char  *what;
    } cases[] = {
        { "apiVersion: eventing.knative.dev/v1\n"
          "kind: Trigger\n"
          "metadata:\n  name: t\n  labels: {x: y}\n"
          "spec:\n"
          "  delivery:\n    retry: 2\n"
          "  subscriber:\n    uri: \"http://x/\"\n"
          "  filter:\n    attributes:\n      source: s\n      type: a\n"
          "  broker: default\n"
          "status: {x: 1}\n",
          1, "reordered keys, labels and status: same digest" },
        { V1("  filter:\n    attributes: {type: a, source: s}\n"
             "  subscriber: {uri: 'http://x/'}\n"
             "  delivery: {retry: 2, timeout: PT10M}\n"),
          1, "the default timeout written out: same digest" },
        { V1("  filter:\n    attributes: {type: a, source: t}\n"
             "  subscriber: {uri: 'http://x/'}\n"
             "  delivery: {retry: 2}\n"),
          0, "another filter value: another digest" },
        { V1("  filter:\n    attributes: {type: a, source: s}\n"
             "  subscriber: {uri: 'http://x/y'}\n"
             "  delivery: {retry: 2}\n"),
          0, "another subscriber: another digest" },
        { V1("  filter:\n    attributes: {type: a, source: s}\n"
             "  subscriber: {uri: 'http://x/'}\n"
             "  delivery: {retry: 3}\n"),
          0, "another retry: another digest" },
        { V1("  filter:\n    attributes: {type: a, source: s}\n"
             "  subscriber: {uri: 'http://x/'}\n"
             "  delivery: {retry: 2, format: json}\n"),
          0, "another format: another digest" },
        { V1("  filter:\n    attributes: {type: a, source: s}\n"
             "  subscriber: {uri: 'http://x/'}\n"
             "  delivery: {retry: 2, deadLetterSink: {uri: 'http://d/'}}\n"),
          0, "a dead-letter sink: another digest" },
        { "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
          "metadata:\n  name: t\n"
          "  annotations: {eventmesh.io/max-in-flight: '1'}\n"
          "spec:\n  broker: default\n"
          "  filter:\n    attributes: {type: a, source: s}\n"
          "  subscriber: {uri: 'http://x/'}\n"
          "  delivery: {retry: 2}\n",
          0, "another in-flight bound: another digest" },
        { "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
          "metadata:\n  name: t\n"
          "spec:\n  broker: nope\n"
          "  filter:\n    attributes: {type: a, source: s}\n"
          "  subscriber: {uri: 'http://x/'}\n"
          "  delivery: {retry: 2}\n",
          0, "another broker: another digest" },
    };

    ta = only(&a, base, "digest base");

    for (i = 0; ta != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
        tb = only(&b, cases[i].text, cases[i].what);
        if (tb != NULL) {
            ok((strcmp(ta->digest, tb->digest) == 0) == cases[i].same, "%s",
               cases[i].what);
        }
        unload(&b);
    }

    unload(&a);
}


static void
test_consumer_name(void)
{
    em_trigger_t  t;
    char          out[EM_TRIGGER_CONSUMER_NAME_SIZE];
    char          out2[EM_TRIGGER_CONSUMER_NAME_SIZE];
    char          long1[254], long2[254];
    const char   *p;
    int           clean;

    memset(&t, 0, sizeof(t));
    t.ns = "default";
    t.name = "user-created";

    ok(em_trigger_consumer_name(&t, out, sizeof(out)) == 0
       && strcmp(out, "em_default_user-created") == 0,
       "consumer name em_default_user-created: %s", out);

    ok(em_trigger_consumer_name(&t, out, 16) == -1,
       "a buffer smaller than EM_TRIGGER_CONSUMER_NAME_SIZE is refused");

    t.name = "a.b";
    ok(em_trigger_consumer_name(&t, out, sizeof(out)) == 0
       && strcmp(out, "em_default_a~2Eb") == 0,
       "a '.' in the name is encoded: %s", out);

    /* two long names that differ only at the end */
    memset(long1, 'a', 253);
    long1[253] = '\0';
    memcpy(long2, long1, sizeof(long1));
    long2[252] = 'b';

    t.name = long1;
    em_trigger_consumer_name(&t, out, sizeof(out));
    t.name = long2;
    em_trigger_consumer_name(&t, out2, sizeof(out2));

    is_long((long) strlen(out), EM_TRIGGER_CONSUMER_NAME_SIZE - 1,
            "a long name is cut to %d bytes",
            EM_TRIGGER_CONSUMER_NAME_SIZE - 1);
    ok(strcmp(out, out2) != 0, "and stays unique (%s)", out + 100);

    clean = 1;
    for (p = out; *p; p++) {
        if (strchr(".*> \t/\\", *p) != NULL) {
            clean = 0;
        }
    }
    ok(clean, "no byte JetStream refuses in a durable name");

    t.name = long1;
    em_trigger_consumer_name(&t, out2, sizeof(out2));
    is_str(out2, out, "the same trigger gives the same name");
}


static void
test_directory(void)
{
    char              dir[] = "/tmp/em-triggers-XXXXXX";
    char              path[256];
    em_config_t       c;
    em_diag_t         d;
    em_trigger_set_t  set;
    FILE             *f;
    int               rc;

    if (!ok(mkdtemp(dir) != NULL, "a temporary directory")) {
        return;
    }

#define WRITE(name, text)                                                    \
    do {                                                                     \
        snprintf(path, sizeof(path), "%s/%s", dir, name);                    \
        f = fopen(path, "w");                                                \
        if (f != NULL) {                                                     \
            fputs(text, f);                                                  \
            fclose(f);                                                       \
        }                                                                    \
    } while (0)

    WRITE("b.yaml", V1("  subscriber: {uri: 'http://b/'}\n"));
    WRITE("a.yml",
          "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
          "metadata: {name: a}\nspec: {subscriber: {uri: 'http://a/'}}\n");
    WRITE(".hidden.yaml", "not: [a trigger\n");
    WRITE("notes.txt", "not a trigger\n");
    snprintf(path, sizeof(path), "%s/sub.yaml", dir);
    mkdir(path, 0700);

    memset(&c, 0, sizeof(c));
    c.path = "dispatcher.yaml";
    c.triggers_dir = dir;
    c.brokers = cf.brokers;
    c.nbrokers = cf.nbrokers;

    em_diag_init(&d);
    rc = em_triggers_load(&c, &set, &d);
    ok(rc == 0 && set.n == 2, "a directory: two triggers (%zu problems)",
       d.n);
    dump(&d, "error");
    dump(&set.warnings, "warning");
    if (set.n == 2) {
        is_str(set.items[0].name, "a", "files in name order: a.yml first");
        ok(strstr(set.items[0].file, "/a.yml") != NULL,
           "its file is named: %s", set.items[0].file);
        is_str(set.items[1].name, "t", "then b.yaml");
    }
    em_triggers_free(&set);
    em_diag_free(&d);

    /* one broken file fails the whole load */
    WRITE("c.yaml", V1("  subscriber: {uri: 'http://b/'}\n"
                       "  delivery: {retry: x}\n")
          "---\n"
          "apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
          "metadata: {name: a}\nspec: {subscriber: {uri: 'http://c/'}}\n");
    em_diag_init(&d);
    rc = em_triggers_load(&c, &set, &d);
    ok(rc == -1 && set.n == 0 && d.n == 2
       && has(&d, 8, "\"x\" is not a whole number")
       && has(&d, 10, "Trigger default/a is defined twice: first at ")
       && has(&d, 10, "/a.yml:1"),
       "a broken file and a duplicate across files: both reported");
    if (d.n != 2) {
        dump(&d, "got");
    }
    em_triggers_free(&set);
    em_diag_free(&d);

    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/a.yml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/b.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/.hidden.yaml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/notes.txt", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub.yaml", dir);
    rmdir(path);

    em_diag_init(&d);
    rc = em_triggers_load(&c, &set, &d);
    ok(rc == 0 && set.n == 0, "an empty directory: no triggers, no error");
    em_triggers_free(&set);
    em_diag_free(&d);

    rmdir(dir);

    em_diag_init(&d);
    rc = em_triggers_load(&c, &set, &d);
    ok(rc == -1 && d.n == 1
       && has(&d, 0, "cannot read the triggers directory: No such file"),
       "a missing directory: %s", d.n ? d.items[0].msg : "(nothing)");
    em_triggers_free(&set);
    em_diag_free(&d);

#undef WRITE
}


static void
test_subscribed(void)
{
    load_t    l;
    em_buf_t  b;

#define KT(name, type, version, source, broker)                              \
    "---\napiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"        \
    "metadata: {name: " name "}\n"                                           \
    "spec:\n  broker: " broker "\n"                                          \
    "  filter:\n    attributes:\n"                                           \
    "      type: " type "\n" version                                         \
    "      source: " source "\n"                                             \
    "  subscriber: {uri: 'http://x/'}\n"

    if (!loads(&l,
               KT("a", "order.created", "      eventtypeversion: v1\n",
                  "shop", "default")
               KT("b", "order.created", "      eventtypeversion: v1\n",
                  "shop", "default")
               KT("c", "order.created", "      eventtypeversion: v2\n",
                  "shop", "default")
               KT("d", "\"a\\\"quote\"", "      eventtypeversion: v1\n",
                  "shop", "default")
               KT("e", "user.created", "", "shop", "default")
               KT("f", "user.deleted", "      eventtypeversion: v1\n",
                  "mock", "default")
               KT("g", "lost.event", "      eventtypeversion: v1\n",
                  "shop", "nope")
               KT("h", "\"\"", "      eventtypeversion: v1\n",
                  "shop", "default"),
               "Triggers for /v1/subscribed"))
    {
        unload(&l);
        return;
    }

    em_buf_init(&b);

    ok(em_subscribed_json(&l.set, "shop", 4, &b) == EM_OK, "shop: EM_OK");
    is_str(b.data,
           "{\"eventsInfo\":["
           "{\"name\":\"a\\\"quote\",\"version\":\"v1\"},"
           "{\"name\":\"order.created\",\"version\":\"v1\"},"
           "{\"name\":\"order.created\",\"version\":\"v2\"},"
           "{\"name\":\"user.created\",\"version\":\"\"}]}",
           "shop: unique, sorted, escaped; missing broker and any-type left "
           "out");

    em_subscribed_json(&l.set, "mock", 4, &b);
    is_str(b.data,
           "{\"eventsInfo\":[{\"name\":\"user.deleted\",\"version\":\"v1\"}]}",
           "mock: its one type");

    em_subscribed_json(&l.set, "nobody", 6, &b);
    is_str(b.data, "{\"eventsInfo\":[]}", "an unknown app: an empty list");

    em_subscribed_json(&l.set, "sho", 3, &b);
    is_str(b.data, "{\"eventsInfo\":[]}", "a prefix of an app is not the app");

    em_buf_free(&b);
    unload(&l);

    {
        em_trigger_set_t  empty;

        memset(&empty, 0, sizeof(empty));
        em_buf_init(&b);
        em_subscribed_json(&empty, "shop", 4, &b);
        is_str(b.data, "{\"eventsInfo\":[]}", "no triggers: an empty list");
        em_buf_free(&b);
    }

#undef KT
}


/* --- the filters dialect ------------------------------------------------ */

static em_event_t *
ev_of(const char *type, const char *source, const char *subject)
{
    em_event_t  *ev = em_event_new();

    em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING);
    em_event_set(ev, "id", "1", 1, EM_TYPE_STRING);
    em_event_set(ev, "source", source, strlen(source), EM_TYPE_URI_REF);
    em_event_set(ev, "type", type, strlen(type), EM_TYPE_STRING);
    if (subject != NULL) {
        em_event_set(ev, "subject", subject, strlen(subject),
                     EM_TYPE_STRING);
    }

    return ev;
}


/* 1 when the only trigger of text passes the event type/source/subject */
static int
passes(const em_trigger_t *t, const char *type, const char *source,
    const char *subject)
{
    em_event_t  *ev;
    int          m;

    ev = ev_of(type, source, subject);
    m = em_filter_match(t->filter, ev);
    em_event_free(ev);
    return m;
}


static void
test_filters_dialect(void)
{
    load_t               l, m;
    const em_trigger_t  *t, *u;
    em_buf_t             b;

    /* one entry: the filter itself, its type pushed down */
    t = only(&l, V1(SUB "  filters:\n    - exact: {type: order.created}\n"),
             "filters: one exact");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_EXACT, "kind EXACT");
        is_str(em_filter_exact_type(t->filter), "order.created",
               "exact type pushed down");
        ok(passes(t, "order.created", "shop", NULL), "passes its type");
        ok(!passes(t, "order.created.v2", "shop", NULL), "not another");
    }
    unload(&l);

    /* several entries are ANDed */
    t = only(&l, V1(SUB "  filters:\n"
                    "    - prefix: {type: order.}\n"
                    "    - suffix: {source: /eu}\n"
                    "    - not: {exact: {subject: test}}\n"),
             "filters: three entries");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_ALL,
                "entries are ANDed: kind ALL");
        ok(em_filter_exact_type(t->filter) == NULL, "no type to push down");
        ok(passes(t, "order.paid", "shop/eu", "x"), "all three hold: passes");
        ok(passes(t, "order.paid", "shop/eu", NULL),
           "no subject: the not holds");
        ok(!passes(t, "order.paid", "shop/us", NULL), "wrong suffix: fails");
        ok(!passes(t, "user.paid", "shop/eu", NULL), "wrong prefix: fails");
        ok(!passes(t, "order.paid", "shop/eu", "test"),
           "the excluded subject: fails");
    }
    unload(&l);

    /* all, any, nested, block style */
    t = only(&l, V1(SUB "  filters:\n"
                    "    - any:\n"
                    "        - all:\n"
                    "            - exact:\n"
                    "                type: order.created\n"
                    "                source: shop\n"
                    "            - prefix: {subject: 'vip/'}\n"
                    "        - exact: {type: order.cancelled}\n"),
             "filters: any of all and exact");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_ANY, "kind ANY");
        ok(em_filter_exact_type(t->filter) == NULL,
           "types under any are not pushed down");
        ok(passes(t, "order.created", "shop", "vip/1"), "first branch");
        ok(!passes(t, "order.created", "shop", "std/1"),
           "first branch, other subject: fails");
        ok(!passes(t, "order.created", "shop2", "vip/1"),
           "first branch, other source: fails");
        ok(passes(t, "order.cancelled", "x", NULL), "second branch");
    }
    unload(&l);

    /* exact type inside a top-level all: pushed down */
    t = only(&l, V1(SUB "  filters:\n"
                    "    - all:\n"
                    "        - exact: {type: a.b, source: s}\n"
                    "        - not: {prefix: {subject: x}}\n"
                    "    - suffix: {subject: .png}\n"),
             "filters: exact type in all");
    if (t != NULL) {
        is_str(em_filter_exact_type(t->filter), "a.b",
               "the type of an exact in a top-level all is pushed down");
        is_str(em_filter_attribute(t->filter, "source"), "s",
               "and its source is known to /v1/subscribed");
    }
    unload(&l);

    /* filters replaces filter, with a warning */
    t = only(&l, V1("  filter:\n    attributes: {type: a, source: s}\n"
                    SUB
                    "  filters:\n    - exact: {type: b}\n"),
             "filter and filters");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_EXACT,
                "filters wins over filter.attributes");
        ok(passes(t, "b", "other", NULL), "an event of filters passes");
        ok(!passes(t, "a", "s", NULL), "an event of filter does not");
        is_str(em_filter_exact_type(t->filter), "b", "filters' type pushed");
        ok(has(&l.set.warnings, 7, "spec.filter is ignored: spec.filters is "
               "given and replaces it"), "a warning at spec.filter's line");
    }
    unload(&l);

    t = only(&l, V1("  filter: {}\n" SUB
                    "  filters:\n    - exact: {type: b}\n"),
             "filter {} and filters");
    if (t != NULL) {
        is_long((long) l.set.warnings.n, 0,
                "an empty filter beside filters: no warning");
    }
    unload(&l);

    t = only(&l, V1("  filter:\n    attributes: {type: a}\n" SUB
                    "  filters:\n"), "filters with no value");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_ATTRIBUTES,
                "filters: (null) leaves filter.attributes in force");
        is_long((long) l.set.warnings.n, 0, "and no warning");
    }
    unload(&l);

    t = only(&l, V1("  filter:\n    attributes: {type: a}\n" SUB
                    "  filters: []\n"), "filters: [] beside filter");
    if (t != NULL) {
        is_str(em_filter_exact_type(t->filter), "a",
               "filters: [] leaves filter.attributes in force (Knative)");
    }
    unload(&l);

    /* Kyma's form takes it too */
    t = only(&l, "apiVersion: eventing.knative.dev/v1alpha1\n"
                 "kind: Trigger\nmetadata: {name: t}\n"
                 "spec:\n"
                 "  filters:\n"
                 "    - exact: {type: user.created, source: mock}\n"
                 "    - prefix: {eventtypeversion: v}\n"
                 "  subscriber: {uri: 'http://x/'}\n",
             "v1alpha1 with filters");
    if (t != NULL) {
        is_str(em_filter_exact_type(t->filter), "user.created",
               "v1alpha1: the type pushed down");
        ok(!passes(t, "user.created", "mock", NULL),
           "v1alpha1: eventtypeversion missing: fails");
    }
    unload(&l);

    refuses("apiVersion: eventing.knative.dev/v1alpha1\nkind: Trigger\n"
            "metadata: {name: t}\n"
            "spec:\n"
            "  brokerRef: {name: default}\n"
            "  subscriber: {uri: 'http://x/'}\n", 5,
            "unknown key 'brokerRef' in spec (expected broker, filter, "
            "subscriber, delivery or filters)", "v1alpha1: still no brokerRef");

    /* YAML's typed scalars are strings here too */
    t = only(&l, V1(SUB "  filters:\n    - exact: {count: 5, flag: true}\n"),
             "filters: typed scalars");
    if (t != NULL) {
        is_str(em_filter_attribute(t->filter, "count"), "5", "count: 5");
        is_str(em_filter_attribute(t->filter, "flag"), "true", "flag: true");
    }
    unload(&l);

    /* digests */
    t = only(&l, V1(SUB "  filters:\n    - exact: {type: a, source: s}\n"
                    "    - prefix: {subject: x}\n"), "digest: filters");
    u = only(&m, V1(SUB "  filters:\n    - exact: {source: s, type: a}\n"
                    "    - prefix: {subject: x}\n"), "digest: keys reordered");
    if (t != NULL && u != NULL) {
        is_str(t->digest, u->digest, "keys of one map reordered: same digest");
    }
    unload(&m);

    u = only(&m, V1(SUB "  filters:\n    - exact: {type: a, source: s}\n"
                    "    - suffix: {subject: x}\n"), "digest: prefix->suffix");
    if (t != NULL && u != NULL) {
        ok(strcmp(t->digest, u->digest) != 0,
           "prefix changed to suffix: another digest");
    }
    unload(&m);

    u = only(&m, V1(SUB "  filters:\n    - exact: {type: a, source: s}\n"
                    "    - prefix: {subject: y}\n"), "digest: value");
    if (t != NULL && u != NULL) {
        ok(strcmp(t->digest, u->digest) != 0,
           "a changed value: another digest");
    }
    unload(&m);

    u = only(&m, V1("  filter:\n    attributes: {type: a, source: s}\n" SUB),
             "digest: attributes");
    if (t != NULL && u != NULL) {
        ok(strcmp(t->digest, u->digest) != 0,
           "filters replaced by the same attributes: another digest");
    }
    unload(&m);
    unload(&l);

    /* cesql */
    t = only(&l, V1(SUB "  filters:\n"
                    "    - cesql: \"type LIKE 'order.%' AND subject <> "
                    "'test'\"\n"), "filters: cesql");
    if (t != NULL) {
        is_long(em_filter_kind(t->filter), EM_FILTER_CESQL, "kind CESQL");
        ok(passes(t, "order.paid", "shop", "x"), "cesql: passes");
        ok(!passes(t, "order.paid", "shop", "test"), "cesql: fails");
        ok(!passes(t, "order.paid", "shop", NULL),
           "cesql: a missing subject fails the comparison");
        is_long((long) l.set.warnings.n, 0, "no warning");
    }
    unload(&l);

    t = only(&l, V1(SUB "  filters:\n"
                    "    - exact: {type: order.created}\n"
                    "    - cesql: >-\n"
                    "        source = 'shop'\n"
                    "        AND (subject LIKE 'vip/%'\n"
                    "             OR subject IN ('a', 'b'))\n"),
             "filters: a folded cesql beside exact");
    if (t != NULL) {
        is_str(em_filter_exact_type(t->filter), "order.created",
               "the exact type is pushed down beside the cesql");
        ok(passes(t, "order.created", "shop", "vip/7"), "folded: passes");
        ok(passes(t, "order.created", "shop", "b"), "IN: passes");
        ok(!passes(t, "order.created", "shop", "c"), "folded: fails");
    }
    unload(&l);

    t = only(&l, V1(SUB "  filters:\n    - cesql: \"1 = 1\"\n"),
             "cesql always true");
    if (t != NULL) {
        ok(has(&l.set.warnings, 10, "spec.filters[0].cesql: \"1 = 1\" is "
               "always true: the filter passes every event"),
           "a constant true expression: a warning");
    }
    unload(&l);

    t = only(&l, V1(SUB "  filters:\n    - cesql: \"TRUE AND FALSE\"\n"),
             "cesql always false");
    if (t != NULL) {
        ok(has(&l.set.warnings, 10, "is always false: the filter passes no "
               "event"), "a constant false expression: a warning");
    }
    unload(&l);

    t = only(&l, V1(SUB "  filters:\n    - cesql: \"'abc'\"\n"),
             "cesql a string");
    if (t != NULL) {
        ok(has(&l.set.warnings, 10, "is not a condition but a constant "
               "string: the filter passes no event"),
           "a constant string: a warning");
        ok(!passes(t, "a", "b", NULL), "and it passes nothing");
    }
    unload(&l);

    t = only(&l, V1(SUB "  filters:\n    - cesql: \"type = 'a'\"\n"),
             "digest: cesql");
    u = only(&m, V1(SUB "  filters:\n    - cesql: \"type='a'\"\n"),
             "digest: cesql respaced");
    if (t != NULL && u != NULL) {
        is_str(t->digest, u->digest, "cesql respaced: same digest");
    }
    unload(&m);
    u = only(&m, V1(SUB "  filters:\n    - cesql: \"type = 'b'\"\n"),
             "digest: cesql changed");
    if (t != NULL && u != NULL) {
        ok(strcmp(t->digest, u->digest) != 0,
           "cesql changed: another digest");
    }
    unload(&m);
    unload(&l);

    /* /v1/subscribed reads exact pairs */
    if (loads(&l, V1(SUB "  filters:\n"
                     "    - exact: {type: order.created, source: shop, "
                     "eventtypeversion: v1}\n"
                     "---\n"
                     "apiVersion: eventing.knative.dev/v1\nkind: Trigger\n"
                     "metadata: {name: u}\n"
                     "spec:\n  broker: default\n" SUB
                     "  filters:\n"
                     "    - any:\n"
                     "        - exact: {type: order.paid, source: shop}\n"),
              "filters for /v1/subscribed"))
    {
        em_buf_init(&b);
        em_subscribed_json(&l.set, "shop", 4, &b);
        is_str(b.data, "{\"eventsInfo\":[{\"name\":\"order.created\","
               "\"version\":\"v1\"}]}",
               "/v1/subscribed: an exact filter counts, one under any not");
        em_buf_free(&b);
    }
    unload(&l);
}


static void
test_filters_refused(void)
{
    load_t  l;

#define F(text)  V1(SUB "  filters:\n" text)

    refuses(F("    - {}\n"), 10, "spec.filters[0]: an empty filter: give "
            "one of exact, prefix, suffix, all, any, not or cesql (Knative "
            "would pass every event)", "an empty filter object");
    refuses(F("    -\n"), 10, "spec.filters[0]: no filter", "a null entry");
    refuses(F("    - exact: {type: a}\n      prefix: {type: b}\n"), 11,
            "spec.filters[0]: more than one dialect (exact and prefix): a "
            "filter holds exactly one; combine several with all",
            "two dialects in one filter");
    refuses(F("    - regex: {type: a}\n"), 10,
            "spec.filters[0]: unknown dialect 'regex' (expected exact, "
            "prefix, suffix, all, any, not or cesql)", "an unknown dialect");
    refuses(F("    - sql: \"type = 'a'\"\n"), 10,
            "unknown dialect 'sql'", "sql (the subscriptions API's name)");
    refuses(F("    - all: []\n"), 10, "spec.filters[0].all: empty: give at "
            "least one filter (Knative would pass every event)",
            "an empty all");
    refuses(F("    - any: []\n"), 10, "spec.filters[0].any: empty",
            "an empty any");
    refuses(F("    - any:\n"), 10, "spec.filters[0].any: empty",
            "an any with no value");
    refuses(F("    - exact: {}\n"), 10, "spec.filters[0].exact: empty: name "
            "at least one attribute", "an empty exact");
    refuses(F("    - suffix:\n"), 10, "spec.filters[0].suffix: empty",
            "a suffix with no value");
    refuses(F("    - exact: {type: \"\"}\n"), 10,
            "spec.filters[0].exact.type: empty value: Knative would skip "
            "this exact and pass every event", "an empty exact value");
    refuses(F("    - prefix:\n        type:\n"), 11,
            "spec.filters[0].prefix.type: empty value", "a null prefix value");
    refuses(F("    - exact: {\"\": a}\n"), 10,
            "spec.filters[0].exact: an empty attribute name", "an empty key");
    refuses(F("    - exact: {Type: a}\n"), 10,
            "spec.filters[0].exact: 'Type' is not a valid attribute name",
            "an upper-case name");
    refuses(F("    - prefix: {event-type: a}\n"), 10,
            "'event-type' is not a valid attribute name", "a dash in a name");
    refuses(F("    - suffix: {1x: a}\n"), 10,
            "'1x' is not a valid attribute name", "a leading digit");
    refuses(F("    - prefix: {type: [a]}\n"), 10,
            "spec.filters[0].prefix: expected a single value, found a list",
            "a list value");
    refuses(F("    - exact: {type: \"a\\0b\"}\n"), 10, "contains a NUL byte",
            "a NUL byte");
    refuses(F("    - exact: a\n"), 10, "spec.filters[0].exact: expected a "
            "mapping of attribute names to values, found a single value",
            "exact: a value");
    refuses(F("    - all: {exact: {type: a}}\n"), 10,
            "spec.filters[0].all: expected a list of filters, found a "
            "mapping", "all: a mapping");
    refuses(F("    - not: {}\n"), 10, "spec.filters[0].not: an empty filter",
            "not {}");
    refuses(F("    - not:\n"), 10, "spec.filters[0].not: no filter",
            "not with no value");
    refuses(F("    - not: [exact: {type: a}]\n"), 10,
            "spec.filters[0].not: expected a filter (a mapping with one of "
            "exact, prefix, suffix, all, any, not or cesql), found a list",
            "not: a list");
    refuses(F("    - [exact: {type: a}]\n"), 10, "spec.filters[0]: expected a "
            "filter", "an entry that is a list");
    refuses(V1(SUB "  filters: {exact: {type: a}}\n"), 9,
            "spec.filters: expected a list of filters (- exact: {type: "
            "...}), found a mapping", "filters: a mapping");
    refuses(V1(SUB "  filters: exact\n"), 9,
            "spec.filters: expected a list of filters", "filters: a value");
    refuses(F("    - exact: {type: a}\n"
              "    - all:\n"
              "        - any:\n"
              "            - not:\n"
              "                suffix: {type: \"\"}\n"), 14,
            "spec.filters[1].all[0].any[0].not.suffix.type: empty value",
            "the path of a deep problem");

    refuses(F("    - cesql: \"type =\"\n"), 10,
            "spec.filters[0].cesql: \"type =\" is not valid CESQL: "
            "unexpected end of expression at column 7",
            "a CESQL parse error, with its column");
    refuses(F("    - cesql: \"type = 'a' AND (subject = 'b'\"\n"), 10,
            "at column 30", "an unclosed parenthesis");
    refuses(F("    - cesql: \"nosuch(type)\"\n"), 10,
            "spec.filters[0].cesql: \"nosuch(type)\" is not valid CESQL: "
            "unknown function NOSUCH/1 at column 1", "an unknown function");
    refuses(F("    - cesql: \"\"\n"), 10,
            "spec.filters[0].cesql: empty: give a CESQL expression",
            "an empty expression");
    refuses(F("    - cesql:\n"), 10, "spec.filters[0].cesql: empty",
            "a cesql with no value");
    refuses(F("    - cesql: [type = 'a']\n"), 10,
            "spec.filters[0].cesql: expected a single value, found a list",
            "cesql: a list");
    refuses(F("    - not:\n        cesql: \"type LIKE\"\n"), 11,
            "spec.filters[0].not.cesql: \"type LIKE\" is not valid CESQL",
            "a parse error under not");

    /* every problem, not only the first */
    load(&l, F("    - exact: {type: \"\"}\n"
               "    - any: []\n"
               "    - foo: 1\n"
               "    - prefix: {A: b}\n"
               "      suffix: {type: x}\n"));
    if (!ok(l.rc == -1 && l.diag.n == 5
            && has(&l.diag, 10, "spec.filters[0].exact.type: empty value")
            && has(&l.diag, 11, "spec.filters[1].any: empty")
            && has(&l.diag, 12, "spec.filters[2]: unknown dialect 'foo'")
            && has(&l.diag, 13, "spec.filters[3].prefix: 'A' is not a "
                   "valid")
            && has(&l.diag, 14, "spec.filters[3]: more than one dialect "
                   "(prefix and suffix)"),
            "five problems in one list: all five reported with their lines"))
    {
        dump(&l.diag, "got");
    }
    unload(&l);

    /* an error in filter is still reported when filters replaces it */
    refuses(V1("  filter:\n    attributes: {Type: a}\n" SUB
               "  filters:\n    - exact: {type: b}\n"), 8,
            "'Type' is not a valid attribute name",
            "a broken filter beside filters");

#undef F
}


int
main(void)
{
    em_diag_t  d;

    em_diag_init(&d);
    if (em_config_load_string(&cf, "dispatcher.yaml", conf_text,
                              strlen(conf_text), &d) != 0)
    {
        dump(&d, "config");
        ok(0, "the test configuration loads");
        return tap_done();
    }
    em_diag_free(&d);

    test_kyma_form();
    test_head_and_metadata();
    test_in_flight();
    test_broker();
    test_filter();
    test_subscriber();
    test_delivery();
    test_iso8601();
    test_documents();
    test_digest();
    test_consumer_name();
    test_directory();
    test_subscribed();
    test_filters_dialect();
    test_filters_refused();

    em_config_free(&cf);
    return tap_done();
}
