/*
 * The filters of many Triggers on one broker, indexed so that an event is
 * checked against the few that can pass it rather than all of them.
 *
 * Most Triggers name the type (or the source) they want exactly.  The set
 * hashes those values once per configuration load; an event then looks up
 * its own type and source and evaluates only the filters filed under them,
 * plus the filters that pin neither (a prefix, an any, a bare cesql...).
 * The answer is exactly the naive loop's: a filter is filed under a value
 * only when every event it passes carries that value (em_filter_attribute).
 */

#ifndef EVENTMESH_FILTER_SET_H
#define EVENTMESH_FILTER_SET_H

#include <eventmesh/filter.h>

typedef struct em_filter_set_s  em_filter_set_t;

/*
 * Builds the index of filters[0 .. n-1].  The filters are not copied: they
 * must outlive the set (the Triggers of one configuration do).  NULL with
 * *err set when out of memory.
 */
em_filter_set_t *em_filter_set_new(const em_filter_t *const *filters,
    size_t n, const char **err);

size_t em_filter_set_size(const em_filter_set_t *set);

/*
 * The filters that pass ev: their indexes written to out in ascending
 * order (out holds em_filter_set_size() entries), their number returned.
 * *evaluated, when not NULL, is set to the number of filters evaluated.
 * Never allocates; the thread rule of em_filter_match applies.
 */
size_t em_filter_set_match(const em_filter_set_t *set, const em_event_t *ev,
    size_t *out, size_t *evaluated);

void em_filter_set_free(em_filter_set_t *set);

#endif /* EVENTMESH_FILTER_SET_H */
