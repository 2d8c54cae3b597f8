/*
 * Validation report: every violation found, not only the first, in a
 * stable order, as data that callers turn into the JSON error body of
 * DESIGN.md section 2.
 */

#ifndef EVENTMESH_REPORT_H
#define EVENTMESH_REPORT_H

#include <eventmesh/em.h>

/* Values are cut to this many bytes (on a UTF-8 boundary) in a report. */
#define EM_REPORT_VALUE_MAX  128

/*
 * Violations (and warnings) kept in a report; the rest are only counted.
 * An event with 10 000 bad headers gets a readable answer of a few kB,
 * not one line per header.
 */
#define EM_REPORT_ITEMS_MAX  100

typedef struct {
    long     index;       /* batch index, -1 outside a batch */
    char    *attribute;   /* "time", "data", "" when the whole event */
    char    *location;    /* "header ce-time", "body", "body[3].time" */
    char    *rule;        /* a sentence a user can act on */
    char    *value;       /* the offending value, truncated; may be NULL */
} em_violation_t;

typedef struct {
    em_violation_t  *items;
    size_t           n;
    size_t           cap;
    size_t           omitted;   /* violations past EM_REPORT_ITEMS_MAX */
    em_violation_t  *warnings;
    size_t           nwarnings;
    size_t           cwarnings;
    size_t           womitted;
    const char      *mode;     /* "binary", "structured", "batch" */
    /*
     * 1: em_report_warn() records nothing.  An ingress that answers a
     * valid event with an empty 202 never shows warnings, so it validates
     * quietly and builds the full report only for an event it refuses.
     */
    unsigned         no_warnings:1;
} em_report_t;

void em_report_init(em_report_t *r);
void em_report_free(em_report_t *r);

int em_report_add(em_report_t *r, long index, const char *attribute,
    const char *location, const char *value, size_t value_len,
    const char *rule_fmt, ...) __attribute__((format(printf, 7, 8)));
int em_report_warn(em_report_t *r, long index, const char *attribute,
    const char *location, const char *value, size_t value_len,
    const char *rule_fmt, ...) __attribute__((format(printf, 7, 8)));

/*
 * {"error":"<error>","mode":"binary","violations":[{"attribute":..,
 * "location":..,"rule":..,"value":..,"index":n}],"warnings":[...]}
 * "index" only inside a batch, "warnings" only when there are some;
 * "violations_omitted": n and "warnings_omitted": n when the report had
 * more than EM_REPORT_ITEMS_MAX of them.
 */
int em_report_to_json(const em_report_t *r, const char *error, em_buf_t *out);

#endif /* EVENTMESH_REPORT_H */
