/*
 * Codecs: Nats-Msg-Id, the NATS binary-mode header block and its decoder
 * (round trip from every HTTP mode), HTTP binary and structured encoders.
 */

#include "ce_test.h"

#include <eventmesh/subject.h>


/* Same attributes (names, values, order) and same data. */
static int
same_event(const em_event_t *a, const em_event_t *b, int check_types)
{
    size_t  i;

    if (a->nattrs != b->nattrs || a->has_data != b->has_data
        || a->data_len != b->data_len
        || (a->data_len && memcmp(a->data, b->data, a->data_len) != 0))
    {
        return 0;
    }

    for (i = 0; i < a->nattrs; i++) {
        if (strcmp(a->attrs[i].name, b->attrs[i].name) != 0
            || a->attrs[i].value_len != b->attrs[i].value_len
            || memcmp(a->attrs[i].value, b->attrs[i].value,
                      a->attrs[i].value_len) != 0
            || (check_types && a->attrs[i].type != b->attrs[i].type))
        {
            return 0;
        }
    }

    return 1;
}


/* NATS round trip: encode, split at the blank line, decode, compare. */
static void
nats_round_trip(const em_event_t *ev, const char *name, int check_types)
{
    em_buf_t     hdr;
    em_event_t  *back;
    const char  *err;
    em_status_t  rc;

    em_buf_init(&hdr);
    ok(em_nats_encode_headers(ev, &hdr) == EM_OK, "%s: encoded", name);

    err = NULL;
    back = NULL;
    rc = em_nats_decode(hdr.data, hdr.len, ev->data, ev->data_len, &back,
                        &err);
    ok(rc == EM_OK && back != NULL && same_event(ev, back, check_types),
       "%s: decode gives the same attributes and data", name);
    if (rc != EM_OK) {
        diag("decode: %s", err);
        diag("%s", hdr.data);
    }

    em_event_free(back);
    em_buf_free(&hdr);
}


static void
test_msg_id(void)
{
    char  a[EM_MSG_ID_LEN + 1], b[EM_MSG_ID_LEN + 1];

    /* sha256(be64(3) "abc" be64(1) "1"), computed independently */
    em_msg_id("abc", 3, "1", 1, a);
    is_long((long) strlen(a), EM_MSG_ID_LEN, "msg id is 64 hex digits");
    is_str(a, "6eb0bcbacda5872abcd4dccba8f3b696"
              "679f3119aa8cd1e7bf88cfe7495a4afa",
           "msg id is SHA-256 of the length-prefixed pair");

    em_msg_id("a b", 3, "c", 1, a);
    em_msg_id("a", 1, "b c", 3, b);
    ok(strcmp(a, b) != 0, "(\"a b\",\"c\") and (\"a\",\"b c\") differ");

    em_msg_id("s", 1, "1", 1, a);
    em_msg_id("s", 1, "1", 1, b);
    ok(strcmp(a, b) == 0, "same pair, same id");
}


static void
test_nats_encode(void)
{
    ce_result_t  r;
    em_buf_t     hdr;
    const char  *p;
    char         id[EM_MSG_ID_LEN + 1], line[128];

    ce_parse(&r, "payload", CE_H("ce-specversion", "1.0", "ce-id", "1",
             "ce-source", "/s", "ce-type", "t",
             "ce-subject", "a b%22%25%C3%A9~",
             "Content-Type", "text/plain; charset=\"utf-8\""));
    if (!ce_accepts(&r, "event for the NATS encoder")) {
        ce_free(&r);
        return;
    }

    em_buf_init(&hdr);
    em_nats_encode_headers(r.batch->events[0], &hdr);

    ok(strncmp(hdr.data, "NATS/1.0\r\nce-specversion: 1.0\r\nce-id: 1\r\n"
               "ce-source: /s\r\nce-type: t\r\n", 67) == 0,
       "status line then required attributes in order");
    ok(strstr(hdr.data, "ce-subject: a%20b%22%25%C3%A9~\r\n") != NULL,
       "space, quote, percent and non-ASCII percent-encoded");
    ok(strstr(hdr.data, "ce-datacontenttype: text/plain;%20charset=%22utf-8"
              "%22\r\n") != NULL, "datacontenttype is a ce- header on NATS");

    em_msg_id("/s", 2, "1", 1, id);
    snprintf(line, sizeof(line), "\r\nNats-Msg-Id: %s\r\n\r\n", id);
    p = strstr(hdr.data, line);
    ok(p != NULL && p + strlen(line) == hdr.data + hdr.len,
       "Nats-Msg-Id last, then the blank line");

    em_buf_free(&hdr);
    ce_free(&r);

    /* an empty extension value: written "" and read back empty */
    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-id", "2",
             "ce-source", "/s", "ce-type", "t", "ce-emptyext", "",
             "ce-next", "v"));
    if (!ce_accepts(&r, "event with an empty extension")) {
        ce_free(&r);
        return;
    }

    em_buf_init(&hdr);
    em_nats_encode_headers(r.batch->events[0], &hdr);
    ok(strstr(hdr.data, "\r\nce-emptyext: \"\"\r\nce-next: v\r\n") != NULL,
       "an empty value is the quoted-string \"\", never a bare \": \"");
    {
        em_event_t  *back = NULL;
        const char  *err;

        ok(em_nats_decode(hdr.data, hdr.len, NULL, 0, &back, &err) == EM_OK
           && back != NULL && em_event_get(back, "emptyext") != NULL
           && em_event_get(back, "emptyext")[0] == '\0'
           && strcmp(em_event_get(back, "next"), "v") == 0,
           "the empty value decodes back to empty");
        em_event_free(back);
    }
    em_buf_free(&hdr);
    ce_free(&r);
}


static void
test_round_trips(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;
    const char      bin[] = "\x00\x01\xFE\xFF";

    ce_parse(&r, "{\"k\": [1, 2.50]}", CE_H("ce-specversion", "1.0",
             "ce-id", "x y", "ce-source", "https://e.com/a?b=c&d",
             "ce-type", "com.example.t", "ce-time", "2024-01-01T00:00:00Z",
             "ce-sampledrate", "7", "ce-ext", "%E2%82%AC 100",
             "Content-Type", "application/json"));
    if (ce_accepts(&r, "binary event for the round trip")) {
        nats_round_trip(r.batch->events[0], "binary event", 1);
    }
    ce_free(&r);

    ce_parse(&r, "{\"specversion\":\"1.0\",\"id\":\"\\u00e9\\\"%\","
             "\"source\":\"/s\",\"type\":\"t\",\"subject\":\"a\\\\b\","
             "\"data\":{\"z\":[true,null,1.0e2]}}",
             CE_H("Content-Type", "application/cloudevents+json"));
    if (ce_accepts(&r, "structured event for the round trip")) {
        nats_round_trip(r.batch->events[0], "structured JSON data", 1);
    }
    ce_free(&r);

    em_ce_limits_default(&lim);
    ce_parse_lim(&r, &lim, bin, 4, CE_H("ce-specversion", "1.0", "ce-id",
                 "1", "ce-source", "/s", "ce-type", "t"));
    if (ce_accepts(&r, "binary payload without Content-Type")) {
        nats_round_trip(r.batch->events[0], "opaque binary payload", 1);
    }
    ce_free(&r);

    ce_parse(&r, "[{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
             "\"type\":\"t\",\"data_base64\":\"3q2+7w==\"},"
             "{\"specversion\":\"1.0\",\"id\":\"2\",\"source\":\"/s\","
             "\"type\":\"t\",\"flag\":false,\"n\":-5}]",
             CE_H("Content-Type", "application/cloudevents-batch+json"));
    if (ce_accepts(&r, "batch for the round trip")) {
        nats_round_trip(r.batch->events[0], "batch[0] data_base64", 1);
        /* unknown extensions cannot carry their type through headers */
        nats_round_trip(r.batch->events[1], "batch[1] typed extensions", 0);
    }
    ce_free(&r);
}


/* found by fuzz_ce_structured: names longer than any fixed buffer */
static void
test_long_name(void)
{
    ce_result_t  r;
    char         body[512];
    char         name[201];

    memset(name, 'm', 200);
    name[200] = '\0';
    snprintf(body, sizeof(body), "{\"specversion\":\"1.0\",\"id\":\"1\","
             "\"source\":\"urn:s\",\"type\":\"t\",\"%s\":false}", name);

    ce_parse(&r, body, CE_H("Content-Type", "application/cloudevents+json"));
    if (ce_accepts(&r, "200-character extension name")) {
        nats_round_trip(r.batch->events[0], "long extension name", 0);
    }
    ce_free(&r);
}


static void
test_nats_decode(void)
{
    static const char  *ok_hdr = "NATS/1.0\r\nCE-SpecVersion: 1.0\r\n"
        "ce-id:  a%20b  \r\nce-source: /s\r\nce-type: t\r\n"
        "Nats-Msg-Id: x\r\nX-Other: y\r\nce-sampledrate: 3\r\n\r\n";
    em_event_t         *ev;
    const char         *err;

    ok(em_nats_decode(ok_hdr, strlen(ok_hdr), "d", 1, &ev, &err) == EM_OK,
       "decode: other headers ignored, names case-insensitive");
    if (ev != NULL) {
        is_str(em_event_get(ev, "id"), "a b", "value trimmed and decoded");
        is_long(em_event_attr(ev, "sampledrate")->type, EM_TYPE_INTEGER,
                "known type from em_attr_known_type");
        ok(ev->has_data && ev->data_len == 1, "payload is the data");
        em_event_free(ev);
    }

#define DEC_BAD(h, frag, name)                                               \
    ev = NULL; err = "";                                                     \
    ok(em_nats_decode(h, strlen(h), NULL, 0, &ev, &err) == EM_EINVALID       \
       && ev == NULL && strstr(err, frag) != NULL, "decode rejects %s (%s)", \
       name, err)

    DEC_BAD("HTTP/1.1 200\r\n\r\n", "NATS/1.0", "a non-NATS block");
    DEC_BAD("NATS/1.0\r\nce-specversion: 1.0\r\nce-id: 1\r\n"
            "ce-type: t\r\n\r\n", "ce-source", "a missing ce-source");
    DEC_BAD("NATS/1.0\r\nce-specversion: 1.0\r\nce-id: 1\r\nce-id: 2\r\n"
            "ce-source: /s\r\nce-type: t\r\n\r\n", "more than once",
            "a duplicate attribute");
    DEC_BAD("NATS/1.0\r\nce-specversion: 1.0\r\nce-id: 100%\r\n"
            "ce-source: /s\r\nce-type: t\r\n\r\n", "two hex digits",
            "a bare %");
    DEC_BAD("NATS/1.0\r\nce-specversion: 1.0\r\nce-id: %C0%A0\r\n"
            "ce-source: /s\r\nce-type: t\r\n\r\n", "UTF-8",
            "an overlong sequence");
    DEC_BAD("NATS/1.0\r\nce-Bad_Name: 1\r\n\r\n", "invalid attribute name",
            "a bad attribute name");
    DEC_BAD("NATS/1.0\r\nno colon here\r\n\r\n", "':'", "a line without ':'");
}


static void
test_http_encoders(void)
{
    ce_result_t       r;
    em_out_headers_t  h;
    em_buf_t          b;
    size_t            i;
    int               found;

    ce_parse(&r, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
             "\"type\":\"t\",\"subject\":\"line\\r\\nInjected: x\","
             "\"n\":5,\"b\":true,\"datacontenttype\":\"application/json\","
             "\"data\":{\"a\" : 1}}",
             CE_H("Content-Type", "application/cloudevents+json"));
    ce_rejects(&r, EM_EINVALID, "subject", "control",
               "CR LF in a JSON attribute rejected at ingress");
    ce_free(&r);

    ce_parse(&r, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
             "\"type\":\"t\",\"subject\":\"caf\\u00e9 \\\"x\\\"\","
             "\"n\":5,\"b\":true,\"datacontenttype\":\"application/json\","
             "\"data\":{\"a\" : 1}}",
             CE_H("Content-Type", "application/cloudevents+json"));
    if (!ce_accepts(&r, "event for the HTTP encoders")) {
        ce_free(&r);
        return;
    }

    memset(&h, 0, sizeof(h));
    ok(em_http_encode_binary(r.batch->events[0], &h) == EM_OK,
       "binary encode");
    found = 0;
    for (i = 0; i < h.n; i++) {
        if (strcmp(h.items[i].name, "ce-subject") == 0
            && strcmp(h.items[i].value, "caf%C3%A9%20%22x%22") == 0)
        {
            found |= 1;
        }
        if (strcmp(h.items[i].name, "Content-Type") == 0
            && strcmp(h.items[i].value, "application/json") == 0)
        {
            found |= 2;
        }
        if (strcmp(h.items[i].name, "ce-datacontenttype") == 0) {
            found |= 4;
        }
    }
    ok(found == 3, "ce-subject encoded, Content-Type set, no "
       "ce-datacontenttype");
    em_out_headers_free(&h);

    em_buf_init(&b);
    ok(em_http_encode_structured(r.batch->events[0], &b) == EM_OK,
       "structured encode");
    is_str(b.data, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
           "\"type\":\"t\",\"subject\":\"caf\xC3\xA9 \\\"x\\\"\",\"n\":5,"
           "\"b\":true,\"datacontenttype\":\"application/json\","
           "\"data\":{\"a\" : 1}}", "structured output, data verbatim");
    em_buf_free(&b);
    ce_free(&r);

    /* re-parse the structured output: same event */
    ce_parse(&r, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
             "\"type\":\"t\",\"datacontenttype\":\"text/plain\","
             "\"data\":\"hello\\u0001\"}",
             CE_H("Content-Type", "application/cloudevents+json"));
    if (ce_accepts(&r, "text event")) {
        em_buf_init(&b);
        em_http_encode_structured(r.batch->events[0], &b);
        ok(strstr(b.data, "\"data\":\"hello\\u0001\"") != NULL,
           "text data written as a JSON string");
        em_buf_free(&b);
    }
    ce_free(&r);

    ce_parse(&r, "\x01\x02\xFF", CE_H("ce-specversion", "1.0", "ce-id", "1",
             "ce-source", "/s", "ce-type", "t"));
    if (ce_accepts(&r, "opaque event")) {
        ce_result_t  r2;

        em_buf_init(&b);
        em_http_encode_structured(r.batch->events[0], &b);
        ok(strstr(b.data, "\"data_base64\":\"AQL/\"") != NULL,
           "opaque data written as data_base64");

        ce_parse(&r2, b.data, CE_H("Content-Type",
                 "application/cloudevents+json"));
        ok(r2.rc == EM_OK
           && same_event(r.batch->events[0], r2.batch->events[0], 1),
           "structured output parses back to the same event");
        ce_free(&r2);
        em_buf_free(&b);
    }
    ce_free(&r);
}


int
main(void)
{
    test_msg_id();
    test_nats_encode();
    test_round_trips();
    test_nats_decode();
    test_long_name();
    test_http_encoders();
    return tap_done();
}
