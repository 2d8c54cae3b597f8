/*
 * Kyma legacy bodies: the input is the request body.  Beyond "no crash,
 * no leak": every answer is JSON in Kyma's shape with the status the code
 * promises; an accepted event has a UUID id, an RFC 3339 time, JSON data,
 * and survives the NATS round trip; and text that strict JSON accepts is
 * never a syntax error for the Go-compatible decoder.
 */

#include "fuzz_common.h"
#include "json_check.h"

#include <eventmesh/legacy.h>


static void
fuzz_check_answer(em_status_t rc, int status, const em_buf_t *b)
{
    const char  *why;
    size_t       pos;

    FUZZ_ASSERT((rc == EM_EINVALID && status == 400)
                || (rc == EM_ETOOBIG && status == 413));
    FUZZ_ASSERT(b->len > 2 && b->data[b->len - 1] == '\n');
    FUZZ_ASSERT(em_json_check(b->data, b->len, &pos, &why));
    FUZZ_ASSERT(strncmp(b->data, status == 400 ? "{\"status\":400,\"type\":"
                                               : "{\"status\":413,\"type\":",
                        21) == 0);
}


static void
fuzz_check_legacy_event(const em_event_t *ev, const char *app)
{
    em_buf_t     hdr, st;
    em_event_t  *back;
    const char  *err, *why;
    size_t       pos;

    FUZZ_ASSERT(strcmp(em_event_get(ev, "specversion"), "1.0") == 0);
    FUZZ_ASSERT(strcmp(em_event_get(ev, "source"), app) == 0);
    FUZZ_ASSERT(strlen(em_event_get(ev, "id")) == 36);
    FUZZ_ASSERT(em_event_get(ev, "type")[0] != '\0');
    FUZZ_ASSERT(em_check_timestamp(em_event_get(ev, "time"),
                                   strlen(em_event_get(ev, "time")), &why));
    FUZZ_ASSERT(ev->has_data && ev->data_len > 0);
    FUZZ_ASSERT(em_json_check((const char *) ev->data, ev->data_len, &pos,
                              &why));

    em_buf_init(&hdr);
    back = NULL;
    FUZZ_ASSERT(em_nats_encode_headers(ev, &hdr) == EM_OK);
    FUZZ_ASSERT(em_nats_decode(hdr.data, hdr.len, ev->data, ev->data_len,
                               &back, &err) == EM_OK);
    FUZZ_ASSERT(fuzz_same_event(ev, back, 0));
    em_event_free(back);
    em_buf_free(&hdr);

    em_buf_init(&st);
    FUZZ_ASSERT(em_http_encode_structured(ev, &st) == EM_OK);
    FUZZ_ASSERT(em_json_check(st.data, st.len, &pos, &why));
    em_buf_free(&st);
}


static void
fuzz_one(const uint8_t *data, size_t size, const em_legacy_opts_t *o)
{
    static const char  app[] = "my-app";
    em_event_t        *ev;
    em_buf_t           b, ok;
    em_status_t        rc;
    int                status;
    const char        *why;
    size_t             pos;

    em_buf_init(&b);
    ev = NULL;
    status = 0;

    rc = em_legacy_to_event(app, sizeof(app) - 1, data, size, o, &ev,
                            &status, &b);

    if (rc == EM_OK) {
        FUZZ_ASSERT(ev != NULL);
        fuzz_check_legacy_event(ev, app);

        em_buf_init(&ok);
        FUZZ_ASSERT(em_legacy_ok_body(em_event_get(ev, "id"), &ok) == EM_OK);
        FUZZ_ASSERT(em_json_check(ok.data, ok.len, &pos, &why));
        em_buf_free(&ok);

    } else {
        FUZZ_ASSERT(ev == NULL);
        fuzz_check_answer(rc, status, &b);

        /* strict JSON is never a syntax error for Go either */
        if (o->max_body == 0
            && em_json_check((const char *) data, size, &pos, &why))
        {
            FUZZ_ASSERT(strstr(b.data, "invalid character") == NULL
                        && strstr(b.data, "EOF") == NULL);
        }
    }

    em_event_free(ev);
    em_buf_free(&b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_legacy_opts_t  o;
    em_buf_t          b;
    int               status;
    const char       *why;
    size_t            pos;

    em_legacy_opts_default(&o);
    o.max_body = 0;
    fuzz_one(data, size, &o);

    /* Kyma 2's naming, and a limit that cuts the body in half */
    o.type_prefix = "sap.kyma.custom";
    o.type_prefix_len = 15;
    o.max_body = size / 2 + 1;
    fuzz_one(data, size, &o);

    /* a caller that kept only a prefix of a longer body */
    o.body_truncated = 1;
    o.max_body = size;
    fuzz_one(data, size, &o);

    /* the backend answer quotes whatever the channel said */
    em_buf_init(&b);
    FUZZ_ASSERT(em_legacy_backend_body(EM_LEGACY_BACKEND_API, 503,
                                       (const char *) data, size, &status,
                                       &b) == EM_OK);
    FUZZ_ASSERT(em_json_check(b.data, b.len, &pos, &why));
    em_buf_free(&b);

    return 0;
}
