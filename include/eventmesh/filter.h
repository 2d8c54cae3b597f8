/*
 * Trigger filters: compiled once when the configuration is loaded,
 * evaluated per event without allocating.  A filter is a tree; the
 * attribute filter of Knative (exact match on every key, AND) is one kind
 * of node, and the `filters` dialect (exact, prefix, suffix, all, any, not,
 * cesql) adds the others without changing this interface.
 */

#ifndef EVENTMESH_FILTER_H
#define EVENTMESH_FILTER_H

#include <eventmesh/cesql.h>
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

/*
 * The filters dialect (Knative's spec.filters, the CloudEvents
 * subscriptions API).  exact, prefix and suffix take one or more pairs,
 * all of which must hold: the attribute is looked up as for
 * filter.attributes, and a missing one fails.  Unlike filter.attributes,
 * an empty value is refused here: Knative skips such a filter, which lets
 * every event through, and that is never what its author meant.  n == 0
 * is refused for the same reason.  Names and values are copied.
 */
em_filter_t *em_filter_exact(const char *const *names,
    const char *const *values, size_t n, const char **err);
em_filter_t *em_filter_prefix(const char *const *names,
    const char *const *values, size_t n, const char **err);
em_filter_t *em_filter_suffix(const char *const *names,
    const char *const *values, size_t n, const char **err);

/*
 * all: every operand passes (AND); any: at least one does (OR).  n >= 1:
 * an empty list is refused (Knative passes every event for it).  The
 * operands are owned by the new filter, and freed on failure too, so a
 * caller never frees them after the call; the array itself is copied.
 */
em_filter_t *em_filter_all(em_filter_t **children, size_t n,
    const char **err);
em_filter_t *em_filter_any(em_filter_t **children, size_t n,
    const char **err);

/* not: the operand's answer reversed.  Owns child, as above. */
em_filter_t *em_filter_not(em_filter_t *child, const char **err);

/*
 * cesql: a CESQL v1 expression (len bytes), compiled now; the filter
 * passes an event when the expression evaluates to the boolean true
 * without error (fail fast: any error, or a result of another type, is a
 * fail).  NULL on error: a compile error fills *cerr (its message names
 * the column) and *err points to that message; out of memory sets *err
 * alone.  The node keeps the scratch area evaluation needs, which is why
 * one filter is evaluated by one thread at a time.
 */
em_filter_t *em_filter_cesql(const char *expr, size_t len,
    em_cesql_compile_error_t *cerr, const char **err);

/* The compiled expression of a cesql filter, NULL for another kind. */
const em_cesql_t *em_filter_cesql_expr(const em_filter_t *f);

/*
 * 1 when the event passes, 0 when not.  Never allocates (a cesql node's
 * scratch grows during its first evaluations, then is reused).  Several
 * threads may evaluate different filters at once, but one filter is
 * evaluated by one thread at a time: a cesql node keeps its scratch.
 */
int em_filter_match(const em_filter_t *f, const em_event_t *ev);

/*
 * The event type every event the filter passes must have, if the filter
 * says so outright: the dispatcher pushes it down as the consumer's filter
 * subject.  A non-empty filter.attributes type, or an exact type at the
 * top of the filter or inside a top-level all (at any depth of all).
 * Never one under any or not, which may pass other types.  NULL otherwise.
 */
const char *em_filter_exact_type(const em_filter_t *f);

em_filter_kind_t em_filter_kind(const em_filter_t *f);

/*
 * The non-empty value the filter requires name ("source",
 * "eventtypeversion", ...) to equal, by the rule of em_filter_exact_type:
 * a filter.attributes pair, or an exact pair at the top or under top-level
 * alls.  NULL when the filter does not pin it.
 */
const char *em_filter_attribute(const em_filter_t *f, const char *name);

/*
 * The pairs of a filter.attributes filter, sorted by name (for /triggers
 * and --check): 0 with *name and *value set, -1 past the end or for
 * another kind of filter (write those with em_filter_write).
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
 * bytes (the order of the pairs of one map does not matter; the order of
 * the operands of all and any does).  For digests, and readable enough
 * for /triggers: `all(exact(type="a.b"), not(prefix(subject="x/")))`,
 * values in double quotes with '"', '\\' and control bytes escaped.
 */
int em_filter_write(const em_filter_t *f, em_buf_t *out);

void em_filter_free(em_filter_t *f);

#endif /* EVENTMESH_FILTER_H */
