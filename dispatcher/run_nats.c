/*
 * The daemon's NATS connection.  Unlike the one-shot commands it never
 * gives up: the first connect is retried in the background, reconnects
 * go on for ever, and the state is published to the loop through
 * run->nats_up (cnats calls these handlers on its own threads).
 */

#include "run_nats.h"
#include "nats_conn.h"

#include <stdio.h>
#include <string.h>


#define EM_RUN_RECONNECT_WAIT_MS  500


static void
em_run_nats_connected(natsConnection *nc, void *data)
{
    em_run_t  *run;
    char       url[256];

    run = data;

    if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK) {
        snprintf(url, sizeof(url), "NATS");
    }

    atomic_store(&run->nats_up, 1);
    em_log_info("connected to %s", url);
}


static void
em_run_nats_disconnected(natsConnection *nc, void *data)
{
    em_run_t  *run;

    (void) nc;

    run = data;

    /* our own close lands here too, after em_run_nats_close() */
    if (atomic_exchange(&run->nats_up, 0) == 1) {
        atomic_fetch_add(&run->nats_disconnects, 1);
        em_log_warn("NATS connection lost: reconnecting (deliveries "
                    "already running go on; their acks wait for the "
                    "connection)");
    }
}


static void
em_run_nats_reconnected(natsConnection *nc, void *data)
{
    em_run_t  *run;
    char       url[256];

    run = data;

    if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK) {
        snprintf(url, sizeof(url), "NATS");
    }

    atomic_store(&run->nats_up, 1);
    em_log_info("NATS connection back: reconnected to %s", url);
}


int
em_run_nats_connect(em_run_t *run, const em_config_t *cf, em_buf_t *err)
{
    natsOptions  *opts;
    jsOptions     jo;
    natsStatus    s;
    em_buf_t      servers;

    opts = NULL;
    em_buf_init(&servers);
    (void) em_nats_servers_text(cf, &servers);

    s = em_nats_options(cf, "event-mesh-dispatcher",
                        EM_NATS_CONNECT_TIMEOUT_MS, &opts);

    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(opts, -1);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(opts, EM_RUN_RECONNECT_WAIT_MS);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetRetryOnFailedConnect(opts, true,
                                                em_run_nats_connected, run);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetDisconnectedCB(opts, em_run_nats_disconnected,
                                          run);
    }

    if (s == NATS_OK) {
        s = natsOptions_SetReconnectedCB(opts, em_run_nats_reconnected, run);
    }

    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        em_buf_free(&servers);
        em_buf_reset(err);
        (void) em_buf_printf(err, "cannot set up the NATS client: %s",
                             em_nats_error_text(s));
        return EM_ERROR;
    }

    s = natsConnection_Connect(&run->nc, opts);
    natsOptions_Destroy(opts);

    if (s == NATS_OK) {
        atomic_store(&run->nats_up, 1);
        em_log_info("connected to NATS at %s", servers.data);

    } else if (s == NATS_NOT_YET_CONNECTED) {
        em_log_warn("NATS at %s does not answer yet: retrying in the "
                    "background (see /readyz)", servers.data);

    } else {
        run->nc = NULL;
        em_buf_reset(err);
        (void) em_buf_printf(err, "cannot connect to NATS at %s: %s",
                             servers.data, em_nats_error_text(s));
        em_buf_free(&servers);
        return EM_ERROR;
    }

    em_buf_free(&servers);

    jsOptions_Init(&jo);
    jo.Wait = EM_NATS_API_TIMEOUT_MS;

    s = natsConnection_JetStream(&run->js, run->nc, &jo);
    if (s != NATS_OK) {
        em_buf_reset(err);
        (void) em_buf_printf(err, "cannot set up JetStream: %s",
                             em_nats_error_text(s));
        return EM_ERROR;
    }

    return EM_OK;
}


void
em_run_nats_close(em_run_t *run)
{
    /* our own close is no outage to report */
    atomic_store(&run->nats_up, 0);

    if (run->js != NULL) {
        jsCtx_Destroy(run->js);
        run->js = NULL;
    }

    if (run->nc != NULL) {
        /* pending acks go out before the socket closes */
        (void) natsConnection_FlushTimeout(run->nc, 2000);
        natsConnection_Close(run->nc);
        natsConnection_Destroy(run->nc);
        run->nc = NULL;
    }
}
