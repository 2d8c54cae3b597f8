/*
 * Attribute rules common to binary, structured and batch mode: the order
 * of reference/cloudevents.md 6 (specversion first, then the required
 * attributes, names, types, extensions), every violation reported.
 */

#include "ce_internal.h"
#include "types.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


void
em_ce_ctx_init(em_ce_ctx_t *ctx, em_report_t *report,
    const em_ce_limits_t *lim, int binary, long index)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->report = report;
    ctx->lim = lim;
    ctx->binary = binary ? 1 : 0;
    ctx->index = index;

    if (index >= 0) {
        snprintf(ctx->prefix, sizeof(ctx->prefix), "body[%ld]", index);

    } else {
        snprintf(ctx->prefix, sizeof(ctx->prefix), "body");
    }
}


void
em_ce_location(const em_ce_ctx_t *ctx, const char *name, char *buf,
    size_t size)
{
    if (ctx->binary) {
        if (name[0] == '\0') {
            snprintf(buf, size, "headers");

        } else {
            snprintf(buf, size, "header ce-%s", name);
        }
        return;
    }

    if (name[0] == '\0') {
        snprintf(buf, size, "%s", ctx->prefix);

    } else {
        snprintf(buf, size, "%s.%s", ctx->prefix, name);
    }
}


static void
em_ce_vadd(em_ce_ctx_t *ctx, int warn, const char *name, const char *loc,
    const char *value, size_t value_len, const char *fmt, va_list ap)
{
    char  rule[1024], where[160];
    int   rc;

    vsnprintf(rule, sizeof(rule), fmt, ap);

    if (loc == NULL) {
        em_ce_location(ctx, name, where, sizeof(where));
        loc = where;
    }

    if (warn) {
        rc = em_report_warn(ctx->report, ctx->index, name, loc, value,
                            value_len, "%s", rule);

    } else {
        rc = em_report_add(ctx->report, ctx->index, name, loc, value,
                           value_len, "%s", rule);
    }

    if (rc != EM_OK) {
        ctx->oom = 1;
    }
}


void
em_ce_violation(em_ce_ctx_t *ctx, const char *name, const char *loc,
    const char *value, size_t value_len, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    em_ce_vadd(ctx, 0, name, loc, value, value_len, fmt, ap);
    va_end(ap);
}


void
em_ce_warning(em_ce_ctx_t *ctx, const char *name, const char *loc,
    const char *value, size_t value_len, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    em_ce_vadd(ctx, 1, name, loc, value, value_len, fmt, ap);
    va_end(ap);
}


static em_raw_attr_t *
em_ce_find(em_raw_attr_t *raw, size_t n, const char *name)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(raw[i].name, name) == 0) {
            return &raw[i];
        }
    }

    return NULL;
}


static const char *
em_kind_name(em_raw_kind_t k)
{
    switch (k) {
    case EM_RAW_STRING:  return "a string";
    case EM_RAW_INTEGER: return "an integer";
    case EM_RAW_BOOLEAN: return "a boolean";
    case EM_RAW_NULL:    return "null";
    case EM_RAW_REAL:    return "a number with a fraction or exponent";
    case EM_RAW_OBJECT:  return "an object";
    case EM_RAW_ARRAY:   return "an array";
    default:             return "an invalid value";
    }
}


static int
em_is_core(const char *name)
{
    static const char  *core[] = { "specversion", "id", "source", "type",
                                   "datacontenttype", "dataschema",
                                   "subject", "time" };
    size_t              i;

    for (i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
        if (strcmp(core[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
em_is_required(const char *name)
{
    return strcmp(name, "id") == 0 || strcmp(name, "source") == 0
           || strcmp(name, "type") == 0 || strcmp(name, "specversion") == 0;
}


/* The type a value must have: declared for core and checked extensions. */
static int
em_ce_declared(const em_ce_ctx_t *ctx, const char *name, em_type_t *type)
{
    int  known;

    *type = em_attr_known_type(name, &known);

    if (!known) {
        return 0;
    }

    return em_is_core(name) || ctx->lim->check_extensions;
}


static int
em_ce_specversion(em_ce_ctx_t *ctx, em_raw_attr_t *raw, size_t n)
{
    em_raw_attr_t  *sv;

    sv = em_ce_find(raw, n, "specversion");

    if (sv == NULL || sv->kind == EM_RAW_NULL) {
        if (ctx->binary) {
            em_ce_violation(ctx, "specversion", NULL, NULL, 0,
                "required header ce-specversion is missing: a binary-mode "
                "CloudEvent needs ce-specversion: 1.0, ce-id, ce-source and "
                "ce-type (or send Content-Type: "
                "application/cloudevents+json with a JSON event)");

        } else {
            em_ce_violation(ctx, "specversion", NULL, NULL, 0,
                "required attribute specversion is missing; it must be "
                "\"1.0\"");
        }
        return 0;
    }

    if (sv->kind == EM_RAW_BAD) {
        return 0;
    }

    if (sv->kind != EM_RAW_STRING) {
        em_ce_violation(ctx, "specversion", NULL, sv->value, sv->value_len,
            "specversion must be the string \"1.0\", not %s",
            em_kind_name(sv->kind));
        return 0;
    }

    if (sv->value_len != 3 || memcmp(sv->value, "1.0", 3) != 0) {
        em_ce_violation(ctx, "specversion", NULL, sv->value, sv->value_len,
            "unsupported specversion: only CloudEvents \"1.0\" is accepted%s",
            ctx->index >= 0 ? " (every event of a batch must use \"1.0\")"
                            : "");
        return 0;
    }

    sv->ok = 1;
    return 1;
}


static void
em_ce_required(em_ce_ctx_t *ctx, em_raw_attr_t *raw, size_t n,
    const char *name)
{
    em_raw_attr_t  *a;

    a = em_ce_find(raw, n, name);

    if (a == NULL || a->kind == EM_RAW_NULL) {
        if (ctx->binary) {
            em_ce_violation(ctx, name, NULL, NULL, 0,
                "required attribute %s is missing: send header ce-%s",
                name, name);

        } else {
            em_ce_violation(ctx, name, NULL, NULL, 0,
                "required attribute %s is missing", name);
        }
        return;
    }

    if (a->kind == EM_RAW_BAD) {
        return;
    }

    if (a->kind != EM_RAW_STRING) {
        em_ce_violation(ctx, name, NULL, a->value, a->value_len,
            "%s must be a JSON string, not %s", name, em_kind_name(a->kind));
        a->kind = EM_RAW_BAD;
        return;
    }

    if (a->value_len == 0) {
        em_ce_violation(ctx, name, NULL, a->value, 0,
            "%s must be a non-empty string", name);
        a->kind = EM_RAW_BAD;
    }
}


/* Rules beyond the type: one attribute's value, already a valid String. */
static int
em_ce_value_rules(em_ce_ctx_t *ctx, em_raw_attr_t *a)
{
    const char  *why, *n = a->name, *v = a->value;
    size_t       len = a->value_len;
    long         iv;
    int          ext = ctx->lim->check_extensions;

    why = NULL;

    if (strcmp(n, "source") == 0) {
        if (!em_check_uri_ref(v, len, &why)) {
            em_ce_violation(ctx, n, a->loc, v, len,
                "source must be a URI-reference (RFC 3986): %s", why);
            return 0;
        }

        if (!em_uri_ref_is_absolute(v, len)) {
            em_ce_warning(ctx, n, a->loc, v, len,
                "source should be an absolute URI such as "
                "https://example.com/app or urn:example:app, so that it is "
                "unique across producers");
        }
        return 1;
    }

    if (strcmp(n, "subject") == 0 && len == 0) {
        em_ce_violation(ctx, n, a->loc, v, len,
            "subject must be a non-empty string when present");
        return 0;
    }

    if (strcmp(n, "datacontenttype") == 0
        && !em_check_media_type(v, len, &why))
    {
        em_ce_violation(ctx, n, a->loc, v, len,
            "datacontenttype must be an RFC 2046 media type: %s", why);
        return 0;
    }

    if (strcmp(n, "dataschema") == 0 && !em_check_uri(v, len, &why)) {
        em_ce_violation(ctx, n, a->loc, v, len,
            "dataschema must be an absolute URI: %s", why);
        return 0;
    }

    if (strcmp(n, "time") == 0 && !em_check_timestamp(v, len, &why)) {
        em_ce_violation(ctx, n, a->loc, v, len, "time: %s", why);
        return 0;
    }

    if (!ext) {
        return 1;
    }

    if (strcmp(n, "traceparent") == 0 && !em_check_traceparent(v, len, &why))
    {
        em_ce_violation(ctx, n, a->loc, v, len, "%s", why);
        return 0;
    }

    if (strcmp(n, "tracestate") == 0 && !em_check_tracestate(v, len, &why)) {
        em_ce_violation(ctx, n, a->loc, v, len, "%s", why);
        return 0;
    }

    if ((strcmp(n, "expirytime") == 0 || strcmp(n, "recordedtime") == 0)
        && !em_check_timestamp(v, len, &why))
    {
        em_ce_violation(ctx, n, a->loc, v, len, "%s: %s", n, why);
        return 0;
    }

    if (strcmp(n, "dataref") == 0 && !em_check_uri_ref(v, len, &why)) {
        em_ce_violation(ctx, n, a->loc, v, len,
            "dataref must be a URI-reference (RFC 3986): %s", why);
        return 0;
    }

    if ((strcmp(n, "partitionkey") == 0 || strcmp(n, "sequence") == 0)
        && len == 0)
    {
        em_ce_violation(ctx, n, a->loc, v, len,
            "%s must be a non-empty string when present", n);
        return 0;
    }

    if (strcmp(n, "sampledrate") == 0
        && em_parse_int32(v, len, &iv, &why) && iv <= 0)
    {
        em_ce_violation(ctx, n, a->loc, v, len,
            "sampledrate must be an Integer greater than 0");
        return 0;
    }

    return 1;
}


/* Type check of one attribute; 1 when its value has the right type. */
static int
em_ce_type(em_ce_ctx_t *ctx, em_raw_attr_t *a)
{
    em_type_t    t;
    const char  *why;
    long         iv;
    int          declared;

    declared = em_ce_declared(ctx, a->name, &t);

    if (!declared) {
        if (ctx->binary) {
            t = EM_TYPE_STRING;

        } else if (a->kind == EM_RAW_INTEGER) {
            t = EM_TYPE_INTEGER;

        } else if (a->kind == EM_RAW_BOOLEAN) {
            t = EM_TYPE_BOOLEAN;

        } else if (a->kind == EM_RAW_STRING) {
            t = EM_TYPE_STRING;

        } else {
            em_ce_violation(ctx, a->name, a->loc, NULL, 0,
                "extension %s must be a string, an integer or a boolean, "
                "not %s", a->name, em_kind_name(a->kind));
            return 0;
        }
    }

    switch (t) {

    case EM_TYPE_INTEGER:
        if (!ctx->binary && a->kind != EM_RAW_INTEGER) {
            em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
                "%s is an Integer and must be a JSON integer, not %s",
                a->name, em_kind_name(a->kind));
            return 0;
        }

        if (!em_parse_int32(a->value, a->value_len, &iv, &why)) {
            em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
                "%s: %s", a->name, why);
            return 0;
        }
        return em_ce_value_rules(ctx, a);

    case EM_TYPE_BOOLEAN:
        if (!ctx->binary && a->kind != EM_RAW_BOOLEAN) {
            em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
                "%s is a Boolean and must be JSON true or false, not %s",
                a->name, em_kind_name(a->kind));
            return 0;
        }

        if (!em_check_boolean(a->value, a->value_len, &why)) {
            em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
                "%s: %s", a->name, why);
            return 0;
        }
        return 1;

    default:
        break;
    }

    if (a->kind != EM_RAW_STRING) {
        em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
            "%s must be a JSON string, not %s", a->name,
            em_kind_name(a->kind));
        return 0;
    }

    if (!em_check_string(a->value, a->value_len, &why)) {
        em_ce_violation(ctx, a->name, a->loc, a->value, a->value_len,
            "%s %s", a->name, why);
        return 0;
    }

    return em_ce_value_rules(ctx, a);
}


void
em_ce_validate(em_ce_ctx_t *ctx, em_raw_attr_t *raw, size_t n)
{
    em_raw_attr_t  *a;
    const char     *why;
    size_t          i, len;

    if (!em_ce_specversion(ctx, raw, n)) {
        ctx->stop = 1;
        return;
    }

    em_ce_required(ctx, raw, n, "id");
    em_ce_required(ctx, raw, n, "source");
    em_ce_required(ctx, raw, n, "type");

    for (i = 0; i < n; i++) {
        a = &raw[i];

        if (a->kind == EM_RAW_BAD || a->ok) {
            continue;
        }

        len = strlen(a->name);

        if (!em_check_attr_name(a->name, len, &why)) {
            em_ce_violation(ctx, a->name, a->loc, a->name, len,
                "invalid attribute name: %s", why);
            continue;
        }

        if (len > 20) {
            em_ce_warning(ctx, a->name, a->loc, a->name, len,
                "attribute names should not exceed 20 characters");
        }

        if (a->name[0] >= '0' && a->name[0] <= '9') {
            em_ce_warning(ctx, a->name, a->loc, a->name, len,
                "attribute names should start with a letter");
        }

        if (a->kind == EM_RAW_NULL) {
            /* JSON null means unset (json-format.md 2.2) */
            continue;
        }

        if (em_ce_type(ctx, a)) {
            a->ok = 1;
        }
    }
}


static em_status_t
em_ce_build_one(const em_raw_attr_t *a, const em_ce_limits_t *lim,
    em_event_t *ev)
{
    em_type_t  t;
    int        known;

    t = em_attr_known_type(a->name, &known);

    if (!known || (!em_is_core(a->name) && !lim->check_extensions)) {
        t = a->kind == EM_RAW_INTEGER ? EM_TYPE_INTEGER
            : a->kind == EM_RAW_BOOLEAN ? EM_TYPE_BOOLEAN
            : EM_TYPE_STRING;
    }

    return em_event_set(ev, a->name, a->value, a->value_len, t);
}


em_status_t
em_ce_build(const em_raw_attr_t *raw, size_t n, const em_ce_limits_t *lim,
    em_event_t *ev)
{
    static const char  *first[] = { "specversion", "id", "source", "type" };
    size_t              i, j;

    for (j = 0; j < 4; j++) {
        for (i = 0; i < n; i++) {
            if (raw[i].ok && strcmp(raw[i].name, first[j]) == 0) {
                if (em_ce_build_one(&raw[i], lim, ev) != EM_OK) {
                    return EM_ERROR;
                }
                break;
            }
        }
    }

    for (i = 0; i < n; i++) {
        if (!raw[i].ok || em_is_required(raw[i].name)) {
            continue;
        }

        if (em_ce_build_one(&raw[i], lim, ev) != EM_OK) {
            return EM_ERROR;
        }
    }

    return EM_OK;
}
