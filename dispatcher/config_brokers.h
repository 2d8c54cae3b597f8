/*
 * The brokers section of dispatcher.yaml, for config.c.
 */

#ifndef EM_DISPATCHER_CONFIG_BROKERS_H
#define EM_DISPATCHER_CONFIG_BROKERS_H

#include "conf_walk.h"
#include "config.h"

/*
 * Fills cf->brokers from sec (the "brokers" key); root_line is where to
 * report a missing section.
 */
void em_conf_brokers(em_conf_ctx_t *ctx, em_config_t *cf,
    const em_conf_field_t *sec, unsigned root_line);

#endif /* EM_DISPATCHER_CONFIG_BROKERS_H */
