/*
 * Kyma's legacy event endpoint, POST /{application}/v1/events
 * (reference/kyma-publisher.md sections 2-4): the request body turned into
 * a CloudEvent, and every answer written byte for byte as Kyma writes it
 * (Go's json.Encoder: compact, keys in Kyma's order, '<' '>' '&' escaped,
 * a trailing newline).  Content-Type of every answer: application/json.
 *
 * Compatibility decisions, where Kyma's behaviour comes from Go rather
 * than from a rule:
 *  - The body is read like Go's json.Decoder: the first JSON value only
 *    (trailing bytes ignored), keys matched case-insensitively with Go's
 *    folding, unknown keys ignored, duplicate keys: the last one wins
 *    ("event-type" then "Event-Type": the second value), a null string
 *    member leaves the field as it was, "data": null clears data.
 *    Syntax and type errors carry Go's own message in "moreInfo".
 *  - max_body acts like Go's http.MaxBytesReader around that decoder: a
 *    value complete within the first max_body bytes is accepted whatever
 *    follows; a value still open there answers 413.
 *  - event-time is accepted exactly when Go's time.Parse(time.RFC3339)
 *    accepts it.  Strict RFC 3339 times are kept as sent; the forms only
 *    Go accepts (one-digit hour, ',' before the fraction, offsets +24:00
 *    or xx:60) are written as the UTC instant, as Kyma stores them.
 *  - Kyma publishes a few things a CloudEvent cannot carry; those get
 *    Kyma's "invalid_field" answer after all of Kyma's own checks passed:
 *    an event-type (without a type prefix) or event-type-version with
 *    control characters or Unicode noncharacters, an event-time whose UTC
 *    form falls outside years 0000-9999.  An application name that is
 *    not a non-empty URI-reference answers bad_payload_syntax.
 *  - Invalid UTF-8 inside "data" strings becomes U+FFFD and a lone
 *    surrogate escape becomes \ufffd, as Go's decoder reads them; any
 *    other data is forwarded byte for byte.
 */

#ifndef EVENTMESH_LEGACY_H
#define EVENTMESH_LEGACY_H

#include <eventmesh/event.h>

/* Kyma's --max-request-size default. */
#define EM_LEGACY_MAX_BODY  65536

typedef struct {
    size_t       max_body;         /* bytes; 0: no limit */
    /*
     * NULL: type = event-type as sent (the seed's Event Mesh).  Otherwise
     * Kyma 2's naming: PREFIX.<app>.<event>.<version> with Kyma's
     * cleaning; an empty or all-cleaned prefix gives <app>.<event>.<version>.
     */
    const char  *type_prefix;
    size_t       type_prefix_len;
    /*
     * 1: body holds only the first bytes of a longer request body (the
     * caller stopped reading at max_body); the answer is the one the whole
     * body would get.
     */
    unsigned     body_truncated:1;
} em_legacy_opts_t;

/* max_body EM_LEGACY_MAX_BODY, no type prefix, not truncated. */
void em_legacy_opts_default(em_legacy_opts_t *o);

/*
 * Validates a legacy request body in Kyma's order (first failure wins)
 * and converts it: specversion 1.0, id = event-id or a new UUIDv4,
 * source = app, type, datacontenttype application/json, time,
 * extension eventtypeversion; data = the bytes of the "data" value.
 *
 * EM_OK: *out is the event (free with em_event_free()), ready for
 * em_nats_encode_headers(); *http_status is 200, the status to answer
 * with em_legacy_ok_body() once the channel acked.  Otherwise *out is
 * NULL and *http_status and err_body (its content replaced) hold the
 * answer:
 *   EM_EINVALID  400  validation_violation or bad_payload_syntax
 *   EM_ETOOBIG   413  request_body_too_large
 *   EM_ERROR     500  out of memory or no randomness; err_body may be
 *                     empty when even it could not be written
 */
em_status_t em_legacy_to_event(const char *app, size_t app_len,
    const unsigned char *body, size_t len, const em_legacy_opts_t *o,
    em_event_t **out, int *http_status, em_buf_t *err_body);

/*
 * The 200 answer after the channel's ack:
 * {"event-id":"<id>","status":"","reason":""}.  Replaces out's content.
 */
int em_legacy_ok_body(const char *id, em_buf_t *out);

typedef enum {
    EM_LEGACY_BACKEND_NOT_CONNECTED = 0, /* 502 */
    EM_LEGACY_BACKEND_NO_STREAM,         /* 504: no responders */
    EM_LEGACY_BACKEND_TIMEOUT,           /* 504: no ack in time */
    EM_LEGACY_BACKEND_FULL,              /* 507: JetStream's store-failed
                                            errors (err_code 10077 ...) */
    EM_LEGACY_BACKEND_API,               /* another JetStream API error:
                                            its code and description */
    EM_LEGACY_BACKEND_INTERNAL           /* 500: anything else */
} em_legacy_backend_t;

/*
 * Kyma's answer to a failed publish: {"status":N,"message":"..."}, no
 * "type".  For EM_LEGACY_BACKEND_API the status is api_code (500 unless
 * 400-599) and the message is detail (left out when empty, as Kyma's
 * omitempty does); a detail saying "no space left on device" answers 507
 * as Kyma does.  api_code and detail are ignored for the other kinds.
 * Replaces out's content.
 */
int em_legacy_backend_body(em_legacy_backend_t kind, int api_code,
    const char *detail, size_t detail_len, int *http_status, em_buf_t *out);

/*
 * {"status":N,"message":"<message>"}: Kyma's shape for answers without a
 * type (its internal conversion errors), for the statuses the caller
 * decides itself (503 overloaded ...).  Replaces out's content.
 */
int em_legacy_error_body(int status, const char *message, size_t len,
    em_buf_t *out);

#endif /* EVENTMESH_LEGACY_H */
