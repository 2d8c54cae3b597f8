/*
 * nats.tls of dispatcher.yaml, for config.c: TLS towards NATS, with the
 * CA to trust, a client certificate and the name the servers'
 * certificates must hold.
 */

#ifndef EM_DISPATCHER_CONFIG_TLS_H
#define EM_DISPATCHER_CONFIG_TLS_H

#include "conf_walk.h"

typedef struct {
    int     enabled;        /* a tls section, or a tls:// server */
    int     verify;         /* nats.tls.verify, default 1 */
    char   *ca;             /* the files, resolved against the config's */
    char   *cert;           /* directory; NULL when not set */
    char   *key;
    char   *name;           /* nats.tls.name, or NULL */
} em_tls_conf_t;

/*
 * Fills tls from f (the "tls" key of nats): a mapping with ca, cert, key,
 * verify and name.  Each file must be readable now, so that --check and a
 * reload find a missing one before a connection does.
 */
void em_conf_tls(em_conf_ctx_t *ctx, em_tls_conf_t *tls,
    const em_conf_field_t *f);

void em_tls_conf_free(em_tls_conf_t *tls);

#endif /* EM_DISPATCHER_CONFIG_TLS_H */
