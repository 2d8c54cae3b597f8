/*
 * Helpers shared by the CloudEvents unit tests: build a request from
 * string literals, run em_ce_parse_http(), and look for a violation by
 * attribute and a fragment of its rule.
 */

#ifndef EM_CE_TEST_H
#define EM_CE_TEST_H

#include <eventmesh/ce_http.h>
#include <eventmesh/codec.h>

#include "tap.h"

#include <stdlib.h>

#define CE_MAX_HEADERS  64

typedef struct {
    em_status_t   rc;
    em_batch_t   *batch;
    em_report_t   report;
} ce_result_t;

/*
 * Parses a request: headers as name/value string pairs ending with NULL,
 * the body a string (binary-safe length in body_len; -1 means strlen).
 */
__attribute__((unused))
static void
ce_parse_lim(ce_result_t *res, const em_ce_limits_t *lim, const char *body,
    long body_len, const char *const *hv)
{
    em_header_t  h[CE_MAX_HEADERS];
    size_t       n;

    for (n = 0; hv[2 * n] != NULL && n < CE_MAX_HEADERS; n++) {
        h[n].name = hv[2 * n];
        h[n].name_len = strlen(hv[2 * n]);
        h[n].value = hv[2 * n + 1];
        h[n].value_len = strlen(hv[2 * n + 1]);
    }

    em_report_init(&res->report);
    res->batch = NULL;
    res->rc = em_ce_parse_http(h, n, (const unsigned char *) body,
                               body ? (body_len < 0 ? strlen(body)
                                                    : (size_t) body_len)
                                    : 0,
                               lim, &res->batch, &res->report);
}

__attribute__((unused))
static void
ce_parse(ce_result_t *res, const char *body, const char *const *hv)
{
    em_ce_limits_t  lim;

    em_ce_limits_default(&lim);
    ce_parse_lim(res, &lim, body, -1, hv);
}

__attribute__((unused))
static void
ce_free(ce_result_t *res)
{
    em_batch_free(res->batch);
    res->batch = NULL;
    em_report_free(&res->report);
}

/* The first violation (or warning) of attr whose rule holds fragment. */
__attribute__((unused))
static const em_violation_t *
ce_find(const em_violation_t *v, size_t n, const char *attr,
    const char *fragment)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if ((attr == NULL || strcmp(v[i].attribute, attr) == 0)
            && (fragment == NULL || strstr(v[i].rule, fragment) != NULL))
        {
            return &v[i];
        }
    }

    return NULL;
}

__attribute__((unused))
static void
ce_dump(const ce_result_t *res)
{
    em_buf_t  b;

    em_buf_init(&b);
    if (em_report_to_json(&res->report, "report", &b) == EM_OK) {
        diag("%s", b.data);
    }
    em_buf_free(&b);
}

/* Asserts rc and a violation of attr with fragment in its rule. */
__attribute__((unused))
static int
ce_rejects(const ce_result_t *res, em_status_t rc, const char *attr,
    const char *fragment, const char *name)
{
    const em_violation_t  *v;
    int                    good;

    v = ce_find(res->report.items, res->report.n, attr, fragment);
    good = res->rc == rc && v != NULL && res->batch == NULL;

    ok(good, "%s: rejected (%d) on %s: %s", name, rc, attr ? attr : "*",
       fragment ? fragment : "*");
    if (!good) {
        diag("rc=%d", res->rc);
        ce_dump(res);
    }

    return good;
}

__attribute__((unused))
static int
ce_accepts(const ce_result_t *res, const char *name)
{
    int  good;

    good = res->rc == EM_OK && res->batch != NULL && res->report.n == 0;
    ok(good, "%s: accepted", name);
    if (!good) {
        diag("rc=%d", res->rc);
        ce_dump(res);
    }

    return good;
}

__attribute__((unused))
static int
ce_warns(const ce_result_t *res, const char *attr, const char *fragment,
    const char *name)
{
    const em_violation_t  *v;

    v = ce_find(res->report.warnings, res->report.nwarnings, attr, fragment);
    ok(v != NULL, "%s: warning on %s: %s", name, attr, fragment);
    if (v == NULL) {
        ce_dump(res);
    }

    return v != NULL;
}

#define CE_H(...)  ((const char *const []) { __VA_ARGS__, NULL })

#endif /* EM_CE_TEST_H */
