/*
 * Structured mode (HTTP binding 3.2) and batched mode (3.3): the JSON event
 * format.  jansson validates the document and gives typed members; the
 * data bytes are then cut from the original text so that ingress stores
 * exactly what was sent.
 */

#include "ce_internal.h"
#include "base64.h"
#include "json_check.h"
#include "json_scan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define EM_JSON_FLAGS  (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL \
                        | JSON_DECODE_ANY)


static void
em_json_error(em_ce_ctx_t *ctx, json_error_t *e)
{
    const char  *near, *q;

    if (json_error_code(e) == json_error_duplicate_key) {
        /* jansson: "duplicate object key near '"id"'" */
        near = strstr(e->text, "near '");
        q = near ? strrchr(near + 6, '\'') : NULL;

        if (near != NULL && q != NULL) {
            em_ce_violation(ctx, "", "body", NULL, 0,
                "member %.*s appears more than once in one JSON object "
                "(line %d, column %d); each attribute may appear at most "
                "once", (int) (q - near - 6), near + 6, e->line, e->column);
            return;
        }
    }

    if (json_error_code(e) == json_error_numeric_overflow) {
        em_ce_violation(ctx, "", "body", NULL, 0,
            "an attribute holds a number out of range: %s (line %d, "
            "column %d)", e->text, e->line, e->column);
        return;
    }

    em_ce_violation(ctx, "", "body", NULL, 0,
        "the body is not valid JSON: %s (line %d, column %d)", e->text,
        e->line, e->column);
}


/* Hides one object's non-string "data" value from jansson, in place. */
static void
em_json_mask_data(char *copy, size_t len, size_t obj)
{
    em_span_t  vs;

    if (obj < len && copy[obj] == '{'
        && em_json_member(copy, len, obj, "data", 4, &vs) == 1
        && copy[vs.b] != '"' && vs.e - vs.b >= 4)
    {
        /* same length, so every span found in the original still holds */
        memcpy(copy + vs.b, "null", 4);
        memset(copy + vs.b + 4, ' ', vs.e - vs.b - 4);
    }
}


/*
 * jansson refuses numbers it cannot represent (beyond long long or
 * double) even inside "data", which is valid JSON and which ingress never
 * interprets.  So when that is the only problem, the document is checked
 * by em_json_check() and parsed again with every data value masked; the
 * data bytes are later cut from the original text.
 */
static json_t *
em_json_reload(em_ce_ctx_t *ctx, const char *text, size_t len, int batch,
    json_error_t *first)
{
    json_error_t   e;
    json_t        *root;
    em_span_t     *spans;
    const char    *why;
    size_t         pos, i, start;
    long           n;
    char          *copy;

    if (!em_json_check(text, len, &pos, &why)) {
        em_ce_violation(ctx, "", "body", NULL, 0,
            "the body is not valid JSON: %s at byte %zu", why, pos);
        return NULL;
    }

    copy = malloc(len + 1);
    if (copy == NULL) {
        ctx->oom = 1;
        return NULL;
    }
    memcpy(copy, text, len);

    start = em_json_ws(text, len, 0);

    if (!batch) {
        em_json_mask_data(copy, len, start);

    } else {
        n = em_json_elements(text, len, start, NULL, 0);
        spans = n > 0 ? calloc((size_t) n, sizeof(em_span_t)) : NULL;

        if (n > 0 && spans == NULL) {
            free(copy);
            ctx->oom = 1;
            return NULL;
        }

        if (n > 0) {
            n = em_json_elements(text, len, start, spans, (size_t) n);
            for (i = 0; n > 0 && i < (size_t) n; i++) {
                em_json_mask_data(copy, len, spans[i].b);
            }
        }

        free(spans);
    }

    root = json_loadb(copy, len, EM_JSON_FLAGS, &e);
    free(copy);

    if (root == NULL) {
        em_json_error(ctx, json_error_code(&e) == json_error_numeric_overflow
                           ? &e : first);
    }

    return root;
}


static json_t *
em_json_load(em_ce_ctx_t *ctx, const unsigned char *body, size_t len,
    int batch)
{
    json_error_t  e;
    json_t       *root;

    if (len >= 3 && body[0] == 0xEF && body[1] == 0xBB && body[2] == 0xBF) {
        em_ce_violation(ctx, "", "body", NULL, 0,
            "the body starts with a UTF-8 byte order mark; send the JSON "
            "text without it");
        return NULL;
    }

    root = json_loadb((const char *) body, len, EM_JSON_FLAGS, &e);
    if (root != NULL) {
        return root;
    }

    if (json_error_code(&e) == json_error_numeric_overflow) {
        return em_json_reload(ctx, (const char *) body, len, batch, &e);
    }

    em_json_error(ctx, &e);
    return NULL;
}


static const char *
em_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER:
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    default:           return "null";
    }
}


static const char *
em_json_raw_kind(char first)
{
    switch (first) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    default:  return "a number";
    }
}


/* The data / data_base64 table of reference/cloudevents.md 2.3. */
static em_status_t
em_json_data(em_ce_ctx_t *ctx, json_t *obj, const char *text,
    em_span_t span, const em_raw_attr_t *dct, em_buf_t *data, int *has,
    int *is_json)
{
    json_t       *d, *b;
    const char   *why;
    char          loc[64];
    em_span_t     vs;
    int           rc, json_dct;

    *has = 0;
    *is_json = 0;

    d = json_object_get(obj, "data");
    b = json_object_get(obj, "data_base64");

    if (b != NULL && json_is_null(b)) {
        b = NULL;
    }

    if (d != NULL && b != NULL) {
        snprintf(loc, sizeof(loc), "%s", ctx->prefix);
        em_ce_violation(ctx, "data", loc, NULL, 0,
            "data and data_base64 are mutually exclusive; send only one");
        return EM_OK;
    }

    if (b != NULL) {
        snprintf(loc, sizeof(loc), "%s.data_base64", ctx->prefix);

        if (!json_is_string(b)) {
            em_ce_violation(ctx, "data_base64", loc, NULL, 0,
                "data_base64 must be a string of base64 text, not %s",
                em_json_kind(b));
            return EM_OK;
        }

        why = em_base64_decode(data, json_string_value(b),
                               json_string_length(b));
        if (why != NULL) {
            if (strcmp(why, "out of memory") == 0) {
                return EM_ERROR;
            }
            em_ce_violation(ctx, "data_base64", loc, json_string_value(b),
                json_string_length(b),
                "data_base64 is not valid base64 (RFC 4648, standard "
                "alphabet, '=' padding): %s", why);
            return EM_OK;
        }

        *has = 1;
        return EM_OK;
    }

    if (d == NULL) {
        return EM_OK;
    }

    /* the value as sent: jansson's may be masked (em_json_reload) */
    rc = em_json_member(text, span.e, span.b, "data", 4, &vs);
    if (rc != 1) {
        /* jansson accepted the text, so the scanner must find it */
        snprintf(loc, sizeof(loc), "%s.data", ctx->prefix);
        em_ce_violation(ctx, "data", loc, NULL, 0,
            "internal error: the data member could not be located");
        return EM_OK;
    }

    /* without datacontenttype the JSON format means application/json */
    json_dct = dct == NULL || dct->kind != EM_RAW_STRING
               || em_media_type_is_json(dct->value, dct->value_len);

    if (!json_dct) {
        if (!json_is_string(d)) {
            snprintf(loc, sizeof(loc), "%s.data", ctx->prefix);
            em_ce_violation(ctx, "data", loc, dct->value, dct->value_len,
                "datacontenttype is not JSON, so data must be a JSON string "
                "holding the content (not %s); send binary content as "
                "data_base64", em_json_raw_kind(text[vs.b]));
            return EM_OK;
        }

        if (em_buf_append(data, json_string_value(d), json_string_length(d))
            != EM_OK)
        {
            return EM_ERROR;
        }

        *has = 1;
        return EM_OK;
    }

    if (em_buf_append(data, text + vs.b, vs.e - vs.b) != EM_OK) {
        return EM_ERROR;
    }

    *has = 1;
    *is_json = 1;
    return EM_OK;
}


/*
 * One JSON-format event: obj is its parsed form, text[span] its bytes.
 * On success *out holds the event.
 */
static em_status_t
em_json_event(em_ce_ctx_t *ctx, json_t *obj, const char *text,
    em_span_t span, em_event_t **out)
{
    em_raw_attr_t  *raw, *a, *dct;
    em_event_t     *ev;
    em_status_t     rc;
    em_buf_t        data;
    const char     *key;
    json_t         *v;
    size_t          n, before;
    char           (*ints)[24];
    int             has, is_json;

    *out = NULL;
    before = ctx->report->n;

    n = json_object_size(obj);

    raw = calloc(n + 1, sizeof(em_raw_attr_t));
    ints = calloc(n + 1, sizeof(*ints));
    if (raw == NULL || ints == NULL) {
        free(raw);
        free(ints);
        return EM_ERROR;
    }

    em_buf_init(&data);
    n = 0;
    dct = NULL;

    json_object_foreach(obj, key, v) {
        if (strcmp(key, "data") == 0 || strcmp(key, "data_base64") == 0) {
            continue;
        }

        a = &raw[n];
        a->name = key;

        switch (json_typeof(v)) {
        case JSON_STRING:
            a->kind = EM_RAW_STRING;
            a->value = json_string_value(v);
            a->value_len = json_string_length(v);
            break;

        case JSON_INTEGER:
            a->kind = EM_RAW_INTEGER;
            snprintf(ints[n], sizeof(ints[n]), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
            a->value = ints[n];
            a->value_len = strlen(ints[n]);
            break;

        case JSON_TRUE:
            a->kind = EM_RAW_BOOLEAN;
            a->value = "true";
            a->value_len = 4;
            break;

        case JSON_FALSE:
            a->kind = EM_RAW_BOOLEAN;
            a->value = "false";
            a->value_len = 5;
            break;

        case JSON_NULL:
            a->kind = EM_RAW_NULL;
            break;

        case JSON_REAL:
            a->kind = EM_RAW_REAL;
            break;

        case JSON_OBJECT:
            a->kind = EM_RAW_OBJECT;
            break;

        case JSON_ARRAY:
            a->kind = EM_RAW_ARRAY;
            break;
        }

        if (strcmp(key, "datacontenttype") == 0) {
            dct = a;
        }

        n++;
    }

    em_ce_validate(ctx, raw, n);

    rc = EM_OK;
    has = 0;
    is_json = 0;

    if (!ctx->stop) {
        rc = em_json_data(ctx, obj, text, span, dct, &data, &has, &is_json);
    }

    if (rc != EM_OK || ctx->oom) {
        rc = EM_ERROR;
        goto done;
    }

    if (ctx->report->n > before) {
        rc = EM_EINVALID;
        goto done;
    }

    ev = em_event_new();
    if (ev == NULL || em_ce_build(raw, n, ctx->lim, ev) != EM_OK
        || (has && em_event_set_data(ev, data.data ? data.data : "",
                                     data.len) != EM_OK))
    {
        em_event_free(ev);
        rc = EM_ERROR;
        goto done;
    }

    ev->data_is_json = is_json ? 1 : 0;
    *out = ev;

done:

    em_buf_free(&data);
    free(raw);
    free(ints);
    return rc;
}


em_status_t
em_ce_parse_structured(const unsigned char *body, size_t body_len,
    const em_ce_limits_t *lim, em_report_t *report, em_event_t **out)
{
    em_ce_ctx_t   ctx;
    em_status_t   rc;
    em_span_t     span;
    json_t       *root;

    *out = NULL;
    em_ce_ctx_init(&ctx, report, lim, 0, -1);

    if (lim->max_event_size && body_len > lim->max_event_size) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "the event is %zu bytes, over the limit of %zu bytes",
            body_len, lim->max_event_size);
        return ctx.oom ? EM_ERROR : EM_ETOOBIG;
    }

    root = em_json_load(&ctx, body, body_len, 0);
    if (root == NULL) {
        return ctx.oom ? EM_ERROR : EM_EINVALID;
    }

    if (!json_is_object(root)) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "a structured-mode body must be one JSON object, not %s%s",
            em_json_kind(root), json_is_array(root)
            ? "; send several events with Content-Type "
              "application/cloudevents-batch+json" : "");
        json_decref(root);
        return ctx.oom ? EM_ERROR : EM_EINVALID;
    }

    span.b = em_json_ws((const char *) body, body_len, 0);
    span.e = body_len;

    rc = em_json_event(&ctx, root, (const char *) body, span, out);

    json_decref(root);
    return rc;
}


em_status_t
em_ce_parse_batch(const unsigned char *body, size_t body_len,
    const em_ce_limits_t *lim, em_report_t *report, em_batch_t *batch)
{
    em_ce_ctx_t   ctx;
    em_status_t   rc, erc;
    em_span_t    *spans;
    json_t       *root, *el;
    size_t        i, n, limit;
    long          found;
    const char   *text = (const char *) body;
    int           big;

    em_ce_ctx_init(&ctx, report, lim, 0, -1);

    limit = 0;
    if (lim->max_event_size && lim->max_batch_events
        && lim->max_event_size <= SIZE_MAX / lim->max_batch_events)
    {
        limit = lim->max_event_size * lim->max_batch_events;
    }

    if (limit && body_len > limit) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "the batch is %zu bytes, over the limit of %zu bytes (%zu "
            "events of at most %zu bytes)", body_len, limit,
            lim->max_batch_events, lim->max_event_size);
        return ctx.oom ? EM_ERROR : EM_ETOOBIG;
    }

    root = em_json_load(&ctx, body, body_len, 1);
    if (root == NULL) {
        return ctx.oom ? EM_ERROR : EM_EINVALID;
    }

    if (!json_is_array(root)) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "a batch-mode body must be a JSON array of events, not %s",
            em_json_kind(root));
        json_decref(root);
        return ctx.oom ? EM_ERROR : EM_EINVALID;
    }

    n = json_array_size(root);

    if (lim->max_batch_events && n > lim->max_batch_events) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "the batch holds %zu events, over the limit of %zu events",
            n, lim->max_batch_events);
        json_decref(root);
        return ctx.oom ? EM_ERROR : EM_ETOOBIG;
    }

    spans = calloc(n + 1, sizeof(em_span_t));
    batch->events = calloc(n + 1, sizeof(em_event_t *));
    if (spans == NULL || batch->events == NULL) {
        rc = EM_ERROR;
        goto done;
    }

    found = em_json_elements(text, body_len,
                             em_json_ws(text, body_len, 0), spans, n);
    if (found < 0 || (size_t) found != n) {
        em_ce_violation(&ctx, "", "body", NULL, 0,
            "internal error: the batch elements could not be located");
        rc = ctx.oom ? EM_ERROR : EM_EINVALID;
        goto done;
    }

    big = 0;
    for (i = 0; i < n; i++) {
        if (lim->max_event_size
            && spans[i].e - spans[i].b > lim->max_event_size)
        {
            em_ce_ctx_init(&ctx, report, lim, 0, (long) i);
            em_ce_violation(&ctx, "", ctx.prefix, NULL, 0,
                "event %zu is %zu bytes, over the limit of %zu bytes", i,
                spans[i].e - spans[i].b, lim->max_event_size);
            big = 1;
        }
    }

    if (big) {
        rc = ctx.oom ? EM_ERROR : EM_ETOOBIG;
        goto done;
    }

    rc = EM_OK;

    for (i = 0; i < n; i++) {
        el = json_array_get(root, i);
        em_ce_ctx_init(&ctx, report, lim, 0, (long) i);

        if (!json_is_object(el)) {
            em_ce_violation(&ctx, "", ctx.prefix, NULL, 0,
                "each element of a batch must be a JSON object (one "
                "event), not %s", em_json_kind(el));
            rc = ctx.oom ? EM_ERROR : EM_EINVALID;
            continue;
        }

        erc = em_json_event(&ctx, el, text, spans[i], &batch->events[i]);

        if (erc == EM_ERROR) {
            rc = EM_ERROR;
            break;
        }

        if (erc != EM_OK && rc == EM_OK) {
            rc = erc;
        }
    }

    if (rc == EM_OK) {
        batch->n = n;
    }

done:

    if (rc != EM_OK && batch->events != NULL) {
        for (i = 0; i < n; i++) {
            em_event_free(batch->events[i]);
        }
        free(batch->events);
        batch->events = NULL;
        batch->n = 0;
    }

    free(spans);
    json_decref(root);
    return rc;
}
