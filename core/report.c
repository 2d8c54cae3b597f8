/*
 * Validation report.  Values are made safe when they are added: bytes
 * that are not UTF-8, and NUL, are shown as \xNN text and the result is cut to
 * EM_REPORT_VALUE_MAX bytes on a character boundary, so the JSON writer
 * never sees anything it cannot escape.
 */

#include <eventmesh/report.h>

#include "json_out.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A rule is our own sentence, possibly quoting a short piece of input. */
#define EM_REPORT_RULE_MAX  1024


void
em_report_init(em_report_t *r)
{
    memset(r, 0, sizeof(*r));
}


static void
em_violations_free(em_violation_t *v, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(v[i].attribute);
        free(v[i].location);
        free(v[i].rule);
        free(v[i].value);
    }

    free(v);
}


void
em_report_free(em_report_t *r)
{
    em_violations_free(r->items, r->n);
    em_violations_free(r->warnings, r->nwarnings);
    em_report_init(r);
}


static char *
em_report_value(const char *v, size_t len, size_t max)
{
    static const char     hex[] = "0123456789ABCDEF";
    const unsigned char  *p = (const unsigned char *) v;
    em_buf_t              b;
    uint32_t              cp;
    size_t                i, n;
    char                  esc[4];
    int                   cut;

    em_buf_init(&b);

    /* never look at more input than can possibly survive the cut */
    cut = len > max;
    if (cut) {
        len = max + 1;
    }

    for (i = 0; i < len; i += n) {
        n = em_utf8_decode(p + i, len - i, &cp);
        if (n == 0 && cut && len - i < 4) {
            /* a sequence cut by the input limit above, not a bad one */
            break;
        }

        /* a NUL would end the stored C string: show it like a bad byte */
        if (n == 0 || p[i] == '\0') {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[p[i] >> 4];
            esc[3] = hex[p[i] & 0xF];
            n = 1;
            if (em_buf_append(&b, esc, 4) != EM_OK) {
                goto fail;
            }
            continue;
        }

        if (em_buf_append(&b, v + i, n) != EM_OK) {
            goto fail;
        }
    }

    if (em_buf_reserve(&b, 0) != EM_OK) {
        goto fail;
    }

    b.len = em_utf8_cut(b.data, b.len, max);
    b.data[b.len] = '\0';
    return b.data;

fail:
    em_buf_free(&b);
    return NULL;
}


static int
em_report_push(em_violation_t **items, size_t *n, size_t *cap, long index,
    const char *attribute, const char *location, const char *value,
    size_t value_len, const char *fmt, va_list ap)
{
    em_violation_t  *v, *ni;
    size_t           ncap;
    va_list          ap2;
    char            *rule;
    int              len;

    if (*n == *cap) {
        ncap = *cap ? *cap * 2 : 8;
        ni = realloc(*items, ncap * sizeof(em_violation_t));
        if (ni == NULL) {
            return EM_ERROR;
        }
        *items = ni;
        *cap = ncap;
    }

    v = &(*items)[*n];
    memset(v, 0, sizeof(*v));
    v->index = index;

    /* attribute names and locations come from input (header names) too */
    attribute = attribute ? attribute : "";
    location = location ? location : "";
    v->attribute = em_report_value(attribute, strlen(attribute),
                                   EM_REPORT_RULE_MAX);
    v->location = em_report_value(location, strlen(location),
                                  EM_REPORT_RULE_MAX);

    va_copy(ap2, ap);
    len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);

    /* rules may quote input (a parser's message), so they are made safe too */
    if (len >= 0) {
        rule = malloc((size_t) len + 1);
        if (rule) {
            vsnprintf(rule, (size_t) len + 1, fmt, ap);
            v->rule = em_report_value(rule, (size_t) len,
                                      EM_REPORT_RULE_MAX);
            free(rule);
        }
    }

    if (value != NULL) {
        v->value = em_report_value(value, value_len, EM_REPORT_VALUE_MAX);
    }

    if (v->attribute == NULL || v->location == NULL || v->rule == NULL
        || (value != NULL && v->value == NULL))
    {
        free(v->attribute);
        free(v->location);
        free(v->rule);
        free(v->value);
        return EM_ERROR;
    }

    (*n)++;
    return EM_OK;
}


int
em_report_add(em_report_t *r, long index, const char *attribute,
    const char *location, const char *value, size_t value_len,
    const char *rule_fmt, ...)
{
    va_list  ap;
    int      rc;

    if (r->n >= EM_REPORT_ITEMS_MAX) {
        r->omitted++;
        return EM_OK;
    }

    va_start(ap, rule_fmt);
    rc = em_report_push(&r->items, &r->n, &r->cap, index, attribute,
                        location, value, value_len, rule_fmt, ap);
    va_end(ap);
    return rc;
}


int
em_report_warn(em_report_t *r, long index, const char *attribute,
    const char *location, const char *value, size_t value_len,
    const char *rule_fmt, ...)
{
    va_list  ap;
    int      rc;

    if (r->no_warnings) {
        return EM_OK;
    }

    if (r->nwarnings >= EM_REPORT_ITEMS_MAX) {
        r->womitted++;
        return EM_OK;
    }

    va_start(ap, rule_fmt);
    rc = em_report_push(&r->warnings, &r->nwarnings, &r->cwarnings, index,
                        attribute, location, value, value_len, rule_fmt, ap);
    va_end(ap);
    return rc;
}


static int
em_report_list(em_buf_t *out, const em_violation_t *v, size_t n)
{
    size_t  i;

    if (em_buf_append_str(out, "[") != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < n; i++) {
        if ((i && em_buf_append_str(out, ",") != EM_OK)
            || em_buf_append_str(out, "{\"attribute\":") != EM_OK
            || em_json_append_string(out, v[i].attribute,
                                     strlen(v[i].attribute)) != EM_OK
            || em_buf_append_str(out, ",\"location\":") != EM_OK
            || em_json_append_string(out, v[i].location,
                                     strlen(v[i].location)) != EM_OK
            || em_buf_append_str(out, ",\"rule\":") != EM_OK
            || em_json_append_string(out, v[i].rule, strlen(v[i].rule))
               != EM_OK)
        {
            return EM_ERROR;
        }

        if (v[i].value != NULL
            && (em_buf_append_str(out, ",\"value\":") != EM_OK
                || em_json_append_string(out, v[i].value,
                                         strlen(v[i].value)) != EM_OK))
        {
            return EM_ERROR;
        }

        if (v[i].index >= 0
            && em_buf_printf(out, ",\"index\":%ld", v[i].index) != EM_OK)
        {
            return EM_ERROR;
        }

        if (em_buf_append_str(out, "}") != EM_OK) {
            return EM_ERROR;
        }
    }

    return em_buf_append_str(out, "]");
}


int
em_report_to_json(const em_report_t *r, const char *error, em_buf_t *out)
{
    const char  *e = error ? error : "invalid CloudEvent";

    if (em_buf_append_str(out, "{\"error\":") != EM_OK
        || em_json_append_string(out, e, strlen(e)) != EM_OK)
    {
        return EM_ERROR;
    }

    if (r->mode != NULL
        && (em_buf_append_str(out, ",\"mode\":") != EM_OK
            || em_json_append_string(out, r->mode, strlen(r->mode))
               != EM_OK))
    {
        return EM_ERROR;
    }

    if (em_buf_append_str(out, ",\"violations\":") != EM_OK
        || em_report_list(out, r->items, r->n) != EM_OK)
    {
        return EM_ERROR;
    }

    if (r->omitted
        && em_buf_printf(out, ",\"violations_omitted\":%zu", r->omitted)
           != EM_OK)
    {
        return EM_ERROR;
    }

    if (r->nwarnings
        && (em_buf_append_str(out, ",\"warnings\":") != EM_OK
            || em_report_list(out, r->warnings, r->nwarnings) != EM_OK))
    {
        return EM_ERROR;
    }

    if (r->womitted
        && em_buf_printf(out, ",\"warnings_omitted\":%zu", r->womitted)
           != EM_OK)
    {
        return EM_ERROR;
    }

    return em_buf_append_str(out, "}");
}
