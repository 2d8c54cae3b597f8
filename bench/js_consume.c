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
 * With -H it also POSTs every event to HTTP_URL (libcurl multi, the
 * message's headers as HTTP headers, its data as the body, one keep-alive
 * connection per event of a batch) and acks it only after a 2xx: consuming
 * plus one HTTP delivery per event and nothing else, which is what a
 * dispatcher does less its own work (decoding, filtering, metrics,
 * retries).  Its rate is what the machine allows a dispatcher, measured
 * in the same run as the rest.  -P runs that many such pipelines, each a
 * thread with its own subscription and fetches of -b, so that some fetch
 * while others deliver.
 *
 *   js-consume -s URL -S STREAM -j FILTER -n COUNT [-b BATCH] [-a MAXACK]
 *              [-C NAME] [-H HTTP_URL [-P PIPELINES]]
 *
 * The consumer starts at the beginning of the stream (the benchmark fills
 * the stream for it first), is created before and deleted after the run,
 * and the run is timed from the first fetch to the flush after the last
 * ack.  It prints one line of key=value pairs starting with "result".
 */

#include <curl/curl.h>
#include <nats/nats.h>

#include "js_common.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
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
    const char          *http_url;
    int                  pipes;

    natsConnection      *nc;
    jsCtx               *js;
    int                  created;

    atomic_llong         unclaimed;     /* of -n, not fetched or fetching */
    atomic_llong         done;
    atomic_long          connects;      /* new HTTP connections */
    atomic_int           failed;
} jc_t;


/* One fetch-deliver-ack pipeline: a thread of its own with -H -P. */
typedef struct {
    jc_t                *jc;
    natsSubscription    *sub;
    pthread_t            thread;
    int                  rc;

    /* -H: one easy handle per event of a batch, kept across batches */
    CURLM               *multi;
    CURL               **easy;
    struct curl_slist  **hdrs;
} jc_pipe_t;


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
        "  -C  durable consumer name (default bench_js_consume_<pid>)\n"
        "  -H  POST every event to this URL before acking it\n"
        "  -P  pipelines (threads) with -H, each fetching -b (default 1)\n");
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

    return NATS_OK;
}


static natsStatus
jc_pipe_init(jc_pipe_t *p, jc_t *jc)
{
    jsSubOptions   so;
    jsErrCode      jerr;
    natsStatus     s;
    char           what[512];
    int            i;

    memset(p, 0, sizeof(*p));
    p->jc = jc;

    jsSubOptions_Init(&so);
    so.Stream = jc->stream;
    so.Consumer = jc->name;

    jerr = 0;
    s = js_PullSubscribe(&p->sub, jc->js, jc->filter, jc->name, NULL, &so,
                         &jerr);
    if (s != NATS_OK) {
        snprintf(what, sizeof(what), "cannot bind to consumer \"%s\"",
                 jc->name);
        jc_fail(what, s, jerr);
        return s;
    }

    if (jc->http_url == NULL) {
        return NATS_OK;
    }

    p->multi = curl_multi_init();
    p->easy = calloc((size_t) jc->batch, sizeof(CURL *));
    p->hdrs = calloc((size_t) jc->batch, sizeof(struct curl_slist *));
    if (p->multi == NULL || p->easy == NULL || p->hdrs == NULL) {
        fprintf(stderr, "js-consume: out of memory\n");
        return NATS_NO_MEMORY;
    }

    for (i = 0; i < jc->batch; i++) {
        p->easy[i] = curl_easy_init();
        if (p->easy[i] == NULL) {
            fprintf(stderr, "js-consume: out of memory\n");
            return NATS_NO_MEMORY;
        }
        curl_easy_setopt(p->easy[i], CURLOPT_URL, jc->http_url);
        curl_easy_setopt(p->easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(p->easy[i], CURLOPT_TIMEOUT_MS, 10000L);
    }

    return NATS_OK;
}


static void
jc_pipe_free(jc_pipe_t *p)
{
    int  i;

    if (p->sub != NULL) {
        natsSubscription_Destroy(p->sub);
    }

    for (i = 0; p->easy != NULL && i < p->jc->batch; i++) {
        if (p->easy[i] != NULL) {
            curl_easy_cleanup(p->easy[i]);
        }
        curl_slist_free_all(p->hdrs[i]);
    }

    free(p->easy);
    free(p->hdrs);

    if (p->multi != NULL) {
        curl_multi_cleanup(p->multi);
    }
}


/* Swallows the answer's body: only its status matters. */
static size_t
jc_http_discard(char *ptr, size_t size, size_t n, void *ud)
{
    (void) ptr;
    (void) ud;

    return size * n;
}


/*
 * The easy handle for msg: its data as the body, its headers as HTTP
 * headers (what a binary-mode delivery carries).
 */
static int
jc_http_prepare(jc_pipe_t *p, int i, natsMsg *msg)
{
    const char   **keys, *v;
    char           line[1024];
    int            nkeys, k;
    CURL          *e;

    curl_slist_free_all(p->hdrs[i]);
    p->hdrs[i] = curl_slist_append(NULL, "Expect:");

    keys = NULL;
    nkeys = 0;
    if (natsMsgHeader_Keys(msg, &keys, &nkeys) == NATS_OK) {
        for (k = 0; k < nkeys; k++) {
            if (natsMsgHeader_Get(msg, keys[k], &v) == NATS_OK) {
                snprintf(line, sizeof(line), "%s: %s", keys[k], v);
                p->hdrs[i] = curl_slist_append(p->hdrs[i], line);
            }
        }
        free((void *) keys);
    }

    if (p->hdrs[i] == NULL) {
        fprintf(stderr, "js-consume: out of memory\n");
        return -1;
    }

    e = p->easy[i];
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, natsMsg_GetData(msg));
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                     (long) natsMsg_GetDataLength(msg));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs[i]);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, jc_http_discard);

    return curl_multi_add_handle(p->multi, e) == CURLM_OK ? 0 : -1;
}


/* POSTs every message of list at once; 0 when each got a 2xx. */
static int
jc_http_deliver(jc_pipe_t *p, natsMsgList *list)
{
    CURLMcode   mc;
    CURLMsg    *m;
    long        code, conns;
    int         i, running, left, rc;

    for (i = 0; i < list->Count; i++) {
        if (jc_http_prepare(p, i, list->Msgs[i]) != 0) {
            return -1;
        }
    }

    rc = 0;
    running = 1;

    while (running > 0) {
        mc = curl_multi_perform(p->multi, &running);
        if (mc == CURLM_OK && running > 0) {
            mc = curl_multi_poll(p->multi, NULL, 0, 1000, NULL);
        }
        if (mc != CURLM_OK) {
            fprintf(stderr, "js-consume: %s\n", curl_multi_strerror(mc));
            return -1;
        }
    }

    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }

        code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        conns = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_NUM_CONNECTS, &conns);
        atomic_fetch_add(&p->jc->connects, conns);

        if (m->data.result != CURLE_OK || code < 200 || code > 299) {
            fprintf(stderr, "js-consume: POST %s: %s (HTTP %ld)\n",
                    p->jc->http_url, curl_easy_strerror(m->data.result),
                    code);
            rc = -1;
        }
    }

    for (i = 0; i < list->Count; i++) {
        curl_multi_remove_handle(p->multi, p->easy[i]);
    }

    return rc;
}


/* Up to -b of the -n still unclaimed, so that the pipelines take -n. */
static int
jc_claim(jc_t *jc)
{
    long long  left;
    int        want;

    left = atomic_load(&jc->unclaimed);

    do {
        if (left <= 0) {
            return 0;
        }

        want = (long long) jc->batch < left ? jc->batch : (int) left;

    } while (!atomic_compare_exchange_weak(&jc->unclaimed, &left,
                                           left - want));

    return want;
}


static void *
jc_pipe_run(void *arg)
{
    jc_pipe_t    *p;
    jc_t         *jc;
    natsMsgList   list;
    natsStatus    s;
    jsErrCode     jerr;
    uint64_t      idle_since;
    int           i, want;

    p = arg;
    jc = p->jc;
    p->rc = 1;
    idle_since = jc_now();

    for ( ;; ) {
        if (atomic_load(&jc->failed)) {
            return NULL;
        }

        want = jc_claim(jc);
        if (want == 0) {
            break;
        }

        memset(&list, 0, sizeof(list));
        jerr = 0;
        s = natsSubscription_Fetch(&list, p->sub, want, 1000, &jerr);

        /* what did not come is for the next fetch, of any pipeline */
        atomic_fetch_add(&jc->unclaimed, want - list.Count);

        if (s == NATS_TIMEOUT && list.Count == 0) {
            natsMsgList_Destroy(&list);
            if ((jc_now() - idle_since) / 1000000 >= JC_STALL_MS) {
                fprintf(stderr, "js-consume: nothing to fetch for %d s "
                        "after %lld of %lld messages: the stream holds "
                        "fewer than -n for \"%s\"\n", JC_STALL_MS / 1000,
                        (long long) atomic_load(&jc->done), jc->count,
                        jc->filter);
                atomic_store(&jc->failed, 1);
                return NULL;
            }
            continue;
        }

        if (s != NATS_OK && s != NATS_TIMEOUT) {
            jc_fail("fetch failed", s, jerr);
            natsMsgList_Destroy(&list);
            atomic_store(&jc->failed, 1);
            return NULL;
        }

        if (jc->http_url != NULL && jc_http_deliver(p, &list) != 0) {
            natsMsgList_Destroy(&list);
            atomic_store(&jc->failed, 1);
            return NULL;
        }

        for (i = 0; i < list.Count; i++) {
            s = natsMsg_Ack(list.Msgs[i], NULL);
            if (s != NATS_OK) {
                jc_fail("ack failed", s, 0);
                natsMsgList_Destroy(&list);
                atomic_store(&jc->failed, 1);
                return NULL;
            }
        }

        atomic_fetch_add(&jc->done, list.Count);
        idle_since = jc_now();
        natsMsgList_Destroy(&list);
    }

    p->rc = 0;
    return NULL;
}


static int
jc_run(jc_t *jc)
{
    jc_pipe_t    *pipes;
    natsStatus    s;
    uint64_t      start, stop;
    double        secs;
    long long     done;
    int           i, started, rc;

    pipes = calloc((size_t) jc->pipes, sizeof(jc_pipe_t));
    if (pipes == NULL) {
        fprintf(stderr, "js-consume: out of memory\n");
        return 1;
    }

    atomic_store(&jc->unclaimed, jc->count);

    rc = 0;
    for (i = 0; i < jc->pipes; i++) {
        if (jc_pipe_init(&pipes[i], jc) != NATS_OK) {
            rc = 1;
            break;
        }
    }

    start = jc_now();
    started = 0;

    while (rc == 0 && started < jc->pipes) {
        if (pthread_create(&pipes[started].thread, NULL, jc_pipe_run,
                           &pipes[started]) != 0)
        {
            fprintf(stderr, "js-consume: cannot start a thread\n");
            atomic_store(&jc->failed, 1);
            rc = 1;
            break;
        }
        started++;
    }

    for (i = 0; i < started; i++) {
        pthread_join(pipes[i].thread, NULL);
        rc |= pipes[i].rc;
    }

    if (rc == 0) {
        /* the last acks are on the wire once the server answered the PING */
        s = natsConnection_Flush(jc->nc);
        if (s != NATS_OK) {
            jc_fail("flush after the last ack failed", s, 0);
            rc = 1;
        }
    }

    stop = jc_now();

    for (i = 0; i < jc->pipes; i++) {
        if (pipes[i].jc != NULL) {
            jc_pipe_free(&pipes[i]);
        }
    }
    free(pipes);

    if (rc != 0) {
        return 1;
    }

    done = atomic_load(&jc->done);
    secs = (double) (stop - start) / 1e9;

    printf("result tool=js-consume events=%lld seconds=%.3f "
           "events_per_s=%.0f batch=%d max_ack_pending=%d http=%d "
           "pipelines=%d http_connections=%ld\n",
           done, secs, secs > 0 ? (double) done / secs : 0.0, jc->batch,
           jc->max_ack, jc->http_url != NULL, jc->pipes,
           (long) atomic_load(&jc->connects));
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
    jc.pipes = 1;

    while ((c = getopt(argc, argv, "s:S:j:n:b:a:C:H:P:h")) != -1) {
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
        case 'H':
            jc.http_url = optarg;
            break;
        case 'P':
            if (bench_parse_num("js-consume", "P", optarg, 1, 64, &v) != 0) {
                return 2;
            }
            jc.pipes = (int) v;
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

    if ((long long) jc.batch * jc.pipes > jc.max_ack) {
        /* more than MaxAckPending in fetches would wait for their own acks */
        fprintf(stderr, "js-consume: -b %d times -P %d is more than -a %d\n",
                jc.batch, jc.pipes, jc.max_ack);
        return 2;
    }

    if (jc.pipes > 1 && jc.http_url == NULL) {
        fprintf(stderr, "js-consume: -P wants -H\n");
        return 2;
    }

    if (jc.name == NULL) {
        snprintf(name, sizeof(name), "bench_js_consume_%ld", (long) getpid());
        jc.name = name;
    }

    if (jc.http_url != NULL && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "js-consume: cannot initialise libcurl\n");
        return 1;
    }

    rc = 1;
    if (jc_connect(&jc) == NATS_OK && jc_setup(&jc) == NATS_OK) {
        rc = jc_run(&jc);
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

    if (jc.http_url != NULL) {
        curl_global_cleanup();
    }

    return rc;
}
