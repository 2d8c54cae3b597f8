/*
 * What the benchmark's cnats programs (js-pub, js-consume) share.
 */

#ifndef EM_BENCH_JS_COMMON_H
#define EM_BENCH_JS_COMMON_H

#include <nats/nats.h>

#include <stdbool.h>

/*
 * One connection, 2 s to connect, and no reconnect: a reconnect in the
 * middle of a run would hide an outage in the figure.
 */
static natsStatus
bench_nats_connect(const char *url, const char *name, natsConnection **nc)
{
    natsOptions  *opts;
    natsStatus    s;

    s = natsOptions_Create(&opts);
    if (s == NATS_OK) {
        s = natsOptions_SetURL(opts, url);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetName(opts, name);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(opts, 2000);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetAllowReconnect(opts, false);
    }
    if (s == NATS_OK) {
        s = natsConnection_Connect(nc, opts);
    }

    natsOptions_Destroy(opts);

    return s;
}

#endif /* EM_BENCH_JS_COMMON_H */
