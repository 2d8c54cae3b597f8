/*
 * Retry policy.  The waits follow Knative core, not its documentation
 * (reference section 3): go-retryablehttp hands the backoff function the
 * number of retries made so far, so the first linear retry is immediate.
 */

#include "retry.h"

#include <string.h>
#include <time.h>


#define EM_NS_PER_SEC_R  INT64_C(1000000000)


static int64_t
em_sat_add(int64_t a, int64_t b)
{
    if (a >= EM_RETRY_WAIT_MAX || b >= EM_RETRY_WAIT_MAX
        || a > EM_RETRY_WAIT_MAX - b)
    {
        return EM_RETRY_WAIT_MAX;
    }

    return a + b;
}


static int64_t
em_sat_mul(int64_t a, int64_t n)
{
    if (a <= 0 || n <= 0) {
        return 0;
    }

    if (a > EM_RETRY_WAIT_MAX / n) {
        return EM_RETRY_WAIT_MAX;
    }

    return a * n;
}


int
em_retry_is_success(long status)
{
    return status >= 200 && status <= 299;
}


int
em_retry_is_retryable(long status)
{
    switch (status) {

    case EM_RETRY_TRANSPORT:
    case 404:
    case 408:
    case 409:
    case 429:
        return 1;

    default:
        return status >= 500;
    }
}


int64_t
em_retry_backoff(const em_delivery_t *d, int k)
{
    int64_t  wait;
    int      i;

    if (k < 1 || d->backoff_delay <= 0) {
        return 0;
    }

    switch (d->backoff_policy) {

    case EM_BACKOFF_LINEAR:
        return em_sat_mul(d->backoff_delay, k - 1);

    case EM_BACKOFF_EXPONENTIAL:
        wait = d->backoff_delay;

        for (i = 1; i < k && wait < EM_RETRY_WAIT_MAX; i++) {
            wait = em_sat_add(wait, wait);
        }

        return wait < EM_RETRY_WAIT_MAX ? wait : EM_RETRY_WAIT_MAX;

    default:
        return 0;
    }
}


static int
em_retry_date(const char *s, time_t *t)
{
    static const char *const  formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT",     /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT",     /* RFC 850 */
        "%a %b %e %H:%M:%S %Y"           /* asctime */
    };

    struct tm    tm;
    const char  *end;
    size_t       i;

    for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        memset(&tm, 0, sizeof(tm));

        end = strptime(s, formats[i], &tm);
        if (end != NULL && *end == '\0') {
            *t = timegm(&tm);
            return *t == (time_t) -1 ? -1 : 0;
        }
    }

    return -1;
}


int
em_retry_after_parse(const char *v, size_t len, time_t now, int64_t *ns)
{
    char     buf[64];
    size_t   i;
    int64_t  secs;
    time_t   t;

    /* optional whitespace around the field value (RFC 9110 5.5) */
    while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        len--;
    }

    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }

    if (v[0] >= '0' && v[0] <= '9') {
        secs = 0;

        for (i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9') {
                return -1;
            }

            if (secs < EM_RETRY_WAIT_MAX / EM_NS_PER_SEC_R) {
                secs = secs * 10 + (v[i] - '0');
            }
        }

        *ns = em_sat_mul(secs, EM_NS_PER_SEC_R);
        return 0;
    }

    memcpy(buf, v, len);
    buf[len] = '\0';

    if (em_retry_date(buf, &t) != 0) {
        return -1;
    }

    *ns = t <= now ? 0 : em_sat_mul((int64_t) (t - now), EM_NS_PER_SEC_R);
    return 0;
}


int64_t
em_retry_wait(const em_delivery_t *d, int k, long status,
    const char *retry_after, time_t now)
{
    int64_t  wait, ra;

    wait = em_retry_backoff(d, k);

    if (d->retry_after_max <= 0 || retry_after == NULL
        || (status != 429 && status != 503))
    {
        return wait;
    }

    if (em_retry_after_parse(retry_after, strlen(retry_after), now, &ra)
        != 0)
    {
        return wait;
    }

    if (ra > d->retry_after_max) {
        ra = d->retry_after_max;
    }

    return ra > wait ? ra : wait;
}


int64_t
em_retry_budget(const em_delivery_t *d)
{
    int64_t  phase, r, waits;

    if (d->timeout <= 0) {
        return EM_RETRY_WAIT_MAX;
    }

    r = d->retry > 0 ? d->retry : 0;
    phase = em_sat_mul(d->timeout, r + 1);

    /* the sum of the waits before retries 1..r, in closed form */
    switch (d->backoff_policy) {

    case EM_BACKOFF_LINEAR:
        waits = em_sat_mul(d->backoff_delay, r * (r - 1) / 2);
        break;

    case EM_BACKOFF_EXPONENTIAL:
        /* d + 2d + ... + 2^(r-1)d < 2^r d: the next wait bounds it */
        waits = d->backoff_delay <= 0 ? 0
                : r >= 62 ? EM_RETRY_WAIT_MAX
                : em_retry_backoff(d, (int) r + 1);
        break;

    default:
        waits = 0;
        break;
    }

    phase = em_sat_add(phase, waits);

    if (d->retry_after_max > 0) {
        /* max(backoff, Retry-After) <= backoff + retry_after_max */
        phase = em_sat_add(phase, em_sat_mul(d->retry_after_max, r));
    }

    return d->dead_letter_uri != NULL ? em_sat_add(phase, phase) : phase;
}
