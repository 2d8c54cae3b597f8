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

/*
 * The non-empty value an attribute filter requires for name ("source",
 * "eventtypeversion", ...), NULL when the filter does not pin it.
 */
const char *em_filter_attribute(const em_filter_t *f, const char *name);

/*
 * The pairs of an attribute filter, sorted by name (for /triggers and
 * --check): 0 with *name and *value set, -1 past the end or for another
 * kind of filter.
 */
size_t em_filter_nattrs(const em_filter_t *f);
int em_filter_attr_at(const em_filter_t *f, size_t i, const char **name,
    const char **value);

/*
 * 1 when name is an attribute name a filter may use: ^[a-z][a-z0-9]*$
 * (Knative's rule, stricter than CloudEvents', which allows a leading
 * digit).
 */
int em_filter_name_valid(const char *name, size_t len);

/*
 * Appends a canonical, unambiguous text form of the filter to out: two
 * filters that select the same events by the same rules write the same
 * bytes (attribute order does not matter).  For digests.
 */
int em_filter_write(const em_filter_t *f, em_buf_t *out);

void em_filter_free(em_filter_t *f);

#endif /* EVENTMESH_FILTER_H */
