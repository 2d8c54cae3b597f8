/*
 * Unit tests: the retry policy (retry.c), the reply hop limit (reply.c)
 * and the consumer's ack wait (consumer.c).
 */

#include "consumer.h"
#include "reply.h"
#include "retry.h"

#include "tap.h"

#include <stdint.h>
#include <time.h>

#define S   INT64_C(1000000000)
#define MS  INT64_C(1000000)


static em_delivery_t
delivery(int retry, em_backoff_policy_t policy, int64_t delay)
{
    em_delivery_t  d;

    memset(&d, 0, sizeof(d));
    d.retry = retry;
    d.backoff_policy = policy;
    d.backoff_delay = delay;
    d.timeout = 10 * S;
    d.retry_after_max = -1;
    return d;
}


static void
test_retryable(void)
{
    static const long  yes[] = { 0, 404, 408, 409, 429, 500, 502, 503, 504,
                                 599 };
    static const long  no[] = { 100, 200, 204, 301, 304, 400, 401, 403, 405,
                                410, 413, 415, 418, 422, 451 };
    size_t             i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        ok(em_retry_is_retryable(yes[i]), "%ld is retried", yes[i]);
    }

    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        ok(!em_retry_is_retryable(no[i]), "%ld is not retried", no[i]);
    }

    ok(em_retry_is_success(200) && em_retry_is_success(299)
       && !em_retry_is_success(300) && !em_retry_is_success(199),
       "success is 200..299");
}


static void
test_backoff(void)
{
    em_delivery_t  d;

    d = delivery(5, EM_BACKOFF_LINEAR, 200 * MS);
    is_long((long) em_retry_backoff(&d, 1), 0, "linear: the first retry "
            "is immediate (Knative core)");
    is_long((long) em_retry_backoff(&d, 2), (long) (200 * MS),
            "linear: then delay");
    is_long((long) em_retry_backoff(&d, 4), (long) (600 * MS),
            "linear: delay * (k - 1)");

    d = delivery(5, EM_BACKOFF_EXPONENTIAL, 200 * MS);
    is_long((long) em_retry_backoff(&d, 1), (long) (200 * MS),
            "exponential: delay first");
    is_long((long) em_retry_backoff(&d, 4), (long) (1600 * MS),
            "exponential: delay * 2^(k - 1)");

    d = delivery(5, EM_BACKOFF_NONE, 200 * MS);
    is_long((long) em_retry_backoff(&d, 3), 0, "no policy: no wait");

    d = delivery(5, EM_BACKOFF_EXPONENTIAL, 0);
    is_long((long) em_retry_backoff(&d, 3), 0, "no delay: no wait");

    d = delivery(100, EM_BACKOFF_EXPONENTIAL, 1 * S);
    ok(em_retry_backoff(&d, 100) == EM_RETRY_WAIT_MAX,
       "exponential: saturates instead of overflowing");

    d = delivery(100, EM_BACKOFF_LINEAR, INT64_MAX / 4);
    ok(em_retry_backoff(&d, 90) == EM_RETRY_WAIT_MAX,
       "linear: saturates too");
}


static void
test_retry_after(void)
{
    int64_t  ns;
    time_t   now;

    now = 1714557600;   /* Wed, 01 May 2024 10:00:00 GMT */

    ok(em_retry_after_parse("5", 1, now, &ns) == 0 && ns == 5 * S,
       "delta-seconds");
    ok(em_retry_after_parse(" 0 ", 3, now, &ns) == 0 && ns == 0,
       "0, with spaces around");
    ok(em_retry_after_parse("Wed, 01 May 2024 10:00:30 GMT", 29, now, &ns)
       == 0 && ns == 30 * S, "IMF-fixdate");
    ok(em_retry_after_parse("Wednesday, 01-May-24 10:01:00 GMT", 33, now,
                            &ns) == 0 && ns == 60 * S, "RFC 850 date");
    ok(em_retry_after_parse("Wed May  1 10:00:10 2024", 24, now, &ns) == 0
       && ns == 10 * S, "asctime date");
    ok(em_retry_after_parse("Wed, 01 May 2024 09:00:00 GMT", 29, now, &ns)
       == 0 && ns == 0, "a date in the past: no wait");
    ok(em_retry_after_parse("99999999999999999999", 20, now, &ns) == 0
       && ns == EM_RETRY_WAIT_MAX, "huge delta: capped, no overflow");

    ok(em_retry_after_parse("", 0, now, &ns) == -1, "empty: invalid");
    ok(em_retry_after_parse("1.5", 3, now, &ns) == -1, "fraction: invalid");
    ok(em_retry_after_parse("-1", 2, now, &ns) == -1, "negative: invalid");
    ok(em_retry_after_parse("soon", 4, now, &ns) == -1, "word: invalid");
    ok(em_retry_after_parse("Wed, 01 May 2024 10:00:30", 25, now, &ns) == -1,
       "date without GMT: invalid");
}


static void
test_wait(void)
{
    em_delivery_t  d;
    time_t         now;

    now = time(NULL);
    d = delivery(3, EM_BACKOFF_LINEAR, 100 * MS);

    is_long((long) em_retry_wait(&d, 1, 429, "5", now), 0,
            "Retry-After ignored without retryAfterMax");

    d.retry_after_max = 0;
    is_long((long) em_retry_wait(&d, 1, 429, "5", now), 0,
            "retryAfterMax 0: ignored");

    d.retry_after_max = 2 * S;
    is_long((long) em_retry_wait(&d, 1, 429, "1", now), (long) S,
            "429: Retry-After");
    is_long((long) em_retry_wait(&d, 1, 503, "10", now), (long) (2 * S),
            "503: capped at retryAfterMax");
    is_long((long) em_retry_wait(&d, 1, 500, "1", now), 0,
            "500: not considered");
    is_long((long) em_retry_wait(&d, 3, 429, "0", now), (long) (200 * MS),
            "the policy's wait when longer");
    is_long((long) em_retry_wait(&d, 2, 429, "bogus", now), (long) (100 * MS),
            "an invalid header: the policy's wait");
    is_long((long) em_retry_wait(&d, 2, 429, NULL, now), (long) (100 * MS),
            "no header: the policy's wait");
}


static void
test_budget(void)
{
    em_delivery_t  d;
    em_trigger_t   t;

    d = delivery(3, EM_BACKOFF_LINEAR, 100 * MS);
    d.timeout = 1 * S;
    is_long((long) em_retry_budget(&d), (long) (4 * S + 300 * MS),
            "4 attempts + waits 0, 0.1, 0.2");

    d.dead_letter_uri = "http://sink/";
    is_long((long) em_retry_budget(&d), (long) (2 * (4 * S + 300 * MS)),
            "a dead-letter sink doubles it");

    d = delivery(3, EM_BACKOFF_EXPONENTIAL, 100 * MS);
    d.timeout = 1 * S;
    d.retry_after_max = 1 * S;
    is_long((long) em_retry_budget(&d), (long) (4 * S + 800 * MS + 3 * S),
            "exponential bound, plus retryAfterMax per retry");

    d.timeout = 0;
    ok(em_retry_budget(&d) == EM_RETRY_WAIT_MAX, "no timeout: unbounded");

    d = delivery(EM_TRIGGER_MAX_RETRY, EM_BACKOFF_EXPONENTIAL, 1 * S);
    ok(em_retry_budget(&d) == EM_RETRY_WAIT_MAX,
       "100 exponential retries: saturates");

    memset(&t, 0, sizeof(t));
    t.delivery = delivery(0, EM_BACKOFF_NONE, 0);
    t.delivery.timeout = 1 * S;
    ok(em_consumer_ack_wait(&t) == EM_ACK_WAIT_MIN,
       "ack wait: at least EM_ACK_WAIT_MIN");

    t.delivery.timeout = 10 * S;
    ok(em_consumer_ack_wait(&t) == 10 * S + EM_ACK_WAIT_SLACK,
       "ack wait: the budget plus slack");

    t.delivery.timeout = EM_TRIGGER_DEFAULT_TIMEOUT;
    ok(em_consumer_ack_wait(&t) == EM_ACK_WAIT_MAX,
       "ack wait: capped (InProgress covers longer deliveries)");
}


static void
test_ttl(void)
{
    is_long(em_reply_ttl_parse(NULL), -1, "ttl: absent");
    is_long(em_reply_ttl_parse("5"), 5, "ttl: 5");
    is_long(em_reply_ttl_parse("0"), 0, "ttl: 0");
    is_long(em_reply_ttl_parse("-3"), 0, "ttl: negative counts as 0");
    is_long(em_reply_ttl_parse("x"), -1, "ttl: not a number: absent");
    is_long(em_reply_ttl_parse("5x"), -1, "ttl: trailing garbage: absent");
    is_long(em_reply_ttl_parse(""), -1, "ttl: empty: absent");
    ok(em_reply_ttl_parse("99999999999999999999") > 0, "ttl: huge: no "
       "overflow");

    is_long(em_reply_ttl_next(-1), 254, "reply to an event without one: 254");
    is_long(em_reply_ttl_next(5), 4, "reply: one less");
    ok(em_reply_ttl_next(1) <= 0, "at 1 the reply is dropped");
    ok(em_reply_ttl_next(0) <= 0, "at 0 too");
}


int
main(void)
{
    test_retryable();
    test_backoff();
    test_retry_after();
    test_wait();
    test_budget();
    test_ttl();

    return tap_done();
}
