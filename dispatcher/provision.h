/*
 * `event-mesh-dispatcher provision`: creates or updates the JetStream
 * stream of every broker in dispatcher.yaml.
 */

#ifndef EM_DISPATCHER_PROVISION_H
#define EM_DISPATCHER_PROVISION_H

#include "config.h"

#include <stdio.h>

/*
 * Prints one line per broker on out: created, updated (what changed) or
 * unchanged; problems go to the log.  Returns 0 when every broker's stream
 * is as configured, 1 otherwise.
 */
int em_provision(const em_config_t *cf, FILE *out);

#endif /* EM_DISPATCHER_PROVISION_H */
