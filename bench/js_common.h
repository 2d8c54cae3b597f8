/*
 * What the benchmark's cnats programs (js-pub, js-consume) share.
 */

#ifndef EM_BENCH_JS_COMMON_H
#define EM_BENCH_JS_COMMON_H

#include <nats/nats.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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

/* An option's integer in [min, max]; -1 with a message naming tool -opt. */
static int
bench_parse_num(const char *tool, const char *opt, const char *s,
    long long min, long long max, long long *out)
{
    char       *end;
    long long   v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "%s: -%s wants an integer from %lld to %lld, "
                "not \"%s\"\n", tool, opt, min, max, s);
        return -1;
    }

    *out = v;
    return 0;
}

#endif /* EM_BENCH_JS_COMMON_H */
