/*
 * The daemon's NATS connection (see run_nats.c).
 */

#ifndef EM_DISPATCHER_RUN_NATS_H
#define EM_DISPATCHER_RUN_NATS_H

#include "run.h"

/*
 * Connects (or keeps trying in the background when no server answers
 * yet) and sets up run->nc and run->js.  EM_OK, or EM_ERROR with err set
 * when the client cannot be set up at all.
 */
int em_run_nats_connect(em_run_t *run, const em_config_t *cf, em_buf_t *err);

/* Flushes pending acks, closes and frees the connection. */
void em_run_nats_close(em_run_t *run);

#endif /* EM_DISPATCHER_RUN_NATS_H */
