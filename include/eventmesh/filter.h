/*
 * Trigger filters: compiled once when the configuration is loaded,
 * evaluated per event without allocating.  A filter is a tree; the
 * attribute filter of Knative (exact match on every key, AND) is one kind
 * of node, and the `filters` dialect (exact, prefix, suffix, all, any, not,
 * cesql) adds the others without changing this interface.
 */

#ifndef EVENTMESH_FILTER_H
#define EVENTMESH_FILTER_H

#include <eventmesh/event.h>

typedef struct em_filter_s  em_filter_t;

typedef enum {
    EM_FILTER_TRUE = 0,     /* matches every event (empty attributes) */
    EM_FILTER_ATTRIBUTES,   /* filter.attributes: exact, AND */
    EM_FILTER_EXACT,        /* filters dialect */
    EM_FILTER_PREFIX,
    EM_FILTER_SUFFIX,
    EM_FILTER_ALL,
    EM_FILTER_ANY,
    EM_FILTER_NOT,
    EM_FILTER_CESQL
} em_filter_kind_t;

/*
 * Knative filter.attributes semantics: every key must be present in the
 * event; a non-empty value must equal the attribute's canonical string
 * form (case-sensitive); an empty value means "present and non-empty".
 * n == 0 gives a filter that matches every event.  Names and values are
 * copied.  NULL on error with *err set to a static message.
 */
em_filter_t *em_filter_attributes(const char *const *names,
    const char *const *values, size_t n, const char **err);

/* 1 when the event passes, 0 when not. */
int em_filter_match(const em_filter_t *f, const em_event_t *ev);

/*
 * The event type the filter requires exactly, if any: the dispatcher
 * pushes it down as the consumer's filter subject.  NULL otherwise.
 */
const char *em_filter_exact_type(const em_filter_t *f);

em_filter_kind_t em_filter_kind(const em_filter_t *f);

void em_filter_free(em_filter_t *f);

#endif /* EVENTMESH_FILTER_H */
