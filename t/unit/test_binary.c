/*
 * HTTP binary mode (HTTP binding 3.1): headers, decoding, types, data,
 * size, tracing headers.
 */

#include "ce_test.h"

#include <jansson.h>

static em_ce_limits_t  em_default_lim;

#define REQ  "ce-specversion", "1.0", "ce-id", "e-1", "ce-source", \
             "https://example.com/src", "ce-type", "com.example.created"


static void
test_minimal(void)
{
    ce_result_t   r;
    em_event_t   *ev;

    ce_parse(&r, "hello", CE_H("ce-type", "com.example.created",
             "ce-source", "/src", "ce-id", "e-1", "ce-specversion", "1.0",
             "Content-Type", "text/plain"));
    if (ce_accepts(&r, "minimal binary event")) {
        ev = r.batch->events[0];
        is_long(r.batch->n, 1, "one event");
        is_long(r.batch->mode, EM_MODE_BINARY, "mode is binary");
        is_str(ev->attrs[0].name, "specversion", "attrs[0] is specversion");
        is_str(ev->attrs[1].name, "id", "attrs[1] is id");
        is_str(ev->attrs[2].name, "source", "attrs[2] is source");
        is_str(ev->attrs[3].name, "type", "attrs[3] is type");
        is_str(em_event_get(ev, "datacontenttype"), "text/plain",
               "Content-Type became datacontenttype");
        ok(ev->has_data && ev->data_len == 5
           && memcmp(ev->data, "hello", 5) == 0, "body is the data");
        ok(!ev->data_is_json, "binary data is not flagged as JSON value");
        is_long(em_event_attr(ev, "source")->type, EM_TYPE_URI_REF,
                "source typed URI-reference");
    }
    ce_free(&r);
}


static void
test_header_names(void)
{
    ce_result_t  r;

    ce_parse(&r, "", CE_H("CE-SpecVersion", "1.0", "Ce-Id", "1",
             "CE-SOURCE", "/s", "ce-Type", "t", "CE-TenantId", "acme"));
    if (ce_accepts(&r, "header names are case-insensitive")) {
        is_str(em_event_get(r.batch->events[0], "tenantid"), "acme",
               "CE-TenantId maps to attribute tenantid");
        ok(!r.batch->events[0]->has_data, "empty body means no data");
        ok(em_event_get(r.batch->events[0], "datacontenttype") == NULL,
           "no Content-Type, no datacontenttype");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-datacontenttype", "text/plain"));
    ce_rejects(&r, EM_EINVALID, "datacontenttype",
               "ce-datacontenttype header must not be sent",
               "ce-datacontenttype header");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "CE-ID", "e-2"));
    ce_rejects(&r, EM_EINVALID, "id", "more than once",
               "duplicate ce-id (different case)");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-", "x"));
    ce_rejects(&r, EM_EINVALID, "", "no attribute name", "header named ce-");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-my_ext", "x"));
    ce_rejects(&r, EM_EINVALID, "my_ext", "lowercase ASCII letters and digits",
               "underscore in an attribute name");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-data", "x"));
    ce_rejects(&r, EM_EINVALID, "data", "reserved", "ce-data is reserved");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-averyveryverylongextensionname", "x"));
    ce_accepts(&r, "name over 20 characters accepted");
    ce_warns(&r, "averyveryverylongextensionname", "20 characters",
             "name over 20 characters");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-1ext", "x"));
    ce_accepts(&r, "name starting with a digit accepted");
    ce_warns(&r, "1ext", "start with a letter", "name starting with a digit");
    ce_free(&r);
}


static void
test_specversion(void)
{
    ce_result_t  r;

    ce_parse(&r, "", CE_H("ce-id", "", "ce-time", "bad"));
    ce_rejects(&r, EM_EINVALID, "specversion", "ce-specversion",
               "missing ce-specversion");
    is_long(r.report.n, 1, "nothing else is checked without specversion");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "0.3", "ce-id", ""));
    ce_rejects(&r, EM_EINVALID, "specversion", "unsupported specversion",
               "specversion 0.3");
    is_long(r.report.n, 1, "nothing else is checked after a bad "
            "specversion");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1%2E0", "ce-id", "1",
             "ce-source", "/s", "ce-type", "t"));
    ce_accepts(&r, "unnecessarily percent-encoded specversion 1%2E0");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1.0.2", "ce-id", "1",
             "ce-source", "/s", "ce-type", "t"));
    ce_rejects(&r, EM_EINVALID, "specversion", "\"1.0\"",
               "specversion 1.0.2 is not the wire value");
    ce_free(&r);
}


static void
test_required(void)
{
    ce_result_t  r;

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-source", "/s",
             "ce-type", "t"));
    ce_rejects(&r, EM_EINVALID, "id", "required attribute id is missing",
               "missing ce-id");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-id", "",
             "ce-source", "", "ce-type", "t"));
    ce_rejects(&r, EM_EINVALID, "id", "non-empty", "empty ce-id");
    ce_rejects(&r, EM_EINVALID, "source", "non-empty", "empty ce-source");
    is_long(r.report.n, 2, "both empty attributes reported");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-id", "%20%20",
             "ce-source", "/s", "ce-type", "t"));
    if (ce_accepts(&r, "id of spaces is non-empty (no trimming)")) {
        is_str(em_event_get(r.batch->events[0], "id"), "  ",
               "encoded spaces kept");
    }
    ce_free(&r);
}


static void
test_decoding(void)
{
    ce_result_t  r;

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "caf%C3%A9 %e2%82%ac"));
    if (ce_accepts(&r, "percent-decoding, lowercase hex")) {
        is_str(em_event_get(r.batch->events[0], "subject"),
               "caf\xC3\xA9 \xE2\x82\xAC", "subject decoded to UTF-8");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%2541"));
    if (ce_accepts(&r, "one round of decoding only")) {
        is_str(em_event_get(r.batch->events[0], "subject"), "%41",
               "%%2541 decodes to %%41, not A");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "100%"));
    ce_rejects(&r, EM_EINVALID, "subject", "two hex digits", "bare %");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%C0%A0"));
    ce_rejects(&r, EM_EINVALID, "subject", "not valid UTF-8",
               "overlong %C0%A0");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%ED%A0%80"));
    ce_rejects(&r, EM_EINVALID, "subject", "not valid UTF-8",
               "surrogate %ED%A0%80");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%F4%90%80%80"));
    ce_rejects(&r, EM_EINVALID, "subject", "not valid UTF-8",
               "above U+10FFFF");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "a%E2%82"));
    ce_rejects(&r, EM_EINVALID, "subject", "not valid UTF-8",
               "truncated sequence");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "caf\xC3\xA9"));
    ce_rejects(&r, EM_EINVALID, "subject", "printable US-ASCII",
               "raw UTF-8 byte in a header");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "a\x01" "b"));
    ce_rejects(&r, EM_EINVALID, "subject", "control characters",
               "raw control byte in a header");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "line%0Abreak"));
    ce_rejects(&r, EM_EINVALID, "subject", "control characters",
               "encoded LF fails the String rule");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%C2%85"));
    ce_rejects(&r, EM_EINVALID, "subject", "control characters",
               "C1 control U+0085");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "%EF%BF%BF"));
    ce_rejects(&r, EM_EINVALID, "subject", "noncharacters",
               "noncharacter U+FFFF");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "\"quoted value\""));
    if (ce_accepts(&r, "quoted-string value")) {
        is_str(em_event_get(r.batch->events[0], "subject"), "quoted value",
               "quotes removed");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "\"a\\\"b%21\""));
    if (ce_accepts(&r, "quoted-pair then percent-decoding")) {
        is_str(em_event_get(r.batch->events[0], "subject"), "a\"b!",
               "escape and %%21 decoded");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "\"open"));
    ce_rejects(&r, EM_EINVALID, "subject", "unterminated quoted string",
               "unterminated quoted string");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", "  padded  "));
    if (ce_accepts(&r, "surrounding whitespace")) {
        is_str(em_event_get(r.batch->events[0], "subject"), "padded",
               "OWS around a field value is not part of it");
    }
    ce_free(&r);
}


static void
test_types(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;

    ce_parse(&r, "", CE_H(REQ, "ce-time", "2024-02-29T23:59:60Z"));
    ce_accepts(&r, "leap-second time");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-time", "2025-03-09T08:15:30"));
    ce_rejects(&r, EM_EINVALID, "time", "time offset", "time without offset");
    if (r.report.n) {
        is_str(r.report.items[0].location, "header ce-time",
               "location names the header");
        is_str(r.report.items[0].value, "2025-03-09T08:15:30",
               "value is reported");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-sampledrate", "10"));
    if (ce_accepts(&r, "sampledrate 10")) {
        is_long(em_event_attr(r.batch->events[0], "sampledrate")->type,
                EM_TYPE_INTEGER, "sampledrate typed Integer");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-sampledrate", "0"));
    ce_rejects(&r, EM_EINVALID, "sampledrate", "greater than 0",
               "sampledrate 0");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-sampledrate", "ten"));
    ce_rejects(&r, EM_EINVALID, "sampledrate", "must be an integer",
               "sampledrate not an integer");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-sampledrate", "2147483648"));
    ce_rejects(&r, EM_EINVALID, "sampledrate", "-2147483648..2147483647",
               "sampledrate out of int32 range");
    ce_free(&r);

    em_ce_limits_default(&lim);
    lim.check_extensions = 0;
    ce_parse_lim(&r, &lim, "", 0, CE_H(REQ, "ce-sampledrate", "ten",
                 "ce-traceparent", "nope"));
    if (ce_accepts(&r, "extension checks off")) {
        is_long(em_event_attr(r.batch->events[0], "sampledrate")->type,
                EM_TYPE_STRING, "unchecked sampledrate is a String");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-count", "5"));
    if (ce_accepts(&r, "unknown extension")) {
        is_long(em_event_attr(r.batch->events[0], "count")->type,
                EM_TYPE_STRING, "unknown binary extension is a String");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-traceparent",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    ce_accepts(&r, "valid traceparent");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-traceparent",
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
    ce_rejects(&r, EM_EINVALID, "traceparent", "lowercase hex",
               "uppercase traceparent");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-id", "1",
             "ce-source", "/relative/path", "ce-type", "t"));
    ce_accepts(&r, "relative source accepted");
    ce_warns(&r, "source", "absolute URI", "relative source");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ));
    ok(r.report.nwarnings == 0, "absolute source: no warning");
    ce_free(&r);

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-id", "1",
             "ce-source", "42:answers", "ce-type", "t"));
    ce_rejects(&r, EM_EINVALID, "source", "first segment",
               "source 42:answers");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-dataschema", "/schemas/v1"));
    ce_rejects(&r, EM_EINVALID, "dataschema", "absolute URI",
               "relative dataschema");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-subject", ""));
    ce_rejects(&r, EM_EINVALID, "subject", "non-empty", "empty subject");
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "Content-Type", "json"));
    ce_rejects(&r, EM_EINVALID, "datacontenttype", "type/subtype",
               "Content-Type without subtype");
    if (r.report.n) {
        is_str(r.report.items[0].location, "header Content-Type",
               "location is the Content-Type header");
    }
    ce_free(&r);
}


static void
test_data(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;
    const char      body[] = "a\0b\xff";

    ce_parse(&r, "{\"a\":", CE_H(REQ, "Content-Type", "application/json"));
    ce_rejects(&r, EM_EINVALID, "data", "not valid JSON",
               "JSON Content-Type with a broken body");
    ce_free(&r);

    ce_parse(&r, "{\"a\":1}", CE_H(REQ, "Content-Type",
             "application/vnd.foo+json; charset=utf-8"));
    ce_accepts(&r, "+json body that parses");
    ce_free(&r);

    ce_parse(&r, "[18446744073709551616, 1e999]", CE_H(REQ, "Content-Type",
             "application/json"));
    ce_accepts(&r, "JSON body with numbers beyond jansson's range");
    ce_free(&r);

    ce_parse(&r, "{\"a\":1} {}", CE_H(REQ, "Content-Type",
             "application/json"));
    ce_rejects(&r, EM_EINVALID, "data", "after the JSON value",
               "two JSON texts in a JSON body");
    ce_free(&r);

    ce_parse(&r, "\"\\ud800\"", CE_H(REQ, "Content-Type",
             "application/json"));
    ce_rejects(&r, EM_EINVALID, "data", "surrogate",
               "lone surrogate escape in a JSON body");
    ce_free(&r);

    em_ce_limits_default(&lim);
    lim.check_json_body = 0;
    ce_parse_lim(&r, &lim, "{\"a\":", -1, CE_H(REQ, "Content-Type",
                 "application/json"));
    ce_accepts(&r, "JSON body check switched off");
    ce_free(&r);

    ce_parse(&r, "{\"a\":", CE_H(REQ, "Content-Type", "text/plain"));
    ce_accepts(&r, "non-JSON body with text/plain");
    ce_free(&r);

    em_ce_limits_default(&lim);
    ce_parse_lim(&r, &lim, body, 4, CE_H(REQ, "Content-Type",
                 "application/octet-stream"));
    if (ce_accepts(&r, "binary body with NUL and 0xFF")) {
        ok(r.batch->events[0]->data_len == 4
           && memcmp(r.batch->events[0]->data, body, 4) == 0,
           "body bytes unchanged");
    }
    ce_free(&r);
}


static void
test_size(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;
    size_t          hdr;

    /* ce- header bytes: names plus values */
    hdr = strlen("ce-specversion1.0ce-ide-1ce-sourcehttps://example.com/src"
                 "ce-typecom.example.created");

    em_ce_limits_default(&lim);
    lim.max_event_size = hdr + 10;

    ce_parse_lim(&r, &lim, "0123456789", -1, CE_H(REQ));
    ce_accepts(&r, "event exactly at the size limit");
    ce_free(&r);

    ce_parse_lim(&r, &lim, "0123456789A", -1, CE_H(REQ));
    ce_rejects(&r, EM_ETOOBIG, "", "over the limit", "one byte over");
    ce_free(&r);
}


static void
test_many(void)
{
    ce_result_t  r;
    em_buf_t     b;

    ce_parse(&r, "", CE_H("ce-specversion", "1.0", "ce-source", "/s",
             "ce-type", "t", "ce-time", "yesterday", "ce-subject", "",
             "ce-dataschema", "x"));
    ok(r.rc == EM_EINVALID && r.report.n == 4, "four violations reported");
    if (r.report.n == 4) {
        is_str(r.report.items[0].attribute, "id", "1st: required id");
        is_str(r.report.items[1].attribute, "time", "2nd: time");
        is_str(r.report.items[2].attribute, "subject", "3rd: subject");
        is_str(r.report.items[3].attribute, "dataschema", "4th: dataschema");
    }

    em_buf_init(&b);
    em_report_to_json(&r.report, "invalid CloudEvent", &b);
    ok(strstr(b.data, "\"mode\":\"binary\"") != NULL
       && strstr(b.data, "\"location\":\"header ce-time\"") != NULL
       && strstr(b.data, "\"index\"") == NULL, "report JSON for binary");
    em_buf_free(&b);
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "Content-Type", "text/plain",
             "content-type", "text/html"));
    ce_rejects(&r, EM_EINVALID, "", "Content-Type appears more than once",
               "two Content-Type headers");
    ce_free(&r);
}


/* found by fuzz_ce_binary: input bytes in names reach the report */
static void
test_hostile_names(void)
{
    ce_result_t   r;
    em_header_t   h[5];
    em_buf_t      b;
    json_error_t  e;
    json_t       *j;
    size_t        i;
    const char   *hv[] = { "ce-specversion", "1.0", "ce-id", "1",
                           "ce-source", "/s", "ce-type", "t" };

    for (i = 0; i < 4; i++) {
        h[i].name = hv[2 * i];
        h[i].name_len = strlen(hv[2 * i]);
        h[i].value = hv[2 * i + 1];
        h[i].value_len = strlen(hv[2 * i + 1]);
    }

    h[4].name = "ce-trace\xF5\"x";
    h[4].name_len = 11;
    h[4].value = "v";
    h[4].value_len = 1;

    em_report_init(&r.report);
    r.batch = NULL;
    r.rc = em_ce_parse_http(h, 5, NULL, 0, &em_default_lim, &r.batch,
                            &r.report);
    ce_rejects(&r, EM_EINVALID, NULL, "invalid attribute name",
               "non-ASCII header name");

    em_buf_init(&b);
    em_report_to_json(&r.report, "invalid CloudEvent", &b);
    j = json_loadb(b.data, b.len, 0, &e);
    ok(j != NULL, "report with a non-UTF-8 name is still valid JSON");
    json_decref(j);
    em_buf_free(&b);
    ce_free(&r);

    /* "ce-id\0x" must not pass for ce-id */
    h[4].name = "ce-type\0x";
    h[4].name_len = 9;
    em_report_init(&r.report);
    r.rc = em_ce_parse_http(h, 5, NULL, 0, &em_default_lim, &r.batch,
                            &r.report);
    ce_rejects(&r, EM_EINVALID, "type", "invalid attribute name",
               "NUL inside a header name");
    ce_free(&r);
}


static void
test_trace_headers(void)
{
    ce_result_t  r;
    const char  *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
                      "-01";
    const char  *tp2 = "00-11111111111111111111111111111111-2222222222222222"
                       "-00";

    ce_parse(&r, "", CE_H(REQ, "traceparent", tp, "tracestate", "k=v"));
    if (ce_accepts(&r, "traceparent header")) {
        is_str(em_event_get(r.batch->events[0], "traceparent"), tp,
               "header became the traceparent extension");
        is_str(em_event_get(r.batch->events[0], "tracestate"), "k=v",
               "and tracestate with it");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "ce-traceparent", tp2, "traceparent", tp));
    if (ce_accepts(&r, "event with its own traceparent")) {
        is_str(em_event_get(r.batch->events[0], "traceparent"), tp2,
               "the event's traceparent is never overwritten");
    }
    ce_free(&r);

    ce_parse(&r, "", CE_H(REQ, "traceparent", "garbage"));
    if (ce_accepts(&r, "malformed traceparent header")) {
        ok(em_event_get(r.batch->events[0], "traceparent") == NULL,
           "malformed header not applied");
        ce_warns(&r, "traceparent", "malformed", "malformed header warned");
    }
    ce_free(&r);
}


int
main(void)
{
    em_ce_limits_default(&em_default_lim);
    test_minimal();
    test_header_names();
    test_specversion();
    test_required();
    test_decoding();
    test_types();
    test_data();
    test_size();
    test_many();
    test_trace_headers();
    test_hostile_names();
    return tap_done();
}
