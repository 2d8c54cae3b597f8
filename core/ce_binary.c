/*
 * HTTP binary mode (HTTP binding 3.1): attributes from ce-* headers,
 * datacontenttype from Content-Type, the body is the data.
 */

#include "ce_internal.h"
#include "json_check.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>


static int
em_is_ce_header(const em_header_t *h)
{
    return h->name_len >= 3 && strncasecmp(h->name, "ce-", 3) == 0;
}


/* Duplicates, "ce-", ce-datacontenttype and undecodable values. */
static em_status_t
em_binary_collect(em_ce_ctx_t *ctx, const em_header_t *headers,
    size_t nheaders, em_raw_attr_t *raw, size_t *nraw)
{
    const em_header_t  *h;
    em_raw_attr_t      *a;
    const char         *err;
    char               *name, where[160];
    size_t              i, j, k, vlen, vb, ve;

    for (i = 0; i < nheaders; i++) {
        h = &headers[i];

        if (!em_is_ce_header(h)) {
            continue;
        }

        if (h->name_len == 3) {
            em_ce_violation(ctx, "", "header ce-", h->value, h->value_len,
                "a header named \"ce-\" carries no attribute name; name "
                "the attribute after the prefix (ce-<name>)");
            continue;
        }

        name = malloc(h->name_len - 2);
        if (name == NULL) {
            return EM_ERROR;
        }

        for (k = 3; k < h->name_len; k++) {
            char  c = h->name[k];

            name[k - 3] = (c >= 'A' && c <= 'Z') ? (char) (c + 32) : c;
        }
        name[h->name_len - 3] = '\0';

        a = &raw[(*nraw)++];
        memset(a, 0, sizeof(*a));
        a->name = name;
        a->kind = EM_RAW_STRING;

        /* with the full length: a NUL in a header name must not hide */
        if (!em_check_attr_name(name, h->name_len - 3, &err)) {
            em_ce_violation(ctx, name, NULL, h->name, h->name_len,
                "invalid attribute name: %s", err);
            a->kind = EM_RAW_BAD;
            continue;
        }

        if (strcmp(name, "datacontenttype") == 0) {
            em_ce_violation(ctx, name, NULL, h->value, h->value_len,
                "binary mode carries datacontenttype in the Content-Type "
                "header; a ce-datacontenttype header must not be sent");
            a->kind = EM_RAW_BAD;
            continue;
        }

        for (j = 0; j + 1 < *nraw; j++) {
            if (strcmp(raw[j].name, name) == 0) {
                break;
            }
        }

        if (j + 1 < *nraw) {
            em_ce_violation(ctx, name, NULL, h->value, h->value_len,
                "header ce-%s appears more than once; each attribute may "
                "appear at most once", name);
            raw[j].kind = EM_RAW_BAD;
            a->kind = EM_RAW_BAD;
            continue;
        }

        /* surrounding whitespace is not part of an HTTP field value */
        vb = 0;
        ve = h->value_len;
        while (vb < ve && (h->value[vb] == ' ' || h->value[vb] == '\t')) {
            vb++;
        }
        while (ve > vb
               && (h->value[ve - 1] == ' ' || h->value[ve - 1] == '\t'))
        {
            ve--;
        }

        a->value = em_ce_header_decode(h->value + vb, ve - vb, &vlen, &err);
        if (a->value == NULL) {
            if (strcmp(err, "out of memory") == 0) {
                return EM_ERROR;
            }
            em_ce_location(ctx, name, where, sizeof(where));
            em_ce_violation(ctx, name, where, h->value, h->value_len,
                "%s", err);
            a->kind = EM_RAW_BAD;
            continue;
        }
        a->value_len = vlen;
    }

    return ctx->oom ? EM_ERROR : EM_OK;
}


static void
em_binary_json_body(em_ce_ctx_t *ctx, const em_header_t *ct,
    const unsigned char *body, size_t body_len)
{
    const char  *why;
    size_t       pos;

    if (em_json_check((const char *) body, body_len, &pos, &why)) {
        return;
    }

    em_ce_violation(ctx, "data", "body", NULL, 0,
        "Content-Type %.*s says JSON but the body is not valid JSON: %s "
        "at byte %zu", (int) (ct->value_len > 100 ? 100 : ct->value_len),
        ct->value, why, pos);
}


em_status_t
em_ce_parse_binary(const em_header_t *headers, size_t nheaders,
    const em_header_t *ct, const unsigned char *body, size_t body_len,
    const em_ce_limits_t *lim, em_report_t *report, em_event_t **out)
{
    em_ce_ctx_t     ctx;
    em_raw_attr_t  *raw;
    em_event_t     *ev;
    em_status_t     rc;
    size_t          i, nraw, size, before;

    *out = NULL;
    before = report->n;

    size = body_len;
    for (i = 0; i < nheaders; i++) {
        if (em_is_ce_header(&headers[i])) {
            size += headers[i].name_len + headers[i].value_len;
        }
    }

    em_ce_ctx_init(&ctx, report, lim, 1, -1);

    if (lim->max_event_size && size > lim->max_event_size) {
        em_ce_violation(&ctx, "", "headers and body", NULL, 0,
            "the event is %zu bytes (body plus ce- headers), over the "
            "limit of %zu bytes", size, lim->max_event_size);
        return ctx.oom ? EM_ERROR : EM_ETOOBIG;
    }

    raw = calloc(nheaders + 1, sizeof(em_raw_attr_t));
    if (raw == NULL) {
        return EM_ERROR;
    }

    nraw = 0;
    ev = NULL;

    rc = em_binary_collect(&ctx, headers, nheaders, raw, &nraw);
    if (rc != EM_OK) {
        goto done;
    }

    if (ct != NULL) {
        raw[nraw].name = "datacontenttype";
        raw[nraw].value = ct->value;
        raw[nraw].value_len = ct->value_len;
        raw[nraw].kind = EM_RAW_STRING;
        raw[nraw].loc = "header Content-Type";
        nraw++;
    }

    em_ce_validate(&ctx, raw, nraw);

    if (!ctx.stop && ct != NULL && lim->check_json_body && body_len
        && em_media_type_is_json(ct->value, ct->value_len))
    {
        em_binary_json_body(&ctx, ct, body, body_len);
    }

    if (ctx.oom) {
        rc = EM_ERROR;
        goto done;
    }

    if (report->n > before) {
        rc = EM_EINVALID;
        goto done;
    }

    ev = em_event_new();
    if (ev == NULL || em_ce_build(raw, nraw, lim, ev) != EM_OK
        || (body_len && em_event_set_data(ev, body, body_len) != EM_OK))
    {
        em_event_free(ev);
        ev = NULL;
        rc = EM_ERROR;
        goto done;
    }

    *out = ev;
    rc = EM_OK;

done:

    for (i = 0; i < nraw; i++) {
        if (raw[i].loc == NULL) {
            free((char *) raw[i].name);
            free((char *) raw[i].value);
        }
    }

    free(raw);
    return rc;
}
