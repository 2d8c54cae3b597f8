/*
 * HTTP structured mode (HTTP binding 3.2, JSON format): mode detection,
 * charset, JSON rules, attribute types, the data / data_base64 table.
 */

#include "ce_test.h"

#define CT   "Content-Type", "application/cloudevents+json"
#define MIN  "\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\"," \
             "\"type\":\"t\""


static void
sparse(ce_result_t *r, const char *body)
{
    ce_parse(r, body, CE_H(CT));
}


static em_event_t *
ev0(ce_result_t *r)
{
    return r->batch ? r->batch->events[0] : NULL;
}


static void
test_mode(void)
{
    ce_result_t  r;
    em_mode_t    m;
    em_report_t  rep;

    ce_parse(&r, "{" MIN "}", CE_H("Content-Type",
             "Application/CloudEvents+JSON; charset=UTF-8"));
    if (ce_accepts(&r, "media type case-insensitive, charset=UTF-8")) {
        is_long(r.batch->mode, EM_MODE_STRUCTURED, "structured mode");
        is_str(r.report.mode, "structured", "report mode structured");
    }
    ce_free(&r);

    ce_parse(&r, "{" MIN "}", CE_H("Content-Type",
             "application/cloudevents+json;charset=\"utf-8\""));
    ce_accepts(&r, "quoted charset parameter");
    ce_free(&r);

    ce_parse(&r, "{" MIN "}", CE_H("Content-Type",
             "application/cloudevents+json; charset=latin1"));
    ce_rejects(&r, EM_EMEDIA, "", "charset", "non-UTF-8 charset is 415");
    ce_free(&r);

    ce_parse(&r, "x", CE_H("Content-Type", "application/cloudevents+avro"));
    ce_rejects(&r, EM_EMEDIA, "", "application/cloudevents+avro",
               "unsupported format named");
    ce_free(&r);

    ce_parse(&r, "x", CE_H("Content-Type", "application/cloudevents"));
    ce_rejects(&r, EM_EMEDIA, "", "unsupported CloudEvents format",
               "bare application/cloudevents");
    ce_free(&r);

    em_report_init(&rep);
    ok(em_ce_detect_mode("application/cloudevents-batch+json", 34, &m, &rep)
       == EM_OK && m == EM_MODE_BATCH, "batch detected before structured");
    ok(em_ce_detect_mode("text/plain", 10, &m, &rep) == EM_OK
       && m == EM_MODE_BINARY, "other media type is binary");
    ok(em_ce_detect_mode(NULL, 0, &m, &rep) == EM_OK && m == EM_MODE_BINARY,
       "no Content-Type is binary");
    em_report_free(&rep);

    /* ce- headers in structured mode are ignored: the body rules */
    ce_parse(&r, "{" MIN "}", CE_H(CT, "ce-id", "other"));
    if (ce_accepts(&r, "ce- headers ignored in structured mode")) {
        is_str(em_event_get(ev0(&r), "id"), "1", "id from the body");
    }
    ce_free(&r);
}


static void
test_json_syntax(void)
{
    ce_result_t  r;

    sparse(&r, "{" MIN ",\"id\":\"2\"}");
    ce_rejects(&r, EM_EINVALID, "", "member \"id\" appears more than once",
               "duplicate member named");
    ce_free(&r);

    sparse(&r, "{" MIN ",");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON", "truncated JSON");
    ce_free(&r);

    sparse(&r, "\xEF\xBB\xBF{" MIN "}");
    ce_rejects(&r, EM_EINVALID, "", "byte order mark", "UTF-8 BOM");
    ce_free(&r);

    sparse(&r, "[{" MIN "}]");
    ce_rejects(&r, EM_EINVALID, "", "application/cloudevents-batch+json",
               "array in structured mode hints at batch");
    ce_free(&r);

    sparse(&r, "\"just a string\"");
    ce_rejects(&r, EM_EINVALID, "", "one JSON object", "string body");
    ce_free(&r);

    sparse(&r, "{" MIN "} {}");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON", "two JSON documents");
    ce_free(&r);

    sparse(&r, "");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON", "empty body");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data\":\"\xC3\x28\"}");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON", "invalid UTF-8 in JSON");
    ce_free(&r);

    sparse(&r, " \n {" MIN "} \n");
    ce_accepts(&r, "surrounding whitespace");
    ce_free(&r);
}


static void
test_attributes(void)
{
    ce_result_t  r;

    sparse(&r, "{\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\"}");
    ce_rejects(&r, EM_EINVALID, "specversion", "missing", "no specversion");
    ce_free(&r);

    sparse(&r, "{\"specversion\":1.0,\"id\":\"1\",\"source\":\"/s\","
           "\"type\":\"t\"}");
    ce_rejects(&r, EM_EINVALID, "specversion", "must be the string",
               "numeric specversion");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"0.3\",\"id\":5}");
    ce_rejects(&r, EM_EINVALID, "specversion", "unsupported specversion",
               "specversion 0.3");
    is_long(r.report.n, 1, "nothing else checked after specversion");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"1.0\",\"id\":null,\"source\":\"/s\","
           "\"type\":\"t\"}");
    ce_rejects(&r, EM_EINVALID, "id", "missing", "null id is missing");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"1.0\",\"id\":42,\"source\":\"/s\","
           "\"type\":\"t\"}");
    ce_rejects(&r, EM_EINVALID, "id", "must be a JSON string", "numeric id");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"1.0\",\"id\":\"   \",\"source\":\"/s\","
           "\"type\":\"t\"}");
    ce_accepts(&r, "id of spaces (spec does not trim)");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\","
           "\"type\":\"\"}");
    ce_rejects(&r, EM_EINVALID, "type", "non-empty", "empty type");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"TenantId\":\"x\"}");
    ce_rejects(&r, EM_EINVALID, "TenantId", "lowercase", "uppercase key");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"\":\"x\"}");
    ce_rejects(&r, EM_EINVALID, "", "must not be empty", "empty key");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"subject\":null,\"comexampleext\":null}");
    if (ce_accepts(&r, "null optional attributes")) {
        ok(em_event_get(ev0(&r), "subject") == NULL
           && em_event_get(ev0(&r), "comexampleext") == NULL,
           "null means unset");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"count\":42,\"flag\":true,\"neg\":-2147483648}");
    if (ce_accepts(&r, "integer and boolean extensions")) {
        is_long(em_event_attr(ev0(&r), "count")->type, EM_TYPE_INTEGER,
                "integer inferred");
        is_str(em_event_get(ev0(&r), "count"), "42", "integer text");
        is_long(em_event_attr(ev0(&r), "flag")->type, EM_TYPE_BOOLEAN,
                "boolean inferred");
        is_str(em_event_get(ev0(&r), "neg"), "-2147483648", "int32 minimum");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"count\":2147483648}");
    ce_rejects(&r, EM_EINVALID, "count", "-2147483648..2147483647",
               "integer above int32");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"ratio\":2.5}");
    ce_rejects(&r, EM_EINVALID, "ratio", "fraction or exponent",
               "real extension");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"whole\":3.0}");
    ce_rejects(&r, EM_EINVALID, "whole", "fraction or exponent",
               "3.0 is not an Integer");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"obj\":{\"a\":1}}");
    ce_rejects(&r, EM_EINVALID, "obj", "an object", "object extension");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"arr\":[1]}");
    ce_rejects(&r, EM_EINVALID, "arr", "an array", "array extension");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"subject\":\"a\\u0000b\"}");
    ce_rejects(&r, EM_EINVALID, "subject", "control characters",
               "NUL in an attribute");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"subject\":\"\\uFDD0\"}");
    ce_rejects(&r, EM_EINVALID, "subject", "noncharacters",
               "noncharacter U+FDD0");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"subject\":\"\\uD83D\\uDE00 ok\"}");
    ce_accepts(&r, "astral character via surrogate pair");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"sampledrate\":\"5\"}");
    ce_rejects(&r, EM_EINVALID, "sampledrate", "must be a JSON integer",
               "sampledrate as a string");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"sampledrate\":-1}");
    ce_rejects(&r, EM_EINVALID, "sampledrate", "greater than 0",
               "negative sampledrate");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"time\":1700000000}");
    ce_rejects(&r, EM_EINVALID, "time", "must be a JSON string",
               "numeric time");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"time\":\"2024-02-30T00:00:00Z\"}");
    ce_rejects(&r, EM_EINVALID, "time", "does not exist", "February 30th");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"time\":\"2024-02-29t10:00:00.123456789z\"}");
    ce_accepts(&r, "lowercase t and z, nanoseconds");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"dataschema\":\"https://ex.com/s.json#/defs/a\"}");
    ce_accepts(&r, "dataschema with fragment");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"dataschema\":\"\"}");
    ce_rejects(&r, EM_EINVALID, "dataschema", "must not be empty",
               "empty dataschema");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"application/json;\"}");
    ce_accepts(&r, "media type with an empty parameter (RFC 9110)");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"text/plain; charset\"}");
    ce_rejects(&r, EM_EINVALID, "datacontenttype", "name=value",
               "parameter without value");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"partitionkey\":\"\"}");
    ce_rejects(&r, EM_EINVALID, "partitionkey", "non-empty",
               "empty partitionkey");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"dataref\":\"https://store.example/x?y=1\","
           "\"sequence\":\"0001\",\"expirytime\":\"2030-01-01T00:00:00Z\"}");
    ce_accepts(&r, "dataref, sequence, expirytime");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"recordedtime\":\"2030-01-01\"}");
    ce_rejects(&r, EM_EINVALID, "recordedtime", "needs a time",
               "date-only recordedtime");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"tracestate\":\"=nokey\"}");
    ce_rejects(&r, EM_EINVALID, "tracestate", "key=value",
               "tracestate member without key");
    ce_free(&r);

    sparse(&r, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"urn:a\","
           "\"type\":\"t\"}");
    ce_accepts(&r, "urn source");
    ok(r.report.nwarnings == 0, "absolute urn source: no warning");
    ce_free(&r);
}


static void
test_data(void)
{
    ce_result_t  r;
    em_event_t  *ev;

    sparse(&r, "{" MIN ",\"data\": {\"b\" : 1.50, \"a\":[1e3 , true]} }");
    if (ce_accepts(&r, "object data")) {
        ev = ev0(&r);
        ok(ev->has_data && ev->data_is_json, "has JSON data");
        is_str((char *) ev->data, "{\"b\" : 1.50, \"a\":[1e3 , true]}",
               "data bytes are the original text");
    }
    ce_free(&r);

    sparse(&r, "{\"data\":\"hi \\\"x\\\"\"," MIN "}");
    if (ce_accepts(&r, "string data, no datacontenttype")) {
        is_str((char *) ev0(&r)->data, "\"hi \\\"x\\\"\"",
               "a JSON string stays a JSON string");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"text/plain\","
           "\"data\":\"line\\nnext\"}");
    if (ce_accepts(&r, "text data")) {
        ev = ev0(&r);
        is_str((char *) ev->data, "line\nnext",
               "non-JSON string data is the decoded string");
        ok(!ev->data_is_json, "not flagged JSON");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"text/plain\","
           "\"data\":{\"a\":1}}");
    ce_rejects(&r, EM_EINVALID, "data", "must be a JSON string",
               "object data with text/plain");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data\":null}");
    if (ce_accepts(&r, "explicit null data")) {
        is_str((char *) ev0(&r)->data, "null", "data is JSON null");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data_base64\":\"AAEC/w==\"}");
    if (ce_accepts(&r, "data_base64")) {
        ev = ev0(&r);
        ok(ev->data_len == 4 && ev->data[0] == 0 && ev->data[3] == 0xFF,
           "base64 decoded");
        ok(!ev->data_is_json, "base64 data is not a JSON value");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data_base64\":\"AAEC/w\"}");
    ce_rejects(&r, EM_EINVALID, "data_base64", "multiple of 4",
               "unpadded base64");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data_base64\":\"AA-_\"}");
    ce_rejects(&r, EM_EINVALID, "data_base64", "alphabet",
               "URL-safe base64");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data_base64\":\"AAEC\",\"data\":1}");
    ce_rejects(&r, EM_EINVALID, "data", "mutually exclusive",
               "data and data_base64");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data_base64\":5}");
    ce_rejects(&r, EM_EINVALID, "data_base64", "must be a string",
               "numeric data_base64");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"application/json\"}");
    if (ce_accepts(&r, "datacontenttype without data")) {
        ok(!ev0(&r)->has_data, "no data");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"d\\u0061ta\":[1,2]}");
    if (ce_accepts(&r, "escaped member name data")) {
        is_str((char *) ev0(&r)->data, "[1,2]", "escaped key located");
    }
    ce_free(&r);

    sparse(&r, "{\"subject\":\"\\\"data\\\":1,\\\\\"," MIN
           ",\"data\":\"top\"}");
    if (ce_accepts(&r, "\"data\" inside a string is not the member")) {
        is_str((char *) ev0(&r)->data, "\"top\"", "top-level data found");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data\":\"\\u0000\"}");
    if (ce_accepts(&r, "NUL inside data is allowed")) {
        is_str((char *) ev0(&r)->data, "\"\\u0000\"", "kept as JSON text");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data\":{\"id\":18446744073709551615,"
           "\"r\":1e400}}");
    if (ce_accepts(&r, "numbers beyond jansson's range inside data")) {
        is_str((char *) ev0(&r)->data,
               "{\"id\":18446744073709551615,\"r\":1e400}",
               "data bytes unchanged");
    }
    ce_free(&r);

    sparse(&r, "{\"data\":99999999999999999999," MIN ",\"subject\":\"s\"}");
    if (ce_accepts(&r, "a huge number as the whole data")) {
        is_str((char *) ev0(&r)->data, "99999999999999999999",
               "data is the number's text");
        is_str(em_event_get(ev0(&r), "subject"), "s",
               "members after it still parsed");
    }
    ce_free(&r);

    sparse(&r, "{" MIN ",\"datacontenttype\":\"text/plain\","
           "\"data\":99999999999999999999}");
    ce_rejects(&r, EM_EINVALID, "data", "not a number",
               "huge number as text data is still not a string");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"n\":99999999999999999999,\"data\":1}");
    ce_rejects(&r, EM_EINVALID, "", "out of range",
               "huge integer in an extension");
    ce_free(&r);

    sparse(&r, "{" MIN ",\"data\":99999999999999999999,]");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON",
               "huge number then a syntax error");
    ce_free(&r);
}


static void
test_size(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;
    const char     *body = "{" MIN "}";

    em_ce_limits_default(&lim);
    lim.max_event_size = strlen(body);
    ce_parse_lim(&r, &lim, body, -1, CE_H(CT));
    ce_accepts(&r, "structured event at the limit");
    ce_free(&r);

    lim.max_event_size = strlen(body) - 1;
    ce_parse_lim(&r, &lim, body, -1, CE_H(CT));
    ce_rejects(&r, EM_ETOOBIG, "", "over the limit", "one byte over");
    ce_free(&r);
}


int
main(void)
{
    test_mode();
    test_json_syntax();
    test_attributes();
    test_data();
    test_size();
    return tap_done();
}
