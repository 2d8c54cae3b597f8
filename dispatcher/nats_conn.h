/*
 * The dispatcher's NATS connection, made from dispatcher.yaml's nats
 * section with cnats.
 */

#ifndef EM_DISPATCHER_NATS_CONN_H
#define EM_DISPATCHER_NATS_CONN_H

#include "config.h"

#include <eventmesh/em.h>

#include <nats/nats.h>

/* Per server; also the default wait for each JetStream API request. */
#define EM_NATS_CONNECT_TIMEOUT_MS  2000
#define EM_NATS_API_TIMEOUT_MS      5000

/*
 * Connects to cf's servers, in the order given, with its credentials.
 * Each server gets one attempt bounded by timeout_ms, so a one-shot
 * command (provision) fails in bounded time; with reconnect the
 * connection later survives outages.  Returns EM_OK, or EM_ERROR with a
 * message in err that names the servers but never the credentials.
 */
/*
 * Client options from dispatcher.yaml: the servers in their configured
 * order, credentials, TLS (nats.tls), connect timeout and client name;
 * the caller adds its reconnect policy and callbacks and destroys them.
 */
natsStatus em_nats_options(const em_config_t *cf, const char *client_name,
    int64_t timeout_ms, natsOptions **out);

int em_nats_connect(const em_config_t *cf, const char *client_name,
    int64_t timeout_ms, int reconnect, natsConnection **nc, em_buf_t *err);

/* "nats://a:4222, nats://b:4222" */
int em_nats_servers_text(const em_config_t *cf, em_buf_t *out);

/*
 * The last cnats error of this thread, for messages: the detailed text
 * when cnats has one, else the text of s.
 */
const char *em_nats_error_text(natsStatus s);

#endif /* EM_DISPATCHER_NATS_CONN_H */
