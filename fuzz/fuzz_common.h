/*
 * Invariants every CloudEvents fuzz target checks on top of "no crash":
 * a report always serialises to valid JSON, and an accepted event survives
 * the NATS round trip and the structured encoder unchanged.
 */

#ifndef EM_FUZZ_COMMON_H
#define EM_FUZZ_COMMON_H

#include <eventmesh/ce_http.h>
#include <eventmesh/codec.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c)  do { if (!(c)) { __builtin_trap(); } } while (0)


__attribute__((unused)) static int
fuzz_same_event(const em_event_t *a, const em_event_t *b, int types)
{
    size_t  i;

    if (a->nattrs != b->nattrs || a->data_len != b->data_len
        || (a->data_len && memcmp(a->data, b->data, a->data_len) != 0))
    {
        return 0;
    }

    for (i = 0; i < a->nattrs; i++) {
        if (strcmp(a->attrs[i].name, b->attrs[i].name) != 0
            || a->attrs[i].value_len != b->attrs[i].value_len
            || memcmp(a->attrs[i].value, b->attrs[i].value,
                      a->attrs[i].value_len) != 0
            || (types && a->attrs[i].type != b->attrs[i].type))
        {
            return 0;
        }
    }

    return 1;
}


__attribute__((unused)) static void
fuzz_check_report(const em_report_t *r)
{
    em_buf_t      b;
    json_t       *j;
    json_error_t  e;

    em_buf_init(&b);
    FUZZ_ASSERT(em_report_to_json(r, "invalid CloudEvent", &b) == EM_OK);
    j = json_loadb(b.data, b.len, 0, &e);
    FUZZ_ASSERT(j != NULL);
    json_decref(j);
    em_buf_free(&b);
}


__attribute__((unused)) static void
fuzz_check_event(const em_event_t *ev)
{
    em_buf_t          hdr, st;
    em_event_t       *back;
    em_out_headers_t  oh;
    const char       *err;
    size_t            i;

    /* NATS: what ingress stores is what the dispatcher reads back */
    em_buf_init(&hdr);
    FUZZ_ASSERT(em_nats_encode_headers(ev, &hdr) == EM_OK);
    back = NULL;
    FUZZ_ASSERT(em_nats_decode(hdr.data, hdr.len, ev->data, ev->data_len,
                               &back, &err) == EM_OK);
    FUZZ_ASSERT(fuzz_same_event(ev, back, 0));
    em_event_free(back);
    em_buf_free(&hdr);

    /* HTTP binary: never a CR, LF or NUL inside a header */
    memset(&oh, 0, sizeof(oh));
    FUZZ_ASSERT(em_http_encode_binary(ev, &oh) == EM_OK);
    for (i = 0; i < oh.n; i++) {
        FUZZ_ASSERT(strpbrk(oh.items[i].value, "\r\n") == NULL);
    }
    em_out_headers_free(&oh);

    /* structured: the output is a JSON object */
    em_buf_init(&st);
    FUZZ_ASSERT(em_http_encode_structured(ev, &st) == EM_OK);
    {
        json_error_t  e;
        json_t       *j = json_loadb(st.data, st.len,
                                     JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);

        FUZZ_ASSERT(j != NULL && json_is_object(j));
        json_decref(j);
    }
    em_buf_free(&st);
}


/* Parses one request and checks the invariants. */
__attribute__((unused)) static void
fuzz_request(const em_header_t *h, size_t nh, const uint8_t *body,
    size_t len)
{
    em_ce_limits_t  lim;
    em_report_t     r;
    em_batch_t     *b;
    em_status_t     rc;
    size_t          i;

    em_ce_limits_default(&lim);
    em_report_init(&r);
    b = NULL;

    rc = em_ce_parse_http(h, nh, body, len, &lim, &b, &r);

    if (rc == EM_OK) {
        FUZZ_ASSERT(b != NULL && r.n == 0);
        for (i = 0; i < b->n; i++) {
            fuzz_check_event(b->events[i]);
        }

    } else {
        FUZZ_ASSERT(b == NULL && rc != EM_ERROR && r.n > 0);
    }

    fuzz_check_report(&r);
    em_batch_free(b);
    em_report_free(&r);
}

#endif /* EM_FUZZ_COMMON_H */
