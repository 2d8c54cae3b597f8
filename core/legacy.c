/*
 * A Kyma legacy request turned into a CloudEvent: Kyma's checks in Kyma's
 * order with Kyma's answers, then the conversion of the seed's Event Mesh
 * (one event; type = event-type, or Kyma 2's naming under a type prefix).
 */

#include "legacy_int.h"
#include "utf8.h"

#include <eventmesh/ce_http.h>

#include <string.h>


/* The longest piece of a client's value quoted back in an answer. */
#define EM_LEGACY_QUOTE_MAX  128


static const char  em_legacy_too_large[] =
    "{\"status\":413,\"type\":\"request_body_too_large\","
    "\"message\":\"Request body too large\","
    "\"moreInfo\":\"http: request body too large\"}\n";


void
em_legacy_opts_default(em_legacy_opts_t *o)
{
    o->max_body = EM_LEGACY_MAX_BODY;
    o->type_prefix = NULL;
    o->type_prefix_len = 0;
    o->body_truncated = 0;
}


static em_status_t
em_legacy_bad_payload(em_buf_t *out, int *status, const char *more,
    size_t len)
{
    em_buf_reset(out);
    *status = 400;

    if (em_buf_append_str(out, "{\"status\":400,\"type\":"
                               "\"bad_payload_syntax\",\"message\":"
                               "\"Bad payload syntax\",\"moreInfo\":")
        != EM_OK
        || em_go_quote(out, more, len) != EM_OK
        || em_buf_append_str(out, "}\n") != EM_OK)
    {
        *status = 500;
        return EM_ERROR;
    }

    return EM_EINVALID;
}


static em_status_t
em_legacy_field_error(em_buf_t *out, int *status, const char *field,
    int missing)
{
    const char  *type, *msg;

    type = missing ? "missing_field" : "invalid_field";
    msg = missing ? "Missing field" : "Invalid field";

    em_buf_reset(out);
    *status = 400;

    if (em_buf_printf(out, "{\"status\":400,\"type\":\"validation_violation\","
                      "\"message\":\"%s\",\"details\":[{\"field\":\"%s\","
                      "\"type\":\"%s\",\"message\":\"%s\"}]}\n", msg, field,
                      type, msg)
        != EM_OK)
    {
        *status = 500;
        return EM_ERROR;
    }

    return EM_EINVALID;
}


static int
em_legacy_has_alnum(const em_buf_t *b)
{
    size_t  i;

    for (i = 0; i < b->len; i++) {
        unsigned char  c = (unsigned char) b->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * The data bytes: s[b..e) unchanged, except what Go's decoder would have
 * read as U+FFFD inside strings (a byte starting no valid UTF-8 sequence,
 * a lone surrogate escape), so that data is always valid JSON text.
 */
static int
em_legacy_data(const char *s, size_t b, size_t e, em_buf_t *out)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, run, n;
    uint32_t              cp;
    long                  r, r2;
    int                   in_str;

    em_buf_reset(out);
    if (em_buf_reserve(out, e - b) != EM_OK) {
        return EM_ERROR;
    }

    in_str = 0;

    for (i = b, run = b; i < e; ) {
        if (!in_str) {
            in_str = (p[i] == '"');
            i++;
            continue;
        }

        if (p[i] == '"') {
            in_str = 0;
            i++;
            continue;
        }

        if (p[i] < 0x80 && p[i] != '\\') {
            i++;
            continue;
        }

        if (p[i] >= 0x80) {
            n = em_utf8_decode(p + i, e - i, &cp);
            if (n != 0) {
                i += n;
                continue;
            }

            if (em_buf_append(out, s + run, i - run) != EM_OK
                || em_buf_append(out, "\xEF\xBF\xBD", 3) != EM_OK)
            {
                return EM_ERROR;
            }
            run = ++i;
            continue;
        }

        if (i + 1 < e && s[i + 1] != 'u') {
            i += 2;
            continue;
        }

        r = em_go_u4(s + i, e - i);
        if (r < 0xD800 || r > 0xDFFF) {
            i += 6;
            continue;
        }

        r2 = em_go_u4(s + i + 6, e - i - 6);
        if (r <= 0xDBFF && r2 >= 0xDC00 && r2 <= 0xDFFF) {
            i += 12;
            continue;
        }

        if (em_buf_append(out, s + run, i - run) != EM_OK
            || em_buf_append(out, "\\ufffd", 6) != EM_OK)
        {
            return EM_ERROR;
        }
        i += 6;
        run = i;
    }

    return em_buf_append(out, s + run, e - run);
}


/* Things Kyma accepts that a CloudEvent cannot carry. */
static em_status_t
em_legacy_ce_checks(const char *app, size_t app_len, em_legacy_req_t *req,
    const em_legacy_opts_t *o, int range_ok, int *status, em_buf_t *err)
{
    const char  *why;
    em_buf_t     msg;
    size_t       n;
    em_status_t  rc;

    if (o->type_prefix == NULL
        && !em_check_string(req->event_type.data, req->event_type.len, &why))
    {
        return em_legacy_field_error(err, status, "event-type", 0);
    }

    if (!em_check_string(req->version.data, req->version.len, &why)) {
        return em_legacy_field_error(err, status, "event-type-version", 0);
    }

    if (!range_ok) {
        return em_legacy_field_error(err, status, "event-time", 0);
    }

    if (app_len == 0) {
        why = "the application name, the event's source, is empty";
        return em_legacy_bad_payload(err, status, why, strlen(why));
    }

    if (em_check_string(app, app_len, &why)
        && em_check_uri_ref(app, app_len, &why))
    {
        return EM_OK;
    }

    n = em_utf8_cut(app, app_len, EM_LEGACY_QUOTE_MAX);

    em_buf_init(&msg);
    rc = EM_ERROR;

    if (em_buf_append_str(&msg, "the application name \"") == EM_OK
        && em_buf_append(&msg, app, n) == EM_OK
        && em_buf_printf(&msg, "%s\" cannot be the event's source, a "
                         "URI-reference: %s", n < app_len ? "..." : "",
                         why) == EM_OK)
    {
        rc = em_legacy_bad_payload(err, status, msg.data, msg.len);
    }

    em_buf_free(&msg);

    if (rc == EM_ERROR) {
        *status = 500;
    }

    return rc;
}


static em_status_t
em_legacy_build(const char *app, size_t app_len, const char *body,
    em_legacy_req_t *req, const em_buf_t *canon, const em_legacy_opts_t *o,
    em_event_t **out)
{
    em_event_t  *ev;
    em_buf_t     type, data;
    char         uuid[37];
    const char  *id, *t;
    size_t       id_len, t_len;
    em_status_t  rc;

    if (req->id.len != 0) {
        id = req->id.data;
        id_len = req->id.len;

    } else {
        if (em_legacy_uuid_new(uuid) != EM_OK) {
            return EM_ERROR;
        }
        id = uuid;
        id_len = 36;
    }

    em_buf_init(&type);
    em_buf_init(&data);
    rc = EM_ERROR;
    ev = NULL;

    if (o->type_prefix == NULL) {
        t = req->event_type.data;
        t_len = req->event_type.len;

    } else {
        if (em_legacy_type_v1alpha1(&type, o->type_prefix, o->type_prefix_len,
                                    app, app_len, req->event_type.data,
                                    req->event_type.len, req->version.data,
                                    req->version.len)
            != EM_OK)
        {
            goto done;
        }
        t = type.data;
        t_len = type.len;
    }

    ev = em_event_new();

    if (ev != NULL
        && em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING) == EM_OK
        && em_event_set(ev, "id", id, id_len, EM_TYPE_STRING) == EM_OK
        && em_event_set(ev, "source", app, app_len, EM_TYPE_URI_REF) == EM_OK
        && em_event_set(ev, "type", t, t_len, EM_TYPE_STRING) == EM_OK
        && em_event_set(ev, "datacontenttype", "application/json", 16,
                        EM_TYPE_STRING) == EM_OK
        && em_event_set(ev, "time",
                        canon->len ? canon->data : req->time.data,
                        canon->len ? canon->len : req->time.len,
                        EM_TYPE_TIMESTAMP) == EM_OK
        && em_event_set(ev, "eventtypeversion", req->version.data,
                        req->version.len, EM_TYPE_STRING) == EM_OK
        && em_legacy_data(body, req->data_b, req->data_e, &data) == EM_OK
        && em_event_set_data(ev, data.data, data.len) == EM_OK)
    {
        ev->data_is_json = 1;
        *out = ev;
        ev = NULL;
        rc = EM_OK;
    }

done:

    em_event_free(ev);
    em_buf_free(&type);
    em_buf_free(&data);

    return rc;
}


static em_status_t
em_legacy_convert(const char *app, size_t app_len, const char *body,
    size_t len, const em_legacy_opts_t *o, em_legacy_req_t *req,
    em_buf_t *canon, em_event_t **out, int *status, em_buf_t *err)
{
    em_status_t  rc;
    int          range_ok, t;

    if (len == 0 && !o->body_truncated) {
        return em_legacy_bad_payload(err, status, "Bad payload syntax", 18);
    }

    rc = em_legacy_decode(body, len, o->max_body, o->body_truncated, req,
                          err);

    if (rc == EM_EINVALID) {
        /* err holds Go's message; it becomes moreInfo */
        em_buf_t  more = *err;

        em_buf_init(err);
        rc = em_legacy_bad_payload(err, status, more.data, more.len);
        em_buf_free(&more);
        return rc;
    }

    if (rc == EM_ETOOBIG) {
        em_buf_reset(err);
        *status = 413;
        return em_buf_append_str(err, em_legacy_too_large) == EM_OK
               ? EM_ETOOBIG : EM_ERROR;
    }

    if (rc != EM_OK) {
        return rc;
    }

    /* Kyma's checks, in Kyma's order; the first failure answers */

    if (req->event_type.len == 0) {
        return em_legacy_field_error(err, status, "event-type", 1);
    }

    if (req->version.len == 0) {
        return em_legacy_field_error(err, status, "event-type-version", 1);
    }

    /* Kyma's [a-zA-Z0-9]+ is not anchored: one such byte suffices */
    if (!em_legacy_has_alnum(&req->version)) {
        return em_legacy_field_error(err, status, "event-type-version", 0);
    }

    if (req->time.len == 0) {
        return em_legacy_field_error(err, status, "event-time", 1);
    }

    t = em_go_rfc3339(req->time.data, req->time.len, canon, &range_ok);
    if (t < 0) {
        return EM_ERROR;
    }

    if (t == 0) {
        return em_legacy_field_error(err, status, "event-time", 0);
    }

    if (req->id.len != 0 && !em_legacy_uuid_ok(req->id.data, req->id.len)) {
        return em_legacy_field_error(err, status, "event-id", 0);
    }

    if (!req->has_data
        || (req->data_e - req->data_b == 2 && body[req->data_b] == '"'))
    {
        return em_legacy_field_error(err, status, "data", 1);
    }

    rc = em_legacy_ce_checks(app, app_len, req, o, range_ok, status, err);
    if (rc != EM_OK) {
        return rc;
    }

    return em_legacy_build(app, app_len, body, req, canon, o, out);
}


em_status_t
em_legacy_to_event(const char *app, size_t app_len,
    const unsigned char *body, size_t len, const em_legacy_opts_t *o,
    em_event_t **out, int *http_status, em_buf_t *err_body)
{
    em_legacy_req_t   req;
    em_legacy_opts_t  def;
    em_buf_t          canon;
    em_status_t       rc;
    const char       *msg;

    *out = NULL;
    *http_status = 200;

    if (o == NULL) {
        em_legacy_opts_default(&def);
        o = &def;
    }

    if (app == NULL) {
        app_len = 0;
        app = "";
    }

    em_legacy_req_init(&req);
    em_buf_init(&canon);

    rc = em_legacy_convert(app, app_len, (const char *) body, len, o, &req,
                           &canon, out, http_status, err_body);

    if (rc == EM_ERROR) {
        *out = NULL;
        *http_status = 500;
        msg = "out of memory or no randomness for an event id";
        (void) em_legacy_error_body(500, msg, strlen(msg), err_body);
    }

    em_legacy_req_free(&req);
    em_buf_free(&canon);

    return rc;
}
