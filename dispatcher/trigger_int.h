/*
 * Between the pieces of the Trigger loader: trigger_load.c (files, the
 * set, digests, names), trigger_doc.c (one YAML document), trigger_dest.c
 * (subscriber and dead-letter destinations), trigger_delivery.c and
 * trigger_filters.c (the filters dialect).
 */

#ifndef EM_DISPATCHER_TRIGGER_INT_H
#define EM_DISPATCHER_TRIGGER_INT_H

#include "conf_walk.h"
#include "trigger.h"
#include "yaml_tree.h"

/* Kubernetes' limit; filters are small, a huge one is a mistake */
#define EM_TRIGGER_MAX_ATTRS  64

typedef struct {
    em_conf_ctx_t        ctx;           /* file, errors (diag) */
    em_diag_t           *warnings;
    const em_config_t   *cf;
    int                  v1alpha1;
} em_tdoc_t;

void em_tdoc_warn(em_tdoc_t *d, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * One document into *t (zeroed first).  Returns 0, or -1 with the
 * problems recorded; *t is then freed.
 */
int em_trigger_from_doc(em_tdoc_t *d, const em_yaml_node_t *root,
    em_trigger_t *t);

void em_trigger_free(em_trigger_t *t);

/* The digest of a fully resolved trigger into t->digest. */
int em_trigger_digest(em_trigger_t *t);

/*
 * A destination (spec.subscriber, delivery.deadLetterSink): uri, ref
 * through cf->subscriber_template, or both (uri relative to the ref's
 * URL).  ns is the Trigger's namespace, the default of ref.namespace.
 * Returns 0 with *out (malloc'ed), or -1 (reported).
 */
int em_tdest_parse(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    const char *ns, char **out);

/*
 * spec.filters into *out: NULL when the list is absent, null or empty
 * (spec.filter then applies, as in Knative).  Returns 0, or -1 with every
 * problem reported.
 */
int em_tfilters_parse(em_tdoc_t *d, const em_conf_field_t *f,
    em_filter_t **out);

/* spec.delivery into *dl (defaults first); returns 0 or -1 (reported). */
int em_tdelivery_parse(em_tdoc_t *d, const em_conf_field_t *f,
    const char *ns, em_delivery_t *dl);

/*
 * Kubernetes names.  A DNS-1123 label ([a-z0-9-], alphanumeric at both
 * ends, at most 63) for namespaces, brokers and services; a DNS-1123
 * subdomain (labels joined by '.', at most 253) for object names.
 * 1 when valid, else 0 with *why.
 */
int em_k8s_label_valid(const char *s, size_t len, const char **why);
int em_k8s_subdomain_valid(const char *s, size_t len, const char **why);

/* A k8s name at f into *out; 0 or -1 (reported). */
int em_tdoc_name(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    int subdomain, char **out);

#endif /* EM_DISPATCHER_TRIGGER_INT_H */
