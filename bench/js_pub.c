/*
 * js-pub: the raw JetStream limit of the ingress benchmark.
 *
 * It stores the same events the nginx module stores (same subject, same
 * CloudEvents NATS-binding headers, a unique ce-id and Nats-Msg-Id per
 * message, the same 1 KiB JSON body) straight from a C client, with at most
 * -c acks outstanding like wrk's -c connections, and measures each event
 * from publish to PubAck.  The module's events/s divided by this one's is
 * the figure the ingress is judged by.
 *
 *   js-pub [pub] -s URL -j SUBJECT [-c WINDOW] [-n COUNT | -d SECONDS]
 *                [-z BYTES] [-m inbox|async] [-t TYPE] [-o SOURCE]
 *                [-r EVENTS_PER_S]
 *   js-pub info  -s URL -S STREAM
 *   js-pub add   -s URL -S STREAM -j SUBJECTS [-B MAXBYTES] [-D DUPSECONDS]
 *
 * "pub" prints one line of key=value pairs starting with "result".
 * "info" prints the stream's message count (the benchmark checks with it
 * that every 202 is really stored); "add" creates a broker stream the way
 * the dispatcher would, for when the dispatcher cannot be used.
 *
 * With -r the events are sent at that fixed rate instead of as fast as the
 * window allows, each with a ce-benchsent extension holding its send time
 * (CLOCK_REALTIME, microseconds since the epoch): the dispatch benchmark
 * reads it back in the subscriber's access log for end-to-end latency.
 */

#include <nats/nats.h>

#include "js_common.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* 1 µs buckets up to 1 s: exact enough for a 5 ms goal, 4 MB of memory. */
#define JP_HIST_US        1000000

/* No PubAck at all for this long means the server is not storing. */
#define JP_STALL_NS       (5 * 1000000000LL)

#define JP_DRAIN_NS       (10 * 1000000000LL)

#define JP_MSG_ID_LEN     64


typedef enum {
    JP_INBOX,
    JP_ASYNC
} jp_mode_t;


typedef struct {
    const char          *url;
    const char          *subject;
    const char          *stream;
    const char          *type;
    const char          *source;
    jp_mode_t            mode;
    int                  window;
    long long            count;
    double               seconds;
    double               rate;
    size_t               size;
    int64_t              max_bytes;
    int64_t              dup_seconds;

    natsConnection      *nc;
    jsCtx               *js;
    natsSubscription    *sub;
    natsInbox           *inbox;
    char                *body;
    uint64_t             tag;

    /* shared with the thread cnats delivers acks on */
    pthread_mutex_t      lock;
    pthread_cond_t       cond;
    int                  outstanding;
    uint64_t            *sent_ns;
    uint64_t             ring_mask;
    uint32_t            *hist;
    uint64_t             over_1s;
    uint64_t             hist_n;
    uint64_t             max_ns;
    uint64_t             acked;
    uint64_t             errors;
    uint64_t             duplicates;
    uint64_t             last_ack_ns;
    int                  fatal;
    char                 first_error[256];
} jp_t;


static uint64_t
jp_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}


static void
jp_deadline(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ns / 1000000000LL;
    ts->tv_nsec += ns % 1000000000LL;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}


static void
jp_usage(void)
{
    fprintf(stderr,
        "usage: js-pub [pub] -s URL -j SUBJECT [-c WINDOW] "
        "[-n COUNT | -d SECONDS]\n"
        "                    [-z BYTES] [-m inbox|async] [-t TYPE] "
        "[-o SOURCE]\n"
        "                    [-r EVENTS_PER_S]\n"
        "       js-pub info -s URL -S STREAM\n"
        "       js-pub add  -s URL -S STREAM -j SUBJECTS [-B MAXBYTES] "
        "[-D DUPSECONDS]\n"
        "  -c  acks outstanding at most (default 50)\n"
        "  -n  publish this many events, or -d for this many seconds "
        "(default -d 10)\n"
        "  -z  JSON body size in bytes (default 1024, at least 10)\n"
        "  -m  inbox: PUB with a reply subject under one wildcard inbox "
        "(default);\n"
        "      async: cnats js_PublishMsgAsync with an ack handler\n"
        "  -r  send at this many events/s, each with ce-benchsent (its send\n"
        "      time in microseconds since the epoch)\n");
}


/* Keeps the first error's text; the caller holds jp->lock. */
static void
jp_note_error(jp_t *jp, int fatal, const char *fmt, ...)
{
    va_list  ap;

    if (jp->first_error[0] == '\0') {
        va_start(ap, fmt);
        vsnprintf(jp->first_error, sizeof(jp->first_error), fmt, ap);
        va_end(ap);
    }

    if (fatal) {
        jp->fatal = 1;
    }
}


static void
jp_fail_status(const char *what, natsStatus s)
{
    natsStatus   ls;
    const char  *text;

    /* cnats' last error already names the status when it has one */
    text = nats_GetLastError(&ls);
    fprintf(stderr, "js-pub: %s: %s\n", what,
            text != NULL && text[0] != '\0' ? text : natsStatus_GetText(s));
}


/*
 * Every ack, good or bad, comes through here exactly once per published
 * event: idx is the event's sequence number in this run.
 */
static void
jp_ack(jp_t *jp, uint64_t idx, int ok, int dup)
{
    uint64_t  now, lat, us;

    now = jp_now();

    pthread_mutex_lock(&jp->lock);

    lat = now - jp->sent_ns[idx & jp->ring_mask];

    if (ok) {
        jp->acked++;
        us = lat / 1000;
        jp->hist_n++;
        if (us < JP_HIST_US) {
            jp->hist[us]++;
        } else {
            jp->over_1s++;
        }
        if (lat > jp->max_ns) {
            jp->max_ns = lat;
        }
        if (dup) {
            /* a duplicate was not stored: it must not count as stored */
            jp->duplicates++;
            jp->acked--;
            jp_note_error(jp, 0, "JetStream reported event %" PRIu64
                          " as a duplicate: its Nats-Msg-Id is not unique",
                          idx);
        }
    } else {
        jp->errors++;
    }

    jp->last_ack_ns = now;
    jp->outstanding--;
    pthread_cond_signal(&jp->cond);

    pthread_mutex_unlock(&jp->lock);
}


/* Reply to one PUB in inbox mode: "<inbox>.<idx>". */
static void
jp_on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
    void *closure)
{
    jp_t        *jp = closure;
    const char  *subj, *dot, *data;
    char        *end;
    uint64_t     idx;
    int          len, ok;

    (void) nc;
    (void) sub;

    subj = natsMsg_GetSubject(msg);
    dot = strrchr(subj, '.');
    errno = 0;
    idx = dot != NULL ? strtoull(dot + 1, &end, 10) : 0;

    if (dot == NULL || errno != 0 || *end != '\0') {
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 1, "unexpected reply subject \"%s\"", subj);
        pthread_cond_signal(&jp->cond);
        pthread_mutex_unlock(&jp->lock);
        natsMsg_Destroy(msg);
        return;
    }

    data = natsMsg_GetData(msg);
    len = natsMsg_GetDataLength(msg);
    ok = 1;

    if (natsMsg_IsNoResponders(msg)) {
        ok = 0;
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 1, "no JetStream stream takes subject \"%s\" "
                      "(no responders): create the stream first",
                      jp->subject);
        pthread_mutex_unlock(&jp->lock);

    } else if (data == NULL || len == 0) {
        ok = 0;
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 0, "empty reply instead of a PubAck");
        pthread_mutex_unlock(&jp->lock);

    } else if (memmem(data, (size_t) len, "\"error\"", 7) != NULL) {
        ok = 0;
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 0, "JetStream refused an event: %.*s", len, data);
        pthread_mutex_unlock(&jp->lock);
    }

    jp_ack(jp, idx, ok,
           ok && memmem(data, (size_t) len, "\"duplicate\":true", 16) != NULL);

    natsMsg_Destroy(msg);
}


/* cnats' async-publish ack; the event is found again by its ce-id. */
static void
jp_on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
    void *closure)
{
    jp_t        *jp = closure;
    const char  *id, *dash;
    char        *end;
    uint64_t     idx;

    (void) js;

    id = NULL;
    if (natsMsgHeader_Get(msg, "ce-id", &id) != NATS_OK || id == NULL
        || (dash = strrchr(id, '-')) == NULL)
    {
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 1, "an acknowledged message lost its ce-id");
        pthread_cond_signal(&jp->cond);
        pthread_mutex_unlock(&jp->lock);
        natsMsg_Destroy(msg);
        return;
    }

    errno = 0;
    idx = strtoull(dash + 1, &end, 10);
    if (errno != 0 || end == dash + 1 || *end != '\0') {
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, 1, "an acknowledged message has a foreign ce-id "
                      "\"%s\"", id);
        pthread_cond_signal(&jp->cond);
        pthread_mutex_unlock(&jp->lock);
        natsMsg_Destroy(msg);
        return;
    }

    if (pae != NULL) {
        pthread_mutex_lock(&jp->lock);
        jp_note_error(jp, pae->Err == NATS_NO_RESPONDERS,
                      pae->Err == NATS_NO_RESPONDERS
                      ? "no JetStream stream takes subject \"%s\" "
                        "(no responders): create the stream first"
                      : "JetStream refused an event: %s",
                      pae->Err == NATS_NO_RESPONDERS
                      ? jp->subject
                      : pae->ErrText != NULL && pae->ErrText[0] != '\0'
                        ? pae->ErrText : natsStatus_GetText(pae->Err));
        pthread_mutex_unlock(&jp->lock);
    }

    jp_ack(jp, idx, pa != NULL, pa != NULL && pa->Duplicate);

    natsMsg_Destroy(msg);
}


static natsStatus
jp_connect(jp_t *jp)
{
    natsStatus    s;

    s = bench_nats_connect(jp->url, "js-pub", &jp->nc);

    if (s != NATS_OK) {
        char  what[512];

        snprintf(what, sizeof(what), "cannot connect to %s", jp->url);
        jp_fail_status(what, s);
    }

    return s;
}


static natsStatus
jp_jetstream(jp_t *jp)
{
    jsOptions   o;
    natsStatus  s;

    jsOptions_Init(&o);
    o.Wait = 5000;

    if (jp->mode == JP_ASYNC) {
        o.PublishAsync.AckHandler = jp_on_puback;
        o.PublishAsync.AckHandlerClosure = jp;
        /*
         * Our own window is the bound; cnats' must never be the one that
         * stalls, or the run would measure its stall wait.
         */
        o.PublishAsync.MaxPending = 2 * (int64_t) jp->window + 16;
        o.PublishAsync.StallWait = JP_STALL_NS / 1000000;
    }

    s = natsConnection_JetStream(&jp->js, jp->nc, &o);
    if (s != NATS_OK) {
        jp_fail_status("cannot open a JetStream context", s);
    }

    return s;
}


static int
jp_info(jp_t *jp)
{
    jsStreamInfo  *si;
    jsErrCode      jerr;
    natsStatus     s;

    si = NULL;
    jerr = 0;
    s = js_GetStreamInfo(&si, jp->js, jp->stream, NULL, &jerr);

    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        fprintf(stderr, "js-pub: no stream \"%s\" on %s\n", jp->stream,
                jp->url);
        return 1;
    }

    if (s != NATS_OK) {
        char  what[512];

        snprintf(what, sizeof(what), "stream info of \"%s\" (error code %d)",
                 jp->stream, (int) jerr);
        jp_fail_status(what, s);
        return 1;
    }

    printf("stream=%s messages=%" PRIu64 " bytes=%" PRIu64
           " first_seq=%" PRIu64 " last_seq=%" PRIu64 "\n",
           jp->stream, si->State.Msgs, si->State.Bytes, si->State.FirstSeq,
           si->State.LastSeq);

    jsStreamInfo_Destroy(si);
    return 0;
}


/* The broker stream as DESIGN.md section 3 describes it. */
static int
jp_add(jp_t *jp)
{
    jsStreamConfig   cfg;
    jsStreamInfo    *si;
    jsErrCode        jerr;
    natsStatus       s;
    const char      *subjects[1];

    jsStreamConfig_Init(&cfg);
    subjects[0] = jp->subject;
    cfg.Name = jp->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Discard = js_DiscardNew;
    cfg.MaxBytes = jp->max_bytes;
    cfg.MaxAge = 24LL * 3600 * 1000000000LL;
    cfg.Duplicates = jp->dup_seconds * 1000000000LL;
    cfg.Replicas = 1;

    si = NULL;
    jerr = 0;
    s = js_AddStream(&si, jp->js, &cfg, NULL, &jerr);
    if (s != NATS_OK) {
        char  what[512];

        snprintf(what, sizeof(what), "cannot create stream \"%s\" for "
                 "\"%s\" (error code %d)", jp->stream, jp->subject,
                 (int) jerr);
        jp_fail_status(what, s);
        return 1;
    }

    printf("stream=%s subjects=%s storage=file discard=new max_bytes=%"
           PRId64 " duplicate_window_s=%" PRId64 "\n",
           jp->stream, jp->subject, jp->max_bytes, jp->dup_seconds);

    jsStreamInfo_Destroy(si);
    return 0;
}


/* {"pad":"xxx...x"} of exactly jp->size bytes, as bench/ingress.lua. */
static int
jp_make_body(jp_t *jp)
{
    size_t  i;

    jp->body = malloc(jp->size + 1);
    if (jp->body == NULL) {
        fprintf(stderr, "js-pub: out of memory for a %zu-byte body\n",
                jp->size);
        return -1;
    }

    memcpy(jp->body, "{\"pad\":\"", 8);
    for (i = 8; i < jp->size - 2; i++) {
        jp->body[i] = 'x';
    }
    memcpy(jp->body + jp->size - 2, "\"}", 3);

    return 0;
}


static natsStatus
jp_publish_one(jp_t *jp, uint64_t idx)
{
    natsMsg     *m;
    natsStatus   s;
    char         id[96], msgid[JP_MSG_ID_LEN + 1], reply[128], sent[32];

    snprintf(id, sizeof(id), "jsp-%016" PRIx64 "-%" PRIu64, jp->tag, idx);

    /*
     * As long as the module's SHA-256 hex digest and as unique; it is not
     * computed the same way only because this program links no libcrypto.
     */
    snprintf(msgid, sizeof(msgid), "%032" PRIx64 "%016" PRIx64 "%016" PRIx64,
             (uint64_t) 0, jp->tag, idx);

    if (jp->mode == JP_INBOX) {
        snprintf(reply, sizeof(reply), "%s.%" PRIu64, jp->inbox, idx);
    }

    m = NULL;
    s = natsMsg_Create(&m, jp->subject, jp->mode == JP_INBOX ? reply : NULL,
                       jp->body, (int) jp->size);
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "ce-specversion", "1.0");
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "ce-id", id);
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "ce-source", jp->source);
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "ce-type", jp->type);
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "ce-datacontenttype", "application/json");
    }
    if (s == NATS_OK) {
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", msgid);
    }
    if (s == NATS_OK && jp->rate > 0) {
        struct timespec  now;

        /* wall clock: the subscriber's log compares it with its own */
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(sent, sizeof(sent), "%" PRIu64,
                 (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec
                 / 1000);
        s = natsMsgHeader_Set(m, "ce-benchsent", sent);
    }

    if (s == NATS_OK) {
        if (jp->mode == JP_INBOX) {
            s = natsConnection_PublishMsg(jp->nc, m);
        } else {
            /* on success cnats owns m and hands it to jp_on_puback */
            s = js_PublishMsgAsync(jp->js, &m, NULL);
        }
    }

    natsMsg_Destroy(m);
    return s;
}


static double
jp_percentile_ms(const jp_t *jp, double p)
{
    uint64_t  rank, seen;
    size_t    us;

    if (jp->hist_n == 0) {
        return 0.0;
    }

    rank = (uint64_t) (p * (double) jp->hist_n);
    if (rank == 0) {
        rank = 1;
    }

    seen = 0;
    for (us = 0; us < JP_HIST_US; us++) {
        seen += jp->hist[us];
        if (seen >= rank) {
            /* the bucket's middle: a bucket holds [us, us + 1) µs */
            return ((double) us + 0.5) / 1000.0;
        }
    }

    return (double) jp->max_ns / 1e6;
}


static int
jp_pub(jp_t *jp)
{
    struct timespec  ts;
    natsStatus       s;
    uint64_t         i, start, stop_at, last_seen, ring;
    int              rc;

    if (jp_make_body(jp) != 0) {
        return 1;
    }

    for (ring = 1024; ring < 4 * (uint64_t) jp->window; ring <<= 1) {
        /* a ring slot is reused only once its event has been acked */
    }

    jp->ring_mask = ring - 1;
    jp->sent_ns = calloc(ring, sizeof(uint64_t));
    jp->hist = calloc(JP_HIST_US, sizeof(uint32_t));
    if (jp->sent_ns == NULL || jp->hist == NULL) {
        fprintf(stderr, "js-pub: out of memory for the latency histogram\n");
        return 1;
    }

    jp->tag = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid()
              ^ (jp_now() & 0xFFFFF);

    if (jp->mode == JP_INBOX) {
        char  wildcard[128];

        s = natsInbox_Create(&jp->inbox);
        if (s == NATS_OK) {
            snprintf(wildcard, sizeof(wildcard), "%s.*", jp->inbox);
            s = natsConnection_Subscribe(&jp->sub, jp->nc, wildcard,
                                         jp_on_reply, jp);
        }
        if (s == NATS_OK) {
            /* the window bounds what can pile up; never drop an ack */
            s = natsSubscription_SetPendingLimits(jp->sub, -1, -1);
        }
        if (s == NATS_OK) {
            /* the subscription must be known before the first reply */
            s = natsConnection_Flush(jp->nc);
        }
        if (s != NATS_OK) {
            jp_fail_status("cannot subscribe to the reply inbox", s);
            return 1;
        }
    }

    start = jp_now();
    stop_at = jp->count > 0 ? UINT64_MAX
              : start + (uint64_t) (jp->seconds * 1e9);

    for (i = 0; jp->count <= 0 || i < (uint64_t) jp->count; i++) {

        if (jp->rate > 0) {
            uint64_t  due;

            /*
             * Each event has its own due time from the start: a late one
             * does not delay the rest, so the rate holds on average.
             */
            due = start + (uint64_t) ((double) i * 1e9 / jp->rate);
            if (due >= stop_at) {
                break;
            }
            ts.tv_sec = (time_t) (due / 1000000000ULL);
            ts.tv_nsec = (long) (due % 1000000000ULL);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
                   == EINTR)
            {
                /* a signal cut the sleep short: sleep the rest */
            }
        }

        pthread_mutex_lock(&jp->lock);

        last_seen = jp->acked + jp->errors + jp->duplicates;

        while (jp->outstanding >= jp->window && !jp->fatal) {
            jp_deadline(&ts, JP_STALL_NS);
            rc = pthread_cond_timedwait(&jp->cond, &jp->lock, &ts);
            if (rc == ETIMEDOUT
                && jp->acked + jp->errors + jp->duplicates == last_seen)
            {
                jp_note_error(jp, 1, "no PubAck for %lld s with %d events "
                              "outstanding: is JetStream storing?",
                              JP_STALL_NS / 1000000000LL, jp->outstanding);
            }
        }

        if (jp->fatal || jp_now() >= stop_at) {
            pthread_mutex_unlock(&jp->lock);
            break;
        }

        jp->outstanding++;
        jp->sent_ns[i & jp->ring_mask] = jp_now();

        pthread_mutex_unlock(&jp->lock);

        s = jp_publish_one(jp, i);
        if (s != NATS_OK) {
            pthread_mutex_lock(&jp->lock);
            jp->outstanding--;
            jp_note_error(jp, 1, "publish failed: %s", natsStatus_GetText(s));
            pthread_mutex_unlock(&jp->lock);
            break;
        }
    }

    if (jp->mode == JP_INBOX) {
        s = natsConnection_Flush(jp->nc);
        if (s != NATS_OK) {
            pthread_mutex_lock(&jp->lock);
            jp_note_error(jp, 1, "flush failed: %s", natsStatus_GetText(s));
            pthread_mutex_unlock(&jp->lock);
        }
    }

    /* the run ends when the last event is acked, not when it is sent */
    pthread_mutex_lock(&jp->lock);
    jp_deadline(&ts, JP_DRAIN_NS);
    while (jp->outstanding > 0 && !jp->fatal) {
        if (pthread_cond_timedwait(&jp->cond, &jp->lock, &ts) == ETIMEDOUT) {
            jp_note_error(jp, 1, "%d events still without a PubAck %lld s "
                          "after the last publish", jp->outstanding,
                          JP_DRAIN_NS / 1000000000LL);
        }
    }

    {
        double  secs;

        secs = jp->last_ack_ns > start
               ? (double) (jp->last_ack_ns - start) / 1e9 : 0.0;

        printf("result tool=js-pub mode=%s window=%d size=%zu subject=%s "
               "published=%" PRIu64 " acked=%" PRIu64 " errors=%" PRIu64
               " duplicates=%" PRIu64 " seconds=%.3f events_per_s=%.0f "
               "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f rate=%.0f\n",
               jp->mode == JP_INBOX ? "inbox" : "async", jp->window,
               jp->size, jp->subject, i, jp->acked, jp->errors,
               jp->duplicates, secs,
               secs > 0 ? (double) jp->acked / secs : 0.0,
               jp_percentile_ms(jp, 0.50), jp_percentile_ms(jp, 0.99),
               (double) jp->max_ns / 1e6, jp->rate);
        fflush(stdout);
    }

    rc = jp->fatal || jp->errors > 0 || jp->duplicates > 0 || jp->acked == 0;
    if (jp->first_error[0] != '\0') {
        fprintf(stderr, "js-pub: %s\n", jp->first_error);
    } else if (jp->acked == 0) {
        fprintf(stderr, "js-pub: no event was stored\n");
    }

    pthread_mutex_unlock(&jp->lock);

    return rc;
}


int
main(int argc, char **argv)
{
    jp_t         jp;
    const char  *cmd;
    long long    v;
    int          c, rc;

    memset(&jp, 0, sizeof(jp));
    jp.mode = JP_INBOX;
    jp.window = 50;
    jp.seconds = 10;
    jp.size = 1024;
    jp.type = "com.example.bench.v1";
    jp.source = "/bench/js-pub";
    jp.max_bytes = 8LL << 30;
    jp.dup_seconds = 120;

    cmd = "pub";
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }

    if (strcmp(cmd, "pub") != 0 && strcmp(cmd, "info") != 0
        && strcmp(cmd, "add") != 0)
    {
        fprintf(stderr, "js-pub: unknown command \"%s\"\n", cmd);
        jp_usage();
        return 2;
    }

    while ((c = getopt(argc, argv, "s:j:S:c:n:d:z:m:t:o:B:D:r:h")) != -1) {
        switch (c) {
        case 's':
            jp.url = optarg;
            break;
        case 'j':
            jp.subject = optarg;
            break;
        case 'S':
            jp.stream = optarg;
            break;
        case 'c':
            if (bench_parse_num("js-pub", "c", optarg, 1, 100000, &v) != 0) {
                return 2;
            }
            jp.window = (int) v;
            break;
        case 'n':
            if (bench_parse_num("js-pub", "n", optarg, 1, LLONG_MAX, &v) != 0) {
                return 2;
            }
            jp.count = v;
            break;
        case 'd':
            if (bench_parse_num("js-pub", "d", optarg, 1, 86400, &v) != 0) {
                return 2;
            }
            jp.seconds = (double) v;
            break;
        case 'z':
            if (bench_parse_num("js-pub", "z", optarg, 10, 64 << 20, &v) != 0) {
                return 2;
            }
            jp.size = (size_t) v;
            break;
        case 'm':
            if (strcmp(optarg, "inbox") == 0) {
                jp.mode = JP_INBOX;
            } else if (strcmp(optarg, "async") == 0) {
                jp.mode = JP_ASYNC;
            } else {
                fprintf(stderr, "js-pub: -m wants inbox or async, not "
                        "\"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'r':
            if (bench_parse_num("js-pub", "r", optarg, 1, 1000000, &v) != 0) {
                return 2;
            }
            jp.rate = (double) v;
            break;
        case 't':
            jp.type = optarg;
            break;
        case 'o':
            jp.source = optarg;
            break;
        case 'B':
            if (bench_parse_num("js-pub", "B", optarg, 1, LLONG_MAX, &v) != 0) {
                return 2;
            }
            jp.max_bytes = v;
            break;
        case 'D':
            if (bench_parse_num("js-pub", "D", optarg, 0, 86400, &v) != 0) {
                return 2;
            }
            jp.dup_seconds = v;
            break;
        default:
            jp_usage();
            return 2;
        }
    }

    if (optind != argc) {
        fprintf(stderr, "js-pub: unexpected argument \"%s\"\n", argv[optind]);
        jp_usage();
        return 2;
    }

    if (jp.url == NULL
        || (strcmp(cmd, "info") != 0 && jp.subject == NULL)
        || (strcmp(cmd, "pub") != 0 && jp.stream == NULL))
    {
        fprintf(stderr, "js-pub %s: missing %s\n", cmd,
                jp.url == NULL ? "-s URL"
                : jp.stream == NULL && strcmp(cmd, "pub") != 0 ? "-S STREAM"
                : "-j SUBJECT");
        jp_usage();
        return 2;
    }

    if (pthread_mutex_init(&jp.lock, NULL) != 0) {
        fprintf(stderr, "js-pub: cannot create a mutex\n");
        return 1;
    }

    {
        pthread_condattr_t  ca;

        /* deadlines are on CLOCK_MONOTONIC: a clock step must not end a run */
        if (pthread_condattr_init(&ca) != 0
            || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
            || pthread_cond_init(&jp.cond, &ca) != 0)
        {
            fprintf(stderr, "js-pub: cannot create a condition variable\n");
            return 1;
        }
        pthread_condattr_destroy(&ca);
    }

    if (jp_connect(&jp) != NATS_OK || jp_jetstream(&jp) != NATS_OK) {
        rc = 1;

    } else if (strcmp(cmd, "info") == 0) {
        rc = jp_info(&jp);

    } else if (strcmp(cmd, "add") == 0) {
        rc = jp_add(&jp);

    } else {
        rc = jp_pub(&jp);
    }

    if (jp.sub != NULL) {
        natsSubscription_Unsubscribe(jp.sub);
        natsSubscription_Destroy(jp.sub);
    }
    jsCtx_Destroy(jp.js);
    natsConnection_Destroy(jp.nc);
    natsInbox_Destroy(jp.inbox);

    /* cnats' threads may still be in an ack handler that uses jp */
    nats_CloseAndWait(2000);

    free(jp.body);
    free(jp.sent_ns);
    free(jp.hist);
    pthread_cond_destroy(&jp.cond);
    pthread_mutex_destroy(&jp.lock);

    return rc;
}
