/*
 * Retry policy of a Trigger's delivery (reference/knative-trigger-delivery.md
 * section 3): which outcomes are retried, how long to wait before each
 * retry, Retry-After, and how long one event may stay in delivery.
 */

#ifndef EM_DISPATCHER_RETRY_H
#define EM_DISPATCHER_RETRY_H

#include "trigger.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The status of an attempt that got no HTTP response. */
#define EM_RETRY_TRANSPORT  0L

/* Waits are capped here: beyond, int64 ns and uv timers overflow. */
#define EM_RETRY_WAIT_MAX   (INT64_C(30) * 86400 * 1000000000)

/*
 * 1 when an attempt that ended so may be retried: no response (transport
 * error, timeout), 404, 408, 409, 429 or >= 500.  Every other status
 * outside 2xx is final.
 */
int em_retry_is_retryable(long status);

/* 1 for 2xx. */
int em_retry_is_success(long status);

/*
 * The policy's wait before retry k (k >= 1), ns: linear delay * (k - 1),
 * exponential delay * 2^(k - 1), none 0; saturates at EM_RETRY_WAIT_MAX.
 */
int64_t em_retry_backoff(const em_delivery_t *d, int k);

/*
 * A Retry-After value: delta-seconds, or an HTTP-date (IMF-fixdate,
 * RFC 850 or asctime) taken relative to now (a date in the past gives 0).
 * Returns 0 with *ns, or -1 when the value is neither.
 */
int em_retry_after_parse(const char *v, size_t len, time_t now,
    int64_t *ns);

/*
 * The wait before retry k after an attempt that ended with status:
 * the policy's backoff, or the Retry-After of a 429 or 503 when it is
 * longer and the trigger honours it (retry_after_max > 0; the header is
 * capped at retry_after_max).  retry_after may be NULL.
 */
int64_t em_retry_wait(const em_delivery_t *d, int k, long status,
    const char *retry_after, time_t now);

/*
 * The longest one event can stay in delivery: every attempt to the
 * subscriber and to the dead-letter sink with their waits.  No per-attempt
 * timeout makes it unbounded: EM_RETRY_WAIT_MAX.
 */
int64_t em_retry_budget(const em_delivery_t *d);

#endif /* EM_DISPATCHER_RETRY_H */
