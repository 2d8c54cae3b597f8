/*
 * A broker's JetStream stream (DESIGN.md section 3): the settings the
 * dispatcher owns, derived from dispatcher.yaml, and how they compare with
 * a stream that already exists.
 */

#ifndef EM_DISPATCHER_STREAM_H
#define EM_DISPATCHER_STREAM_H

#include "config.h"

#include <eventmesh/em.h>

#include <nats/nats.h>

typedef struct {
    const em_broker_conf_t  *broker;
    char                    *name;          /* EM_<namespace>_<broker> */
    char                    *subject;       /* em.<namespace>.<broker>.> */
    const char              *subjects[1];   /* for jsStreamConfig */
    char                     description[160];
} em_stream_spec_t;

typedef enum {
    EM_STREAM_SAME = 0,
    EM_STREAM_CHANGED,          /* an update in place brings it in line */
    EM_STREAM_IMMUTABLE         /* JetStream cannot change it in place */
} em_stream_cmp_t;

/* Returns EM_OK, or EM_ERROR when out of memory. */
int em_stream_spec_init(em_stream_spec_t *spec, const em_broker_conf_t *b);
void em_stream_spec_free(em_stream_spec_t *spec);

/*
 * Writes the settings the dispatcher owns into cfg and leaves the others
 * (an operator's max message size, say) alone.  cfg then points into spec.
 */
void em_stream_spec_apply(em_stream_spec_t *spec, jsStreamConfig *cfg);

/*
 * Compares cur with spec.  For EM_STREAM_CHANGED, out receives what
 * changes ("maxAge 24h -> 1h, size 1Gi -> 2Gi"); for EM_STREAM_IMMUTABLE,
 * what cannot change and what the user can do about it.  Returns
 * EM_ERROR when out of memory.
 */
int em_stream_spec_compare(const em_stream_spec_t *spec,
    const jsStreamConfig *cur, em_stream_cmp_t *result, em_buf_t *out);

/* "file, maxAge 24h, size 1Gi, replicas 1, duplicateWindow 2m" */
int em_stream_spec_describe(const em_stream_spec_t *spec, em_buf_t *out);

#endif /* EM_DISPATCHER_STREAM_H */
