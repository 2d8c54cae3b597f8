/*
 * CloudEvents 1.0 over HTTP: mode detection and strict validation of
 * binary, structured and batch mode (reference/cloudevents.md 1, 2, 6, 7).
 */

#ifndef EVENTMESH_CE_HTTP_H
#define EVENTMESH_CE_HTTP_H

#include <eventmesh/event.h>
#include <eventmesh/report.h>

typedef enum {
    EM_MODE_BINARY = 0,
    EM_MODE_STRUCTURED,
    EM_MODE_BATCH
} em_mode_t;

/* One HTTP request header as received; not NUL-terminated. */
typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *value;
    size_t       value_len;
} em_header_t;

typedef struct {
    size_t      max_event_size;     /* bytes of one event; default 65536;
                                       0: no limit */
    size_t      max_batch_events;   /* events in one batch; default 100;
                                       0: no limit */
    unsigned    allow_batch:1;      /* batch mode "MUST NOT be used unless
                                       solicited" */
    unsigned    check_json_body:1;  /* binary mode: parse a JSON body */
    unsigned    check_extensions:1; /* traceparent, sampledrate, ... */
    unsigned    trace_from_headers:1; /* traceparent/tracestate request
                                         headers become the extension of
                                         events without one (DESIGN 2) */
} em_ce_limits_t;

void em_ce_limits_default(em_ce_limits_t *lim);

typedef struct {
    em_event_t  **events;
    size_t        n;
    em_mode_t     mode;
} em_batch_t;

void em_batch_free(em_batch_t *b);

/* Mode from a Content-Type value (NULL/0 when absent). */
em_status_t em_ce_detect_mode(const char *ct, size_t ct_len, em_mode_t *mode,
    em_report_t *report);

/*
 * Parses and validates one HTTP request.  headers are all request headers
 * (Content-Type among them); body is the whole body.
 *
 * EM_OK: *out holds one event (binary, structured) or 0..n (batch).
 * EM_EINVALID (400), EM_ETOOBIG (413), EM_EMEDIA (415): report says why,
 * *out is NULL.  EM_ERROR: out of memory.
 *
 * report->mode is set once the mode is known; report->warnings may be
 * non-empty on EM_OK (long or digit-first names, a relative source, an
 * ignored malformed traceparent header).  Free *out with em_batch_free().
 */
em_status_t em_ce_parse_http(const em_header_t *headers, size_t nheaders,
    const unsigned char *body, size_t body_len, const em_ce_limits_t *lim,
    em_batch_t **out, em_report_t *report);

/*
 * Binary-mode header value decoding (HTTP binding 3.1.3.2): unquote an
 * RFC 7230 quoted-string, one round of percent-decoding, UTF-8 check.
 * Returns a malloc'ed NUL-terminated string or NULL with *err set to a
 * static message.
 */
char *em_ce_header_decode(const char *v, size_t len, size_t *out_len,
    const char **err);

/* Type checks; 1 when valid, else 0 with *why a static message. */
int em_check_string(const char *s, size_t len, const char **why);
int em_check_uri(const char *s, size_t len, const char **why);
int em_check_uri_ref(const char *s, size_t len, const char **why);
int em_check_timestamp(const char *s, size_t len, const char **why);
int em_check_integer(const char *s, size_t len, const char **why);
int em_check_boolean(const char *s, size_t len, const char **why);
int em_check_attr_name(const char *s, size_t len, const char **why);
int em_check_media_type(const char *s, size_t len, const char **why);
int em_media_type_is_json(const char *s, size_t len);

/* Distributed-tracing extension (W3C Trace Context): traceparent version
 * 00 exactly, later versions by their common prefix; tracestate leniently,
 * at most 32 key=value members. */
int em_check_traceparent(const char *s, size_t len, const char **why);
int em_check_tracestate(const char *s, size_t len, const char **why);

#endif /* EVENTMESH_CE_HTTP_H */
