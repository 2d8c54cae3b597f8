/*
 * Replies: a 200 whose body is a CloudEvent (binary or structured mode) is
 * a new event for the trigger's broker, stored through JetStream like the
 * ingress stores events, with a hop limit that stops reply loops.
 */

#ifndef EM_DISPATCHER_REPLY_H
#define EM_DISPATCHER_REPLY_H

#include "deliver.h"

#include <eventmesh/event.h>

#include <stddef.h>

/* Knative's MAX_TTL: an event without knativebrokerttl starts here. */
#define EM_REPLY_TTL_MAX  255

typedef enum {
    EM_REPLY_NONE = 0,      /* no CloudEvent: an ordinary success */
    EM_REPLY_EVENT,         /* a valid CloudEvent */
    EM_REPLY_INVALID        /* claims to be one (ce-specversion, or an
                               application/cloudevents media type), is not */
} em_reply_kind_t;

/*
 * Looks at a finished response.  EM_REPLY_EVENT sets *ev (the caller
 * frees it); EM_REPLY_INVALID writes the reason into why.
 */
em_reply_kind_t em_reply_parse(const em_http_req_t *r, em_event_t **ev,
    char *why, size_t size);

/* knativebrokerttl as received: its value, or -1 when absent or invalid. */
long em_reply_ttl_parse(const char *v);

/*
 * The hop limit a reply gets from its original's (-1: none): one less
 * than the original's, or EM_REPLY_TTL_MAX - 1.  <= 0 means the reply
 * must be dropped.
 */
long em_reply_ttl_next(long ttl);

/*
 * Stores reply (taken over) in dl's broker with knativebrokerttl = ttl,
 * on the thread pool; em_dl_reply_done() follows on the loop.  EM_OK, or
 * EM_ERROR with why filled (em_dl_reply_done() is then not called).
 */
int em_reply_publish(em_dl_t *dl, em_event_t *reply, long ttl, char *why,
    size_t size);

#endif /* EM_DISPATCHER_REPLY_H */
