/*
 * js-consume: the raw JetStream limit of the dispatch benchmark.
 *
 * It does what the dispatcher does with a Trigger's consumer minus the
 * delivery: a durable pull consumer with explicit acks and the same
 * MaxAckPending as the dispatcher's default in-flight bound, fetched in
 * batches, every message acked, until -n messages are consumed.  The
 * dispatcher's deliveries/s divided by this one's is the figure the
 * dispatcher is judged by.
 *
 *   js-consume -s URL -S STREAM -j FILTER -n COUNT [-b BATCH] [-a MAXACK]
 *              [-C NAME]
 *
 * The consumer starts at the beginning of the stream (the benchmark fills
 * the stream for it first), is created before and deleted after the run,
 * and the run is timed from the first fetch to the flush after the last
 * ack.  It prints one line of key=value pairs starting with "result".
 */

#include <nats/nats.h>

#include "js_common.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* Nothing fetched for this long means the stream holds fewer than -n. */
#define JC_STALL_MS  5000


typedef struct {
    const char          *url;
    const char          *stream;
    const char          *filter;
    const char          *name;
    long long            count;
    int                  batch;
    int                  max_ack;

    natsConnection      *nc;
    jsCtx               *js;
    natsSubscription    *sub;
    int                  created;
} jc_t;


static uint64_t
jc_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}


static void
jc_usage(void)
{
    fprintf(stderr,
        "usage: js-consume -s URL -S STREAM -j FILTER -n COUNT [-b BATCH] "
        "[-a MAXACK] [-C NAME]\n"
        "  -b  messages per fetch (default 64, at most -a)\n"
        "  -a  the consumer's MaxAckPending (default 64)\n"
        "  -C  durable consumer name (default bench_js_consume_<pid>)\n");
}


static void
jc_fail(const char *what, natsStatus s, jsErrCode jerr)
{
    natsStatus   ls;
    const char  *text;

    text = nats_GetLastError(&ls);
    fprintf(stderr, "js-consume: %s: %s", what,
            text != NULL && text[0] != '\0' ? text : natsStatus_GetText(s));
    if (jerr != 0) {
        fprintf(stderr, " (JetStream error code %d)", (int) jerr);
    }
    fputc('\n', stderr);
}


static natsStatus
jc_connect(jc_t *jc)
{
    natsStatus    s;
    jsOptions     o;

    s = bench_nats_connect(jc->url, "js-consume", &jc->nc);

    if (s != NATS_OK) {
        char  what[512];

        snprintf(what, sizeof(what), "cannot connect to %s", jc->url);
        jc_fail(what, s, 0);
        return s;
    }

    jsOptions_Init(&o);
    o.Wait = 5000;
    s = natsConnection_JetStream(&jc->js, jc->nc, &o);
    if (s != NATS_OK) {
        jc_fail("cannot open a JetStream context", s, 0);
    }

    return s;
}


static natsStatus
jc_setup(jc_t *jc)
{
    jsConsumerConfig   cc;
    jsConsumerInfo    *ci;
    jsSubOptions       so;
    jsErrCode          jerr;
    natsStatus         s;
    char               what[512];

    jsConsumerConfig_Init(&cc);
    cc.Durable = jc->name;
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.MaxAckPending = jc->max_ack;
    cc.FilterSubject = jc->filter;
    /* removed by the server should this program die before deleting it */
    cc.InactiveThreshold = 60LL * 1000000000LL;

    ci = NULL;
    jerr = 0;
    s = js_AddConsumer(&ci, jc->js, jc->stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "cannot create consumer \"%s\" on "
                 "stream \"%s\" for \"%s\"", jc->name, jc->stream,
                 jc->filter);
        jc_fail(what, s, jerr);
        return s;
    }
    jc->created = 1;

    jsSubOptions_Init(&so);
    so.Stream = jc->stream;
    so.Consumer = jc->name;

    jerr = 0;
    s = js_PullSubscribe(&jc->sub, jc->js, jc->filter, jc->name, NULL, &so,
                         &jerr);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "cannot bind to consumer \"%s\"",
                 jc->name);
        jc_fail(what, s, jerr);
    }

    return s;
}


static int
jc_run(jc_t *jc)
{
    natsMsgList   list;
    natsStatus    s;
    jsErrCode     jerr;
    uint64_t      start, stop, idle_since;
    long long     done;
    int           i, want;
    double        secs;

    done = 0;
    start = jc_now();
    idle_since = start;

    while (done < jc->count) {
        want = jc->batch;
        if ((long long) want > jc->count - done) {
            want = (int) (jc->count - done);
        }

        memset(&list, 0, sizeof(list));
        jerr = 0;
        s = natsSubscription_Fetch(&list, jc->sub, want, 1000, &jerr);

        if (s == NATS_TIMEOUT && list.Count == 0) {
            if ((jc_now() - idle_since) / 1000000 >= JC_STALL_MS) {
                fprintf(stderr, "js-consume: nothing to fetch for %d s "
                        "after %lld of %lld messages: the stream holds "
                        "fewer than -n for \"%s\"\n", JC_STALL_MS / 1000,
                        done, jc->count, jc->filter);
                natsMsgList_Destroy(&list);
                return 1;
            }
            natsMsgList_Destroy(&list);
            continue;
        }

        if (s != NATS_OK && s != NATS_TIMEOUT) {
            jc_fail("fetch failed", s, jerr);
            natsMsgList_Destroy(&list);
            return 1;
        }

        for (i = 0; i < list.Count; i++) {
            s = natsMsg_Ack(list.Msgs[i], NULL);
            if (s != NATS_OK) {
                jc_fail("ack failed", s, 0);
                natsMsgList_Destroy(&list);
                return 1;
            }
        }

        done += list.Count;
        idle_since = jc_now();
        natsMsgList_Destroy(&list);
    }

    /* the last acks are on the wire once the server answered the PING */
    s = natsConnection_Flush(jc->nc);
    if (s != NATS_OK) {
        jc_fail("flush after the last ack failed", s, 0);
        return 1;
    }

    stop = jc_now();
    secs = (double) (stop - start) / 1e9;

    printf("result tool=js-consume events=%lld seconds=%.3f "
           "events_per_s=%.0f batch=%d max_ack_pending=%d\n",
           done, secs, secs > 0 ? (double) done / secs : 0.0, jc->batch,
           jc->max_ack);
    fflush(stdout);

    return 0;
}


int
main(int argc, char **argv)
{
    jc_t        jc;
    jsErrCode   jerr;
    natsStatus  s;
    long long   v;
    char        name[64];
    int         c, rc;

    memset(&jc, 0, sizeof(jc));
    jc.batch = 64;
    jc.max_ack = 64;

    while ((c = getopt(argc, argv, "s:S:j:n:b:a:C:h")) != -1) {
        switch (c) {
        case 's':
            jc.url = optarg;
            break;
        case 'S':
            jc.stream = optarg;
            break;
        case 'j':
            jc.filter = optarg;
            break;
        case 'C':
            jc.name = optarg;
            break;
        case 'n':
            if (bench_parse_num("js-consume", "n", optarg, 1, LLONG_MAX,
                                &v) != 0)
            {
                return 2;
            }
            jc.count = v;
            break;
        case 'b':
            if (bench_parse_num("js-consume", "b", optarg, 1, 100000,
                                &v) != 0)
            {
                return 2;
            }
            jc.batch = (int) v;
            break;
        case 'a':
            if (bench_parse_num("js-consume", "a", optarg, 1, 100000,
                                &v) != 0)
            {
                return 2;
            }
            jc.max_ack = (int) v;
            break;
        default:
            jc_usage();
            return 2;
        }
    }

    if (optind != argc) {
        fprintf(stderr, "js-consume: unexpected argument \"%s\"\n",
                argv[optind]);
        jc_usage();
        return 2;
    }

    if (jc.url == NULL || jc.stream == NULL || jc.filter == NULL
        || jc.count == 0)
    {
        fprintf(stderr, "js-consume: missing %s\n",
                jc.url == NULL ? "-s URL" : jc.stream == NULL ? "-S STREAM"
                : jc.filter == NULL ? "-j FILTER" : "-n COUNT");
        jc_usage();
        return 2;
    }

    if (jc.batch > jc.max_ack) {
        /* more than MaxAckPending per fetch would wait for its own acks */
        fprintf(stderr, "js-consume: -b %d is more than -a %d\n", jc.batch,
                jc.max_ack);
        return 2;
    }

    if (jc.name == NULL) {
        snprintf(name, sizeof(name), "bench_js_consume_%ld", (long) getpid());
        jc.name = name;
    }

    rc = 1;
    if (jc_connect(&jc) == NATS_OK && jc_setup(&jc) == NATS_OK) {
        rc = jc_run(&jc);
    }

    if (jc.sub != NULL) {
        natsSubscription_Destroy(jc.sub);
    }

    if (jc.created) {
        jerr = 0;
        s = js_DeleteConsumer(jc.js, jc.stream, jc.name, NULL, &jerr);
        if (s != NATS_OK) {
            jc_fail("cannot delete the benchmark's consumer", s, jerr);
            rc = 1;
        }
    }

    jsCtx_Destroy(jc.js);
    natsConnection_Destroy(jc.nc);
    nats_CloseAndWait(2000);

    return rc;
}
