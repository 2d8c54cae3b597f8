/*
 * Kyma's "which events of this application are subscribed" answer
 * (GET /{app}/v1/events/subscribed, served as /v1/subscribed/{app} by the
 * admin listener), computed from the loaded Triggers.
 */

#ifndef EM_DISPATCHER_SUBSCRIBED_H
#define EM_DISPATCHER_SUBSCRIBED_H

#include "trigger.h"

#include <eventmesh/em.h>

/*
 * Replaces out's content with {"eventsInfo":[{"name":T,"version":V},...]}
 * for the Triggers whose filter requires source == app exactly and names
 * a type: name is the type, version the eventtypeversion the filter
 * requires ("" when it takes any).  Triggers whose broker is missing
 * receive nothing and are left out.  Entries are unique and sorted by
 * name, then version; none gives {"eventsInfo":[]}.  Returns EM_OK or
 * EM_ERROR (out of memory).
 */
int em_subscribed_json(const em_trigger_set_t *set, const char *app,
    size_t app_len, em_buf_t *out);

#endif /* EM_DISPATCHER_SUBSCRIBED_H */
