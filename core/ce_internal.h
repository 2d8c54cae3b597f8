/*
 * What the three HTTP modes share: attributes as they arrived (before
 * typing), the validation context, and the per-mode parsers ce_http.c
 * dispatches to.
 */

#ifndef EM_CORE_CE_INTERNAL_H
#define EM_CORE_CE_INTERNAL_H

#include <eventmesh/ce_http.h>

/* How an attribute value arrived: a header is always a string. */
typedef enum {
    EM_RAW_STRING = 0,
    EM_RAW_INTEGER,
    EM_RAW_BOOLEAN,
    EM_RAW_NULL,
    EM_RAW_REAL,
    EM_RAW_OBJECT,
    EM_RAW_ARRAY,
    EM_RAW_BAD          /* already reported while collecting it */
} em_raw_kind_t;

typedef struct {
    const char     *name;       /* NUL-terminated */
    const char     *value;      /* string form; NULL for null/real/... */
    size_t          value_len;
    em_raw_kind_t   kind;
    const char     *loc;        /* location override ("header Content-Type") */
    unsigned        ok:1;       /* set by em_ce_validate() */
} em_raw_attr_t;

typedef struct {
    em_report_t           *report;
    const em_ce_limits_t  *lim;
    long                   index;      /* batch index or -1 */
    unsigned               binary:1;
    unsigned               oom:1;
    unsigned               stop:1;     /* specversion failed: look no further */
    char                   prefix[32]; /* "body", "body[3]" */
} em_ce_ctx_t;

void em_ce_ctx_init(em_ce_ctx_t *ctx, em_report_t *report,
    const em_ce_limits_t *lim, int binary, long index);

/* "header ce-time", "body.time", "body[3].time" */
void em_ce_location(const em_ce_ctx_t *ctx, const char *name, char *buf,
    size_t size);

/* Adds a violation for attribute name at its usual location (loc NULL). */
void em_ce_violation(em_ce_ctx_t *ctx, const char *name, const char *loc,
    const char *value, size_t value_len, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

void em_ce_warning(em_ce_ctx_t *ctx, const char *name, const char *loc,
    const char *value, size_t value_len, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * The attribute rules shared by every mode (reference/cloudevents.md 6,
 * steps 5-8 and 10).  Adds violations and warnings; sets ctx->stop when
 * specversion failed.  Marks raw[i].ok on each attribute that passed.
 */
void em_ce_validate(em_ce_ctx_t *ctx, em_raw_attr_t *raw, size_t n);

/* Builds the event from validated attributes: the required ones first. */
em_status_t em_ce_build(const em_raw_attr_t *raw, size_t n,
    const em_ce_limits_t *lim, em_event_t *ev);

em_status_t em_ce_parse_binary(const em_header_t *headers, size_t nheaders,
    const em_header_t *ct, const unsigned char *body, size_t body_len,
    const em_ce_limits_t *lim, em_report_t *report, em_event_t **out);

em_status_t em_ce_parse_structured(const unsigned char *body,
    size_t body_len, const em_ce_limits_t *lim, em_report_t *report,
    em_event_t **out);

em_status_t em_ce_parse_batch(const unsigned char *body, size_t body_len,
    const em_ce_limits_t *lim, em_report_t *report, em_batch_t *batch);

#endif /* EM_CORE_CE_INTERNAL_H */
